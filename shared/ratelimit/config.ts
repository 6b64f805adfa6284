import { type LimitRule, parseRule } from "./rule.js";

/** The rules of API.md §8: publishable keys on data/storage, on auth, and secret keys. */
export type RuleName = "pk" | "auth" | "sk";
export const RULE_NAMES: readonly RuleName[] = ["pk", "auth", "sk"];

/** Where a request's client IP comes from: the socket, Cloudflare's header, or the last X-Forwarded-For hop. */
export type TrustedProxy = "none" | "cloudflare" | "xff";

export interface RateLimitConfig {
  readonly rules: Readonly<Record<RuleName, LimitRule>>;
  /** Per rule: answer anyway (open) or 503 (closed) when the limiter's backend fails. */
  readonly failOpen: Readonly<Record<RuleName, boolean>>;
  readonly upstash: { readonly url: string; readonly token: string } | undefined;
  readonly trustedProxy: TrustedProxy;
  /**
   * Each of the platform's many instances counts in its own memory (production on a diskless
   * platform, without Upstash): a limit then holds per instance, each granting the whole budget.
   * loadConfig refuses the environment's rules then, the admin API a project's own.
   */
  readonly countedPerInstance: boolean;
}

/** Whether requests to a URL keep their token private: https, or http to this machine. */
function sentPrivately(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password) return false; // fetch refuses a URL with credentials
  return parsed.protocol === "https:" || ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
}

/** The variables that make limits hold across instances, as messages name them. */
export const UPSTASH_VARIABLES = "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN";

const DEFAULT_RULES: Record<RuleName, string> = { pk: "100/15m", auth: "20/15m", sk: "1000/1m" };
/** Reads stay up when Redis is down; auth, the brute-force target, closes. */
const DEFAULT_FAILURE: Record<RuleName, "open" | "closed"> = { pk: "open", auth: "closed", sk: "open" };
const PROXIES: readonly TrustedProxy[] = ["none", "cloudflare", "xff"];

/** Every variable loadRateLimitConfig reads. */
export const RATE_LIMIT_VARIABLES: readonly string[] = [
  ...RULE_NAMES.flatMap((name) => [`RATE_LIMIT_${name.toUpperCase()}`, `RATE_LIMIT_ON_FAILURE_${name.toUpperCase()}`]),
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "TRUSTED_PROXY",
];

/**
 * Reads RATE_LIMIT_PK|AUTH|SK, RATE_LIMIT_ON_FAILURE_*, UPSTASH_REDIS_REST_URL/_TOKEN and TRUSTED_PROXY.
 * `diskless`: the platform runs the function as many instances at once (Workers, Lambda, Vercel).
 */
export function loadRateLimitConfig(
  env: Record<string, string | undefined>,
  { production = false, diskless = false } = {},
): {
  config: RateLimitConfig;
  problems: string[];
} {
  const problems: string[] = [];
  const value = (name: string) => env[name]?.trim() || undefined;
  const rules = {} as Record<RuleName, LimitRule>;
  const failOpen = {} as Record<RuleName, boolean>;
  for (const name of RULE_NAMES) {
    const variable = `RATE_LIMIT_${name.toUpperCase()}`;
    const rule = parseRule(value(variable) ?? DEFAULT_RULES[name]);
    if (!rule) problems.push(`${variable}: must be <count>/<window> (e.g. 100/15m; s, m or h) or off`);
    rules[name] = rule ?? "off";
    const policyVariable = `RATE_LIMIT_ON_FAILURE_${name.toUpperCase()}`;
    const policy = value(policyVariable) ?? DEFAULT_FAILURE[name];
    if (policy !== "open" && policy !== "closed") problems.push(`${policyVariable}: must be open or closed`);
    failOpen[name] = policy === "open";
  }
  const url = value("UPSTASH_REDIS_REST_URL");
  const token = value("UPSTASH_REDIS_REST_TOKEN");
  if (url && !/^https?:\/\/\S+$/.test(url)) problems.push("UPSTASH_REDIS_REST_URL: must be an http(s) URL");
  // The token goes with every request: in the clear over http, but to this machine (a local proxy).
  else if (production && url && !sentPrivately(url)) {
    problems.push("UPSTASH_REDIS_REST_URL: must be https:// in production (http:// would send the token in the clear)");
  }
  if (Boolean(url) !== Boolean(token)) problems.push(`${UPSTASH_VARIABLES}: set both or neither`);
  const proxy = (value("TRUSTED_PROXY") ?? "none") as TrustedProxy;
  if (!PROXIES.includes(proxy)) problems.push(`TRUSTED_PROXY: must be one of ${PROXIES.join(", ")}`);
  const upstash = url && token ? Object.freeze({ url, token }) : undefined;
  return {
    config: Object.freeze({
      rules: Object.freeze(rules),
      failOpen: Object.freeze(failOpen),
      upstash,
      trustedProxy: proxy,
      countedPerInstance: production && diskless && !upstash,
    }),
    problems,
  };
}
