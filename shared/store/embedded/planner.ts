import type { Filter, Sort } from "../types.js";
import {
  type Bound,
  bracketOf,
  type IndexKey,
  NULL_BRACKETS,
  type Range,
  type SortedIndex,
  VALUE_BRACKETS,
} from "./sorted-index.js";

/**
 * Chooses how to answer a query from the indexes: which candidates to hand to mingo (always the
 * final judge), and whether a sorted index can produce the order so a page needs no full sort.
 * Every candidate set is a superset of the matches; an unusable condition is simply ignored.
 */

type Indexes = ReadonlyMap<string, SortedIndex>;

/** Candidates from one index: ranges (a union) plus that index's irregular documents. */
export interface IndexCandidates {
  index: SortedIndex;
  ranges: Range[];
  count: number;
}

export type Plan =
  | { kind: "scan" }
  | { kind: "candidates"; from: IndexCandidates }
  /** `range`: the union of ranges the walk is confined to (the whole index when undefined). */
  | { kind: "walk"; index: SortedIndex; direction: 1 | -1; range: readonly Range[] | undefined };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const wholeBrackets = (brackets: readonly number[]): Range[] => brackets.map((bracket) => ({ bracket }));

function equality(value: unknown): Range[] | undefined {
  if (value === null) return wholeBrackets(NULL_BRACKETS); // null matches absent fields too
  const bracket = bracketOf(value);
  if (bracket === undefined || bracket <= 1) return undefined;
  const bound = { key: value as IndexKey, inclusive: true };
  return [{ bracket, lo: bound, hi: bound }];
}

/** Of two bounds on the same end (`$gt` and `$gte`, say), the one that admits less. */
function tighter(a: Bound | undefined, b: Bound, lower: boolean): Bound {
  if (!a) return b;
  if (a.key === b.key) return a.inclusive ? b : a;
  return (a.key as string | number | boolean) < (b.key as string | number | boolean) === lower ? b : a;
}

const RANGE_BOUNDS = [
  ["$gt", false, "lo"],
  ["$gte", true, "lo"],
  ["$lt", false, "hi"],
  ["$lte", true, "hi"],
] as const;

/** The ranges a field condition confines its matches to; undefined when it does not confine them. */
export function rangesOf(condition: unknown): Range[] | undefined {
  if (!isPlainObject(condition) || !Object.keys(condition).some((k) => k.startsWith("$"))) return equality(condition);
  if ("$eq" in condition) {
    const ranges = equality(condition.$eq);
    if (ranges) return ranges;
  }
  if (Array.isArray(condition.$in)) {
    const ranges = condition.$in.map(equality);
    if (ranges.every((r) => r !== undefined)) return ranges.flat();
  }
  // Only arrays have a size, and only objects (or arrays holding one) compare with an object: no
  // index entry matches them, only the index's irregular documents (keyset cursors use both).
  if ("$size" in condition) return [];
  let range: Range | undefined;
  for (const [op, inclusive, end] of RANGE_BOUNDS) {
    if (!(op in condition)) continue;
    if (isPlainObject(condition[op])) return [];
    const bracket = bracketOf(condition[op]);
    if (bracket === undefined || bracket <= 1) continue;
    if (range && range.bracket !== bracket) return []; // no value is in two type brackets
    const bound = tighter(range?.[end], { key: condition[op] as IndexKey, inclusive }, end === "lo");
    range = { ...(range ?? { bracket }), [end]: bound };
  }
  if (range) return [range];
  // Keyset cursors ascending from null: every value but null and missing (and irregular documents).
  if ("$ne" in condition && condition.$ne === null) return wholeBrackets(VALUE_BRACKETS);
  return undefined;
}

