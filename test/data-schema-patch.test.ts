/**
 * PATCH /api/schemas/:name merges fields by name (API.md §4.1; the dx review found a PATCH adding
 * one field dropped all the others, their index and the use of their values).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDefinition } from "../shared/schema/definition.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const items = {
  name: "items",
  fields: [
    { name: "title", type: "string", required: true },
    { name: "price", type: "number", index: true },
  ],
};
const patch = (body: unknown, name = "items") => env.sk("PATCH", `/api/schemas/${name}`, body);
const stored = async (name = "items") => (await env.sk("GET", `/api/schemas/${name}`)).json.data.collection;
const names = (def: { fields: Array<{ name: string }> }) => def.fields.map((field) => field.name);
const indexes = async () => {
  const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
  return (await env.deps.collections.database(project).collection("items").listIndexes())
    .map((i) => i.fields.join())
    .sort();
};

/** Two documents, listed by price. */
async function withDocuments() {
  await env.defineCollection(items);
  const cheap = (await env.sk("POST", "/api/data/items", { title: "a", price: 1 })).json.data;
  await env.sk("POST", "/api/data/items", { title: "b", price: 2 });
  return cheap;
}
const titlesByPrice = async () =>
  ((await env.sk("GET", "/api/data/items?sort=-price")).json.data.items as Array<{ title: string }>).map(
    (item) => item.title,
  );

describe("PATCH /api/schemas/:name with fields", () => {
  it("adds a field and keeps the others, their rules and index; documents keep their values", async () => {
    const cheap = await withDocuments();
    const res = await patch({ fields: [{ name: "condition", type: "string" }] });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.collection.fields).toEqual([
      { name: "title", type: "string", required: true },
      { name: "price", type: "number", required: false, index: true },
      { name: "condition", type: "string", required: false },
    ]);
    expect(await indexes()).toEqual(["createdAt", "price"]);
    expect(await titlesByPrice()).toEqual(["b", "a"]);
    expect((await env.sk("GET", `/api/data/items/${cheap._id}`)).json.data).toMatchObject({ title: "a", price: 1 });
    const changed = await env.sk("PATCH", `/api/data/items/${cheap._id}`, { price: 3, condition: "new" });
    expect([changed.status, changed.json.data?.price]).toEqual([200, 3]);
    expect((await env.sk("POST", "/api/data/items", { price: 4 })).json.details?.[0]?.path).toBe("title"); // still required
  });

  it("replaces a field named in it whole: rules it does not repeat (here the index) go", async () => {
    await withDocuments();
    const res = await patch({ fields: [{ name: "price", type: "number", min: 0 }] });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.collection.fields).toEqual([
      { name: "title", type: "string", required: true },
      { name: "price", type: "number", required: false, min: 0 },
    ]);
    expect(await indexes()).toEqual(["createdAt"]);
    expect(await titlesByPrice()).toEqual(["b", "a"]); // sorted without the index
    expect((await env.sk("POST", "/api/data/items", { title: "c", price: -1 })).status).toBe(400);
  });

  it('removes a field given as {"name": …, "remove": true}, its index with it; documents keep their values', async () => {
    const cheap = await withDocuments();
    const res = await patch({ fields: [{ name: "price", remove: true }] });
    expect(res.status, res.text).toBe(200);
    expect(names(res.json.data.collection)).toEqual(["title"]);
    expect(res.json.data.collection.additionalFields).toBe(false);
    expect(await indexes()).toEqual(["createdAt"]);
    expect((await env.sk("GET", `/api/data/items/${cheap._id}`)).json.data).toMatchObject({ title: "a", price: 1 });
    const write = await env.sk("PATCH", `/api/data/items/${cheap._id}`, { price: 2 });
    expect([write.status, write.json.details?.[0]?.path]).toEqual([400, "price"]);
  });

  it("removing the last field opens the collection to any field unless additionalFields is given", async () => {
    for (const name of ["open", "closed"])
      await env.defineCollection({ name, fields: [{ name: "a", type: "string" }] });
    const removeA = { fields: [{ name: "a", remove: true }] };
    expect((await patch(removeA, "open")).json.data.collection).toMatchObject({ fields: [], additionalFields: true });
    const closed = await patch({ ...removeA, additionalFields: false }, "closed");
    expect(closed.json.data.collection).toMatchObject({ fields: [], additionalFields: false });
    expect((await env.sk("POST", "/api/data/open", { x: 1 })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/closed", { x: 1 })).status).toBe(400);
  });

  it("takes urBackend's model form the same way: by key, remove included", async () => {
    await withDocuments();
    const added = await patch({ model: [{ key: "condition", type: "String", required: false, unique: false }] });
    expect(added.status, added.text).toBe(200);
    expect(names(added.json.data.collection)).toEqual(["title", "price", "condition"]);
    const removed = await patch({ model: [{ key: "title", remove: true }] });
    expect(removed.status, removed.text).toBe(200);
    expect(names(removed.json.data.collection)).toEqual(["price", "condition"]);
    expect(await indexes()).toEqual(["createdAt", "price"]);
  });

  it("refuses, changing nothing: a name twice, a removal of no field, a lookalike name, null", async () => {
    await withDocuments();
    const before = await stored();
    const refusals: Array<[unknown, string, string]> = [
      [
        {
          fields: [
            { name: "condition", type: "string" },
            { name: "condition", type: "number" },
          ],
        },
        "fields.1.name",
        'Duplicate field name "condition" (same as field 0)',
      ],
      [
        {
          fields: [
            { name: "price", remove: true },
            { name: "price", type: "number" },
          ],
        },
        "fields.1.name",
        'Duplicate field name "price" (same as field 0)',
      ],
      [{ fields: [{ name: "size", remove: true }] }, "fields.0.name", 'No field "size" to remove'],
      [
        { fields: [{ name: "Price", type: "number" }] },
        "fields.0.name",
        '"Price" looks like the field "price": a PATCH names a field exactly as declared',
      ],
      [{ fields: null }, "fields", expect.stringContaining("PUT the definition to replace them all")],
      [
        {
          model: [
            { key: "a", type: "String" },
            { key: "a", type: "Number" },
          ],
        },
        "model.1.name",
        expect.any(String),
      ],
    ];
    for (const [body, path, message] of refusals) {
      const res = await patch(body);
      expect([res.status, res.json.code, res.json.details], JSON.stringify(body)).toEqual([
        400,
        "VALIDATION_FAILED",
        [{ path, message }],
      ]);
    }
    expect(await stored()).toEqual(before);
  });

  it("an answer sent back keeps every field (PUT it to drop one)", async () => {
    await withDocuments();
    const answer = await stored();
    const res = await patch({ ...answer, fields: answer.fields.slice(1) });
    expect(res.status, res.text).toBe(200);
    expect(names(res.json.data.collection)).toEqual(["title", "price"]);
  });
});

