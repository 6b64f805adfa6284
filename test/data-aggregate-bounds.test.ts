/**
 * The aggregate route's answer is bounded in bytes (16 MiB of JSON), not only in items: a pipeline
 * whose items each carry a copy of the collection is refused with 400 INVALID_QUERY. What a pipeline
 * builds and how long it runs are bounded too, the work mingo does between two expressions included:
 * the embedded store runs it in a worker thread, so the process answers meanwhile.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGGREGATE_TIME_MS, MAX_AGGREGATE_BYTES } from "../shared/aggregate.js";
import { jsonBytesWithin } from "../shared/json-bytes.js";
import { call, createTestProject, type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { whileEachLookMovesClock } from "./helpers.js";

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

describe("aggregate work and memory", () => {
  /** One document's field `a`: an array of 2 Mi one-character strings (the most an expression may build). */
  const bigArray = (chars = 2 * 1024 * 1024) => [
    { $limit: 1 },
    { $project: { s: { $literal: "x".repeat(4096) } } },
    { $project: { s: { $concat: Array(64).fill("$s") } } },
    { $project: { s: { $concat: Array(chars / (4096 * 64)).fill("$s") } } },
    { $project: { a: { $split: ["$s", ""] } } },
  ];

  it("an expression building more than 2 Mi elements ($split) is 400", async () => {
    const res = await aggregate([...bigArray(4 * 1024 * 1024), { $project: { n: { $size: "$a" } } }]);
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    const fits = await aggregate([...bigArray(), { $project: { _id: 0, n: { $size: "$a" } } }]);
    expect([fits.status, fits.json.data?.items]).toEqual([200, [{ n: 2 * 1024 * 1024 }]]);
  });

  it("work between expressions (40 $reduce over 2 Mi elements) stops at the time limit, and health answers meanwhile", async () => {
    const reduce = { $reduce: { input: "$a", initialValue: 0, in: "$$value" } };
    const fields = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`r${i}`, reduce]));
    const started = Date.now();
    const running = aggregate([...bigArray(), { $project: fields }]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const asked = Date.now();
    expect((await env.app.request("/api/health")).status).toBe(200);
    expect(Date.now() - asked).toBeLessThan(500);
    const res = await running;
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(Date.now() - started).toBeLessThan(AGGREGATE_TIME_MS + 3000);
  }, 30_000);

  it("aggregations wait their turn within their own time limit; past 8 waiting, more are 503", async () => {
    const reduce = { $reduce: { input: "$a", initialValue: 0, in: "$$value" } };
    const slow = [
      ...bigArray(),
      { $project: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`r${i}`, reduce])) },
    ];
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 12 }, () => aggregate(slow)));
    const statuses = answers.map((res) => res.status);
    expect(statuses).toContain(503);
    expect(statuses.filter((status) => status !== 503).every((status) => status === 400)).toBe(true);
    // Each waited within its own limit: the last answered about when the first was ended, not 9 × 6 s later.
    expect(Date.now() - started).toBeLessThan(AGGREGATE_TIME_MS + 4000);
    const next = await aggregate([{ $count: "n" }]);
    expect([next.status, next.json.data?.items]).toEqual([200, [{ n: 200 }]]);
  }, 60_000);

  it("a pipeline that would fill the heap ($zip of 300 references to 2 Mi elements) is 400, and the next one runs", async () => {
    const res = await aggregate([
      ...bigArray(),
      { $project: { n: { $size: { $zip: { inputs: Array(300).fill("$a") } } } } },
    ]);
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    const next = await aggregate([{ $count: "n" }]);
    expect([next.status, next.json.data?.items]).toEqual([200, [{ n: 200 }]]);
  }, 30_000);
});

describe("aggregate isolation", () => {
  it("$getField reads own fields only: one project's pipeline cannot write into another's (shared worker)", async () => {
    const victim = await createTestProject(env.deps, "victim");
    const orders = await call(env.app, "POST", "/api/data/orders/bulk", { key: victim.sk, body: [{ tags: [] }] });
    expect(orders.status).toBe(201);
    const attack = await aggregate([
      { $addFields: { x: { $getField: { field: "__proto__", input: [] } } } },
      { $addFields: { "x.0": "PLANTED" } },
      { $limit: 1 },
    ]);
    expect([200, 400]).toContain(attack.status);
    const seen = await call(env.app, "POST", "/api/data/orders/aggregate", {
      key: victim.sk,
      body: { pipeline: [{ $project: { _id: 0, first: { $first: "$tags" }, t0: "$tags.0" } }] },
    });
    expect(seen.json.data.items).toEqual([{}]);
    // Own fields as MongoDB reads them; nothing inherited.
    const fields = await aggregate([
      { $limit: 1 },
      {
        $project: {
          _id: 0,
          i: { $getField: "i" },
          inherited: { $getField: { field: "toString", input: {} } },
          proto: { $getField: { field: "__proto__", input: { a: 1 } } },
        },
      },
    ]);
    expect(fields.json.data.items).toEqual([{ i: 0 }]);
  });

  it("a key or path naming a prototype at any segment is 400: a dotted $addFields wrote into the shared worker's Array.prototype", async () => {
    const victim = await createTestProject(env.deps, "victim");
    expect((await call(env.app, "POST", "/api/data/orders", { key: victim.sk, body: { tags: [] } })).status).toBe(201);
    for (const stage of [
      { $addFields: { "y.constructor.prototype.0": "PLANTED" } },
      { $addFields: { "y.__proto__.0": "PLANTED" } },
      { $set: { "a.prototype": 1 } },
      { $project: { "y.constructor": 1 } },
      { $addFields: { z: "$y.constructor.prototype" } },
      { $addFields: { z: "$$ROOT.constructor" } },
      { $group: { _id: null, z: { $first: "$y.__proto__" } } },
    ]) {
      const res = await aggregate([{ $addFields: { y: [] } }, stage, { $limit: 1 }]);
      expect([JSON.stringify(stage), res.status, res.json.code]).toEqual([JSON.stringify(stage), 400, "INVALID_QUERY"]);
    }
    const seen = await call(env.app, "POST", "/api/data/orders/aggregate", {
      key: victim.sk,
      body: { pipeline: [{ $project: { _id: 0, first: { $first: "$tags" }, t0: "$tags.0" } }] },
    });
    expect(seen.json.data.items).toEqual([{}]);
  });

  it("a leading $match, run on the main thread, gets a list's 1 s, not the pipeline's 5", async () => {
    for (let at = 0; at < 2000; at += 500) {
      const batch = Array.from({ length: 500 }, (_, i) => ({ n: at + i }));
      expect((await env.sk("POST", "/api/data/numbers/bulk", batch)).status).toBe(201);
    }
    const slow = { $or: Array.from({ length: 100 }, (_, k) => ({ n: { $lt: -k } })) };
    // Every look at the clock moves it 10 ms: how far it got says which limit stopped the filter.
    const { result: res, moved } = await whileEachLookMovesClock(10, () =>
      env.sk("POST", "/api/data/numbers/aggregate", { pipeline: [{ $match: slow }] }),
    );
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(moved).toBeLessThan(AGGREGATE_TIME_MS / 2);
  });
});
