/**
 * `uniqueTogether` (API.md §4.1): groups of fields unique together, from the definition's checks to
 * the 409 of every write, through HTTP against the embedded store.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { detailPaths } from "./helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const FIELDS = [
  { name: "listingId", type: "string" },
  { name: "buyerId", type: "string" },
  { name: "stars", type: "integer" },
  { name: "note", type: "string", private: true },
  { name: "tags", type: "array", items: { type: "string" } },
  { name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] },
  { name: "lines", type: "array", items: { type: "object", fields: [{ name: "sku", type: "string" }] } },
  { name: "extra", type: "any" },
  { name: "hidden", type: "object", private: true, fields: [{ name: "code", type: "string" }] },
];
const PAIR = ["listingId", "buyerId"];
const reviews = (uniqueTogether: unknown, more: Record<string, unknown> = {}) => ({
  name: "reviews",
  fields: FIELDS,
  uniqueTogether,
  ...more,
});
const indexes = async () => {
  const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
  const listed = await env.deps.collections.database(project).collection("reviews").listIndexes();
  return listed.map((index) => `${index.fields.join("+")}${index.unique ? " unique" : ""}`).sort();
};
const definition = async () => (await env.sk("GET", "/api/schemas/reviews")).json.data.collection;
const DUPLICATE_PAIR = 'Duplicate value for unique fields "listingId", "buyerId"';
const PAIR_DETAILS = [
  { path: "listingId", message: 'must be unique together with "buyerId"' },
  { path: "buyerId", message: 'must be unique together with "listingId"' },
];

describe("uniqueTogether in a definition", () => {
  it("is stored, shown by GET (one and all) and made into one unique index per group", async () => {
    const created = await env.defineCollection(reviews([PAIR, ["meta.lang", "listingId", "stars"]]));
    expect(created.uniqueTogether).toEqual([PAIR, ["meta.lang", "listingId", "stars"]]);
    expect((await definition()).uniqueTogether).toEqual([PAIR, ["meta.lang", "listingId", "stars"]]);
    const all = (await env.sk("GET", "/api/schemas")).json.data.collections;
    expect(all.find((c: { name: string }) => c.name === "reviews").uniqueTogether).toHaveLength(2);
    expect(await indexes()).toEqual(["createdAt", "listingId+buyerId unique", "meta.lang+listingId+stars unique"]);
  });

  it("every problem is 400 VALIDATION_FAILED at uniqueTogether.<group>.<position>", async () => {
    const res = await env.sk(
      "POST",
      "/api/schemas",
      reviews([
        ["listingId", "nope"],
        ["listingId", "tags"],
        ["lines.sku", "meta", "extra"],
        ["buyerId", "buyerId"],
        PAIR,
        PAIR,
        ["meta.nope", "stars.x"],
        ["buyerId", "listingId"],
      ]),
    );
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const byPath = Object.fromEntries(
      res.json.details.map((d: { path: string; message: string }) => [d.path, d.message]),
    );
    expect(Object.keys(byPath).sort()).toEqual(
      [
        "uniqueTogether.0.1",
        "uniqueTogether.1.1",
        "uniqueTogether.2.0",
        "uniqueTogether.2.1",
        "uniqueTogether.2.2",
        "uniqueTogether.3.1",
        "uniqueTogether.5",
        "uniqueTogether.6.0",
        "uniqueTogether.6.1",
        "uniqueTogether.7",
      ].sort(),
    );
    expect(byPath["uniqueTogether.0.1"]).toMatch(/^"nope" is not a declared field/);
    expect(byPath["uniqueTogether.1.1"]).toBe(
      '"tags" is of type array: a group takes scalar fields outside arrays, as unique does',
    );
    expect(byPath["uniqueTogether.2.0"]).toMatch(
      /^"lines" is of type array: a dotted path goes through object fields only/,
    );
    expect(byPath["uniqueTogether.2.1"]).toMatch(/^"meta" is of type object/);
    expect(byPath["uniqueTogether.2.2"]).toMatch(/^"extra" is of type any/);
    expect(byPath["uniqueTogether.3.1"]).toBe('"buyerId" is already in this group (position 0)');
    expect(byPath["uniqueTogether.5"]).toBe("The same group as uniqueTogether.4");
    expect(byPath["uniqueTogether.6.0"]).toMatch(/^"meta.nope" is not a declared field/);
    expect(byPath["uniqueTogether.6.1"]).toMatch(/^"stars" is of type integer: a dotted path/);
    expect(byPath["uniqueTogether.7"]).toBe(
      "The fields of uniqueTogether.4 in another order: the same constraint (give it once)",
    );
    const shapes = await env.sk("POST", "/api/schemas", reviews([["listingId"], [1, "stars"]]));
    expect([shapes.status, detailPaths(shapes.json.details)]).toEqual([
      400,
      ["uniqueTogether.0", "uniqueTogether.1.0"],
    ]);
    expect(shapes.json.details[0].message).toBe("A group names at least 2 fields (one alone: declare it unique)");
  });

  it("groups have 2 to 8 fields, at most 16 groups, counted with indexed fields toward the index limit", async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, type: "string" }));
    const post = (fields: unknown[], uniqueTogether: unknown) =>
      env.sk("POST", "/api/schemas", { name: "wide", fields, uniqueTogether });
    const nine = await post(many, [many.slice(0, 9).map((f) => f.name)]);
    expect([nine.status, detailPaths(nine.json.details)]).toEqual([400, ["uniqueTogether.0"]]);
    const groups = (n: number) => Array.from({ length: n }, (_, i) => [`f${i}`, `f${i + 1}`]);
    const seventeen = await post(many, groups(17));
    expect([seventeen.status, detailPaths(seventeen.json.details)]).toEqual([400, ["uniqueTogether"]]);
    const indexed = many.map((f, i) => (i < 10 ? { ...f, index: true } : f));
    const over = await post(indexed, groups(16));
    expect([over.status, over.json.details]).toEqual([
      400,
      [
        {
          path: "uniqueTogether",
          message: "At most 25 fields may be indexed or unique, uniqueTogether groups included (each is one index)",
        },
      ],
    ]);
    expect((await post(indexed, groups(15))).status).toBe(201);
  });

  it("may name the owner field of a collection whose documents have owners, undeclared, or declared as a group takes it", async () => {
    const owned = { rls: { enabled: true, mode: "public-read" } };
    expect((await env.sk("POST", "/api/schemas", reviews([["listingId", "userId"]], owned))).status).toBe(201);
    const notOwned = await env.sk("POST", "/api/schemas", { ...reviews([["listingId", "userId"]]), name: "other" });
    expect([notOwned.status, detailPaths(notOwned.json.details)]).toEqual([400, ["uniqueTogether.0.1"]]);
    const declared = (type: string, more = {}) =>
      env.sk("PUT", "/api/schemas/reviews", {
        ...reviews([["listingId", "userId"]], owned),
        fields: [...FIELDS, { name: "userId", type, ...more }],
      });
    expect((await declared("string")).status).toBe(200);
    // `any` would let an array in: MongoDB's unique index would compare each element, the embedded store the whole.
    const any = await declared("any");
    expect([any.status, any.json.details]).toEqual([
      400,
      [
        {
          path: "uniqueTogether.0.1",
          message: '"userId" is of type any: a group takes scalar fields outside arrays, as unique does',
        },
      ],
    ]);
    const hidden = await declared("string", { private: true });
    expect([hidden.status, detailPaths(hidden.json.details)]).toEqual([400, ["uniqueTogether.0.1"]]);
  });

  it("refuses a private field, or one under a private object, saying why; making a grouped field private is refused too", async () => {
    const res = await env.sk(
      "POST",
      "/api/schemas",
      reviews([
        ["listingId", "note"],
        ["hidden.code", "buyerId"],
      ]),
    );
    expect([res.status, res.json.details]).toEqual([
      400,
      [
        {
          path: "uniqueTogether.0.1",
          message: '"note" is private: a group names public fields only (a duplicate names its fields to every caller)',
        },
        {
          path: "uniqueTogether.1.0",
          message:
            '"hidden" is private: a group names public fields only (a duplicate names its fields to every caller)',
        },
      ],
    ]);
    await env.defineCollection(reviews([PAIR]));
    const hide = await env.sk("PATCH", "/api/schemas/reviews", {
      fields: [{ name: "buyerId", type: "string", private: true }],
    });
    expect([hide.status, detailPaths(hide.json.details)]).toEqual([400, ["uniqueTogether.0.1"]]);
  });

  it("removing a field a group names, or retyping it to object, array or any, is refused (PUT, PATCH, PATCH's remove) unless the group goes too", async () => {
    await env.defineCollection(reviews([PAIR]));
    const removed = await env.sk("PATCH", "/api/schemas/reviews", { fields: [{ name: "buyerId", remove: true }] });
    expect([removed.status, removed.json.details]).toEqual([
      400,
      [
        {
          path: "uniqueTogether.0.1",
          message:
            '"buyerId" is not a declared field: a group names declared fields (take it out of the group, or the group out, with the field)',
        },
      ],
    ]);
    const retyped = await env.sk("PATCH", "/api/schemas/reviews", { fields: [{ name: "buyerId", type: "object" }] });
    expect([retyped.status, detailPaths(retyped.json.details)]).toEqual([400, ["uniqueTogether.0.1"]]);
    const put = await env.sk("PUT", "/api/schemas/reviews", { fields: FIELDS.slice(1), uniqueTogether: [PAIR] });
    expect([put.status, detailPaths(put.json.details)]).toEqual([400, ["uniqueTogether.0.0"]]);
    expect((await definition()).uniqueTogether).toEqual([PAIR]);
    expect(await indexes()).toEqual(["createdAt", "listingId+buyerId unique"]);
    // Another scalar type is a field a group takes: the group and its index stay.
    const scalar = await env.sk("PATCH", "/api/schemas/reviews", { fields: [{ name: "buyerId", type: "integer" }] });
    expect([scalar.status, scalar.json.data.collection.uniqueTogether]).toEqual([200, [PAIR]]);
    expect(await indexes()).toEqual(["createdAt", "listingId+buyerId unique"]);

    const both = await env.sk("PATCH", "/api/schemas/reviews", {
      fields: [{ name: "buyerId", remove: true }],
      uniqueTogether: [],
    });
    expect(both.status).toBe(200);
    expect(both.json.data.collection.uniqueTogether).toBeUndefined();
    expect(await indexes()).toEqual(["createdAt"]);
  });

  it("PATCH keeps uniqueTogether when it does not give it and replaces it when it does; PUT without it has none", async () => {
    await env.defineCollection(reviews([PAIR]));
    const kept = await env.sk("PATCH", "/api/schemas/reviews", { fields: [{ name: "title", type: "string" }] });
    expect(kept.json.data.collection.uniqueTogether).toEqual([PAIR]);
    const replaced = await env.sk("PATCH", "/api/schemas/reviews", { uniqueTogether: [["buyerId", "stars"]] });
    expect(replaced.json.data.collection.uniqueTogether).toEqual([["buyerId", "stars"]]);
    expect(await indexes()).toEqual(["buyerId+stars unique", "createdAt"]);
    const cleared = await env.sk("PATCH", "/api/schemas/reviews", { uniqueTogether: null });
    expect(cleared.json.data.collection.uniqueTogether).toBeUndefined();
    await env.sk("PATCH", "/api/schemas/reviews", { uniqueTogether: [PAIR] });
    const put = await env.sk("PUT", "/api/schemas/reviews", { fields: FIELDS });
    expect([put.status, put.json.data.collection.uniqueTogether]).toEqual([200, undefined]);
    expect(await indexes()).toEqual(["createdAt"]);
  });
});

describe("adding a group over existing documents", () => {
  it("existing duplicates are 409 and leave the definition and the indexes as they were", async () => {
    await env.defineCollection(reviews(null));
    await env.sk("POST", "/api/data/reviews/bulk", [
      { listingId: "l", buyerId: "b" },
      { listingId: "l", buyerId: "b" },
    ]);
    const res = await env.sk("PATCH", "/api/schemas/reviews", { uniqueTogether: [["stars", "listingId"], PAIR] });
    expect([res.status, res.json.code, res.json.message]).toEqual([
      409,
      "DUPLICATE_VALUE",
      'Existing documents hold duplicate values for unique fields "listingId", "buyerId"',
    ]);
    expect((await definition()).uniqueTogether).toBeUndefined();
    expect(await indexes()).toEqual(["createdAt"]);
  });

  it("arrays stored at a group's field (before it was declared) are 400, naming the field", async () => {
    await env.defineCollection({ name: "reviews", fields: [], additionalFields: true });
    await env.sk("POST", "/api/data/reviews", { listingId: ["l"], buyerId: "b" });
    const res = await env.sk("PUT", "/api/schemas/reviews", { fields: FIELDS, uniqueTogether: [PAIR] });
    expect([res.status, res.json.code, detailPaths(res.json.details)]).toEqual([
      400,
      "VALIDATION_FAILED",
      ["uniqueTogether"],
    ]);
    expect(res.json.message).toMatch(
      /^unique fields "listingId", "buyerId": 1 document\(s\) hold an array at "listingId"/,
    );
    expect(await indexes()).toEqual(["createdAt"]);
  });
});

describe("writes that break a group", () => {
  beforeEach(async () => {
    await env.defineCollection(reviews([PAIR], { permissions: { create: "guest", update: "guest", read: "guest" } }));
  });
  const insert = (doc: Record<string, unknown>) => env.sk("POST", "/api/data/reviews", doc);

  it("an insert is 409 DUPLICATE_VALUE naming the fields; other combinations, and documents lacking a field, are fine", async () => {
    expect((await insert({ listingId: "l", buyerId: "b", stars: 5 })).status).toBe(201);
    const again = await insert({ listingId: "l", buyerId: "b", stars: 1 });
    expect([again.status, again.json.code, again.json.message, again.json.details]).toEqual([
      409,
      "DUPLICATE_VALUE",
      DUPLICATE_PAIR,
      PAIR_DETAILS,
    ]);
    for (const doc of [
      { listingId: "l", buyerId: "c" },
      { listingId: "m", buyerId: "b" },
      { listingId: "l" },
      { listingId: "l" },
      { listingId: "L", buyerId: "b" },
    ]) {
      expect((await insert(doc)).status).toBe(201);
    }
  });

  it("null for a declared field is no value (left out), so a document sent with null in a group's field never clashes", async () => {
    // The store compares null as a value (the contract suite); the data API never stores one at a declared field.
    expect((await insert({ listingId: "l", buyerId: null })).status).toBe(201);
    expect((await insert({ listingId: "l", buyerId: null })).status).toBe(201);
  });

  it("a bulk insert is all or nothing: 409 naming the item, within the batch or against a stored document", async () => {
    await insert({ listingId: "l", buyerId: "b" });
    const stored = await env.sk("POST", "/api/data/reviews/bulk", [
      { listingId: "x", buyerId: "y" },
      { listingId: "l", buyerId: "b" },
    ]);
    expect([stored.status, stored.json.code, stored.json.message]).toEqual([
      409,
      "DUPLICATE_VALUE",
      `${DUPLICATE_PAIR}; nothing was inserted`,
    ]);
    expect(stored.json.details).toEqual([
      { path: "1.listingId", message: 'must be unique together with "buyerId"', index: 1 },
      { path: "1.buyerId", message: 'must be unique together with "listingId"', index: 1 },
    ]);
    const inBatch = await env.sk("POST", "/api/data/reviews/bulk", [
      { listingId: "p", buyerId: "q" },
      { listingId: "p", buyerId: "r" },
      { listingId: "p", buyerId: "q" },
    ]);
    expect([inBatch.status, inBatch.json.details[0].index]).toEqual([409, 2]);
    expect((await env.sk("GET", "/api/data/reviews?count=true")).json.data.count).toBe(1);
  });

  it("PUT and PATCH are 409, a PATCH of one field of the group too (the other from the stored document)", async () => {
    await insert({ listingId: "l", buyerId: "b" });
    const other = (await insert({ listingId: "m", buyerId: "b" })).json.data;
    const patch = await env.sk("PATCH", `/api/data/reviews/${other._id}`, { listingId: "l" });
    expect([patch.status, patch.json.code, patch.json.message, patch.json.details]).toEqual([
      409,
      "DUPLICATE_VALUE",
      DUPLICATE_PAIR,
      PAIR_DETAILS,
    ]);
    const put = await env.sk("PUT", `/api/data/reviews/${other._id}`, { listingId: "l", buyerId: "b", stars: 2 });
    expect([put.status, put.json.message]).toEqual([409, DUPLICATE_PAIR]);
    expect((await env.sk("GET", `/api/data/reviews/${other._id}`)).json.data.listingId).toBe("m");
    expect((await env.sk("PATCH", `/api/data/reviews/${other._id}`, { stars: 3 })).status).toBe(200);
    expect((await env.sk("PATCH", `/api/data/reviews/${other._id}`, { buyerId: "c", listingId: "l" })).status).toBe(
      200,
    );
  });

  it("a group on the owner field is one document per owner per value, for end users too", async () => {
    await env.sk("PUT", "/api/schemas/reviews", {
      fields: FIELDS,
      uniqueTogether: [["listingId", "userId"]],
      rls: { enabled: true, mode: "public-read" },
      permissions: { create: "user" },
    });
    const [alice, bob] = [newUserId(), newUserId()];
    const post = async (user: string, body: Record<string, unknown>) =>
      env.pk("POST", "/api/data/reviews", { token: await env.token(user), body });
    expect((await post(alice, { listingId: "l" })).status).toBe(201);
    expect((await post(bob, { listingId: "l" })).status).toBe(201);
    const again = await post(alice, { listingId: "l", stars: 1 });
    expect([again.status, again.json.message]).toEqual([
      409,
      'Duplicate value for unique fields "listingId", "userId"',
    ]);
  });
});
