/**
 * The document-store port. It speaks MongoDB's own filter, sort, projection and update
 * documents over plain JSON documents; adapters: `embedded` (mingo + SQLite) and `mongo`.
 * Documents are JSON: dates are ISO 8601 strings, ids are 24-hex strings.
 */

/** A stored document. `_id` is a 24-hex string. */
export interface Doc {
  _id: string;
  [field: string]: unknown;
}

/**
 * A store may attach to a document it returns the exact JSON text that document serializes to, under
 * this non-enumerable key, when the document is frozen (the embedded store keeps the text it wrote).
 */
export const DOCUMENT_JSON: unique symbol = Symbol("documentJson");

/** A document's JSON text: the store's own when it kept it, else JSON.stringify. */
export function documentJson(doc: object): string {
  return (doc as { [DOCUMENT_JSON]?: string })[DOCUMENT_JSON] ?? JSON.stringify(doc);
}

/**
 * A MongoDB query filter (already vetted by the caller: only allowed operators). `undefined` anywhere
 * in it is a programming error: every adapter rejects the call with a TypeError.
 */
export type Filter = Record<string, unknown>;

/** Ordered sort spec: `{createdAt: -1, _id: -1}`. */
export type Sort = Record<string, 1 | -1>;

/** Inclusion or exclusion projection; `_id` is always kept. */
export type Projection = Record<string, 0 | 1>;

/** MongoDB update operators the port supports. */
export interface Update {
  $set?: Record<string, unknown>;
  $unset?: Record<string, "" | 1 | true>;
  $inc?: Record<string, number>;
}

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  projection?: Projection;
  /** Bounds the query's run (QueryTimeoutError past it), where the adapter can interrupt it. */
  maxTimeMs?: number;
}

/**
 * An index's fields: the (dotted) fields it orders by, in order — one for a single-field index, several
 * for a compound one (`["listingId", "buyerId"]`). No field name holds a NUL character.
 */
export type IndexFields = readonly string[];

export interface IndexSpec {
  fields: string[];
  unique: boolean;
}

/** Whether two index keys are the same fields in the same order. */
export const sameIndexFields = (a: IndexFields, b: IndexFields): boolean =>
  a.length === b.length && a.every((field, i) => field === b[i]);

/** A key as one string (a map key, a stored column): its fields joined by NUL, which no field name holds. */
export const indexKeyName = (fields: IndexFields): string => fields.join("\0");

/** Fields as a message names them: `"listingId", "buyerId"`. */
export const quotedFields = (fields: IndexFields): string => fields.map((field) => `"${field}"`).join(", ");

/** How a message names a unique index: `unique field "slug"`, `unique fields "listingId", "buyerId"`. */
export const uniqueIndexName = (fields: IndexFields): string =>
  `unique field${fields.length > 1 ? "s" : ""} ${quotedFields(fields)}`;

/**
 * Refuses a key no adapter indexes (a TypeError: a programming error): no field, an empty field name
 * or one holding NUL; and, for a new index, several fields that are not `unique` (a compound index is
 * there for uniqueness only: lists sort by one field).
 */
export function assertIndexKey(fields: IndexFields, create?: { unique: boolean }): void {
  if (fields.length === 0 || fields.some((field) => field === "" || field.includes("\0"))) {
    throw new TypeError(`Invalid index key ${JSON.stringify(fields)}`);
  }
  if (create && !create.unique && fields.length > 1) {
    throw new TypeError(`A compound index is unique: ${JSON.stringify(fields)}`);
  }
}

