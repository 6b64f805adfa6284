import { ApiError } from "./errors";
import { isPlainObject } from "./sanitize";

/** Stages an aggregation may use (API.md §5): no joins, no writes, no JavaScript. */
const ALLOWED_STAGES = new Set([
  "$match",
  "$group",
  "$sort",
  "$limit",
  "$skip",
  "$project",
  "$count",
  "$unwind",
  "$addFields",
]);

/** Operators refused at any depth: server-side JavaScript, cross-collection reads, writes. */
const FORBIDDEN_OPERATORS = new Set([
  "$function",
  "$accumulator",
  "$where",
  "$lookup",
  "$graphLookup",
  "$unionWith",
  "$out",
  "$merge",
  "$documents",
  "$collStats",
  "$indexStats",
  "$currentOp",
  "$listSessions",
]);
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export const MAX_STAGES = 20;
/** Every aggregation's output is cut at this many items. */
export const MAX_AGGREGATE_ITEMS = 1000;
/** And its run is bounded in time where the store can interrupt it. */
export const AGGREGATE_TIME_MS = 5000;

const invalid = (message: string) => new ApiError("INVALID_QUERY", message);

/** Walks every key and string of a stage: forbidden operators and, for pk, references to private fields. */
function vetValue(value: unknown, privatePaths: readonly string[], depth: number): void {
  if (depth > 12) throw invalid("Pipeline is nested too deeply");
  if (typeof value === "string") {
    const path = value.startsWith("$") && !value.startsWith("$$") ? value.slice(1) : undefined;
    if (path && privatePaths.some((p) => path === p || path.startsWith(`${p}.`) || p.startsWith(`${path}.`))) {
      throw invalid(`Field "${path}" is private`);
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) vetValue(item, privatePaths, depth + 1);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (PROTOTYPE_KEYS.has(key) || key.includes("\0")) throw invalid(`Invalid key "${key}"`);
    if (FORBIDDEN_OPERATORS.has(key)) throw invalid(`Operator ${key} is not allowed`);
    if (!key.startsWith("$") && privatePaths.some((p) => key === p || key.startsWith(`${p}.`))) {
      throw invalid(`Field "${key}" is private`);
    }
    vetValue(child, privatePaths, depth + 1);
  }
}

/**
 * Checks a pipeline (allowed stages, no forbidden operators, `$match` filters through `vetFilter`,
 * no private-field references for pk) and returns it bounded: the caller's read filter as a
 * leading `$match` and a final `$limit`.
 */
export function vetPipeline(
  pipeline: unknown,
  options: {
    readFilter: Record<string, unknown>;
    privatePaths: readonly string[];
    vetFilter: (filter: unknown) => Record<string, unknown>;
  },
): Array<Record<string, unknown>> {
  if (!Array.isArray(pipeline) || pipeline.length === 0 || pipeline.length > MAX_STAGES) {
    throw invalid(`pipeline must be an array of 1 to ${MAX_STAGES} stages`);
  }
  const stages = pipeline.map((stage, index) => {
    if (!isPlainObject(stage) || Object.keys(stage).length !== 1)
      throw invalid(`Stage ${index} must have exactly one operator`);
    const [name] = Object.keys(stage) as [string];
    if (!ALLOWED_STAGES.has(name)) throw invalid(`Stage ${name} is not allowed`);
    vetValue(stage[name], options.privatePaths, 0);
    return name === "$match" ? { $match: options.vetFilter(stage[name]) } : stage;
  });
  const read = Object.keys(options.readFilter).length > 0 ? [{ $match: options.readFilter }] : [];
  return [...read, ...stages, { $limit: MAX_AGGREGATE_ITEMS }];
}
