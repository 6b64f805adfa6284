/**
 * GET /api/schemas/openapi.json (API.md §4.1) over HTTP: who may read it, that it is valid OpenAPI
 * 3.1, that it says what a definition says, and that the API's real answers fit it.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuthApp } from "../functions/auth/app.js";
import { call, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { answerChecker, bodyChecker, openApiProblems } from "./openapi-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const OPENAPI = "/api/schemas/openapi.json";

/** The definition example of API.md §4.1. */
const posts = {
  name: "posts",
  fields: [
    { name: "title", type: "string", required: true, maxLength: 200 },
    { name: "views", type: "number", min: 0, default: 0 },
    { name: "status", type: "string", enum: ["draft", "published"] },
    { name: "slug", type: "string", unique: true, pattern: "^[a-z0-9-]+$" },
    { name: "tags", type: "array", items: { type: "string" } },
    { name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] },
    { name: "authorRef", type: "ref", ref: "authors" },
    { name: "userId", type: "string" },
  ],
  additionalFields: false,
  rls: { enabled: true, mode: "public-read", ownerField: "userId" },
  permissions: { list: "guest", read: "guest", create: "owner", update: "owner", delete: "owner" },
};

/** A collection with a private field, nested too. */
const notes = {
  name: "notes",
  fields: [
    { name: "text", type: "string" },
    { name: "secret", type: "string", private: true },
    { name: "bio", type: "object", fields: [{ name: "phone", type: "string", private: true }] },
  ],
};

// biome-ignore lint/suspicious/noExplicitAny: tests read the document's arbitrary shape
type Doc = any;

describe("who may read it", () => {
  const callers = ["no key", "bad key", "pk", "sk", "pk of another project"] as const;

  it.each(callers)("as %s", async (caller) => {
    await env.defineCollection(posts);
    await env.defineCollection(notes);
    const other = await env.deps.projects.create({ name: "other" });
    const key = {
      "no key": null,
      "bad key": `${env.project.sk.slice(0, -3)}xyz`,
      pk: env.project.pk,
      sk: env.project.sk,
      "pk of another project": other.keys.publishable,
    }[caller];
    const res = await call(env.app, "GET", OPENAPI, { key });
    if (caller === "no key") return expect([res.status, res.json.code]).toEqual([401, "API_KEY_MISSING"]);
    if (caller === "bad key") return expect([res.status, res.json.code]).toEqual([401, "API_KEY_INVALID"]);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store"); // as GET /api/schemas
    // The document itself, not the envelope: tools read `openapi` at the top.
    expect(res.json.openapi).toBe("3.1.0");
    expect(res.json.success).toBeUndefined();
    const paths = Object.keys(res.json.paths);
    const schemas = res.json.components.schemas;
    if (caller === "pk of another project") {
      expect(paths.filter((path) => path.startsWith("/api/data/"))).toEqual([]);
      expect(schemas.posts).toBeUndefined();
      return;
    }
    expect(paths).toEqual(expect.arrayContaining(["/api/data/posts", "/api/data/notes/{id}", "/api/userAuth/login"]));
    // `users` is never served by /api/data; its profile fields are the account's.
    expect(paths.some((path) => path.startsWith("/api/data/users"))).toBe(false);
    const note = schemas.notes.properties;
    if (caller === "pk") {
      expect(note.secret).toBeUndefined();
      expect(JSON.stringify(note.bio)).not.toContain("phone");
      expect(schemas["notes.insert"].properties.secret).toBeUndefined();
      expect(res.text).not.toContain('"secret"');
    } else {
      expect(note.secret).toEqual({ type: "string" });
      expect(note.bio.properties.phone).toEqual({ type: "string" });
    }
  });

  it("is not taken for a collection named openapi.json, and errors keep the envelope", async () => {
    const res = await env.pk("GET", OPENAPI, { headers: { origin: "https://x.example" } });
    expect(res.status).toBe(200);
    const missing = await call(env.app, "GET", OPENAPI);
    expect(missing.json).toMatchObject({ success: false, code: "API_KEY_MISSING" });
    expect(missing.json.requestId).toEqual(expect.any(String));
  });
});

