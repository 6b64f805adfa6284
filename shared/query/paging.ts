/** `page`, `limit` and `count`: strict integers in range (a larger `limit` is the largest), 400 INVALID_QUERY otherwise. */
import { invalidQuery } from "./fail.js";

/** Default and largest page size. */
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
/** Deepest offset page; deeper lists page with a cursor. */
export const MAX_PAGE = 1_000_000;
/**
 * How long a list's find, and its count, may run (400 INVALID_QUERY past it). Indexed lists take
 * milliseconds; this stops a filter that tests every document expensively from holding the process.
 */
export const LIST_TIME_MS = 1000;

const INTEGER = /^-?\d{1,16}$/;

/** Scalar parameters that may appear at most once. */
export const SINGLE_PARAMS = ["page", "limit", "cursor", "count", "search", "sortBy", "sortDirection"] as const;

function integer(params: URLSearchParams, name: string, fallback: number, min: number, max = Infinity): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const text = raw.trim();
  const range = `${name} must be an integer ${max === Infinity ? `of at least ${min}` : `from ${min} to ${max}`}`;
  if (!INTEGER.test(text)) throw invalidQuery(name, `${range} (got "${text.slice(0, 32)}")`);
  const value = Number(text);
  if (value < min || value > max) throw invalidQuery(name, `${range} (got ${value})`);
  return value;
}

/** Refuses any of `names` given more than once: which one a list would use is not for it to guess. */
export function assertSingle(params: URLSearchParams, names: readonly string[]): void {
  for (const name of names) if (params.getAll(name).length > 1) throw invalidQuery(name, "given more than once");
}

/** Parses limit: ≥ 1, default 20; more than 100 gives 100, as urBackend does. */
export function parseLimit(params: URLSearchParams): number {
  return Math.min(integer(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT);
}

/** Parses page (≥ 1, default 1), limit (see parseLimit) and count (true|false). */
export function parsePaging(params: URLSearchParams): { page: number; limit: number; count: boolean } {
  assertSingle(params, SINGLE_PARAMS);
  const page = integer(params, "page", 1, 1, MAX_PAGE);
  const limit = parseLimit(params);
  const count = params.get("count");
  if (count !== null && count !== "true" && count !== "false") throw invalidQuery("count", "must be true or false");
  return { page, limit, count: count === "true" };
}
