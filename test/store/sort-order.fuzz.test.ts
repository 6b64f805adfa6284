import fc from "fast-check";
import { compare } from "mingo/util";
import { describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../shared/store/embedded/index.js";
import { comparePrepared, prepare } from "../../shared/store/embedded/sort-order.js";
import type { Sort } from "../../shared/store/types.js";
import { mongoOrder } from "./mongo-order.js";

// The embedded store sorts on values prepared once (shared/store/embedded/sort-order.ts), not with
// mingo's `compare` in every comparison, and selects only the first skip + limit documents.
// Property: the order is mingo's `compare`, with MongoDB's order for arrays at a sort key, and
// documents with equal keys keep the order they were inserted in.

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0.5, "a", "b", "B", "", "ab", true, false, null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 6, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie("value"), { maxLength: 3 }) },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(fc.constantFrom("x", "y", "z", "10", "2"), tie("value")), { maxLength: 3 })
        .map((entries) => Object.fromEntries(entries)),
    },
  ),
}));
const doc = fc.record({ a: value, b: value, c: fc.record({ d: value }, { requiredKeys: [] }) }, { requiredKeys: [] });
const sort = fc
  .uniqueArray(fc.tuple(fc.constantFrom("a", "b", "c", "c.d", "e"), fc.constantFrom(1 as const, -1 as const)), {
    minLength: 1,
    maxLength: 3,
    selector: ([field]) => field,
  })
  .map((keys) => Object.fromEntries(keys) as Sort);

describe("embedded store: sorts follow mingo's order, with MongoDB's for arrays", () => {
  it("a prepared value compares as mingo's compare", () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(Math.sign(comparePrepared(prepare(a), prepare(b), true))).toBe(Math.sign(compare(a, b)));
      }),
      { numRuns: 3000 },
    );
  });

  it("find and aggregate $sort page as a stable sort by that order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(doc, { maxLength: 30 }), sort, fc.nat(5), fc.nat(6), async (docs, by, skip, limit) => {
        const store = await openEmbeddedStore({ dataDir: null });
        try {
          const c = store.platform().collection("fuzz");
          const stored = await c.insertMany(docs);
          const all = mongoOrder(stored, by);
          expect(await c.find({}, { sort: by })).toEqual(all);
          const page = all.slice(skip, limit ? skip + limit : undefined);
          expect(await c.find({}, { sort: by, skip, limit })).toEqual(page);
          expect(await c.aggregate([{ $sort: by }])).toEqual(all);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
