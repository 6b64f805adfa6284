/**
 * The embedded store's aggregation worker, when the worker itself fails: that is the server's fault
 * (StoreUnavailableError, a 503), not the caller's pipeline's (a 400); the next aggregation gets a new worker.
 */
import { EventEmitter } from "node:events";
import { afterEach, expect, it, vi } from "vitest";
import { StoreUnavailableError } from "../../shared/store/types.js";

const started: FakeWorker[] = [];
class FakeWorker extends EventEmitter {
  constructor() {
    super();
    started.push(this);
  }
  postMessage() {
    setImmediate(() => this.emit(started.length === 1 ? "error" : "exit", new Error("cannot load the module")));
  }
  ref() {}
  unref() {}
  terminate() {
    return Promise.resolve(1);
  }
}
vi.mock("node:worker_threads", () => ({ Worker: FakeWorker }));
afterEach(() => vi.restoreAllMocks());

it("a worker that fails or stops is StoreUnavailableError; the next job starts a new worker", async () => {
  const { runIsolated } = await import("../../shared/store/embedded/isolated-pipeline.js");
  const job = () => ({ stages: [{ $count: "n" }], source: [{ _id: "a" }], maxTimeMs: 5000 });
  await expect(runIsolated(job)).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(runIsolated(job)).rejects.toBeInstanceOf(StoreUnavailableError);
  expect(started).toHaveLength(2);
});
