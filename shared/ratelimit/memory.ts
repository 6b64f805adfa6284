import type { Clock } from "../deps.js";
import type { LimitResult, RateLimiter } from "./types.js";

interface Window {
  start: number;
  count: number;
  previous: number;
}

/**
 * In-process sliding window (as Upstash computes it): the current fixed window's count plus the
 * previous window's, weighted by how much of it still overlaps. One instance only: the local server.
 */
export function memoryLimiter(clock: Clock, maxKeys = 100_000): RateLimiter {
  const windows = new Map<string, Window>();
  return {
    kind: "memory",
    async check(key, limit, windowMs): Promise<LimitResult> {
      const now = clock.now();
      const start = now - (now % windowMs);
      let w = windows.get(key);
      if (!w || w.start < start - windowMs) w = { start, count: 0, previous: 0 };
      else if (w.start < start) w = { start, count: 0, previous: w.count };
      windows.delete(key); // re-inserted below: Map order is least recently used first
      if (windows.size >= maxKeys) windows.delete(windows.keys().next().value as string);
      const weight = 1 - (now - start) / windowMs;
      const used = Math.floor(w.previous * weight) + w.count;
      const allowed = used < limit;
      if (allowed) w.count++;
      windows.set(key, w);
      return { allowed, limit, remaining: Math.max(0, limit - used - (allowed ? 1 : 0)), resetAt: start + windowMs };
    },
  };
}
