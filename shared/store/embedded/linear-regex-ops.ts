/**
 * mingo operators that match regular expressions in linear time (see shared/linear-regexp.ts): the
 * query operator `$regex` and the expressions `$regexMatch`, `$regexFind`, `$regexFindAll`. mingo's
 * own build a JS RegExp, which backtracks: one crafted pattern could hold the process for minutes.
 */
import { Context, evalExpr } from "mingo/core";
import * as accumulator from "mingo/operators/accumulator";
import * as expression from "mingo/operators/expression";
import * as pipeline from "mingo/operators/pipeline";
import * as projection from "mingo/operators/projection";
import * as query from "mingo/operators/query";
import * as window from "mingo/operators/window";
import type { Options } from "mingo/types";
import { linearRegExp } from "../../linear-regexp";

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

/**
 * Every mingo operator, with the regex ones replaced: the context for mingo's base Query and
 * Aggregator (the classes exported by "mingo" itself merge their own operators over any context).
 */
export const LINEAR_REGEX = Context.init({
  accumulator,
  pipeline,
  projection,
  window,
  query: {
    ...query,
    $regex: (selector: string, value: unknown, options: Options) =>
      query.$regex(selector, value instanceof RegExp ? linearRegExp(value.source, value.flags) : value, options),
  },
  expression: {
    ...expression,
    $regexMatch: (obj: unknown, expr: unknown, options: Options) => search(obj, expr, options, false).length > 0,
    $regexFind: (obj: unknown, expr: unknown, options: Options) => search(obj, expr, options, false)[0] ?? null,
    $regexFindAll: (obj: unknown, expr: unknown, options: Options) => search(obj, expr, options, true),
  },
});
