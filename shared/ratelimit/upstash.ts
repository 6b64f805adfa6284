import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { ruleId } from "./rule.js";
import { LimiterUnavailableError, type LimitResult, type RateLimiter } from "./types.js";

/** Longest a limit check may wait for Redis before the rule's failure policy decides. */
export const REDIS_TIMEOUT_MS = 1000;

/**
 * Sliding-window limits in Upstash Redis (@upstash/ratelimit), shared by every instance. Each call is
 * bounded (no client retries, an abort after REDIS_TIMEOUT_MS); blocked subjects are remembered in an
 * ephemeral per-instance cache so they cost no Redis call until their window resets.
 */
export function upstashLimiter(options: { url: string; token: string }): RateLimiter {
  const redis = new Redis({
    url: options.url,
    token: options.token,
    retry: false,
    signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS),
    enableTelemetry: false,
  });
  const ephemeralCache = new Map<string, number>();
  const limiters = new Map<string, Ratelimit>();
  const limiterFor = (limit: number, windowMs: number) => {
    const id = ruleId({ limit, windowMs });
    let limiter = limiters.get(id);
    if (!limiter) {
      limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.slidingWindow(limit, `${windowMs} ms`),
        prefix: `edgeback:rl:${id}`,
        ephemeralCache,
        timeout: REDIS_TIMEOUT_MS,
        analytics: false,
      });
      limiters.set(id, limiter);
    }
    return limiter;
  };
  return {
    kind: "upstash",
    async check(key, limit, windowMs): Promise<LimitResult> {
      let response: Awaited<ReturnType<Ratelimit["limit"]>>;
      try {
        response = await limiterFor(limit, windowMs).limit(key);
      } catch (error) {
        throw new LimiterUnavailableError("Rate limiter unavailable", { cause: error });
      }
      if (response.reason === "timeout") throw new LimiterUnavailableError("Rate limiter timed out");
      return {
        allowed: response.success,
        limit: response.limit,
        remaining: Math.max(0, response.remaining),
        resetAt: response.reset,
        pending: response.pending,
      };
    },
  };
}
