/**
 * A project's stored bytes: one counter per project (storageCounters), with or without a quota, so a
 * quota set later starts from the truth. Bytes are reserved before they are written and given back
 * after the record holding them is removed, or when the write they were for failed.
 *
 * Giving back is bookkeeping after the fact and never becomes a request's answer: when the counter
 * cannot be updated, the failure is logged and the counter dropped. A missing counter is counted
 * afresh at its next reservation, from the sizes of the project's file records (pending, ready and
 * tombstones alike: each holds its bytes from its reservation until the release after its removal).
 * Each count is a generation of the counter (`gen`), so that a recount may count too much (the quota
 * refuses early), never too little (it would refuse late):
 * - a release gives back to the generation it read before its record was removed: a recount after
 *   the removal did not count the record, and is left as it is;
 * - a reservation made before a recount, whose record is written after it, may be missing from it:
 *   once the record is written, its bytes are added to a generation other than the reservation's
 *   (reservationRecorded), counted twice when that count saw the record already.
 *   One whose record is written while the records are read, and that checks before the new count is
 *   stored (finding none), is in the recount's second read (countAfresh).
 * A recount therefore counts too much by the records removed after it counted them whose release read
 * the generation before it (given back to a generation that is gone), and by the uploads under way
 * across it whose record it saw, until the counter is next dropped. It counts too little only when
 * an upload's platform database fails (or its process dies) between writing its record and checking
 * the counter, while that counter was counted afresh.
 */
import type { Deps } from "../deps.js";
import { ApiError } from "../errors.js";
import { newId } from "../ids.js";
import { type Doc, DuplicateKeyError, StoreUnavailableError } from "../store/types.js";
import { fileRecords, storageCounters } from "./files.js";

type QuotaDeps = Pick<Deps, "store" | "clock" | "log">;

/** One generation of a project's counter: the one a reservation went to, or a release gives back to. */
export interface Counted {
  projectId: string;
  /** Absent on counters made before generations were. */
  gen: string | undefined;
}

/** The filter of one generation of the project's counter. */
const generation = ({ projectId, gen }: Counted) => ({ _id: projectId, gen: gen ?? { $exists: false } });

const countedOf = (doc: Doc): Counted => ({ projectId: doc._id, gen: doc.gen as string | undefined });

/**
 * The sum of the sizes of the project's file records (rare: a counter's first use, or after a drop).
 * Read here rather than aggregated: the embedded store runs aggregations one at a time in a worker.
 */
async function storedBytes(deps: QuotaDeps, projectId: string, except?: string): Promise<number> {
  await fileRecords(deps).createIndex(["projectId"]); // found without a scan of every project's files
  const filter = except ? { projectId, reservedIn: { $ne: except } } : { projectId };
  const records = await fileRecords(deps).find(filter, { projection: { size: 1 } });
  return records.reduce((sum, record) => sum + (record.size as number), 0);
}

/** The project's stored bytes as its quota counts them: the counter, else its file records' sizes. */
export async function storageBytesUsed(deps: QuotaDeps, projectId: string): Promise<number> {
  const counter = await storageCounters(deps).findOne({ _id: projectId });
  return typeof counter?.bytes === "number" ? counter.bytes : storedBytes(deps, projectId);
}

/**
 * Makes the project's counter from its file records (unless a concurrent reservation made it first).
 * An upload whose record was written after the records were read, and that found no counter to add
 * its bytes to (see reservationRecorded), is in a second read: what it adds is added (records
 * removed meanwhile are not taken off: too much, never too little). That read leaves out the records
 * of reservations made in the new count (`reservedIn`), which hold their bytes there already.
 */
async function countAfresh(deps: QuotaDeps, projectId: string): Promise<void> {
  const counters = storageCounters(deps);
  const bytes = await storedBytes(deps, projectId);
  const gen = newId(deps.clock.now());
  try {
    await counters.insertOne({ _id: projectId, bytes, gen });
  } catch (error) {
    if (error instanceof DuplicateKeyError) return; // counted by a concurrent reservation
    throw error;
  }
  // Records whose bytes were reserved in this count are in it already.
  const added = (await storedBytes(deps, projectId, gen)) - bytes;
  if (added > 0) await counters.updateOne({ _id: projectId, gen }, { $inc: { bytes: added } });
}

