import * as mongo from "mongodb";
import { isId } from "../ids.js";
import { arrayBytesWithin } from "../json-bytes.js";
import { assertDefinedFilter, assertDefinedPipeline } from "./defined-filter.js";
import { createPortIndex, dropPortIndex, listPortIndexes } from "./mongo-indexes.js";
import type { Collection, Database, Doc, DocumentStore, Filter, FindOptions } from "./types.js";
import { DuplicateKeyError, QueryTimeoutError, StoreUnavailableError } from "./types.js";

const CLIENT_OPTIONS = {
  maxPoolSize: 10,
  serverSelectionTimeoutMS: 5_000,
  socketTimeoutMS: 30_000,
  ignoreUndefined: true,
};
/** Bring-your-own-database clients kept open at once; the least recently used is closed first. */
const MAX_BYO_CLIENTS = 8;
/** Driver errors that mean "cannot reach or use the server", not "the operation was wrong". */
const UNAVAILABLE = [
  mongo.MongoNetworkError,
  mongo.MongoSystemError,
  mongo.MongoTopologyClosedError,
  mongo.MongoNotConnectedError,
  mongo.MongoClientClosedError,
  mongo.MongoServerClosedError,
  mongo.MongoWriteConcernError,
];
/**
 * Server answers that mean "not now": unreachable or recovering nodes, elections, shutdowns (the
 * driver's retryable codes), a write concern timeout, and a project database refusing its credentials.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 18, 64, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * Whether the server cannot be reached or used now. Besides the driver's own errors: a failed DNS
 * lookup of a `mongodb+srv` host (the driver passes Node's querySrv/queryTxt errors on as they are:
 * ENOTFOUND, ETIMEOUT, ECONNREFUSED, EAI_AGAIN, ...), and an SRV record that names no host.
 */
function isUnavailable(error: unknown): boolean {
  if (!(error instanceof mongo.MongoError)) {
    const syscall = (error as { syscall?: unknown } | null)?.syscall;
    return error instanceof Error && (syscall === "querySrv" || syscall === "queryTxt");
  }
  if (error instanceof mongo.MongoAPIError) return error.message === "No addresses found at host";
  if (UNAVAILABLE.some((type) => error instanceof type)) return true;
  if (typeof error.code === "number" && UNAVAILABLE_CODES.has(error.code)) return true;
  // insertMany wraps any failure that is not a write error (a lost connection, a timeout) in one.
  return error instanceof mongo.MongoBulkWriteError && [error.writeErrors].flat().length === 0;
}

/** A 24-hex id becomes an ObjectId; arrays and operator objects (`$in`, `$gt`, `$not`, ...) are walked. */
function idValue(value: unknown): unknown {
  if (typeof value === "string") return isId(value) ? new mongo.ObjectId(value) : value;
  if (Array.isArray(value)) return value.map(idValue);
  if (value && typeof value === "object" && !(value instanceof mongo.ObjectId)) {
    return Object.fromEntries(Object.entries(value).map(([op, v]) => [op, op === "$options" ? v : idValue(v)]));
  }
  return value;
}

/** Converts `_id` values in a filter (also inside `$and`/`$or`/`$nor`) to ObjectIds. */
function withObjectIds(filter: Filter): mongo.Document {
  const out: mongo.Document = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key === "_id") out[key] = idValue(value);
    else if ((key === "$and" || key === "$or" || key === "$nor") && Array.isArray(value)) {
      out[key] = value.map((f) => withObjectIds(f as Filter));
    } else out[key] = value;
  }
  return out;
}

/** The filter for the driver; one holding `undefined` is refused (ignoreUndefined would drop the condition). */
function toMongoFilter(filter: Filter): mongo.Document {
  assertDefinedFilter(filter);
  return withObjectIds(filter);
}

/**
 * The document as MongoDB stores it, a deep copy of the caller's (what an insert returns shares
 * nothing with its input): `_id` assigned when missing, an ObjectId when it is 24-hex.
 */
