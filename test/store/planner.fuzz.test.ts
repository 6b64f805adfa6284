import fc from "fast-check";
import { Query } from "mingo";
import { describe, expect, it } from "vitest";
import { cursorFilter, encodeCursor } from "../../shared/query/cursor.js";
import { openEmbeddedStore } from "../../shared/store/embedded/index.js";
import type { Doc } from "../../shared/store/types.js";
import { mongoOrder } from "./mongo-order.js";

// The planner confines a keyset-cursor page's walk to the sort index's positions after the cursor,
// across type brackets (shared/store/embedded/planner.ts). Property: for any documents, cursor
// position and filter, a cursor page and everything after it agree with mingo over all documents.

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -0.5, "a", "b", "B", "", true, false, null),
);
const value = fc.oneof({ weight: 12, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) });
const doc = fc.record({ a: value, b: scalar }, { requiredKeys: [] });
const hex = (i: number) => i.toString(16).padStart(24, "0");

/** Past 512 candidates a sorted page walks: fillers over numbers, strings and booleans (no null, no missing). */
const fillers = Array.from({ length: 1500 }, (_, i) => ({
  _id: hex(0x10000 + i),
  a: [-3.5 + (7 * i) / 500, `${"aBb"[i % 3]}${i}`, i % 2 === 0][i % 3],
  b: "f",
}));

describe("embedded store: keyset-cursor pages match mingo", () => {
  it("a page after any position, with or without another condition, agrees with mingo", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(doc, { maxLength: 20 }),
        scalar,
        fc.integer({ min: 0, max: 0x10000 + 1500 }),
        fc.constantFrom(1 as const, -1 as const),
        fc.option(fc.oneof(scalar, fc.constantFrom({ $ne: "f" }, { $in: ["f", 1] }))),
        async (docs, position, at, dir, onB) => {
          const store = await openEmbeddedStore({ dataDir: null });
          try {
            const c = store.platform().collection("fuzz");
            await c.createIndex(["a"]);
            await c.createIndex(["b"]);
            // Documents without `a` or with `a: null`, not both (MongoDB sorts them as one; the index would not walk).
            const withoutA = docs.some((d) => !("a" in d));
            const stored = await c.insertMany([
              ...docs.map((d, i) => ({ _id: hex(i), ...d, ...(withoutA && d.a === null ? { a: 0 } : {}) })),
              ...fillers,
            ]);
            const sort = { a: dir, _id: dir };
            const cursor = encodeCursor({ _id: hex(at), a: position }, sort) as string;
            const after = cursorFilter(sort, cursor);
            const where = onB === null ? after : { $and: [{ b: onB }, after] };
            const byId = (found: Doc[]) => [...found].sort((x, y) => (x._id < y._id ? -1 : 1));
            const found = await c.find(where, { sort });
            expect(byId(found)).toEqual(byId(new Query(where).find<Doc>(stored).all()));
            expect(await c.find(where, { sort, limit: 5 })).toEqual(found.slice(0, 5));
            expect(found).toEqual(mongoOrder(new Query(where).find<Doc>(stored).all(), sort));
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
