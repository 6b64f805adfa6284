import { PendingWork } from "../../background.js";
import type { Collection, Database, DocumentStore, IndexSpec, TenantLocation } from "../types.js";
import { StoreUnavailableError } from "../types.js";
import { type CollectionHost, EmbeddedCollection } from "./collection.js";
import { runIsolated } from "./isolated-pipeline.js";
import { type PipelineJob, runPipeline } from "./pipeline.js";
import type { Persistence, StoredWrite, WriteOp } from "./write-ops.js";

/** The map's value for `key`, made and kept on first use. */
function memo<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  const existing = map.get(key);
  if (existing !== undefined) return existing;
  const made = make();
  map.set(key, made);
  return made;
}

/**
 * The embedded document store: MongoDB semantics from mingo over in-memory indexed collections,
 * made durable in one SQLite file under `dataDir` (or kept in memory only when `dataDir` is null,
 * as in tests and in workerd). A write resolves only once it is committed to disk.
 */
export async function openEmbeddedStore(options: {
  dataDir: string | null;
  /** Aggregations run in a worker thread (isolated-pipeline.ts); false where there are none (workerd). */
  aggregateInWorker?: boolean;
}): Promise<DocumentStore> {
  const aggregate =
    options.aggregateInWorker === false ? async (prepare: () => PipelineJob) => runPipeline(prepare()) : runIsolated;
  const persistence: Persistence | undefined =
    options.dataDir === null ? undefined : await (await import("./sqlite.js")).openSqlitePersistence(options.dataDir);
  const catalog = new Map<string, Set<string>>();
  const databases = new Map<string, EmbeddedDatabase>();
  let unavailable: string | undefined;
  let closing: Promise<void> | undefined;
  const loading = new PendingWork();

  const collectionsOf = (db: string) => memo(catalog, db, () => new Set<string>());
  const stored = await persistence?.catalog().catch(async (error: unknown) => {
    await persistence.close(); // gives the data directory back
    throw error;
  });
  for (const [db, coll] of stored ?? []) collectionsOf(db).add(coll);

  function assertOpen(): void {
    if (unavailable) throw new StoreUnavailableError(unavailable);
  }

  async function commit(write: StoredWrite): Promise<void> {
    if (!persistence) return;
    try {
      await persistence.commit(write);
    } catch (error) {
      // Memory may now be ahead of disk: refuse everything until the store is reopened from disk.
      unavailable ??=
        error instanceof StoreUnavailableError ? error.message : "Embedded store failed to persist a write; reopen it";
      throw new StoreUnavailableError(unavailable, { cause: error });
    }
  }

  class EmbeddedDatabase implements Database, CollectionHost {
    private readonly collections = new Map<string, EmbeddedCollection>();
    constructor(readonly db: string) {}

    assertOpen = assertOpen;

    async load(coll: string): Promise<{ docs: string[]; indexes: IndexSpec[] }> {
      if (!persistence || !collectionsOf(this.db).has(coll)) return { docs: [], indexes: [] };
      return persistence.load(this.db, coll);
    }

    aggregate = aggregate;

    holdClose<T>(work: Promise<T>): Promise<T> {
      loading.add(work);
      return work;
    }

    write(coll: string, ops: WriteOp[]): Promise<void> {
      collectionsOf(this.db).add(coll);
      return commit({ kind: "ops", db: this.db, coll, ops });
    }

    collection(name: string): Collection {
      return memo(this.collections, name, () => new EmbeddedCollection(this, name));
    }

    async listCollections(): Promise<string[]> {
      assertOpen();
      return [...collectionsOf(this.db)].sort();
    }

    async dropCollection(name: string): Promise<void> {
      assertOpen();
      this.collections.get(name)?.clear();
      if (collectionsOf(this.db).delete(name)) await commit({ kind: "dropCollection", db: this.db, coll: name });
    }

    async drop(): Promise<void> {
      assertOpen();
      for (const collection of this.collections.values()) collection.clear();
      catalog.delete(this.db);
      await commit({ kind: "dropDatabase", db: this.db });
    }
  }

  const database = (name: string): Database => memo(databases, name, () => new EmbeddedDatabase(name));

  return {
    kind: "embedded",
    uncleanShutdown: persistence?.crashed ?? false,
    platform: () => database("platform"),
    // The embedded store keeps every tenant locally; a project's own MongoDB URI needs the mongo store.
    tenant: ({ projectId }: TenantLocation) => database(`project_${projectId}`),
    async ping() {
      // In-process: open means reachable (a failing disk surfaces on the next write), unless its
      // file was removed, which refuses everything from then on, as a failed write does.
      assertOpen();
      await persistence?.ping().catch((error: unknown) => {
        if (error instanceof StoreUnavailableError) unavailable ??= error.message;
        throw error;
      });
    },
    close() {
      unavailable ??= "Embedded store is closed";
      closing ??= (async () => {
        // Operations already admitted finish: they wait at most for a collection load, then
        // enqueue their writes synchronously; persistence.close() then commits the queue.
        await loading.settled();
        await new Promise((resolve) => setTimeout(resolve, 0));
        await persistence?.close();
      })();
      return closing;
    },
  };
}
