/**
 * Runs an aggregation's stages over the documents it starts from, within its time and size limits
 * (mingo-context.ts), as the embedded store does in a worker thread (aggregate-worker.ts) or, where
 * there is none, in the caller's thread.
 */
import { ProcessingMode } from "mingo";
import { Aggregator } from "mingo/aggregator";
import { arrayBytesWithin } from "../../json-bytes.js";
import { MINGO_CONTEXT, withinBudget } from "./mingo-context.js";

export interface PipelineJob {
  stages: Array<Record<string, unknown>>;
  source: Array<Record<string, unknown>>;
  maxTimeMs?: number;
  maxBytes?: number;
}

export function runPipeline({ stages, source, maxTimeMs, maxBytes }: PipelineJob): Array<Record<string, unknown>> {
  // Stored documents are frozen; mingo works on copies so stages like $addFields can write.
  const aggregator = new Aggregator(stages, { processingMode: ProcessingMode.CLONE_INPUT, context: MINGO_CONTEXT });
  return withinBudget(maxTimeMs, () => {
    const count = maxBytes === undefined ? undefined : arrayBytesWithin(maxBytes);
    const items: Array<Record<string, unknown>> = [];
    for (const item of aggregator.stream(source)) {
      count?.(item);
      items.push(item as Record<string, unknown>);
    }
    return items;
  });
}
