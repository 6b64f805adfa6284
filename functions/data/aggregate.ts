import { Hono } from "hono";
import { AGGREGATE_TIME_MS, vetPipeline } from "../../shared/aggregate";
import type { AppEnv } from "../../shared/app";
import type { Deps } from "../../shared/deps";
import { ApiError } from "../../shared/errors";
import { ok, readJson } from "../../shared/http";
import type { ResolvedProject } from "../../shared/principal";
import { restrictedFor, vetFilter } from "../../shared/query";
import { authorize, ownerFilter } from "../../shared/rules";
import { isPlainObject } from "../../shared/sanitize";
import type { CollectionDef } from "../../shared/schema/definition";
import { type Doc, StoreUnavailableError } from "../../shared/store/types";
import { queryContext, resolveTarget } from "./target";

/**
 * Whether publishable keys may aggregate a collection: its definition's `aggregate.publishable`
 * when set, else the project setting `data.publishableAggregate` (default false).
 */
function publishableAggregate(project: ResolvedProject, def: CollectionDef): boolean {
  if (def.aggregate) return def.aggregate.publishable;
  const data = project.settings.data;
  return isPlainObject(data) && data.publishableAggregate === true;
}

/**
 * Largest answer of an aggregate, in bytes of its items' JSON: MongoDB's limit for one document
 * (16 MiB), which is what an aggregate answered in one piece was bounded by before cursors. The
 * 1000-item cap alone lets `$push: "$$ROOT"` and `$unwind` make each item a copy of the collection.
 */
export const MAX_AGGREGATE_BYTES = 16 * 1024 * 1024;

/** UTF-8 bytes of a string as JSON text (quotes and escapes included). */
function stringBytes(s: string): number {
  let bytes = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 8 || c === 9 || c === 10 || c === 12 || c === 13) bytes += 2;
    else if (c < 0x20) bytes += 6;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += c >= 0xd800 && c < 0xe000 ? 6 : 3; // a lone surrogate is written \udxxx
  }
  return bytes;
}

/**
 * The UTF-8 size of `value`'s JSON text (as JSON.stringify writes it), counted by walking the value
 * without building any string. Stops as soon as the count passes `limit` (the result is then > limit),
 * so an answer whose items share one huge array costs at most `limit` of counting.
 */
export function jsonBytesWithin(value: unknown, limit: number): number {
  let total = 0;
  const visit = (raw: unknown, inArray: boolean): void => {
    const v =
      typeof (raw as { toJSON?: unknown } | null)?.toJSON === "function"
        ? (raw as { toJSON: () => unknown }).toJSON()
        : raw;
    if (typeof v === "string") total += stringBytes(v);
    else if (typeof v === "number") total += Number.isFinite(v) ? String(v).length : 4;
    else if (typeof v === "boolean") total += v ? 4 : 5;
    else if (v === null) total += 4;
    else if (Array.isArray(v)) {
      total += 1 + Math.max(v.length, 1);
      for (let i = 0; i < v.length && total <= limit; i++) visit(v[i], true);
    } else if (typeof v === "object") {
      total += 1;
      let first = true;
      for (const key of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
        total += stringBytes(key) + 1 + (first ? 0 : 1);
        first = false;
        visit(item, false);
        if (total > limit) return;
      }
      total += 1;
    } else if (inArray) total += 4; // undefined, a function or a symbol in an array is written null
  };
  visit(value, true);
  return total;
}

/** POST /:collection/aggregate (API.md §5): allowlisted stages, read rules as a leading $match, bounded output. */
export function aggregateRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/:collection/aggregate", async (c) => {
    const { def, caller, collection, isSecretKey, present } = await resolveTarget(deps, c);
    if (!isSecretKey && !publishableAggregate(c.get("principal").project, def)) {
      throw new ApiError("READ_BLOCKED", "Aggregation needs the secret key unless the project allows it");
    }
    const ownerId = authorize(caller, def, "list");
    const context = queryContext(def, isSecretKey);
    const privatePaths = isSecretKey ? [] : [...(context.fields ?? [])].filter(([, f]) => f.private).map(([p]) => p);
    const body = await readJson(c);
    const pipeline = vetPipeline(isPlainObject(body) ? body.pipeline : body, {
      readFilter: ownerFilter(def, ownerId),
      privatePaths,
      restricted: (path, use) => restrictedFor(path, use, context),
      vetFilter: (filter) => vetFilter(filter, context),
    });
    const items = await collection.aggregate(pipeline, { maxTimeMs: AGGREGATE_TIME_MS }).catch((error: unknown) => {
      // The store refused or aborted the pipeline (unknown operator, bad argument, time limit): the
      // caller's input, answered without the store's own words.
      if (error instanceof StoreUnavailableError) throw error;
      deps.log.warn("aggregate pipeline failed", { collection: def.name, error: String(error) });
      throw new ApiError(
        "INVALID_QUERY",
        "The pipeline could not be run (unknown operator, bad argument, time or size limit)",
      );
    });
    const answer = isSecretKey ? items : items.map((item) => present(item as Doc));
    if (jsonBytesWithin(answer, MAX_AGGREGATE_BYTES) > MAX_AGGREGATE_BYTES) {
      throw new ApiError(
        "INVALID_QUERY",
        "The aggregate's answer would pass 16 MiB of JSON; $project fewer fields, $limit the items or $group less",
      );
    }
    return ok(c, { items: answer });
  });

  return routes;
}
