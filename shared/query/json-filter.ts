/**
 * JSON filters (`filter`, bkend's `andFilters` and `orFilters`): Mongo-style documents rebuilt
 * key by key from an allowlist, so nothing else can reach the store.
 *
 * Depth: every object is one level and an array is one more level only when it sits directly in
 * another array (the list under `$and`/`$in` adds none); at most 6 levels. Values are taken as
 * JSON-typed, except strings compared with `_id`, `ref` and `date` paths, which are checked and
 * normalized as in query-string filters.
 */
import { coerceTyped, expectation } from "./coerce.js";
import { invalidQuery } from "./fail.js";
import { assertPath, pathProblem, resolveField } from "./paths.js";
import { ID_PATTERN_REFUSED, optionsProblem, regexProblem, stripExtended } from "./regex.js";
import type { QueryContext, QueryFilter } from "./types.js";

/** Deepest accepted nesting of a JSON filter. */
export const MAX_FILTER_DEPTH = 6;
/** Most values in one `$in`, `$nin`, `$all`, `$and` or `$or` list. */
export const MAX_LIST_VALUES = 100;
/** Most bytes of JSON across all filter parameters of one request. */
export const MAX_FILTER_BYTES = 8192;

/** Query parameters that carry JSON filters. */
export const JSON_FILTER_PARAMS = ["filter", "andFilters", "orFilters"] as const;

const LOGICAL = new Set(["$and", "$or"]);
const RANGE = new Set(["$gt", "$gte", "$lt", "$lte"]);
const LISTS = new Set(["$in", "$nin", "$all"]);
const FIELD_OPERATORS = new Set([
  "$eq",
  "$ne",
  "$gt",
  "$gte",
  "$lt",
  "$lte",
  "$in",
  "$nin",
  "$all",
  "$exists",
  "$regex",
  "$options",
  "$not",
  "$size",
  "$elemMatch",
]);

type Doc = Record<string, unknown>;

interface Walk {
  param: string;
  ctx: QueryContext;
}

const isObject = (value: unknown): value is Doc => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};
const isScalar = (value: unknown) =>
  value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean";
const isOperatorObject = (value: unknown): value is Doc =>
  isObject(value) && Object.keys(value).some((key) => key.startsWith("$"));
const join = (at: string, key: string) => (at ? `${at}.${key}` : key);
/** `$elemMatch` applies operators to whole elements (`{$gt: 1}`) rather than a filter on their fields. */
const elementOperators = (value: Doc) => {
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith("$") && !LOGICAL.has(key));
};
/** Conditions that reveal only a value's shape, never its content (see PathUse "shape"). */
const shapeOnly = (value: unknown): boolean =>
  isOperatorObject(value) &&
  Object.entries(value).every(
    ([op, operand]) =>
      op === "$exists" ||
      op === "$size" ||
      (op === "$elemMatch" && isObject(operand) && !elementOperators(operand)) ||
      (op === "$not" && shapeOnly(operand)),
  );

function fail(w: Walk, at: string, message: string): never {
  const where = at.length > 100 ? `${at.slice(0, 97)}...` : at;
  throw invalidQuery(w.param, where ? `${message} (at ${where})` : message);
}

function checkDepth(depth: number, w: Walk, at: string): void {
  if (depth > MAX_FILTER_DEPTH) fail(w, at, `filter nested deeper than ${MAX_FILTER_DEPTH} levels`);
}

/** A fresh copy of a literal value: scalars, arrays, and objects whose keys are plain field names. */
function literal(value: unknown, parentDepth: number, inArray: boolean, w: Walk, at: string): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) fail(w, at, "numbers must be finite");
  if (isScalar(value)) return value;
  if (Array.isArray(value)) {
    const depth = inArray ? parentDepth + 1 : parentDepth;
    checkDepth(depth, w, at);
    return value.map((item, i) => literal(item, depth, true, w, join(at, String(i))));
  }
  if (!isObject(value)) fail(w, at, "unsupported value");
  checkDepth(parentDepth + 1, w, at);
  const out: Doc = {};
  for (const key of Object.keys(value)) {
    if (key.startsWith("$")) fail(w, join(at, key), `operator ${key} is not allowed inside a value`);
    const problem = pathProblem(key);
    if (problem) fail(w, join(at, key), problem);
    out[key] = literal(value[key], parentDepth + 1, false, w, join(at, key));
  }
  return out;
}