/** One collection of one database. Every write is atomic per call and durable once it resolves. */
export interface Collection {
  find(filter: Filter, options?: FindOptions): Promise<Doc[]>;
  findOne(filter: Filter, options?: Pick<FindOptions, "projection" | "sort">): Promise<Doc | null>;
  /**
   * Counts the documents matching `filter`. With an empty filter MongoDB answers from the
   * collection's metadata without reading documents: exact, except after an unclean shutdown or
   * with orphaned documents on a sharded cluster.
   */
  count(filter?: Filter, options?: Pick<FindOptions, "maxTimeMs">): Promise<number>;
  /** Inserts one document; assigns `_id` when missing; returns the stored document (sharing nothing with the input). */
  insertOne(doc: Omit<Doc, "_id"> & { _id?: string }): Promise<Doc>;
  /** Inserts all documents or none (a duplicate anywhere rejects the whole batch). */
  insertMany(docs: Array<Omit<Doc, "_id"> & { _id?: string }>): Promise<Doc[]>;
  /**
   * Updates the first document matching `filter`; returns it as it is after the update, or null.
   * A version precondition is part of the filter (`{_id, version: 3}`): check and write are atomic.
   */
  updateOne(filter: Filter, update: Update): Promise<Doc | null>;
  /** Replaces the first document matching `filter` (keeping its `_id`); returns the new one, or null. */
  replaceOne(filter: Filter, doc: Omit<Doc, "_id">): Promise<Doc | null>;
  /** Deletes the first document matching `filter`; returns it, or null. */
  deleteOne(filter: Filter): Promise<Doc | null>;
  deleteMany(filter: Filter): Promise<number>;
  /**
   * Runs an aggregation pipeline (already vetted by the caller: allowed stages only). A leading
   * `$match` uses the indexes. `maxTimeMs` bounds the run where the adapter can interrupt it;
   * `maxBytes` bounds the answer's JSON, counted as it is read (ResultTooLargeError past it).
   */
  aggregate(
    pipeline: Array<Record<string, unknown>>,
    options?: { maxTimeMs?: number; maxBytes?: number },
  ): Promise<Array<Record<string, unknown>>>;
  /**
   * Creates a secondary index on a key; `unique` only among documents that have every field of it
   * (a compound unique index compares the fields' values together). A key of several fields must be
   * `unique` (TypeError otherwise: see `assertIndexKey`).
   */
  createIndex(key: IndexFields, options?: { unique?: boolean }): Promise<void>;
  dropIndex(key: IndexFields): Promise<void>;
  listIndexes(): Promise<IndexSpec[]>;
}

/** One database: the platform's own, or one tenant project's. */
export interface Database {
  collection(name: string): Collection;
  listCollections(): Promise<string[]>;
  dropCollection(name: string): Promise<void>;
  /** Deletes every collection of this database. */
  drop(): Promise<void>;
}

/** Where a tenant project's documents live. */
export interface TenantLocation {
  projectId: string;
  /** The project's own MongoDB (bring your own database); else the operator's. */
  uri?: string;
}

/** The whole store: the platform database plus one database per project. */
export interface DocumentStore {
  readonly kind: "embedded" | "mongo";
  /** The embedded store on disk: the last process to open it ended without closing it (killed, crashed). */
  readonly uncleanShutdown?: boolean;
  platform(): Database;
  tenant(location: TenantLocation): Database;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  /** Finishes pending writes and releases every resource. */
  close(): Promise<void>;
}

/** Thrown by every adapter when a unique index rejects a write; `fields` is the index's key. */
export class DuplicateKeyError extends Error {
  constructor(
    readonly fields: IndexFields,
    /** In an insertMany, the position of the document refused (the later of two equal ones in the batch). */
    readonly index?: number,
  ) {
    super(`Duplicate value for ${uniqueIndexName(fields)}`);
    this.name = "DuplicateKeyError";
  }
}

/** A query or aggregation ran past its `maxTimeMs`. */
export class QueryTimeoutError extends Error {
  constructor(ms?: number) {
    super(ms === undefined ? "Query exceeded its time limit" : `Query exceeded ${ms} ms`);
    this.name = "QueryTimeoutError";
  }
}

/** An answer passed the `maxBytes` it was asked to stay within; it was not read further. */
export class ResultTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Result exceeds ${maxBytes} bytes`);
    this.name = "ResultTooLargeError";
  }
}

/** Thrown when the store cannot do the operation safely (closed, unreachable, failed disk). */
export class StoreUnavailableError extends Error {
  constructor(message = "Document store unavailable", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}
