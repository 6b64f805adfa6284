import type { Context } from "hono";
import { Hono } from "hono";
import { AGGREGATE_TIME_MS, vetPipeline } from "../../shared/aggregate";
import type { AppEnv } from "../../shared/app";
import { callerOf } from "../../shared/caller";
import type { CollectionEntry } from "../../shared/collections";
import type { Deps } from "../../shared/deps";
import { etagMatches, etagOf, nextTimestamp } from "../../shared/documents";
import { ApiError } from "../../shared/errors";
import { ok, readJson } from "../../shared/http";
import { isId } from "../../shared/ids";
import { encodeCursor, parseListQuery, vetFilter } from "../../shared/query";
import {
  assertOwnerKept,
  authorize,
  type Caller,
  decideAccess,
  ownedInsert,
  ownerFilter,
  rulesFor,
} from "../../shared/rules";
import { assertNoLookalikes, assertSafeBody, isPlainObject } from "../../shared/sanitize";
import { type CollectionDef, fieldPaths } from "../../shared/schema/definition";
import { implicitDefinition, parseCollectionName } from "../../shared/schema/names";
import type { Validators } from "../../shared/schema/validator";
import { type Doc, DuplicateKeyError, type Filter } from "../../shared/store/types";

type Ctx = Context<AppEnv>;

const MAX_BULK = 500;
const MAX_WRITE_ATTEMPTS = 5;

/** A unique index refused the write → 409 naming the field. */
function duplicate(error: unknown): never {
  if (error instanceof DuplicateKeyError) {
    throw new ApiError("DUPLICATE_VALUE", `A document with this ${error.field} already exists`, {
      details: [{ path: error.field, message: "must be unique" }],
    });
  }
  throw error;
}

/** A write body: a JSON object whose keys are safe at every depth and never lookalikes of declared fields. */
function checkedBody(body: unknown, def: CollectionDef): Record<string, unknown> {
  if (!isPlainObject(body)) throw new ApiError("VALIDATION_FAILED", "Body must be a JSON object");
  assertSafeBody(body);
  assertNoLookalikes(body, [...fieldPaths(def).keys(), def.rls.ownerField]);
  return body;
}

const and = (...filters: Filter[]): Filter => {
  const parts = filters.filter((f) => Object.keys(f).length > 0);
  return parts.length <= 1 ? (parts[0] ?? {}) : { $and: parts };
};

