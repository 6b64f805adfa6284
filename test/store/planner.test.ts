import { describe, expect, it } from "vitest";
import { cursorFilter, encodeCursor } from "../../shared/query/cursor.js";
import { type Plan, planQuery, rangesOf } from "../../shared/store/embedded/planner.js";
import { SortedIndex } from "../../shared/store/embedded/sorted-index.js";

/** Indexes over 10 000 documents: _id, a unique slug, status (3 values), score (0..999), createdAt. */
function indexes() {
  const byField = new Map<string, SortedIndex>();
  for (const [field, unique] of [
    ["_id", true],
    ["slug", true],
    ["status", false],
    ["score", false],
    ["createdAt", false],
  ] as const) {
    byField.set(field, new SortedIndex(field, unique));
  }
  for (let i = 0; i < 10_000; i++) {
    const id = i.toString(16).padStart(24, "0");
    byField.get("_id")!.add(id, id);
    byField.get("slug")!.add(id, `s${i}`);
    byField.get("status")!.add(id, ["active", "inactive", "pending"][i % 3]);
    byField.get("score")!.add(id, i % 1000);
    byField.get("createdAt")!.add(id, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString());
  }
  return byField;
}

const INDEXES = indexes();
const plan = (filter: Record<string, unknown>, sort?: Record<string, 1 | -1>) => planQuery(filter, sort, INDEXES);
const candidates = (p: Plan) => (p.kind === "candidates" ? p.from.count : Number.NaN);

describe("query planner: indexed lookups never scan the collection", () => {
  it("answers an _id lookup from one index entry", () => {
    const p = plan({ _id: "00000000000000000000000a" });
    expect(p.kind).toBe("candidates");
    expect(candidates(p)).toBe(1);
    expect(candidates(plan({ _id: "00000000000000000000000a", status: "active" }))).toBe(1);
    expect(candidates(plan({ $and: [{ _id: "00000000000000000000000a" }, { userId: "u1" }] }))).toBe(1);
  });

  it("answers equality, $in and ranges on indexed fields from their index", () => {
    expect(candidates(plan({ slug: "s42" }))).toBe(1);
    expect(candidates(plan({ slug: { $in: ["s1", "s2", "nope"] } }))).toBe(2);
    expect(candidates(plan({ score: { $gte: 10, $lt: 20 } }))).toBe(100);
    expect(candidates(plan({ status: "active", score: 7 }))).toBe(10);
  });

  it("walks a sort index for a page of a large match instead of sorting everything", () => {
    const p = plan({ status: "active", score: { $gte: 500 } }, { score: -1, _id: -1 });
    expect(p).toMatchObject({ kind: "walk", direction: -1, range: [{ lo: { key: 500, inclusive: true } }] });
    expect(plan({}, { createdAt: -1, _id: -1 })).toMatchObject({ kind: "walk", direction: -1 });
  });

  it("confines keyset-cursor filters to the sort field's range", () => {
    const after = { $or: [{ score: { $lt: 5 } }, { score: 5, _id: { $lt: "0000000000000000000000ff" } }] };
    expect(candidates(plan(after))).toBe(60);
  });

  it("keeps keyset-cursor filters confined when they also match objects or empty arrays (only irregular documents)", () => {
    const after = {
      $or: [{ status: { $gt: "inactive" } }, { status: { $gte: {} } }, { status: { $in: [true, false] } }],
    };
    expect(candidates(plan(after))).toBe(3333);
    expect(candidates(plan({ score: { $size: 0 } }))).toBe(0);
  });

  it("scans only when no indexed field constrains the query", () => {
    expect(plan({ title: "x" }).kind).toBe("scan");
    expect(plan({ $or: [{ slug: "s1" }, { title: "x" }] }).kind).toBe("scan");
  });

  it("does not walk an index that holds both null and missing values (MongoDB sorts them as equal)", () => {
    const mixed = new SortedIndex("a", false);
    mixed.add("000000000000000000000001", null);
    mixed.add("000000000000000000000002", undefined);
    expect(planQuery({}, { a: -1, _id: -1 }, new Map([["a", mixed]])).kind).toBe("scan");
    const onlyNull = new SortedIndex("a", false);
    onlyNull.add("000000000000000000000001", null);
    expect(planQuery({}, { a: -1, _id: -1 }, new Map([["a", onlyNull]])).kind).toBe("walk");
  });

  it("sorts an owner's candidates rather than walking everyone's documents for a page", () => {
    const createdAt = new SortedIndex("createdAt", false);
    const userId = new SortedIndex("userId", false);
    const owned = new Map([
      ["createdAt", createdAt],
      ["userId", userId],
    ]);
    const ids = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(24, "0"));
    createdAt.rebuild(ids.map((id, i) => [id, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()]));
    const sort = { createdAt: -1, _id: -1 } as const;
    // 100 owners: an owner's 1 000 documents are met every 100 entries of createdAt.
    userId.rebuild(ids.map((id, i) => [id, `u${i % 100}`]));
    expect(planQuery({ userId: "u7" }, sort, owned)).toMatchObject({ kind: "candidates", from: { count: 1000 } });
    // One owner holds every other document: a page is 200 entries away.
    userId.rebuild(ids.map((id, i) => [id, i % 2 ? `u${i % 100}` : "u0"]));
    expect(planQuery({ userId: "u0" }, sort, owned)).toMatchObject({ kind: "walk", direction: -1 });
  });
});

