import { Buffer } from "node:buffer";
/**
 * Keyset cursors. A cursor is base64url JSON `{"v":1,"s":[["createdAt",-1],["_id",-1]],"k":[<values>]}`:
 * the sort it was made for and the last item's value for each sort key (missing = null). It is
 * opaque but not secret: it only moves the page start, and the caller still ANDs its rule filter.
 *
 * The keyset condition follows MongoDB's sort order across types — null/missing < numbers <
 * strings < booleans — as an `$or` of lexicographic comparisons ending with `_id`, built from
 * allowlisted operators only (`$gt`/`$lt` never match other types or null, so the types after a
 * value are matched explicitly: `{$ne: null}`, `{$gte: ""}`, `{$in: [true, false]}`, ...). System
 * fields only consider their type and null. Array and object sort values cannot be paged with a
 * cursor (400).
 */
import { invalidQuery } from "./fail.js";
import { SYSTEM_FIELDS, type ValueKind } from "./paths.js";
import type { QueryFilter, SortSpec } from "./types.js";

type Scalar = string | number | boolean | null;
type Rank = 0 | 1 | 2 | 3;

const MAX_CURSOR_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ID_SHAPE = /^[0-9a-f]{24}$/;
const RANK_OF_KIND: Partial<Record<ValueKind, Rank>> = {
  number: 1,
  integer: 1,
  string: 2,
  email: 2,
  url: 2,
  date: 2,
  ref: 2,
  id: 2,
  boolean: 3,
};

// Buffer (Node, and Workers with nodejs_compat) encodes natively; a hand-written loop costs more
// than the rest of a list request's cursor work.
function toBase64Url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function fromBase64Url(token: string): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(token, "base64url"));
}

/** The value at a dotted path of a document (own properties only); undefined when missing. */
function valueAt(doc: Record<string, unknown>, path: string): unknown {
  let current: unknown = doc;
  for (const segment of path.split(".")) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** The opaque cursor positioned after `doc` for this sort; the list handler calls it on the last item. */
export function encodeCursor(doc: Record<string, unknown>, sort: Record<string, 1 | -1>): string {
  const keys = Object.entries(sort);
  const values = keys.map(([path]) => valueAt(doc, path) ?? null);
  return toBase64Url(JSON.stringify({ v: 1, s: keys, k: values }));
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
  value === null ? 0 : typeof value === "number" ? 1 : typeof value === "string" ? 2 : 3;

/** Matches every value of one type rank (never null/missing). */
function wholeRank(rank: Rank): Record<string, unknown> {
  if (rank === 1) return { $gte: -Number.MAX_VALUE };
  if (rank === 2) return { $gte: "" };
  return { $in: [true, false] };
}

/** Conditions on one path selecting values strictly after `value` in the sort direction. */
function after(path: string, value: Scalar, dir: 1 | -1, ranks: Rank[]): QueryFilter[] {
  const rank = rankOf(value);
  const conditions: unknown[] = [];
  if (dir === 1) {
    if (rank === 0) return [{ [path]: { $ne: null } }];
    if (rank === 3) {
      if (value === false) conditions.push(true);
    } else conditions.push({ $gt: value });
    for (const r of ranks) if (r > rank) conditions.push(wholeRank(r));
  } else {
    if (rank === 3) {
      if (value === true) conditions.push(false);
    } else if (rank !== 0) conditions.push({ $lt: value });
    for (const r of ranks) if (r < rank) conditions.push(r === 0 ? null : wholeRank(r));
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
    const ranks: Rank[] = path === "_id" ? [2] : typed === undefined ? [0, 1, 2, 3] : [0, typed];
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