/** Field conditions that every match must satisfy: top-level fields, `$and`, and a one-field `$or`. */
function conjuncts(filter: Filter, out: Array<[string, Range[]]> = []): Array<[string, Range[]]> {
  for (const [key, value] of Object.entries(filter)) {
    if (key === "$and" && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) conjuncts(part, out);
    } else if (key === "$or" && Array.isArray(value)) {
      // Keyset cursors look like {$or: [{f: {$lt: v}}, {f: null}, {f: v, _id: {$lt: id}}]} (one branch
      // per type bracket before or after v): a field every branch constrains confines the matches to
      // the union of those constraints, which a walk follows across brackets.
      const branches = value.map((part) => (isPlainObject(part) ? conjuncts(part) : []));
      const field = branches[0]?.find(([f]) => branches.every((b) => b.some(([g]) => g === f)))?.[0];
      if (field) out.push([field, branches.flatMap((b) => b.filter(([f]) => f === field).flatMap(([, r]) => r))]);
    } else if (!key.startsWith("$")) {
      const ranges = rangesOf(value);
      if (ranges) out.push([key, ranges]);
    }
  }
  return out;
}

/** The smallest candidate set the indexes offer, if any. */
function bestCandidates(conditions: Array<[string, Range[]]>, indexes: Indexes): IndexCandidates | undefined {
  let best: IndexCandidates | undefined;
  for (const [field, ranges] of conditions) {
    const index = indexes.get(field);
    if (!index) continue;
    const count = ranges.reduce((sum, r) => sum + index.count(r), index.irregular.size);
    if (!best || count < best.count) best = { index, ranges, count };
  }
  return best;
}

/** The index that yields documents in `sort` order: sort on one indexed field, optionally then `_id` the same way. */
function sortIndex(sort: Sort | undefined, indexes: Indexes): { index: SortedIndex; direction: 1 | -1 } | undefined {
  if (!sort) return undefined;
  const keys = Object.entries(sort);
  const [first, second] = keys;
  if (!first || keys.length > 2) return undefined;
  const [field, direction] = first;
  if (second && (second[0] !== "_id" || second[1] !== direction || field === "_id")) return undefined;
  const index = indexes.get(field);
  if (!index || index.irregular.size > 0) return undefined;
  // MongoDB sorts null and missing as equal (then by _id); the index keeps them apart.
  if (index.count({ bracket: 0 }) > 0 && index.count({ bracket: 1 }) > 0) return undefined;
  return { index, direction };
}

/** Below this many candidates, sorting them beats walking a sort index. */
const SMALL_CANDIDATE_SET = 512;
/** The page a walk is costed for: the most a list asks (limit 100, and one more). */
const PAGE = 100;

/**
 * Whether sorting `count` candidates beats walking the `walked()` index entries for a page (counted
 * only when the candidates are not few anyway): the walk meets a candidate about every
 * walked/count entries, so a page costs PAGE × walked / count tests (an owner's 1 000 documents
 * among 200 000 would cost a walk of 20 000 for 100 of them).
 */
function sortsCheaper(count: number, walked: () => number): boolean {
  return count <= SMALL_CANDIDATE_SET || count * count <= PAGE * walked();
}

/**
 * Plans a find: candidates, an ordered walk (confined to the sort field's own ranges when it has
 * them: a keyset cursor's `$or` across type brackets starts the walk at the cursor), or a scan.
 */
export function planQuery(filter: Filter, sort: Sort | undefined, indexes: Indexes): Plan {
  const conditions = conjuncts(filter);
  const candidates = bestCandidates(conditions, indexes);
  const ordered = sortIndex(sort, indexes);
  if (ordered) {
    const { index, direction } = ordered;
    const range = conditions.find(([field]) => field === index.field)?.[1];
    const walked = () => (range ? range.reduce((sum, r) => sum + index.count(r), 0) : index.size);
    if (!(candidates && sortsCheaper(candidates.count, walked))) return { kind: "walk", index, direction, range };
  }
  return candidates ? { kind: "candidates", from: candidates } : { kind: "scan" };
}