describe("the document", () => {
  it("is valid OpenAPI 3.1 for both keys", async () => {
    await env.defineCollection(posts);
    await env.defineCollection(notes);
    await env.defineCollection({ name: "users", fields: [{ name: "nickname", type: "string", maxLength: 40 }] });
    for (const key of [env.project.pk, env.project.sk]) {
      const res = await call(env.app, "GET", OPENAPI, { key });
      expect(await openApiProblems(res.json)).toBe("");
    }
  });

  it("says the uniqueTogether groups in the descriptions of the document and bodies, to either key", async () => {
    await env.defineCollection({
      ...notes,
      uniqueTogether: [
        ["text", "tag"],
        ["tag", "rank"],
      ],
      fields: [...notes.fields, { name: "tag", type: "string" }, { name: "rank", type: "integer" }],
      permissions: { read: "guest", create: "guest" },
    });
    const schemas = async (key: string) => (await call(env.app, "GET", OPENAPI, { key })).json.components.schemas;
    for (const key of [env.project.sk, env.project.pk]) {
      const described = await schemas(key);
      for (const name of ["notes", "notes.insert", "notes.patch"]) {
        expect(described[name].description).toContain("Unique together: (text, tag); (tag, rank).");
      }
      expect(described.notes.description).toMatch(/a write that would is 409 DUPLICATE_VALUE$/);
    }
    expect(await openApiProblems((await call(env.app, "GET", OPENAPI, { key: env.project.pk })).json)).toBe("");
  });

  it("lists /aggregate where the key may aggregate: the sk always, the pk where the definition or project allows it", async () => {
    await env.defineCollection(notes);
    await env.defineCollection({ ...posts, aggregate: { publishable: true } });
    const paths = async (key: string) => Object.keys((await call(env.app, "GET", OPENAPI, { key })).json.paths);
    expect((await paths(env.project.sk)).filter((path) => path.endsWith("/aggregate"))).toEqual([
      "/api/data/notes/aggregate",
      "/api/data/posts/aggregate",
    ]);
    expect((await paths(env.project.pk)).filter((path) => path.endsWith("/aggregate"))).toEqual([
      "/api/data/posts/aggregate",
    ]);
    const doc = (await env.pk("GET", OPENAPI)).json;
    expect(await openApiProblems(doc)).toBe("");
    const answered = await env.pk("POST", "/api/data/posts/aggregate", { body: { pipeline: [{ $count: "n" }] } });
    expect(answered.status).toBe(200);
    expect(answerChecker(doc)("/api/data/posts/aggregate", "post", 200, answered.json)).toBeNull();
    // The project's setting decides where a definition does not, and the kept document follows it.
    await env.deps.projects.update(env.project.id, { settings: { data: { publishableAggregate: true } } });
    expect((await paths(env.project.pk)).filter((path) => path.endsWith("/aggregate"))).toHaveLength(2);
  });

  it("serves from the origin the request came to", async () => {
    const res = await env.app.request(`https://api.example.com${OPENAPI}`, {
      headers: { "x-api-key": env.project.pk },
    });
    expect(((await res.json()) as Doc).servers).toEqual([{ url: "https://api.example.com" }]);
  });

  it("says what the definition of API.md §4.1 says, field by field", async () => {
    await env.defineCollection(posts);
    const doc: Doc = (await env.sk("GET", OPENAPI)).json;
    const post = doc.components.schemas.posts;
    const id = { type: "string", pattern: "^[0-9a-fA-F]{24}$" };
    expect(post.properties).toEqual({
      _id: { ...id, description: expect.any(String) },
      createdAt: { type: "string", format: "date-time" },
      updatedAt: { type: "string", format: "date-time" },
      createdBy: { ...id, description: expect.any(String) },
      title: { type: "string", maxLength: 200 },
      views: { type: "number", minimum: 0 },
      status: { type: "string", enum: ["draft", "published"] },
      slug: { type: "string", pattern: "^[a-z0-9-]+$" },
      tags: { type: "array", items: { type: "string" } },
      meta: { type: "object", properties: { lang: { type: "string" } }, additionalProperties: false },
      authorRef: { ...id, description: 'The id of a document in "authors"' },
      userId: { type: "string" },
    });
    expect(post.required).toEqual(["_id", "createdAt", "updatedAt", "title"]);
    expect(post.additionalProperties).toBe(false);

    const insert = doc.components.schemas["posts.insert"];
    expect(insert.required).toEqual(["title"]);
    expect(insert.properties._id).toBeUndefined();
    expect(insert.properties.title).toEqual({ type: "string", maxLength: 200 });
    // An optional field may be null (no value: the default applies).
    // Its default is said, not given as `default`: openapi-typescript makes such a property required.
    expect(insert.properties.views).toEqual({ type: ["number", "null"], minimum: 0, description: "Default: 0" });
    expect(insert.properties.status).toEqual({
      anyOf: [{ type: "string", enum: ["draft", "published"] }, { type: "null" }],
    });
    expect(insert.additionalProperties).toBe(false);
    const patch = doc.components.schemas["posts.patch"];
    expect(patch.required).toBeUndefined();
    expect(patch.properties.title).toEqual({ type: "string", maxLength: 200 }); // required: cannot be removed

    const list = doc.paths["/api/data/posts"].get;
    const params = Object.fromEntries(list.parameters.map((p: Doc) => [p.name, p]));
    expect(Object.keys(params)).toEqual(
      expect.arrayContaining(["page", "limit", "cursor", "sort", "filter", "search", "fields", "count", "populate"]),
    );
    expect(params.limit.schema).toEqual({ type: "integer", minimum: 1, maximum: 100, default: 20 });
    // A comma list of ref fields, not one of them.
    expect(params.populate.schema).toEqual({ type: "string" });
    expect(params.populate.description).toContain("`authorRef`");
    // The top-level fields (and indexed paths): `meta.lang` works without being listed.
    expect(Object.keys(params.filters.schema.properties)).toEqual([
      "title",
      "views",
      "status",
      "slug",
      "tags",
      "meta",
      "authorRef",
      "userId",
    ]);
    const methods = (path: string) => Object.keys(doc.paths[path]).filter((k) => k !== "parameters");
    expect(methods("/api/data/posts")).toEqual(["get", "post"]);
    expect(methods("/api/data/posts/{id}")).toEqual(["get", "put", "patch", "delete"]);
    expect(methods("/api/data/posts/bulk")).toEqual(["post"]);
    expect(doc.paths["/api/data/posts"].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/posts.insert",
    });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "x-api-key" });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("describes the auth bodies from the project's settings and the users definition", async () => {
    await env.defineCollection({ name: "users", fields: [{ name: "nickname", type: "string", maxLength: 40 }] });
    const strict = await env.deps.projects.create({ name: "strict", settings: { auth: { passwordMinLength: 12 } } });
    const doc: Doc = (await call(env.app, "GET", OPENAPI, { key: strict.keys.publishable })).json;
    const signup = doc.paths["/api/userAuth/signup"].post.requestBody.content["application/json"].schema;
    expect(signup.properties.password).toEqual({ type: "string", minLength: 12, maxLength: 128 });
    expect(signup.required).toEqual(["email", "password"]);
    const ours: Doc = (await env.pk("GET", OPENAPI)).json;
    const ourSignup = ours.paths["/api/userAuth/signup"].post.requestBody.content["application/json"].schema;
    expect(ourSignup.properties.password.minLength).toBe(8);
    expect(ourSignup.properties.nickname).toEqual({ type: ["string", "null"], maxLength: 40 });
    expect(ours.components.schemas["auth.User"].properties.nickname).toEqual({ type: "string", maxLength: 40 });
  });

  it("leaves out the auth-owned fields a users definition declares: never answered, never taken from a body", async () => {
    const declared = ["passwordId", "passwordHash", "role", "username", "nickname"];
    const users = await env.sk("PUT", "/api/schemas/users", {
      fields: declared.map((name) => ({ name, type: "string" })),
    });
    expect(users.status, users.text).toBe(200);
    for (const key of [env.project.pk, env.project.sk]) {
      const doc: Doc = (await call(env.app, "GET", OPENAPI, { key })).json;
      const body = (path: string, method: string) =>
        Object.keys(doc.paths[path][method].requestBody.content["application/json"].schema.properties);
      const shown = Object.keys(doc.components.schemas["auth.User"].properties);
      expect(shown).not.toContain("passwordId");
      expect(shown).not.toContain("passwordHash");
      expect(shown).toEqual(expect.arrayContaining(["role", "nickname", "username"]));
      for (const fields of [body("/api/userAuth/signup", "post"), body("/api/userAuth/update-profile", "put")]) {
        expect(fields).toContain("nickname");
        for (const owned of ["passwordId", "passwordHash", "role"]) expect(fields).not.toContain(owned);
      }
    }
  });
});

