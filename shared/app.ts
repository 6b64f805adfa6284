import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { corsHeaders, withholdCors } from "./cors.js";
import type { Deps } from "./deps.js";
import { ApiError } from "./errors.js";
import type { Principal } from "./principal.js";
import { BlobStoreUnavailableError } from "./storage/types.js";
import { QueryTimeoutError, StoreUnavailableError } from "./store/types.js";
import { recordUsage } from "./usage/middleware.js";

/** Variables every Edgeback request context carries. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal;
  };
}

const BODYLESS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Converts any thrown value into an ApiError; unknown errors become a bare 500/503. */
function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreUnavailableError || error instanceof BlobStoreUnavailableError) {
    return new ApiError("SERVICE_UNAVAILABLE");
  }
  if (error instanceof QueryTimeoutError) {
    return new ApiError(
      "INVALID_QUERY",
      "The query ran past its time limit: narrow the filter, or filter and sort on indexed fields",
    );
  }
  if (error instanceof HTTPException && error.status < 500) {
    return new ApiError(error.status === 413 ? "PAYLOAD_TOO_LARGE" : "INVALID_JSON");
  }
  return new ApiError("INTERNAL_ERROR");
}

/** Writes the error envelope for an ApiError. */
export function errorResponse(c: Context, error: ApiError) {
  for (const [name, value] of Object.entries(error.headers ?? {})) c.header(name, value);
  if (error.code === "ORIGIN_NOT_ALLOWED") withholdCors(c);
  const body = {
    success: false,
    message: error.message,
    code: error.code,
    ...(error.details ? { details: error.details } : {}),
    requestId: c.get("requestId") as string | undefined,
  };
  return c.json(body, error.status as ContentfulStatusCode);
}

/** The JSON body limit every route gets, as middleware (413 PAYLOAD_TOO_LARGE). */
export function jsonBodyLimit(maxSize: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", `Request body exceeds ${maxSize} bytes`);
    },
  });
  return (c, next) => {
    if (BODYLESS.has(c.req.method)) return next();
    // A declared length is enforced by the HTTP layer: checking the header is enough, and leaves the
    // body unread for the handler (hono's bodyLimit would materialise it first). Chunked bodies are counted.
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) return limit(c, next);
    if (!(Number(length) <= maxSize)) throw new ApiError("PAYLOAD_TOO_LARGE", `Request body exceeds ${maxSize} bytes`);
    return next();
  };
}

/**
 * Answers carry tokens, keys and private documents: no cache keeps them (RFC 9111 `no-store`; token
 * answers must, RFC 6749 §5.1) unless the route says otherwise (a document with its ETag, a file).
 */
const notStored: MiddlewareHandler = (c, next) => {
  c.header("cache-control", "no-store");
  return next();
};

/**
 * The app every function starts from: request id, CORS, body limit, health, and one error
 * handler that writes the error envelope. 500s log the cause and never return it. A function that
 * streams bodies itself (storage) passes `jsonBodyLimit: false` and limits each route on its own.
 */
export function createBaseApp(deps: Deps, options: { jsonBodyLimit?: boolean } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId({ headerName: "x-request-id" }));
  app.use(recordUsage(deps));
  app.use(corsHeaders());
  app.use(notStored);
  if (options.jsonBodyLimit !== false) app.use(jsonBodyLimit(deps.config.maxJsonBytes));

  app.get("/api/health", async (c) => {
    try {
      await deps.store.ping();
    } catch {
      const details = [{ path: "store", message: "document store unreachable" }];
      return errorResponse(c, new ApiError("SERVICE_UNAVAILABLE", undefined, { details }));
    }
    const time = new Date(deps.clock.now()).toISOString();
    return c.json({ success: true, data: { status: "ok", store: deps.store.kind, time } });
  });

  app.notFound((c) => errorResponse(c, new ApiError("NOT_FOUND", "Route not found")));

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) {
      deps.log.error("request failed", { requestId: c.get("requestId"), path: c.req.path, error });
    }
    return errorResponse(c, apiError);
  });

  return app;
}
