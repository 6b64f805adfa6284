/**
 * The settle lock of a direct upload whose bucket URL stores at its staging key (S3): of looks at the
 * file together, one copies the staged bytes to the file's path and checks them there, so no copy
 * lands after another look checked the bytes and marked the file ready.
 */

import { retryPause } from "../../shared/retry-pause.js";
import { fileRecords } from "../../shared/storage/files.js";
import type { StorageRuntime } from "./context.js";

/**
 * How long a look may hold the lock: well past the S3 calls it makes meanwhile (a copy, a HEAD and a
 * GET, each bounded), so a lock lapses only for a look that died.
 */
const SETTLE_LOCK_MS = 2 * 60 * 1000;
/** How many times a look tries a lock another look holds (~30 ms apart) before it reports the file as it stands. */
const SETTLE_LOCK_TRIES = 20;

/** The filter a look holding the lock writes the file's record under. */
export type SettleLock = { settlingUntil: string };

/**
 * Takes a pending file's settle lock (a conditional update, so it holds across instances). Waits a
 * little while another look holds it (done in milliseconds, as a rule); null when it still does, or
 * once the file is no longer pending.
 */
export async function lockSettle(rt: StorageRuntime, path: string): Promise<SettleLock | null> {
  const files = fileRecords(rt.deps);
  for (let attempt = 0; attempt < SETTLE_LOCK_TRIES; attempt++) {
    const now = rt.deps.clock.now();
    const lock = { settlingUntil: new Date(now + SETTLE_LOCK_MS).toISOString() };
    const free = [{ settlingUntil: { $exists: false } }, { settlingUntil: { $lte: new Date(now).toISOString() } }];
    if (await files.updateOne({ _id: path, status: "pending", $or: free }, { $set: lock })) return lock;
    if (!(await files.findOne({ _id: path, status: "pending" }))) return null;
    await retryPause();
  }
  return null;
}

/** Lets go of a lock this look holds, if the file still has it (marking it ready lets go too). */
export async function unlockSettle(rt: StorageRuntime, path: string, lock: SettleLock): Promise<void> {
  await fileRecords(rt.deps).updateOne({ _id: path, ...lock }, { $unset: { settlingUntil: "" } });
}
