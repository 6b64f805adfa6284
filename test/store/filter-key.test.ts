import { describe, expect, it } from "vitest";
import { filterKey } from "../../shared/store/embedded/filter-key.js";

describe("filterKey (the embedded store's cache key of a filter)", () => {
  it("is the JSON of a filter made of plain JSON values", () => {
    const filter = { a: 1, b: { $in: ["x", null, true] }, $or: [{ c: { $gte: 2.5 } }, { d: { e: "f" } }] };
    expect(filterKey(filter)).toBe(JSON.stringify(filter));
    expect(filterKey({})).toBe("{}");
  });

  it.each([
    ["a regular expression", { a: /x/ }],
    ["a Date", { a: new Date(0) }],
    ["NaN", { a: Number.NaN }],
    ["Infinity", { a: { $lt: Number.POSITIVE_INFINITY } }],
    ["undefined", { a: undefined }],
    ["a class instance", { a: new Map() }],
    ["a nested regular expression", { $or: [{ a: { $in: [/x/] } }] }],
    ["$expr ($$NOW is fixed when the query is built)", { $expr: { $lt: ["$t", "$$NOW"] } }],
  ])("is undefined (not cached) for %s", (_name, filter) => {
    expect(filterKey(filter as never)).toBeUndefined();
  });
});
