import { sha256Hex } from "./crypto.js";
import type { Deps } from "./deps.js";
import { ID_BYTES } from "./documents.js";
import { ApiError } from "./errors.js";
import type { ResolvedProject } from "./principal.js";
import { storageCounters } from "./storage/files.js";
import { type Collection, type Database, DuplicateKeyError, StoreUnavailableError } from "./store/types.js";

/**
 * Project quotas (settings.quotas, API.md §8): `documentsBytes` (the JSON size of the project's
 * documents, the `users` collection aside) and `users` (its end users' accounts). Storage bytes are
 * the storage function's own (settings.storage.quotaBytes). Each is a field of the project's counter
 * document, kept only while its quota is set, and reserved with a conditional $inc before the write
 * it is for, so parallel writes (on any number of instances) cannot pass the quota together; a
 * write that fails gives its reservation back. Document bytes are reserved before an insert, and
 * before a PUT or PATCH for the growth (new size minus old, per attempt on the version read); a
 * delete gives back the document's bytes and a shrinking update the difference. A user is reserved
 * before an account is created (signup, a first social sign-in) and given back when it is deleted.
 * `collections` keeps no counter: a create counts the definitions there are (shared/collections.ts).
 */
const COUNTERS = "quota_usage";

type QuotaDeps = Pick<Deps, "store" | "collections" | "log">;

/** The quotas kept in a counter: each is a field of the project's counter document. */
type Counted = "documentsBytes" | "users";

const quotaOf = (project: ResolvedProject, name: Counted | "collections") => {
  const value = (project.settings.quotas as Record<string, unknown> | undefined)?.[name];
  return typeof value === "number" && value > 0 ? value : undefined;
};

/**
 * Collections a project may have (its `users`, there in every project, aside) unless the operator
 * sets `settings.quotas.collections`: each is a definition of up to 64 KiB and up to 50 indexes in a
 * database other tenants may share, so their number is bounded even when no quota is set.
 */
export const MAX_COLLECTIONS = 200;

/** The most collections the project may have (`users` aside). */
export const collectionsQuota = (project: ResolvedProject) => quotaOf(project, "collections") ?? MAX_COLLECTIONS;

/** Whether the project counts its document bytes (it has a `documentsBytes` quota). */
const countsDocumentBytes = (project: ResolvedProject) => quotaOf(project, "documentsBytes") !== undefined;

/** The JSON size of a document as stored (with its `_id`), as counted against `documentsBytes`. */
export const documentBytes = (doc: Record<string, unknown>) =>
  new TextEncoder().encode(JSON.stringify(doc)).length + (doc._id === undefined ? ID_BYTES : 0);

/** The JSON size of documents as the project's quota counts them: 0 (not measured) without a quota. */
export const countedBytes = (project: ResolvedProject, docs: Array<Record<string, unknown>>) =>
  countsDocumentBytes(project) ? docs.reduce((n, doc) => n + documentBytes(doc), 0) : 0;

/** The JSON size of every document of a collection, as counted against `documentsBytes`. */
async function bytesOf(collection: Collection): Promise<number> {
  let total = 0;
  for (const doc of await collection.find({})) total += documentBytes(doc);
  return total;
}

/** What each counter starts from: what the project's database holds when the quota is first used. */
const COUNT_NOW: Record<Counted, (database: Database) => Promise<number>> = {
  documentsBytes: async (database) => {
    let total = 0;
    for (const name of await database.listCollections()) {
      if (!name.startsWith("_") && name !== "users") total += await bytesOf(database.collection(name));
    }
    return total;
  },
  users: (database) => database.collection("users").count({}),
};

/**
 * The project's counter document for the database it writes to: a project's own database has its
 * own, so an instance that has not seen a move yet (its key cache) counts, reserves and releases
 * against the old database's counter, never the new one's.
 */
const counterId = (project: ResolvedProject) =>
  project.databaseUri ? `${project.id}:${sha256Hex(project.databaseUri)}` : project.id;

/** Creates the project's `name` counter from what its database holds now (first use of the quota). */
async function ensureCounter(deps: QuotaDeps, project: ResolvedProject, name: Counted): Promise<void> {
  const counters = deps.store.platform().collection(COUNTERS);
  const _id = counterId(project);
  if ((await counters.findOne({ _id }))?.[name] !== undefined) return;
  const total = await COUNT_NOW[name](deps.collections.database(project));
  await counters.insertOne({ _id, projectId: project.id, [name]: total }).catch(async (error) => {
    if (!(error instanceof DuplicateKeyError)) throw error;
    // The document is there: made for the other counter, or by a concurrent first use of this one.
    await counters.updateOne({ _id, [name]: { $exists: false } }, { $set: { [name]: total } });
  });
}

