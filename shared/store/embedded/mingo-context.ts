/**
 * The operators the embedded store runs mingo with: mingo's own, with three kinds of replacements.
 * - Regular expressions match in linear time (see shared/linear-regexp.ts): the query operator
 *   `$regex` and the expressions `$regexMatch`, `$regexFind`, `$regexFindAll`. mingo's own build a
 *   JS RegExp, which backtracks: one crafted pattern could hold the process for minutes.
 * - `$sort` orders arrays as MongoDB does, as a list's sort does (sort-documents.ts).
 * - A query or an aggregation runs within a budget (budget.ts): every document a stage passes on,
 *   every expression evaluated, every query condition tested and every value a sort prepares or
 *   compares counts toward a look at the clock, and every regex match is charged its work before
 *   it starts, so no find, count, sort or pipeline outlives its time limit (a single `$reduce` or
 *   one long match included). An expression whose value passes MongoDB's 16 MiB (a string, or an
 *   array of 2 Mi elements) stops the pipeline. Some work runs between two expressions (the
 *   elements `$map` or `$zip` build from variables and literals): the embedded store bounds that
 *   by running aggregations in a worker (isolated-pipeline.ts).
 */
import { Context, evalExpr } from "mingo/core";
import { type Iterator, Lazy } from "mingo/lazy";
import * as accumulator from "mingo/operators/accumulator";
import * as expression from "mingo/operators/expression";
import * as pipeline from "mingo/operators/pipeline";
import * as projection from "mingo/operators/projection";
import * as query from "mingo/operators/query";
import * as window from "mingo/operators/window";
import type { Options } from "mingo/types";
import { isObject } from "mingo/util";
import { linearRegExp } from "../../linear-regexp.js";
import type { Sort } from "../types.js";
import { countDocument, step } from "./budget.js";
import { sortDocuments } from "./sort-documents.js";

interface Found {
  match: string;
  idx: number;
  captures: Array<string | null>;
}

/** MongoDB's regex search over an evaluated `{input, regex, options}` (pipelines are JSON: regex is a string), on RE2. */
function search(obj: unknown, expr: unknown, options: Options, global: boolean): Found[] {
  const args = evalExpr(obj, expr, options) as { input: unknown; regex: unknown; options?: unknown };
  const flags = args.options ?? "";
  if (typeof args.input !== "string") return [];
  if (typeof args.regex !== "string" || typeof flags !== "string") throw new Error("regex and options must be strings");
  if (/[gx]/.test(flags)) throw new Error("regex options g and x are not supported");
  const input = args.input;
  const re = linearRegExp(args.regex, flags);
  const matches: Found[] = [];
  let offset = 0;
  for (let m = re.exec(input); m; m = global ? re.exec(input.slice(offset)) : null) {
    matches.push({ match: m[0], idx: m.index + offset, captures: m.slice(1).map((c) => c ?? null) });
    offset += m.index + Math.max(m[0].length, 1);
    if (offset > input.length) break;
  }
  return matches;
}

/** An aggregation built a value, or moved documents, past the limits below. */
export class AggregateLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AggregateLimitError";
  }
}

/** The longest string an expression may build, in characters: MongoDB's 16 MiB document limit. */
export const MAX_STRING_LENGTH = 16 * 1024 * 1024;
/** The longest array an expression may build: about what fits in 16 MiB of BSON (7+ bytes per element). */
export const MAX_ARRAY_LENGTH = 2 * 1024 * 1024;
/** How many documents all stages of one aggregation may pass on in all. */
export const MAX_DOCUMENTS_FLOWING = 1_000_000;
function passed<T>(doc: T): T {
  step();
  if (countDocument() > MAX_DOCUMENTS_FLOWING) {
    throw new AggregateLimitError(`More than ${MAX_DOCUMENTS_FLOWING} documents passed between stages`);
  }
  return doc;
}

type Operators = NonNullable<Parameters<typeof Context.init>[0]>;
type Stage = (collection: Iterator, expr: unknown, options: Options) => Iterator;
type Expression = (obj: unknown, expr: unknown, options: Options) => unknown;

