/** The rate-limiter port: one sliding-window check per request. Adapters: `upstash` and `memory`. */
export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the window frees a request again (epoch ms). */
  resetAt: number;
  /** Work the adapter still does after answering (Upstash analytics, sync); hand it to waitUntil. */
  pending?: Promise<unknown>;
}

export interface RateLimiter {
  readonly kind: "upstash" | "memory";
  /** Counts one request for `key` under `limit` per `windowMs`; rejects when the backend cannot answer. */
  check(key: string, limit: number, windowMs: number): Promise<LimitResult>;
}

/** Thrown when the limiter's backend did not answer in time or failed. */
export class LimiterUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LimiterUnavailableError";
  }
}
