/** The worker thread the embedded store runs aggregations in (isolated-pipeline.ts): one job at a time. */
import { parentPort } from "node:worker_threads";
import type { Doc } from "../types.js";
import { type PipelineJob, runPipeline } from "./pipeline.js";

/** A job reaches the worker as slices of its documents' JSON texts (parsed as they come), then the job itself. */
export type WorkerMessage = { documents: string[] } | { job: Omit<PipelineJob, "source"> };

let documents: Doc[] = [];
parentPort?.on("message", (incoming: WorkerMessage) => {
  if ("documents" in incoming) {
    for (const text of incoming.documents) documents.push(JSON.parse(text) as Doc);
    return;
  }
  const source = documents;
  documents = [];
  try {
    parentPort?.postMessage({ items: runPipeline({ ...incoming.job, source }, { copied: true }) });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    parentPort?.postMessage({ error: { name, message } });
  }
});