/**
 * Reserves `size` bytes of the project's storage before the bytes are written: atomically refused
 * (403 QUOTA_EXCEEDED) when the quota would be passed. Returns the generation that holds them; once
 * the record holding them is written, call reservationRecorded.
 */
export async function reserveBytes(
  deps: QuotaDeps,
  projectId: string,
  size: number,
  quota: number | undefined,
): Promise<Counted> {
  const counters = storageCounters(deps);
  const condition = quota === undefined ? {} : { bytes: { $lte: quota - size } };
  // A counter dropped between the look and the reservation (a failed release elsewhere, a change of
  // settings.storage) is counted afresh and tried again: only a counter that is there refuses.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!(await counters.findOne({ _id: projectId }))) await countAfresh(deps, projectId);
    const reserved = await counters.updateOne({ _id: projectId, ...condition }, { $inc: { bytes: size } });
    if (reserved) return countedOf(reserved);
    if (await counters.findOne({ _id: projectId })) {
      throw new ApiError("QUOTA_EXCEEDED", "The project's storage quota is used up");
    }
  }
  throw new StoreUnavailableError("The project's storage counter kept being dropped");
}

/**
 * The record holding a reservation of `size` bytes is written: a counter counted afresh since the
 * reservation may have counted without it, so the bytes are added to it (twice counted when it saw
 * the record: too much, never too little; dropping it instead made every upload under way across a
 * recount start another).
 */
export async function reservationRecorded(deps: QuotaDeps, reservation: Counted, size: number): Promise<void> {
  try {
    const now = await storageCounters(deps).findOne({ _id: reservation.projectId });
    if (now && now.gen !== reservation.gen) {
      await storageCounters(deps).updateOne(generation(countedOf(now)), { $inc: { bytes: size } });
    }
  } catch (error) {
    await dropCounter(deps, reservation.projectId, "storage: could not check the counter after a recount", error);
  }
}

/**
 * Gives `size` bytes back to the generation `counted` (see Counted): never throws. When the counter
 * cannot be updated, the failure is logged and the counter dropped, so its next use counts afresh;
 * when that fails too, the counter counts too much (refuses early) until it is next dropped.
 */
export async function releaseBytes(deps: QuotaDeps, counted: Counted, size: number): Promise<void> {
  try {
    await storageCounters(deps).updateOne(generation(counted), { $inc: { bytes: -size } });
  } catch (error) {
    await dropCounter(deps, counted.projectId, "storage: release failed; the counter is counted afresh", error);
  }
}

/**
 * Removes a record holding reserved bytes and gives them back: `remove` is an atomic removal (null
 * when the record was no longer there as asked), so of concurrent callers only the one that removed
 * it gives back. Returns the removed record.
 */
export async function removeAndRelease(
  deps: QuotaDeps,
  projectId: string,
  remove: () => Promise<Doc | null>,
): Promise<Doc | null> {
  const counter = await storageCounters(deps).findOne({ _id: projectId }); // before the removal: see Counted
  const removed = await remove();
  if (removed && counter) await releaseBytes(deps, countedOf(counter), removed.size as number);
  return removed;
}

/** Logs why the project's counter is dropped, and drops it: its next use counts what is recorded. */
async function dropCounter(deps: QuotaDeps, projectId: string, message: string, error: unknown): Promise<void> {
  deps.log.warn(message, { projectId, error: String(error) });
  await forgetStorageCounter(deps, projectId).catch(() => undefined);
}

/** Drops the project's counter: its next use counts afresh what the project's file records hold. */
export async function forgetStorageCounter(deps: Pick<Deps, "store">, projectId: string): Promise<void> {
  await storageCounters(deps).deleteOne({ _id: projectId });
}
