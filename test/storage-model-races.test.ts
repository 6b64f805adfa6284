/**
 * Interleavings the storage model fuzz (test/storage-model.fuzz.test.ts) reaches only over a store
 * with latency, forced here with store hooks and judged by the same model: the answers and the state
 * must be those of some serial order, or of a documented exception.
 */
import { afterEach, expect, it, vi } from "vitest";
import { aroundPlatform, deferred } from "./helpers.js";
import { doConcurrent } from "./storage-model/concurrent.js";
import { closeReal, openReal, type Real } from "./storage-model/harness.js";
import { Model } from "./storage-model/model.js";
import { type Abstract, doSerial } from "./storage-model/ops.js";

let r: Real | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  if (r) await closeReal(r);
  r = undefined;
});

/** A pending direct upload whose bytes contradict its type (left for a look to refuse), in model and store. */
async function refusedPending() {
  const real = await openReal({ onDisk: false, quota: 90 });
  r = real;
  const m = new Model(
    { P: real.P.id, Q: real.Q.id, uid: real.uid },
    { fs: false, quota: 90, max: 48 },
    real.clock.now(),
    false,
  );
  const presign: Abstract = {
    kind: "presign",
    route: "upload-url",
    caller: "sk",
    content: { kind: "fakepng", size: 8, seed: 0, name: "p.png" },
    folder: "none",
  };
  await doSerial(m, real, presign);
  await doSerial(m, real, { kind: "put", pick: 0, variant: "good" }); // 200, pending: not a PNG
  // Both looks find the file pending: the first one's removal of it waits until the second's has run.
  const second = deferred();
  let removals = 0;
  aroundPlatform(real.deps, async ({ collection, method, args }, run) => {
    const pending =
      collection === "files" && method === "deleteOne" && (args[0] as { status?: string }).status === "pending";
    if (!pending) return run();
    const n = ++removals;
    if (n === 1) await second.promise;
    const out = await run();
    if (n === 2) second.resolve();
    return out;
  });
  return { real, m };
}

/** Runs the group and expects every look to have answered 415, as docs/choices.md says (soak9). */
async function allRefused(m: Model, real: Real, group: Abstract[]) {
  await doConcurrent(m, real, group);
  for (const line of real.trace.slice(-group.length)) expect(line).toMatch(/-> 415 .*UNSUPPORTED_MEDIA_TYPE/);
}

it("two reads that both found refused bytes both answer 415: the model accepts it (documented; soak9)", async () => {
  const { real, m } = await refusedPending();
  await allRefused(m, real, [
    { kind: "read", caller: "sk", pick: 0, method: "GET", range: {} },
    { kind: "read", caller: "B", pick: 0, method: "GET", range: {} },
  ]);
});

it("a read and a confirm that both found refused bytes both answer 415: the model accepts it (documented; soak9)", async () => {
  const { real, m } = await refusedPending();
  await allRefused(m, real, [
    { kind: "read", caller: "sk", pick: 0, method: "GET", range: {} },
    { kind: "confirm", caller: "sk", pick: 0, size: "right" },
  ]);
});