describe("PATCH of the users definition with fields", () => {
  it("merges too, and refuses only the auth fields it names with rules auth does not apply", async () => {
    const project = (await env.deps.projects.resolveProject(env.project.id))!;
    // Stored before such rules were refused: it keeps loading, and a PATCH that does not name it keeps it.
    expect((await env.sk("PUT", "/api/schemas/users", { fields: [] })).status).toBe(200);
    await env.deps.collections.replace(project, "users", () =>
      parseDefinition({ name: "users", fields: [{ name: "username", type: "string", required: true }] }),
    );
    const added = await patch({ fields: [{ name: "bio", type: "string" }] }, "users");
    expect(added.status, added.text).toBe(200);
    expect(added.json.data.collection.fields).toEqual([
      { name: "username", type: "string", required: true },
      { name: "bio", type: "string", required: false },
    ]);
    const named = await patch(
      {
        fields: [
          { name: "nick", type: "string" },
          { name: "username", type: "string", pattern: "^[a-z]+$" },
        ],
      },
      "users",
    );
    expect([named.status, named.json.details?.map((d: { path: string }) => d.path)]).toEqual([400, ["fields.1"]]);
    const fixed = await patch({ fields: [{ name: "username", type: "string" }] }, "users");
    expect(fixed.json.data.collection.fields).toEqual([
      { name: "username", type: "string", required: false },
      { name: "bio", type: "string", required: false },
    ]);
    const removed = await patch({ fields: [{ name: "username", remove: true }] }, "users");
    expect(names(removed.json.data.collection)).toEqual(["bio"]);
  });
});
