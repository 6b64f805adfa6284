/**
 * `populate` / `expand` on lists and get-by-id (urBackend's SDK sends them): ref fields become the
 * documents they name, as the caller may read them in their own collection (a ref to users:
 * test/data-populate-users.test.ts).
 */
import urBackend from "@urbackend/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { aroundCollections } from "./helpers.js";
import { serveLocalApp } from "./serve.js";

let env: DataTestEnv;
let authorId: string;
let tagIds: string[];
let postId: string;
beforeEach(async () => {
  env = await dataTestEnv();
  await env.defineCollection({
    name: "authors",
    fields: [
      { name: "name", type: "string" },
      { name: "email", type: "string", private: true },
    ],
  });
  await env.defineCollection({ name: "tags", fields: [{ name: "label", type: "string" }] });
  await env.defineCollection({
    name: "posts",
    fields: [
      { name: "title", type: "string" },
      { name: "author", type: "ref", ref: "authors" },
      { name: "tags", type: "array", items: { type: "ref", ref: "tags" } },
    ],
  });
  authorId = (await env.sk("POST", "/api/data/authors", { name: "Ada", email: "ada@example.com" })).json.data._id;
  tagIds = [];
  for (const label of ["a", "b"]) tagIds.push((await env.sk("POST", "/api/data/tags", { label })).json.data._id);
  const gone = "0".repeat(24);
  postId = (
    await env.sk("POST", "/api/data/posts", { title: "P", author: authorId, tags: [tagIds[0], gone, tagIds[1]] })
  ).json.data._id;
});
afterEach(() => {
  vi.restoreAllMocks();
  return env.close();
});

describe("populate", () => {
  it("turns a ref into its document and an array of refs into theirs (a missing one left out), on lists and gets", async () => {
    const list = await env.pk("GET", "/api/data/posts?populate=author,tags");
    expect(list.status, list.text).toBe(200);
    const [post] = list.json.data.items;
    expect(post.author).toMatchObject({ _id: authorId, name: "Ada" });
    expect(post.author).not.toHaveProperty("email"); // private in its own collection: pk sees none
    expect(post.tags.map((t: { label: string }) => t.label)).toEqual(["a", "b"]);
    const one = await env.sk("GET", `/api/data/posts/${postId}?expand=author`);
    expect(one.json.data.author).toMatchObject({ name: "Ada", email: "ada@example.com" }); // sk sees all
    expect(one.json.data.tags).toHaveLength(3); // not asked for: ids as stored
    expect((await env.pk("GET", "/api/data/posts")).json.data.items[0].author).toBe(authorId);
  });

  it("a populated get has no ETag and is never 304: the post's version does not cover its author's", async () => {
    const plain = await env.pk("GET", `/api/data/posts/${postId}`);
    const etag = plain.headers.get("etag") as string;
    expect(etag).toMatch(/^"/);
    const url = `/api/data/posts/${postId}?populate=author`;
    const populated = await env.pk("GET", url, { headers: { "if-none-match": etag } });
    expect([populated.status, populated.headers.get("etag"), populated.json.data.author.name]).toEqual([
      200,
      null,
      "Ada",
    ]);
    env.clock.advance(10);
    expect((await env.sk("PATCH", `/api/data/authors/${authorId}`, { name: "Bob" })).status).toBe(200);
    const again = await env.pk("GET", url, { headers: { "if-none-match": etag } });
    expect([again.status, again.json.data.author.name]).toEqual([200, "Bob"]);
    // Without populate the tag still answers 304.
    expect((await env.pk("GET", `/api/data/posts/${postId}`, { headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("reads as the caller may: a collection of owned documents shows the caller's own, null for others", async () => {
    const put = await env.sk("PUT", "/api/schemas/authors", {
      fields: [
        { name: "name", type: "string" },
        { name: "email", type: "string", private: true },
        { name: "userId", type: "string" },
      ],
      rls: { enabled: true, mode: "private", ownerField: "userId" },
    });
    expect(put.status, put.text).toBe(200);
    const owner = newUserId();
    const patched = await env.sk("PATCH", `/api/data/authors/${authorId}`, { userId: owner });
    expect(patched.status, patched.text).toBe(200);
    const as = async (userId: string) =>
      (await env.pk("GET", "/api/data/posts?populate=author", { token: await env.token(userId) })).json.data.items[0]
        .author;
    expect(await as(owner)).toMatchObject({ _id: authorId, name: "Ada" });
    expect(await as(newUserId())).toBeNull();
    expect((await env.pk("GET", "/api/data/posts?populate=author")).json.data.items[0].author).toBeNull(); // a guest
  });

  it("counts every occurrence: an answer the populated documents would grow past 16 MiB is 400, not 250 MB", async () => {
    const big = (await env.sk("POST", "/api/data/authors", { name: "x".repeat(50_000) })).json.data._id;
    await env.sk("PUT", "/api/schemas/posts", {
      fields: [
        { name: "title", type: "string" },
        { name: "author", type: "ref", ref: "authors" },
        { name: "authors", type: "array", items: { type: "ref", ref: "authors" } },
        { name: "tags", type: "array", items: { type: "ref", ref: "tags" } },
      ],
    });
    const id = (await env.sk("POST", "/api/data/posts", { title: "many" })).json.data._id as string;
    const populated = (n: number) =>
      env
        .sk("PATCH", `/api/data/posts/${id}`, { authors: Array(n).fill(big) })
        .then(() => env.pk("GET", `/api/data/posts/${id}?populate=authors`));
    const fits = await populated(100); // about 5 MB
    expect([fits.status, fits.json.data.authors.length]).toEqual([200, 100]);
    const over = await populated(400); // about 20 MB
    expect([over.status, over.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(over.json.message).toMatch(/would pass 16 MiB/);
  });

  it("stops reading once the documents read pass 16 MiB: 300 distinct authors of 100 KB are 400 after 200 read", async () => {
    await env.sk("PUT", "/api/schemas/posts", {
      fields: [{ name: "authors", type: "array", items: { type: "ref", ref: "authors" } }],
    });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      ids.push((await env.sk("POST", "/api/data/authors", { name: `${i}`.padEnd(100_000, "x") })).json.data._id);
    }
    const id = (await env.sk("POST", "/api/data/posts", { authors: ids })).json.data._id as string;
    let read = 0;
    aroundCollections(env.deps, { authors: ["find"] }, async (run) => {
      const found = (await run()) as unknown[];
      read += found.length;
      return found;
    });
    const res = await env.pk("GET", `/api/data/posts/${id}?populate=authors`);
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect(read).toBe(200);
  });

  it("names only ref fields of the collection: anything else is 400 INVALID_QUERY", async () => {
    for (const query of ["populate=title", "populate=nope", "expand=author.name", `populate=${"a,".repeat(11)}`]) {
      const res = await env.pk("GET", `/api/data/posts?${query}`);
      expect([res.status, res.json.code], query).toEqual([400, "INVALID_QUERY"]);
    }
  });

  it("works through urBackend's SDK (populate and expand as arrays)", async () => {
    const server = await serveLocalApp(env.deps);
    try {
      const { db } = urBackend({ apiKey: env.project.pk, baseUrl: server.baseUrl });
      const [post] = (await db.getAll("posts", { populate: ["author"], expand: ["tags"] })) as unknown as Array<{
        author: { name: string };
        tags: unknown[];
      }>;
      expect([post?.author.name, post?.tags.length]).toEqual(["Ada", 2]);
    } finally {
      await server.close();
    }
  });
});