describe("real answers fit it", () => {
  it("the data routes of the §4.1 collection, for pk and sk", async () => {
    await env.defineCollection(posts);
    const check = answerChecker((await env.pk("GET", OPENAPI)).json);
    const item = "/api/data/posts/{id}";
    const body = { title: "Hello", status: "draft", tags: ["a"], meta: { lang: "en" }, authorRef: "a".repeat(24) };

    const created = await env.sk("POST", "/api/data/posts", body);
    expect(check("/api/data/posts", "post", created.status, created.json)).toBeNull();
    const id = created.json.data._id;
    const token = await env.token(newUserId());
    const owned = await env.pk("POST", "/api/data/posts", { token, body: { title: "Mine", slug: "mine" } });
    expect(owned.status).toBe(201);
    expect(check("/api/data/posts", "post", owned.status, owned.json)).toBeNull();
    const bulk = await env.sk("POST", "/api/data/posts/bulk", [{ title: "B1" }, { title: "B2", views: 3 }]);
    expect(check("/api/data/posts/bulk", "post", bulk.status, bulk.json)).toBeNull();

    const page = await env.pk("GET", "/api/data/posts?limit=2");
    expect(page.json.data.nextCursor).toEqual(expect.any(String));
    expect(check("/api/data/posts", "get", page.status, page.json)).toBeNull();
    const next = await env.pk("GET", `/api/data/posts?limit=2&cursor=${encodeURIComponent(page.json.data.nextCursor)}`);
    expect(next.json.data.page).toBeNull();
    expect(check("/api/data/posts", "get", next.status, next.json)).toBeNull();
    const count = await env.pk("GET", "/api/data/posts?count=true");
    expect(check("/api/data/posts", "get", count.status, count.json)).toBeNull();

    const one = await env.pk("GET", `/api/data/posts/${id}`);
    expect(check(item, "get", one.status, one.json)).toBeNull();
    const patched = await env.sk("PATCH", `/api/data/posts/${id}`, { views: 5, status: null });
    expect(check(item, "patch", patched.status, patched.json)).toBeNull();
    const replaced = await env.sk("PUT", `/api/data/posts/${id}`, { title: "Again" });
    expect(check(item, "put", replaced.status, replaced.json)).toBeNull();
    const deleted = await env.sk("DELETE", `/api/data/posts/${id}`);
    expect(check(item, "delete", deleted.status, deleted.json)).toBeNull();
    const refused = await env.pk("GET", "/api/data/posts/not-an-id");
    expect(refused.status).toBe(400);
    expect(check(item, "get", refused.status, refused.json)).toBeNull();

    // The checks are not vacuous: an answer that breaks the definition does not fit.
    const broken = { ...one.json, data: { ...one.json.data, title: 5 } };
    expect(check(item, "get", 200, broken)).not.toBeNull();
    const extra = { ...one.json, data: { ...one.json.data, undeclared: 1 } };
    expect(check(item, "get", 200, extra)).not.toBeNull();
  });

  it("the auth answers with the users definition", async () => {
    await env.defineCollection({ name: "users", fields: [{ name: "nickname", type: "string" }] });
    const check = answerChecker((await env.pk("GET", OPENAPI)).json);
    const auth = createAuthApp(env.deps);
    const body = { email: "Ann@Example.com", password: "correct horse", nickname: "ann" };
    const signup = await call(auth, "POST", "/api/userAuth/signup", { key: env.project.pk, body });
    expect(signup.status).toBe(201);
    expect(check("/api/userAuth/signup", "post", signup.status, signup.json)).toBeNull();
    const token = signup.json.data.accessToken;
    const me = await call(auth, "GET", "/api/userAuth/me", { key: env.project.pk, token });
    expect(check("/api/userAuth/me", "get", me.status, me.json)).toBeNull();
    const wrong = { email: "ann@example.com", password: "wrong password" };
    const refused = await call(auth, "POST", "/api/userAuth/login", { key: env.project.pk, body: wrong });
    expect(refused.status).toBe(401);
    expect(check("/api/userAuth/login", "post", refused.status, refused.json)).toBeNull();
  });
});

