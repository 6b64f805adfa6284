import type { Context } from "hono";
import type { AppEnv } from "../app.js";
import { handToRuntime } from "../background.js";
import { clientIp, rateLimitSubject } from "../client-ip.js";
import { sha256Hex } from "../crypto.js";
import type { Deps, Logger } from "../deps.js";
import { ApiError } from "../errors.js";
import type { Principal } from "../principal.js";
import { type RuleName, UPSTASH_VARIABLES } from "./config.js";
import { type LimitRule, parseRule, ruleId, windowText } from "./rule.js";
import { LimiterUnavailableError, type RateLimiter } from "./types.js";

/**
 * The auth routes where a caller could guess a secret (a password, a code), open accounts or send
 * mail: the stricter `auth` rule, and so is deleting one's account (DELETE /me checks the password).
 * A signed-in user's other calls (me, update-profile, refresh-token, logout, sessions) and public
 * profiles count as any other publishable-key request.
 */
const GUARDED_AUTH_ROUTE =
  /^\/api\/userAuth\/(signup|login|verify-email|resend-verification|resend-verification-otp|request-password-reset|reset-password|change-password|social\/.*)$/;
const DELETE_ACCOUNT_ROUTE = "/api/userAuth/me";

/** The rule that governs a request: sk per key; pk per client IP, stricter on auth's guarded routes. */
function ruleFor(c: Context<AppEnv>, principal: Principal): RuleName {
  if (principal.keyType === "secret") return "sk";
  const guarded =
    GUARDED_AUTH_ROUTE.test(c.req.path) || (c.req.method === "DELETE" && c.req.path === DELETE_ACCOUNT_ROUTE);
  return guarded ? "auth" : "pk";
}

/** The project's own setting for a rule, if it has a valid one. */
function ownRule(principal: Principal, name: RuleName): LimitRule | undefined {
  const own = (principal.project.settings.rateLimits as Record<string, unknown> | undefined)?.[name];
  return (typeof own === "string" && parseRule(own)) || undefined;
}

/** The `<project id>:<rule>` pairs warned about below: once each per instance (this module's lifetime). */
const warnedCountedPerInstance = new Set<string>();

/**
 * The admin API refuses a project's own rule where each instance counts on its own, but one stored
 * before (or set through an admin function configured otherwise) still reaches here: it is counted
 * all the same (some protection beats none), and the operator told, once per instance and rule.
 */
function warnCountedPerInstance(log: Logger, projectId: string, name: RuleName): void {
  const key = `${projectId}:${name}`;
  if (warnedCountedPerInstance.has(key)) return;
  warnedCountedPerInstance.add(key);
  log.warn(
    `a project's own rate limit is counted per instance: set ${UPSTASH_VARIABLES} for it to hold across instances`,
    {
      projectId,
      rule: name,
    },
  );
}

/** In development, how to turn a limit off: the 429 a developer meets on the local server says it. */
function developmentHint(deps: Pick<Deps, "config">, principal: Principal, name: RuleName): string {
  if (deps.config.nodeEnv !== "development") return "";
  return ownRule(principal, name)
    ? ` (while developing, the project's settings.rateLimits.${name} "off" turns it off)`
    : ` (while developing, RATE_LIMIT_${name.toUpperCase()}=off turns it off)`;
}

/**
 * Applies API.md §8 to a request whose key has been resolved: counts it, sets the RateLimit-* and
 * X-RateLimit-* headers, refuses with 429 RATE_LIMITED (Retry-After) when over, and follows the rule's
 * failure policy when the limiter cannot answer (open: let it through; closed: 503).
 */
export async function limitRequest(
  c: Context<AppEnv>,
  deps: Pick<Deps, "config" | "clock" | "log"> & { limiter: RateLimiter },
  principal: Principal,
  apiKey: string,
): Promise<void> {
  const name = ruleFor(c, principal);
  const own = ownRule(principal, name);
  const rule = own ?? deps.config.rateLimits.rules[name];
  if (rule === "off") return;
  if (own && deps.config.rateLimits.countedPerInstance) warnCountedPerInstance(deps.log, principal.project.id, name);
  const subject =
    name === "sk"
      ? `key:${sha256Hex(apiKey).slice(0, 16)}`
      : `ip:${rateLimitSubject(clientIp(c, deps.config.rateLimits.trustedProxy))}`;
  const key = `${principal.project.id}:${name}:${ruleId(rule)}:${subject}`;
  let result: Awaited<ReturnType<RateLimiter["check"]>>;
  try {
    result = await deps.limiter.check(key, rule.limit, rule.windowMs);
  } catch (error) {
    if (!(error instanceof LimiterUnavailableError)) throw error;
    const open = deps.config.rateLimits.failOpen[name];
    deps.log.warn("rate limiter unavailable", {
      rule: name,
      policy: open ? "open" : "closed",
      cause: String(error.cause ?? error.message),
    });
    if (open) return;
    throw new ApiError("SERVICE_UNAVAILABLE");
  }
  if (result.pending) handToRuntime(c, result.pending);
  const headers = rateLimitHeaders(result, deps.clock.now());
  if (!result.allowed) {
    const message = `Too many requests: the ${name} limit is ${rule.limit} per ${windowText(rule.windowMs)}; retry in ${headers["retry-after"]} s${developmentHint(deps, principal, name)}`;
    throw new ApiError("RATE_LIMITED", message, { headers });
  }
  for (const [header, value] of Object.entries(headers)) c.header(header, value);
}

/** The RateLimit-* and X-RateLimit-* headers of a limit (API.md §8), with Retry-After when refused. */
export function rateLimitHeaders(
  result: { limit: number; remaining: number; resetAt: number; allowed: boolean },
  now: number,
): Record<string, string> {
  const resetSeconds = Math.max(0, Math.ceil((result.resetAt - now) / 1000));
  return {
    "ratelimit-limit": String(result.limit),
    "ratelimit-remaining": String(result.remaining),
    "ratelimit-reset": String(resetSeconds),
    "x-ratelimit-limit": String(result.limit),
    "x-ratelimit-remaining": String(result.remaining),
    "x-ratelimit-reset": String(Math.ceil(result.resetAt / 1000)),
    ...(result.allowed ? {} : { "retry-after": String(Math.max(1, resetSeconds)) }),
  };
}
