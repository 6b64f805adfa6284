/**
 * Aggregations run in a worker thread. mingo evaluates some expressions without a look at the clock
 * or a size check (the elements a `$map` or `$zip` builds from variables and array literals), so a
 * short pipeline could hold the process for seconds or fill its heap: in a worker its deadline is
 * kept by terminating the thread, its heap is bounded, and the process with every other request goes
 * on. One worker runs one aggregation at a time; up to MAX_WAITING others wait their turn (their
 * time limit runs while they wait; more are refused as unavailable, 503). Where there are no worker threads (a Cloudflare Worker's in-memory preview store opens
 * the store with `aggregateInWorker: false`), the pipeline runs in the caller's thread, within the
 * limits mingo-context.ts keeps.
 */
import type { Worker } from "node:worker_threads";
import { type Doc, documentJson, QueryTimeoutError, ResultTooLargeError, StoreUnavailableError } from "../types.js";
import type { WorkerMessage } from "./aggregate-worker.js";
import { AggregateLimitError } from "./mingo-context.js";
import type { PipelineJob } from "./pipeline.js";

/** The worker's heap: room for the documents an aggregation starts from and what it builds. */
const HEAP_MB = 1024;
/** How long past its own time limit (which the worker keeps where it can) a job may run before the thread is ended. */
const GRACE_MS = 1000;

type Items = Array<Record<string, unknown>>;
type Answer = { items: Items; error?: undefined } | { error: { name: string; message: string } };

/** About how many characters of documents are copied to the worker per turn of the event loop. */
const SLICE_CHARS = 1024 * 1024;

/** Most aggregations waiting for the worker at once. */
const MAX_WAITING = 8;

let worker: Worker | undefined;
let queue: Promise<unknown> = Promise.resolve();
let waiting = 0;

/** Runs the aggregation `prepare` makes (on this thread) when its turn comes, in the worker. */
export async function runIsolated(prepare: () => PipelineJob): Promise<Items> {
  const threads = await import("node:worker_threads");
  if (waiting >= MAX_WAITING) throw new StoreUnavailableError("Too many aggregations at once; try again shortly");
  waiting++;
  const run = queue.then(() => {
    waiting--;
    const job = prepare();
    worker ??= new threads.Worker(new URL("./aggregate-worker.mjs", import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
    });
    return inWorker(worker, job);
  });
  queue = run.catch(() => undefined);
  return run;
}

function inWorker(thread: Worker, job: PipelineJob): Promise<Items> {
  return new Promise((resolve, reject) => {
    let ended = false;
    const finish = () => {
      ended = true;
      clearTimeout(deadline);
      thread.off("message", answered).off("error", failed).off("exit", exited);
      thread.unref(); // an idle worker never keeps the process up
    };
    const end = (error: Error) => {
      finish();
      worker = undefined;
      void thread.terminate();
      reject(error);
    };
    const answered = (answer: Answer) => {
      finish();
      if (answer.error) reject(rebuilt(answer.error, job));
      else resolve(answer.items);
    };
    // Running out of heap is the pipeline's doing (400); a worker that fails otherwise is the server's (503).
    const failed = (error: Error & { code?: string }) =>
      end(
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new AggregateLimitError("The aggregation ran out of memory")
          : new StoreUnavailableError("The aggregation worker failed", { cause: error }),
      );
    const exited = () => end(new StoreUnavailableError("The aggregation worker stopped"));
    const deadline =
      job.maxTimeMs === undefined
        ? undefined
        : setTimeout(() => end(new QueryTimeoutError(job.maxTimeMs)), job.maxTimeMs + GRACE_MS);
    thread.on("message", answered).on("error", failed).on("exit", exited).ref();
    void (async () => {
      try {
        for (const documents of slices(job.source)) {
          thread.postMessage({ documents } satisfies WorkerMessage);
          await new Promise((next) => setImmediate(next)); // other requests get their turn
          if (ended) return;
        }
        const { source: _, ...rest } = job;
        thread.postMessage({ job: rest } satisfies WorkerMessage);
      } catch (error) {
        // A value that cannot be copied: the worker holds this job's documents, so it goes too.
        if (!ended) end(error as Error);
      }
    })();
  });
}

/**
 * The documents as their JSON texts (which copy to a thread far faster than the objects they stand
 * for), in slices of about SLICE_CHARS characters: each is copied in its own turn of the event loop,
 * so an aggregation over a large collection never holds the other requests for long.
 */
function* slices(docs: Doc[]): Generator<string[]> {
  let slice: string[] = [];
  let chars = 0;
  for (const doc of docs) {
    const text = documentJson(doc);
    slice.push(text);
    chars += text.length;
    if (chars >= SLICE_CHARS) {
      yield slice;
      slice = [];
      chars = 0;
    }
  }
  if (slice.length > 0) yield slice;
}

/** The worker's error as the store's own kind (the data API tells a result too large from the rest). */
function rebuilt({ name, message }: { name: string; message: string }, job: PipelineJob): Error {
  if (name === "QueryTimeoutError") return new QueryTimeoutError(job.maxTimeMs);
  if (name === "ResultTooLargeError") return new ResultTooLargeError(job.maxBytes ?? 0);
  if (name === "AggregateLimitError") return new AggregateLimitError(message);
  return new Error(message);
}
