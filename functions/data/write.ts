import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { afterUpdate, assertDocumentSize, etagOf, nextTimestamp } from "../../shared/documents.js";
import { ApiError } from "../../shared/errors.js";
import { ok } from "../../shared/http.js";
import { countedBytes, releaseDocumentBytes, reserveDocumentBytes } from "../../shared/quotas.js";
import { assertOwnerKept, ownedInsert, ownerAsDeclared, ownsDocuments } from "../../shared/rules.js";
import { ownerIsList } from "../../shared/schema/definition.js";
import { createdByPrivate } from "../../shared/schema/private-values.js";
import { type Doc, DuplicateKeyError, type Update } from "../../shared/store/types.js";
import { readsDocuments, writeAddressed } from "./addressed.js";
import { bulkDuplicate, bulkItems, prepareBulk } from "./bulk.js";
import {
  earlierInsert,
  idempotencyKey,
  idempotentIds,
  type KeyedInsert,
  preparedUnderKey,
  REPLAYED_HEADER,
} from "./idempotency.js";
import { type Ctx, checkedBody, duplicate, type Target } from "./target.js";
import { enterWrite } from "./write-target.js";

/**
 * One insert body → the document to store: key checks (and for pk callers, readonly fields at their
 * defaults only, which apply when left out), the owner rule for pk callers (owner injected for end users,
 * OWNER_MISMATCH / INSERT_DENIED), full validation with defaults, then the system fields.
 * Client-sent system fields (`_id`, `createdAt`, `updatedAt`, `createdBy`) are ignored. The document
 * as stored is held to `maxBytes` (413), as PUT and PATCH hold it, so it can be written back unchanged.
 */
export function prepareInsert(body: unknown, target: Target, now: number, maxBytes: number): Record<string, unknown> {
  const { def, validators, caller, isSecretKey } = target;
  const checked = checkedBody(body, target);
  if (!isSecretKey) validators.refuseReadonly(checked);
  const owned = isSecretKey ? checked : ownedInsert(checked, def, caller.userId);
  const time = new Date(now).toISOString();
  const fields = { ...validators.insert(owned), createdAt: time, updatedAt: time };
  const doc = caller.userId ? { ...fields, createdBy: caller.userId } : fields;
  assertDocumentSize(doc, maxBytes);
  return doc;
}

/**
 * The answer to a PUT or PATCH, with the new version's ETag: the document as the caller may read it,
 * or, for a caller whose read rule refuses it (`secret`), only the id and the new `updatedAt`, as
 * DELETE answers: the write was blind, and its answer shows nothing a GET would not.
 */
function answerWritten(c: Ctx, target: Target, doc: Doc) {
  c.header("etag", etagOf(doc, target.entry.view));
  if (readsDocuments(target)) return ok(c, target.present(doc));
  return ok(c, { _id: doc._id, id: doc._id, updatedAt: doc.updatedAt });
}

/**
 * A caller who cannot read the owner field may not name it at all: whether the value it named matched
 * the stored owner would tell it who owns the document, which a GET does not. That is a blind writer
 * (whose read rule refuses it), and, where the owner field is private (shown to no pk caller), any pk
 * caller the update rule does not confine to their own documents (`ownerId` null), and any member of
 * a list (a guessed list confirmed by a 200 told who was in it). An owner naming their own id passes.
 */
function assertOwnerUnnamed(target: Target, body: Record<string, unknown>, ownerId: string | null): void {
  const { def, isSecretKey } = target;
  if (isSecretKey || !ownsDocuments(def) || !Object.hasOwn(body, def.rls.ownerField)) return;
  const hidden = createdByPrivate(def) && (ownerId === null || ownerIsList(def));
  if (!readsDocuments(target) || hidden) throw new ApiError("OWNER_IMMUTABLE");
}

/**
 * Runs an insert of the prepared body; under an Idempotency-Key (`ids`: idempotency.ts), the documents
 * of the key's earlier insert, looked for before and met by a write that lost a race to it, are the
 * answer instead, marked `Idempotent-Replayed: true`. A refusal of the body held back under the key is
 * thrown only when there is no earlier insert.
 */
