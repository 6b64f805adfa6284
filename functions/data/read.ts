import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { etagMatches, etagOf } from "../../shared/documents.js";
import { ApiError } from "../../shared/errors.js";
import { ok, okDocument, okItems, queryParams } from "../../shared/http.js";
import { projectionOf, requestedPaths } from "../../shared/query/projection.js";
import { encodeCursor, LIST_TIME_MS, type ListQuery, parseListQuery } from "../../shared/query.js";
import { authorize, readFilter } from "../../shared/rules.js";
import { isPlainObject } from "../../shared/sanitize.js";
import type { Doc } from "../../shared/store/types.js";
import { populate, populatedFields } from "./populate.js";
import { and, documentId, queryContext, resolveTarget } from "./target.js";

/**
 * Removes from a projected item the sort keys the projection added only to build `nextCursor`
 * (a path the caller did not select and that is not under one it did).
 */
function withoutCursorKeys(doc: Doc, query: ListQuery): Doc {
  const selected = query.selected;
  if (!selected || !query.cursorable) return doc;
  const extra = Object.keys(query.sort).filter(
    (path) => path !== "_id" && !selected.some((s) => path === s || path.startsWith(`${s}.`)),
  );
  if (extra.length === 0) return doc;
  const out: Doc = { ...doc };
  for (const path of extra) {
    const segments = path.split(".");
    // The objects along the path (copied before they change), outermost first.
    const chain: Array<Record<string, unknown>> = [out];
    for (const segment of segments.slice(0, -1)) {
      const child: unknown = chain.at(-1)?.[segment];
      if (!isPlainObject(child)) break;
      const copy: Record<string, unknown> = { ...child };
      (chain.at(-1) as Record<string, unknown>)[segment] = copy;
      chain.push(copy);
    }
    if (chain.length < segments.length) continue;
    delete chain.at(-1)?.[segments.at(-1) as string];
    // A parent left empty goes too, unless the caller selected a path under it (MongoDB keeps that `{}`).
    for (let depth = chain.length - 1; depth > 0; depth--) {
      const prefix = `${segments.slice(0, depth).join(".")}.`;
      if (Object.keys(chain[depth] as object).length > 0 || selected.some((s) => s.startsWith(prefix))) break;
      delete chain[depth - 1]?.[segments[depth - 1] as string];
    }
  }
  return out;
}

function withoutUpdatedAt({ updatedAt: _, ...rest }: Doc): Doc {
  return rest;
}

/** GET list and GET by id (API.md §5, §5.1). */
export function readRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/:collection", async (c) => {
    const { def, caller, collection, isSecretKey, present } = await resolveTarget(deps, c);
    // The rule comes first in every filter: a document it hides never meets the caller's conditions
    // (a costly regex on it answered 400 exactly when a guess about its hidden text held).
    const rule = readFilter(def, caller, authorize(caller, def, "list"));
    const params = queryParams(c);
    const query = parseListQuery(params, queryContext(def, isSecretKey));
    const refs = populatedFields(params, def);
    const bounded = { maxTimeMs: LIST_TIME_MS };
    if (query.count) return ok(c, { count: await collection.count(and(rule, query.filter), bounded) });
    const [found, total] = await Promise.all([
      collection.find(and(rule, query.filter), {
        sort: query.sort,
        skip: query.skip,
        limit: query.limit + 1,
        projection: query.projection,
        ...bounded,
      }),
      collection.count(and(rule, query.baseFilter), bounded),
    ]);
    const items = found.slice(0, query.limit);
    const hasNext = found.length > query.limit;
    const last = items.at(-1);
    const shown = items.map((doc) => present(withoutCursorKeys(doc, query)));
    return okItems(c, await populate(deps, c, caller, shown, refs), {
      total,
      page: query.cursor ? null : query.page,
      limit: query.limit,
      totalPages: Math.ceil(total / query.limit),
      hasNext,
      hasPrev: query.cursor ? true : query.page > 1,
      nextCursor: hasNext && last && query.cursorable ? encodeCursor(last, query.sort) : null,
    });
  });

  routes.get("/:collection/:id", async (c) => {
    const target = await resolveTarget(deps, c);
    const { def, caller, collection, present } = target;
    const ownerId = authorize(caller, def, "read");
    const params = queryParams(c);
    const refs = populatedFields(params, def);
    // fields=/select= as on a list; `updatedAt` is read for the ETag and shown only when selected.
    const selected = requestedPaths(params, queryContext(def, target.isSecretKey));
    const projection = projectionOf(selected, ["updatedAt"]);
    const filter = and({ _id: documentId(c) }, readFilter(def, caller, ownerId));
    const found = await collection.findOne(filter, projection && { projection });
    if (!found) throw new ApiError("DOCUMENT_NOT_FOUND");
    const doc = projection && !selected.includes("updatedAt") ? withoutUpdatedAt(found) : found;
    // The ETag is this document's version (and view), which says nothing of the documents populated into it:
    // such an answer gets no ETag (and never 304), so no cache keeps it past their changes.
    if (refs.length > 0) {
      const [shown] = await populate(deps, c, caller, [present(doc)], refs);
      return okDocument(c, shown!);
    }
    const etag = etagOf(found, target.entry.view);
    c.header("etag", etag);
    // A browser may keep it, asking each time (If-None-Match); one copy per key and user, as what
    // they may read differs (private fields) while the ETag, the same for every caller, does not.
    c.header("cache-control", "private, no-cache");
    c.header("vary", "x-api-key, authorization", { append: true });
    const ifNoneMatch = c.req.header("if-none-match");
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) return c.body(null, 304);
    return okDocument(c, present(doc));
  });

  return routes;
}