/** The document routes of the data function (API.md §5), mounted under /api/data. */
export function documentRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /** The collection named in the path, its validators and the caller; sk may create it on insert. */
  async function target(c: Ctx, options: { createIfMissing?: boolean } = {}) {
    const { project, keyType } = c.get("principal");
    const name = parseCollectionName(c.req.param("collection") ?? "");
    let entry = await deps.collections.get(project, name);
    if (!entry && options.createIfMissing && keyType === "secret") {
      entry = await deps.collections
        .create(project, implicitDefinition(name), { implicit: true })
        .catch(async (error) => {
          const raced = await deps.collections.get(project, name);
          if (raced) return raced;
          throw error;
        });
    }
    if (!entry) throw new ApiError("COLLECTION_NOT_FOUND", `Collection "${name}" not found`);
    const caller = await callerOf(c, deps.clock);
    const validators = deps.collections.validators(project, entry);
    const collection = deps.collections.database(project).collection(name);
    const present = (doc: Doc) => validators.strip(doc, { isSecretKey: keyType === "secret" });
    return { entry, def: entry.def, caller, validators, collection, present };
  }

  /**
   * Runs a write on the document a PUT, PATCH or DELETE addresses, as the caller may see it. The write is
   * conditional on the version read (and the owner): with `If-Match` a concurrent change is a 412; without
   * it the write is retried on the fresh version, so concurrent merges all land.
   */
  async function writeAddressed<T>(
    c: Ctx,
    entry: CollectionEntry,
    caller: Caller,
    ownerId: string | null,
    write: (current: Doc, guard: Filter) => Promise<T | null>,
  ): Promise<T> {
    const id = c.req.param("id") ?? "";
    if (!isId(id)) throw new ApiError("INVALID_ID", "Document id must be a 24-character hex string");
    const read = decideAccess(caller, rulesFor(entry.def).read, "read");
    const visible = ownerFilter(entry.def, read.allowed ? read.ownerId : ownerId);
    const collection = deps.collections.database(c.get("principal").project).collection(entry.def.name);
    const ifMatch = c.req.header("if-match");
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await collection.findOne(and({ _id: id }, visible));
      if (!current) throw new ApiError("DOCUMENT_NOT_FOUND");
      if (ownerId !== null && current[entry.def.rls.ownerField] !== ownerId) throw new ApiError("OWNER_MISMATCH");
      if (ifMatch !== undefined && !etagMatches(ifMatch, etagOf(current))) throw new ApiError("PRECONDITION_FAILED");
      const result = await write(
        current,
        and({ _id: id, updatedAt: current.updatedAt }, ownerFilter(entry.def, ownerId)),
      );
      if (result !== null) return result;
      if (ifMatch !== undefined) throw new ApiError("PRECONDITION_FAILED");
    }
    throw new ApiError("PRECONDITION_FAILED", "The document kept changing; retry");
  }

  /** Validates one insert body into a stored document. */
  function prepareInsert(body: unknown, entry: CollectionEntry, validators: Validators, caller: Caller, now: number) {
    const owned = ownedInsert(checkedBody(body, entry.def), entry.def, caller.userId);
    const time = new Date(now).toISOString();
    const doc = { ...validators.insert(owned), createdAt: time, updatedAt: time };
    return caller.userId ? { ...doc, createdBy: caller.userId } : doc;
  }

  routes.get("/:collection", async (c) => {
    const { def, caller, collection, present } = await target(c);
    const ownerId = authorize(caller, def, "list");
    const query = parseListQuery(new URL(c.req.url).searchParams, {
      fields: def.fields.length > 0 ? fieldPaths(def) : null,
      isSecretKey: c.get("principal").keyType === "secret",
    });
    const filter = and(query.filter, ownerFilter(def, ownerId));
    if (query.count) return ok(c, { count: await collection.count(filter) });
    const [found, total] = await Promise.all([
      collection.find(filter, {
        sort: query.sort,
        skip: query.skip,
        limit: query.limit + 1,
        projection: query.projection,
      }),
      collection.count(and(query.baseFilter ?? query.filter, ownerFilter(def, ownerId))),
    ]);
    const items = found.slice(0, query.limit);
    const hasNext = found.length > query.limit;
    const last = items.at(-1);
    return ok(c, {
      items: items.map(present),
      total,
      page: query.page,
      limit: query.limit,
      totalPages: Math.ceil(total / query.limit),
      hasNext,
      hasPrev: query.cursor ? true : query.page > 1,
      nextCursor: hasNext && last ? encodeCursor(last, query.sort) : null,
    });
  });

  routes.post("/:collection/aggregate", async (c) => {
    const { def, caller, collection, present } = await target(c);
    const { project, keyType } = c.get("principal");
    const data = project.settings.data as { publishableAggregate?: unknown } | undefined;
    if (keyType === "publishable" && data?.publishableAggregate !== true) {
      throw new ApiError(
        "READ_BLOCKED",
        "Aggregation needs the secret key unless the project allows it for publishable keys",
      );
    }
    const ownerId = authorize(caller, def, "list");
    const paths = fieldPaths(def);
    const context = { fields: def.fields.length > 0 ? paths : null, isSecretKey: keyType === "secret" };
    const privatePaths = keyType === "secret" ? [] : [...paths].filter(([, f]) => f.private).map(([path]) => path);
    const body = await readJson(c);
    const pipeline = vetPipeline(isPlainObject(body) ? body.pipeline : body, {
      readFilter: ownerFilter(def, ownerId),
      privatePaths,
      vetFilter: (filter) => vetFilter(filter, context),
    });
    const items = await collection.aggregate(pipeline, { maxTimeMs: AGGREGATE_TIME_MS });
    return ok(c, { items: keyType === "secret" ? items : items.map((item) => present(item as Doc)) });
  });

  routes.get("/:collection/:id", async (c) => {
    const { def, caller, collection, present } = await target(c);
    const ownerId = authorize(caller, def, "read");
    const id = c.req.param("id");
    if (!isId(id)) throw new ApiError("INVALID_ID", "Document id must be a 24-character hex string");
    const doc = await collection.findOne(and({ _id: id }, ownerFilter(def, ownerId)));
    if (!doc) throw new ApiError("DOCUMENT_NOT_FOUND");
    const etag = etagOf(doc);
    c.header("etag", etag);
    const ifNoneMatch = c.req.header("if-none-match");
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) return c.body(null, 304);
    return ok(c, present(doc));
  });

  routes.post("/:collection/bulk", async (c) => {
    const { entry, caller, validators, collection, present } = await target(c, { createIfMissing: true });
    authorize(caller, entry.def, "create");
    const body = await readJson(c);
    if (!Array.isArray(body) || body.length < 1 || body.length > MAX_BULK) {
      throw new ApiError("VALIDATION_FAILED", `Body must be an array of 1 to ${MAX_BULK} documents`);
    }
    const now = deps.clock.now();
    const details: Array<{ path: string; message: string; index: number }> = [];
    const docs: Array<Record<string, unknown>> = [];
    body.forEach((item, index) => {
      try {
        docs.push(prepareInsert(item, entry, validators, caller, now));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 400) throw error;
        for (const d of error.details ?? [{ path: "", message: error.message }]) {
          details.push({ ...d, path: d.path ? `${index}.${d.path}` : String(index), index });
        }
      }
    });
    if (details.length > 0)
      throw new ApiError("VALIDATION_FAILED", "Bulk insert rejected; nothing was inserted", { details });
    const inserted = await collection.insertMany(docs).catch(duplicate);
    return ok(c, { insertedCount: inserted.length, items: inserted.map(present) }, 201);
  });

  routes.post("/:collection", async (c) => {
    const { entry, caller, validators, collection, present } = await target(c, { createIfMissing: true });
    authorize(caller, entry.def, "create");
    const doc = prepareInsert(await readJson(c), entry, validators, caller, deps.clock.now());
    const inserted = await collection.insertOne(doc).catch(duplicate);
    c.header("etag", etagOf(inserted));
    return ok(c, present(inserted), 201);
  });

  routes.put("/:collection/:id", async (c) => {
    const { entry, def, caller, validators, collection, present } = await target(c);
    const ownerId = authorize(caller, def, "update");
    const body = checkedBody(await readJson(c), def);
    const owner = def.rls.ownerField;
    const replaced = await writeAddressed(c, entry, caller, ownerId, (current, guard) => {
      const kept =
        Object.hasOwn(body, owner) || !Object.hasOwn(current, owner) ? body : { ...body, [owner]: current[owner] };
      const next = validators.replace(kept);
      if (caller.keyType === "publishable") assertOwnerKept(current, next, def);
      const system = { createdAt: current.createdAt, updatedAt: nextTimestamp(current.updatedAt, deps.clock.now()) };
      const createdBy = current.createdBy === undefined ? {} : { createdBy: current.createdBy };
      return collection.replaceOne(guard, { ...next, ...system, ...createdBy }).catch(duplicate);
    });
    c.header("etag", etagOf(replaced));
    return ok(c, present(replaced));
  });

  routes.patch("/:collection/:id", async (c) => {
    const { entry, def, caller, validators, collection, present } = await target(c);
    const ownerId = authorize(caller, def, "update");
    const { set, unset } = validators.patch(checkedBody(await readJson(c), def));
    const patched = await writeAddressed(c, entry, caller, ownerId, (current, guard) => {
      if (caller.keyType === "publishable") {
        const merged: Record<string, unknown> = { ...current, ...set };
        for (const field of unset) delete merged[field];
        assertOwnerKept(current, merged, def);
      }
      const update = {
        $set: { ...set, updatedAt: nextTimestamp(current.updatedAt, deps.clock.now()) },
        ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((f) => [f, ""])) } : {}),
      };
      return collection.updateOne(guard, update as never).catch(duplicate);
    });
    c.header("etag", etagOf(patched));
    return ok(c, present(patched));
  });

  routes.delete("/:collection/:id", async (c) => {
    const { entry, def, caller, collection } = await target(c);
    const ownerId = authorize(caller, def, "delete");
    const id = await writeAddressed(c, entry, caller, ownerId, async (current, guard) =>
      (await collection.deleteOne(guard)) ? current._id : null,
    );
    return ok(c, { _id: id, id, deleted: true });
  });

  return routes;
}
