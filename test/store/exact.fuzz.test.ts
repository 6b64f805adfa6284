import fc from "fast-check";
import { Query } from "mingo";
import { describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../shared/store/embedded/index.js";
import type { Doc } from "../../shared/store/types.js";
import { mongoOrder } from "./mongo-order.js";

// The embedded store answers index-exact filters without mingo (shared/store/embedded/exact.ts).
// Property: for any documents and any filter, find and count agree with mingo over all documents.

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0.5, "a", "b", "B", "", true, false, null),
);
const value = fc.oneof({ weight: 8, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) });
const doc = fc.record({ a: value, b: value, c: value }, { requiredKeys: [] });

const condition = fc.oneof(
  scalar,
  scalar.map(($eq) => ({ $eq })),
  fc.array(scalar, { minLength: 1, maxLength: 4 }).map(($in) => ({ $in })),
  fc
    .record({ $gt: scalar, $gte: scalar, $lt: scalar, $lte: scalar }, { requiredKeys: [] })
    .filter((r) => Object.keys(r).length > 0),
);
const filter = fc.oneof(
  fc.record({ a: condition, b: condition, c: condition }, { requiredKeys: [] }),
  fc.tuple(fc.record({ a: condition }), fc.record({ b: condition })).map(([x, y]) => ({ $and: [x, y] })),
);

describe("embedded store: index-exact filters match mingo", () => {
  it("find and count agree with mingo for scalar, mixed and array values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(doc, { maxLength: 40 }), filter, fc.boolean(), async (docs, where, arrays) => {
        const store = await openEmbeddedStore({ dataDir: null });
        try {
          const c = store.platform().collection("fuzz");
          await c.createIndex(["a"]);
          await c.createIndex(["b"]);
          const stored = await c.insertMany(
            arrays ? docs : docs.map((d) => Object.fromEntries(Object.entries(d).filter(([, v]) => !Array.isArray(v)))),
          );
          const expected = new Query(where).find<Doc>(stored).sort({ _id: 1 }).all();
          expect(await c.find(where, { sort: { _id: 1 } })).toEqual(expected);
          expect(await c.count(where)).toBe(expected.length);
          const byA = mongoOrder(expected, { a: -1, _id: -1 }).slice(0, 5);
          expect(await c.find(where, { sort: { a: -1, _id: -1 }, limit: 5 })).toEqual(byA);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  // Past 512 candidates (fillers spread over the values' range) a sorted page walks the sort field's index within the filter's range on it.
  it("sorted pages that walk an index agree with mingo, with one or two conditions on the sort field", async () => {
    const fillers = Array.from({ length: 1500 }, (_, i) => ({ a: -3.5 + (7 * i) / 1500, b: "f" }));
    const bound = (ops: string[]) =>
      fc.tuple(fc.constantFrom(...ops), fc.integer({ min: -3, max: 3 })).map(([op, v]) => ({ [op]: v }));
    const onA = fc.oneof(condition, bound(["$gt", "$gte"]), bound(["$lt", "$lte"])).map((a) => ({ a }));
    const sameField = fc.tuple(onA, onA).map(([x, y]) => ({ $and: [x, y] }));
    // null and missing together would keep the index from ordering a page (MongoDB sorts them as one).
    const withoutNullA = (d: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(d).filter(([k, v]) => !Array.isArray(v) && !(k === "a" && v === null)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(doc, { maxLength: 20 }),
        fc.oneof(filter, sameField, sameField),
        async (docs, where) => {
          const store = await openEmbeddedStore({ dataDir: null });
          try {
            const c = store.platform().collection("fuzz");
            await c.createIndex(["a"]);
            const stored = await c.insertMany([...docs.map(withoutNullA), ...fillers]);
            for (const dir of [1, -1] as const) {
              const expected = new Query(where).find<Doc>(stored).sort({ a: dir, _id: dir }).skip(3).limit(5).all();
              expect(await c.find(where, { sort: { a: dir, _id: dir }, skip: 3, limit: 5 })).toEqual(expected);
            }
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  // The walk checks no condition whose ranges are exactly the walked ones; a condition that shares
  // only some of them must still be checked (an owner rule among them: RLS).
  it("two $in on the walked field AND together, whichever the walk takes", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    try {
      const c = store.platform().collection("nums");
      await c.createIndex(["a"]);
      const stored = await c.insertMany(Array.from({ length: 2000 }, (_, i) => ({ a: i % 3 })));
      for (const [x, y] of [
        [
          [1, 2],
          [1, 0],
        ],
        [
          [1, 0],
          [1, 2],
        ],
        [[1], [1, 2]],
        [[1, 2], [1]],
      ]) {
        const where = { $and: [{ a: { $in: x } }, { a: { $in: y } }] };
        for (const dir of [1, -1] as const) {
          const expected = mongoOrder(new Query(where).find<Doc>(stored).all(), { a: dir, _id: dir });
          expect(await c.find(where, { sort: { a: dir, _id: dir }, limit: 5 })).toEqual(expected.slice(0, 5));
          expect(await c.count(where)).toBe(expected.length);
        }
      }
    } finally {
      await store.close();
    }
  });
});
