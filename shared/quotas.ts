import type { Deps } from "./deps.js";
import { ApiError } from "./errors.js";
import type { ResolvedProject } from "./principal.js";
import { DuplicateKeyError } from "./store/types.js";

/**
 * Project quotas (settings.quotas, API.md §8): `documentsBytes` (the JSON size of the project's
 * documents) and `users`. Storage bytes are the storage function's own (settings.storage.quotaBytes).
 * Document bytes are reserved atomically before an insert, and before a PUT or PATCH for the growth
 * (new size minus old, per attempt on the version read), and released when the write fails or loses
 * its race; a delete gives back the document's bytes and a shrinking update the difference.
 * The `users` collection (end users' accounts and profiles) is not counted.
 */
const COUNTERS = "quota_usage";

type QuotaDeps = Pick<Deps, "store" | "collections">;

const quotaOf = (project: ResolvedProject, name: "documentsBytes" | "users") => {
  const value = (project.settings.quotas as Record<string, unknown> | undefined)?.[name];
  return typeof value === "number" && value > 0 ? value : undefined;
};

/** Whether the project counts its document bytes (it has a `documentsBytes` quota). */
const countsDocumentBytes = (project: ResolvedProject) => quotaOf(project, "documentsBytes") !== undefined;

/** `"_id":"<24 hex>",` — what the store adds to a document inserted without an id. */
const ID_BYTES = 33;

/** The JSON size of a document as stored (with its `_id`), as counted against `documentsBytes`. */
export const documentBytes = (doc: Record<string, unknown>) =>
  new TextEncoder().encode(JSON.stringify(doc)).length + (doc._id === undefined ? ID_BYTES : 0);

/** The JSON size of documents as the project's quota counts them: 0 (not measured) without a quota. */
export const countedBytes = (project: ResolvedProject, docs: Array<Record<string, unknown>>) =>
  countsDocumentBytes(project) ? docs.reduce((n, doc) => n + documentBytes(doc), 0) : 0;

/** Creates the project's byte counter from what its database holds now (first use of the quota). */
async function ensureCounter(deps: QuotaDeps, project: ResolvedProject): Promise<void> {
  const counters = deps.store.platform().collection(COUNTERS);
  if (await counters.findOne({ _id: project.id })) return;
  const database = deps.collections.database(project);
  let total = 0;
  for (const name of await database.listCollections()) {
    if (name.startsWith("_") || name === "users") continue;
    for (const doc of await database.collection(name).find({})) total += documentBytes(doc);
  }
  await counters.insertOne({ _id: project.id, documentsBytes: total }).catch((error) => {
    if (!(error instanceof DuplicateKeyError)) throw error;
  });
}

/** Reserves `bytes` of the documents quota (403 QUOTA_EXCEEDED when it would be passed); returns the release. */
export async function reserveDocumentBytes(
  deps: QuotaDeps,
  project: ResolvedProject,
  bytes: number,
): Promise<() => Promise<void>> {
  const quota = quotaOf(project, "documentsBytes");
  if (quota === undefined) return async () => {};
  await ensureCounter(deps, project);
  const counters = deps.store.platform().collection(COUNTERS);
  const reserved = await counters.updateOne(
    { _id: project.id, documentsBytes: { $lte: quota - bytes } },
    { $inc: { documentsBytes: bytes } },
  );
  if (!reserved) throw new ApiError("QUOTA_EXCEEDED", "The project's document storage quota is used up");
  return async () => {
    await counters.updateOne({ _id: project.id }, { $inc: { documentsBytes: -bytes } });
  };
}

/**
 * Drops the project's byte counter, so its next use counts what the project then holds: after a
 * collection is dropped, after the quota was set or changed (the counter was not kept while no
 * quota was set), and when the project goes.
 */
export async function recountDocumentBytes(deps: Pick<Deps, "store">, projectId: string): Promise<void> {
  await deps.store.platform().collection(COUNTERS).deleteOne({ _id: projectId });
}

/** Gives back bytes of deleted or shrunk documents (when the project has a documents quota). */
export async function releaseDocumentBytes(deps: QuotaDeps, project: ResolvedProject, bytes: number): Promise<void> {
  if (!countsDocumentBytes(project)) return;
  await deps.store
    .platform()
    .collection(COUNTERS)
    .updateOne({ _id: project.id }, { $inc: { documentsBytes: -bytes } });
}

/** Refuses a new end user when the project has as many as its `users` quota allows. */
export async function assertUserQuota(deps: QuotaDeps, project: ResolvedProject): Promise<void> {
  const quota = quotaOf(project, "users");
  if (quota === undefined) return;
  const users = await deps.collections.database(project).collection("users").count({});
  if (users >= quota) throw new ApiError("QUOTA_EXCEEDED", "The project's user quota is used up");
}