describe("odd names", () => {
  const odd = [`we ird "q" /~0 #{x}`, "ünï cødé", "a'b<c>&d", "$ref-like?no", "items"];

  it("field and collection names with odd characters keep the document valid, and answers fit", async () => {
    const fields = odd.filter((name) => !name.startsWith("$")).map((name) => ({ name, type: "string" }));
    await env.defineCollection({
      name: "x_Y-1",
      fields: [...fields, { name: "nest ed", type: "object", fields: [{ name: "~1/", type: "integer" }] }],
    });
    // A collection named like a fixed part's schema does not take its place.
    await env.defineCollection({ name: "Error", fields: [{ name: "code", type: "integer" }] });
    const doc: Doc = (await env.sk("GET", OPENAPI)).json;
    expect(await openApiProblems(doc)).toBe("");
    expect(Object.keys(doc.components.schemas["x_Y-1"].properties)).toEqual(
      expect.arrayContaining([...fields.map((f) => f.name), "nest ed"]),
    );
    expect(doc.components.schemas["api.Error"].properties.code.type).toBe("string");
    expect(doc.components.schemas.Error.properties.code.type).toBe("integer");

    const check = answerChecker(doc);
    const body = { ...Object.fromEntries(fields.map((f) => [f.name, "v"])), "nest ed": { "~1/": 3 } };
    const created = await env.sk("POST", "/api/data/x_Y-1", body);
    expect(created.status).toBe(201);
    expect(check("/api/data/x_Y-1", "post", created.status, created.json)).toBeNull();
    const wrong = { ...created.json, data: { ...created.json.data, "nest ed": { "~1/": "three" } } };
    expect(check("/api/data/x_Y-1", "post", 201, wrong)).not.toBeNull();
  });
});

