/**
 * The list query of `GET /api/data/:collection` (API.md §5.1): paging, sort, query-string and
 * JSON filters, search, projection and keyset cursors, parsed into a vetted MongoDB query.
 * Pure: no store access. Every failure is 400 INVALID_QUERY naming the parameter.
 */
import { andAll } from "./query/combine.js";
import { cursorFilter, cursorProblem } from "./query/cursor.js";
import { invalidQuery } from "./query/fail.js";
import { jsonFilterClauses } from "./query/json-filter.js";
import { parsePaging } from "./query/paging.js";
import { paramFilterClauses } from "./query/params-filter.js";
import { projectionOf, requestedPaths } from "./query/projection.js";
import { searchClause } from "./query/search.js";
import { parseSort } from "./query/sort.js";
import type { ListQuery, QueryContext } from "./query/types.js";

export { cursorFilter, decodeCursor, encodeCursor } from "./query/cursor.js";
export { MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_LIST_VALUES, vetFilter } from "./query/json-filter.js";
export { DEFAULT_LIMIT, LIST_TIME_MS, MAX_LIMIT, MAX_PAGE } from "./query/paging.js";
export { RESERVED_PARAMS } from "./query/params-filter.js";
export { restrictedFor } from "./query/paths.js";
export { escapeRegex, MAX_REGEX_LENGTH, regexProblem } from "./query/regex.js";
export { DEFAULT_SORT, MAX_SORT_KEYS } from "./query/sort.js";
export type { FieldType, ListQuery, QueryContext, QueryField, QueryFilter, SortSpec } from "./query/types.js";

/** Parses a list request's query string into a vetted filter, sort, paging and projection (throws INVALID_QUERY). */
export function parseListQuery(params: URLSearchParams, ctx: QueryContext): ListQuery {
  const { page, limit, count } = parsePaging(params);
  const sort = parseSort(params, ctx);
  const clauses = [...paramFilterClauses(params, ctx), ...jsonFilterClauses(params, ctx)];
  const search = searchClause(params, ctx);
  if (search) clauses.push(search);
  const selected = requestedPaths(params, ctx);
  const noCursor = cursorProblem(sort, ctx, selected);
  const token = params.get("cursor");
  if (token !== null && noCursor) throw invalidQuery("cursor", `no cursor paging on this sort: ${noCursor}; use page`);
  const keyset = token?.trim() ? [cursorFilter(sort, token.trim())] : [];
  return {
    filter: andAll([...clauses, ...keyset]),
    baseFilter: andAll(clauses),
    sort,
    page,
    limit,
    skip: token === null ? (page - 1) * limit : 0,
    projection: projectionOf(selected, noCursor ? [] : Object.keys(sort)),
    selected: selected.length > 0 ? selected : undefined,
    count,
    cursor: token !== null,
    cursorable: !noCursor,
  };
}