const toMongoDoc = (doc: Record<string, unknown>): mongo.Document => ({
  ...structuredClone(doc),
  _id: idValue(doc._id) ?? new mongo.ObjectId(),
});
const fromMongo = (doc: mongo.Document): Doc => ({
  ...doc,
  _id: doc._id instanceof mongo.ObjectId ? doc._id.toHexString() : doc._id,
});
/** Aggregate stages that pass the stored documents on as they are (filtered, ordered, cut). */
const KEEPS_DOCUMENTS = new Set(["$match", "$sort", "$skip", "$limit"]);
/**
 * Whether a stage evaluates no expression: it keeps the documents, or removes fields other than
 * `_id` (the hiding `$project` of private fields). Up to the first stage that does, `_id` is left the
 * stored ObjectId, so that `$match` and `$sort` there use the indexes.
 */
function evaluatesNothing(stage: Record<string, unknown>): boolean {
  const [name = "", arg] = Object.entries(stage)[0] ?? [];
  if (name !== "$project") return KEEPS_DOCUMENTS.has(name);
  const values = typeof arg === "object" && arg !== null ? Object.entries(arg) : [];
  return values.length > 0 && values.every(([key, value]) => key !== "_id" && (value === 0 || value === false));
}
/** `_id` as the port has it, the hex string of an ObjectId, for every expression after (`$concat`, `$eq` with a ref). */
const STRING_IDS = {
  $addFields: { _id: { $cond: [{ $eq: [{ $type: "$_id" }, "objectId"] }, { $toString: "$_id" }, "$_id"] } },
};
/** A value with every ObjectId in it (one `$toObjectId` made) as its hex string, as the port has ids. */
function withStringIds(value: unknown): unknown {
  if (value instanceof mongo.ObjectId) return value.toHexString();
  if (Array.isArray(value)) return value.map(withStringIds);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withStringIds(v)]));
  }
  return value;
}
const fromMongoOrNull = (doc: mongo.Document | null): Doc | null => (doc ? fromMongo(doc) : null);
/**
 * Sort and projection for the driver. The port always keeps `_id`, so a `_id: 0` is dropped; an
 * inclusion of `_id` alone stays (MongoDB reads an empty projection as "every field").
 */
function readOptions({ projection: p, maxTimeMs, ...rest }: FindOptions) {
  const others = p && Object.fromEntries(Object.entries(p).filter(([k]) => k !== "_id"));
  const projection = others && Object.keys(others).length === 0 && p._id === 1 ? { _id: 1 } : others;
  return { ...rest, ...(maxTimeMs === undefined ? {} : { maxTimeMS: maxTimeMs }), projection };
}

/**
 * The fields of the index a single-document write's duplicate-key error names: its keyPattern, which
 * the server sends with every one (MongoDB 4.2 on).
 */
function duplicateFields(error: mongo.MongoError): string[] {
  const pattern = (error as { keyPattern?: Record<string, unknown> }).keyPattern;
  const fields = pattern ? Object.keys(pattern) : [];
  return fields.length > 0 ? fields : ["unknown"];
}

/** The position of the first document an ordered insertMany refused; undefined when none was (a lost connection). */
const failedAt = (error: unknown): number | undefined =>
  error instanceof mongo.MongoBulkWriteError ? [error.writeErrors].flat()[0]?.index : undefined;

/**
 * The port's error for an insertMany that failed on a duplicate key, naming the index's fields; any
 * other error as it is. The driver builds a bulk write's errors from the server's `index`, `code`,
 * `errmsg`, `errInfo` and `op` only, without keyPattern: the fields are those of the index the
 * message names (`... index: <name> dup key: ...`), looked up by name among the collection's indexes
 * (a name cannot be read back into fields: a field's name may hold `_1_`).
 */
async function bulkWriteError(col: mongo.Collection, error: unknown): Promise<unknown> {
  if (!(error instanceof mongo.MongoBulkWriteError) || error.code !== 11000) return error;
  const name = / index: (.+?) dup key: /.exec(error.message)?.[1];
  const indexes = name === undefined ? [] : await col.indexes().catch(() => []);
  const key = indexes.find((index) => index.name === name)?.key;
  return new DuplicateKeyError(key ? Object.keys(key) : ["unknown"], failedAt(error));
}

/** Most BSON bytes of one cleanup filter: well under MongoDB's 16 MiB for a command. */
const CLEANUP_FILTER_BYTES = 8 * 1024 * 1024;

/**
 * Takes out what an ordered insertMany that failed may have stored, so a batch goes in whole or not
 * at all. Before its first failing document, each went in by this call: by `_id`. When the connection
 * was lost, any of the batch may have gone in, and a caller's own `_id` (an Idempotency-Key's) may
 * name a document another call stored: each is matched whole, in filters of bounded size.
 */
