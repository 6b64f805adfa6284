import * as mongo from "mongodb";
import { type IndexSpec, StoreUnavailableError } from "./types.js";

/**
 * The port's index on a field is, on MongoDB, `{f: 1, _id: 1}`, which serves a filter on the field
 * and a sort on it with its `_id` tie-break in either direction (every list sorts so); a unique one
 * is also a unique `{f: 1}`, partial on `$exists` so that documents lacking the field never collide
 * (a partial index serves no sort, hence the pair).
 */
interface Shaped {
  name: string;
  field: string;
  /** `{f: 1}` rather than `{f: 1, _id: 1}`. */
  single: boolean;
  unique: boolean;
  /**
   * Made by the adapter: the pair, or a unique `{f: 1}` partial on `$exists`. A plain `{f: 1}` (the
   * shape before the pair, or the database's own) or a unique one that is not partial (the
   * database's own, in a project's own MongoDB) is never dropped as the port's.
   */
  ours: boolean;
}

/** The field of an index key of either shape, `{f: 1}` or `{f: 1, _id: 1}`; undefined for any other key. */
function shapedField(key: Record<string, unknown>): { field: string; single: boolean } | undefined {
  const [first, second, ...rest] = Object.entries(key);
  if (!first || first[0] === "_id" || first[1] !== 1 || rest.length > 0) return undefined;
  if (second && (second[0] !== "_id" || second[1] !== 1)) return undefined;
  return { field: first[0], single: second === undefined };
}

/** Whether a driver error is one of `codes`. */
const isCode = (error: unknown, ...codes: number[]) =>
  error instanceof mongo.MongoError && typeof error.code === "number" && codes.includes(error.code);

/** The collection's indexes of either shape (none when the collection does not exist yet: 26 NamespaceNotFound). */
async function shapedIndexes(col: mongo.Collection): Promise<Shaped[]> {
  const all = await col.indexes().catch((error: unknown) => (isCode(error, 26) ? [] : Promise.reject(error)));
  return all.flatMap((index) => {
    const shape = shapedField(index.key);
    if (!shape) return [];
    const unique = index.unique === true;
    const partialOnExists = sameKey(index.partialFilterExpression ?? {}, { [shape.field]: { $exists: true } });
    return [{ name: index.name as string, ...shape, unique, ours: !shape.single || (unique && partialOnExists) }];
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
 * The port's indexes: one per field that has the pair or a unique `{f: 1}`, unique when such a
 * `{f: 1}` is (the database's own included: it is what the database enforces).
 */
export async function listPortIndexes(col: mongo.Collection): Promise<IndexSpec[]> {
  const unique = new Map<string, boolean>();
  for (const index of await shapedIndexes(col)) {
    if (index.single && !index.unique) continue;
    unique.set(index.field, unique.get(index.field) === true || index.unique);
  }
  return [...unique].map(([field, isUnique]) => ({ field, unique: isUnique }));
}

/**
 * Makes the port's index on `field`. The unique part goes first, so that duplicates leave no index
 * behind. A non-unique `{f: 1}` (the shape before `{f: 1, _id: 1}`) is dropped once the pair's
 * sortable index is there: it serves nothing the new one does not.
 */
export async function createPortIndex(col: mongo.Collection, field: string, unique: boolean): Promise<void> {
  if (unique) {
    const partialFilterExpression = { [field]: { $exists: true } };
    await ensureIndex(col, { [field]: 1 }, { name: `${field}_1`, unique, partialFilterExpression });
  }
  await ensureIndex(col, { [field]: 1, _id: 1 }, { name: `${field}_1__id_1` });
  if (unique) return;
  for (const old of await shapedIndexes(col)) {
    if (old.field === field && old.single && !old.unique) await dropNamed(col, old.name);
  }
}

/** Drops the port's index on `field`: the ones the adapter made (see `Shaped.ours`). */
export async function dropPortIndex(col: mongo.Collection, field: string): Promise<void> {
  for (const index of await shapedIndexes(col)) {
    if (index.field === field && index.ours) await dropNamed(col, index.name);
  }
}
