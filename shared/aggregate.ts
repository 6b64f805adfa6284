import { ApiError } from "./errors.js";
import { regexProblem } from "./query/regex.js";
import { isPlainObject } from "./sanitize.js";
import type { CollectionDef } from "./schema/definition.js";

/** Stages an aggregation may use (API.md §5): no joins, no writes, no JavaScript. */
export const ALLOWED_STAGES: ReadonlySet<string> = new Set([
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
  // Builds arrays of any size from two numbers: memory is not bounded by the input.
  "$range",
]);
/** Expression operators that run a regular expression: the pattern must be a literal that passes the ReDoS checks. */
const REGEX_EXPRESSIONS = new Set(["$regexMatch", "$regexFind", "$regexFindAll"]);
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** Whether a key or path names a prototype at any segment (`y.constructor.prototype.0` writes into Array.prototype). */
const namesPrototype = (path: string) => path.split(".").some((segment) => PROTOTYPE_KEYS.has(segment));
/**
 * System variables a pipeline may read. The others describe the server, not the data (`$$USER_ROLES`,
 * `$$CLUSTER_TIME`, ...); user variables (`$let`, `$map`, ...) start with a lowercase letter.
 */
const SYSTEM_VARIABLES = new Set(["ROOT", "CURRENT", "REMOVE", "NOW"]);

/**
 * Whether publishable keys may aggregate a collection: its definition's `aggregate.publishable` when
 * set, else the project setting `data.publishableAggregate` (`projectAllows`, default false).
 */
export const publishableAggregates = (def: Pick<CollectionDef, "aggregate">, projectAllows: boolean): boolean =>
  def.aggregate ? def.aggregate.publishable : projectAllows;

export const MAX_STAGES = 20;
/** Every aggregation's output is cut at this many items. */
export const MAX_AGGREGATE_ITEMS = 1000;
/**
 * Largest answer of an aggregate, in bytes of its items' JSON: MongoDB's limit for one document
 * (16 MiB), which is what an aggregate answered in one piece was bounded by before cursors. The
 * 1000-item cap alone lets `$push: "$$ROOT"` and `$unwind` make each item a copy of the collection.
 */
export const MAX_AGGREGATE_BYTES = 16 * 1024 * 1024;
/** And its run is bounded in time where the store can interrupt it. */
export const AGGREGATE_TIME_MS = 5000;

const invalid = (message: string) => new ApiError("INVALID_QUERY", message);

function vetRegexExpression(operator: string, arg: unknown): void {
  const regex = isPlainObject(arg) ? arg.regex : undefined;
  const options = isPlainObject(arg) && typeof arg.options === "string" ? arg.options : "";
  // A string starting with "$" is a field path or variable, i.e. a pattern taken from the data.
  if (typeof regex !== "string" || regex.startsWith("$")) throw invalid(`${operator} needs a literal string regex`);
  if (isPlainObject(arg) && arg.options !== undefined && typeof arg.options !== "string") {
    throw invalid(`${operator} needs literal string options`);
  }
  const problem = regexProblem(regex, options);
  if (problem) throw invalid(`${operator}: ${problem}`);
}

/** Whether the caller may not use a path: as a value (`"$a.b"`, compared) or as a key (`select`, written). */
type Restricted = (path: string, use: "filter" | "select") => boolean;

/** Walks every key and string of a stage: forbidden operators and, for pk, references to private fields. */
function vetValue(value: unknown, restricted: Restricted, depth: number): void {
  if (depth > 12) throw invalid("Pipeline is nested too deeply");
  if (typeof value === "string") {
    const variable = value.startsWith("$$") ? (value.slice(2).split(".")[0] ?? "") : undefined;
    const isUserVariable = variable !== undefined && (/^[a-z]/.test(variable) || variable.charCodeAt(0) > 0x7f);
    if (variable !== undefined && !isUserVariable && !SYSTEM_VARIABLES.has(variable)) {
      throw invalid(`Variable $$${variable} is not allowed`);
    }
    const path = value.startsWith("$") && variable === undefined ? value.slice(1) : undefined;
    if (value.startsWith("$") && namesPrototype(value)) throw invalid(`Invalid path "${value}"`);
    if (path && restricted(path, "filter")) throw invalid(`Field "${path}" is private`);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) vetValue(item, restricted, depth + 1);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (namesPrototype(key) || key.includes("\0")) throw invalid(`Invalid key "${key}"`);
    if (FORBIDDEN_OPERATORS.has(key)) throw invalid(`Operator ${key} is not allowed`);
    if (REGEX_EXPRESSIONS.has(key)) vetRegexExpression(key, child);
    if (!key.startsWith("$") && restricted(key, "select")) throw invalid(`Field "${key}" is private`);
    vetValue(child, restricted, depth + 1);
  }
}

