/**
 * Runs an aggregation's stages over the documents it starts from, within its time and size limits
 * (mingo-context.ts), as the embedded store does in a worker thread (aggregate-worker.ts) or, where
 * there is none, in the caller's thread.
 */
import { ProcessingMode } from "mingo";
import { Aggregator } from "mingo/aggregator";
import { arrayBytesWithin } from "../../json-bytes.js";
import type { Doc } from "../types.js";
import { withinBudget } from "./budget.js";
import { excludePaths } from "./exclude.js";
import { MINGO_CONTEXT } from "./mingo-context.js";

export interface PipelineJob {
  stages: Array<Record<string, unknown>>;
  /** The documents the pipeline starts from. */
  source: Doc[];
  /** Paths a leading exclusion `$project` removes (exclude.ts), the pipeline's first step. */
  excluded?: string[];
  maxTimeMs?: number;
  maxBytes?: number;
}

/** Runs a job. `copied`: its documents are the pipeline's own copies (parsed in a worker), not stored ones. */
export function runPipeline(
  { stages, source, excluded = [], maxTimeMs, maxBytes }: PipelineJob,
  { copied = false } = {},
): Array<Record<string, unknown>> {
  return withinBudget(maxTimeMs, () => {
    const docs = excluded.length > 0 ? excludePaths(source, excluded) : source;
    // Stored documents are frozen: mingo works on copies of them.
    const processingMode = copied ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT;
    const aggregator = new Aggregator(stages, { processingMode, context: MINGO_CONTEXT });
    const count = maxBytes === undefined ? undefined : arrayBytesWithin(maxBytes);
    const items: Array<Record<string, unknown>> = [];
    for (const item of aggregator.stream(docs)) {
      count?.(item);
      items.push(item as Record<string, unknown>);
    }
    return items;
  });
}
