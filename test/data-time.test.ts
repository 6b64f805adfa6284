/**
 * A list whose filter tests every document expensively, or whose sort compares large values, stops
 * at LIST_TIME_MS (400 INVALID_QUERY) instead of holding the process, and the filter parameters and
 * regex counts that make such filters are bounded (API.md §5.2 limits; docs/choices.md).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AGGREGATE_TIME_MS } from "../shared/aggregate.js";
import { LIST_TIME_MS } from "../shared/query.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { whileEachLookMovesClock } from "./helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

describe("list time limit", () => {
  it("answers 400 INVALID_QUERY once a list has run LIST_TIME_MS; cheap lists still answer", async () => {
    for (let at = 0; at < 20_000; at += 500) {
      const items = Array.from({ length: 500 }, (_, i) => ({ title: `post ${at + i} `.repeat(8) }));
      expect((await env.sk("POST", "/api/data/posts/bulk", items)).status).toBe(201);
    }
    // 20 filters of 100 counted repetitions: tens of seconds over 20 000 documents without a limit.
    const filters = Array.from({ length: 20 }, (_, i) => `title_regex=${encodeURIComponent(`.{100}x${i}`)}`);
    const started = Date.now();
    const res = await env.pk("GET", `/api/data/posts?${filters.join("&")}`);
    const took = Date.now() - started;
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(res.json.message).toMatch(/time limit/);
    expect(took).toBeGreaterThanOrEqual(LIST_TIME_MS);
    expect(took).toBeLessThan(LIST_TIME_MS * 4);
    const cheap = await env.pk("GET", "/api/data/posts?title_regex=post%2019999&limit=1");
    expect([cheap.status, cheap.json.data.total]).toEqual([200, 1]);
  });

  it("bounds one regex match over a long string: lists and schema patterns answer at once, aggregates within their budget", async () => {
    const long = "ab".repeat(250_000); // 500 000 characters: one match of the pattern below takes seconds
    for (let i = 0; i < 4; i++) expect((await env.sk("POST", "/api/data/posts", { title: long })).status).toBe(201);
    const pattern = "[a-b]{1,100}[cd]";
    let started = Date.now();
    const list = await env.pk("GET", `/api/data/posts?title_regex=${encodeURIComponent(pattern)}`);
    expect([list.status, list.json.code]).toEqual([400, "INVALID_QUERY"]);
    await env.defineCollection({ name: "coded", fields: [{ name: "code", type: "string", pattern }] });
    const insert = await env.sk("POST", "/api/data/coded", { code: long });
    expect([insert.status, insert.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(Date.now() - started).toBeLessThan(LIST_TIME_MS * 2);
    // An aggregate has 5 s: it runs the matches that fit, and refuses the one that would not.
    started = Date.now();
    const aggregate = await env.sk("POST", "/api/data/posts/aggregate", {
      pipeline: [{ $project: { hit: { $regexMatch: { input: "$title", regex: pattern } } } }],
    });
    expect([aggregate.status, aggregate.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(Date.now() - started).toBeLessThan(AGGREGATE_TIME_MS * 1.5);
    // Short strings still match.
    expect((await env.sk("POST", "/api/data/coded", { code: "abc" })).status).toBe(201);
    const found = await env.pk("GET", `/api/data/coded?code_regex=${encodeURIComponent(pattern)}`);
    expect([found.status, found.json.data.total]).toEqual([200, 1]);
  });

  it("charges every regex match to the list's time: an array of long strings stops at the limit too", async () => {
    const items = Array.from({ length: 10 }, () => "ab".repeat(49_500)); // 10 x 99 000 characters
    expect((await env.sk("POST", "/api/data/posts", { tags: items })).status).toBe(201);
    const started = Date.now();
    const res = await env.pk("GET", `/api/data/posts?tags_regex=${encodeURIComponent("[a-b]{1,100}[cd]")}`);
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(Date.now() - started).toBeLessThan(LIST_TIME_MS * 4);
    // An ordinary search over a long document still answers: it fits in the time left.
    const text = `${"lorem ipsum ".repeat(80_000)}quarterly revenue report`;
    expect((await env.sk("POST", "/api/data/docs", { text })).status).toBe(201);
    const search = await env.pk(
      "GET",
      `/api/data/docs?search=${encodeURIComponent("quarterly revenue report")}&searchFields=text`,
    );
    expect([search.status, search.json.data.total]).toEqual([200, 1]);
  });

  it("charges a document's pattern checks together: many long items against a pattern are refused long before they would finish", async () => {
    const pattern = `${"[a-b]{1,100}".repeat(40)}[cd]`; // about 8 000 instructions
    await env.defineCollection({
      name: "coded",
      fields: [{ name: "codes", type: "array", items: { type: "string", pattern } }],
    });
    const started = Date.now();
    // Each item's match is under the per-match bound; together they are seconds of work.
    const res = await env.sk("POST", "/api/data/coded", {
      codes: Array.from({ length: 10 }, () => "ab".repeat(1_250)),
    });
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(Date.now() - started).toBeLessThan(LIST_TIME_MS * 4);
    expect(res.json.message).toMatch(/too long to check against/);
    expect((await env.sk("POST", "/api/data/coded", { codes: [`${"a".repeat(40)}c`] })).status).toBe(201);
  });

  it("stops a sort at the time limit too: a guest's sort on a field holding large objects", async () => {
    // Schemaless: the default rules let a guest list it, and sort on anything in it.
    expect((await env.sk("POST", "/api/data/things", { o: { k: 1 } })).status).toBe(201);
    const things = env.deps.store.tenant({ projectId: env.project.id }).collection("things");
    const common = Object.fromEntries(Array.from({ length: 50 }, (_, k) => [`k${k}`, "v".repeat(30)]));
    await things.insertMany(Array.from({ length: 2000 }, (_, i) => ({ o: { ...common, z: (i * 7919) % 2000 } })));
    // While the list runs, every look at the clock moves it 10 ms: the answer depends on how much
    // work the store counts before it looks, not on how fast this machine is.
    await whileEachLookMovesClock(10, async () => {
      const res = await env.pk("GET", "/api/data/things?sort=o&limit=1&fields=_id");
      expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
      expect(res.json.message).toMatch(/time limit/);
      // A sort of a few documents still answers.
      const few = await env.pk("GET", "/api/data/things?sort=o&limit=2&o.k=1");
      expect([few.status, few.json.data?.total]).toEqual([200, 1]);
    });
  });

  it("counts each half of a sort's work on its own: preparing a few large values, comparing many small ones", async () => {
    // Schemaless, made by a first write: a guest may list them and sort on anything.
    for (const name of ["wide", "numbers"]) expect((await env.sk("POST", `/api/data/${name}`, {})).status).toBe(201);
    const tenant = env.deps.store.tenant({ projectId: env.project.id });
    // Three objects of 5 000 keys: preparing them is the work (only a few comparisons).
    const wide = (first: number) =>
      Object.fromEntries(Array.from({ length: 5000 }, (_, k) => [`k${k}`, k ? 0 : first]));
    await tenant.collection("wide").insertMany([1, 2, 3].map((first) => ({ o: wide(first) })));
    // 1 500 shuffled numbers, a page past the middle (a full sort): comparing them is the work.
    await tenant.collection("numbers").insertMany(Array.from({ length: 1500 }, (_, i) => ({ r: (i * 7919) % 1500 })));
    for (const path of ["/api/data/wide?sort=o&limit=1&fields=_id", "/api/data/numbers?sort=r&page=8&limit=100"]) {
      // Every look at the clock moves it 10 ms: the answer depends on the work counted, not on this machine.
      const { result: res } = await whileEachLookMovesClock(10, () => env.pk("GET", path));
      expect([res.status, res.json.code], path).toEqual([400, "INVALID_QUERY"]);
    }
  });

  it("counts a condition over an array by its elements: a filter over large arrays looks at the clock as it goes", async () => {
    const arr = Array.from({ length: 5000 }, (_, i) => i);
    for (let at = 0; at < 200; at += 20) {
      const batch = Array.from({ length: 20 }, (_, i) => ({ arr, i: at + i }));
      expect((await env.sk("POST", "/api/data/arrays/bulk", batch)).status).toBe(201);
    }
    // Each document's test compares 5 000 elements, 64 steps' worth and more: the clock is looked at
    // after each (every look moves it 10 ms here, so 200 documents run past 1 s). Counted as one step
    // each, the documents got a look per 64 of them, and a filter over huge arrays held the process.
    const { result: res } = await whileEachLookMovesClock(10, () =>
      env.pk("GET", "/api/data/arrays?arr_gt=1000000&fields=i"),
    );
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(res.json.message).toMatch(/time limit/);
    expect((await env.pk("GET", "/api/data/arrays?arr_gt=1000000&fields=i")).json.data.total).toBe(0);
  });

  it("refuses more than 20 filter parameters and regex counts over 100", async () => {
    await env.sk("POST", "/api/data/posts", { title: "a" });
    const many = Array.from({ length: 21 }, (_, i) => `title_ne=x${i}`).join("&");
    for (const query of [many, `title_regex=${encodeURIComponent(".{101}")}`]) {
      const res = await env.pk("GET", `/api/data/posts?${query}`);
      expect([res.status, res.json.code], query).toEqual([400, "INVALID_QUERY"]);
    }
  });
});
