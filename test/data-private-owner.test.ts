/**
 * A collection that declares its owner field `private` (anonymous posts) hides the author from
 * publishable-key readers in `createdBy` too, which the server sets to the same user id: it is
 * stripped from every pk read and refused in pk filters, sorts, selects and pipelines, as the owner
 * field is. The secret key sees and queries both.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
const alice = newUserId();
let aliceToken: string;
let id: string;

beforeAll(async () => {
  env = await dataTestEnv({ settings: { data: { publishableAggregate: true } } });
  await env.defineCollection({
    name: "confessions",
    fields: [
      { name: "text", type: "string" },
      { name: "userId", type: "string", private: true },
    ],
    rls: { enabled: true, mode: "public-read" },
  });
  await env.defineCollection({ name: "replies", fields: [{ name: "to", type: "ref", ref: "confessions" }] });
  aliceToken = await env.token(alice);
  const created = await env.pk("POST", "/api/data/confessions", { token: aliceToken, body: { text: "it was me" } });
  expect(created.status).toBe(201);
  id = created.json.data._id;
  expect((await env.sk("POST", "/api/data/replies", { to: id })).status).toBe(201);
});
afterAll(() => env.close());

it.each([
  ["a guest's list", () => env.pk("GET", "/api/data/confessions")],
  [
    "another user's get",
    async () => env.pk("GET", `/api/data/confessions/${id}`, { token: await env.token(newUserId()) }),
  ],
  ["the owner's own list", () => env.pk("GET", "/api/data/confessions", { token: aliceToken })],
  ["a populate into it", () => env.pk("GET", "/api/data/replies?populate=to")],
  [
    "a pipeline",
    () =>
      env.pk("POST", "/api/data/confessions/aggregate", { body: { pipeline: [{ $addFields: { all: "$$ROOT" } }] } }),
  ],
])("%s never shows the author", async (_, read) => {
  const res = await read();
  expect(res.status).toBe(200);
  expect(res.text).toContain("it was me");
  expect(res.text).not.toContain(alice);
});

it.each([
  `createdBy=${alice}&count=true`,
  "sort=createdBy",
  "fields=text,createdBy",
  `filter=${encodeURIComponent(JSON.stringify({ createdBy: alice }))}`,
])("a pk query naming createdBy is refused as the owner field is: %s", async (query) => {
  const res = await env.pk("GET", `/api/data/confessions?${query}`);
  expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
});

it("a pk pipeline naming createdBy is refused; the secret key sees and filters by it", async () => {
  const pipeline = [{ $group: { _id: "$createdBy", n: { $sum: 1 } } }];
  const refused = await env.pk("POST", "/api/data/confessions/aggregate", { body: { pipeline } });
  expect([refused.status, refused.json.code]).toEqual([400, "INVALID_QUERY"]);
  const sk = await env.sk("GET", `/api/data/confessions?createdBy=${alice}`);
  expect(sk.json.data.items.map((d: { createdBy: string; userId: string }) => [d.createdBy, d.userId])).toEqual([
    [alice, alice],
  ]);
});

describe("definition changes keep the authors hidden unless published on purpose", () => {
  let own: DataTestEnv;
  let doc: string;
  const fields = (ownerPrivate: boolean | undefined) => [
    { name: "text", type: "string" },
    { name: "other", type: "string" },
    { name: "userId", type: "string", ...(ownerPrivate === undefined ? {} : { private: ownerPrivate }) },
  ];
  beforeEach(async () => {
    own = await dataTestEnv();
    await own.defineCollection({
      name: "confessions",
      fields: fields(true),
      rls: { enabled: true, mode: "public-read" },
    });
    const created = await own.pk("POST", "/api/data/confessions", {
      token: await own.token(alice),
      body: { text: "me" },
    });
    doc = created.json.data._id;
  });
  afterEach(() => own.close());

  it("turning the owner rules off keeps createdBy hidden (the owner field is still private)", async () => {
    expect((await own.sk("PATCH", "/api/schemas/confessions", { rls: { enabled: false } })).status).toBe(200);
    const list = await own.pk("GET", "/api/data/confessions");
    expect([list.status, list.text.includes(alice)]).toEqual([200, false]);
  });

  it("moving the owner to a public field is 400 while documents hold authors; declaring the owner field private: false publishes them, with a new ETag", async () => {
    const moved = await own.sk("PATCH", "/api/schemas/confessions", { rls: { ownerField: "other" } });
    expect([moved.status, moved.json.code, moved.json.message]).toEqual([
      400,
      "VALIDATION_FAILED",
      expect.stringContaining("createdBy names the authors of 1 document(s)"),
    ]);
    // Moving it while declaring the old owner field private: false publishes them on purpose.
    const movedAndPublished = await own.sk("PUT", "/api/schemas/confessions", {
      fields: fields(false),
      rls: { enabled: true, mode: "public-read", ownerField: "other" },
    });
    expect(movedAndPublished.status, movedAndPublished.text).toBe(200);
    expect(
      (
        await own.sk("PUT", "/api/schemas/confessions", {
          fields: fields(true),
          rls: { enabled: true, mode: "public-read" },
        })
      ).status,
    ).toBe(200);
    const before = await own.pk("GET", `/api/data/confessions/${doc}`);
    expect(before.text).not.toContain(alice);
    const published = await own.sk("PUT", "/api/schemas/confessions", {
      fields: fields(false),
      rls: { enabled: true, mode: "public-read" },
    });
    expect(published.status, published.text).toBe(200);
    const after = await own.pk("GET", `/api/data/confessions/${doc}`, {
      headers: { "if-none-match": before.headers.get("etag")! },
    });
    expect([after.status, after.json.data.createdBy]).toEqual([200, alice]);
  });
});
