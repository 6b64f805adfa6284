/** /api/schemas (API.md §4.1) over HTTP: create, get, list, replace, merge, delete, and who may do what. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuthApp } from "../functions/auth/app.js";
import { call, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const posts = {
  name: "posts",
  fields: [
    { name: "title", type: "String", required: true, maxLength: 200 },
    { key: "views", type: "NUMBER", min: 0, default: 0 },
    { name: "secret", type: "string", private: true },
  ],
  rls: { enabled: true, mode: "public-read" },
  permissions: { create: "user" },
};

describe("caller matrix", () => {
  const routes: Array<[string, string, unknown, number]> = [
    ["GET", "/api/schemas", undefined, 200],
    ["GET", "/api/schemas/posts", undefined, 200],
    ["POST", "/api/schemas", { name: "fresh" }, 201],
    ["PUT", "/api/schemas/posts", { fields: [{ name: "title", type: "string" }] }, 200],
    ["PATCH", "/api/schemas/posts", { additionalFields: true }, 200],
    ["DELETE", "/api/schemas/posts", undefined, 200],
  ];
  const callers = ["no key", "bad key", "pk", "pk+token", "pk+foreign key", "sk"] as const;
  const table = routes.flatMap(([method, path, body, success]) =>
    callers.map((caller) => ({ method, path, body, success, caller })),
  );

  it.each(table)("$method $path as $caller", async ({ method, path, body, success, caller }) => {
    await env.defineCollection(posts);
    const other = await env.deps.projects.create({ name: "other" });
    const key = {
      "no key": null,
      "bad key": `${env.project.sk.slice(0, -3)}xyz`,
      pk: env.project.pk,
      "pk+token": env.project.pk,
      "pk+foreign key": other.keys.publishable,
      sk: env.project.sk,
    }[caller];
    const token = caller === "pk+token" ? await env.token(newUserId()) : null;
    const res = await call(env.app, method, path, { key, token, body });
    const reading = method === "GET";
    if (caller === "no key") expect([res.status, res.json.code]).toEqual([401, "API_KEY_MISSING"]);
    else if (caller === "bad key") expect([res.status, res.json.code]).toEqual([401, "API_KEY_INVALID"]);
    else if (caller === "pk+foreign key") {
      // Another project's key sees its own (empty) project, never this one's definitions.
      if (!reading) expect([res.status, res.json.code]).toEqual([403, "WRITE_BLOCKED"]);
      else if (path === "/api/schemas")
        expect(res.json.data.collections.map((c: { name: string }) => c.name)).toEqual(["users"]);
      else expect([res.status, res.json.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
    } else if (caller === "sk" || reading) {
      expect(res.status).toBe(success);
      expect(res.json.success).toBe(true);
    } else {
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ code: "WRITE_BLOCKED", message: "Write blocked for publishable key" });
    }
    if (caller !== "sk") {
      // Nothing changed for anyone but sk.
      const def = (await env.sk("GET", "/api/schemas/posts")).json.data.collection;
      expect(def.fields.map((f: { name: string }) => f.name)).toEqual(["title", "views", "secret"]);
      expect(def.additionalFields).toBe(false);
    }
  });
});

describe("create, get, list", () => {
  it("creates a definition and answers it normalized (type names lower-cased, key → name)", async () => {
    const res = await env.sk("POST", "/api/schemas", posts);
    expect(res.status).toBe(201);
    expect(res.json.data.collection).toMatchObject({
      name: "posts",
      fields: [
        { name: "title", type: "string", required: true, maxLength: 200 },
        { name: "views", type: "number", required: false, min: 0, default: 0 },
        { name: "secret", type: "string", required: false, private: true },
      ],
      additionalFields: false,
      rls: { enabled: true, mode: "public-read", ownerField: "userId" },
      permissions: { create: "user" },
      implicit: false,
    });
    expect(res.json.data.collection.fields[1]).not.toHaveProperty("key");
    const got = await env.sk("GET", "/api/schemas/posts");
    expect(got.json.data.collection).toEqual(res.json.data.collection);
  });

  it("409 COLLECTION_EXISTS for a second create of the same name", async () => {
    await env.defineCollection(posts);
    const res = await env.sk("POST", "/api/schemas", { name: "posts" });
    expect([res.status, res.json.code]).toEqual([409, "COLLECTION_EXISTS"]);
  });

  it("lists every definition by name; pk does not see private fields", async () => {
    await env.defineCollection(posts);
    await env.defineCollection({ name: "authors" });
    const sk = await env.sk("GET", "/api/schemas");
    expect(sk.json.data.collections.map((c: { name: string }) => c.name)).toEqual(["authors", "posts", "users"]);
    const pk = await env.pk("GET", "/api/schemas");
    const pkPosts = pk.json.data.collections.find((c: { name: string }) => c.name === "posts");
    expect(pkPosts.fields.map((f: { name: string }) => f.name)).toEqual(["title", "views"]);
    const one = await env.pk("GET", "/api/schemas/posts");
    expect(one.json.data.collection.fields.map((f: { name: string }) => f.name)).toEqual(["title", "views"]);
  });

  it("pk does not see private fields nested in objects or array items either", async () => {
    await env.defineCollection({
      name: "orders",
      fields: [
        {
          name: "meta",
          type: "object",
          fields: [
            { name: "note", type: "string" },
            { name: "score", type: "number", private: true },
          ],
        },
        {
          name: "lines",
          type: "array",
          items: {
            type: "object",
            fields: [
              { name: "sku", type: "string" },
              { name: "cost", type: "number", private: true },
            ],
          },
        },
      ],
    });
    const names = (fields: Array<{ name: string }> = []) => fields.map((f) => f.name);
    const pk = (await env.pk("GET", "/api/schemas/orders")).json.data.collection;
    expect(names(pk.fields[0].fields)).toEqual(["note"]);
    expect(names(pk.fields[1].items.fields)).toEqual(["sku"]);
    const listed = (await env.pk("GET", "/api/schemas")).json.data.collections.find(
      (c: { name: string }) => c.name === "orders",
    );
    expect(JSON.stringify(listed)).not.toMatch(/score|cost/);
    const sk = (await env.sk("GET", "/api/schemas/orders")).json.data.collection;
    expect([names(sk.fields[0].fields), names(sk.fields[1].items.fields)]).toEqual([
      ["note", "score"],
      ["sku", "cost"],
    ]);
  });

  it("pk sees a parent's default without the private values in it, as a pk read of a document holding it shows", async () => {
    const meta = { apiSecret: "hunter2", lang: "en" };
    const links = [{ url: "a", token: "t0k3n" }];
    await env.defineCollection({
      name: "accounts",
      fields: [
        {
          name: "meta",
          type: "object",
          default: meta,
          fields: [
            { name: "apiSecret", type: "string", private: true },
            { name: "lang", type: "string" },
          ],
        },
        {
          name: "links",
          type: "array",
          default: links,
          items: {
            type: "object",
            fields: [
              { name: "url", type: "string" },
              { name: "token", type: "string", private: true },
            ],
          },
        },
      ],
      permissions: { read: "guest" },
    });
    const id = (await env.sk("POST", "/api/data/accounts", {})).json.data._id;
    const doc = (await env.pk("GET", `/api/data/accounts/${id}`)).json.data;
    expect([doc.meta, doc.links]).toEqual([{ lang: "en" }, [{ url: "a" }]]);
    const one = (await env.pk("GET", "/api/schemas/accounts")).json.data.collection;
    expect(one.fields.map((f: { default: unknown }) => f.default)).toEqual([doc.meta, doc.links]);
    const listed = (await env.pk("GET", "/api/schemas")).json.data.collections;
    expect(JSON.stringify(listed)).not.toMatch(/hunter2|t0k3n/);
    const sk = (await env.sk("GET", "/api/schemas/accounts")).json.data.collection;
    expect(sk.fields.map((f: { default: unknown }) => f.default)).toEqual([meta, links]);
  });

  it("404 COLLECTION_NOT_FOUND for a missing or malformed name", async () => {
    for (const name of ["nope", "_collections", "system.x", "1abc", "a%20b"]) {
      const res = await env.sk("GET", `/api/schemas/${name}`);
      expect([res.status, res.json.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
    }
  });

  it("refuses to define users in another case, which /api/data never serves", async () => {
    const res = await env.sk("POST", "/api/schemas", { name: "Users", fields: [{ name: "email", type: "string" }] });
    expect([res.status, res.json.code, res.json.details]).toEqual([
      400,
      "VALIDATION_FAILED",
      [{ path: "name", message: 'Collection name "Users" is reserved: the accounts collection is `users`' }],
    ]);
    expect((await env.sk("GET", "/api/schemas/Users")).status).toBe(404);
    expect((await env.sk("GET", "/api/data/Users")).json.code).toBe("USERS_COLLECTION_BLOCKED");
  });

  it("400 VALIDATION_FAILED naming every problem of a bad definition", async () => {
    const res = await env.sk("POST", "/api/schemas", {
      name: "_reserved",
      fields: [
        { name: "a", type: "strin" },
        { name: "$b", type: "string" },
        { name: "c", type: "number", minLength: 2 },
      ],
      rls: { mode: "open" },
    });
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const paths = res.json.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(["name", "fields.0.type", "fields.1.name", "fields.2.minLength", "rls.mode"]),
    );
    const unnamed = await env.sk("POST", "/api/schemas", { fields: [{ type: "string" }] });
    expect(unnamed.json.details).toEqual([
      { path: "name", message: "Required" },
      { path: "fields.0.name", message: "Required" },
    ]);
  });

  it("400 VALIDATION_FAILED for an all-digit field name at any depth, on POST, PUT and PATCH", async () => {
    const fields = [
      { name: "title", type: "string" },
      { name: "meta", type: "object", fields: [{ name: "7", type: "string", private: true }] },
    ];
    const post = await env.sk("POST", "/api/schemas", { name: "digits", fields });
    expect([post.status, post.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(post.json.details).toEqual([
      {
        path: "fields.1.fields.0.name",
        message: 'Field name "7" must not be all digits (a numeric path segment reads as an array position)',
      },
    ]);
    await env.defineCollection({ name: "digits", fields: [{ name: "title", type: "string" }] });
    const put = await env.sk("PUT", "/api/schemas/digits", {
      name: "digits",
      fields: [{ name: "1234", type: "string" }],
    });
    const patch = await env.sk("PATCH", "/api/schemas/digits", { fields });
    for (const res of [put, patch]) expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect((await env.sk("GET", "/api/schemas/digits")).json.data.collection.fields).toEqual([
      { name: "title", type: "string", required: false },
    ]);
  });

  it("400 VALIDATION_FAILED for an owner field no user id fits (a type that holds no string, an enum), when owners apply", async () => {
    const owned = (userId: Record<string, unknown>, rules: Record<string, unknown> = { rls: { enabled: true } }) => ({
      fields: [
        { name: "userId", ...userId },
        { name: "text", type: "string" },
      ],
      ...rules,
    });
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ type: "number" }, "fields.0.type"],
      [{ type: "boolean" }, "fields.0.type"],
      [{ type: "date" }, "fields.0.type"],
      [{ type: "email" }, "fields.0.type"],
      [{ type: "object" }, "fields.0.type"],
      // An array of string or ref ids is a member list; its checks are in data-members.test.ts.
      [{ type: "string", enum: ["admin"] }, "fields.0.enum"],
      [{ type: "string", maxLength: 8 }, "fields.0.maxLength"],
      [{ type: "string", minLength: 25 }, "fields.0.minLength"],
    ];
    for (const [userId, path] of refused) {
      for (const rules of [{ rls: { enabled: true } }, { permissions: { update: "owner" } }]) {
        const res = await env.sk("POST", "/api/schemas", { name: "notes", ...owned(userId, rules) });
        expect([res.status, res.json.code, res.json.details?.map((d: { path: string }) => d.path)]).toEqual([
          400,
          "VALIDATION_FAILED",
          [path],
        ]);
        expect(res.json.details[0].message).toMatch(/^The owner field "userId" holds the owner's user id/);
      }
    }
    // Without owners the field is an ordinary one; turning owners on over it is refused.
    await env.defineCollection({ name: "notes", ...owned({ type: "number" }, {}) });
    const patch = await env.sk("PATCH", "/api/schemas/notes", { rls: { enabled: true } });
    expect([patch.status, patch.json.details?.[0]?.path]).toEqual([400, "fields.0.type"]);
    // Types a user id fits (a pattern is the operator's business) take every user's insert.
    const token = await env.token(newUserId());
    const fitting = [
      { type: "string" },
      { type: "ref", ref: "users" },
      { type: "any" },
      { pattern: "^[0-9a-f]+$" },
      { minLength: 24, maxLength: 24 },
    ];
    for (const [i, userId] of fitting.entries()) {
      const name = `owned${i}`;
      await env.defineCollection({ name, ...owned({ type: "string", ...userId }) });
      const insert = await env.pk("POST", `/api/data/${name}`, { token, body: { text: "hi" } });
      expect(insert.status, insert.text).toBe(201);
    }
  });

  it("400 INVALID_JSON for a malformed body", async () => {
    const res = await env.sk("POST", "/api/schemas", "{name:");
    expect([res.status, res.json.code]).toEqual([400, "INVALID_JSON"]);
  });
});

describe("definition bodies pass the body checks", () => {
  it.each([
    '{"name":"n","fields":[{"name":"x","type":"any","default":1e400}]}',
    '{"name":"n","fields":[{"name":"x","type":"object","default":{"k":[-1e400]}}]}',
    '{"name":"n","fields":[{"name":"x","type":"any","enum":[1e400]}]}',
  ])("a number JSON cannot carry in %s → 400, nothing defined", async (body) => {
    const res = await env.sk("POST", "/api/schemas", body);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.text).toContain("numbers must be finite");
    expect((await env.sk("GET", "/api/schemas/n")).status).toBe(404);
  });

  it("a default object with a $-key → 400 INVALID_FIELD_NAME", async () => {
    const res = await env.sk("POST", "/api/schemas", {
      name: "n",
      fields: [{ name: "x", type: "object", default: { $where: "1" } }],
    });
    expect([res.status, res.json.code]).toEqual([400, "INVALID_FIELD_NAME"]);
  });
});

describe("answers carry urBackend's model; an answer sent back is a body", () => {
  const orders = {
    name: "orders",
    fields: [
      { name: "sku", type: "string", required: true, unique: true, maxLength: 20 },
      { name: "buyer", type: "ref", ref: "users" },
      { name: "lines", type: "array", items: { type: "object", fields: [{ name: "qty", type: "integer", min: 1 }] } },
    ],
    permissions: { read: "user" },
  };
  const get = async () => (await env.sk("GET", "/api/schemas/orders")).json.data.collection;

  it("model spells the fields as urBackend does (key, capitalized type, required, unique, ref, items); pk sees no private ones", async () => {
    await env.defineCollection(orders);
    expect((await get()).model).toEqual([
      { key: "sku", type: "String", required: true, unique: true },
      { key: "buyer", type: "Ref", required: false, unique: false, ref: "users" },
      {
        key: "lines",
        type: "Array",
        required: false,
        unique: false,
        items: { type: "Object", fields: [{ key: "qty", type: "Integer", required: false, unique: false }] },
      },
    ]);
    const alone = await env.sk("PUT", "/api/schemas/orders", { model: (await get()).model });
    expect(alone.status).toBe(200); // unique: false inside an array's items asks for nothing, so it fits
    expect(alone.json.data.collection.model).toEqual((await get()).model);
    await env.defineCollection(posts);
    const pkPosts = (await env.pk("GET", "/api/schemas/posts")).json.data.collection;
    expect(pkPosts.model.map((f: { key: string }) => f.key)).toEqual(["title", "views"]);
  });

  it("GET → PUT and GET → PATCH of the answer as it is change nothing", async () => {
    await env.defineCollection(orders);
    const before = await get();
    for (const method of ["PUT", "PATCH"]) {
      const res = await env.sk(method, "/api/schemas/orders", before);
      expect([method, res.status]).toEqual([method, 200]);
      const { updatedAt, ...answer } = res.json.data.collection;
      const { updatedAt: _, ...expected } = before;
      expect(answer).toEqual(expected);
    }
  });

  it("an edited fields counts (model as answered gives way); an edited model next to fields is 400, never a loss of rules", async () => {
    await env.defineCollection(orders);
    const answer = await get();
    const viaFields = await env.sk("PUT", "/api/schemas/orders", {
      ...answer,
      fields: [...answer.fields, { name: "note", type: "string", private: true }],
    });
    expect(viaFields.status).toBe(200);
    expect(viaFields.json.data.collection.fields.map((f: { name: string }) => f.name)).toEqual([
      "sku",
      "buyer",
      "lines",
      "note",
    ]);
    const again = await get();
    const viaModel = await env.sk("PATCH", "/api/schemas/orders", {
      ...again,
      model: [...again.model, { key: "title", type: "String", required: true }],
    });
    expect([viaModel.status, viaModel.json.details[0]]).toEqual([
      400,
      { path: "model", message: "Give fields or model, not both" },
    ]);
    expect((await get()).fields).toEqual(again.fields); // note stays private
  });

  it("fields and model that both differ from the answer are 400; an answer copied to POST makes a new collection", async () => {
    await env.defineCollection(orders);
    const answer = await get();
    const both = await env.sk("PUT", "/api/schemas/orders", {
      ...answer,
      fields: [{ name: "a", type: "string" }],
      model: [{ key: "b", type: "String" }],
    });
    expect([both.status, both.json.code, both.json.details[0]]).toEqual([
      400,
      "VALIDATION_FAILED",
      { path: "model", message: "Give fields or model, not both" },
    ]);
    expect((await get()).fields).toEqual(answer.fields);
    const copy = await env.sk("POST", "/api/schemas", { ...answer, name: "archive" });
    expect(copy.status).toBe(201);
    expect(copy.json.data.collection).toMatchObject({ name: "archive", fields: answer.fields, model: answer.model });
  });
});

describe("PUT replaces, PATCH merges", () => {
  it("PUT replaces the whole definition (rules not given fall back to the defaults)", async () => {
    await env.defineCollection(posts);
    const res = await env.sk("PUT", "/api/schemas/posts", { fields: [{ name: "body", type: "string" }] });
    expect(res.status).toBe(200);
    expect(res.json.data.collection).toMatchObject({
      name: "posts",
      fields: [{ name: "body", type: "string" }],
      rls: { enabled: false },
      permissions: {},
    });
  });

  it("PUT refuses a rename and answers 404 for a missing collection", async () => {
    await env.defineCollection(posts);
    const renamed = await env.sk("PUT", "/api/schemas/posts", { name: "other" });
    expect([renamed.status, renamed.json.code, renamed.json.details[0].path]).toEqual([
      400,
      "VALIDATION_FAILED",
      "name",
    ]);
    const missing = await env.sk("PUT", "/api/schemas/missing", { fields: [] });
    expect([missing.status, missing.json.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
  });

  it("PATCH merges rules per operation and rls per key, never dropping a role", async () => {
    await env.defineCollection(posts);
    const res = await env.sk("PATCH", "/api/schemas/posts", {
      rls: { mode: "private" },
      permissions: { delete: "secret" },
    });
    expect(res.status).toBe(200);
    expect(res.json.data.collection).toMatchObject({
      rls: { enabled: true, mode: "private", ownerField: "userId" },
      permissions: { create: "user", delete: "secret" },
    });
    expect(res.json.data.collection.fields).toHaveLength(3);
    const cleared = await env.sk("PATCH", "/api/schemas/posts", { permissions: { create: null } });
    expect(cleared.json.data.collection.permissions).toEqual({ delete: "secret" });
  });

  it("PATCH removing every field leaves a collection open to any field, as PUT does (unless additionalFields is given)", async () => {
    for (const name of ["viaput", "viapatch", "closed"]) {
      await env.defineCollection({ name, fields: [{ name: "title", type: "string" }] });
    }
    const removeTitle = [{ name: "title", remove: true }];
    const changes: Array<[string, string, Record<string, unknown>, boolean]> = [
      ["PUT", "viaput", { fields: [] }, true],
      ["PATCH", "viapatch", { fields: removeTitle }, true],
      ["PATCH", "closed", { fields: removeTitle, additionalFields: false }, false],
    ];
    for (const [method, name, body, open] of changes) {
      const res = await env.sk(method, `/api/schemas/${name}`, body);
      expect([res.status, res.json.data.collection.fields, res.json.data.collection.additionalFields]).toEqual([
        200,
        [],
        open,
      ]);
      expect((await env.sk("POST", `/api/data/${name}`, { title: "x" })).status).toBe(open ? 201 : 400);
    }
  });

  it("PATCH refuses a rename and answers 404 for a missing collection", async () => {
    await env.defineCollection(posts);
    expect((await env.sk("PATCH", "/api/schemas/posts", { name: "x" })).status).toBe(400);
    expect((await env.sk("PATCH", "/api/schemas/missing", { additionalFields: true })).status).toBe(404);
  });

  it("a change takes effect on the next request", async () => {
    await env.defineCollection(posts);
    const before = await env.sk("POST", "/api/data/posts", { title: "a", extra: 1 });
    expect([before.status, before.json.details?.[0]?.path]).toEqual([400, "extra"]);
    await env.sk("PATCH", "/api/schemas/posts", {
      additionalFields: true,
      fields: [...posts.fields, { name: "lang", type: "string", required: true }],
    });
    const missingLang = await env.sk("POST", "/api/data/posts", { title: "a", extra: 1 });
    expect([missingLang.status, missingLang.json.details?.[0]?.path]).toEqual([400, "lang"]);
    const ok = await env.sk("POST", "/api/data/posts", { title: "a", lang: "en", extra: 1 });
    expect(ok.status).toBe(201);
    expect(ok.json.data).toMatchObject({ title: "a", lang: "en", extra: 1, views: 0 });
  });

  it("making a field unique over duplicate values is 409 DUPLICATE_VALUE and changes nothing", async () => {
    await env.defineCollection({ name: "tags", fields: [{ name: "slug", type: "string" }] });
    await env.sk("POST", "/api/data/tags", { slug: "a" });
    await env.sk("POST", "/api/data/tags", { slug: "a" });
    const res = await env.sk("PUT", "/api/schemas/tags", { fields: [{ name: "slug", type: "string", unique: true }] });
    expect([res.status, res.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    const def = (await env.sk("GET", "/api/schemas/tags")).json.data.collection;
    expect(def.fields[0].unique).toBeUndefined();
    expect((await env.sk("POST", "/api/data/tags", { slug: "a" })).status).toBe(201);
  });

  it("making a field unique over arrays stored there (or on its path) is 400 on every store; once unset it is not", async () => {
    await env.sk("POST", "/api/data/tagged", { tag: ["a", "b"], meta: [{ slug: "x" }] });
    await env.sk("POST", "/api/data/tagged", { tag: ["b"], meta: { slug: "y" } });
    const unique = (name: string) => ({ fields: [{ name, type: "string", unique: true }], additionalFields: true });
    const tag = await env.sk("PUT", "/api/schemas/tagged", unique("tag"));
    expect([tag.status, tag.json.code, tag.json.message]).toEqual([
      400,
      "VALIDATION_FAILED",
      'unique field "tag": 2 document(s) hold an array there; a unique field takes single values, so change or unset them first',
    ]);
    const nested = await env.sk("PUT", "/api/schemas/tagged", {
      fields: [{ name: "meta", type: "object", fields: [{ name: "slug", type: "string", unique: true }] }],
      additionalFields: true,
    });
    expect([nested.status, nested.json.message]).toEqual([400, expect.stringContaining('"meta.slug": 1 document(s)')]);
    expect((await env.sk("GET", "/api/schemas/tagged")).json.data.collection.fields).toEqual([]);
    const { items } = (await env.sk("GET", "/api/data/tagged")).json.data;
    for (const item of items) await env.sk("PATCH", `/api/data/tagged/${item._id}`, { tag: null });
    expect((await env.sk("PUT", "/api/schemas/tagged", unique("tag"))).status).toBe(200);
  });

  it("unique and index follow the definition: an index made unique later holds", async () => {
    await env.defineCollection({ name: "tags", fields: [{ name: "slug", type: "string", index: true }] });
    await env.sk("POST", "/api/data/tags", { slug: "a" });
    await env.sk("PATCH", "/api/schemas/tags", { fields: [{ name: "slug", type: "string", unique: true }] });
    const dup = await env.sk("POST", "/api/data/tags", { slug: "a" });
    expect([dup.status, dup.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    await env.sk("PATCH", "/api/schemas/tags", { fields: [{ name: "slug", type: "string" }] });
    expect((await env.sk("POST", "/api/data/tags", { slug: "a" })).status).toBe(201);
  });

  it("at most 25 indexed or unique fields, counted at every level (MongoDB keeps 64 indexes per collection)", async () => {
    const fields = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `f${i}`, type: "string", [i % 2 ? "index" : "unique"]: true }));
    const nested = { name: "meta", type: "object", fields: fields(2) };
    for (const body of [{ fields: fields(26) }, { fields: [...fields(24), nested] }]) {
      const res = await env.sk("POST", "/api/schemas", { name: "wide", ...body });
      expect([res.status, res.json.code, res.json.details?.[0]?.path]).toEqual([400, "VALIDATION_FAILED", "fields"]);
      expect(res.json.details[0].message).toContain("At most 25");
    }
    expect((await env.sk("POST", "/api/schemas", { name: "wide", fields: fields(25) })).status).toBe(201);
    const more = await env.sk("PATCH", "/api/schemas/wide", { fields: fields(26) });
    expect([more.status, more.json.code]).toEqual([400, "VALIDATION_FAILED"]);
  });

  it("the owner field is indexed while the documents have owners, as the definition changes", async () => {
    const notes = env.deps.store.tenant({ projectId: env.project.id }).collection("notes");
    const indexes = async () =>
      (await notes.listIndexes()).sort((a, b) => a.fields.join().localeCompare(b.fields.join()));
    const plain = (...fields: string[]) => fields.map((field) => ({ fields: [field], unique: false }));
    const text = { name: "text", type: "string" };
    await env.defineCollection({ name: "notes", fields: [text], rls: { enabled: true, mode: "private" } });
    await env.sk("POST", "/api/data/notes", { text: "a", userId: "65f0a1b2c3d4e5f601234567" });
    expect(await indexes()).toEqual(plain("createdAt", "userId"));
    const put = async (def: Record<string, unknown>) =>
      expect((await env.sk("PUT", "/api/schemas/notes", { fields: [text], ...def })).status).toBe(200);
    await put({ rls: { enabled: false } });
    expect(await indexes()).toEqual(plain("createdAt"));
    await put({ permissions: { list: "owner" } });
    expect(await indexes()).toEqual(plain("createdAt", "userId"));
    await put({ rls: { enabled: true, ownerField: "createdBy" } });
    expect(await indexes()).toEqual(plain("createdAt", "createdBy"));
    await put({ rls: { enabled: true, ownerField: "_id" } });
    expect(await indexes()).toEqual(plain("createdAt"));
    await put({ fields: [text, { name: "userId", type: "string", unique: true }], rls: { enabled: true } });
    expect(await indexes()).toEqual([...plain("createdAt"), { fields: ["userId"], unique: true }]);
  });
});

describe("DELETE", () => {
  it("deletes the definition and its documents", async () => {
    await env.defineCollection(posts);
    await env.sk("POST", "/api/data/posts", { title: "a" });
    const res = await env.sk("DELETE", "/api/schemas/posts");
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({ name: "posts", deleted: true });
    expect((await env.sk("GET", "/api/schemas/posts")).status).toBe(404);
    const list = await env.sk("GET", "/api/data/posts");
    expect([list.status, list.json.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
    expect((await env.sk("DELETE", "/api/schemas/posts")).status).toBe(404);
  });

  it("a collection re-created under the same name starts empty, with its new definition", async () => {
    await env.defineCollection(posts);
    await env.sk("POST", "/api/data/posts", { title: "a" });
    await env.sk("DELETE", "/api/schemas/posts");
    await env.defineCollection({ name: "posts", fields: [{ name: "body", type: "string", required: true }] });
    expect((await env.sk("GET", "/api/data/posts")).json.data.items).toEqual([]);
    const old = await env.sk("POST", "/api/data/posts", { title: "a" });
    expect([old.status, old.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(old.json.details.map((d: { path: string }) => d.path).sort()).toEqual(["body", "title"]);
    expect((await env.sk("POST", "/api/data/posts", { body: "b" })).status).toBe(201);
  });
});

describe("definition changes never publish private values", () => {
  const notes = (fields: unknown[]) => ({ name: "notes", fields, permissions: { read: "guest", list: "guest" } });
  const text = { name: "text", type: "string" };
  const secret = { name: "secret", type: "string", private: true };
  const meta = (inner: unknown) => ({
    name: "meta",
    type: "object",
    fields: [{ name: "lang", type: "string" }, inner],
  });

  it("removing or renaming a private field that holds values is 400; after the values are unset it is not", async () => {
    await env.defineCollection(notes([text, secret, meta({ name: "pin", type: "string", private: true })]));
    const doc = await env.sk("POST", "/api/data/notes", {
      text: "hi",
      secret: "s3cr3t",
      meta: { lang: "en", pin: "1" },
    });
    expect(doc.status).toBe(201);
    for (const change of [
      ["PUT", notes([text, meta({ name: "pin", type: "string", private: true })])],
      ["PUT", notes([text, { ...secret, name: "hidden" }, meta({ name: "pin", type: "string", private: true })])],
      ["PATCH", { fields: [text, secret, meta({ name: "pin2", type: "string", private: true })] }],
    ] as const) {
      const res = await env.sk(change[0], "/api/schemas/notes", change[1]);
      expect(res.status, res.text).toBe(400);
      expect(res.json.code).toBe("VALIDATION_FAILED");
      expect(res.json.message).toMatch(/private field "(secret|meta\.pin)" still has values in 1 document/);
    }
    const read = await env.pk("GET", `/api/data/notes/${doc.json.data._id}`);
    expect(read.text).not.toContain("s3cr3t");

    expect((await env.sk("PATCH", `/api/data/notes/${doc.json.data._id}`, { secret: null })).status).toBe(200);
    expect(
      (await env.sk("PUT", "/api/schemas/notes", notes([text, meta({ name: "pin", type: "string", private: true })])))
        .status,
    ).toBe(200);
    expect((await env.pk("GET", `/api/data/notes/${doc.json.data._id}`)).json.data).toEqual(
      expect.objectContaining({ text: "hi", meta: { lang: "en" } }),
    );
  });

  it("declaring it again without the flag is refused too; moving it under a private parent is not", async () => {
    await env.defineCollection(notes([text, secret, meta({ name: "pin", type: "string", private: true })]));
    expect((await env.sk("POST", "/api/data/notes", { secret: "s", meta: { lang: "en", pin: "1" } })).status).toBe(201);
    const again = await env.sk("PATCH", "/api/schemas/notes", {
      fields: [text, { name: "secret", type: "string" }, meta({ name: "pin", type: "string", private: true })],
    });
    expect(again.status).toBe(400);
    expect(again.json.message).toMatch(/private field "secret" still has values/);
    const parent = { name: "meta", type: "object", private: true, fields: [{ name: "lang", type: "string" }] };
    expect((await env.sk("PUT", "/api/schemas/notes", notes([text, secret, parent]))).status).toBe(200);
  });

  it("declaring a private field private: false publishes it, as asked", async () => {
    await env.defineCollection(notes([text, secret]));
    const doc = await env.sk("POST", "/api/data/notes", { text: "hi", secret: "open now" });
    expect((await env.sk("PUT", "/api/schemas/notes", notes([text, { ...secret, private: false }]))).status).toBe(200);
    expect((await env.pk("GET", `/api/data/notes/${doc.json.data._id}`)).json.data.secret).toBe("open now");
  });
});

describe("the users collection", () => {
  it("exists in every project: before any definition it is empty and open, and PUT or PATCH defines it", async () => {
    const standIn = {
      name: "users",
      fields: [],
      additionalFields: true,
      implicit: true,
      createdAt: null,
      updatedAt: null,
    };
    const listed = await env.pk("GET", "/api/schemas");
    expect(listed.json.data.collections).toEqual([expect.objectContaining(standIn)]);
    const one = await env.sk("GET", "/api/schemas/users");
    expect([one.status, one.json.data.collection]).toEqual([200, expect.objectContaining(standIn)]);
    expect((await env.sk("GET", "/api/schemas/Users")).status).toBe(404); // names are exact

    const patched = await env.sk("PATCH", "/api/schemas/users", { fields: [{ name: "bio", type: "string" }] });
    expect(patched.status).toBe(200);
    expect(patched.json.data.collection).toMatchObject({ name: "users", implicit: false, additionalFields: false });
    expect(patched.json.data.collection.fields.map((f: { name: string }) => f.name)).toEqual(["bio"]);
    expect(patched.json.data.collection.createdAt).toEqual(expect.any(String));
    const stored = (await env.sk("GET", "/api/schemas/users")).json.data.collection;
    expect(stored.fields.map((f: { name: string }) => f.name)).toEqual(["bio"]);

    // Deleting takes the profile fields back (the stand-in again); a second delete is no error.
    expect((await env.sk("DELETE", "/api/schemas/users")).status).toBe(200);
    expect((await env.sk("GET", "/api/schemas/users")).json.data.collection).toMatchObject(standIn);
    expect((await env.sk("DELETE", "/api/schemas/users")).status).toBe(200);

    const put = await env.sk("PUT", "/api/schemas/users", { fields: [{ name: "age", type: "number" }] });
    expect(put.status).toBe(200);
    expect(put.json.data.collection.fields.map((f: { name: string }) => f.name)).toEqual(["age"]);
    const pkPut = await env.pk("PUT", "/api/schemas/users", { body: { fields: [] } });
    expect([pkPut.status, pkPut.json.code]).toEqual([403, "WRITE_BLOCKED"]);
    // Any other missing collection stays missing.
    expect((await env.sk("PUT", "/api/schemas/nope", { fields: [] })).status).toBe(404);
    expect((await env.sk("PATCH", "/api/schemas/nope", { fields: [] })).status).toBe(404);
    expect((await env.sk("DELETE", "/api/schemas/nope")).status).toBe(404);
  });

  it("takes extra profile fields, but its definition never drops the accounts or another function's indexes", async () => {
    const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
    const users = env.deps.collections.database(project).collection("users");
    // What the auth function keeps: accounts with a unique email index.
    await users.createIndex(["email"], { unique: true });
    await users.insertOne({ email: "a@example.com", createdAt: "2026-01-01T00:00:00.000Z" });
    await env.defineCollection({ name: "users", fields: [{ name: "bio", type: "string", index: true }] });
    await env.sk("PUT", "/api/schemas/users", {
      fields: [
        { name: "bio", type: "string" },
        { name: "email", type: "email", index: true },
      ],
    });
    expect(await users.listIndexes()).toContainEqual({ fields: ["email"], unique: true });
    expect(await users.listIndexes()).not.toContainEqual(expect.objectContaining({ fields: ["bio"] }));
    const res = await env.sk("DELETE", "/api/schemas/users");
    expect(res.status).toBe(200);
    expect(await users.count()).toBe(1);
    expect(await users.listIndexes()).toContainEqual({ fields: ["email"], unique: true });
  });

  it("never makes an index of the auth function's fields, even before the auth function made its own", async () => {
    const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
    const users = env.deps.collections.database(project).collection("users");
    const fields = ["email", "username", "githubId", "googleId"].map((name) => ({ name, type: "string", index: true }));
    expect(
      (await env.sk("PUT", "/api/schemas/users", { fields: [...fields, { name: "bio", type: "string" }] })).status,
    ).toBe(200);
    const made = (await users.listIndexes()).map((index) => index.fields.join());
    for (const field of ["email", "username", "githubId", "googleId"]) expect(made).not.toContain(field);
  });

  it("drops an index on an auth field that is not the auth function's; the auth function makes its own", async () => {
    const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
    const users = env.deps.collections.database(project).collection("users");
    await users.createIndex(["username"]); // non-unique, as an older definition could have made it
    expect((await env.sk("PUT", "/api/schemas/users", { fields: [{ name: "bio", type: "string" }] })).status).toBe(200);
    expect(await users.listIndexes()).not.toContainEqual(expect.objectContaining({ fields: ["username"] }));
    const signup = await call(createAuthApp(env.deps), "POST", "/api/userAuth/signup", {
      key: env.project.pk,
      body: { email: "u@example.com", password: "correct horse battery" },
    });
    expect(signup.status).toBe(201);
    expect(await users.listIndexes()).toContainEqual({ fields: ["username"], unique: true });
  });

  it("its declared indexes go with its definition, and a refused first definition leaves none", async () => {
    const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
    const users = env.deps.collections.database(project).collection("users");
    await users.createIndex(["email"], { unique: true });
    const fields = (names: string[]) => names.map((name) => ({ name, type: "string", unique: true }));
    expect((await env.sk("PUT", "/api/schemas/users", { fields: fields(["nick", "email"]) })).status).toBe(200);
    expect(await users.listIndexes()).toContainEqual({ fields: ["nick"], unique: true });
    expect((await env.sk("DELETE", "/api/schemas/users")).status).toBe(200);
    const left = await users.listIndexes();
    expect(left).not.toContainEqual(expect.objectContaining({ fields: ["nick"] }));
    expect(left).toContainEqual({ fields: ["email"], unique: true }); // the auth function's

    await users.insertOne({ email: "a@example.com", nick: "x1", team: "red" });
    await users.insertOne({ email: "b@example.com", nick: "x2", team: "red" });
    const refused = await env.sk("PUT", "/api/schemas/users", { fields: fields(["nick", "team"]) });
    expect([refused.status, refused.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    const after = await users.listIndexes();
    expect(after).not.toContainEqual(expect.objectContaining({ fields: ["nick"] }));
    expect(after).not.toContainEqual(expect.objectContaining({ fields: ["team"] }));
    expect(after).toContainEqual({ fields: ["email"], unique: true });
    expect((await env.sk("GET", "/api/schemas/users")).json.data.collection.implicit).toBe(true);
  });
});