async function takeOutBatch(col: mongo.Collection, stored: mongo.Document[], error: unknown): Promise<void> {
  const refused = failedAt(error);
  if (refused !== undefined) {
    if (refused > 0) await col.deleteMany({ _id: { $in: stored.slice(0, refused).map((doc) => doc._id) } });
    return;
  }
  let chunk: mongo.Document[] = [];
  let bytes = 0;
  for (const doc of stored) {
    const size = mongo.BSON.calculateObjectSize(doc);
    if (chunk.length > 0 && bytes + size > CLEANUP_FILTER_BYTES) {
      await col.deleteMany({ $or: chunk });
      [chunk, bytes] = [[], 0];
    }
    chunk.push(doc);
    bytes += size;
  }
  if (chunk.length > 0) await col.deleteMany({ $or: chunk });
}

/** Maps driver errors onto the port's errors; anything else passes through unchanged. */
function mapError(error: unknown): unknown {
  if (error instanceof mongo.MongoError && error.code === 11000) return new DuplicateKeyError(duplicateFields(error));
  if (error instanceof mongo.MongoError && error.code === 50) return new QueryTimeoutError(); // MaxTimeMSExpired
  if (isUnavailable(error)) {
    return new StoreUnavailableError(`Document store unavailable: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

/** A catch handler that turns NamespaceNotFound (no such collection) into `fallback`. */
const ifMissing =
  <T>(fallback: T) =>
  (error: unknown): T => {
    if (error instanceof mongo.MongoError && error.code === 26) return fallback;
    throw error;
  };

/** Opens the MongoDB-backed store: `<dbPrefix>_platform`, `<dbPrefix>_<projectId>`, or a project's own URI. */
export async function openMongoStore(config: {
  uri: string;
  dbPrefix: string;
  /** Connections per client on a long-lived instance: small on serverless ones. */
  maxPoolSize?: number;
  /**
   * The store serves one request, then closes (Workers, which keep no socket across requests): it
   * connects on its first operation, with one connection for operations and one per server of the
   * deployment (each member of a replica set) that the driver's monitor polls, rather than a second
   * one per server for streaming.
   */
  oneRequest?: boolean;
}): Promise<DocumentStore> {
  const options = config.oneRequest
    ? { ...CLIENT_OPTIONS, maxPoolSize: 1, serverMonitoringMode: "poll" as const }
    : { ...CLIENT_OPTIONS, maxPoolSize: config.maxPoolSize ?? CLIENT_OPTIONS.maxPoolSize };
  const client = new mongo.MongoClient(config.uri, options);
  const byoClients = new Map<string, mongo.MongoClient>();
  const pending = new Set<Promise<unknown>>();
  let closed = false;

  /** Runs one port operation: refused after close, tracked so close() can wait for it, errors mapped. */
  async function run<T>(operation: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError("Document store closed");
    const promise = operation().catch((error: unknown) => {
      throw mapError(error);
    });
    pending.add(promise);
    try {
      return await promise;
    } finally {
      pending.delete(promise);
    }
  }

  /** The client for a project's own MongoDB (LRU; an evicted client closes once in-flight work settles). */
  function byoClient(uri: string): mongo.MongoClient {
    const byo = byoClients.get(uri) ?? new mongo.MongoClient(uri, options);
    byoClients.delete(uri);
    byoClients.set(uri, byo);
    const [oldest] = byoClients;
    if (oldest && byoClients.size > MAX_BYO_CLIENTS) {
      byoClients.delete(oldest[0]);
      void Promise.allSettled([...pending]).then(() => oldest[1].close().catch(() => {}));
    }
    return byo;
  }

  function collection(col: () => mongo.Collection): Collection {
    return {
      find: (filter, options = {}) =>
        run(async () => (await col().find(toMongoFilter(filter), readOptions(options)).toArray()).map(fromMongo)),
      findOne: (filter, options = {}) =>
        run(async () => fromMongoOrNull(await col().findOne(toMongoFilter(filter), readOptions(options)))),
      count: (filter = {}, { maxTimeMs } = {}) =>
        run(() => {
          const options = maxTimeMs === undefined ? {} : { maxTimeMS: maxTimeMs };
          const query = toMongoFilter(filter);
          // countDocuments reads every document its filter matches: all of them for {} (a list's total).
          if (Object.keys(query).length === 0) return col().estimatedDocumentCount(options);
          return col().countDocuments(query, options);
        }),
      insertOne: (doc) =>
        run(async () => {
          const stored = toMongoDoc(doc);
          await col().insertOne(stored);
          return fromMongo(stored);
        }),
      insertMany: (docs) =>
        run(async () => {
          if (docs.length === 0) return [];
          const stored = docs.map(toMongoDoc);
          try {
            await col().insertMany(stored, { ordered: true });
          } catch (error) {
            await takeOutBatch(col(), stored, error).catch(() => undefined);
            throw await bulkWriteError(col(), error);
          }
          return stored.map(fromMongo);
        }),
      updateOne: (filter, update) =>
        run(async () =>
          fromMongoOrNull(await col().findOneAndUpdate(toMongoFilter(filter), update, { returnDocument: "after" })),
        ),
      replaceOne: (filter, doc) =>
        run(async () => {
          const { _id, ...replacement } = doc as Record<string, unknown>;
          const after = await col().findOneAndReplace(toMongoFilter(filter), replacement, { returnDocument: "after" });
          return fromMongoOrNull(after);
        }),
      deleteOne: (filter) => run(async () => fromMongoOrNull(await col().findOneAndDelete(toMongoFilter(filter)))),
      deleteMany: (filter) => run(async () => (await col().deleteMany(toMongoFilter(filter))).deletedCount),
      aggregate: (pipeline, { maxTimeMs, maxBytes } = {}) =>
        run(async () => {
          assertDefinedPipeline(pipeline); // every $match: the leading ones below need no second check
          // The leading stages see the stored ObjectIds (their $match gets ObjectIds); every later one sees strings.
          const at = pipeline.findIndex((stage) => !evaluatesNothing(stage));
          const leading = pipeline.slice(0, at < 0 ? pipeline.length : at);
          const stages = [
            ...leading.map((stage) => ("$match" in stage ? { $match: withObjectIds(stage.$match as Filter) } : stage)),
            STRING_IDS,
            ...pipeline.slice(leading.length),
          ];
          const options = maxTimeMs === undefined ? {} : { maxTimeMS: maxTimeMs };
          const count = maxBytes === undefined ? undefined : arrayBytesWithin(maxBytes);
          const items: Doc[] = [];
          // Leaving the loop early (a throw) closes the cursor.
          for await (const doc of col().aggregate(stages, options)) {
            const item = withStringIds(doc) as Doc;
            count?.(item);
            items.push(item);
          }
          return items;
        }),
      createIndex: (field, { unique = false } = {}) => run(() => createPortIndex(col(), field, unique)),
      dropIndex: (field) => run(() => dropPortIndex(col(), field)),
      listIndexes: () => run(() => listPortIndexes(col())),
    };
  }

  function database(db: () => mongo.Db): Database {
    return {
      collection: (name) => collection(() => db().collection(name)),
      listCollections: () =>
        run(async () =>
          (await db().listCollections({}, { nameOnly: true }).toArray())
            .map((c) => c.name)
            .filter((name) => !name.startsWith("system.")),
        ),
      dropCollection: (name) => run(async () => void (await db().dropCollection(name).catch(ifMissing(false)))),
      drop: () => run(async () => void (await db().dropDatabase())),
    };
  }

  // A one-request client connects on its first operation (the driver's own), so a request that
  // needs no data (a preflight, an unknown route) opens no connection.
  if (!config.oneRequest) {
    await run(() => client.connect()).catch(async (error: unknown) => {
      await client.close().catch(() => {});
      throw error;
    });
  }
  return {
    kind: "mongo",
    platform: () => database(() => client.db(`${config.dbPrefix}_platform`)),
    // A project's own client is looked up on every call, so a handle taken before its client was
    // evicted (and closed) goes on with the live one.
    tenant: ({ projectId, uri }) =>
      database(() => (uri ? byoClient(uri).db() : client.db(`${config.dbPrefix}_${projectId}`))),
    ping: () => run(async () => void (await client.db("admin").command({ ping: 1 }))),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...pending]);
      const clients = [client, ...byoClients.values()];
      byoClients.clear();
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}
