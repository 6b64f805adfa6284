/**
 * Direct uploads between their URL and their bytes (API.md §7). A pending file holds its reserved
 * bytes until its upload URL expires; so does a tombstone, the record of a deleted file, until its
 * bytes are gone and no bucket URL can store more unseen. A bucket URL stores at the file's staging
 * key, copied to the file's path when it is settled. Nothing runs in the background (functions are
 * serverless), so a pending file is settled whenever it is looked at, and a project's due records
 * (see expiresAt) whenever its quota is checked. Every release follows an atomic removal of the
 * record: released once, at most.
 */
import { ApiError } from "../../shared/errors.js";
import type { ResolvedProject } from "../../shared/principal.js";
import { deleteBlobs, dueFiles, type FileDoc, fileRecords } from "../../shared/storage/files.js";
import { stagingKey } from "../../shared/storage/paths.js";
import { assertMagicBytes, SIGNATURE_BYTES } from "../../shared/storage/policy.js";
import { type Counted, removeAndRelease, reserveBytes } from "../../shared/storage/quota.js";
import { BlobStoreUnavailableError } from "../../shared/storage/types.js";
import type { Doc, Filter } from "../../shared/store/types.js";
import { firstBytes } from "./body.js";
import type { StorageRuntime } from "./context.js";
import { lockSettle, type SettleLock, unlockSettle } from "./settle-lock.js";

/** How long a direct-upload URL stays valid, in seconds. */
export const UPLOAD_URL_TTL = 15 * 60;
/** How many due records one quota check settles at most. */
export const SWEEP_LIMIT = 25;
/** How long sweeps pass over a due record one of them failed on (see releaseExpired). */
const SWEEP_RETRY_MS = 10 * 60 * 1000;

/** The upload lease of an fs/memory PUT (`uploading`): the PUT that holds it settles its file itself. */
type Claim = { uploading: string };

/** When an upload URL signed to expire at `exp` (epoch seconds, still valid during that second) stops working. */
export const uploadExpiry = (exp: number) => new Date((exp + 1) * 1000).toISOString();

/**
 * The instant (epoch ms) a pending file without its bytes is released: when its upload URL stops
 * working (from `createdAt` for records older than `expiresAt`), or when the lease of a PUT begun
 * before then and still sending lapses (`uploading`), so that PUT can still store the file.
 */
const expiryOf = (file: FileDoc) =>
  Math.max(
    Date.parse(file.expiresAt ?? uploadExpiry(Math.floor(Date.parse(file.createdAt) / 1000) + UPLOAD_URL_TTL)),
    file.uploading ? Date.parse(file.uploading) : 0,
  );

/**
 * Until when bytes may still reach a file's keys unseen, if that is still to come: its bucket URL
 * (presignedUntil), and a copy a look gave up on but S3 may still make (a settle lock kept after it).
 */
function unseenWritesUntil(rt: StorageRuntime, file: FileDoc): string | undefined {
  const now = rt.deps.clock.now();
  const ends = [file.presignedUntil, file.settlingUntil].filter((end) => end !== undefined && Date.parse(end) > now);
  return ends.sort().at(-1);
}

/**
 * Matches a record no PUT holds a live claim on, or the one whose claim `hold` is. A look (read,
 * confirm, sweep) never settles a file a PUT holds a live claim on, nor removes it for its bytes (or
 * their absence): that PUT may write other bytes over the ones seen, and settles the file itself.
 */
function unclaimedOr(rt: StorageRuntime, hold: Partial<Claim>): Filter {
  if (hold.uploading) return { uploading: hold.uploading };
  const now = new Date(rt.deps.clock.now()).toISOString();
  return { $or: [{ uploading: { $exists: false } }, { uploading: { $lte: now } }] };
}

/**
 * Removes a pending file (refused, or never uploaded): atomically, so of concurrent callers one wins.
 * While bytes may still reach it unseen (unseenWritesUntil) its record becomes a tombstone holding
 * the reservation, whose sweep deletes them; otherwise the record goes and its bytes are released.
 * Its bytes in the store go at once. False when it was no longer pending, or did not meet `only`: a
 * look that judged its bytes (or their absence) passes unclaimedOr, a confirm of the wrong size, which
 * judges no bytes, removes it as a DELETE would.
 */
