/** A rate-limit rule: at most `limit` requests per `windowMs`, or off. */
export type LimitRule = { limit: number; windowMs: number } | "off";

const WINDOW_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const RULE = /^(\d{1,7})\/(\d{1,5})([smh])$/;

/** Parses `<count>/<window>` (`100/15m`, `20/15m`, `1000/1m`; windows in s, m, h) or `off`; undefined when malformed. */
export function parseRule(text: string): LimitRule | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "off") return "off";
  const match = RULE.exec(trimmed);
  if (!match) return undefined;
  const limit = Number(match[1]);
  const windowMs = Number(match[2]) * (WINDOW_UNITS[match[3] as string] as number);
  return limit > 0 && windowMs > 0 ? { limit, windowMs } : undefined;
}

/** The rule back as text (`100/900s`), for keys that must not collide across rules. */
export const ruleId = (rule: Exclude<LimitRule, "off">) => `${rule.limit}/${rule.windowMs}ms`;

/** A rule's window as people say it: "15 min", "1 h", "30 s". */
export function windowText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
