/**
 * Writes with the publishable key keep the private values the caller cannot see (PUT and PATCH, at
 * any depth): a document read, edited and written back loses nothing; the secret key writes as sent.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

const OWNER = "65f0a1b2c3d4e5f601234567";

let env: DataTestEnv;
let token: string;
let id: string;

/** As the sk stores it: a private value at the top level (with a default), in an object and in array items. */
const STORED = {
  title: "first",
  note: "top-secret",
  meta: { text: "hi", secret: "m-secret" },
  comments: [
    { text: "a", ip: "10.0.0.1" },
    { text: "b", ip: "10.0.0.2" },
  ],
};

beforeEach(async () => {
  env = await dataTestEnv();
  token = await env.token(OWNER);
  await env.defineCollection({
    name: "posts",
    fields: [
      { name: "title", type: "string" },
      { name: "note", type: "string", private: true, default: "none" },
      {
        name: "meta",
        type: "object",
        fields: [
          { name: "text", type: "string" },
          { name: "secret", type: "string", private: true },
        ],
      },
      {
        name: "comments",
        type: "array",
        items: {
          type: "object",
          fields: [
            { name: "text", type: "string" },
            { name: "ip", type: "string", private: true },
          ],
        },
      },
    ],
    rls: { enabled: true, mode: "public-read" },
  });
  const created = await env.sk("POST", "/api/data/posts", { ...STORED, userId: OWNER });
  expect(created.status, created.text).toBe(201);
  id = created.json.data._id;
});
afterEach(() => env.close());

const stored = async () => (await env.sk("GET", `/api/data/posts/${id}`)).json.data;
const pkWrite = (method: "PUT" | "PATCH", body: unknown) => env.pk(method, `/api/data/posts/${id}`, { token, body });

describe("publishable-key writes keep private values", () => {
  it("PUT of the document as the pk reads it keeps every private value, over the default too", async () => {
    const seen = (await env.pk("GET", `/api/data/posts/${id}`)).json.data;
    expect(seen).toMatchObject({ meta: { text: "hi" }, comments: [{ text: "a" }, { text: "b" }] });
    expect(JSON.stringify(seen)).not.toMatch(/secret|10\.0\.0/);
    const res = await pkWrite("PUT", { ...seen, title: "edited" });
    expect(res.status, res.text).toBe(200);
    expect(JSON.stringify(res.json.data)).not.toMatch(/secret|10\.0\.0/);
    expect(await stored()).toMatchObject({ ...STORED, title: "edited" });
  });

  it("PATCH replacing an object keeps its private values", async () => {
    expect((await pkWrite("PATCH", { meta: { text: "new" } })).status).toBe(200);
    expect((await stored()).meta).toEqual({ text: "new", secret: "m-secret" });
  });

  it("array items equal to a stored item's visible part are that item; edited ones are new", async () => {
    const res = await pkWrite("PATCH", { comments: [{ text: "b" }, { text: "a2" }, { text: "a" }] });
    expect(res.status, res.text).toBe(200);
    expect((await stored()).comments).toEqual([
      { text: "b", ip: "10.0.0.2" },
      { text: "a2" },
      { text: "a", ip: "10.0.0.1" },
    ]);
  });

  it("a private value the pk names is written as sent (private hides reads, not writes)", async () => {
    expect((await pkWrite("PATCH", { note: "mine", meta: { text: "hi", secret: "m2" } })).status).toBe(200);
    expect(await stored()).toMatchObject({ note: "mine", meta: { text: "hi", secret: "m2" } });
    expect((await pkWrite("PATCH", { note: null })).status).toBe(200);
    expect(await stored()).not.toHaveProperty("note");
  });

  it("removing an object that holds private values is 400 and changes nothing", async () => {
    const { meta: _meta, ...withoutMeta } = (await env.pk("GET", `/api/data/posts/${id}`)).json.data;
    for (const [method, body] of [
      ["PATCH", { meta: null }],
      ["PUT", withoutMeta],
    ] as const) {
      const res = await pkWrite(method, body);
      expect(res.status, `${method} ${res.text}`).toBe(400);
      expect(res.json).toMatchObject({
        code: "VALIDATION_FAILED",
        details: [{ path: "meta", message: "holds private values: only the secret key can remove it" }],
      });
    }
    expect(await stored()).toMatchObject(STORED);
  });

  it("the secret key writes as sent: a PUT without private values removes them", async () => {
    const res = await env.sk("PUT", `/api/data/posts/${id}`, { title: "bare", userId: OWNER });
    expect(res.status, res.text).toBe(200);
    const doc = await stored();
    expect(doc).toMatchObject({ title: "bare", note: "none" });
    expect(doc).not.toHaveProperty("meta");
    expect(doc).not.toHaveProperty("comments");
  });
});

