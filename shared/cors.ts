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
  // urBackend's SDK sets its own User-Agent, which Firefox sends (and so asks for in the preflight).
  "user-agent",
];
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
];
const ALLOW_METHODS = "GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS";

/**
 * CORS per API.md §3: the request origin is reflected with credentials, preflights answer 204. A
 * preflight carries no key, so it cannot know the project: it reflects any origin, and every 403
 * ORIGIN_NOT_ALLOWED answer withdraws the headers again (errorResponse). Headers go through
 * `c.header()` before the handler runs, so the response stays on the server adapter's fast path
 * (hono/cors touches `c.res` early, which costs a full Response per request).
 */
export function corsHeaders(): MiddlewareHandler {
  const allowHeaders = CORS_ALLOW_HEADERS.join(",");
  const exposeHeaders = CORS_EXPOSE_HEADERS.join(",");
  return async (c, next) => {
    const origin = c.req.header("origin");
    c.header("vary", "Origin", { append: true });
    if (!origin) return next(); // not a cross-origin browser request: no CORS headers to add
    c.header("access-control-allow-origin", origin);
    c.header("access-control-allow-credentials", "true");
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
      c.header("access-control-allow-methods", ALLOW_METHODS);
      c.header("access-control-allow-headers", allowHeaders);
      c.header("access-control-max-age", "600");
      return c.body(null, 204);
    }
    c.header("access-control-expose-headers", exposeHeaders);
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