/**
 * `$sort` in MongoDB's order of arrays, as lists sort (sort-documents.ts: mingo orders `[1, 9]` after
 * `[5]` for `-1`), within the budget. A sort with a collation (which the API does not take) is mingo's.
 */
function $sort(collection: Iterator, expr: unknown, options: Options): Iterator {
  if (options.collation || !isObject(expr) || Object.keys(expr).length === 0) {
    return (pipeline.$sort as Stage)(collection, expr, options);
  }
  return collection.transform((docs) => Lazy(sortDocuments(docs as object[], expr as Sort)));
}

/** Every stage's output goes through `passed`. */
const stages = Object.fromEntries(
  Object.entries({ ...pipeline, $sort } as unknown as Record<string, Stage>).map(([name, stage]) => [
    name,
    (collection: Iterator, expr: unknown, options: Options) => stage(collection, expr, options).map(passed),
  ]),
) as Operators["pipeline"];

/** Every expression steps the budget and checks the size of what it built. */
const expressions = Object.fromEntries(
  Object.entries(expression as unknown as Record<string, Expression>).map(([name, evaluate]) => [
    name,
    (obj: unknown, expr: unknown, options: Options) => {
      step();
      const value = evaluate(obj, expr, options);
      const max = typeof value === "string" ? MAX_STRING_LENGTH : Array.isArray(value) ? MAX_ARRAY_LENGTH : 0;
      if (max && (value as string | unknown[]).length > max) {
        throw new AggregateLimitError(`${name} built a value over MongoDB's 16 MiB`);
      }
      return value;
    },
  ]),
);

type QueryOperator = (selector: string, value: never, options: Options) => (...args: never[]) => boolean;

/**
 * A query operator whose every test steps the budget (a find or count under one stops in time too),
 * by the size of a top-level array it tests (each element is a comparison: 100 000 of them are not one step).
 */
function stepping<Q extends QueryOperator>(operator: Q): Q {
  return ((selector: string, value: never, options: Options) => {
    const test = operator(selector, value, options);
    const topLevel = !selector.includes(".");
    return (...args: never[]) => {
      const tested = topLevel ? (args[0] as Record<string, unknown> | undefined)?.[selector] : undefined;
      step(Array.isArray(tested) ? 1 + tested.length : 1);
      return test(...args);
    };
  }) as Q;
}

const queryOperators = Object.fromEntries(
  Object.entries(query as unknown as Record<string, QueryOperator>).map(([name, operator]) => [
    name,
    stepping(operator),
  ]),
);

/**
 * `$getField` reads an own field of an object only, as MongoDB does. mingo's reads inherited ones
 * too: `{$getField: {field: "__proto__", input: []}}` was `Array.prototype`, which a later
 * `$addFields` could write into, for every project's pipelines in the shared worker.
 */
function ownField(obj: unknown, expr: unknown, options: Options): unknown {
  step();
  const args = evalExpr(obj, expr, options) as { field?: unknown; input?: unknown } | string;
  const { field, input } =
    typeof args === "string" ? { field: args, input: obj } : { field: args?.field, input: args?.input ?? obj };
  if (typeof field !== "string" || !isObject(input) || !Object.hasOwn(input, field)) return undefined;
  return (input as Record<string, unknown>)[field];
}

/**
 * Every mingo operator, replaced as described above: the context for mingo's base Query and
 * Aggregator (the classes exported by "mingo" itself merge their own operators over any context).
 */
export const MINGO_CONTEXT = Context.init({
  accumulator,
  pipeline: stages,
  projection,
  window,
  query: {
    ...queryOperators,
    $regex: (selector: string, value: unknown, options: Options) =>
      query.$regex(selector, value instanceof RegExp ? linearRegExp(value.source, value.flags) : value, options),
  },
  expression: {
    ...expressions,
    $regexMatch: (obj: unknown, expr: unknown, options: Options) => search(obj, expr, options, false).length > 0,
    $regexFind: (obj: unknown, expr: unknown, options: Options) => search(obj, expr, options, false)[0] ?? null,
    $regexFindAll: (obj: unknown, expr: unknown, options: Options) => search(obj, expr, options, true),
    $getField: ownField,
  },
});
