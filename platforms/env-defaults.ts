/**
 * What a platform knows better than the generic defaults of shared/config.ts. Each entry passes its
 * variables through `withPlatformDefaults` before `loadConfig`; a variable the operator set (not blank)
 * always wins.
 */
import type { Env } from "../shared/config.js";

/**
 * Cloudflare Workers: the client is `cf-connecting-ip`, which Cloudflare sets on every request that
 * reaches a Worker from the internet (a client-sent value is replaced); `x-forwarded-for` is the client's.
 */
export const WORKERS_DEFAULTS: Readonly<Env> = { TRUSTED_PROXY: "cloudflare" };

/**
 * Vercel: its edge overwrites `x-forwarded-for` with the address of the client that connected (it does
 * not forward client-sent values), so its one hop (first and last) is the client; functions have no socket of their own.
 */
export const VERCEL_DEFAULTS: Readonly<Env> = { TRUSTED_PROXY: "xff" };

/** `env` with the platform's defaults for the variables it leaves unset or blank. */
export function withPlatformDefaults(env: Env, defaults: Readonly<Env>): Env {
  const merged: Env = { ...env };
  for (const [name, value] of Object.entries(defaults)) {
    if (!merged[name]?.trim()) merged[name] = value;
  }
  return merged;
}
