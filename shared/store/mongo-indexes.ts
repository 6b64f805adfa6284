import * as mongo from "mongodb";
import { sha256Hex } from "../crypto.js";
import {
  assertIndexKey,
  DuplicateKeyError,
  type IndexFields,
  type IndexSpec,
  indexKeyName,
  StoreUnavailableError,
  sameIndexFields,
} from "./types.js";

/**
 * The port's index on a field is, on MongoDB, `{f: 1, _id: 1}`, which serves a filter on the field
 * and a sort on it with its `_id` tie-break in either direction (every list sorts so); a unique one
 * is also a unique `{f: 1}`, partial on `$exists` so that documents lacking the field never collide
 * (a partial index serves no sort, hence the pair). A compound key (`[a, b]`) is only ever unique:
 * a unique `{a: 1, b: 1}` partial on `$exists` of each field, alone (it is there for uniqueness, lists
 * sort by one field, and each index costs every write).
 */
interface Shaped {
  name: string;
  fields: string[];
  /** `{f: 1, _id: 1}` rather than `{f: 1}` or `{a: 1, b: 1}`. */
  sortable: boolean;
  unique: boolean;
  /**
   * Made by the adapter: the sortable `{f: 1, _id: 1}`, or a unique key partial on `$exists` of each
   * field (a compound one under the port's name). A plain key (`{f: 1}`, the shape before the pair, or the database's own) or a unique one
   * that is not partial (the database's own, in a project's own MongoDB) is never dropped as the port's.
   */
  ours: boolean;
}

/**
 * The fields of an index key of a port shape, `{a: 1, ...}` or `{f: 1, _id: 1}`; undefined for any
 * other key (descending, `_id` inside, or `_id` after several fields: a project's own index).
 */
function shapedFields(key: Record<string, unknown>): { fields: string[]; sortable: boolean } | undefined {
  const entries = Object.entries(key);
  if (entries.some(([, order]) => order !== 1)) return undefined;
  const names = entries.map(([field]) => field);
  const sortable = names.length === 2 && names[1] === "_id";
  const fields = sortable ? names.slice(0, 1) : names;
  return fields.length === 0 || fields.includes("_id") ? undefined : { fields, sortable };
}

/** The MongoDB key of an index on `fields` (ascending), with the `_id` tie-break when `sortable`. */
const keyOf = (fields: IndexFields, sortable: boolean): Record<string, 1> =>
  Object.fromEntries([...fields, ...(sortable ? ["_id"] : [])].map((field) => [field, 1]));

/**
 * The name of the port's index on `fields`. A single field's is the one MongoDB would give (`f_1`,
 * `f_1__id_1`). A compound key's is `unique_together_` and 16 hex digits of a hash of its fields:
 * MongoDB's `a_1_b_1` would also be the name of the unique field `a_1_b` (a field name may hold `_1_`),
 * and no name ending in a hex digit ends in `_1`. Indexes are found by key, never by name.
 */
function nameOf(fields: IndexFields, sortable: boolean): string {
  if (fields.length > 1) return `unique_together_${sha256Hex(JSON.stringify(fields)).slice(0, 16)}`;
  return [...fields, ...(sortable ? ["_id"] : [])].map((field) => `${field}_1`).join("_");
}

/** The partial filter of a unique index: documents that have every field of it. */
const havingAll = (fields: IndexFields) => Object.fromEntries(fields.map((field) => [field, { $exists: true }]));

/** Whether a driver error is one of `codes`. */
const isCode = (error: unknown, ...codes: number[]) =>
  error instanceof mongo.MongoError && typeof error.code === "number" && codes.includes(error.code);

/** The collection's indexes of a port shape (none when the collection does not exist yet: 26 NamespaceNotFound). */
async function shapedIndexes(col: mongo.Collection): Promise<Shaped[]> {
  const all = await col.indexes().catch((error: unknown) => (isCode(error, 26) ? [] : Promise.reject(error)));
  return all.flatMap((index) => {
    const shape = shapedFields(index.key);
    if (!shape) return [];
    const unique = index.unique === true;
    const partialOnExists = sameKey(index.partialFilterExpression ?? {}, havingAll(shape.fields));
    // A compound key is the port's only under the port's name: compound keys have no older shape of
    // the adapter's, so any other is the database's own, even unique and partial on $exists.
    const named = shape.fields.length === 1 || index.name === nameOf(shape.fields, false);
    const ours = shape.sortable || (unique && partialOnExists && named);
    return [{ name: index.name as string, ...shape, unique, ours }];
  });
}