/** Every `default` keyword in a schema, by its path (none belongs in a request body: see below). */
function defaultKeywords(schema: Doc, at = ""): string[] {
  if (!schema || typeof schema !== "object") return [];
  return Object.entries(schema).flatMap(([key, value]) =>
    key === "default" ? [at] : defaultKeywords(value, `${at}/${key}`),
  );
}

/** The request body schema of an operation. */
const requestBody = (doc: Doc, path: string, method: string) =>
  doc.paths[path][method].requestBody.content["application/json"].schema;

describe("request bodies", () => {
  const orders = {
    name: "orders",
    fields: [
      { name: "title", type: "string", required: true },
      { name: "views", type: "number", default: 0 },
      { name: "status", type: "string", enum: ["draft", "paid"], required: true, default: "draft" },
      {
        name: "meta",
        type: "object",
        default: { lang: "en" },
        fields: [
          { name: "lang", type: "string", required: true, default: "en" },
          { name: "code", type: "string" },
        ],
      },
      {
        name: "lines",
        type: "array",
        items: { type: "object", fields: [{ name: "qty", type: "integer", default: 1 }] },
      },
    ],
  };

  it("leave out defaulted fields freely: no `default` keyword, the default in the description", async () => {
    // openapi-typescript (default settings) makes a property with a `default` required: a typed
    // insert, PATCH or signup would then demand every defaulted field.
    await env.defineCollection(orders);
    await env.defineCollection({
      name: "users",
      fields: [{ name: "nickname", type: "string", required: true, default: "anon" }],
    });
    for (const key of [env.project.pk, env.project.sk]) {
      const doc: Doc = (await call(env.app, "GET", OPENAPI, { key })).json;
      const schemas = doc.components.schemas;
      const bodies = {
        insert: schemas["orders.insert"],
        patch: schemas["orders.patch"],
        signup: requestBody(doc, "/api/userAuth/signup", "post"),
        updateProfile: requestBody(doc, "/api/userAuth/update-profile", "put"),
      };
      for (const [name, body] of Object.entries(bodies)) expect([name, defaultKeywords(body)]).toEqual([name, []]);
      const insert = bodies.insert;
      expect(insert.required).toEqual(["title"]);
      expect(insert.properties.views.description).toBe("Default: 0");
      expect(insert.properties.status.description).toBe('Default: "draft"');
      expect(insert.properties.meta.description).toBe('Default: {"lang":"en"}');
      expect(insert.properties.meta.required).toBeUndefined();
      expect(insert.properties.meta.properties.lang.description).toBe('Default: "en"');
      expect(insert.properties.lines.type).toEqual(["array", "null"]);
      expect(insert.properties.lines.items.properties.qty.description).toBe("Default: 1");
      // A PATCH applies no default to the fields it names (an object it replaces gets its own).
      expect(bodies.patch.properties.views).toEqual({ type: ["number", "null"] });
      expect(bodies.patch.properties.meta.properties.lang.description).toBe('Default: "en"');
      expect(bodies.signup.required).toEqual(["email", "password"]);
      expect(bodies.signup.properties.nickname.description).toBe('Default: "anon"');
    }
    // What the document says holds: bodies without the defaulted fields are taken (by the sk, the
    // one key these rules let write, so the one whose document offers the writes).
    const fits = bodyChecker((await env.sk("GET", OPENAPI)).json);
    expect(fits("/api/data/orders", "post", { title: "T" })).toBeNull();
    const created = await env.sk("POST", "/api/data/orders", { title: "T", meta: { code: "c" } });
    expect(created.status).toBe(201);
    expect(created.json.data).toMatchObject({ views: 0, status: "draft", meta: { lang: "en", code: "c" } });
    expect(fits("/api/data/orders/{id}", "patch", { views: 5 })).toBeNull();
    const patched = await env.sk("PATCH", `/api/data/orders/${created.json.data._id}`, { views: 5 });
    expect(patched.status).toBe(200);
  });

  it("a pk data body may carry the private fields pk is not shown: the levels that hide some take fields not listed", async () => {
    await env.defineCollection({
      name: "tickets",
      fields: [
        { name: "subject", type: "string", required: true },
        { name: "internalCode", type: "string", required: true, private: true },
      ],
      permissions: { create: "guest", list: "guest", read: "guest" },
    });
    // Private only below the top level.
    await env.defineCollection({
      name: "profiles",
      fields: [
        { name: "name", type: "string" },
        {
          name: "meta",
          type: "object",
          fields: [
            { name: "lang", type: "string" },
            { name: "staffNote", type: "string", private: true },
          ],
        },
      ],
      permissions: { create: "guest", list: "guest", read: "guest" },
    });
    const res = await env.pk("GET", OPENAPI);
    for (const name of ["internalCode", "staffNote"]) expect(res.text).not.toContain(name);
    const doc: Doc = res.json;
    const schemas = doc.components.schemas;
    const unlisted = "Fields not listed here may be accepted, or required, by the API";
    for (const name of ["tickets.insert", "tickets.patch"]) {
      expect(schemas[name]).toMatchObject({ additionalProperties: true, description: unlisted });
    }
    expect(schemas["tickets.insert"].required).toEqual(["subject"]);
    expect(schemas.tickets.additionalProperties).toBe(false); // pk answers never hold them
    expect(schemas["profiles.insert"].additionalProperties).toBe(false);
    expect(schemas["profiles.insert"].properties.meta).toMatchObject({
      additionalProperties: true,
      description: unlisted,
    });

    // The bodies the API takes from pk fit the pk document.
    const fits = bodyChecker(doc);
    const ticket = { subject: "hi", internalCode: "X1" };
    expect(fits("/api/data/tickets", "post", ticket)).toBeNull();
    expect((await env.pk("POST", "/api/data/tickets", { body: ticket })).status).toBe(201);
    const refused = await env.pk("POST", "/api/data/tickets", { body: { subject: "hi" } });
    expect([refused.status, refused.json.details?.[0]?.path]).toEqual([400, "internalCode"]);
    const profile = { name: "Ann", meta: { lang: "en", staffNote: "vip" } };
    expect(fits("/api/data/profiles", "post", profile)).toBeNull();
    expect((await env.pk("POST", "/api/data/profiles", { body: profile })).status).toBe(201);
    expect(fits("/api/data/profiles", "post", { name: "Ann", undeclared: 1 })).not.toBeNull(); // the top level hides none

    // The secret key's document lists them.
    const sk: Doc = (await env.sk("GET", OPENAPI)).json;
    expect(sk.components.schemas["tickets.insert"]).toMatchObject({
      required: ["subject", "internalCode"],
      additionalProperties: false,
    });
    expect(sk.components.schemas["tickets.insert"].description).toBeUndefined();
  });

  it("a pk signup or update-profile never carries private profile fields: their bodies stay closed", async () => {
    await env.defineCollection({
      name: "users",
      fields: [
        { name: "displayName", type: "string" },
        { name: "phoneNumber", type: "string", private: true },
        {
          name: "bio",
          type: "object",
          fields: [
            { name: "text", type: "string" },
            { name: "rating", type: "integer", private: true },
          ],
        },
      ],
    });
    const res = await env.pk("GET", OPENAPI);
    expect(res.text).not.toContain("phoneNumber");
    const doc: Doc = res.json;
    const bodies: Array<[string, string]> = [
      ["/api/userAuth/signup", "post"],
      ["/api/userAuth/update-profile", "put"],
    ];
    for (const [path, method] of bodies) {
      const body = requestBody(doc, path, method);
      expect(body.additionalProperties).toBe(false);
      expect(body.description).toBeUndefined();
      expect(body.properties.bio).toMatchObject({ additionalProperties: false });
      expect(body.properties.bio.description).toBeUndefined();
    }
    // As the API answers: a pk signup carrying one is refused, one without it is taken.
    const fits = bodyChecker(doc);
    const auth = createAuthApp(env.deps);
    const signup = (body: Doc) => call(auth, "POST", "/api/userAuth/signup", { key: env.project.pk, body });
    const account = { email: "ann@example.com", password: "correct horse", displayName: "Ann" };
    for (const extra of [{ phoneNumber: "1" }, { bio: { text: "hi", rating: 5 } }]) {
      expect(fits("/api/userAuth/signup", "post", { ...account, ...extra })).not.toBeNull();
      expect((await signup({ ...account, ...extra })).status).toBe(400);
    }
    expect(fits("/api/userAuth/signup", "post", account)).toBeNull();
    expect((await signup(account)).status).toBe(201);
  });
});

