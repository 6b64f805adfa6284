import { AUTH_USER_INDEXES } from "./auth/store.js";
import type { Logger } from "./deps.js";
import { ApiError } from "./errors.js";
import { pathPrefixes } from "./query/paths.js";
import { ownsDocuments } from "./rules.js";
import { type CollectionDef, indexedFields } from "./schema/definition.js";
import { isUsersCollection } from "./schema/names.js";
import { type Collection, DuplicateKeyError } from "./store/types.js";

/** Every data collection is indexed on createdAt, the default sort. */
const ALWAYS_INDEXED = ["createdAt"];

/**
 * The indexes a definition wants (field → unique): createdAt; the owner field of a collection whose
 * documents have owners, which an owner rule's every list and total filter on (`_id` has its own);
 * each `unique` or `index` field.
 */
function wantedIndexes(def: CollectionDef): Map<string, boolean> {
  const wanted = new Map<string, boolean>(ALWAYS_INDEXED.map((field) => [field, false]));
  if (ownsDocuments(def) && def.rls.ownerField !== "_id") wanted.set(def.rls.ownerField, false);
  for (const { field, unique } of indexedFields(def)) wanted.set(field, unique);
  return wanted;
}

const NONE: ReadonlyMap<string, boolean> = new Map();

/**
 * Makes a collection's indexes exactly those its definition wants (`wantedIndexes`), plus `_id`
 * and, on `users`, the auth function's own (AUTH_USER_INDEXES: never made here, since one made
 * first under the same name with other options would make the auth function's fail on MongoDB;
 * one of another uniqueness on such a field goes, and the auth function makes its own). Any other
 * index goes too: one left by a change that failed, crashed or lost a race before its definition
 * was stored.
 *
 * What can fail is built first: each new unique index (existing duplicates → 409, arrays → 400). One
 * field has one index, so a plain one turning unique is dropped first and made again when the unique
 * one fails. Only then are indexes dropped or made plain, which no data can refuse. A failure may
 * leave unique indexes built: the caller syncs the definition that stays (see `changeIndexes`).
 */
export async function syncIndexes(collection: Collection, def: CollectionDef): Promise<void> {
  const theirs = isUsersCollection(def.name) ? AUTH_USER_INDEXES : NONE;
  const wanted = wantedIndexes(def);
  for (const field of theirs.keys()) wanted.delete(field);
  const existing = new Map((await collection.listIndexes()).map((index) => [index.field, index.unique]));
  for (const [field, unique] of wanted) {
    if (unique && existing.get(field) !== true) await buildUnique(collection, field, existing.has(field));
  }
  for (const [field, unique] of existing) {
    const keep = theirs.has(field)
      ? theirs.get(field) === unique
      : wanted.get(field) === true || wanted.get(field) === unique;
    if (!keep) await collection.dropIndex(field);
  }
  for (const [field, unique] of wanted)
    if (!unique && existing.get(field) !== false) await collection.createIndex(field);
}

/** Builds a new unique index on `field`, in place of its plain one when it has one (put back if it fails). */
async function buildUnique(collection: Collection, field: string, replacesPlain: boolean): Promise<void> {
  await assertNoArrays(collection, field);
  if (replacesPlain) await collection.dropIndex(field);
  try {
    await collection.createIndex(field, { unique: true });
  } catch (error) {
    if (replacesPlain) await collection.createIndex(field);
    if (error instanceof DuplicateKeyError) {
      throw new ApiError("DUPLICATE_VALUE", `Existing documents hold duplicate values for unique field "${field}"`);
    }
    throw error;
  }
}

/**
 * A new unique index needs single values: MongoDB would index an array's elements one by one (two
 * documents sharing one element clash) where the embedded store compares whole arrays, so arrays
 * stored at the field or on its path (before it was declared) are refused on both stores alike.
 */
async function assertNoArrays(collection: Collection, field: string): Promise<void> {
  const holding = await collection.count({ $or: pathPrefixes(field).map((path) => ({ [path]: { $type: "array" } })) });
  if (holding === 0) return;
  const message = `unique field "${field}": ${holding} document(s) hold an array there; a unique field takes single values, so change or unset them first`;
  throw new ApiError("VALIDATION_FAILED", message, { details: [{ path: "fields", message }] });
}

/**
 * Syncs the indexes to `next`; when that fails, back to `kept` (the definition that stays) before
 * the failure is the answer. A failed rollback is logged and is the answer (500, or 503 when the
 * store is down): the indexes then differ from the definition until its next change syncs them.
 */
export async function changeIndexes(
  collection: Collection,
  next: CollectionDef,
  kept: CollectionDef,
  log: Logger,
): Promise<void> {
  try {
    await syncIndexes(collection, next);
  } catch (error) {
    try {
      await syncIndexes(collection, kept);
    } catch (rollbackError) {
      log.error("index rollback failed: the indexes differ from the definition until its next change", {
        collection: next.name,
        error,
        rollbackError,
      });
      throw rollbackError instanceof ApiError ? new ApiError("INTERNAL_ERROR") : rollbackError;
    }
    throw error;
  }
}
