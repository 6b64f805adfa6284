import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type Collection,
  type Doc,
  type DocumentStore,
  DuplicateKeyError,
  documentJson,
  type Filter,
  type IndexSpec,
  ResultTooLargeError,
  type Sort,
  StoreUnavailableError,
} from "../../shared/store/types.js";

/** What an adapter's test file hands the contract: a fresh, empty store per test. */
export interface ContractSubject {
  store: DocumentStore;
  /** Closes the current store and opens it again on the same data (durable adapters only). */
  reopen?: () => Promise<DocumentStore>;
  /** Runs after the contract closed the store: removes whatever `open` created. */
  cleanup?: () => Promise<void>;
}

const ID = /^[0-9a-f]{24}$/;
const PROJECT_A = "projecta";
const PROJECT_B = "projectb";

/** A fixed 24-hex id; ids of the fixtures sort by their number. */
const hex = (n: number) => n.toString(16).padStart(24, "0");

/** Awaits a write that a unique index must refuse with DuplicateKeyError naming its fields (`field` or a compound key). */
async function duplicate(write: Promise<unknown>, field: string | string[]): Promise<void> {
  const error = await write.then(
    () => new Error("expected DuplicateKeyError, but the write succeeded"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DuplicateKeyError);
  expect((error as DuplicateKeyError).fields).toEqual(typeof field === "string" ? [field] : field);
}

/** Tries to mutate a returned document; a frozen one (TypeError) is fine too. */
function mutate(change: () => void): void {
  try {
    change();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

const byField = (specs: IndexSpec[]) => [...specs].sort((a, b) => a.fields.join().localeCompare(b.fields.join()));

/** Filter fixtures: ids 1..5, inserted out of id order. */
const PEOPLE: Doc[] = [
  {
    _id: hex(1),
    name: "Ada",
    age: 36,
    nick: "ace",
    tags: ["a", "b"],
    meta: { lang: "en", score: 10 },
  },
  { _id: hex(2), name: "bob", age: 25, nick: null, tags: ["b"], meta: { lang: "fr" } },
  { _id: hex(3), name: "Cy", age: "9", tags: [], meta: { lang: "en" } },
  {
    _id: hex(4),
    name: "Dee",
    age: 41,
    tags: ["a", "c", "d"],
    items: [
      { sku: "x", qty: 2 },
      { sku: "y", qty: 10 },
    ],
  },
  { _id: hex(5), name: "Eve", tags: ["c"], items: [{ sku: "x", qty: 20 }] },
];
const insertionOrder = (docs: Doc[]) => [docs[2], docs[4], docs[0], docs[3], docs[1]] as Doc[];

/** [filter, names of the matching people in _id order] */
const FILTER_CASES: Array<[Filter, string[]]> = [
  [{}, ["Ada", "bob", "Cy", "Dee", "Eve"]],
  [{ $and: [{}] }, ["Ada", "bob", "Cy", "Dee", "Eve"]],
  [{ $and: [{}, { name: "Ada" }] }, ["Ada"]],
  [{ name: "Ada" }, ["Ada"]],
  [{ name: "Ada", age: 25 }, []],
  [{ name: { $eq: "bob" } }, ["bob"]],
  [{ age: { $ne: 25 } }, ["Ada", "Cy", "Dee", "Eve"]],
  [{ age: { $gt: 36 } }, ["Dee"]],
  [{ age: { $gte: 36 } }, ["Ada", "Dee"]],
  [{ age: { $lt: 36 } }, ["bob"]],
  [{ age: { $lte: 36 } }, ["Ada", "bob"]],
  // Type bracketing: a number bound never matches the string "9", a string bound only strings.
  [{ age: { $gt: 5 } }, ["Ada", "bob", "Dee"]],
  [{ age: { $lt: 100 } }, ["Ada", "bob", "Dee"]],
  [{ age: { $gte: "1" } }, ["Cy"]],
  [{ age: { $in: [25, 41] } }, ["bob", "Dee"]],
  [{ age: { $in: ["9", 36] } }, ["Ada", "Cy"]],
  [{ age: { $in: [null, 25] } }, ["bob", "Eve"]],
  [{ age: { $nin: [25, 41] } }, ["Ada", "Cy", "Eve"]],
  [{ age: { $exists: true } }, ["Ada", "bob", "Cy", "Dee"]],
  [{ age: { $exists: false } }, ["Eve"]],
  // null matches null and missing; $exists tells them apart.
  [{ nick: null }, ["bob", "Cy", "Dee", "Eve"]],
  [{ nick: { $eq: null } }, ["bob", "Cy", "Dee", "Eve"]],
  [{ nick: { $ne: null } }, ["Ada"]],
  [{ nick: { $exists: true } }, ["Ada", "bob"]],
  [{ nick: { $exists: false } }, ["Cy", "Dee", "Eve"]],
  [{ name: { $regex: "^[a-c]" } }, ["bob"]],
  [{ name: { $regex: "^[a-c]", $options: "i" } }, ["Ada", "bob", "Cy"]],
  [{ name: { $regex: "E" } }, ["Eve"]],
  [{ name: { $regex: "E", $options: "i" } }, ["Dee", "Eve"]],
  [{ age: { $regex: "9" } }, ["Cy"]],
  [{ $and: [{ tags: "a" }, { age: { $gt: 40 } }] }, ["Dee"]],
  [{ $or: [{ name: "Ada" }, { age: { $lt: 30 } }] }, ["Ada", "bob"]],
  [{ $or: [{ $and: [{ "meta.lang": "en" }, { tags: { $size: 0 } }] }, { name: "Eve" }] }, ["Cy", "Eve"]],
  [{ age: { $not: { $gt: 30 } } }, ["bob", "Cy", "Eve"]],
  [{ tags: { $not: { $in: ["a"] } } }, ["bob", "Cy", "Eve"]],
  [{ tags: { $all: ["a", "c"] } }, ["Dee"]],
  [{ tags: { $all: ["b"] } }, ["Ada", "bob"]],
  [{ tags: { $size: 0 } }, ["Cy"]],
  [{ tags: { $size: 2 } }, ["Ada"]],
  [{ items: { $elemMatch: { sku: "x", qty: { $gt: 5 } } } }, ["Eve"]],
  [{ "items.sku": "x", "items.qty": { $gt: 5 } }, ["Dee", "Eve"]],
  [{ "items.qty": 10 }, ["Dee"]],
  [{ tags: { $elemMatch: { $gte: "c" } } }, ["Dee", "Eve"]],
  [{ "meta.lang": "en" }, ["Ada", "Cy"]],
  [{ "meta.score": { $gte: 10 } }, ["Ada"]],
  [{ "meta.lang": { $exists: false } }, ["Dee", "Eve"]],
  [{ meta: { lang: "en" } }, ["Cy"]],
  // Equality against an array field matches an element, or the whole array.
  [{ tags: "a" }, ["Ada", "Dee"]],
  [{ tags: ["b"] }, ["bob"]],
  [{ tags: { $in: ["c", "z"] } }, ["Dee", "Eve"]],
  [{ tags: { $ne: "a" } }, ["bob", "Cy", "Eve"]],
  [{ tags: { $nin: ["a", "b"] } }, ["Cy", "Eve"]],
  [{ _id: hex(1) }, ["Ada"]],
  [{ _id: { $eq: hex(3) } }, ["Cy"]],
  [{ _id: { $in: [hex(2), hex(4), hex(99)] } }, ["bob", "Dee"]],
  [{ _id: { $ne: hex(1) } }, ["bob", "Cy", "Dee", "Eve"]],
  [{ _id: { $nin: [hex(1), hex(2)] } }, ["Cy", "Dee", "Eve"]],
  [{ _id: { $gt: hex(3) } }, ["Dee", "Eve"]],
  [{ _id: { $lte: hex(2) } }, ["Ada", "bob"]],
  [{ $or: [{ age: { $gt: 40 } }, { _id: hex(1) }] }, ["Ada", "Dee"]],
];

/** Sort fixtures: [id, g, n], inserted out of id order. */
const ROWS: Array<[number, string, number]> = [
  [3, "b", 1],
  [7, "b", 2],
  [1, "b", 2],
  [5, "c", 1],
  [2, "a", 2],
  [6, "a", 1],
  [4, "a", 2],
];

/** [sort, ids in order] */
const SORT_CASES: Array<[Sort, number[]]> = [
  [{ _id: 1 }, [1, 2, 3, 4, 5, 6, 7]],
  [{ _id: -1 }, [7, 6, 5, 4, 3, 2, 1]],
  [{ n: 1, _id: 1 }, [3, 5, 6, 1, 2, 4, 7]],
  [{ n: -1, _id: -1 }, [7, 4, 2, 1, 6, 5, 3]],
  [{ g: 1, n: -1, _id: 1 }, [2, 4, 6, 1, 7, 3, 5]],
  [{ g: -1, n: 1, _id: -1 }, [5, 3, 7, 1, 6, 4, 2]],
];

/** A small deterministic PRNG (mulberry32), so the large data set is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 10 000 documents: status of three, an integer score 0..999 (a few missing, a few strings). */
function largeData(count: number): Array<Record<string, unknown>> {
  const next = random(20260101);
  const statuses = ["active", "inactive", "pending"];
  return Array.from({ length: count }, (_, i) => {
    const roll = next();
    const score = Math.floor(next() * 1000);
    const doc: Record<string, unknown> = { i, status: statuses[Math.floor(next() * 3)] };
    if (roll >= 0.04) doc.score = roll < 0.06 ? String(score) : score;
    return doc;
  });
}

/**
 * The one document-store contract every adapter passes. `open` returns a fresh, empty store for
 * each test; the contract closes it afterwards and then runs `cleanup`.
 */
/** Registers the contract; the durability tests only for stores that keep data across a reopen. */
export function storeContract(
  name: string,
  open: () => Promise<ContractSubject>,
  { durable }: { durable: boolean },
): void {
  describe(`document store contract: ${name}`, () => {
    let subject: ContractSubject | undefined;
    let store: DocumentStore;

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      const finished = subject;
      subject = undefined;
      if (!finished) return;
      try {
        await store.close();
      } finally {
        await finished.cleanup?.();
      }
    });

    const things = (collection = "things") => store.platform().collection(collection);
    const reopen = async (): Promise<DocumentStore> => {
      store = await subject!.reopen!();
      return store;
    };
    const names = async (c: Collection, filter: Filter) =>
      (await c.find(filter, { sort: { _id: 1 } })).map((d) => d.name);

    it("answers ping and names its kind", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      expect(["embedded", "mongo"]).toContain(store.kind);
    });

    describe("filters", () => {
      for (const indexed of [false, true]) {
        it(`match MongoDB semantics for every allowed operator${indexed ? " (fields indexed)" : ""}`, async () => {
          const c = things();
          if (indexed) {
            for (const field of ["name", "age", "nick", "tags", "meta.lang", "meta.score", "items.qty"]) {
              await c.createIndex([field]);
            }
          }
          await c.insertMany(insertionOrder(PEOPLE));
          for (const [filter, expected] of FILTER_CASES) {
            expect({ filter, names: await names(c, filter) }).toEqual({ filter, names: expected });
            expect({ filter, count: await c.count(filter) }).toEqual({ filter, count: expected.length });
          }
        });
      }
    });

    describe("sort, skip, limit, projection", () => {
      for (const indexed of [false, true]) {
        it(`sorts on one and several fields with _id as tie-breaker${indexed ? " (fields indexed)" : ""}`, async () => {
          const c = things();
          if (indexed) for (const field of ["g", "n"]) await c.createIndex([field]);
          await c.insertMany(ROWS.map(([id, g, n]) => ({ _id: hex(id), g, n })));
          for (const [sort, ids] of SORT_CASES) {
            const found = (await c.find({}, { sort })).map((d) => d._id);
            expect({ sort, found }).toEqual({ sort, found: ids.map(hex) });
          }
          const page = (skip?: number, limit?: number) =>
            c.find({}, { sort: { g: 1, n: -1, _id: 1 }, skip, limit }).then((docs) => docs.map((d) => d._id));
          expect(await page(2, 3)).toEqual([6, 1, 7].map(hex));
          expect(await page(5)).toEqual([3, 5].map(hex));
          expect(await page(undefined, 2)).toEqual([2, 4].map(hex));
          expect(await page(10, 5)).toEqual([]);
          const filtered = await c.find({ g: "b" }, { sort: { n: 1, _id: -1 }, limit: 2 });
          expect(filtered.map((d) => d._id)).toEqual([3, 7].map(hex));
        });
      }

      it("orders missing and null first, numbers before strings, strings by code point", async () => {
        const c = things();
        await c.insertMany(insertionOrder(PEOPLE));
        const order = async (sort: Sort) => (await c.find({}, { sort })).map((d) => d.name);
        expect(await order({ age: 1, _id: 1 })).toEqual(["Eve", "bob", "Ada", "Dee", "Cy"]);
        expect(await order({ age: -1, _id: 1 })).toEqual(["Cy", "Dee", "Ada", "bob", "Eve"]);
        expect(await order({ nick: 1, _id: -1 })).toEqual(["Eve", "Dee", "Cy", "bob", "Ada"]);
        expect(await order({ "meta.lang": 1, _id: 1 })).toEqual(["Dee", "Eve", "Ada", "Cy", "bob"]);
        expect(await order({ name: 1 })).toEqual(["Ada", "Cy", "Dee", "Eve", "bob"]);
        // A document's own fields only: a field named like an Object method is missing where not stored.
        const odd = things("odd");
        await odd.insertMany([{ _id: hex(1), toString: "a" }, { _id: hex(2) }, { _id: hex(3), constructor: 1 }]);
        const oddOrder = async (field: string, dir: 1 | -1) =>
          (await odd.find({}, { sort: { [field]: dir, _id: 1 } })).map((d) => Number.parseInt(d._id, 16));
        expect(await oddOrder("toString", 1)).toEqual([2, 3, 1]);
        expect(await oddOrder("constructor", -1)).toEqual([3, 1, 2]);
      });

      for (const indexed of [false, true]) {
        it(`orders arrays by their smallest element ascending, largest descending, [] first${indexed ? " (indexed)" : ""}`, async () => {
          const c = things();
          if (indexed) await c.createIndex(["s"]);
          const rows: Array<[number, unknown]> = [
            [1, [1, 9]],
            [2, [5]],
            [3, 3],
            [4, []],
            [5, null],
            [6, [1, 4]],
            [7, "x"],
          ];
          await c.insertMany(rows.map(([id, s]) => ({ _id: hex(id), s })));
          const order = async (sort: Sort, skip?: number, limit?: number) =>
            (await c.find({}, { sort, skip, limit })).map((d) => Number.parseInt(d._id, 16));
          expect(await order({ s: 1, _id: 1 })).toEqual([4, 5, 1, 6, 3, 2, 7]);
          expect(await order({ s: -1, _id: -1 })).toEqual([7, 1, 2, 6, 3, 5, 4]);
          expect(await order({ s: -1, _id: 1 }, 1, 2)).toEqual([1, 2]);
        });
      }

      it("projects by inclusion and exclusion, always keeping _id", async () => {
        const c = things();
        await c.insertMany(insertionOrder(PEOPLE));
        const [ada, , cy] = PEOPLE as [Doc, Doc, Doc];
        const one = (filter: Filter, projection: Record<string, 0 | 1>) => c.find(filter, { projection });
        expect(await one({ _id: ada._id }, { name: 1 })).toEqual([{ _id: ada._id, name: "Ada" }]);
        expect(await one({ _id: ada._id }, { name: 1, "meta.lang": 1 })).toEqual([
          { _id: ada._id, name: "Ada", meta: { lang: "en" } },
        ]);
        expect(await one({ _id: cy._id }, { nick: 1 })).toEqual([{ _id: cy._id }]);
        // Arrays and objects come whole, and fields in the document's order, not the projection's.
        const [whole] = await one({ _id: ada._id }, { meta: 1, tags: 1, name: 1 });
        expect(whole).toEqual({ _id: ada._id, name: "Ada", tags: ["a", "b"], meta: { lang: "en", score: 10 } });
        expect(Object.keys(whole!)).toEqual(["_id", "name", "tags", "meta"]);
        const { tags, meta, ...rest } = ada;
        expect(await one({ _id: ada._id }, { tags: 0, meta: 0 })).toEqual([rest]);
        expect(await one({ _id: ada._id }, { "meta.score": 0 })).toEqual([{ ...ada, meta: { lang: "en" } }]);
        const projected = await c.find({ tags: "a" }, { projection: { age: 1 }, sort: { _id: 1 } });
        expect(projected).toEqual([
          { _id: hex(1), age: 36 },
          { _id: hex(4), age: 41 },
        ]);
        expect(await c.findOne({ _id: ada._id }, { projection: { nick: 1 } })).toEqual({ _id: ada._id, nick: "ace" });
      });

      it("keeps _id even when a projection says _id: 0", async () => {
        const c = things();
        await c.insertMany(insertionOrder(PEOPLE));
        expect(await c.find({ _id: hex(1) }, { projection: { name: 1, _id: 0 } })).toEqual([
          { _id: hex(1), name: "Ada" },
        ]);
        expect(await c.findOne({ _id: hex(1) }, { projection: { nick: 1, _id: 0 } })).toEqual({
          _id: hex(1),
          nick: "ace",
        });
      });

      it("findOne returns the first match in sort order, or null; count with and without filter", async () => {
        const c = things();
        expect(await c.count()).toBe(0);
        await c.insertMany(insertionOrder(PEOPLE));
        expect(await c.findOne({ _id: hex(2) })).toEqual(PEOPLE[1]);
        expect((await c.findOne({ tags: "a" }, { sort: { age: -1 } }))?.name).toBe("Dee");
        expect((await c.findOne({ tags: "a" }, { sort: { age: 1 } }))?.name).toBe("Ada");
        expect(await c.findOne({ name: "nobody" })).toBeNull();
        expect(await c.count()).toBe(5);
        expect(await c.count({})).toBe(5);
        expect(await c.count({ tags: "a" })).toBe(2);
        expect(await c.count({ missing: true })).toBe(0);
      });

      it("filters whose JSON is alike (regular expressions, NaN and null) are each answered on their own", async () => {
        const c = things();
        await c.insertMany(insertionOrder(PEOPLE));
        // The second round finds whatever the store remembers of the first.
        for (let round = 0; round < 2; round++) {
          expect(await c.count({ name: /^A/ })).toBe(1);
          expect(await c.count({ name: /e$/ })).toBe(2);
          expect(await names(c, { name: /^A/ })).toEqual(["Ada"]);
          expect(await names(c, { name: /e$/ })).toEqual(["Dee", "Eve"]);
          expect(await c.count({ age: null })).toBe(1);
          expect(await c.count({ age: Number.NaN })).toBe(0);
        }
      });

      it("a filter holding undefined anywhere is refused (a programming error): nothing is read, changed or deleted", async () => {
        const c = things();
        await c.insertMany(insertionOrder(PEOPLE));
        const refused = [
          () => c.deleteMany({ nick: undefined }),
          () => c.deleteOne({ $or: [{ name: "Ada" }, { nick: undefined }] }),
          () => c.updateOne({ name: { $in: ["Ada", undefined] } }, { $set: { n: 1 } }),
          () => c.replaceOne({ meta: { lang: undefined } }, { name: "x" }),
          () => c.find({ $and: [{ age: { $gt: undefined } }] }),
          () => c.findOne({ nick: undefined }),
          () => c.count({ nick: undefined }),
          () => c.aggregate([{ $match: { name: "Ada" } }, { $unwind: "$tags" }, { $match: { tags: undefined } }]),
        ];
        for (const call of refused) await expect(call()).rejects.toThrow(TypeError);
        expect(await c.find({}, { sort: { _id: 1 } })).toEqual(PEOPLE);
      });
    });

    it("aggregate runs the allowed stages, with _id filters and results as 24-hex strings", async () => {
      const c = things();
      await c.insertMany(insertionOrder(PEOPLE));
      const byTag = await c.aggregate([
        { $match: { age: { $exists: true } } },
        { $unwind: "$tags" },
        { $group: { _id: "$tags", count: { $sum: 1 } } },
        { $sort: { count: -1, _id: 1 } },
        { $skip: 1 },
        { $limit: 2 },
        { $addFields: { tag: "$_id" } },
        { $project: { _id: 0, tag: 1, count: 1 } },
      ]);
      expect(byTag).toEqual([
        { tag: "b", count: 2 },
        { tag: "c", count: 1 },
      ]);
      expect(await c.aggregate([{ $match: { "meta.lang": "en" } }, { $count: "n" }])).toEqual([{ n: 2 }]);
      expect(await c.aggregate([{ $group: { _id: null, total: { $sum: "$age" } } }])).toEqual([
        { _id: null, total: 102 },
      ]);
      const byId = [{ $match: { _id: { $in: [hex(1), hex(5)] } } }, { $sort: { _id: -1 } }, { $project: { name: 1 } }];
      expect(await c.aggregate(byId)).toEqual([
        { _id: hex(5), name: "Eve" },
        { _id: hex(1), name: "Ada" },
      ]);
    });

    it("aggregate expressions see _id as its 24-hex string, after a leading $match on it too", async () => {
      const c = things();
      await c.insertMany([
        { _id: hex(1), ref: hex(1), n: 1 },
        { _id: hex(2), ref: hex(1), n: 2 },
      ]);
      const pipeline = [
        { $match: { _id: { $in: [hex(1), hex(2)] } } },
        { $sort: { _id: 1 } },
        { $project: { tag: { $concat: ["$_id", "-x"] }, own: { $eq: ["$_id", "$ref"] }, type: { $type: "$_id" } } },
        { $match: { _id: hex(1) } },
      ];
      expect(await c.aggregate(pipeline)).toEqual([{ _id: hex(1), tag: `${hex(1)}-x`, own: true, type: "string" }]);
      const grouped = await c.aggregate([
        { $sort: { _id: 1 } },
        { $group: { _id: "$ref", ids: { $push: "$_id" } } },
        { $match: { _id: hex(1) } },
      ]);
      expect(grouped).toEqual([{ _id: hex(1), ids: [hex(1), hex(2)] }]);
    });

    it("aggregate with maxBytes answers up to that much JSON and refuses past it, without reading on", async () => {
      const c = things();
      await c.insertMany(Array.from({ length: 300 }, (_, n) => ({ _id: hex(n + 1), n, text: "é".repeat(1000) })));
      const pipeline = [{ $sort: { n: 1 } }, { $project: { _id: 0, n: 1, text: 1 } }];
      const whole = await c.aggregate(pipeline);
      const bytes = Buffer.byteLength(JSON.stringify(whole));
      expect(whole).toHaveLength(300);
      expect(await c.aggregate(pipeline, { maxBytes: bytes })).toEqual(whole);
      const refused = await c.aggregate(pipeline, { maxBytes: bytes - 1 }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ResultTooLargeError);
      expect((refused as ResultTooLargeError).maxBytes).toBe(bytes - 1);
      // An answer far past the limit stops at it: a 100 000-item $unwind is refused at 1 KiB.
      const explode = [{ $limit: 1 }, { $project: { i: { $range: [0, 100_000] } } }, { $unwind: "$i" }];
      await expect(c.aggregate(explode, { maxBytes: 1024 })).rejects.toBeInstanceOf(ResultTooLargeError);
    });

    it("an exclusion $project removes the path under arrays at any depth (arrays of arrays too)", async () => {
      const c = things();
      await c.insertOne({
        _id: hex(1),
        grid: [[{ s: "x", v: 1 }], { s: "y", v: 2 }, 3, [[{ s: "z" }]]],
        m: { s: "w" },
      });
      const hidden = [{ $project: { "grid.s": 0, "m.s": 0 } }];
      const expected = { _id: hex(1), grid: [[{ v: 1 }], { v: 2 }, 3, [[{}]]], m: {} };
      expect(await c.aggregate(hidden)).toEqual([expected]);
      expect(await c.aggregate([{ $match: { _id: hex(1) } }, ...hidden, { $project: { all: "$$ROOT" } }])).toEqual([
        { _id: hex(1), all: expected },
      ]);
    });

    describe("inserts", () => {
      it("insertOne assigns a 24-hex _id when missing, keeps a given one, returns the stored document", async () => {
        const c = things();
        const a = await c.insertOne({ name: "a", nested: { list: [1, 2] } });
        const b = await c.insertOne({ name: "b" });
        expect(a._id).toMatch(ID);
        expect(b._id).toMatch(ID);
        expect(a._id).not.toBe(b._id);
        expect(a).toEqual({ _id: a._id, name: "a", nested: { list: [1, 2] } });
        expect(await c.findOne({ _id: a._id })).toEqual(a);
        const given = await c.insertOne({ _id: hex(42), name: "given" });
        expect(given).toEqual({ _id: hex(42), name: "given" });
        expect(await c.findOne({ _id: hex(42) })).toEqual(given);
        await duplicate(c.insertOne({ _id: hex(42), name: "again" }), "_id");
        expect(await c.findOne({ _id: hex(42) })).toEqual(given);
        expect(await c.count()).toBe(3);
      });

      it("stores every JSON value exactly", async () => {
        const c = things();
        const doc = {
          text: 'héllo ✓ 😀 "quoted" \\ \n',
          negative: -12.5,
          big: 2 ** 40,
          zero: 0,
          yes: true,
          no: false,
          nothing: null,
          list: [1, "two", null, { three: [3] }, [4]],
          deep: { a: { b: { c: "d" } } },
          emptyObject: {},
          emptyList: [],
          date: "2026-01-01T00:00:00.000Z",
        };
        const stored = await c.insertOne(doc);
        expect(stored).toEqual({ _id: stored._id, ...doc });
        expect(await c.findOne({ _id: stored._id })).toEqual({ _id: stored._id, ...doc });
      });

      it("insertMany returns the stored documents in order; an empty batch is fine", async () => {
        const c = things();
        expect(await c.insertMany([])).toEqual([]);
        const docs = await c.insertMany([{ n: 1 }, { _id: hex(7), n: 2 }, { n: 3 }]);
        expect(docs.map((d) => d.n)).toEqual([1, 2, 3]);
        expect(docs[1]?._id).toBe(hex(7));
        for (const d of docs) expect(d._id).toMatch(ID);
        expect(new Set(docs.map((d) => d._id)).size).toBe(3);
        expect(await c.find({}, { sort: { n: 1 } })).toEqual(docs);
      });

      it("insertMany is all-or-nothing on a duplicate inside the batch or against stored documents", async () => {
        const c = things();
        await c.createIndex(["email"], { unique: true });
        await duplicate(c.insertMany([{ email: "a" }, { email: "b" }, { email: "a" }]), "email");
        expect(await c.count()).toBe(0);
        await c.insertOne({ _id: hex(1), email: "x" });
        const batch = Array.from({ length: 50 }, (_, i) => ({ email: `new${i}` }));
        await duplicate(c.insertMany([...batch, { email: "x" }]), "email");
        expect(await c.find({})).toEqual([{ _id: hex(1), email: "x" }]);
        await duplicate(c.insertMany([{ _id: hex(2) }, { _id: hex(3) }, { _id: hex(2) }]), "_id");
        await duplicate(c.insertMany([{ _id: hex(4) }, { _id: hex(1) }]), "_id");
        expect(await c.find({})).toEqual([{ _id: hex(1), email: "x" }]);
        expect(await c.insertMany(batch)).toHaveLength(50);
        expect(await c.count()).toBe(51);
      });
    });

    describe("updates, replaces, deletes", () => {
      it("updateOne applies $set, $unset and $inc and returns the document after the update", async () => {
        const c = things();
        const doc = await c.insertOne({ name: "a", n: 1, meta: { lang: "en", score: 3 }, drop: true });
        const after = await c.updateOne(
          { _id: doc._id },
          { $set: { name: "b", "meta.lang": "fr", list: [1, { x: 2 }] }, $unset: { drop: "", "meta.score": "" } },
        );
        const expected = { _id: doc._id, name: "b", n: 1, meta: { lang: "fr" }, list: [1, { x: 2 }] };
        expect(after).toEqual(expected);
        expect(await c.findOne({ _id: doc._id })).toEqual(expected);
        expect(await c.updateOne({ _id: doc._id }, { $inc: { n: 2, fresh: 5, "meta.hits": 1 } })).toEqual({
          ...expected,
          n: 3,
          fresh: 5,
          meta: { lang: "fr", hits: 1 },
        });
        const { list, ...withoutList } = expected;
        expect(await c.updateOne({ _id: doc._id }, { $inc: { n: -0.5 }, $unset: { list: 1 } })).toEqual({
          ...withoutList,
          n: 2.5,
          fresh: 5,
          meta: { lang: "fr", hits: 1 },
        });
      });

      it("updateOne refuses a path named twice or inside another, and changes nothing", async () => {
        const c = things();
        const doc = await c.insertOne({ n: 1, meta: { lang: "en" } });
        await expect(c.updateOne({ _id: doc._id }, { $set: { n: 5 }, $inc: { n: 1 } })).rejects.toThrow(/conflict/);
        await expect(
          c.updateOne({ _id: doc._id }, { $set: { meta: {} }, $unset: { "meta.lang": "" } }),
        ).rejects.toThrow(/conflict/);
        await expect(
          c.updateOne({ _id: doc._id }, { $set: { "meta.lang": "fr", "meta-x": 1, meta: 2 } }),
        ).rejects.toThrow(/conflict/);
        expect(await c.findOne({ _id: doc._id })).toEqual(doc);
        expect(await c.updateOne({ _id: doc._id }, { $set: { "meta.lang": "fr", "meta-x": 1 } })).toEqual({
          ...doc,
          meta: { lang: "fr" },
          "meta-x": 1,
        });
      });

      it("updateOne returns null when nothing matches and changes only the first match", async () => {
        const c = things();
        await c.insertMany([{ g: 1 }, { g: 1 }, { g: 2 }]);
        expect(await c.updateOne({ g: 3 }, { $set: { hit: true } })).toBeNull();
        expect(await c.count({ hit: true })).toBe(0);
        expect(await c.count()).toBe(3);
        const hit = await c.updateOne({ g: 1 }, { $set: { hit: true } });
        expect(hit).toMatchObject({ g: 1, hit: true });
        expect(await c.count({ hit: true })).toBe(1);
      });

      it("replaceOne replaces the whole document, keeps _id, returns the new one or null", async () => {
        const c = things();
        const doc = await c.insertOne({ a: 1, b: { c: 2 } });
        expect(await c.replaceOne({ _id: doc._id }, { z: "new" })).toEqual({ _id: doc._id, z: "new" });
        expect(await c.findOne({ _id: doc._id })).toEqual({ _id: doc._id, z: "new" });
        expect(await c.replaceOne({ _id: hex(99) }, { z: "none" })).toBeNull();
        expect(await c.count()).toBe(1);
      });

      it("a version precondition in the filter refuses a stale write and changes nothing", async () => {
        const c = things();
        const doc = await c.insertOne({ title: "v1", version: 1 });
        const v2 = await c.updateOne({ _id: doc._id, version: 1 }, { $set: { title: "v2" }, $inc: { version: 1 } });
        expect(v2).toEqual({ _id: doc._id, title: "v2", version: 2 });
        expect(await c.updateOne({ _id: doc._id, version: 1 }, { $set: { title: "stale" } })).toBeNull();
        expect(await c.replaceOne({ _id: doc._id, version: 1 }, { title: "stale", version: 2 })).toBeNull();
        expect(await c.findOne({ _id: doc._id })).toEqual(v2);
        const v3 = await c.replaceOne({ _id: doc._id, version: 2 }, { title: "v3", version: 3 });
        expect(v3).toEqual({ _id: doc._id, title: "v3", version: 3 });
      });

      it("of 20 concurrent updates with the same version precondition exactly one succeeds", async () => {
        const c = things();
        const doc = await c.insertOne({ version: 1 });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            c.updateOne({ _id: doc._id, version: 1 }, { $set: { winner: i }, $inc: { version: 1 } }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await c.findOne({ _id: doc._id })).toEqual({ _id: doc._id, version: 2, winner: winners[0]?.winner });
      });

      it("deleteOne returns the deleted document or null; deleteMany returns a count", async () => {
        const c = things();
        const docs = await c.insertMany([{ g: 1, n: 1 }, { g: 1, n: 2 }, { g: 2 }, { g: 2 }, { g: 3 }]);
        expect(await c.deleteOne({ _id: docs[0]!._id })).toEqual(docs[0]);
        expect(await c.findOne({ _id: docs[0]!._id })).toBeNull();
        expect(await c.deleteOne({ _id: docs[0]!._id })).toBeNull();
        expect(await c.deleteOne({ g: 9 })).toBeNull();
        expect(await c.count()).toBe(4);
        expect(await c.deleteMany({ g: 2 })).toBe(2);
        expect(await c.deleteMany({ g: 2 })).toBe(0);
        expect(await c.find({}, { sort: { _id: 1 } })).toEqual([docs[1], docs[4]]);
        expect(await c.deleteMany({})).toBe(2);
        expect(await c.count()).toBe(0);
      });
    });

    describe("indexes", () => {
      it("createIndex is idempotent; listIndexes and dropIndex", async () => {
        const c = things();
        expect(await c.listIndexes()).toEqual([]);
        await c.createIndex(["status"]);
        await c.createIndex(["email"], { unique: true });
        await c.createIndex(["email"], { unique: true });
        await c.createIndex(["status"]);
        expect(byField(await c.listIndexes())).toEqual([
          { fields: ["email"], unique: true },
          { fields: ["status"], unique: false },
        ]);
        await c.insertMany([{ status: "a" }, { status: "a" }]);
        await c.dropIndex(["email"]);
        expect(await c.listIndexes()).toEqual([{ fields: ["status"], unique: false }]);
        await c.insertMany([{ email: "same" }, { email: "same" }]);
        await c.dropIndex(["never-indexed"]);
        expect(await c.count()).toBe(4);
      });

      it("a unique index rejects duplicate inserts, updates and replaces with DuplicateKeyError", async () => {
        const c = things();
        await c.createIndex(["email"], { unique: true });
        const a = await c.insertOne({ email: "a@x", n: 1 });
        const b = await c.insertOne({ email: "b@x", n: 2 });
        await duplicate(c.insertOne({ email: "a@x" }), "email");
        await duplicate(c.updateOne({ _id: b._id }, { $set: { email: "a@x" } }), "email");
        await duplicate(c.replaceOne({ _id: b._id }, { email: "a@x" }), "email");
        expect(await c.findOne({ _id: b._id })).toEqual(b);
        expect(await c.count()).toBe(2);
        expect(await c.updateOne({ _id: a._id }, { $set: { email: "a@x", n: 3 } })).toMatchObject({ n: 3 });
        await c.updateOne({ _id: b._id }, { $set: { email: "c@x" } });
        await c.insertOne({ email: "b@x" });
        await c.deleteOne({ _id: a._id });
        await c.insertOne({ email: "a@x" });
        expect((await c.find({}, { sort: { email: 1 } })).map((d) => d.email)).toEqual(["a@x", "b@x", "c@x"]);
      });

      it("an insertMany refused by a unique index names the document refused: the later of two equal ones, or one equal to a stored one", async () => {
        const c = things();
        await c.createIndex(["email"], { unique: true });
        await c.insertOne({ email: "taken" });
        const refused = async (docs: Array<Record<string, unknown>>) => {
          const error = await c.insertMany(docs).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(DuplicateKeyError);
          return (error as DuplicateKeyError).index;
        };
        expect(await refused([{ email: "a" }, { n: 1 }, { email: "b" }, { email: "a" }])).toBe(3);
        expect(await refused([{ email: "a" }, { email: "taken" }, { email: "taken" }])).toBe(1);
        expect(await c.count()).toBe(1);
      });

      it("documents lacking the unique field never collide", async () => {
        const c = things();
        await c.insertMany([{ n: 1 }, { n: 2 }]);
        await c.createIndex(["email"], { unique: true });
        await c.insertMany([{ n: 3 }, { n: 4 }, { email: "e" }]);
        const e = await c.findOne({ email: "e" });
        await c.updateOne({ _id: e!._id }, { $unset: { email: "" } });
        await c.insertOne({ email: "e" });
        await c.updateOne({ email: "e" }, { $unset: { email: "" } });
        expect(await c.count()).toBe(6);
        expect(await c.count({ email: { $exists: true } })).toBe(0);
      });

      it("a unique index works on a dotted field", async () => {
        const c = things();
        await c.createIndex(["profile.handle"], { unique: true });
        await c.insertMany([{ profile: { handle: "x" } }, { profile: {} }, { profile: {} }, {}]);
        await duplicate(c.insertOne({ profile: { handle: "x", other: 1 } }), "profile.handle");
        const other = await c.insertOne({ profile: { handle: "y" } });
        await duplicate(c.updateOne({ _id: other._id }, { $set: { "profile.handle": "x" } }), "profile.handle");
        expect(byField(await c.listIndexes())).toEqual([{ fields: ["profile.handle"], unique: true }]);
        expect(await c.count()).toBe(5);
      });

      it("a duplicate names its field when the field's name has a space, in a batch too", async () => {
        const c = things();
        await c.createIndex(["first name"], { unique: true });
        await c.insertOne({ "first name": "x" });
        await duplicate(c.insertOne({ "first name": "x" }), "first name");
        await duplicate(c.insertMany([{ "first name": "y" }, { "first name": "x" }]), "first name");
        expect(await c.count()).toBe(1);
      });

      it("creating a unique index over existing duplicates fails and leaves no index behind", async () => {
        const c = things();
        await c.insertMany([{ email: "d" }, { email: "d" }, { email: "e" }]);
        await duplicate(c.createIndex(["email"], { unique: true }), "email");
        expect(await c.listIndexes()).toEqual([]);
        await c.insertOne({ email: "e" });
        expect(await c.count()).toBe(4);
      });

      it("a non-unique index accepts equal values", async () => {
        const c = things();
        await c.createIndex(["status"]);
        await c.insertMany([{ status: "a" }, { status: "a" }]);
        await c.insertOne({ status: "a" });
        expect(await c.count({ status: "a" })).toBe(3);
      });

      describe("compound unique indexes", () => {
        const PAIR = ["listing", "buyer"];

        it("are listed with their fields in order beside single-field ones, idempotent, and dropped alone", async () => {
          const c = things();
          await c.createIndex(["listing"]);
          await c.createIndex(PAIR, { unique: true });
          await c.createIndex(PAIR, { unique: true });
          await c.createIndex(["buyer", "listing"], { unique: true });
          expect(byField(await c.listIndexes())).toEqual([
            { fields: ["buyer", "listing"], unique: true },
            { fields: ["listing"], unique: false },
            { fields: PAIR, unique: true },
          ]);
          await c.dropIndex(PAIR);
          await c.dropIndex(["listing", "never"]);
          expect(byField(await c.listIndexes())).toEqual([
            { fields: ["buyer", "listing"], unique: true },
            { fields: ["listing"], unique: false },
          ]);
        });

        it("are unique only: a key of several fields that is not unique is refused (a TypeError), and nothing is made", async () => {
          const c = things();
          await expect(c.createIndex(PAIR)).rejects.toBeInstanceOf(TypeError);
          await expect(c.createIndex(PAIR, { unique: false })).rejects.toBeInstanceOf(TypeError);
          expect(await c.listIndexes()).toEqual([]);
        });

        it("refuse the same values in every field (insert, batch, update of one field, replace), not in some", async () => {
          const c = things();
          await c.createIndex(PAIR, { unique: true });
          const first = await c.insertOne({ listing: "l1", buyer: "b1", n: 1 });
          await c.insertMany([
            { listing: "l1", buyer: "b2" },
            { listing: "l2", buyer: "b1" },
          ]);
          await duplicate(c.insertOne({ listing: "l1", buyer: "b1" }), PAIR);
          await duplicate(
            c.insertMany([
              { listing: "l3", buyer: "b3" },
              { listing: "l1", buyer: "b1" },
            ]),
            PAIR,
          );
          await duplicate(
            c.insertMany([
              { listing: "l4", buyer: "b4" },
              { listing: "l4", buyer: "b4" },
            ]),
            PAIR,
          );
          const other = await c.insertOne({ listing: "l9", buyer: "b1" });
          await duplicate(c.updateOne({ _id: other._id }, { $set: { listing: "l1" } }), PAIR);
          await duplicate(c.replaceOne({ _id: other._id }, { listing: "l1", buyer: "b1" }), PAIR);
          expect(await c.updateOne({ _id: first._id }, { $set: { n: 2 } })).toMatchObject({ n: 2 });
          await c.updateOne({ _id: first._id }, { $set: { buyer: "b5" } });
          await c.updateOne({ _id: other._id }, { $set: { listing: "l1" } });
          await c.deleteOne({ _id: other._id });
          await c.insertOne({ listing: "l1", buyer: "b1" });
          expect(await c.count()).toBe(4);
        });

        it("hold only documents that have every field; null is a value; values compare as MongoDB's (1 = 1.0, a ≠ A, 1 ≠ '1')", async () => {
          const c = things();
          await c.createIndex(PAIR, { unique: true });
          await c.insertMany([{ listing: "l" }, { listing: "l" }, { buyer: "b" }, { buyer: "b" }, {}]);
          await c.insertOne({ listing: null, buyer: "b" });
          await duplicate(c.insertOne({ listing: null, buyer: "b" }), PAIR);
          await c.insertOne({ listing: 1, buyer: "b" });
          await duplicate(c.insertOne({ listing: 1.0, buyer: "b" }), PAIR);
          await c.insertMany([
            { listing: "1", buyer: "b" },
            { listing: "L", buyer: "b" },
            { listing: "l", buyer: "b" },
            { listing: true, buyer: "b" },
          ]);
          const held = await c.insertOne({ listing: "x", buyer: "b" });
          await c.updateOne({ _id: held._id }, { $unset: { buyer: "" } });
          await c.insertOne({ listing: "x", buyer: "b" });
          expect(await c.count()).toBe(13);
        });

        it("work on dotted fields", async () => {
          const c = things();
          await c.createIndex(["meta.listing", "buyer"], { unique: true });
          await c.insertMany([
            { meta: { listing: "l" }, buyer: "b" },
            { meta: {}, buyer: "b" },
            { meta: {}, buyer: "b" },
          ]);
          await duplicate(c.insertOne({ meta: { listing: "l", other: 1 }, buyer: "b" }), ["meta.listing", "buyer"]);
          expect(await c.count()).toBe(3);
        });

        it("over existing duplicates fail and leave no index behind", async () => {
          const c = things();
          await c.insertMany([
            { listing: "l", buyer: "b" },
            { listing: "l", buyer: "b" },
            { listing: "l", buyer: "c" },
          ]);
          await duplicate(c.createIndex(PAIR, { unique: true }), PAIR);
          expect(await c.listIndexes()).toEqual([]);
          await c.insertOne({ listing: "l", buyer: "c" });
          expect(await c.count()).toBe(4);
        });

        it("of 100 concurrent inserts of the same values exactly one succeeds", async () => {
          const c = things();
          await c.createIndex(PAIR, { unique: true });
          const settled = await Promise.allSettled(
            Array.from({ length: 100 }, (_, i) => c.insertOne({ listing: "l", buyer: "b", i })),
          );
          expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(1);
          for (const s of settled.filter((s) => s.status === "rejected")) {
            expect((s.reason as DuplicateKeyError).fields).toEqual(PAIR);
          }
          expect(await c.count()).toBe(1);
        });
      });
    });

    it("documentJson of every document handed out is that document's own JSON", async () => {
      const c = things();
      const expectOwnJson = (doc: Doc | null) => expect(documentJson(doc ?? {})).toBe(JSON.stringify(doc ?? {}));
      const [a] = await c.insertMany([{ name: "a", meta: { lang: "en" }, n: 1.5, text: "é ✓ \u2028 😀" }]);
      const id = a!._id;
      expectOwnJson(a!);
      expectOwnJson(await c.findOne({ _id: id }));
      expectOwnJson(await c.updateOne({ _id: id }, { $set: { name: "b" }, $unset: { n: "" } }));
      expectOwnJson(await c.findOne({ _id: id }));
      for (const doc of await c.find({}, { projection: { name: 1 } })) expectOwnJson(doc);
      for (const doc of await c.find({}, { projection: { meta: 0 } })) expectOwnJson(doc);
      expectOwnJson(await c.replaceOne({ _id: id }, { other: true }));
      for (const doc of await c.find({})) expectOwnJson(doc);
      if (durable)
        for (const doc of await (await reopen()).platform().collection("things").find({})) expectOwnJson(doc);
    });

    it("documents handed in or out are copies: mutating them never changes what the store holds", async () => {
      const c = things();
      const input = { name: "orig", meta: { lang: "en" }, tags: ["a"] };
      const inserted = await c.insertOne(input);
      const id = inserted._id;
      const original = { _id: id, name: "orig", meta: { lang: "en" }, tags: ["a"] };
      const batchInput = [{ name: "batch", meta: { lang: "en" } }];
      const [batch] = await c.insertMany(batchInput);
      const scramble = (doc: Record<string, unknown> | null | undefined) =>
        mutate(() => {
          if (!doc) return;
          doc.name = "changed";
          (doc.meta as Record<string, unknown>).lang = "zz";
          (doc.tags as unknown[] | undefined)?.push("z");
          doc.extra = true;
        });
      scramble(input);
      scramble(batchInput[0]);
      // What an insert returned shares nothing with its input.
      expect(inserted).toEqual(original);
      expect(batch).toEqual({ _id: batch!._id, name: "batch", meta: { lang: "en" } });
      scramble(inserted);
      scramble(batch);
      for (const doc of await c.find({})) scramble(doc);
      scramble(await c.findOne({ _id: id }));
      scramble(await c.updateOne({ _id: id }, { $set: { seen: 1 } }));
      const patch = { nested: { v: 1 } };
      scramble(await c.updateOne({ _id: id }, { $set: { patch: patch.nested } }));
      patch.nested.v = 2;
      expect(await c.findOne({ _id: id })).toEqual({ ...original, seen: 1, patch: { v: 1 } });
      expect(await c.findOne({ _id: batch!._id })).toEqual({ _id: batch!._id, name: "batch", meta: { lang: "en" } });
      const replacement = { name: "replaced", meta: { lang: "de" } };
      scramble(await c.replaceOne({ _id: id }, replacement));
      replacement.meta.lang = "xx";
      expect(await c.findOne({ _id: id })).toEqual({ _id: id, name: "replaced", meta: { lang: "de" } });
      scramble(await c.deleteOne({ _id: batch!._id }));
      expect(await c.count()).toBe(1);
    });

    describe("databases", () => {
      it("the platform and every tenant database never see each other's collections", async () => {
        const platform = store.platform();
        const a = store.tenant({ projectId: PROJECT_A });
        const b = store.tenant({ projectId: PROJECT_B });
        await platform.collection("shared").insertOne({ owner: "platform" });
        await a.collection("shared").insertOne({ owner: "a" });
        await a.collection("only_a").insertOne({ owner: "a" });
        await a.collection("shared").createIndex(["email"], { unique: true });
        await a.collection("shared").insertOne({ email: "x@y" });
        expect(await b.collection("shared").count()).toBe(0);
        expect(await b.listCollections()).toEqual([]);
        await b.collection("shared").insertMany([{ email: "x@y" }, { email: "x@y" }]);
        expect((await platform.collection("shared").find({})).map((d) => d.owner)).toEqual(["platform"]);
        expect(await a.collection("shared").count()).toBe(2);
        expect(await b.collection("shared").count()).toBe(2);
        expect(await platform.collection("shared").listIndexes()).toEqual([]);
        expect(await b.collection("shared").listIndexes()).toEqual([]);
        expect([...(await platform.listCollections())].sort()).toEqual(["shared"]);
        expect([...(await a.listCollections())].sort()).toEqual(["only_a", "shared"]);
        expect(await b.listCollections()).toEqual(["shared"]);
        const again = store.tenant({ projectId: PROJECT_A });
        expect(await again.collection("only_a").count({ owner: "a" })).toBe(1);
      });

      it("a handle taken before dropCollection writes to the collection re-created by that write", async () => {
        const db = store.tenant({ projectId: PROJECT_A });
        const held = db.collection("c3");
        await held.insertOne({ n: 1 });
        await db.dropCollection("c3");
        await held.insertOne({ n: 2 });
        expect(await db.listCollections()).toContain("c3");
        expect((await db.collection("c3").find({})).map((doc) => doc.n)).toEqual([2]);
        expect(await held.count()).toBe(1);
        await db.drop();
        await held.insertOne({ n: 3 });
        expect(await store.tenant({ projectId: PROJECT_A }).collection("c3").count()).toBe(1);
      });

      it("dropCollection removes documents and indexes; drop removes every collection of one database", async () => {
        const platform = store.platform();
        const a = store.tenant({ projectId: PROJECT_A });
        const b = store.tenant({ projectId: PROJECT_B });
        await a.collection("c1").createIndex(["email"], { unique: true });
        await a.collection("c1").insertMany([{ email: "1" }, { email: "2" }]);
        await a.collection("c2").insertOne({ n: 1 });
        await b.collection("c1").insertOne({ n: 1 });
        await platform.collection("c1").insertOne({ n: 1 });
        await a.dropCollection("c1");
        await a.dropCollection("never-existed");
        expect(await a.listCollections()).toEqual(["c2"]);
        expect(await a.collection("c1").count()).toBe(0);
        expect(await a.collection("c1").listIndexes()).toEqual([]);
        await a.collection("c1").insertMany([{ email: "1" }, { email: "1" }]);
        await a.drop();
        expect(await a.listCollections()).toEqual([]);
        expect(await a.collection("c2").count()).toBe(0);
        expect(await b.collection("c1").count()).toBe(1);
        expect(await platform.collection("c1").count()).toBe(1);
        await a.collection("c2").insertOne({ n: 2 });
        expect(await a.collection("c2").find({}, { projection: { n: 1 } })).toEqual([
          { _id: expect.stringMatching(ID), n: 2 },
        ]);
      });
    });

    describe("concurrency", () => {
      it("200 concurrent inserts are all stored and found", async () => {
        const c = things();
        const docs = await Promise.all(Array.from({ length: 200 }, (_, i) => c.insertOne({ i })));
        expect(await c.count()).toBe(200);
        expect(new Set(docs.map((d) => d._id)).size).toBe(200);
        expect(await c.count({ _id: { $in: docs.map((d) => d._id) } })).toBe(200);
        for (const doc of docs) expect(await c.findOne({ _id: doc._id })).toEqual(doc);
      });

      it("of 200 concurrent inserts of the same unique value exactly one succeeds", async () => {
        const c = things();
        await c.createIndex(["email"], { unique: true });
        const settled = await Promise.allSettled(
          Array.from({ length: 200 }, (_, i) => c.insertOne({ email: "same@x", i })),
        );
        const rejected = settled.filter((s) => s.status === "rejected").map((s) => s.reason as unknown);
        expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(1);
        expect(rejected).toHaveLength(199);
        for (const reason of rejected) {
          expect(reason).toBeInstanceOf(DuplicateKeyError);
          expect((reason as DuplicateKeyError).fields).toEqual(["email"]);
        }
        expect(await c.count()).toBe(1);
      });
    });

    describe("closing", () => {
      it("close() is idempotent and afterwards every call rejects with StoreUnavailableError", async () => {
        const platform = store.platform();
        const c = platform.collection("things");
        await c.insertOne({ n: 1 });
        await store.close();
        await store.close();
        await expect(c.find({})).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(c.insertOne({ n: 2 })).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(c.updateOne({ n: 1 }, { $set: { n: 3 } })).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(platform.listCollections()).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      });
    });

    if (durable)
      describe("durability", () => {
        it("a collection dropped while its first read after a reopen loads stays dropped", async () => {
          await store
            .platform()
            .collection("c")
            .insertMany([{ n: 1 }, { n: 2 }]);
          const reopened = await reopen();
          const db = reopened.platform();
          const reading = db.collection("c").find({});
          await db.dropCollection("c");
          await reading;
          expect(await db.collection("c").find({})).toEqual([]);
          expect(await db.listCollections()).toEqual([]);
        });

        it("reopening restores documents, updates, deletions, dropped collections and indexes", async () => {
          const users = () => store.platform().collection("users");
          await users().createIndex(["email"], { unique: true });
          await users().createIndex(["age"]);
          await users().createIndex(["gone"]);
          await users().createIndex(["age", "email"], { unique: true });
          const docs = await users().insertMany(Array.from({ length: 10 }, (_, i) => ({ email: `u${i}@x`, age: i })));
          await users().updateOne({ _id: docs[0]!._id }, { $set: { name: "changed" }, $unset: { age: "" } });
          await users().replaceOne({ _id: docs[1]!._id }, { email: "r@x", replaced: true });
          await users().deleteOne({ _id: docs[2]!._id });
          expect(await users().deleteMany({ age: { $gte: 8 } })).toBe(2);
          await users().dropIndex(["gone"]);
          await store
            .tenant({ projectId: PROJECT_A })
            .collection("posts")
            .insertOne({ _id: hex(1), title: "hi" });
          await store.platform().collection("temp").insertOne({ n: 1 });
          await store.platform().dropCollection("temp");
          await store.tenant({ projectId: PROJECT_B }).collection("gone").insertOne({ n: 1 });
          await store.tenant({ projectId: PROJECT_B }).drop();
          const before = await users().find({}, { sort: { _id: 1 } });
          expect(before).toHaveLength(7);

          for (const round of [1, 2]) {
            await reopen();
            expect({ round, docs: await users().find({}, { sort: { _id: 1 } }) }).toEqual({ round, docs: before });
            expect(byField(await users().listIndexes())).toEqual([
              { fields: ["age"], unique: false },
              { fields: ["age", "email"], unique: true },
              { fields: ["email"], unique: true },
            ]);
            await duplicate(users().insertOne({ email: "u3@x" }), "email");
            await duplicate(users().updateOne({ email: "u4@x" }, { $set: { age: 3, email: "u3@x" } }), "email");
            expect(await users().findOne({ _id: docs[2]!._id })).toBeNull();
            expect(await users().count({ age: { $gte: 3 } })).toBe(5);
            expect(await store.platform().listCollections()).toEqual(["users"]);
            expect(await store.tenant({ projectId: PROJECT_A }).collection("posts").find({})).toEqual([
              { _id: hex(1), title: "hi" },
            ]);
            expect(await store.tenant({ projectId: PROJECT_B }).listCollections()).toEqual([]);
          }
          await users().insertOne({ email: "after@x" });
          await reopen();
          expect(await users().count()).toBe(8);
        });

        it("writes acknowledged right before close() are all there after reopen", async () => {
          const c = store.platform().collection("acks");
          const docs = await Promise.all(Array.from({ length: 100 }, (_, i) => c.insertOne({ i })));
          await Promise.all(docs.slice(0, 50).map((d) => c.updateOne({ _id: d._id }, { $set: { updated: true } })));
          await Promise.all(docs.slice(90).map((d) => c.deleteOne({ _id: d._id })));
          const reopened = (await reopen()).platform().collection("acks");
          expect(await reopened.count()).toBe(90);
          expect(await reopened.count({ updated: true })).toBe(50);
        });

        it("close() finishes writes still in flight; each is there after reopen", async () => {
          const c = store.platform().collection("inflight");
          const writes = Array.from({ length: 50 }, (_, i) => c.insertOne({ i }));
          const reopening = reopen();
          const settled = await Promise.allSettled(writes);
          const reopened = (await reopening).platform().collection("inflight");
          expect(settled.filter((s) => s.status === "rejected").map((s) => String(s.reason))).toEqual([]);
          expect(await reopened.count()).toBe(50);
        });
      });

    it("answers indexed queries over 10 000 documents exactly like a plain JS filter and sort", async () => {
      const c = things("large");
      const data = largeData(10_000);
      const stored: Doc[] = [];
      for (let at = 0; at < data.length; at += 1000) {
        if (at === 5000) {
          await c.createIndex(["status"]);
          await c.createIndex(["score"]);
        }
        stored.push(...(await c.insertMany(data.slice(at, at + 1000))));
      }
      expect(await c.count()).toBe(10_000);
      const byScoreDesc = (x: Doc, y: Doc) =>
        (y.score as number) - (x.score as number) || (x._id < y._id ? 1 : x._id > y._id ? -1 : 0);
      const activeHigh = stored
        .filter((d) => d.status === "active" && typeof d.score === "number" && d.score >= 500)
        .sort(byScoreDesc);
      expect(activeHigh.length).toBeGreaterThan(1000);
      const filter = { status: "active", score: { $gte: 500 } };
      expect(await c.find(filter, { sort: { score: -1, _id: -1 }, limit: 20 })).toEqual(activeHigh.slice(0, 20));
      expect(await c.find(filter, { sort: { score: -1, _id: -1 }, skip: 20, limit: 20 })).toEqual(
        activeHigh.slice(20, 40),
      );
      expect(await c.count(filter)).toBe(activeHigh.length);

      // Keyset paging through the whole result, as the list endpoint's cursor does.
      const paged: Doc[] = [];
      for (let last: Doc | undefined; ; ) {
        const after = last
          ? { $or: [{ score: { $lt: last.score } }, { score: last.score, _id: { $lt: last._id } }] }
          : {};
        const page = await c.find({ ...filter, ...after }, { sort: { score: -1, _id: -1 }, limit: 200 });
        paged.push(...page);
        last = page.at(-1);
        if (page.length < 200) break;
      }
      expect(paged.map((d) => d._id)).toEqual(activeHigh.map((d) => d._id));

      const lowOthers = stored
        .filter((d) => d.status !== "active" && typeof d.score === "number" && d.score < 100)
        .sort((x, y) => (x.score as number) - (y.score as number) || (x._id < y._id ? -1 : 1));
      const low = await c.find(
        { status: { $in: ["inactive", "pending"] }, score: { $lt: 100 } },
        { sort: { score: 1, _id: 1 }, skip: 10, limit: 30 },
      );
      expect(low).toEqual(lowOthers.slice(10, 40));
      expect(await c.count({ score: { $exists: false } })).toBe(stored.filter((d) => !("score" in d)).length);
      expect(await c.count({ score: { $gte: "" } })).toBe(stored.filter((d) => typeof d.score === "string").length);
    });
  });
}
