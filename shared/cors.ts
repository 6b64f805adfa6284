import type { Context, MiddlewareHandler } from "hono";

/** Headers a browser may send, and read, on cross-origin calls (API.md §3). */
export const CORS_ALLOW_HEADERS = [
  "content-type",
  "authorization",
  "x-api-key",
  "x-refresh-token",
  "x-refresh-token-mode",
  "if-match",
  "if-none-match",
  "idempotency-key",
  // Echoed back (API.md §2), for a client's own tracing.
  "x-request-id",
  // Served files answer ranges; `bytes=-n` (the last n bytes) is not CORS-safelisted.
  "range",
  // urBackend's SDK sets its own User-Agent, which Firefox sends (and so asks for in the preflight).
  "user-agent",
];
/** A header saying what a successful answer could not do and what to do (a login that set no refresh cookie). */
export const HINT_HEADER = "x-edgeback-hint";
export const CORS_EXPOSE_HEADERS = [
  "x-request-id",
  "etag",
  "retry-after",
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  // Read by the page's own code too.
  HINT_HEADER,
  // An insert answered again under its Idempotency-Key.
  "idempotent-replayed",
  // Served files.
  "accept-ranges",
  "content-range",
  "content-disposition",
];
const ALLOW_METHODS = "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS";
const PREFLIGHT_HEADERS: ReadonlyArray<[string, string]> = [
  ["access-control-allow-methods", ALLOW_METHODS],
  ["access-control-allow-headers", CORS_ALLOW_HEADERS.join(",")],
  ["access-control-max-age", "600"],
];
const EXPOSE_HEADERS: ReadonlyArray<[string, string]> = [
  ["access-control-expose-headers", CORS_EXPOSE_HEADERS.join(",")],
];

/** Whether a request is a CORS preflight (answered 204 with the CORS headers alone). */
export const isPreflight = (method: string, requestMethod: string | null | undefined) =>
  method === "OPTIONS" && Boolean(requestMethod);

/** The CORS headers reflecting `origin`: a preflight's, or those of any other answer. */
export const reflectedCors = (origin: string, preflight: boolean): Array<[string, string]> => [
  ["access-control-allow-origin", origin],
  ["access-control-allow-credentials", "true"],
  ...(preflight ? PREFLIGHT_HEADERS : EXPOSE_HEADERS),
];

/**
 * CORS per API.md §3: the request origin is reflected with credentials, preflights answer 204. A
 * preflight carries no key, so it cannot know the project: it reflects any origin, and every 403
 * ORIGIN_NOT_ALLOWED answer withdraws the headers again (errorResponse). Headers go through
 * `c.header()` before the handler runs, so the response stays on the server adapter's fast path
 * (hono/cors touches `c.res` early, which costs a full Response per request).
 */
export function corsHeaders(): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    c.header("vary", "Origin", { append: true });
    if (!origin) return next(); // not a cross-origin browser request: no CORS headers to add
    const preflight = isPreflight(c.req.method, c.req.header("access-control-request-method"));
    for (const [name, value] of reflectedCors(origin, preflight)) c.header(name, value);
    if (preflight) return c.body(null, 204);
    await next();
  };
}

/** Takes the reflected origin back: the browser then keeps the answer from the page (origin not allowed). */
export function withholdCors(c: Context): void {
  for (const name of [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
  ])
    c.header(name, undefined);
}
