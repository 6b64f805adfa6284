/**
 * Sorts documents in memory in MongoDB's order, within the running budget (budget.ts).
 * - Each document's sort keys are read and prepared once (sort-order.ts), not in every comparison.
 * - With a limit, only the first skip + limit are selected (first-in-order.ts).
 * - Arrays follow MongoDB, not mingo: an array sorts by its smallest element ascending and by its
 *   largest descending (ties then go to the next key), and an empty array before null and missing.
 *   mingo compares arrays element by element and reverses its ascending order for a descending key,
 *   so `[1, 9]` came after `[5]` for `-1`.
 * - Other values follow mingo's `compare` (objects by their sorted keys, then values). Documents with
 *   equal keys keep the order they came in.
 */
import { resolve } from "mingo/util";
import type { Sort } from "../types.js";
import { firstInOrder } from "./first-in-order.js";
import { comparePrepared, type Prepared, prepare } from "./sort-order.js";

/** Below every value, as MongoDB places an empty array. */
const EMPTY_ARRAY = Symbol("empty array");
type Key = Prepared | typeof EMPTY_ARRAY;

/** The value a document sorts by for one key and direction (null and missing alike). */
function sortKey(value: unknown, direction: 1 | -1): Key {
  if (!Array.isArray(value)) return prepare(value ?? null);
  if (value.length === 0) return EMPTY_ARRAY;
  let best = prepare(value[0] ?? null);
  for (let i = 1; i < value.length; i++) {
    const item = prepare(value[i] ?? null);
    if (comparePrepared(item, best, true) * direction < 0) best = item;
  }
  return best;
}

function compareKeys(a: Key, b: Key): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return comparePrepared(a, b, true);
}

/** The value at a path (a top-level field read directly: mingo's resolve costs more than a comparison). */
function reader(field: string): (doc: object) => unknown {
  if (field.includes(".") || field === "__proto__") return (doc) => resolve(doc as Record<string, unknown>, field);
  return (doc) => (Object.hasOwn(doc, field) ? (doc as Record<string, unknown>)[field] : undefined);
}

/** `docs` in MongoDB's order for `sort`, from `skip` on, at most `limit` of them (0: all). */
export function sortDocuments<T extends object>(docs: readonly T[], sort: Sort, skip = 0, limit = 0): T[] {
  const keys = Object.entries(sort).map(([field, value]) => ({
    read: reader(field),
    direction: value === -1 ? (-1 as const) : (1 as const),
  }));
  const rows = docs.map((doc, at) => ({
    doc,
    at,
    values: keys.map(({ read, direction }) => sortKey(read(doc), direction)),
  }));
  type Row = (typeof rows)[number];
  const order = (x: Row, y: Row) => {
    for (let i = 0; i < keys.length; i++) {
      const by = compareKeys(x.values[i] as Key, y.values[i] as Key);
      if (by !== 0) return by * (keys[i] as (typeof keys)[number]).direction;
    }
    return x.at - y.at;
  };
  const count = limit ? skip + limit : rows.length;
  return firstInOrder(rows, count, order)
    .slice(skip)
    .map((row) => row.doc);
}
