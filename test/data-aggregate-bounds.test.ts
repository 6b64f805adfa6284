/**
 * The aggregate route's answer is bounded in bytes (16 MiB of JSON), not only in items: a pipeline
 * whose items each carry a copy of the collection is refused with 400 INVALID_QUERY.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_AGGREGATE_BYTES } from "../shared/aggregate.js";
import { jsonBytesWithin } from "../shared/json-bytes.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeAll(async () => {
  env = await dataTestEnv();
  // 200 documents of ~1 KB: each item of the amplifying pipeline below holds two copies of all of them.
  const docs = Array.from({ length: 200 }, (_, i) => ({ i, text: "é".repeat(500) }));
  expect((await env.sk("POST", "/api/data/posts/bulk", docs)).status).toBe(201);
});
afterAll(() => env.close());

const aggregate = (pipeline: unknown[]) => env.sk("POST", "/api/data/posts/aggregate", { pipeline });

describe("aggregate answer size", () => {
  it("an answer past 16 MiB of JSON is 400 INVALID_QUERY naming the limit ($push $$ROOT + $unwind)", async () => {
    const res = await aggregate([
      { $group: { _id: null, all: { $push: "$$ROOT" } } },
      { $addFields: { copy: "$all" } },
      { $unwind: "$all" },
    ]);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("INVALID_QUERY");
    expect(res.json.message).toContain("16 MiB");
  });

  it("answers under the limit are unchanged, a whole-collection $push included", async () => {
    const res = await aggregate([{ $group: { _id: null, all: { $push: "$$ROOT" } } }]);
    expect(res.status).toBe(200);
    expect(res.json.data.items[0].all).toHaveLength(200);
    const sorted = await aggregate([{ $sort: { i: -1 } }, { $limit: 2 }, { $project: { i: 1, _id: 0 } }]);
    expect(sorted.json.data.items).toEqual([{ i: 199 }, { i: 198 }]);
  });

  it("jsonBytesWithin counts the UTF-8 bytes JSON.stringify writes, and stops past the limit", () => {
    fc.assert(
      fc.property(fc.anything({ withDate: true, withSparseArray: true }), fc.string({ unit: "binary" }), (v, s) => {
        for (const value of [v, s, [v, undefined, s], { a: v, b: undefined, [s]: s }]) {
          const text = JSON.stringify(value);
          if (text !== undefined)
            expect(jsonBytesWithin(value, Number.POSITIVE_INFINITY)).toBe(Buffer.byteLength(text));
        }
      }),
    );
    const shared = Array.from({ length: 1000 }, () => "x".repeat(1000));
    const huge = Array.from({ length: 100_000 }, () => shared); // 100 GB of JSON, never built
    const counted = jsonBytesWithin(huge, MAX_AGGREGATE_BYTES);
    expect(counted).toBeGreaterThan(MAX_AGGREGATE_BYTES);
    expect(counted).toBeLessThan(MAX_AGGREGATE_BYTES + 2000);
  });
});