export async function discardPending(rt: StorageRuntime, file: FileDoc, only: Filter = {}): Promise<boolean> {
  const files = fileRecords(rt.deps);
  const discardable = { _id: file._id, status: "pending", ...only };
  const until = unseenWritesUntil(rt, file);
  if (until) {
    const buried = await files.updateOne(discardable, { $set: { status: "deleted", expiresAt: until } });
    if (!buried) return false;
  } else {
    const remove = () => files.deleteOne(discardable);
    if (!(await removeAndRelease(rt.deps, file.projectId, remove))) return false;
  }
  await deleteBlobs(rt.blobs, file);
  return true;
}

/**
 * Why stored bytes cannot be the announced file (direct uploads bypass the upload route's checks): a
 * size mismatch (400) or a signature contradicting the declared type (415); null when they can. A
 * failing store throws instead (the file is kept for a later look).
 */
async function storedRefusal(rt: StorageRuntime, file: FileDoc, size: number): Promise<ApiError | null> {
  if (size !== file.size) {
    return new ApiError("VALIDATION_FAILED", undefined, { details: [{ path: "filePath", message: "size mismatch" }] });
  }
  const stored = await rt.blobs.get(file._id, { offset: 0, length: SIGNATURE_BYTES });
  if (!stored) return null;
  const head = await firstBytes(stored.body, SIGNATURE_BYTES);
  try {
    assertMagicBytes(file.contentType, head);
    return null;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

/**
 * A file's record as it stands once its bytes are accounted for. A pending file whose bytes are in the
 * store with the announced size and a matching signature becomes ready, even after its URL expired (the
 * upload completed while the URL was valid: an S3 PUT is refused after expiry, the storage function's
 * own PUT settles before it answers). Bytes of the wrong size or type remove the file (400/415). A pending
 * file without bytes stays pending while its URL is valid and is released after: null. Null also when
 * the file was removed meanwhile. A file a live PUT's claim keeps stays pending (unclaimedOr).
 *
 * A bucket URL (S3) stores at the file's staging key: its bytes become the file's by a server-side copy,
 * checked at the file's path and made by one look at a time, so what the URL stores once the file was
 * checked is never served. A copy made by a look that ended before the file was ready stays at the path
 * for the next look to check, with the staging object or without it. `claim` is the lease of the
 * fs/memory PUT that settles its own file (see markReady).
 */
export async function settle(rt: StorageRuntime, file: FileDoc, claim: Partial<Claim> = {}): Promise<FileDoc | null> {
  if (file.status !== "pending") return file.status === "ready" ? file : null;
  if (!file.presignedUntil) return settleStored(rt, file, claim);
  const lock = await lockSettle(rt, file._id);
  if (!lock) return visible(await fileRecords(rt.deps).findOne({ _id: file._id }));
  // A copy that failed or timed out may still land (S3 does not stop a copy its caller gave up on):
  // the lock is then kept until it lapses, so no other look checks bytes that copy could replace.
  await rt.blobs.copy(stagingKey(file._id), file._id);
  try {
    const settled = await settleStored(rt, file, lock);
    // The sweep deletes it too once the URL has expired (expiresAt is kept), so a failure here can wait.
    if (settled?.status === "ready") {
      await rt.blobs.delete(stagingKey(file._id)).catch((error: unknown) => {
        rt.deps.log.warn("storage: could not delete a staging object", { path: file._id, error: String(error) });
      });
    }
    return settled;
  } finally {
    await unlockSettle(rt, file._id, lock);
  }
}

/**
 * A file as a DELETE finds it; null when there is none to delete. A pending file whose URL has
 * expired is settled first, as a read would settle it: gone when its bytes never came or were
 * refused (removed with their record). Other files are deleted as they are: settling them could only
 * make them ready, after waiting on another look's settle lock or the bucket.
 */
export async function settleForDelete(rt: StorageRuntime, file: FileDoc): Promise<FileDoc | null> {
  if (file.status === "deleted") return null;
  if (file.status === "ready" || rt.deps.clock.now() < expiryOf(file)) return file;
  return settle(rt, file).catch((error: unknown) => {
    if (error instanceof ApiError) return null; // refused bytes (400/415): the file went with them
    throw error;
  });
}

/** Settles a pending file from the bytes at its path; `lock` is the settle lock or PUT claim it holds, if any. */
async function settleStored(rt: StorageRuntime, file: FileDoc, lock: Hold): Promise<FileDoc | null> {
  const stored = await rt.blobs.head(file._id);
  if (stored) {
    const refused = await storedRefusal(rt, file, stored.size);
    if (!refused) return markReady(rt, file, lock);
    if (await discardPending(rt, file, unclaimedOr(rt, lock))) throw refused;
    // Removed meanwhile (by another look that refused the bytes too, or by a DELETE): gone, as a look
    // after that removal finds it. Kept by a live PUT's claim (or settled by it): the file as it is now,
    // as markReady answers.
    return deleteIfGone(rt, file._id);
  }
  if (rt.deps.clock.now() < expiryOf(file)) return file;
  // A PUT begun before the URL expired may have claimed it since it was read: pending until that PUT settles it.
  return (await discardPending(rt, file, unclaimedOr(rt, lock))) ? null : deleteIfGone(rt, file._id);
}

/** What a look or PUT that marks a file ready holds: a settle lock (S3), the PUT's claim (fs/memory), or nothing. */
type Hold = Partial<SettleLock & Claim>;

/**
 * Marks a pending file ready, its bytes being stored and checked; `lock` is the settle lock or PUT
 * claim it holds, if any. Otherwise (removed or settled meanwhile, or claimed by a live PUT) the file
 * as it is now, as deleteIfGone finds it.
 */
export async function markReady(rt: StorageRuntime, file: FileDoc, lock: Hold = {}): Promise<FileDoc | null> {
  // Not a file a live PUT's claim keeps (unclaimedOr): a ready file's bytes never change.
  // A file with a bucket URL stays due: its staging object is deleted once the URL has expired.
  const ready = await fileRecords(rt.deps).updateOne(
    { _id: file._id, status: "pending", ...lock, ...unclaimedOr(rt, lock) },
    {
      $set: { status: "ready" },
      $unset: { uploading: "", settlingUntil: "", ...(file.presignedUntil ? {} : { expiresAt: "" }) },
    },
  );
  if (!ready) return deleteIfGone(rt, file._id);
  rt.deps.usage.count(file.projectId, "storageBytes", file.size);
  return ready as FileDoc;
}

/**
 * The file's record as it is now; its bytes deleted if it was deleted meanwhile: nothing else would
 * remove bytes a copy put at its path after the deletion did.
 */
export async function deleteIfGone(rt: StorageRuntime, path: string): Promise<FileDoc | null> {
  const now = visible(await fileRecords(rt.deps).findOne({ _id: path }));
  if (!now) await rt.blobs.delete(path);
  return now;
}

/** A record as a look reports it: null for a tombstone, which is no file. */
const visible = (file: Doc | null) => (file && file.status !== "deleted" ? (file as FileDoc) : null);

/**
 * Deletes a file the caller may delete. Its record becomes a tombstone first, holding the reservation,
 * then its bytes go, then the tombstone and the reservation: a process that dies, or a store that
 * fails, before that is done leaves a due tombstone for the sweep to finish, never a file whose bytes
 * are missing nor bytes that nothing removes. While bytes may still reach the file unseen (its bucket
 * URL still works, or a copy a look gave up on may still land: unseenWritesUntil) the tombstone stays
 * until they no longer can, so those bytes are counted until the sweep deletes them.
 */
export async function deleteFile(rt: StorageRuntime, file: FileDoc): Promise<void> {
  const { deps } = rt;
  const until = unseenWritesUntil(rt, file);
  const buried = (await fileRecords(deps).updateOne(
    { _id: file._id, status: file.status },
    { $set: { status: "deleted", expiresAt: until ?? new Date(deps.clock.now()).toISOString() } },
  )) as FileDoc | null;
  if (!buried) {
    // Settled (pending → ready) meanwhile: delete it as it is now.
    const now = (await fileRecords(deps).findOne({ _id: file._id })) as FileDoc | null;
    if (now && now.status !== "deleted") await deleteFile(rt, now);
    return;
  }
  if (file.status === "ready") deps.usage.count(file.projectId, "storageBytes", -file.size);
  // A pending file's bytes may be arriving now: removed after its record is a tombstone, so a late
  // fs/memory PUT either lands before this (and goes) or finds no pending record (and removes its own
  // bytes), and a copy a look is making finds the file deleted (and removes what it copied). A ready
  // file's bytes go at once either way: a bucket's download URL handed out before still works.
  if (until) await deleteBlobs(rt.blobs, buried);
  else await bury(rt, buried);
}

/** Ends a due tombstone: the bytes its URL may have stored, then its record, then its reservation. */
async function bury(rt: StorageRuntime, file: FileDoc): Promise<void> {
  await deleteBlobs(rt.blobs, file);
  await removeAndRelease(rt.deps, file.projectId, () =>
    fileRecords(rt.deps).deleteOne({ _id: file._id, status: "deleted" }),
  );
}

/**
 * Ends the staging key of a ready file whose upload URL has expired: deletes what the URL stored
 * there after the file was checked, then the record's due time.
 */
async function endStaging(rt: StorageRuntime, file: FileDoc): Promise<void> {
  await rt.blobs.delete(stagingKey(file._id));
  await fileRecords(rt.deps).updateOne({ _id: file._id, status: "ready" }, { $unset: { expiresAt: "" } });
}

/** What the sweep does with a due record, by its status. */
const DUE_ACTIONS = { pending: settle, deleted: bury, ready: endStaging } as const;

/**
 * Settles a project's pending files whose URL has expired, giving back the bytes of those never
 * uploaded, ends its due tombstones, and deletes the staging objects of its ready files whose URL has
 * expired. An unavailable blob store stops the sweep at once (the request answers 503) rather than
 * waiting on it once per file. A record whose work fails otherwise (the bucket refusing it: a 403,
 * credentials missing a permission) is logged and passed over for SWEEP_RETRY_MS, so the next sweeps
 * reach the others; it keeps its reservation until a sweep can do its work.
 */
async function releaseExpired(rt: StorageRuntime, projectId: string): Promise<void> {
  for (const file of await dueFiles(rt.deps, projectId, SWEEP_LIMIT)) {
    try {
      await DUE_ACTIONS[file.status](rt, file);
    } catch (error) {
      if (error instanceof BlobStoreUnavailableError) throw error;
      // Bytes of the wrong size or type were removed with their record, as the action meant.
      if (!(error instanceof ApiError)) await passOver(rt, file, error);
    }
  }
}

/** Logs why a sweep could not do a due record's work, and leaves it to the sweeps after SWEEP_RETRY_MS. */
async function passOver(rt: StorageRuntime, file: FileDoc, error: unknown): Promise<void> {
  const sweepAfter = new Date(rt.deps.clock.now() + SWEEP_RETRY_MS).toISOString();
  rt.deps.log.warn("storage: could not settle an expired upload", {
    path: file._id,
    status: file.status,
    error: String(error),
    sweepAfter,
  });
  await fileRecords(rt.deps).updateOne({ _id: file._id }, { $set: { sweepAfter } });
}

/**
 * Reserves bytes of the project's quota (403 QUOTA_EXCEEDED), after releasing its expired reservations;
 * returns the counter's generation that holds them (see shared/storage/quota.ts).
 */
export async function reserve(
  rt: StorageRuntime,
  project: ResolvedProject,
  size: number,
  quota: number | undefined,
): Promise<Counted> {
  await releaseExpired(rt, project.id);
  return reserveBytes(rt.deps, project.id, size, quota);
}
