import { Hono } from "hono";
import { AGGREGATE_TIME_MS, MAX_AGGREGATE_BYTES, publishableAggregates, vetPipeline } from "../../shared/aggregate.js";
import type { AppEnv } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { ok, readJson } from "../../shared/http.js";
import type { ResolvedProject } from "../../shared/principal.js";
import { restrictedFor, vetFilter } from "../../shared/query.js";
import { authorize, readFilter } from "../../shared/rules.js";
import { isPlainObject } from "../../shared/sanitize.js";
import type { CollectionDef } from "../../shared/schema/definition.js";
import { type Doc, ResultTooLargeError, StoreUnavailableError } from "../../shared/store/types.js";
import { queryContext, resolveTarget } from "./target.js";

/** The project setting `data.publishableAggregate` (default false). */
export function projectAllowsAggregates(project: ResolvedProject): boolean {
  const data = project.settings.data;
  return isPlainObject(data) && data.publishableAggregate === true;
}

/** Why a publishable key may not aggregate, naming the setting that would allow it. */
const publishableAggregateOff = (def: CollectionDef) =>
  def.aggregate
    ? "Aggregation with a publishable key is off for this collection (its definition's aggregate.publishable is false): set it to true, or use the secret key"
    : "Aggregation with a publishable key needs the project's settings.data.publishableAggregate (or the collection definition's aggregate.publishable) set to true, or the secret key";

/** POST /:collection/aggregate (API.md §5): allowlisted stages, read rules as a leading $match, bounded output. */
export function aggregateRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/:collection/aggregate", async (c) => {
    const { def, caller, collection, isSecretKey, present } = await resolveTarget(deps, c);
    if (!isSecretKey && !publishableAggregates(def, projectAllowsAggregates(c.get("principal").project))) {
      throw new ApiError("READ_BLOCKED", publishableAggregateOff(def));
    }
    const ownerId = authorize(caller, def, "list");
    const context = queryContext(def, isSecretKey);
    const privatePaths = isSecretKey ? [] : [...(context.fields ?? [])].filter(([, f]) => f.private).map(([p]) => p);
    const body = await readJson(c);
    const pipeline = vetPipeline(isPlainObject(body) ? body.pipeline : body, {
      readFilter: readFilter(def, caller, ownerId),
      privatePaths,
      restricted: (path, use) => restrictedFor(path, use, context),
      // After a reshaping stage a name no longer has the collection's type (`_id` is a group key).
      vetFilter: (filter, reshaped) => vetFilter(filter, reshaped ? { ...context, untyped: true } : context),
    });
    const options = { maxTimeMs: AGGREGATE_TIME_MS, maxBytes: MAX_AGGREGATE_BYTES };
    const items = await collection.aggregate(pipeline, options).catch((error: unknown) => {
      if (error instanceof StoreUnavailableError) throw error;
      if (error instanceof ResultTooLargeError) {
        throw new ApiError(
          "INVALID_QUERY",
          "The aggregate's answer would pass 16 MiB of JSON; $project fewer fields, $limit the items or $group less",
        );
      }
      // The store refused or aborted the pipeline (unknown operator, bad argument, time limit): the
      // caller's input, answered without the store's own words.
      deps.log.warn("aggregate pipeline failed", { collection: def.name, error: String(error) });
      throw new ApiError(
        "INVALID_QUERY",
        "The pipeline could not be run (unknown operator, bad argument, time or size limit)",
      );
    });
    // Stripping private fields only shrinks the items: the store's byte count bounds the answer.
    return ok(c, { items: isSecretKey ? items : items.map((item) => present(item as Doc)) });
  });

  return routes;
}