/** Drops an index; one dropped meanwhile (27 IndexNotFound, 26 NamespaceNotFound: another instance) is fine. */
async function dropNamed(col: mongo.Collection, name: string): Promise<void> {
  await col.dropIndex(name).catch((error: unknown) => {
    if (!isCode(error, 26, 27)) throw error;
  });
}

const sameKey = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  JSON.stringify(Object.entries(a)) === JSON.stringify(Object.entries(b));

/**
 * Makes an index. When the database already has one it conflicts with (85 IndexOptionsConflict, 86
 * IndexKeySpecsConflict: the same name or key with other options, as a database of the project's
 * own may have), one on exactly that key with the same uniqueness does the work (a unique one that
 * is not partial also makes documents lacking the field collide); any other is StoreUnavailableError
 * saying which index is in the way.
 */
async function ensureIndex(
  col: mongo.Collection,
  key: Record<string, 1>,
  options: mongo.CreateIndexesOptions & { name: string },
): Promise<void> {
  try {
    await col.createIndex(key, options);
  } catch (error) {
    if (!isCode(error, 85, 86)) throw error;
    const unique = options.unique === true;
    const existing = await col.indexes();
    if (existing.some((index) => sameKey(index.key, key) && (index.unique === true) === unique)) return;
    const wanted = `${options.name} ${JSON.stringify(key)}${unique ? " (unique)" : ""}`;
    throw new StoreUnavailableError(
      `Collection ${col.collectionName} has an index in the way of ${wanted}; drop it: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The port's indexes: one per key that has the sortable `{f: 1, _id: 1}` or a unique `{a: 1, ...}`,
 * unique when such an index is (the database's own included: it is what the database enforces).
 */
export async function listPortIndexes(col: mongo.Collection): Promise<IndexSpec[]> {
  const byKey = new Map<string, IndexSpec>();
  for (const index of await shapedIndexes(col)) {
    if (!index.sortable && !index.unique) continue;
    const name = indexKeyName(index.fields);
    byKey.set(name, { fields: index.fields, unique: byKey.get(name)?.unique === true || index.unique });
  }
  return [...byKey.values()];
}

/**
 * Makes the port's index on `fields` (several only when unique: `assertIndexKey`). The unique part
 * goes first, so that duplicates leave no index behind: DuplicateKeyError on `fields`, whatever the
 * server says of them. A non-unique `{f: 1}` (the shape before `{f: 1, _id: 1}`) is dropped once the
 * sortable index is there: it serves nothing the new one does not.
 */
export async function createPortIndex(col: mongo.Collection, fields: IndexFields, unique: boolean): Promise<void> {
  assertIndexKey(fields, { unique });
  if (unique) {
    const options = { name: nameOf(fields, false), unique, partialFilterExpression: havingAll(fields) };
    await ensureIndex(col, keyOf(fields, false), options).catch((error: unknown) => {
      throw isCode(error, 11000) ? new DuplicateKeyError(fields) : error;
    });
    if (fields.length > 1) return;
  }
  await ensureIndex(col, keyOf(fields, true), { name: nameOf(fields, true) });
  if (unique) return;
  for (const old of await shapedIndexes(col)) {
    if (sameIndexFields(old.fields, fields) && !old.sortable && !old.unique) await dropNamed(col, old.name);
  }
}

/** Drops the port's index on `fields`: the ones the adapter made (see `Shaped.ours`). */
export async function dropPortIndex(col: mongo.Collection, fields: IndexFields): Promise<void> {
  for (const index of await shapedIndexes(col)) {
    if (sameIndexFields(index.fields, fields) && index.ours) await dropNamed(col, index.name);
  }
}
