import type { IndexSpec } from "../types.js";

/** One change to one collection, as the embedded store persists it. */
export type WriteOp =
  | { op: "put"; id: string; json: string }
  | { op: "delete"; id: string }
  | { op: "createIndex"; fields: string[]; unique: boolean }
  | { op: "dropIndex"; fields: string[] };

/** A unit the persistence commits: a collection's ops, or a drop of a collection or a database. */
export type StoredWrite =
  | { kind: "ops"; db: string; coll: string; ops: WriteOp[] }
  | { kind: "dropCollection"; db: string; coll: string }
  | { kind: "dropDatabase"; db: string };

/** Durable storage behind the embedded store (SQLite on disk). */
export interface Persistence {
  /** The last process to open this storage ended without closing it (killed, crashed). */
  readonly crashed: boolean;
  /** Every (database, collection) pair that exists. */
  catalog(): Promise<Array<[db: string, coll: string]>>;
  /** A collection's documents (as JSON) and index specs. */
  load(db: string, coll: string): Promise<{ docs: string[]; indexes: IndexSpec[] }>;
  /** Commits writes in order; resolves once they are durable. Concurrent calls are group-committed. */
  commit(write: StoredWrite): Promise<void>;
  ping(): Promise<void>;
  /** Commits what is queued, then releases the file. */
  close(): Promise<void>;
}
