import { describe, expect, it } from "vitest";
import { type Plan, planQuery } from "../../shared/store/embedded/planner.js";
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
    expect(p).toMatchObject({ kind: "walk", direction: -1, range: { lo: { key: 500, inclusive: true } } });
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
});