describe("list parameters", () => {
  it("`filters` lists top-level and indexed fields, never a list parameter's name", async () => {
    await env.defineCollection({
      name: "odd",
      fields: [
        ...["key", "count", "page", "sort", "title"].map((name) => ({ name, type: "integer" })),
        {
          name: "meta",
          type: "object",
          fields: [
            { name: "lang", type: "string", index: true },
            { name: "other", type: "string" },
          ],
        },
      ],
    });
    const doc: Doc = (await env.pk("GET", OPENAPI)).json;
    const filters = doc.paths["/api/data/odd"].get.parameters.find((p: Doc) => p.name === "filters");
    expect(Object.keys(filters.schema.properties)).toEqual(["title", "meta", "meta.lang"]);
    expect(filters.description).toContain("`filter`");
    // What the description says works: such a field through the JSON `filter`, an unlisted dotted path as is.
    await env.sk("POST", "/api/data/odd/bulk", [
      { count: 5, meta: { other: "x" } },
      { count: 6, meta: { other: "y" } },
    ]);
    expect((await env.pk("GET", "/api/data/odd?count=5")).status).toBe(400);
    const byJson = await env.pk("GET", `/api/data/odd?filter=${encodeURIComponent('{"count":5}')}`);
    expect(byJson.json.data.items.map((item: Doc) => item.count)).toEqual([5]);
    const dotted = await env.pk("GET", "/api/data/odd?meta.other=y");
    expect(dotted.json.data.items.map((item: Doc) => item.count)).toEqual([6]);
  });
});

