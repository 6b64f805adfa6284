import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app.js";
import type { Deps } from "../deps.js";
import { functionFor } from "../functions.js";

/**
 * Records every project-facing request (one whose key resolved) in the usage counters and request
 * logs after it is answered. Writing happens in batches, handed to waitUntil where the runtime has it.
 */
export function recordUsage(deps: Pick<Deps, "usage" | "clock">): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = deps.clock.now();
    await next();
    const principal = c.get("principal");
    if (!principal) return;
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
    const flushing = deps.usage.flushIfDue();
    if (!flushing) return;
    try {
      c.executionCtx.waitUntil(flushing);
    } catch {
      // Node: the flush runs on its own.
    }
  };
}