const isCount = (n: unknown, min: number) => typeof n === "number" && Number.isSafeInteger(n) && n >= min;
const isFieldRef = (v: unknown) => typeof v === "string" && /^\$[^$]/.test(v);
const isOutputName = (v: unknown) => typeof v === "string" && v.length > 0 && !v.startsWith("$") && !v.includes(".");

/** Why a stage's argument has the wrong shape for its stage, or undefined when it fits. */
function stageProblem(name: string, arg: unknown): string | undefined {
  switch (name) {
    case "$limit":
      return isCount(arg, 1) ? undefined : "$limit needs a positive integer";
    case "$skip":
      return isCount(arg, 0) ? undefined : "$skip needs a non-negative integer";
    case "$count":
      return isOutputName(arg) ? undefined : "$count needs a field name (no $, no dots)";
    case "$sort":
      return isPlainObject(arg) && Object.keys(arg).length > 0 && Object.values(arg).every((d) => d === 1 || d === -1)
        ? undefined
        : "$sort needs an object of fields with 1 or -1";
    case "$unwind": {
      if (isFieldRef(arg)) return undefined;
      const ok =
        isPlainObject(arg) &&
        isFieldRef(arg.path) &&
        Object.keys(arg).every((k) => ["path", "includeArrayIndex", "preserveNullAndEmptyArrays"].includes(k)) &&
        (arg.includeArrayIndex === undefined || isOutputName(arg.includeArrayIndex)) &&
        (arg.preserveNullAndEmptyArrays === undefined || typeof arg.preserveNullAndEmptyArrays === "boolean");
      return ok
        ? undefined
        : '$unwind needs a field path ("$tags") or {path, includeArrayIndex?, preserveNullAndEmptyArrays?}';
    }
    case "$group":
      return isPlainObject(arg) && Object.hasOwn(arg, "_id") ? undefined : "$group needs an object with _id";
    default:
      return isPlainObject(arg) && Object.keys(arg).length > 0 ? undefined : `${name} needs a non-empty object`;
  }
}

/** Stages that pass the documents on with the collection's fields as they are (filtered, ordered, cut). */
const KEEPS_SHAPE = new Set(["$match", "$sort", "$skip", "$limit"]);

/** The paths not under another path of the list (an exclusion projection may not name both `a` and `a.b`). */
function outermost(paths: readonly string[]): string[] {
  return paths.filter((path) => !paths.some((other) => path.startsWith(`${other}.`)));
}

/**
 * Checks a pipeline (allowed stages, no forbidden operators, `$match` filters through `vetFilter`,
 * told whether an earlier stage may have reshaped the documents, no private-field references for
 * pk) and returns it bounded: the caller's read filter as a
 * leading `$match`, then (pk) an exclusion `$project` of the private fields, and a final `$limit`.
 */
export function vetPipeline(
  pipeline: unknown,
  options: {
    readFilter: Record<string, unknown>;
    /** The private fields' paths (for pk), removed before the caller's stages run. */
    privatePaths: readonly string[];
    /** Whether the caller may not name a path (pk and private fields; see restrictedFor). */
    restricted: Restricted;
    /** `reshaped`: a stage before this `$match` may have changed what names mean (`$group`, `$project`, ...). */
    vetFilter: (filter: unknown, reshaped: boolean) => Record<string, unknown>;
  },
): Array<Record<string, unknown>> {
  if (!Array.isArray(pipeline) || pipeline.length === 0 || pipeline.length > MAX_STAGES) {
    throw invalid(`pipeline must be an array of 1 to ${MAX_STAGES} stages`);
  }
  let reshaped = false;
  const stages = pipeline.map((stage, index) => {
    if (!isPlainObject(stage) || Object.keys(stage).length !== 1)
      throw invalid(`Stage ${index} must have exactly one operator`);
    const [name] = Object.keys(stage) as [string];
    if (!ALLOWED_STAGES.has(name)) throw invalid(`Stage ${name} is not allowed`);
    const problem = name === "$match" ? undefined : stageProblem(name, stage[name]);
    if (problem) throw invalid(`Stage ${index}: ${problem}`);
    vetValue(stage[name], options.restricted, 0);
    if (name !== "$match") {
      reshaped ||= !KEEPS_SHAPE.has(name);
      return stage;
    }
    return { $match: options.vetFilter(stage[name], reshaped) };
  });
  const read = Object.keys(options.readFilter).length > 0 ? [{ $match: options.readFilter }] : [];
  const hidden = outermost(options.privatePaths);
  // Private fields leave the documents before any caller stage runs ($$ROOT, $getField, ... see nothing).
  const hide = hidden.length > 0 ? [{ $project: Object.fromEntries(hidden.map((path) => [path, 0])) }] : [];
  return [...read, ...hide, ...stages, { $limit: MAX_AGGREGATE_ITEMS }];
}
