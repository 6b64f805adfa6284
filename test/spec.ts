/**
 * What API.md says, written down once for the tests as an oracle independent of the code under test:
 * the filter operators of §5.1 (plus `$options`, $regex's flags) and the keys no body or filter may carry.
 */
export const SPEC_FILTER_OPERATORS: ReadonlySet<string> = new Set([
  "$eq",
  "$ne",
  "$gt",
  "$gte",
  "$lt",
  "$lte",
  "$in",
  "$nin",
  "$exists",
  "$regex",
  "$options",
  "$and",
  "$or",
  "$not",
  "$all",
  "$size",
  "$elemMatch",
]);

export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
