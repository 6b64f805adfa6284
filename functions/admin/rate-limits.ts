/**
 * A project's own rate limit where each instance counts on its own (production on a diskless
 * platform without Upstash) would let each instance grant its whole budget, while the RateLimit-*
 * headers claim it holds: refused where rules are written, as loadConfig refuses the environment's.
 * The local server is one instance and counts exactly, so it takes them; `off` is taken everywhere.
 */
import type { z } from "zod";
import type { Config } from "../../shared/config.js";
import { RULE_NAMES, UPSTASH_VARIABLES } from "../../shared/ratelimit/config.js";
import { parseRule } from "../../shared/ratelimit/rule.js";
import { isPlainObject } from "../../shared/sanitize.js";

export function refuseLimitsCountedPerInstance(config: Pick<Config, "rateLimits">) {
  return (body: { settings?: Record<string, unknown> | undefined }, ctx: z.RefinementCtx): void => {
    if (!config.rateLimits.countedPerInstance) return;
    const own = body.settings?.rateLimits;
    if (!isPlainObject(own)) return;
    for (const name of RULE_NAMES) {
      const value = own[name];
      const rule = typeof value === "string" ? parseRule(value) : undefined;
      // A malformed rule is the settings schema's to refuse.
      if (rule === undefined || rule === "off") continue;
      ctx.addIssue({
        code: "custom",
        path: ["settings", "rateLimits", name],
        message: `would be counted by each instance on its own on this platform: set ${UPSTASH_VARIABLES} (on every function), or "off"`,
      });
    }
  };
}
