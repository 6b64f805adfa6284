/**
 * The embedded store's aggregation worker, seen from the process that sends it jobs: how the documents
 * get there, and what a worker that fails means (the server's fault, StoreUnavailableError, a 503; not
 * the caller's pipeline's, a 400; the next aggregation gets a new worker).
 */
import { EventEmitter } from "node:events";
import { afterEach, expect, it, vi } from "vitest";
import type { WorkerMessage } from "../../shared/store/embedded/aggregate-worker.js";
import { StoreUnavailableError } from "../../shared/store/types.js";

const started: FakeWorker[] = [];
/** What a fake worker does with each message it is sent. */
let reply: (worker: FakeWorker, message: WorkerMessage) => void = () => undefined;
class FakeWorker extends EventEmitter {
  constructor() {
    super();
    started.push(this);
  }
  postMessage(message: WorkerMessage) {
    reply(this, message);
  }
  ref() {}
  unref() {}
  terminated = false;
  terminate() {
    this.terminated = true;
    return Promise.resolve(1);
  }
}
vi.mock("node:worker_threads", () => ({ Worker: FakeWorker }));
afterEach(() => vi.restoreAllMocks());

it("a worker that fails or stops is StoreUnavailableError; the next job starts a new worker", async () => {
  reply = (worker) =>
    setImmediate(() => worker.emit(started.length === 1 ? "error" : "exit", new Error("cannot load the module")));
  const { runIsolated } = await import("../../shared/store/embedded/isolated-pipeline.js");
  const job = () => ({ stages: [{ $count: "n" }], source: [{ _id: "a" }], maxTimeMs: 5000 });
  await expect(runIsolated(job)).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(runIsolated(job)).rejects.toBeInstanceOf(StoreUnavailableError);
  expect(started).toHaveLength(2);
});

it("the documents go as their JSON texts, about 1 MiB per turn of the event loop, then the job", async () => {
  const sent: Array<{ message: WorkerMessage; turn: number }> = [];
  let turn = 0;
  let turning = true;
  const turns = () => {
    turn++;
    if (turning) setImmediate(turns);
  };
  turns();
  reply = (worker, message) => {
    sent.push({ message, turn });
    if ("job" in message) setImmediate(() => worker.emit("message", { items: [{ n: 1 }] }));
  };
  const { runIsolated } = await import("../../shared/store/embedded/isolated-pipeline.js");
  const source = Array.from({ length: 40 }, (_, i) => ({
    _id: String(i).padStart(24, "0"),
    text: "x".repeat(100_000),
  }));
  const items = await runIsolated(() => ({ stages: [{ $count: "n" }], source, maxTimeMs: 5000 }));
  turning = false;

  expect(items).toEqual([{ n: 1 }]);
  const slices = sent.slice(0, -1).map(({ message }) => ("documents" in message ? message.documents : []));
  expect(slices.length).toBeGreaterThanOrEqual(4);
  for (const slice of slices) expect(slice.join("").length).toBeLessThan(1024 * 1024 + 100_100);
  expect(slices.flat()).toEqual(source.map((doc) => JSON.stringify(doc)));
  for (let i = 1; i < sent.length; i++) expect(sent[i]!.turn).toBeGreaterThan(sent[i - 1]!.turn);
  expect(sent.at(-1)?.message).toEqual({ job: { stages: [{ $count: "n" }], maxTimeMs: 5000 } });
});

it("a job that cannot be sent whole ends its worker, which holds its documents; the next job starts a new one", async () => {
  reply = (worker, message) => {
    if (!("job" in message)) return;
    if (message.job.stages.length > 1) throw new DOMException("could not be cloned", "DataCloneError");
    setImmediate(() => worker.emit("message", { items: [] }));
  };
  const { runIsolated } = await import("../../shared/store/embedded/isolated-pipeline.js");
  const secret = [{ _id: "a", ssn: "123-45-6789" }];
  const unsendable = runIsolated(() => ({ stages: [{ $count: "n" }, { $limit: 1 }], source: secret, maxTimeMs: 5000 }));
  await expect(unsendable).rejects.toThrow("could not be cloned");
  const ended = started.at(-1);
  expect(ended?.terminated).toBe(true);
  await runIsolated(() => ({ stages: [{ $count: "n" }], source: [], maxTimeMs: 5000 }));
  expect(started.at(-1)).not.toBe(ended);
});
