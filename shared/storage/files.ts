import type { Deps } from "../deps.js";
import type { Doc, DocumentStore } from "../store/types.js";
import { stagingKey } from "./paths.js";
import type { BlobStore } from "./types.js";

/** A stored file's record (platform database): who owns it and what it holds. */
export interface FileDoc extends Doc {
  projectId: string;
  /** The end user who uploaded it; null for secret-key uploads. */
  ownerId: string | null;
  size: number;
  contentType: string;
  /**
   * `pending` until the bytes are known to be there (direct uploads), then `ready`. `deleted`: a
   * tombstone, invisible to clients, of a deleted file; it holds the reservation until its bytes are
   * gone (the DELETE removes it then, or the sweep once due, if the DELETE was cut short) and, while
   * its bucket upload URL still works, until then, for bytes that URL may still store (see presignedUntil).
   */
  status: "pending" | "ready" | "deleted";
  createdAt: string;
  /** The generation of the project's byte counter its reservation went to (see quota.ts), if it had one. */
  reservedIn?: string;
  /**
   * When the record is due (ISO 8601): its upload URL stops working then. A pending file is settled
   * (released with its reserved bytes if they are not there); a tombstone's bytes are deleted, then its
   * reservation released; a ready file with a bucket URL has its staging object deleted, then this
   * field. Removed when a file without one is ready.
   */
  expiresAt?: string;
  /**
   * Until this instant (ISO 8601) the file's presigned bucket URL (S3) can store bytes at its staging
   * key (stagingKey) without the storage function seeing them; a DELETE before then leaves a tombstone.
   * Absent for the fs/memory stores, whose upload PUT passes through the storage function.
   */
  presignedUntil?: string;
  /**
   * A PUT to the storage function's own upload URL is writing the bytes (fs/memory): no other may until
   * this instant (ISO 8601), when a claim left by a PUT whose process died lapses.
   */
  uploading?: string;
  /**
   * A look is copying the file's staged bytes to its path and checking them (S3): no other look may
   * copy until this instant (ISO 8601), when a lock left by a look that died lapses.
   */
  settlingUntil?: string;
  /**
   * A sweep could not do this due record's work (the bucket refused it; see releaseExpired): sweeps
   * pass over it until this instant (ISO 8601), so records that keep failing do not hold back the others.
   */
  sweepAfter?: string;
}

type FileDeps = Pick<Deps, "store" | "clock">;

/** The file records of every project (platform database). */
export const fileRecords = (deps: Pick<Deps, "store">) => deps.store.platform().collection("files");

/** Each project's count of reserved bytes, one document per project (see quota.ts). */
export const storageCounters = (deps: Pick<Deps, "store">) => deps.store.platform().collection("storage_usage");

/**
 * Stores whose expiry index (the one the sweep walks; only records with something left to do when
 * their URL expires carry `expiresAt`) exists. Only success is remembered, as setupOnce does: never a
 * pending promise another request could wait on forever (Workers).
 */
const expiryIndexed = new WeakSet<DocumentStore>();

/** Up to `limit` of a project's records that are due by now (see expiresAt), oldest first. */
export async function dueFiles(deps: FileDeps, projectId: string, limit: number): Promise<FileDoc[]> {
  if (!expiryIndexed.has(deps.store)) {
    await fileRecords(deps).createIndex(["expiresAt"]);
    expiryIndexed.add(deps.store);
  }
  const now = new Date(deps.clock.now()).toISOString();
  const lapsed = (field: keyof FileDoc) => ({ $or: [{ [field]: { $exists: false } }, { [field]: { $lte: now } }] });
  // A record a look holds (or kept after a copy it gave up on), or a PUT still sends the bytes of
  // (fs/memory), waits for the lock or lease to lapse; one a sweep failed on, for its turn to come again.
  const found = await fileRecords(deps).find(
    {
      expiresAt: { $lte: now },
      projectId,
      $and: [lapsed("settlingUntil"), lapsed("uploading"), lapsed("sweepAfter")],
    },
    { sort: { expiresAt: 1 }, limit },
  );
  return found as FileDoc[];
}

/** Deletes a file's bytes: at its path, and at its staging key where a bucket URL could write there. */
export async function deleteBlobs(blobs: BlobStore, file: FileDoc): Promise<void> {
  await Promise.all([blobs.delete(file._id), file.presignedUntil ? blobs.delete(stagingKey(file._id)) : undefined]);
}

/**
 * Deletes every file of a project, pending ones too: the bytes, then the record, 100 at a time, then
 * the project's byte counter. Run while the project is retired and before its record goes, so a
 * failure can be retried (see ProjectService.remove).
 */
export async function removeProjectFiles(deps: FileDeps, blobs: BlobStore, projectId: string): Promise<void> {
  await fileRecords(deps).createIndex(["projectId"]); // each batch is found without a scan of every file
  for (;;) {
    const batch = await fileRecords(deps).find({ projectId }, { limit: 100 });
    if (batch.length === 0) break;
    await Promise.all(
      batch.map(async (file) => {
        await deleteBlobs(blobs, file as FileDoc);
        await fileRecords(deps).deleteOne({ _id: file._id });
      }),
    );
  }
  await storageCounters(deps).deleteOne({ _id: projectId });
}
