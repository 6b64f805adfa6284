import { Buffer } from "node:buffer";
/**
 * Keyset cursors. A cursor is base64url JSON `{"v":1,"s":[["createdAt",-1],["_id",-1]],"k":[<values>]}`:
 * the sort it was made for and the last item's value for each sort key (missing = null). It is
 * opaque but not secret: it only moves the page start, and the caller still ANDs its rule filter.
 *
 * The keyset condition follows MongoDB's sort order across types — empty array < null/missing <
 * numbers < strings < objects < booleans — as an `$or` of lexicographic comparisons ending with
 * `_id`, built from allowlisted operators (`$gt`/`$lt` never match other types or null, so the types
 * after a value are matched explicitly: `{$ne: null}`, `{$gte: ""}`, `{$gte: {}}`, `{$size: 0}`,
 * `{$in: [true, false]}`, ...). System fields only consider their type and null.
 *
 * Only single (scalar) values can be a cursor's position: MongoDB orders an array by its smallest
 * element ascending and its largest descending, and objects field by field, which these conditions
 * cannot express. A sort on a path the definition lets hold arrays or objects has no cursor (400),
 * and a page whose last item holds one at a sort path answers `nextCursor: null`.
 */
import { invalidQuery } from "./fail.js";
import { mayHoldNonScalar, SYSTEM_FIELDS, type ValueKind } from "./paths.js";
import type { QueryContext, QueryFilter, SortSpec } from "./types.js";

type Scalar = string | number | boolean | null;
/** Places in MongoDB's sort order across types. */
const EMPTY_ARRAY = 0;
const NULL = 1;
const NUMBER = 2;
const STRING = 3;
const OBJECT = 4;
const BOOLEAN = 5;
type Rank = typeof EMPTY_ARRAY | typeof NULL | typeof NUMBER | typeof STRING | typeof OBJECT | typeof BOOLEAN;
const ALL_RANKS: Rank[] = [EMPTY_ARRAY, NULL, NUMBER, STRING, OBJECT, BOOLEAN];

const MAX_CURSOR_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ID_SHAPE = /^[0-9a-f]{24}$/;
const RANK_OF_KIND: Partial<Record<ValueKind, Rank>> = {
  number: NUMBER,
  integer: NUMBER,
  string: STRING,
  email: STRING,
  url: STRING,
  date: STRING,
  ref: STRING,
  id: STRING,
  boolean: BOOLEAN,
};

// Buffer (Node, and Workers with nodejs_compat) encodes natively; a hand-written loop costs more
// than the rest of a list request's cursor work.
function toBase64Url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function fromBase64Url(token: string): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(token, "base64url"));
}

/** Stands for a sort value no cursor can hold: an array or an object, or a path through an array. */
const NOT_SCALAR = Symbol("not scalar");

/** The sort value at a dotted path of a document (own properties only): null when missing, NOT_SCALAR for arrays and objects. */
function sortValueAt(doc: Record<string, unknown>, path: string): Scalar | typeof NOT_SCALAR {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (Array.isArray(current)) return NOT_SCALAR;
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) return null;
    current = (current as Record<string, unknown>)[segment];
  }
  return typeof current === "object" && current !== null ? NOT_SCALAR : ((current ?? null) as Scalar);
}

/**
 * The opaque cursor positioned after `doc` for this sort; the list handler calls it on the last
 * item. Null when a sort value of `doc` is an array or an object, where no cursor can continue.
 */
export function encodeCursor(doc: Record<string, unknown>, sort: Record<string, 1 | -1>): string | null {
  const keys = Object.entries(sort);
  const values = keys.map(([path]) => sortValueAt(doc, path));
  if (values.includes(NOT_SCALAR)) return null;
  return toBase64Url(JSON.stringify({ v: 1, s: keys, k: values }));
}

/**
 * Why this sort cannot be paged with a cursor, or undefined when it can: a sort key the definition
 * lets hold arrays or objects, or one above a selected field (the projection could not add it
 * without handing out more than was selected).
 */
