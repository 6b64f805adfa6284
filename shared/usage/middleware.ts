import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app.js";
import { handToRuntime } from "../background.js";
import type { Deps } from "../deps.js";
import { functionFor } from "../functions.js";
import type { UsageRecorder } from "./recorder.js";

/**
 * Records every project-facing request (one whose key resolved) in the usage counters and request
 * logs after it is answered. Writing happens in batches, handed to waitUntil where the runtime has it;
 * also for what a key-less request counted (a signed upload's bytes, a social sign-in's new user).
 */
export function recordUsage(deps: Pick<Deps, "usage" | "clock">): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = deps.clock.now();
    await next();
    const principal = c.get("principal");
    if (principal) {
      const path = c.req.path;
      deps.usage.request({
        projectId: principal.project.id,
        time: started,
        method: c.req.method,
        path,
        status: c.res.status,
        durationMs: deps.clock.now() - started,
        keyType: principal.keyType,
        function: functionFor(path),
      });
    }
    flushInBackground(c, deps.usage);
  };
}

/**
 * Sees that what the recorder holds is written: now when due, else within its flush interval. Not
 * awaited on Lambda (every answer would wait out the interval): what a frozen instance holds is
 * written when it thaws.
 */
export function flushInBackground(c: Context<AppEnv>, usage: UsageRecorder): void {
  const flushing = usage.flushIfDue();
  if (flushing) handToRuntime(c, flushing);
}
