import { compare, resolve } from "mingo/util";
import type { Doc, Sort } from "../types.js";

/**
 * MongoDB's order for sort keys that hold arrays, which mingo does not follow: an array sorts by
 * its smallest element ascending and by its largest descending (ties then go to the next key),
 * and an empty array before null and missing. mingo compares arrays element by element and
 * reverses its ascending order for a descending key, so `[1, 9]` came after `[5]` for `-1`.
 */

/** Below every value, as MongoDB places an empty array. */
const EMPTY_ARRAY = Symbol("empty array");
type Key = unknown;

/** The value a document sorts by for one key and direction (null and missing alike). */
function sortKey(value: unknown, direction: 1 | -1): Key {
  if (!Array.isArray(value)) return value ?? null;
  if (value.length === 0) return EMPTY_ARRAY;
  let best: unknown = value[0];
  for (const item of value) if (compare(item ?? null, best ?? null) * direction < 0) best = item;
  return best ?? null;
}

function compareKeys(a: Key, b: Key): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return compare(a, b);
}

/** Whether a document holds an array at one of the sort's paths (only then does mingo's order differ). */
export function holdsSortedArray(docs: readonly Doc[], fields: readonly string[]): boolean {
  for (const field of fields) {
    // A top-level field is read directly: mingo's resolve costs more than the sort's own pass.
    const at = field.includes(".") ? (doc: Doc) => resolve(doc, field) : (doc: Doc) => doc[field];
    for (const doc of docs) if (Array.isArray(at(doc))) return true;
  }
  return false;
}

/** The documents in MongoDB's order for `sort`, arrays ordered by their smallest or largest element. */
export function sortWithArrays(docs: readonly Doc[], sort: Sort): Doc[] {
  const keys = Object.entries(sort);
  const rows = docs.map((doc) => ({ doc, values: keys.map(([field, dir]) => sortKey(resolve(doc, field), dir)) }));
  rows.sort((x, y) => {
    for (const [i, [, dir]] of keys.entries()) {
      const order = compareKeys(x.values[i], y.values[i]);
      if (order !== 0) return order * dir;
    }
    return 0;
  });
  return rows.map((row) => row.doc);
}