describe("patterns say what the API takes", () => {
  it("the {id} parameter is lower-case hex, as the API takes ids; an upper-case one is refused by both", async () => {
    await env.defineCollection(posts);
    const doc: Doc = (await env.sk("GET", OPENAPI)).json;
    const parameter = doc.paths["/api/data/posts/{id}"].parameters.find((p: Doc) => p.name === "id");
    const pattern = new RegExp(parameter.schema.pattern);
    const created = await env.sk("POST", "/api/data/posts", { title: "one" });
    const id: string = created.json.data._id;
    expect([pattern.test(id), (await env.sk("GET", `/api/data/posts/${id}`)).status]).toEqual([true, 200]);
    const upper = await env.sk("GET", `/api/data/posts/${id.toUpperCase()}`);
    expect([pattern.test(id.toUpperCase()), upper.status, upper.json.code]).toEqual([false, 400, "INVALID_ID"]);
  });

  it("a username in capitals fits the signup and update-profile bodies, as the API takes it (lower-cased)", async () => {
    const fits = bodyChecker((await env.pk("GET", OPENAPI)).json);
    const auth = createAuthApp(env.deps);
    const body = { email: "jane@example.com", password: "correct horse", username: "Jane.Doe" };
    expect(fits("/api/userAuth/signup", "post", body)).toBeNull();
    const signup = await call(auth, "POST", "/api/userAuth/signup", { key: env.project.pk, body });
    expect([signup.status, signup.json.data.user.username]).toEqual([201, "jane.doe"]);
    expect(fits("/api/userAuth/update-profile", "put", { username: "Jane_D" })).toBeNull();
    const token = signup.json.data.accessToken;
    const update = await call(auth, "PUT", "/api/userAuth/update-profile", {
      key: env.project.pk,
      token,
      body: { username: "Jane_D" },
    });
    expect([update.status, update.json.data.user.username]).toEqual([200, "jane_d"]);
    // What both refuse stays refused: too short, or starting with a dot.
    for (const username of ["Jo", ".Jane"])
      expect(fits("/api/userAuth/signup", "post", { ...body, username })).not.toBeNull();
  });
});
