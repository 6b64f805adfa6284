/** ANDs filter clauses into one MongoDB filter, merging where that keeps the meaning. */
import type { QueryFilter } from "./types.js";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Field-level operator objects (`{$gt: 1}`) whose operators do not overlap can be merged. */
function mergeable(a: unknown, b: unknown): boolean {
  if (!isObject(a) || !isObject(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length === 0 || bKeys.length === 0) return false;
  if (![...aKeys, ...bKeys].every((key) => key.startsWith("$"))) return false;
  return !aKeys.some((key) => Object.hasOwn(b, key));
}

/** One filter equivalent to the AND of all clauses; `{}` when there are none. */
export function andAll(clauses: QueryFilter[]): QueryFilter {
  const merged: QueryFilter = {};
  const rest: QueryFilter[] = [];
  for (const clause of clauses) {
    const keys = Object.keys(clause);
    if (keys.length === 0) continue;
    const fits = keys.every(
      (key) => !Object.hasOwn(merged, key) || (!key.startsWith("$") && mergeable(merged[key], clause[key])),
    );
    if (!fits) {
      rest.push(clause);
      continue;
    }
    for (const key of keys) {
      const value = clause[key];
      const existing = merged[key];
      const next = Object.hasOwn(merged, key) ? { ...(existing as object), ...(value as object) } : value;
      // Only "__proto__" needs defining (assigned, it would set the prototype); defining every key
      // turned the filter into a slow dictionary object for all that reads it after.
      if (key === "__proto__")
        Object.defineProperty(merged, key, { value: next, enumerable: true, writable: true, configurable: true });
      else merged[key] = next;
    }
  }
  if (rest.length === 0) return merged;
  return Object.keys(merged).length === 0 && rest.length === 1
    ? rest[0]!
    : { $and: [...(Object.keys(merged).length ? [merged] : []), ...rest] };
}