/** A literal compared with a path; `_id`, `ref` and `date` strings are checked and normalized. */
function operand(value: unknown, path: string, depth: number, inArray: boolean, w: Walk, at: string): unknown {
  const checked = literal(value, depth, inArray, w, at);
  const { kind } = resolveField(path, w.ctx);
  if (kind === "id" && typeof checked !== "string") fail(w, at, `${path} must be ${expectation(kind)}`);
  if (typeof checked === "string" && (kind === "id" || kind === "ref" || kind === "date")) {
    const coerced = coerceTyped(kind, checked);
    if (coerced === undefined) fail(w, at, `${path} must be ${expectation(kind)}`);
    return coerced;
  }
  return checked;
}

function list(op: string, value: unknown, w: Walk, at: string): unknown[] {
  if (!Array.isArray(value)) fail(w, at, `${op} needs an array`);
  if (value.length > MAX_LIST_VALUES) fail(w, at, `${op} takes at most ${MAX_LIST_VALUES} values`);
  return value;
}

function operatorValue(op: string, value: unknown, ops: Doc, path: string, depth: number, w: Walk, at: string) {
  if (op === "$eq" || op === "$ne") return operand(value, path, depth, false, w, at);
  if (RANGE.has(op)) {
    // MongoDB takes `$gte: null` for `$eq: null` (null and missing); mingo matches nothing: refused, as no store agrees.
    if (!isScalar(value) || value === null) fail(w, at, `${op} needs a string, number or boolean (for null, use $eq)`);
    return operand(value, path, depth, false, w, at);
  }
  if (LISTS.has(op)) return list(op, value, w, at).map((v, i) => operand(v, path, depth, true, w, join(at, String(i))));
  if (op === "$exists") {
    if (typeof value !== "boolean") fail(w, at, "$exists needs true or false");
    return value;
  }
  // The `x` option is applied here (whitespace and comments removed), so every store reads one pattern.
  if (op === "$regex") {
    if (typeof value !== "string") fail(w, at, "$regex needs a string");
    if (resolveField(path, w.ctx).kind === "id") fail(w, at, ID_PATTERN_REFUSED);
    const options = typeof ops.$options === "string" ? ops.$options : "";
    const problem = regexProblem(value, options);
    if (problem) fail(w, at, problem);
    return options.includes("x") ? stripExtended(value) : value;
  }
  if (op === "$options") {
    if (typeof value !== "string") fail(w, at, "$options needs a string");
    const problem = optionsProblem(value);
    if (problem) fail(w, at, problem);
    return value.replace("x", "");
  }
  if (op === "$size") {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
      fail(w, at, "$size needs a non-negative integer");
    return value;
  }
  if (op === "$not") {
    if (!isOperatorObject(value)) fail(w, at, "$not needs an operator object");
    return operators(value, path, depth + 1, w, at);
  }
  // $elemMatch: operators applied to each element, or a filter on the elements' fields.
  if (!isObject(value)) fail(w, at, "$elemMatch needs an object");
  return elementOperators(value)
    ? operators(value, path, depth + 1, w, at)
    : filterDocument(value, path, depth + 1, w, at);
}

/** An operator object applied to one path (`{$gt: 1, $lt: 5}`). */
function operators(ops: Doc, path: string, depth: number, w: Walk, at: string): Doc {
  checkDepth(depth, w, at);
  const keys = Object.keys(ops);
  if (keys.includes("$options") && !keys.includes("$regex")) fail(w, at, "$options is only allowed beside $regex");
  const out: Doc = {};
  for (const op of keys) {
    const here = join(at, op);
    if (!op.startsWith("$")) fail(w, here, "operators and field names cannot be mixed in one object");
    if (!FIELD_OPERATORS.has(op)) fail(w, here, `operator ${op} is not allowed`);
    out[op] = operatorValue(op, ops[op], ops, path, depth, w, here);
  }
  return out;
}