export function cursorProblem(sort: SortSpec, ctx: QueryContext, selected: readonly string[]): string | undefined {
  for (const path of Object.keys(sort)) {
    if (mayHoldNonScalar(path, ctx)) return `sort field "${path}" may hold arrays or objects`;
    if (selected.some((s) => s.startsWith(`${path}.`))) return `sort field "${path}" holds a selected field`;
  }
  return undefined;
}

const isScalar = (value: unknown): value is Scalar =>
  value === null ||
  typeof value === "string" ||
  typeof value === "boolean" ||
  (typeof value === "number" && Number.isFinite(value));

/** Decodes a cursor and checks it against the current sort; throws INVALID_QUERY. */
export function decodeCursor(token: string, sort: SortSpec): Scalar[] {
  const bad = (why: string) => invalidQuery("cursor", why);
  if (token.length > MAX_CURSOR_LENGTH || !BASE64URL.test(token)) throw bad("malformed cursor");
  let data: unknown;
  try {
    data = JSON.parse(fromBase64Url(token));
  } catch {
    throw bad("malformed cursor");
  }
  const { v, s, k } = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  if (v !== 1 || !Array.isArray(s) || !Array.isArray(k) || s.length !== k.length) throw bad("malformed cursor");
  if (JSON.stringify(s) !== JSON.stringify(Object.entries(sort)))
    throw bad("cursor does not match the current sort; start again without a cursor");
  if (!k.every(isScalar)) throw bad("cursor paging needs scalar (not array or object) sort values");
  if (typeof k[k.length - 1] !== "string" || !ID_SHAPE.test(k[k.length - 1] as string)) throw bad("malformed cursor");
  return k;
}

const rankOf = (value: Scalar): Rank =>
  value === null ? NULL : typeof value === "number" ? NUMBER : typeof value === "string" ? STRING : BOOLEAN;

/** Matches every value of one type rank other than null/missing. */
function wholeRank(rank: Rank): Record<string, unknown> {
  if (rank === EMPTY_ARRAY) return { $size: 0 };
  if (rank === NUMBER) return { $gte: -Number.MAX_VALUE };
  if (rank === STRING) return { $gte: "" };
  if (rank === OBJECT) return { $gte: {} };
  return { $in: [true, false] };
}

/** Conditions on one path selecting values strictly after `value` in the sort direction. */
function after(path: string, value: Scalar, dir: 1 | -1, ranks: Rank[]): QueryFilter[] {
  const rank = rankOf(value);
  const conditions: unknown[] = [];
  if (dir === 1) {
    if (rank === NULL) return [{ [path]: { $ne: null } }];
    if (rank === BOOLEAN) {
      if (value === false) conditions.push(true);
    } else conditions.push({ $gt: value });
    for (const r of ranks) if (r > rank) conditions.push(wholeRank(r));
  } else {
    if (rank === BOOLEAN) {
      if (value === true) conditions.push(false);
    } else if (rank !== NULL) conditions.push({ $lt: value });
    for (const r of ranks) if (r < rank) conditions.push(r === NULL ? null : wholeRank(r));
  }
  return conditions.map((condition) => ({ [path]: condition }));
}

/**
 * The keyset condition for documents after the cursor position. Only system fields, which the server
 * writes, are narrowed to their type (and null): a declared field may hold values of another type,
 * stored before its definition changed, and those must not fall out of the pages.
 */
export function cursorFilter(sort: SortSpec, cursorToken: string): QueryFilter {
  const values = decodeCursor(cursorToken, sort);
  const keys = Object.entries(sort);
  const branches: QueryFilter[] = [];
  for (const [i, [path, dir]] of keys.entries()) {
    const system = SYSTEM_FIELDS.get(path);
    const typed = system === undefined ? undefined : RANK_OF_KIND[system];
    const ranks: Rank[] = path === "_id" ? [STRING] : typed === undefined ? ALL_RANKS : [NULL, typed];
    const options = after(path, values[i]!, dir, ranks);
    if (options.length === 0) continue;
    if (i === 0) {
      branches.push(...options);
      continue;
    }
    const equal: QueryFilter = Object.fromEntries(keys.slice(0, i).map(([prior], j) => [prior, values[j]]));
    branches.push({ ...equal, ...(options.length === 1 ? options[0] : { $or: options }) });
  }
  return branches.length === 1 ? branches[0]! : { $or: branches };
}
