/**
 * The list query of `GET /api/data/:collection` (API.md §5.1): paging, sort, query-string and
 * JSON filters, search, projection and keyset cursors, parsed into a vetted MongoDB query.
 * Pure: no store access. Every failure is 400 INVALID_QUERY naming the parameter.
 */
import { andAll } from "./query/combine";
import { cursorFilter } from "./query/cursor";
import { jsonFilterClauses } from "./query/json-filter";
import { parsePaging } from "./query/paging";
import { paramFilterClauses } from "./query/params-filter";
import { parseProjection, requestedPaths } from "./query/projection";
import { searchClause } from "./query/search";
import { parseSort } from "./query/sort";
import type { ListQuery, QueryContext } from "./query/types";

export { cursorFilter, decodeCursor, encodeCursor } from "./query/cursor";
export { MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_LIST_VALUES, vetFilter } from "./query/json-filter";
export { DEFAULT_LIMIT, LIST_TIME_MS, MAX_LIMIT, MAX_PAGE } from "./query/paging";
export { RESERVED_PARAMS } from "./query/params-filter";
export { restrictedFor } from "./query/paths";
export { escapeRegex, MAX_REGEX_LENGTH, regexProblem } from "./query/regex";
export { DEFAULT_SORT, MAX_SORT_KEYS } from "./query/sort";
export type { FieldType, ListQuery, QueryContext, QueryField, QueryFilter, SortSpec } from "./query/types";

/** Parses a list request's query string into a vetted filter, sort, paging and projection (throws INVALID_QUERY). */
export function parseListQuery(params: URLSearchParams, ctx: QueryContext): ListQuery {
  const { page, limit, count } = parsePaging(params);
  const sort = parseSort(params, ctx);
  const clauses = [...paramFilterClauses(params, ctx), ...jsonFilterClauses(params, ctx)];
  const search = searchClause(params, ctx);
  if (search) clauses.push(search);
  const token = params.get("cursor");
  const keyset = token?.trim() ? [cursorFilter(sort, token.trim())] : [];
  const selected = requestedPaths(params, ctx);
  return {
    filter: andAll([...clauses, ...keyset]),
    baseFilter: andAll(clauses),
    sort,
    page,
    limit,
    skip: token === null ? (page - 1) * limit : 0,
    projection: parseProjection(params, ctx, sort),
    selected: selected.length > 0 ? selected : undefined,
    count,
    cursor: token !== null,
  };
}