describe("private values the pk cannot see, in other shapes", () => {
  it("a required private field: a PUT or PATCH of what the pk read passes the required check", async () => {
    await env.defineCollection({
      name: "tickets",
      fields: [
        { name: "title", type: "string" },
        { name: "code", type: "string", private: true, required: true },
        {
          name: "meta",
          type: "object",
          fields: [
            { name: "text", type: "string" },
            { name: "pin", type: "string", private: true, required: true },
          ],
        },
      ],
      permissions: { read: "guest", update: "guest" },
    });
    const created = await env.sk("POST", "/api/data/tickets", {
      title: "t",
      code: "C-1",
      meta: { text: "x", pin: "1234" },
    });
    expect(created.status, created.text).toBe(201);
    const path = `/api/data/tickets/${created.json.data._id}`;
    const seen = (await env.pk("GET", path)).json.data;
    expect(seen).not.toHaveProperty("code");
    const put = await env.pk("PUT", path, { body: { ...seen, title: "edited" } });
    expect(put.status, put.text).toBe(200);
    const patch = await env.pk("PATCH", path, { body: { meta: { text: "y" } } });
    expect(patch.status, patch.text).toBe(200);
    expect((await env.sk("GET", path)).json.data).toMatchObject({
      title: "edited",
      code: "C-1",
      meta: { text: "y", pin: "1234" },
    });
  });

  it("fields of objects in arrays of arrays: hidden from pk reads, queries and the schema view", async () => {
    await env.defineCollection({
      name: "grid",
      fields: [
        {
          name: "rows",
          type: "array",
          items: {
            type: "array",
            items: {
              type: "object",
              fields: [
                { name: "v", type: "string" },
                { name: "secret", type: "string", private: true },
              ],
            },
          },
        },
      ],
      permissions: { read: "guest", list: "guest", update: "guest" },
    });
    const created = await env.sk("POST", "/api/data/grid", { rows: [[{ v: "a", secret: "S3CRET" }], [{ v: "b" }]] });
    expect(created.status, created.text).toBe(201);
    const path = `/api/data/grid/${created.json.data._id}`;
    const one = await env.pk("GET", path);
    expect(one.json.data.rows).toEqual([[{ v: "a" }], [{ v: "b" }]]);
    expect((await env.pk("GET", "/api/data/grid")).text).not.toContain("S3CRET");
    const query = await env.pk("GET", "/api/data/grid?rows.secret=S3CRET");
    expect(query.status).toBe(400);
    expect(query.json.code).toBe("INVALID_QUERY");
    expect((await env.pk("GET", "/api/schemas/grid")).text).not.toContain("secret");
    // And kept by a pk write of what it read.
    expect((await env.pk("PUT", path, { body: { rows: [[{ v: "b" }], [{ v: "a" }]] } })).status).toBe(200);
    expect((await env.sk("GET", path)).json.data.rows).toEqual([[{ v: "b" }], [{ v: "a", secret: "S3CRET" }]]);
  });

  it("matching many identical array items costs linear time (130 000 items: about what the sk PUT costs)", {
    timeout: 60_000,
  }, async () => {
    await env.defineCollection({
      name: "many",
      fields: [
        {
          name: "items",
          type: "array",
          items: {
            type: "object",
            fields: [
              { name: "t", type: "integer" },
              { name: "p", type: "integer", private: true },
            ],
          },
        },
      ],
      permissions: { create: "guest", read: "guest", update: "guest" },
    });
    const N = 130_000;
    const stored = Array.from({ length: N }, () => ({ p: 1 }));
    const created = await env.pk("POST", "/api/data/many", { body: { items: stored } });
    expect(created.status).toBe(201);
    const path = `/api/data/many/${created.json.data._id}`;
    let started = performance.now();
    expect((await env.sk("PUT", path, { items: stored })).status).toBe(200);
    const skMs = performance.now() - started;
    started = performance.now();
    const put = await env.pk("PUT", path, { body: { items: Array.from({ length: N }, () => ({})) } });
    const pkMs = performance.now() - started;
    expect(put.status).toBe(200);
    expect(pkMs).toBeLessThan(Math.max(1000, skMs * 5));
    const items = (await env.sk("GET", path)).json.data.items;
    expect(items).toHaveLength(N);
    expect(items.every((item: { p?: number }) => item.p === 1)).toBe(true);
  });
});
