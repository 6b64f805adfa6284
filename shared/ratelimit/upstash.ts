import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { ruleId } from "./rule.js";
import { LimiterUnavailableError, type LimitResult, type RateLimiter } from "./types.js";

/** Longest a limit check may wait for Redis before the rule's failure policy decides. */
export const REDIS_TIMEOUT_MS = 1000;

/** How many blocked subjects an instance remembers (see BlockedSubjects). */
export const BLOCKED_SUBJECTS_REMEMBERED = 10_000;

/**
 * The ephemeral cache @upstash/ratelimit keeps of blocked subjects (subject → end of its block), bounded:
 * the library drops an entry only when that subject calls again after its block, so clients seen once
 * (a new address each time) would stay for the instance's life. Past the bound the oldest is forgotten;
 * a forgotten subject costs one Redis call, which still refuses it.
 */
export class BlockedSubjects extends Map<string, number> {
  constructor(private readonly bound: number) {
    super();
  }
  override set(subject: string, resetAt: number): this {
    if (!this.has(subject) && this.size >= this.bound) this.delete(this.keys().next().value as string);
    return super.set(subject, resetAt);
  }
}

/**
 * Sliding-window limits in Upstash Redis (@upstash/ratelimit), shared by every instance. Each call is
 * bounded (no client retries, an abort after REDIS_TIMEOUT_MS); blocked subjects are remembered in an
 * ephemeral per-instance cache so they cost no Redis call until their window resets.
 */
export function upstashLimiter(options: { url: string; token: string; remembered?: number }): RateLimiter {
  const redis = new Redis({
    url: options.url,
    token: options.token,
    retry: false,
    signal: () => AbortSignal.timeout(REDIS_TIMEOUT_MS),
    enableTelemetry: false,
  });
  const ephemeralCache = new BlockedSubjects(options.remembered ?? BLOCKED_SUBJECTS_REMEMBERED);
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
