/**
 * urBackend-style query-string filters: `field=value` equality and suffix operators
 * (`price_gte=10`, `tags_in=a,b`, `title_regex=^foo`). A key that is itself a declared field
 * (or system field) is plain equality even when it ends in a suffix. In a schemaless collection a
 * key ending in one of Edgeback's own suffixes (`_ne`, `_in`, `_nin`, `_exists`, `_regex`; urBackend
 * reads only `_gt`, `_gte`, `_lt`, `_lte` as operators) may also name a field (`logged_in=true`),
 * so it matches either reading. Values are coerced by the declared type (see coerce.ts for the
 * untyped heuristic).
 */
import { coerceTyped, expectation, looseCandidates, looseScalar } from "./coerce.js";
import { invalidQuery } from "./fail.js";
import { JSON_FILTER_PARAMS, MAX_LIST_VALUES } from "./json-filter.js";
import { assertPath, resolveField, restrictedFor, SYSTEM_FIELDS, type ValueKind } from "./paths.js";
import { ID_PATTERN_REFUSED, regexProblem } from "./regex.js";
import type { QueryContext, QueryFilter } from "./types.js";

/** Query parameters that are never filters. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set([
  "page",
  "limit",
  "sort",
  "sortBy",
  "sortDirection",
  "cursor",
  ...JSON_FILTER_PARAMS,
  "search",
  "searchFields",
  "fields",
  "select",
  "count",
  "key",
  "populate",
  "expand",
]);

type SuffixOp = "eq" | "gt" | "gte" | "lt" | "lte" | "ne" | "in" | "nin" | "exists" | "regex";
/** Most filter parameters one request may carry (each is a condition every document is tested against). */
const MAX_FILTER_PARAMS = 20;

const SUFFIXES: SuffixOp[] = ["gte", "gt", "lte", "lt", "ne", "nin", "in", "exists", "regex"];
/** Suffixes urBackend's own query parser reads as part of the field name. */
const EDGEBACK_SUFFIXES: ReadonlySet<SuffixOp> = new Set(["ne", "nin", "in", "exists", "regex"]);

/** Splits a query key into a field path and an operator. */
function splitKey(key: string, ctx: QueryContext): { path: string; op: SuffixOp } {
  if (SYSTEM_FIELDS.has(key) || ctx.fields?.has(key)) return { path: key, op: "eq" };
  for (const op of SUFFIXES) {
    const suffix = `_${op}`;
    if (key.endsWith(suffix) && key.length > suffix.length) return { path: key.slice(0, -suffix.length), op };
  }
  return { path: key, op: "eq" };
}

function typed(param: string, path: string, kind: ValueKind, raw: string) {
  const value = coerceTyped(kind, raw);
  if (value === undefined) throw invalidQuery(param, `${path} must be ${expectation(kind)}`);
  return value;
}

/** Equality candidates for one raw value: exactly one when typed. */
function candidates(param: string, path: string, kind: ValueKind | null, raw: string): unknown[] {
  return kind ? [typed(param, path, kind, raw)] : looseCandidates(raw);
}

function listValues(param: string, path: string, kind: ValueKind | null, raw: string): unknown[] {
  const items = raw.split(",");
  if (items.length > MAX_LIST_VALUES) throw invalidQuery(param, `at most ${MAX_LIST_VALUES} values`);
  return [...new Set(items.flatMap((item) => candidates(param, path, kind, item)))];
}

/** The condition one query-string filter puts on its path. */
function condition(param: string, path: string, op: SuffixOp, raw: string, ctx: QueryContext): unknown {
  const { kind } = resolveField(path, ctx);
  switch (op) {
    case "eq":
    case "ne": {
      const values = candidates(param, path, kind, raw);
      if (values.length > 1) return op === "eq" ? { $in: values } : { $nin: values };
      return op === "eq" ? values[0] : { $ne: values[0] };
    }
    case "in":
    case "nin":
      return { [`$${op}`]: listValues(param, path, kind, raw) };
    case "exists":
      if (raw !== "true" && raw !== "false") throw invalidQuery(param, "must be true or false");
      return { $exists: raw === "true" };
    case "regex": {
      if (kind === "id") throw invalidQuery(param, ID_PATTERN_REFUSED);
      const problem = regexProblem(raw);
      if (problem) throw invalidQuery(param, problem);
      return { $regex: raw, $options: "i" };
    }
    default:
      return { [`$${op}`]: kind ? typed(param, path, kind, raw) : looseScalar(raw) };
  }
}

/** What an object becomes in a query string built by string conversion (urBackend's SDK's `filter: {f: {$gt: 3}}`). */
const OBJECT_TEXT = "[object Object]";
const OBJECT_HINT =
  'got "[object Object]", an object turned into text: use an operator suffix (price_gt=3) or filter={"price":{"$gt":3}} (JSON)';

/** Paging parameters of other APIs (urBackend's SDK documents `skip`), read here as filters. */
const OFFSET_PARAMS: ReadonlySet<string> = new Set(["skip", "offset"]);
const SUFFIX_LIST = SUFFIXES.map((op) => `_${op}`).join(", ");

/**
 * What a query-string key naming no declared field was probably meant as: an offset (pages here are
 * `page` or `cursor`), or a field with an operator suffix this parser lacks (`tags_all`), which the
 * JSON `filter` has. Built only for the error.
 */
function unknownParamHint(key: string, ctx: QueryContext): string | undefined {
  if (OFFSET_PARAMS.has(key))
    return `"${key}" is not an offset here: to page, use page (1, 2, … with limit) or cursor (the nextCursor of the previous page)`;
  const cut = key.lastIndexOf("_");
  const field = key.slice(0, cut);
  if (cut <= 0 || !resolveField(field, ctx).known) return undefined;
  if (restrictedFor(field, "filter", ctx)) return `field "${field}" is private: only the secret key filters on it`;
  return (
    `"${key.slice(cut)}" is not a filter suffix (they are ${SUFFIX_LIST}): for other operators use the JSON ` +
    `filter parameter, filter={"${field}":{"$all":[…]}} ($all, $size, $elemMatch, $not and the suffixes' own)`
  );
}

/** One clause per non-reserved query parameter (repeats of one key AND together); an object turned into text is refused. */
export function paramFilterClauses(params: URLSearchParams, ctx: QueryContext): QueryFilter[] {
  const clauses: QueryFilter[] = [];
  for (const [key, raw] of params) {
    if (RESERVED_PARAMS.has(key)) continue;
    if (clauses.length === MAX_FILTER_PARAMS) throw invalidQuery(key, `at most ${MAX_FILTER_PARAMS} filter parameters`);
    if (raw === OBJECT_TEXT) throw invalidQuery(key, OBJECT_HINT);
    const { path, op } = splitKey(key, ctx);
    assertPath(key, path, op === "exists" ? "shape" : "filter", ctx, unknownParamHint);
    const clause = { [path]: condition(key, path, op, raw, ctx) };
    // A system field's suffix is always the operator: its index then serves the filter alone.
    const alsoAField = !ctx.fields?.size && EDGEBACK_SUFFIXES.has(op) && !SYSTEM_FIELDS.has(path);
    if (alsoAField) assertPath(key, key, "filter", ctx);
    clauses.push(alsoAField ? { $or: [{ [key]: condition(key, key, "eq", raw, ctx) }, clause] } : clause);
  }
  return clauses;
}
