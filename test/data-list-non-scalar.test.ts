/**
 * Lists sorted on values that are not single values (arrays, objects): keyset cursors never loop,
 * skip a document or hand out a cursor the server refuses; page/limit keeps working; `fields=`
 * keeps what it selects; arrays are ordered as MongoDB orders them, by lists and aggregate `$sort`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeAll(async () => {
  env = await dataTestEnv();
  await env.defineCollection({
    name: "posts",
    fields: [
      { name: "title", type: "string" },
      { name: "comments", type: "array", items: { type: "object", fields: [{ name: "text", type: "string" }] } },
      { name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] },
      { name: "scores", type: "array", items: { type: "number" } },
    ],
  });
  const docs = Array.from({ length: 12 }, (_, i) => ({
    title: `t${i}`,
    comments: [{ text: `c${i % 5}` }, { text: `d${i % 3}` }],
    meta: { lang: `l${i}` },
  }));
  expect((await env.sk("POST", "/api/data/posts/bulk", docs)).status).toBe(201);
});
afterAll(() => env.close());

const ids = (items: Array<{ _id: string }>) => items.map((d) => d._id);

/** Follows nextCursor (at most 20 pages): the ids seen, and whether the last answer still had more. */
async function cursorWalk(collection: string, query: string, limit: number) {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const url = `/api/data/${collection}?limit=${limit}&${query}${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await env.sk("GET", url);
    expect(res.status, res.text).toBe(200);
    seen.push(...ids(res.json.data.items));
    cursor = res.json.data.nextCursor;
    if (!cursor) return { seen, hasNext: res.json.data.hasNext as boolean };
  }
  throw new Error("the cursor walk did not end after 20 pages");
}

describe("sorts on paths the definition lets hold arrays or objects", () => {
  it.each(["sort=comments.text", "sort=-comments.text", "sort=meta", "sortBy=comments&sortDirection=desc"])(
    "%s: no nextCursor, cursor= is 400, page/limit reach every document once",
    async (query) => {
      const first = await env.sk("GET", `/api/data/posts?${query}&limit=5`);
      expect([first.status, first.json.data.hasNext, first.json.data.nextCursor]).toEqual([200, true, null]);
      const refused = await env.sk("GET", `/api/data/posts?${query}&limit=5&cursor=`);
      expect([refused.status, refused.json.code]).toEqual([400, "INVALID_QUERY"]);
      expect(refused.json.message).toMatch(/may hold arrays or objects; use page/);
      const seen: string[] = [];
      for (const page of [1, 2, 3]) {
        seen.push(...ids((await env.sk("GET", `/api/data/posts?${query}&limit=5&page=${page}`)).json.data.items));
      }
      expect(new Set(seen).size).toBe(12);
    },
  );
});

describe("schemaless values that are objects", () => {
  let order: string[];
  beforeAll(async () => {
    for (const v of [1, "a", { x: 1 }, true, "b", { y: 2 }]) await env.sk("POST", "/api/data/mixed", { v });
    order = ids((await env.sk("GET", "/api/data/mixed?sort=v&limit=100")).json.data.items);
    expect(order).toHaveLength(6);
  });

  it("a cursor walk past a string reaches the objects (they sort between strings and booleans)", async () => {
    expect(await cursorWalk("mixed", "sort=v", 3)).toEqual({ seen: order, hasNext: false });
  });

  it("a page ending on an object has no nextCursor; what was walked is the order's start", async () => {
    const walk = await cursorWalk("mixed", "sort=v", 1);
    expect(walk.hasNext).toBe(true);
    expect(walk.seen).toEqual(order.slice(0, 4)); // 1, "a", "b", {x: 1}
  });

  it("the same holds once v is declared an indexed string (the index keeps objects aside)", async () => {
    const put = await env.sk("PUT", "/api/schemas/mixed", {
      fields: [{ name: "v", type: "string", index: true }],
      additionalFields: true,
    });
    expect(put.status, put.text).toBe(200);
    expect(await cursorWalk("mixed", "sort=v", 3)).toEqual({ seen: order, hasNext: false });
    const descending = ids((await env.sk("GET", "/api/data/mixed?sort=-v&limit=100")).json.data.items);
    expect((await cursorWalk("mixed", "sort=-v", 2)).seen).toEqual(descending.slice(0, 2));
  });
});

describe("fields= with a sort on a selected path's parent", () => {
  it("fields=meta.lang&sort=meta returns meta.lang, declared or schemaless", async () => {
    for (const v of ["l1", "l0"]) await env.sk("POST", "/api/data/loose", { meta: { lang: v, n: 1 } });
    for (const collection of ["posts", "loose"]) {
      const res = await env.sk("GET", `/api/data/${collection}?fields=meta.lang&sort=meta&limit=2`);
      expect(res.status).toBe(200);
      for (const item of res.json.data.items) expect(Object.keys(item.meta)).toEqual(["lang"]);
      expect(res.json.data.nextCursor).toBeNull();
    }
  });
});

describe("sort on an array field", () => {
  it("orders by the smallest element ascending and the largest descending, as MongoDB does", async () => {
    const post = async (scores: number[]) =>
      (await env.sk("POST", "/api/data/posts", { title: "arr", scores })).json.data._id as string;
    const [a, b, c, d] = [await post([1, 9]), await post([5]), await post([3]), await post([2, 4])];
    const order = async (sort: string) =>
      ids((await env.sk("GET", `/api/data/posts?sort=${sort}&scores_exists=true`)).json.data.items);
    expect(await order("-scores")).toEqual([a, b, d, c]);
    expect(await order("scores")).toEqual([a, d, c, b]);
    expect(
      ids((await env.sk("GET", "/api/data/posts?sort=-scores&scores_exists=true&limit=2&page=2")).json.data.items),
    ).toEqual([d, c]);
    // An aggregation's $sort orders them as the list does (a top N by score picks the same documents).
    const aggregate = async ($sort: Record<string, 1 | -1>) => {
      const res = await env.sk("POST", "/api/data/posts/aggregate", {
        pipeline: [{ $match: { scores: { $exists: true } } }, { $sort }, { $project: { _id: 1 } }],
      });
      expect(res.status, res.text).toBe(200);
      return ids(res.json.data.items);
    };
    expect(await aggregate({ scores: -1 })).toEqual([a, b, d, c]);
    expect(await aggregate({ scores: 1 })).toEqual([a, d, c, b]);
  });
});