/** A filter document: field conditions plus `$and`/`$or`; field paths are relative to `prefix`. */
function filterDocument(value: unknown, prefix: string, depth: number, w: Walk, at: string): Doc {
  if (!isObject(value)) fail(w, at, "expected a JSON object");
  checkDepth(depth, w, at);
  const out: Doc = {};
  for (const key of Object.keys(value)) {
    const here = join(at, key);
    const item = value[key];
    if (key.startsWith("$")) {
      if (!LOGICAL.has(key)) fail(w, here, `operator ${key} is not allowed here`);
      const docs = list(key, item, w, here);
      if (docs.length === 0) fail(w, here, `${key} needs a non-empty array of filters`);
      out[key] = docs.map((doc, i) => filterDocument(doc, prefix, depth + 1, w, join(here, String(i))));
      continue;
    }
    const problem = pathProblem(key);
    if (problem) fail(w, here, problem);
    const path = prefix ? `${prefix}.${key}` : key;
    assertPath(w.param, path, shapeOnly(item) ? "shape" : "filter", w.ctx);
    out[key] = isOperatorObject(item)
      ? operators(item, path, depth + 1, w, here)
      : operand(item, path, depth, false, w, here);
  }
  return out;
}

function parseJson(w: Walk, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    fail(w, "", "malformed JSON");
  }
}

/** A top-level list of filter documents (`andFilters`/`orFilters` arrays), or one document. */
function documents(value: unknown, w: Walk): Doc[] {
  if (!Array.isArray(value)) return [filterDocument(value, "", 1, w, "")];
  const docs = list(w.param, value, w, "");
  if (docs.length === 0) fail(w, "", "needs a non-empty array of filters");
  return docs.map((doc, i) => filterDocument(doc, "", 1, w, String(i)));
}

/** Vets an already-parsed Mongo-style filter (e.g. an aggregate `$match`) by the same rules; returns a fresh copy. */
export function vetFilter(filter: unknown, ctx: QueryContext, param = "filter"): QueryFilter {
  const w: Walk = { param, ctx };
  let size: number;
  try {
    size = new TextEncoder().encode(JSON.stringify(filter) ?? "").length;
  } catch {
    fail(w, "", "not a JSON filter");
  }
  if (size > MAX_FILTER_BYTES) fail(w, "", `filter JSON larger than ${MAX_FILTER_BYTES} bytes`);
  return filterDocument(filter, "", 1, w, "");
}

/** Parses and vets every JSON filter parameter; returns the clauses the caller ANDs together. */
export function jsonFilterClauses(params: URLSearchParams, ctx: QueryContext): QueryFilter[] {
  const entries = [...params].filter(
    ([key, raw]) => (JSON_FILTER_PARAMS as readonly string[]).includes(key) && raw.trim(),
  );
  const bytes = entries.reduce((sum, [, raw]) => sum + new TextEncoder().encode(raw).length, 0);
  if (bytes > MAX_FILTER_BYTES)
    throw invalidQuery(entries[0]?.[0] ?? "filter", `filter JSON larger than ${MAX_FILTER_BYTES} bytes`);
  const clauses: QueryFilter[] = [];
  for (const [param, raw] of entries) {
    const w: Walk = { param, ctx };
    const value = parseJson(w, raw);
    if (param === "filter") clauses.push(filterDocument(value, "", 1, w, ""));
    else if (param === "andFilters") clauses.push(...documents(value, w));
    else if (Array.isArray(value)) clauses.push({ $or: documents(value, w) });
    else {
      const doc = filterDocument(value, "", 1, w, "");
      const keys = Object.keys(doc);
      if (keys.length === 0) fail(w, "", "needs at least one condition");
      clauses.push({ $or: keys.map((key) => ({ [key]: doc[key] })) });
    }
  }
  return clauses;
}
