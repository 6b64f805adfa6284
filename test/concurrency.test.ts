/** Concurrency suite (data function): unique values, conditional writes and merges under parallel requests. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
  await env.defineCollection({
    name: "accounts",
    fields: [
      { name: "handle", type: "string", unique: true },
      { name: "n", type: "number" },
    ],
    additionalFields: true,
  });
});
afterEach(() => env.close());

/** How many responses had each status. */
function statuses(results: Array<{ status: number }>): Record<number, number> {
  const count: Record<number, number> = {};
  for (const { status } of results) count[status] = (count[status] ?? 0) + 1;
  return count;
}

describe("parallel writes", () => {
  it("100 parallel inserts of one unique value: exactly one 201, the rest 409 DUPLICATE_VALUE", async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, n) => env.sk("POST", "/api/data/accounts", { handle: "same", n })),
    );
    expect(statuses(results)).toEqual({ 201: 1, 409: 99 });
    expect(results.filter((r) => r.status === 409).every((r) => r.json.code === "DUPLICATE_VALUE")).toBe(true);
    expect((await env.sk("GET", "/api/data/accounts?count=true")).json.data.count).toBe(1);
  });

  for (const jitter of [false, true]) {
    it(`50 parallel inserts of one uniqueTogether pair${jitter ? " (store calls jittered, FUZZ_JITTER)" : ""}: exactly one 201, the rest 409`, async () => {
      const before = process.env.FUZZ_JITTER;
      if (jitter) process.env.FUZZ_JITTER = "1";
      const own = await dataTestEnv().finally(() => {
        if (before === undefined) delete process.env.FUZZ_JITTER;
        else process.env.FUZZ_JITTER = before;
      });
      try {
        const pair = [
          { name: "listingId", type: "string" },
          { name: "buyerId", type: "string" },
        ];
        await own.defineCollection({ name: "reviews", fields: pair, uniqueTogether: [["listingId", "buyerId"]] });
        const results = await Promise.all(
          Array.from({ length: 50 }, () => own.sk("POST", "/api/data/reviews", { listingId: "l", buyerId: "b" })),
        );
        expect(statuses(results)).toEqual({ 201: 1, 409: 49 });
        expect(results.filter((r) => r.status === 409).every((r) => r.json.code === "DUPLICATE_VALUE")).toBe(true);
        expect((await own.sk("GET", "/api/data/reviews?count=true")).json.data.count).toBe(1);
      } finally {
        await own.close();
      }
    });
  }

  it("100 parallel bulk inserts that share one unique value: exactly one batch lands, whole", async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, n) =>
        env.sk("POST", "/api/data/accounts/bulk", [{ handle: `own-${n}` }, { handle: "shared" }]),
      ),
    );
    expect(statuses(results)).toEqual({ 201: 1, 409: 99 });
    const handles = (await env.sk("GET", "/api/data/accounts?limit=100")).json.data.items.map(
      (d: { handle: string }) => d.handle,
    );
    expect(handles.sort()).toEqual([`own-${results.findIndex((r) => r.status === 201)}`, "shared"].sort());
  });

  it("parallel PATCHes with the same If-Match: exactly one 200, the rest 412", async () => {
    const doc = (await env.sk("POST", "/api/data/accounts", { handle: "h", n: 0 })).json.data;
    const etag = (await env.sk("GET", `/api/data/accounts/${doc._id}`)).headers.get("etag")!;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        env.sk("PATCH", `/api/data/accounts/${doc._id}`, { n }, { "if-match": etag }),
      ),
    );
    expect(statuses(results)).toEqual({ 200: 1, 412: 29 });
    const winner = results.find((r) => r.status === 200)!.json.data.n;
    expect((await env.sk("GET", `/api/data/accounts/${doc._id}`)).json.data.n).toBe(winner);
  });

  it("parallel PATCHes without If-Match all land: the merged document has every field", async () => {
    const doc = (await env.sk("POST", "/api/data/accounts", { handle: "m" })).json.data;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, n) => env.sk("PATCH", `/api/data/accounts/${doc._id}`, { [`f${n}`]: n })),
    );
    expect(statuses(results)).toEqual({ 200: 30 });
    const merged = (await env.sk("GET", `/api/data/accounts/${doc._id}`)).json.data;
    for (let n = 0; n < 30; n++) expect(merged[`f${n}`]).toBe(n);
  });

  it("parallel PATCHes and a PUT with If-Match: * (any current version) all land: the document exists throughout", async () => {
    const doc = (await env.sk("POST", "/api/data/accounts", { handle: "s" })).json.data;
    const star = { "if-match": "*" };
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, n) => env.sk("PATCH", `/api/data/accounts/${doc._id}`, { [`f${n}`]: n }, star)),
      env.sk("PUT", `/api/data/accounts/${doc._id}`, { handle: "s", f20: 20 }, star),
    ]);
    expect(statuses(results)).toEqual({ 200: 21 });
  });

  it("parallel DELETE of one document: exactly one 200, the rest 404", async () => {
    const doc = (await env.sk("POST", "/api/data/accounts", { handle: "d" })).json.data;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => env.sk("DELETE", `/api/data/accounts/${doc._id}`)),
    );
    expect(statuses(results)).toEqual({ 200: 1, 404: 19 });
  });
});
