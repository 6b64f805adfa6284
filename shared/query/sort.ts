/**
 * Sort parameters: `sort=-createdAt,title`, `sort=title:desc` (also `asc`, `1`, `-1`), or bkend's
 * `sortBy=title&sortDirection=desc` (default `asc`; empty values count as absent). At most 5 keys;
 * the result always ends with `_id` in the direction of the last key, so every order is total
 * (needed for cursors). On a collection with declared fields, a sort key must be declared, a
 * system field, or under a declared object/array/any field.
 */
import { invalidQuery } from "./fail.js";
import { assertPath, resolveField } from "./paths.js";
import type { QueryContext, SortSpec } from "./types.js";

/** Most sort keys a caller may give (the `_id` tie-break is extra). */
export const MAX_SORT_KEYS = 5;
/** The order when no sort is given. */
export const DEFAULT_SORT: Readonly<SortSpec> = Object.freeze({ createdAt: -1, _id: -1 });

const DIRECTIONS: Record<string, 1 | -1> = { asc: 1, ascending: 1, "1": 1, desc: -1, descending: -1, "-1": -1 };

/** Reads a direction word (`asc`, `desc`, `1`, `-1`, case-insensitive); undefined when it is none. */
function direction(word: string): 1 | -1 | undefined {
  return Object.hasOwn(DIRECTIONS, word.toLowerCase()) ? DIRECTIONS[word.toLowerCase()] : undefined;
}

/** Parses one `sort` item: `-field`, `+field`, `field`, `field:asc|desc|1|-1`. */
function sortItem(item: string): [string, 1 | -1] {
  const colon = item.lastIndexOf(":");
  if (colon >= 0) {
    const dir = direction(item.slice(colon + 1).trim());
    const field = item.slice(0, colon).trim();
    if (dir === undefined || /^[-+]/.test(field)) throw invalidQuery("sort", `bad sort item "${item.slice(0, 64)}"`);
    return [field, dir];
  }
  if (item.startsWith("-")) return [item.slice(1), -1];
  if (item.startsWith("+")) return [item.slice(1), 1];
  return [item, 1];
}

function requested(params: URLSearchParams): Array<[string, 1 | -1]> {
  const sort = params.getAll("sort");
  const sortBy = params.get("sortBy")?.trim() || null;
  const sortDirection = params.get("sortDirection")?.trim() || null;
  if (sort.length > 0 && (sortBy !== null || sortDirection !== null))
    throw invalidQuery("sortBy", "use either sort or sortBy/sortDirection, not both");
  if (sortBy === null) {
    if (sortDirection !== null) throw invalidQuery("sortDirection", "needs sortBy");
    return sort
      .flatMap((value) => value.split(","))
      .map((item) => item.trim())
      .filter(Boolean)
      .map(sortItem);
  }
  const dir = sortDirection === null ? 1 : direction(sortDirection);
  if (dir === undefined) throw invalidQuery("sortDirection", "must be asc, desc, 1 or -1");
  return [[sortBy, dir]];
}

/** Parses the sort parameters into an ordered spec ending with the `_id` tie-break. */
export function parseSort(params: URLSearchParams, ctx: QueryContext): SortSpec {
  const items = requested(params);
  if (items.length === 0) return { ...DEFAULT_SORT };
  if (items.length > MAX_SORT_KEYS) throw invalidQuery("sort", `at most ${MAX_SORT_KEYS} sort keys`);
  const param = params.get("sortBy")?.trim() ? "sortBy" : "sort";
  const sort: SortSpec = {};
  for (const [index, [field, dir]] of items.entries()) {
    assertPath(param, field, "sort", ctx);
    if (/^\d+$/.test(field)) throw invalidQuery(param, `cannot sort on the numeric field name "${field}"`);
    if (!resolveField(field, ctx).known) throw invalidQuery(param, `unknown sort field "${field}"`);
    if (Object.hasOwn(sort, field)) throw invalidQuery(param, `sort field "${field}" given twice`);
    if (field === "_id" && index !== items.length - 1) throw invalidQuery(param, "_id must be the last sort key");
    sort[field] = dir;
  }
  if (!Object.hasOwn(sort, "_id")) sort._id = items[items.length - 1]![1];
  return sort;
}
