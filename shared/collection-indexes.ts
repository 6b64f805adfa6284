import { AUTH_USER_INDEXES } from "./auth/store.js";
import type { Logger } from "./deps.js";
import { ApiError } from "./errors.js";
import { pathPrefixes } from "./query/paths.js";
import { ownsDocuments } from "./rules.js";
import { type CollectionDef, indexedFields } from "./schema/definition.js";
import { isUsersCollection } from "./schema/names.js";
import { type Collection, DuplicateKeyError, type IndexSpec, indexKeyName, uniqueIndexName } from "./store/types.js";

/** Every data collection is indexed on createdAt, the default sort. */
const ALWAYS_INDEXED = ["createdAt"];

/**
 * The indexes a definition wants, by `indexKeyName`: createdAt; the owner field of a collection whose
 * documents have owners, which an owner rule's every list and total filter on (`_id` has its own);
 * each `unique` or `index` field; each `uniqueTogether` group, unique over its fields together.
 */
function wantedIndexes(def: CollectionDef): Map<string, IndexSpec> {
  const wanted = new Map<string, IndexSpec>();
  const want = (fields: string[], unique: boolean) => wanted.set(indexKeyName(fields), { fields, unique });
  for (const field of ALWAYS_INDEXED) want([field], false);
  if (ownsDocuments(def) && def.rls.ownerField !== "_id") want([def.rls.ownerField], false);
  for (const { field, unique } of indexedFields(def)) want([field], unique);
  for (const group of def.uniqueTogether ?? []) want([...group], true);
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
 * key has one index, so a plain one turning unique is dropped first and made again when the unique
 * one fails. Only then are indexes dropped or made plain, which no data can refuse. A failure may
 * leave unique indexes built: the caller syncs the definition that stays (see `changeIndexes`).
 */
export async function syncIndexes(collection: Collection, def: CollectionDef): Promise<void> {
  const theirs = isUsersCollection(def.name) ? AUTH_USER_INDEXES : NONE;
  const wanted = wantedIndexes(def);
  for (const field of theirs.keys()) wanted.delete(indexKeyName([field]));
  const existing = new Map((await collection.listIndexes()).map((index) => [indexKeyName(index.fields), index]));
  for (const [name, { fields, unique }] of wanted) {
    if (unique && existing.get(name)?.unique !== true) await buildUnique(collection, fields, existing.has(name));
  }
  for (const [name, { fields, unique }] of existing) {
    const keep = theirs.has(name)
      ? theirs.get(name) === unique
      : wanted.get(name)?.unique === true || wanted.get(name)?.unique === unique;
    if (!keep) await collection.dropIndex(fields);
  }
  for (const [name, { fields, unique }] of wanted)
    if (!unique && existing.get(name)?.unique !== false) await collection.createIndex(fields);
}

/** Builds a new unique index on `fields`, in place of its plain one when it has one (put back if it fails). */
async function buildUnique(collection: Collection, fields: readonly string[], replacesPlain: boolean): Promise<void> {
  for (const field of fields) await assertNoArrays(collection, fields, field);
  if (replacesPlain) await collection.dropIndex(fields);
  try {
    await collection.createIndex(fields, { unique: true });
  } catch (error) {
    if (replacesPlain) await collection.createIndex(fields);
    if (error instanceof DuplicateKeyError) {
      throw new ApiError("DUPLICATE_VALUE", `Existing documents hold duplicate values for ${uniqueIndexName(fields)}`);
    }
    throw error;
  }
}

/**
 * A new unique index needs single values: MongoDB would index an array's elements one by one (two
 * documents sharing one element clash) where the embedded store compares whole arrays, so arrays
 * stored at a field of it or on its path (before it was declared) are refused on both stores alike.
 */
async function assertNoArrays(collection: Collection, fields: readonly string[], field: string): Promise<void> {
  const holding = await collection.count({ $or: pathPrefixes(field).map((path) => ({ [path]: { $type: "array" } })) });
  if (holding === 0) return;
  const where = fields.length > 1 ? `at "${field}"` : "there";
  const message = `${uniqueIndexName(fields)}: ${holding} document(s) hold an array ${where}; a unique field takes single values, so change or unset them first`;
  const path = fields.length > 1 ? "uniqueTogether" : "fields";
  throw new ApiError("VALIDATION_FAILED", message, { details: [{ path, message }] });
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
