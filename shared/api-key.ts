import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app.js";
import { secretsEqual } from "./crypto.js";
import type { Deps } from "./deps.js";
import { ApiError } from "./errors.js";
import { keyTypeOf } from "./keys.js";
import { originAllowed, requestOrigin } from "./origin.js";
import { limitRequest } from "./ratelimit/middleware.js";
import { bearerToken } from "./tokens.js";

/**
 * Project-facing auth: resolves `x-api-key` (or `?key=` for publishable keys only) to a principal,
 * enforces the project's origin allowlist for publishable keys, then the rate limits (API.md §8)
 * unless the route has none. The request counts as under way for its project until it ends (deps.inFlight).
 * Every failure of a sent key is the same 401 API_KEY_INVALID, whatever the reason.
 */
export function requireApiKey(
  deps: Pick<Deps, "projects" | "inFlight" | "config" | "clock" | "log" | "limiter">,
  { rateLimited = true } = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("x-api-key");
    const query = header ? undefined : c.req.query("key");
    const key = header || query;
    if (!key) throw apiKeyMissing(c.req.header("authorization"));
    // A secret key in a URL ends up in logs and browser history: refuse it there (the message
    // follows from the key's prefix alone, so it tells nothing of whether the key is valid).
    const inUrl = header ? undefined : keyTypeOf(key);
    if (inUrl === "secret")
      throw new ApiError("API_KEY_INVALID", "A secret key is not accepted in the URL: send it in the x-api-key header");
    if (!header && inUrl !== "publishable") throw new ApiError("API_KEY_INVALID");
    const principal = await deps.projects.resolveKey(key);
    if (!principal) throw new ApiError("API_KEY_INVALID");
    // Under way until it ends, so that the project's deletion waits for what it writes; refused when
    // that deletion began after the key resolved.
    const projectId = principal.project.id;
    if (!deps.inFlight.enter(projectId)) throw new ApiError("API_KEY_INVALID");
    try {
      // Set before the origin check: a refused request of a resolved key is the project's, and counted.
      c.set("principal", principal);
      if (principal.keyType === "publishable") {
        const origin = requestOrigin(c.req.raw.headers);
        if (!originAllowed(origin, principal.project.allowedOrigins)) throw originRefused(origin);
      }
      if (rateLimited) await limitRequest(c, deps, principal, key);
      await next();
    } finally {
      deps.inFlight.leave(projectId);
    }
  };
}

/**
 * API_KEY_MISSING, saying where the key goes when it came as `Authorization: Bearer pk_…/sk_…` (where
 * other services take theirs). Told by the prefix alone: the key is neither checked nor repeated.
 */
function apiKeyMissing(authorization: string | undefined): ApiError {
  const bearer = bearerToken(authorization);
  if (bearer === undefined || !/^(pk|sk)_/.test(bearer)) return new ApiError("API_KEY_MISSING");
  return new ApiError(
    "API_KEY_MISSING",
    "API key missing: an API key came in Authorization: Bearer, which carries a user's access token here; send the key in the x-api-key header",
  );
}

/** ORIGIN_NOT_ALLOWED saying which origin was refused (the caller's own; the allowlist stays unsaid). */
function originRefused(origin: string | null | undefined): ApiError {
  const message = origin
    ? `Origin ${JSON.stringify(origin.slice(0, 200))} is not in the project's allowedOrigins`
    : "This project's publishable key is accepted only from its allowedOrigins, and the request named no origin (from a server, use the secret key; a native app sends an Origin header of its own that the list names, such as app://com.example.myapp)";
  return new ApiError("ORIGIN_NOT_ALLOWED", message);
}

/** Operator auth: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time; no token configured = no access. */
export function requireAdmin(deps: Pick<Deps, "config">): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const expected = deps.config.adminToken;
    const given = bearerToken(c.req.header("authorization"));
    const valid = expected !== undefined && given !== undefined && secretsEqual(given, expected);
    if (!valid) throw new ApiError("ADMIN_TOKEN_INVALID", undefined, { headers: { "www-authenticate": "Bearer" } });
    await next();
  };
}
