import type { Doc, Filter } from "../types.js";
import { rangesOf } from "./planner.js";
import {
  type Bound,
  bracketOf,
  compareKeys,
  type IndexKey,
  indexValue,
  type Range,
  type SortedIndex,
} from "./sorted-index.js";

/**
 * Filters the indexes answer exactly, so neither counting nor matching needs mingo: a conjunction of
 * conditions on indexed fields holding only scalars (no irregular documents), each an equality, an
 * `$eq`, an `$in` of scalars, or a range. MongoDB's semantics for these are the index's own order.
 */
export interface ExactCondition {
  field: string;
  index: SortedIndex;
  ranges: Range[];
}

const RANGE_OPERATORS = new Set(["$gt", "$gte", "$lt", "$lte"]);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function isExactCondition(condition: unknown): boolean {
  if (!isPlainObject(condition)) return true;
  const ops = Object.keys(condition);
  if (ops.length === 1 && (ops[0] === "$eq" || ops[0] === "$in")) return true;
  // A bound the index cannot order (null, an object) would be dropped from the range: not exact.
  return ops.length > 0 && ops.every((op) => RANGE_OPERATORS.has(op) && (bracketOf(condition[op]) ?? 0) > 1);
}

/** The exact conditions of a filter (`$and` flattened); undefined when any part needs mingo. */
export function exactConditions(
  filter: Filter,
  indexes: ReadonlyMap<string, SortedIndex>,
  out: ExactCondition[] = [],
): ExactCondition[] | undefined {
  for (const [field, condition] of Object.entries(filter)) {
    if (field === "$and" && Array.isArray(condition)) {
      for (const part of condition) if (!isPlainObject(part) || !exactConditions(part, indexes, out)) return undefined;
      continue;
    }
    const index = indexes.get(field);
    if (!index || index.irregular.size > 0 || !isExactCondition(condition)) return undefined;
    const ranges = rangesOf(condition);
    if (!ranges) return undefined;
    out.push({ field, index, ranges });
  }
  return out;
}

function inRange(bracket: number, key: IndexKey, { bracket: b, lo, hi }: Range): boolean {
  if (bracket !== b) return false;
  if (lo) {
    const c = compareKeys(bracket, key, b, lo.key);
    if (c < 0 || (c === 0 && !lo.inclusive)) return false;
  }
  if (hi) {
    const c = compareKeys(bracket, key, b, hi.key);
    if (c > 0 || (c === 0 && !hi.inclusive)) return false;
  }
  return true;
}

const sameBound = (a: Bound | undefined, b: Bound | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.key === b.key && a.inclusive === b.inclusive);

const sameRange = (a: Range, b: Range | undefined) =>
  b !== undefined && a.bracket === b.bracket && sameBound(a.lo, b.lo) && sameBound(a.hi, b.hi);

/**
 * The conditions a walk over `field`'s index within `range` (a union) leaves to check: a condition
 * on that field whose ranges are the walked ones holds for every document the walk visits.
 */
export function unlessWalked(
  conditions: ExactCondition[],
  field: string,
  range: readonly Range[] | undefined,
): ExactCondition[] {
  return conditions.filter(
    ({ field: f, ranges }) =>
      !(range && f === field && ranges.length === range.length && ranges.every((r, i) => sameRange(r, range[i]))),
  );
}

/** Whether a document satisfies every exact condition. */
export function matchesExact(doc: Doc, conditions: readonly ExactCondition[]): boolean {
  for (const { field, ranges } of conditions) {
    const value = field.includes(".") || !Object.hasOwn(doc, field) ? indexValue(doc, field) : doc[field];
    const bracket = bracketOf(value);
    if (bracket === undefined) return false;
    let inside = false;
    for (const range of ranges) {
      if (inRange(bracket, value as IndexKey, range)) {
        inside = true;
        break;
      }
    }
    if (!inside) return false;
  }
  return true;
}

/** The documents matching exact conditions: the smallest condition's index ranges, checked against the rest. */
export function exactMatches(conditions: readonly ExactCondition[], docs: ReadonlyMap<string, Doc>): Doc[] {
  const sizes = conditions.map((c) => c.ranges.reduce((sum, r) => sum + c.index.count(r), 0));
  const driver = sizes.indexOf(Math.min(...sizes));
  const { index, ranges } = conditions[driver] as ExactCondition;
  const rest = conditions.filter((_, i) => i !== driver);
  const out: Doc[] = [];
  index.walk(1, ranges, (id) => {
    const doc = docs.get(id) as Doc;
    if (matchesExact(doc, rest)) out.push(doc);
  });
  return out;
}

/** The number of documents matching exact conditions. */
export function exactCount(conditions: readonly ExactCondition[], docs: ReadonlyMap<string, Doc>): number {
  const [only] = conditions;
  if (conditions.length === 1 && only && only.ranges.length === 1) return only.index.count(only.ranges[0] as Range);
  return exactMatches(conditions, docs).length;
}
