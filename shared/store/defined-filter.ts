import type { Filter } from "./types.js";

/** The path of the first `undefined` under `value` (plain objects and arrays are walked), or null. */
function undefinedAt(value: unknown, path: string): string | null {
  if (value === undefined) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = undefinedAt(value[i], `${path}.${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return null; // a RegExp, an ObjectId: a value
  for (const [key, child] of Object.entries(value)) {
    const found = undefinedAt(child, `${path}.${key}`);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Throws a TypeError when a filter holds `undefined` anywhere: a programming error, which no store
 * may answer. MongoDB's driver (ignoreUndefined) would drop the condition, so `{userId: undefined}`
 * would match every document, where the embedded store matches the documents lacking the field.
 */
export function assertDefinedFilter(filter: Filter, name = "filter"): void {
  const at = undefinedAt(filter, name);
  if (at !== null) throw new TypeError(`undefined in a store filter, at ${at}`);
}

/** assertDefinedFilter for every `$match` stage of an aggregation pipeline. */
export function assertDefinedPipeline(pipeline: Array<Record<string, unknown>>): void {
  pipeline.forEach((stage, i) => {
    if (Object.hasOwn(stage, "$match")) assertDefinedFilter(stage.$match as Filter, `pipeline.${i}.$match`);
  });
}
