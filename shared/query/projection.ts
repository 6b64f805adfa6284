/**
 * `fields=a,b` (alias `select`, both may be given): an inclusion projection. `_id` is always
 * included, and so are the sort keys, so the list handler can build `nextCursor` from the last
 * item. A path under another selected path is dropped (MongoDB rejects path collisions).
 */
import { invalidQuery } from "./fail.js";
import { assertPath } from "./paths.js";
import type { QueryContext, SortSpec } from "./types.js";

/** Most paths one projection may name. */
export const MAX_PROJECTION_FIELDS = 100;

/** The paths fields=/select= name, in order, checked for this caller (private fields refused for pk). */
export function requestedPaths(params: URLSearchParams, ctx: QueryContext): string[] {
  const named: string[] = [];
  for (const param of ["fields", "select"]) {
    for (const value of params.getAll(param)) {
      for (const item of value.split(",")) {
        const path = item.trim();
        if (!path) continue;
        assertPath(param, path, "select", ctx);
        named.push(path);
      }
    }
  }
  if (named.length > MAX_PROJECTION_FIELDS) throw invalidQuery("fields", `at most ${MAX_PROJECTION_FIELDS} fields`);
  return named;
}

/** Parses fields=/select= into an inclusion projection; undefined when neither names a field. */
export function parseProjection(
  params: URLSearchParams,
  ctx: QueryContext,
  sort: SortSpec,
): Record<string, 1> | undefined {
  const named = requestedPaths(params, ctx);
  if (named.length === 0) return undefined;
  const paths = [...new Set(["_id", ...named, ...Object.keys(sort)])].sort();
  const projection: Record<string, 1> = {};
  for (const path of paths) {
    const covered = paths.some((other) => path.startsWith(`${other}.`));
    if (!covered) projection[path] = 1;
  }
  return projection;
}
