/**
 * mingo's order of values (its `compare`, which the embedded store's sorts follow) at a fraction of
 * its cost. `compare` sorts both objects' keys, and both arrays' elements, again on every comparison:
 * a sort on a field holding objects took seconds over 10 000 documents. Here a value is prepared
 * once (keys and elements sorted, steps counted toward the budget), then compared cheaply as often
 * as a sort needs. Values of no JSON type (a date or a regex an aggregation built) are compared by
 * mingo itself.
 */
import { compare, typeOf } from "mingo/util";
import { step } from "./budget.js";

class PreparedObject {
  constructor(
    readonly value: object,
    /** Sorted. */
    readonly keys: string[],
    /** In the order of `keys`. */
    readonly values: Prepared[],
  ) {}
}

class PreparedArray {
  constructor(
    readonly value: unknown[],
    /** In mingo's order. */
    readonly items: Prepared[],
  ) {}
}

/** A value mingo compares by other rules than JSON's (a Date, a RegExp, an instance of a class). */
class Opaque {
  constructor(readonly value: unknown) {}
}

/** A value ready for comparePrepared. */
export type Prepared = null | undefined | number | string | boolean | PreparedObject | PreparedArray | Opaque;

/** mingo's ranks of types (SORT_ORDER in mingo/util/_internal), for values of two types. */
const RANK: Record<string, number> = {
  undefined: 1,
  null: 2,
  number: 3,
  string: 4,
  symbol: 5,
  object: 6,
  array: 7,
  arraybuffer: 8,
  boolean: 9,
  date: 10,
  regexp: 11,
  function: 12,
};

/** A value prepared for comparePrepared (one step per object, array or element). */
export function prepare(value: unknown): Prepared {
  step();
  if (value === null || value === undefined) return value;
  const type = typeof value;
  if (type === "number" || type === "string" || type === "boolean") return value as number | string | boolean;
  if (Array.isArray(value)) {
    const items = value.map(prepare).sort((a, b) => comparePrepared(a, b, false));
    return new PreparedArray(value, items);
  }
  if (typeOf(value) !== "object") return new Opaque(value);
  const keys = Object.keys(value).sort();
  return new PreparedObject(
    value,
    keys,
    keys.map((key) => prepare((value as Record<string, unknown>)[key])),
  );
}

function original(value: Prepared): unknown {
  return value instanceof PreparedObject || value instanceof PreparedArray || value instanceof Opaque
    ? value.value
    : value;
}

function typeName(value: Prepared): string {
  if (value === null) return "null";
  if (value instanceof PreparedObject) return "object";
  if (value instanceof PreparedArray) return "array";
  if (value instanceof Opaque) return typeOf(value.value);
  return typeof value;
}

const simple = (a: unknown, b: unknown) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);

/**
 * What mingo's `compare(a, b)` answers for the values prepared (`top`), or its comparison of values
 * inside objects and arrays (not `top`: an array is then a value of its own type, never its elements).
 */
export function comparePrepared(a: Prepared, b: Prepared, top: boolean): number {
  step();
  if (a === b) return 0;
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta === tb) {
    if (a instanceof PreparedObject && b instanceof PreparedObject) return compareObjects(a, b);
    if (a instanceof PreparedArray && b instanceof PreparedArray) return compareLists(a.items, b.items);
    if (ta === "number" || ta === "string" || ta === "boolean") return simple(a, b);
    return compare(original(a), original(b));
  }
  if (ta === "undefined") return -1;
  if (tb === "undefined") return 1;
  // At the top, mingo compares an array with another type by its elements.
  if (top && (ta === "array" || tb === "array")) return compare(original(a), original(b));
  const ra = RANK[ta] ?? Number.MAX_VALUE;
  const rb = RANK[tb] ?? Number.MAX_VALUE;
  return ra !== rb ? simple(ra, rb) : simple(ta, tb);
}

/** Element by element, then the shorter first (mingo's order of arrays, both already sorted). */
function compareLists(a: readonly Prepared[], b: readonly Prepared[]): number {
  const size = Math.min(a.length, b.length);
  for (let i = 0; i < size; i++) {
    const order = comparePrepared(a[i], b[i], false);
    if (order !== 0) return order;
  }
  return simple(a.length, b.length);
}

/** The sorted keys as arrays of strings, then the values key by key (mingo's order of objects). */
function compareObjects(a: PreparedObject, b: PreparedObject): number {
  const size = Math.min(a.keys.length, b.keys.length);
  for (let i = 0; i < size; i++) {
    const order = simple(a.keys[i], b.keys[i]);
    if (order !== 0) return order;
  }
  if (a.keys.length !== b.keys.length) return simple(a.keys.length, b.keys.length);
  for (let i = 0; i < a.values.length; i++) {
    const order = comparePrepared(a.values[i], b.values[i], false);
    if (order !== 0) return order;
  }
  return 0;
}
