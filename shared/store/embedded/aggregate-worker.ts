/** The worker thread the embedded store runs aggregations in (isolated-pipeline.ts): one job at a time. */
import { parentPort } from "node:worker_threads";
import { type PipelineJob, runPipeline } from "./pipeline.js";

parentPort?.on("message", (job: PipelineJob) => {
  try {
    parentPort?.postMessage({ items: runPipeline(job) });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    parentPort?.postMessage({ error: { name, message } });
  }
});