describe("query planner: a keyset cursor confines the sort-index walk to the positions after it", () => {
  const hex = (i: number) => i.toString(16).padStart(24, "0");
  const keys: Record<string, (i: number) => string | number> = {
    createdAt: (i) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    score: (i) => i % 1000,
    slug: (i) => `s${i}`,
  };
  it.each([
    ["createdAt", 1, 5000],
    ["createdAt", -1, 5000],
    ["score", 1, 5500],
    ["score", -1, 5500],
    ["slug", 1, 5000],
    ["slug", -1, 5000],
  ] as Array<[string, 1 | -1, number]>)("%s %i: the walk starts at the cursor's key", (field, dir, i) => {
    const sort = { [field]: dir, _id: dir };
    const key = keys[field]!;
    const cursor = encodeCursor({ _id: hex(i), [field]: key(i) }, sort) as string;
    const p = planQuery(cursorFilter(sort, cursor), sort, INDEXES);
    expect(p).toMatchObject({ kind: "walk", direction: dir });
    if (p.kind !== "walk" || !p.range) throw new Error("an unconfined walk");
    const walked: string[] = [];
    p.index.walk(dir, p.range, (id) => walked.push(id));
    // The documents from the cursor's key on, in the walk's direction: those after it, and those
    // holding its key up to it (the cursor's own included).
    const expected = Array.from({ length: 10_000 }, (_, j) => j).filter(
      (j) => key(j) >= key(i) === (dir === 1) || key(j) === key(i),
    );
    expect(walked.length).toBe(expected.length);
    expect(new Set(walked).size).toBe(walked.length);
  });

  it("reads null as null-or-missing and $ne: null as every other value", () => {
    expect(rangesOf(null)).toEqual([{ bracket: 0 }, { bracket: 1 }]);
    expect(rangesOf({ $eq: null })).toEqual([{ bracket: 0 }, { bracket: 1 }]);
    expect(rangesOf({ $in: [null, 3] })).toEqual([
      { bracket: 0 },
      { bracket: 1 },
      { bracket: 2, lo: { key: 3, inclusive: true }, hi: { key: 3, inclusive: true } },
    ]);
    expect(rangesOf({ $ne: null })).toEqual([{ bracket: 2 }, { bracket: 3 }, { bracket: 8 }]);
    expect(rangesOf({ $ne: 3 })).toBeUndefined();
  });

  it("walks a union of ranges in index order, each entry once", () => {
    const index = new SortedIndex("v", false);
    const values = [undefined, null, 1, 2, 3, "a", "b", true];
    values.forEach((value, i) => {
      index.add(hex(i), value);
    });
    const walked = (dir: 1 | -1, ranges: Parameters<SortedIndex["walk"]>[1]) => {
      const out: unknown[] = [];
      index.walk(dir, ranges, (id) => out.push(values[Number.parseInt(id, 16)]));
      return out;
    };
    const two = { key: 2, inclusive: true };
    const union = [{ bracket: 3 }, { bracket: 2, lo: two }, { bracket: 2, hi: two }, { bracket: 1 }];
    expect(walked(1, union)).toEqual([null, 1, 2, 3, "a", "b"]);
    expect(walked(-1, union)).toEqual(["b", "a", 3, 2, 1, null]);
    expect(walked(1, [])).toEqual([]);
    expect(walked(-1, undefined)).toEqual([...values].reverse());
    // A range inside another merges into it: the outer range's end stays.
    const nested = [
      { bracket: 2, lo: { key: 1, inclusive: true }, hi: { key: 3, inclusive: true } },
      { bracket: 2, lo: two, hi: two },
    ];
    expect(walked(1, nested)).toEqual([1, 2, 3]);
    expect(walked(-1, nested)).toEqual([3, 2, 1]);
    // Ranges apart stay apart: a descending walk visits the last one first.
    const apart = [{ bracket: 2, lo: { key: 1, inclusive: true }, hi: { key: 1, inclusive: true } }, { bracket: 3 }];
    expect(walked(1, apart)).toEqual([1, "a", "b"]);
    expect(walked(-1, apart)).toEqual(["b", "a", 1]);
  });
});