/** Reserves `amount` of the project's `name` quota (403 QUOTA_EXCEEDED when it would be passed); returns the release. */
async function reserve(
  deps: QuotaDeps,
  project: ResolvedProject,
  name: Counted,
  amount: number,
  refusal: string,
): Promise<() => Promise<void>> {
  const quota = quotaOf(project, name);
  if (quota === undefined) return async () => {};
  const counters = deps.store.platform().collection(COUNTERS);
  const _id = counterId(project);
  // A counter dropped between its count and the reservation (a failed release elsewhere) is counted
  // afresh and tried again: only a counter that is there refuses.
  for (let attempt = 0; attempt < 3; attempt++) {
    await ensureCounter(deps, project, name);
    const reserved = await counters.updateOne({ _id, [name]: { $lte: quota - amount } }, { $inc: { [name]: amount } });
    if (reserved) return () => release(deps, project, name, amount);
    if ((await counters.findOne({ _id }))?.[name] !== undefined) throw new ApiError("QUOTA_EXCEEDED", refusal);
  }
  throw new StoreUnavailableError(`The project's ${name} counter kept being dropped`);
}

/**
 * Gives back `amount` of the project's `name` quota (when it has that quota). A counter not made yet
 * is left alone: it will count what is there when it is.
 */
async function release(deps: QuotaDeps, project: ResolvedProject, name: Counted, amount: number): Promise<void> {
  if (quotaOf(project, name) === undefined) return;
  const counters = deps.store.platform().collection(COUNTERS);
  const _id = counterId(project);
  try {
    await counters.updateOne({ _id, [name]: { $exists: true } }, { $inc: { [name]: -amount } });
  } catch (error) {
    // What it accounts for is done (a delete committed) or undone (a write that failed): that stays
    // the answer. The counter now counts too much; dropped, its next use counts what is stored.
    deps.log.warn("quota release failed; the counter is recounted at its next use", { quota: name, error });
    // When the platform database refuses this too, the counter stays too high (it refuses early, never
    // late) until it is counted afresh: a change of settings.quotas does that.
    await counters.updateOne({ _id }, { $unset: { [name]: "" } }).catch(() => undefined);
  }
}

/** Reserves `bytes` of the documents quota (403 QUOTA_EXCEEDED when it would be passed); returns the release. */
export const reserveDocumentBytes = (deps: QuotaDeps, project: ResolvedProject, bytes: number) =>
  reserve(deps, project, "documentsBytes", bytes, "The project's document storage quota is used up");

/** Gives back bytes of deleted or shrunk documents (when the project has a documents quota). */
export const releaseDocumentBytes = (deps: QuotaDeps, project: ResolvedProject, bytes: number) =>
  release(deps, project, "documentsBytes", bytes);

/** Reserves a new end user of the `users` quota (403 QUOTA_EXCEEDED when it is used up); returns the release. */
export const reserveUser = (deps: QuotaDeps, project: ResolvedProject) =>
  reserve(deps, project, "users", 1, "The project's user quota is used up");

/** Gives back a deleted end user's place (when the project has a users quota). */
export const releaseUser = (deps: QuotaDeps, project: ResolvedProject) => release(deps, project, "users", 1);

/**
 * What the project's quotas count now: the counters where kept (they may count too much, never too
 * little: what the quota enforces); without one, the users there are (null while the project's own
 * database cannot be read), and document bytes unknown (null: measured only under a quota).
 */
export async function quotaUsage(
  deps: Pick<Deps, "store" | "collections">,
  project: ResolvedProject,
): Promise<Record<Counted, number | null>> {
  const counter = await deps.store
    .platform()
    .collection(COUNTERS)
    .findOne({ _id: counterId(project) });
  const kept = (name: Counted) => (typeof counter?.[name] === "number" ? (counter[name] as number) : undefined);
  return {
    documentsBytes: kept("documentsBytes") ?? null,
    users: kept("users") ?? (await COUNT_NOW.users(deps.collections.database(project)).catch(() => null)),
  };
}

/**
 * Drops the project's counters, so each one's next use counts what the project then holds: after the
 * quotas were set or changed (no counter is kept while its quota is not set), after the project moved
 * to another database, and when the project goes.
 */
export async function recountQuotas(deps: Pick<Deps, "store">, projectId: string): Promise<void> {
  // Counters made before they were per database have no projectId.
  await deps.store
    .platform()
    .collection(COUNTERS)
    .deleteMany({ $or: [{ _id: projectId }, { projectId }] });
}

/**
 * Drops every project's counters, storage bytes included, so each is recounted at its next use: at
 * the local server's start after a crash, which kept the reservations of writes it never made.
 */
export async function recountAllQuotas(deps: Pick<Deps, "store">): Promise<void> {
  await deps.store.platform().collection(COUNTERS).deleteMany({});
  await storageCounters(deps).deleteMany({});
}

/**
 * What a collection about to be dropped (its writes stopped) counts for in the project's documents
 * counter, to give back once it is gone: 0 while no counter is kept, as its first use counts what is
 * stored then. (Dropping the counter instead let its recount miss the writes under way elsewhere.)
 */
export async function countedCollectionBytes(
  deps: QuotaDeps,
  project: ResolvedProject,
  collection: Collection,
): Promise<number> {
  if (!countsDocumentBytes(project)) return 0;
  const counter = await deps.store
    .platform()
    .collection(COUNTERS)
    .findOne({ _id: counterId(project) });
  return counter?.documentsBytes === undefined ? 0 : bytesOf(collection);
}
