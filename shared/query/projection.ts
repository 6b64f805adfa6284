/**
 * `fields=a,b` (alias `select`, both may be given): an inclusion projection. `_id` is always
 * included, and so are the sort keys of a sort a cursor can page, so the list handler can build
 * `nextCursor` from the last item. A path under another selected path is dropped (MongoDB rejects path collisions).
 */
import { invalidQuery } from "./fail.js";
import { assertPath } from "./paths.js";
import type { QueryContext } from "./types.js";

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

/**
 * The inclusion projection for the named paths plus `_id` and the sort keys a cursor needs;
 * undefined when no path is named (whole documents).
 */
export function projectionOf(named: readonly string[], cursorKeys: readonly string[]): Record<string, 1> | undefined {
  if (named.length === 0) return undefined;
  const paths = [...new Set(["_id", ...named, ...cursorKeys])].sort();
  const projection: Record<string, 1> = {};
  for (const path of paths) {
    const covered = paths.some((other) => path.startsWith(`${other}.`));
    if (!covered) projection[path] = 1;
  }
  return projection;
}