async function inserting<T>(c: Ctx, target: Target, prepared: KeyedInsert<T>, insert: (value: T) => Promise<Doc[]>) {
  const { ids } = prepared;
  let earlier = ids && (await earlierInsert(target, ids));
  if (!earlier) {
    try {
      return { docs: await insert(prepared.value()), replayed: false };
    } catch (error) {
      earlier = error instanceof DuplicateKeyError && ids ? await earlierInsert(target, ids) : undefined;
      if (!earlier) throw error;
    }
  }
  c.header(REPLAYED_HEADER, "true");
  return { docs: earlier, replayed: true };
}

/** POST insert and bulk, PUT replace, PATCH merge, DELETE (API.md §5). */
export function writeRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /**
   * One attempt of a PUT or PATCH that turns `current` into `next`, with the project's document bytes
   * kept exact: growth is reserved before the write (403 QUOTA_EXCEEDED, nothing written) and given
   * back when the write fails or loses its race (null: the caller retries on the fresh version and
   * reserves again); shrinkage is given back once the write landed.
   */
  async function resizing<T>(c: Ctx, current: Doc, next: Record<string, unknown>, write: () => Promise<T | null>) {
    assertDocumentSize(next, deps.config.maxJsonBytes);
    const project = c.get("principal").project;
    const growth = countedBytes(project, [next]) - countedBytes(project, [current]);
    const release = growth > 0 ? await reserveDocumentBytes(deps, project, growth) : async () => {};
    const result = await write().catch(async (error) => {
      await release();
      throw error;
    });
    if (result === null) await release();
    else if (growth < 0) await releaseDocumentBytes(deps, project, -growth);
    return result;
  }

  /** Reserves the project's document bytes for new documents; the answer gives them back. */
  const reserve = (c: Ctx, docs: Array<Record<string, unknown>>) => {
    const project = c.get("principal").project;
    return reserveDocumentBytes(deps, project, countedBytes(project, docs));
  };

  /** Counts written documents in the project's usage (inserted, replaced, patched or deleted). */
  const written = (c: Ctx, count: number) => deps.usage.count(c.get("principal").project.id, "documentsWritten", count);

  const { fence } = deps.collections;

  routes.post("/:collection/bulk", async (c) => {
    const now = deps.clock.now();
    const key = idempotencyKey(c);
    const prepare = (t: Target, body: unknown) => {
      const items = bulkItems(body);
      const ids = key === undefined ? undefined : idempotentIds(c, t, key, body, "bulk", items.length);
      return preparedUnderKey(t, ids, () =>
        prepareBulk(items, (item) => prepareInsert(item, t, now, deps.config.maxJsonBytes)),
      );
    };
    const { target, prepared, epoch } = await enterWrite(deps, c, "create", prepare, { createIfMissing: true });
    try {
      const { ids } = prepared;
      const { docs: inserted, replayed } = await inserting(c, target, prepared, async (bodies) => {
        const docs = ids ? bodies.map((doc, index) => ({ _id: ids[index], ...doc })) : bodies;
        const release = await reserve(c, docs);
        return target.collection.insertMany(docs).catch(async (error) => {
          await release();
          throw error;
        });
      }).catch(bulkDuplicate);
      if (!replayed) written(c, inserted.length);
      return ok(c, { insertedCount: inserted.length, items: inserted.map(target.present) }, 201);
    } finally {
      fence.leave(epoch);
    }
  });

  routes.post("/:collection", async (c) => {
    const now = deps.clock.now();
    const key = idempotencyKey(c);
    const prepare = (t: Target, body: unknown) => {
      const ids = key === undefined ? undefined : idempotentIds(c, t, key, body, "one", 1);
      return preparedUnderKey(t, ids, () => prepareInsert(body, t, now, deps.config.maxJsonBytes));
    };
    const { target, prepared, epoch } = await enterWrite(deps, c, "create", prepare, { createIfMissing: true });
    try {
      const { ids } = prepared;
      const { docs, replayed } = await inserting(c, target, prepared, async (body) => {
        const doc = ids ? { _id: ids[0], ...body } : body;
        const release = await reserve(c, [doc]);
        return [
          await target.collection.insertOne(doc).catch(async (error) => {
            await release();
            throw error;
          }),
        ];
      }).catch(duplicate);
      const inserted = docs[0] as Doc;
      if (!replayed) written(c, 1);
      c.header("etag", etagOf(inserted, target.entry.view));
      return ok(c, target.present(inserted), 201);
    } finally {
      fence.leave(epoch);
    }
  });

  const bodyFor = (t: Target, body: unknown) => checkedBody(body, t);
  const noBody = () => undefined;

  routes.put("/:collection/:id", async (c) => {
    const { target, ownerId, prepared: body, epoch } = await enterWrite(deps, c, "update", bodyFor);
    try {
      const { def, validators, collection } = target;
      const owner = def.rls.ownerField;
      const blind = !readsDocuments(target);
      const replaced = await writeAddressed(deps, c, target, ownerId, (current, guard) => {
        // PUT keeps the owner when the body leaves it out; changing it is refused below (pk).
        assertOwnerUnnamed(target, body, ownerId);
        // The stored private and readonly values first (a private or readonly owner among them), so
        // the owner filled in below is never taken for a value the caller sent.
        const stored = target.isSecretKey ? body : validators.keepStored(body, current, { merge: false, blind });
        // Left out, or sent back as stored: the stored owner, in the shape the definition now declares.
        const unchanged = !Object.hasOwn(stored, owner) || stored[owner] === current[owner];
        const kept =
          Object.hasOwn(current, owner) && unchanged
            ? { ...stored, [owner]: ownerAsDeclared(def, current[owner]) }
            : stored;
        const next = validators.replace(kept);
        if (!target.isSecretKey) assertOwnerKept(current, next, def);
        const system = { createdAt: current.createdAt, updatedAt: nextTimestamp(current.updatedAt, deps.clock.now()) };
        const createdBy = current.createdBy === undefined ? {} : { createdBy: current.createdBy };
        const replacement = { ...next, ...system, ...createdBy };
        return resizing(c, current, { _id: current._id, ...replacement }, () =>
          collection.replaceOne(guard, replacement).catch(duplicate),
        );
      });
      written(c, 1);
      return answerWritten(c, target, replaced);
    } finally {
      fence.leave(epoch);
    }
  });

  routes.patch("/:collection/:id", async (c) => {
    const { target, ownerId, prepared: body, epoch } = await enterWrite(deps, c, "update", bodyFor);
    try {
      const { def, validators, collection } = target;
      // A pk body is validated with the stored private and readonly values it does not name (required ones too).
      const checked = target.isSecretKey ? validators.patch(body) : undefined;
      const blind = !readsDocuments(target);
      const patched = await writeAddressed(deps, c, target, ownerId, (current, guard) => {
        assertOwnerUnnamed(target, body, ownerId);
        const { set, unset } =
          checked ?? validators.patch(validators.keepStored(body, current, { merge: true, blind }));
        const update: Update = { $set: { ...set, updatedAt: nextTimestamp(current.updatedAt, deps.clock.now()) } };
        if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((field) => [field, ""] as const));
        // The document as the update leaves it (a top-level merge): checked for pk, measured for the quota.
        const merged = afterUpdate(current, update);
        if (!target.isSecretKey) assertOwnerKept(current, merged, def);
        return resizing(c, current, merged, () => collection.updateOne(guard, update).catch(duplicate));
      });
      written(c, 1);
      return answerWritten(c, target, patched);
    } finally {
      fence.leave(epoch);
    }
  });

  routes.delete("/:collection/:id", async (c) => {
    const { target, ownerId, epoch } = await enterWrite(deps, c, "delete", noBody, { readsBody: false });
    try {
      const id = await writeAddressed(deps, c, target, ownerId, async (current, guard) => {
        if (!(await target.collection.deleteOne(guard))) return null;
        const project = c.get("principal").project;
        await releaseDocumentBytes(deps, project, countedBytes(project, [current]));
        return current._id;
      });
      written(c, 1);
      return ok(c, { _id: id, id, deleted: true });
    } finally {
      fence.leave(epoch);
    }
  });

  return routes;
}
