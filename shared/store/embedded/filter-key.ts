import type { Filter } from "../types.js";

/** Whether JSON represents a value exactly: plain objects and arrays of strings, booleans, null and finite numbers. */
function jsonExact(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object") return false;
  if (Array.isArray(value)) return value.every(jsonExact);
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.values(value).every(jsonExact);
}

/**
 * A filter's cache key: its JSON, when JSON tells it apart from every other filter. Undefined (do not
 * cache) for Dates, RegExps, undefined or NaN, whose JSON collides with other values, and for `$expr`,
 * whose `$$NOW` is fixed when mingo builds the query.
 */
export function filterKey(filter: Filter): string | undefined {
  if (!jsonExact(filter)) return undefined;
  const key = JSON.stringify(filter);
  return key.includes('"$expr"') ? undefined : key;
}
