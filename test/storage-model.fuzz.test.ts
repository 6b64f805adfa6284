/**
 * Model-based (stateful) fuzzing of the storage API (fast-check commands, bounded runs): random
 * sequences of requests run against a real storage app over the embedded store, with the memory or the
 * fs blob store, and against a plain model of the files (test/storage-model/); every answer must be
 * the model's, and after every step so must the stored state: file records, both projects' byte
 * counters (exact), the bytes stored at each path, the files on disk.
 *
 * The model covers multipart uploads; direct uploads (upload-url and upload-request, the signed PUT,
 * upload-confirm), PUTs of the wrong size or type and to used, deleted or expired URLs, and PUTs of
 * bytes that contradict the type (stored, pending, for a confirm or read to refuse);
 * reads (GET, HEAD, ranges; private files through the signed URL, public ones streamed); deletes; the
 * clock passing URL expiry; the project turning public or private; fs folders that collide with
 * stored or pending files; the quota and the usage's storageBytes; as the secret key, two end users, a
 * guest, a bad token, no key, and another project's keys. On disk the store is also restarted, and
 * closed under running requests. Now and then the platform store refuses a release of bytes: the
 * answer must not change, and the counter is counted afresh from the records (shared/storage/quota.ts).
 *
 * Operations sent together are judged as linearizable: their answers and the state they leave must be
 * those of some serial order of them. Only what a race itself makes possible is accepted beyond that
 * (docs/choices.md, Storage):
 * - a 403 QUOTA_EXCEEDED that wrote nothing though the order judged had room: another write's
 *   reservation, given back since, filled the quota for a moment;
 * - of two PUTs to one URL in flight together, one is 403 "This upload URL was used already", even
 *   when the other is then refused for its size and lets go of the URL;
 * - a confirm or read that found a file before another operation of the group removed it answers as
 *   it found it (refused bytes: 415, each look that found them; a private read's signed URL, followed
 *   after the removal, is a 404);
 * - where a release failed among them, the counter may count more than the records (a recount counted
 *   a file whose DELETE had read the counter before it, so that DELETE gives nothing back), never
 *   less: the model takes the surplus, and the quota refuses early until the counter is counted afresh.
 * After a close mid-flight no answer may be a 500, and the state read back must be one the cut
 * operations explain (test/storage-model/concurrent.ts, resync): a pending file may be ready with its
 * PUT's bytes; a PUT's claim may survive (its URL then refuses every PUT until it expires); a counter
 * may count more than the records, only where a release failed and was logged; bytes written before
 * their record may stay without one (never served, never counted); a ready record whose bytes a cut
 * DELETE removed is deleted again. The usage the closed instance buffered is lost (no longer checked).
 *
 * STORAGE_MODEL_MUTANT=nodelete or rangeoff runs a mutant of the blob store (harness.ts): the fuzz must
 * then fail, which shows its checks bite.
 */
import { describe, it } from "vitest";
import { runAgainstModel } from "./model/run.js";
import { commandsArb, type RunOptions } from "./storage-model/commands.js";
import { closeReal, openReal } from "./storage-model/harness.js";
import { Model } from "./storage-model/model.js";
import { checkState, checkUsage } from "./storage-model/state.js";

const MAX_COMMANDS = 40;

function modelRuns(options: RunOptions, numRuns: number) {
  const limits = { fs: options.onDisk, quota: options.quota, max: options.maxFileSize ?? 48 };
  return runAgainstModel(commandsArb(options, MAX_COMMANDS), numRuns, {
    open: () => openReal(options),
    model: (real) =>
      new Model({ P: real.P.id, Q: real.Q.id, uid: real.uid }, limits, real.clock.now(), options.public === true),
    check: async (model, real) => {
      await checkState(model, real, "the run");
      await checkUsage(model, real);
    },
    close: closeReal,
  });
}

// Runs are few (the file takes about 10 s); a failure's shrinking may take far longer than a run.
// With a fix reverted, runs of the file failed: c96aa68 (a failed release answered 503: 3 in 3; a
// dropped counter started from 0: 3 in 3), 4e56bf4 (fs folder collisions: 3 in 3), a9f67a5 (DELETE of
// an expired upload: 5 in 5). The races that fix's generations and reservationRecorded guard against
// take interleavings the groups do not reach: test/storage-quota-release.test.ts makes them.
describe("storage API against a model", { timeout: 120_000 }, () => {
  it("memory store, private, no quota", () => modelRuns({ onDisk: false }, 15));
  it("memory store, public, small quota", () => modelRuns({ onDisk: false, public: true, quota: 120 }, 20));
  it("fs store, private, small quota, restarts", () => modelRuns({ onDisk: true, quota: 100 }, 12));
  it("concurrent groups, memory store, quota", () => modelRuns({ onDisk: false, quota: 90, concurrent: true }, 25));
  it("fs store: folder/file name collisions", () => modelRuns({ onDisk: true, folders: true }, 15));
  it("concurrent groups and closes mid-flight, fs store, quota", () =>
    modelRuns({ onDisk: true, quota: 100, concurrent: true }, 15));
});
