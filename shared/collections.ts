import { changeIndexes, syncIndexes } from "./collection-indexes.js";
import type { Clock, Logger } from "./deps.js";
import { ApiError } from "./errors.js";
import { newId } from "./ids.js";
import { oneAtATime } from "./one-at-a-time.js";
import { databaseKey, type ResolvedProject } from "./principal.js";
import { assertNoRetiredPrivateValues, legacyView, viewOf } from "./private-field-changes.js";
import { collectionsQuota } from "./quotas.js";
import { retryPause } from "./retry-pause.js";
import type { CollectionDef } from "./schema/definition.js";
import { isUsersCollection, USERS } from "./schema/names.js";
import { type Validators, validatorsFor } from "./schema/validator.js";
import type { Collection, Database, DocumentStore } from "./store/types.js";
import { DuplicateKeyError } from "./store/types.js";
import { CHANGE_LEASE_MS, collectionKey, WRITES_LEASE_MS, type WriteFence, writeFence } from "./write-fence.js";

/** A collection's definition as stored in the project's `_collections`, with its version. */
export interface CollectionEntry {
  def: CollectionDef;
  version: number;
  /** Unique per stored revision (a deleted and re-created collection starts at version 1 again, never at an old revision). */
  revision: string;
  /**
   * Changes whenever the definition's private fields do, "" while it has none: the documents' ETags
   * carry it, as it shapes what publishable-key callers are shown of them.
   */
  view: string;
  /** Created by an sk insert into a collection nobody defined ("instant NoSQL"). */
  implicit: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Where a project keeps its collection definitions (a reserved name: user collections cannot start with `_`). */
const DEFINITIONS = "_collections";

/**
 * Most cached lookups (found or missing) one registry keeps: when it is reached, expired entries are
 * dropped, and when more than half are still fresh the cache is cleared (a cleared entry is simply
 * read again), as the embedded store bounds its query cache.
 */
export const MAX_CACHED_DEFINITIONS = 1000;

/** Changes of one definition on one instance run in turn; these attempts (10–50 ms apart) are for other instances'. */
const MAX_CHANGE_ATTEMPTS = 10;

/**
 * Collection definitions per project, cached on this instance; changes here are seen by the next
 * request here. Changes of one collection (create, replace, remove, their index syncs included) run
 * one at a time on an instance, and a replace is conditional on the version it read.
 */
export interface CollectionRegistry {
  database(project: ResolvedProject): Database;
  get(project: ResolvedProject, name: string): Promise<CollectionEntry | null>;
  list(project: ResolvedProject): Promise<CollectionEntry[]>;
  /** How many collections the project has against its collections quota (`users` aside). */
  count(project: ResolvedProject): Promise<number>;
  /**
   * Stores a new definition and builds its indexes: 409 COLLECTION_EXISTS when one is stored, 403
   * QUOTA_EXCEEDED when the project has all the collections its quota allows (`users` aside).
   */
  create(project: ResolvedProject, def: CollectionDef, options?: { implicit?: boolean }): Promise<CollectionEntry>;
  /**
   * Changes a stored definition: `change` makes the new one from the stored one, and is run again
   * on a fresher one when another instance changed it meanwhile. Null when none is stored.
   */
  replace(
    project: ResolvedProject,
    name: string,
    change: (stored: CollectionDef) => CollectionDef,
  ): Promise<CollectionEntry | null>;
  /**
   * Deletes a definition and its collection (the accounts of `users` stay); `dropping` gets the
   * collection just before it is dropped, once the writes to it have stopped. False when none is stored.
   */
  remove(
    project: ResolvedProject,
    name: string,
    dropping?: (collection: Collection) => Promise<void>,
  ): Promise<boolean>;
  validators(project: ResolvedProject, entry: CollectionEntry): Validators;
  /** Data writes enter it; replace and remove hold it (see write-fence.ts). */
  readonly fence: WriteFence;
  /** How many lookups are cached now (at most MAX_CACHED_DEFINITIONS); for tests and metrics. */
  readonly cachedCount: number;
}

/** Creates the registry; entries are cached for `ttlMs` (other instances see changes within it). */
export function createCollectionRegistry(options: {
  store: DocumentStore;
  clock: Clock;
  ttlMs: number;
  log: Logger;
}): CollectionRegistry {
  const { store, clock, ttlMs, log } = options;
  const cache = new Map<string, { entry: CollectionEntry | null; expires: number }>();
  /** Databases (project and its database URI) whose definitions collection has its unique index. */
  const indexedDefinitions = new Set<string>();
  // Keyed by collectionKey: a project moved to another database reads that database's definitions at once.
  // A change may wait for the writes inside before its own lease starts (see write-fence.ts).
  const inTurn = oneAtATime(WRITES_LEASE_MS + CHANGE_LEASE_MS);
  const fence = writeFence();
  /** Creates of one project's collections count and store their definitions one at a time here. */
  const countedTurn = oneAtATime();
  /**
   * Definitions created (and taken back) here so far. A create holds no fence (it has no writes of its
   * collection to keep apart), so a read that overlaps it is told by this instead (see `get`).
   */
  let created = 0;
  /** Runs a change of a definition after the others of that collection here, apart from its writes. */
  const alone = <T>(project: ResolvedProject, name: string, change: () => Promise<T>) =>
    inTurn(collectionKey(project, name), () => fence.hold(project, name, change));

  const database = (project: ResolvedProject) => store.tenant({ projectId: project.id, uri: project.databaseUri });

  async function definitions(project: ResolvedProject) {
    const collection = database(project).collection(DEFINITIONS);
    const where = databaseKey(project);
    if (!indexedDefinitions.has(where)) {
      await collection.createIndex(["name"], { unique: true });
      if (indexedDefinitions.size >= MAX_CACHED_DEFINITIONS) indexedDefinitions.clear();
      indexedDefinitions.add(where);
    }
    return collection;
  }

  const count = async (project: ResolvedProject) => (await definitions(project)).count({ name: { $ne: USERS } });

  const toEntry = (doc: Record<string, unknown>): CollectionEntry => ({
    def: doc.def as CollectionDef,
    version: doc.version as number,
    revision: typeof doc.revision === "string" ? doc.revision : `v${doc.version}`,
    view: typeof doc.view === "string" ? doc.view : legacyView(doc),
    implicit: doc.implicit === true,
    createdAt: doc.createdAt as string,
    updatedAt: doc.updatedAt as string,
  });

  function remember(project: ResolvedProject, name: string, entry: CollectionEntry | null): CollectionEntry | null {
    const now = clock.now();
    if (cache.size >= MAX_CACHED_DEFINITIONS) {
      for (const [key, cached] of cache) if (cached.expires <= now) cache.delete(key);
      // Still more than half full of fresh entries: start over, so sweeps stay rare (amortised O(1)).
      if (cache.size >= MAX_CACHED_DEFINITIONS / 2) cache.clear();
    }
    cache.set(collectionKey(project, name), { entry, expires: now + ttlMs });
    return entry;
  }

  return {
    database,
    fence,

    get cachedCount() {
      return cache.size;
    },

    async get(project, name) {
      const cached = cache.get(collectionKey(project, name));
      if (cached && cached.expires > clock.now()) return cached.entry;
      const since = fence.stamp;
      const createdSince = created;
      const quiet = !fence.busy;
      const doc = await (await definitions(project)).findOne({ name });
      const entry = doc ? toEntry(doc) : null;
      // A read that overlapped a change or a create may be older than the entry it cached: not kept.
      const unchanged = fence.stamp === since && created === createdSince;
      return quiet && !fence.busy && unchanged ? remember(project, name, entry) : entry;
    },

    async list(project) {
      const docs = await (await definitions(project)).find({}, { sort: { name: 1 } });
      return docs.map(toEntry);
    },

    count,

    create: (project, def, { implicit = false } = {}) =>
      inTurn(collectionKey(project, def.name), async () => {
        const now = new Date(clock.now()).toISOString();
        const entry: CollectionEntry = {
          def,
          version: 1,
          revision: newId(),
          view: viewOf(def),
          implicit,
          createdAt: now,
          updatedAt: now,
        };
        const exists = () => {
          // Whoever created it may have done so since this instance cached "missing".
          cache.delete(collectionKey(project, def.name));
          return new ApiError("COLLECTION_EXISTS");
        };
        const store = async () => {
          try {
            await (await definitions(project)).insertOne({ name: def.name, ...entry });
          } catch (error) {
            if (error instanceof DuplicateKeyError) throw exists();
            throw error;
          }
        };
        if (isUsersCollection(def.name)) await store();
        else {
          // Counted, not reserved: exact on this instance (its creates take turns per project); creates
          // on other instances at once may each find the last place and pass the quota together (docs/choices.md).
          await countedTurn(databaseKey(project), async () => {
            const limit = collectionsQuota(project);
            if ((await count(project)) >= limit) {
              // One that is there is still answered as such (an implicit create then uses it).
              if (await (await definitions(project)).findOne({ name: def.name })) throw exists();
              throw new ApiError(
                "QUOTA_EXCEEDED",
                `The project's collection quota is used up: at most ${limit} collections (settings.quotas.collections)`,
              );
            }
            await store();
          });
        }
        created++; // a read overlapping from here may find the definition, or not yet: either is dated
        try {
          // A failure takes back what this definition built (a `users` collection outlives it).
          await changeIndexes(database(project).collection(def.name), def, { ...def, fields: [] }, log);
        } catch (error) {
          await (await definitions(project)).deleteOne({ name: def.name });
          // Taken back: what a read here cached of it goes, and a read still under way is dated too.
          cache.delete(collectionKey(project, def.name));
          created++;
          throw error;
        }
        return remember(project, def.name, entry) as CollectionEntry;
      }),

    replace: (project, name, change) =>
      alone(project, name, async () => {
        const collection = await definitions(project);
        const documents = database(project).collection(name);
        for (let attempt = 0; attempt < MAX_CHANGE_ATTEMPTS; attempt++) {
          if (attempt > 0) await retryPause();
          const current = await collection.findOne({ name });
          if (!current) return remember(project, name, null);
          const stored = toEntry(current);
          const def = change(stored.def);
          await assertNoRetiredPrivateValues(documents, stored.def, def);
          await changeIndexes(documents, def, stored.def, log);
          const updatedAt = new Date(clock.now()).toISOString();
          const doc = await collection.updateOne(
            { name, version: stored.version },
            {
              $set: { def, implicit: false, updatedAt, revision: newId(), view: viewOf(def, stored) },
              $inc: { version: 1 },
            },
          );
          // Lost to another instance's change: the next attempt applies this one to that one.
          if (doc) return remember(project, name, toEntry(doc));
        }
        // Overtaken every time: the indexes follow what is stored.
        const current = await collection.findOne({ name });
        if (current) await syncIndexes(documents, toEntry(current).def);
        throw new ApiError(
          "PRECONDITION_FAILED",
          "The definition kept changing while this change was applied: retry it",
        );
      }),

    remove: (project, name, dropping) =>
      alone(project, name, async () => {
        const collection = database(project).collection(name);
        const current = await (await definitions(project)).findOne({ name });
        if (current && isUsersCollection(name)) {
          await assertNoRetiredPrivateValues(collection, toEntry(current).def, null);
        } else if (current) {
          // Its documents go before its definition: a failure part-way leaves a definition to delete again.
          await dropping?.(collection);
          await database(project).dropCollection(name);
        }
        const removed = await (await definitions(project)).deleteOne({ name });
        cache.delete(collectionKey(project, name));
        if (!removed) return false;
        // `users` belongs to the auth function: its definition only adds profile fields, so deleting
        // the definition never deletes the accounts, only the indexes it declared (auth keeps its own).
        if (isUsersCollection(name)) await syncIndexes(collection, { ...toEntry(removed).def, fields: [] });
        return true;
      }),

    validators: (project, entry) => validatorsFor(entry.def, `${project.id}/${entry.def.name}/${entry.revision}`),
  };
}
