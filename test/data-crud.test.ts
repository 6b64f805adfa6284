/**
 * Documents over HTTP (API.md §4.1 validation, §5 endpoints): every type and constraint, defaults,
 * unique, private fields, instant collections, body key checks, ids, bulk, PUT/PATCH/DELETE,
 * system fields, ETags and conditional writes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { etagOf, nextTimestamp } from "../shared/documents.js";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const paths = (res: { json: { details?: Array<{ path: string }> } }) => (res.json.details ?? []).map((d) => d.path);
const REF = "507f1f77bcf86cd799439011";

/** A collection using every type and constraint of §4.1. */
const everything = {
  name: "things",
  fields: [
    { name: "s", type: "string", required: true, minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
    { name: "n", type: "number", min: 0, max: 10 },
    { name: "i", type: "integer" },
    { name: "b", type: "boolean" },
    { name: "d", type: "date" },
    { name: "e", type: "email" },
    { name: "u", type: "url" },
    { name: "r", type: "ref", ref: "others" },
    { name: "en", type: "string", enum: ["draft", "published"] },
    { name: "arr", type: "array", items: { type: "number", max: 100 }, minLength: 1, maxLength: 3 },
    {
      name: "obj",
      type: "object",
      fields: [
        { name: "lang", type: "string", required: true },
        { name: "deep", type: "object", fields: [{ name: "x", type: "integer" }] },
      ],
    },
    { name: "list", type: "array", items: { type: "object", fields: [{ name: "k", type: "string", required: true }] } },
    { name: "anything", type: "any" },
    { name: "views", type: "number", default: 7 },
    { name: "tags", type: "array", items: { type: "string" }, default: ["new"] },
  ],
};

const valid = {
  s: "abc",
  n: 2.5,
  i: 3,
  b: true,
  d: "2024-02-29T10:00:00+02:00",
  e: "a@example.com",
  u: "https://example.com/x",
  r: REF.toUpperCase(),
  en: "draft",
  arr: [1, 2],
  obj: { lang: "en", deep: { x: 1 } },
  list: [{ k: "a" }],
  anything: { free: ["form", 1] },
};

/** The names GET /api/schemas lists. */
const definedNames = async (env: DataTestEnv) =>
  (await env.sk("GET", "/api/schemas")).json.data.collections.map((c: { name: string }) => c.name);

describe("validation through HTTP", () => {
  beforeEach(() => env.defineCollection(everything));

  it("stores a valid document normalized, with defaults and system fields", async () => {
    const res = await env.sk("POST", "/api/data/things", valid);
    expect(res.status).toBe(201);
    expect(res.json.data).toEqual({
      ...valid,
      d: "2024-02-29T08:00:00.000Z",
      r: REF,
      views: 7,
      tags: ["new"],
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    });
  });

  it("lists every failing field with its dot path in one VALIDATION_FAILED", async () => {
    const res = await env.sk("POST", "/api/data/things", {
      s: "A",
      n: 11,
      i: 1.5,
      b: "yes",
      d: "2024-02-30",
      e: "not-mail",
      u: "ftp://x",
      r: "nope",
      en: "gone",
      arr: [1, "two", 300],
      obj: { deep: { x: "1" } },
      list: [{ k: "a" }, {}],
      extra: true,
    });
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(paths(res).sort()).toEqual(
      [
        "s",
        "s",
        "n",
        "i",
        "b",
        "d",
        "e",
        "u",
        "r",
        "en",
        "arr.1",
        "arr.2",
        "obj.lang",
        "obj.deep.x",
        "list.1.k",
        "extra",
      ].sort(),
    );
    expect((await env.sk("GET", "/api/data/things?count=true")).json.data.count).toBe(0);
  });

  it("bounds the details: 100 listed, the rest counted in one last entry, the answer a fraction of the body", async () => {
    await env.defineCollection({
      name: "series",
      fields: [{ name: "values", type: "array", items: { type: "number" } }],
      permissions: { create: "guest" },
    });
    const body = JSON.stringify({ values: new Array(20_000).fill("") });
    const res = await env.pk("POST", "/api/data/series", { body });
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details).toHaveLength(101);
    expect(res.json.details[99].path).toBe("values.99");
    // Checking stopped after 1000 problems (below).
    expect(res.json.details[100]).toEqual({ path: "", message: "900 more not listed", omitted: 900 });
    expect(res.json.message).toMatch(/^Validation failed: values\.0: .* \(and 999 more\)$/);
    expect(res.text.length).toBeLessThan(body.length / 4);
  });

  describe("checking stops after 1000 problems: a body of many wrong values costs no more than its first 1000", () => {
    const stoppedAt1000 = (res: { status: number; json: { code: string; details: unknown[] } }) => {
      expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
      expect(res.json.details).toHaveLength(101);
      expect(res.json.details[100]).toEqual({ path: "", message: "900 more not listed", omitted: 900 });
    };
    beforeEach(() =>
      env.defineCollection({
        name: "deep",
        fields: [
          { name: "nums", type: "array", items: { type: "number" } },
          { name: "grid", type: "array", items: { type: "array", items: { type: "integer" } } },
          { name: "rows", type: "array", items: { type: "object", fields: [{ name: "k", type: "string" }] } },
          { name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] },
        ],
      }),
    );
    const wrong = (n: number) => new Array(n).fill("");

    it("in nested arrays and arrays of objects", async () => {
      stoppedAt1000(await env.sk("POST", "/api/data/deep", { grid: new Array(50).fill(wrong(300)) }));
      stoppedAt1000(await env.sk("POST", "/api/data/deep", { rows: new Array(5000).fill({ k: 1 }) }));
      const bad = await env.sk("POST", "/api/data/deep", { rows: new Array(5000).fill({ k: 1 }) });
      expect(bad.json.details[99].path).toBe("rows.99.k");
    });

    it("in unknown keys, at the top and nested", async () => {
      const keys = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x${i}`, 1]));
      stoppedAt1000(await env.sk("POST", "/api/data/deep", keys));
      stoppedAt1000(await env.sk("POST", "/api/data/deep", { meta: keys }));
    });

    it("in PATCH and PUT alike", async () => {
      const { _id } = (await env.sk("POST", "/api/data/deep", { nums: [1] })).json.data;
      const keys = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x${i}`, 1]));
      stoppedAt1000(await env.sk("PATCH", `/api/data/deep/${_id}`, keys));
      stoppedAt1000(await env.sk("PATCH", `/api/data/deep/${_id}`, { nums: wrong(5000) }));
      stoppedAt1000(await env.sk("PUT", `/api/data/deep/${_id}`, { nums: wrong(5000) }));
      expect((await env.sk("GET", `/api/data/deep/${_id}`)).json.data.nums).toEqual([1]);
    });

    it("across the items of a bulk insert together", async () => {
      const res = await env.sk("POST", "/api/data/deep/bulk", new Array(500).fill({ nums: wrong(10) }));
      stoppedAt1000(res);
      expect(res.json.details[99]).toEqual(expect.objectContaining({ path: "9.nums.9", index: 9 }));
      expect((await env.sk("GET", "/api/data/deep?count=true")).json.data.count).toBe(0);
    });

    it("valid arrays and objects are stored whole", async () => {
      const doc = { nums: [1, 2.5], grid: [[1], [2, 3]], rows: [{ k: "a" }, { k: "b" }], meta: { lang: "en" } };
      const res = await env.sk("POST", "/api/data/deep", doc);
      expect(res.status).toBe(201);
      expect((await env.sk("GET", `/api/data/deep/${res.json.data._id}`)).json.data).toMatchObject(doc);
    });
  });

  // One constraint at a time: [field, value, failing path].
  const cases: Array<[string, unknown, string]> = [
    ["s", undefined, "s"],
    ["s", null, "s"],
    ["s", "a", "s"],
    ["s", "abcdef", "s"],
    ["s", "ab1", "s"],
    ["s", 12, "s"],
    ["n", -1, "n"],
    ["n", 10.5, "n"],
    ["n", "5", "n"],
    ["i", 2.5, "i"],
    ["i", "3", "i"],
    ["b", 1, "b"],
    ["d", "yesterday", "d"],
    ["d", "2024-01-01T10:00:00", "d"],
    ["d", "10000-01-01", "d"],
    ["e", "a@", "e"],
    ["u", "example.com", "u"],
    ["u", "javascript:alert(1)", "u"],
    ["r", "507f1f77bcf86cd79943901", "r"],
    ["en", "Draft", "en"],
    ["arr", [], "arr"],
    ["arr", [1, 2, 3, 4], "arr"],
    ["arr", "1,2", "arr"],
    ["arr", [101], "arr.0"],
    ["obj", "en", "obj"],
    ["obj", [], "obj"],
    ["obj", { lang: "en", other: 1 }, "obj.other"],
    ["list", [{ k: 1 }], "list.0.k"],
    ["views", "7", "views"],
  ];
  it.each(cases)("%s = %j fails at %s", async (field, value, path) => {
    const res = await env.sk("POST", "/api/data/things", { ...valid, [field]: value });
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(paths(res)).toEqual([path]);
  });

  it("accepts the edges of every range", async () => {
    for (const body of [
      { s: "ab" },
      { s: "abcde" },
      { s: "ab", n: 0 },
      { s: "ab", n: 10 },
      { s: "ab", arr: [1, 2, 3] },
      { s: "ab", d: 0 },
      { s: "ab", d: "2024-01-01" },
      { s: "ab", i: -3 },
      { s: "ab", anything: null },
    ]) {
      const res = await env.sk("POST", "/api/data/things", body);
      expect(res.status, JSON.stringify(body)).toBe(201);
    }
  });

  it("gives every document its own copy of a default", async () => {
    const a = (await env.sk("POST", "/api/data/things", { s: "ab" })).json.data;
    await env.sk("PATCH", `/api/data/things/${a._id}`, { tags: ["changed"] });
    const b = (await env.sk("POST", "/api/data/things", { s: "cd" })).json.data;
    expect(b.tags).toEqual(["new"]);
    expect(b.views).toBe(7);
    // null means "no value": the default applies.
    expect((await env.sk("POST", "/api/data/things", { s: "ef", views: null })).json.data.views).toBe(7);
  });

  it("validates PUT fully and PATCH field by field", async () => {
    const doc = (await env.sk("POST", "/api/data/things", valid)).json.data;
    const put = await env.sk("PUT", `/api/data/things/${doc._id}`, { n: 3 });
    expect([put.status, paths(put)]).toEqual([400, ["s"]]);
    const patch = await env.sk("PATCH", `/api/data/things/${doc._id}`, { n: 30, i: "x", extra: 1 });
    expect([patch.status, paths(patch).sort()]).toEqual([400, ["extra", "i", "n"]]);
    const nested = await env.sk("PATCH", `/api/data/things/${doc._id}`, { obj: { deep: {} } });
    expect([nested.status, paths(nested)]).toEqual([400, ["obj.lang"]]);
    expect((await env.sk("GET", `/api/data/things/${doc._id}`)).json.data).toEqual(doc);
  });
});

describe("additionalFields", () => {
  it("is true by default for a collection without fields and false once fields are declared", async () => {
    await env.defineCollection({ name: "loose" });
    await env.defineCollection({ name: "strict", fields: [{ name: "a", type: "string" }] });
    expect((await env.sk("POST", "/api/data/loose", { any: { thing: [1] } })).status).toBe(201);
    const strict = await env.sk("POST", "/api/data/strict", { a: "x", b: 1 });
    expect([strict.status, paths(strict)]).toEqual([400, ["b"]]);
  });

  it("keeps undeclared fields, nested too, when true beside declared fields", async () => {
    await env.defineCollection({
      name: "mixed",
      additionalFields: true,
      fields: [
        { name: "a", type: "number" },
        { name: "o", type: "object", fields: [{ name: "x", type: "string" }] },
      ],
    });
    const res = await env.sk("POST", "/api/data/mixed", { a: 1, b: "free", o: { x: "y", z: 2 } });
    expect(res.status).toBe(201);
    expect(res.json.data).toMatchObject({ a: 1, b: "free", o: { x: "y", z: 2 } });
    expect((await env.sk("POST", "/api/data/mixed", { a: "1", b: "free" })).status).toBe(400);
  });
});

describe("unique fields", () => {
  beforeEach(() =>
    env.defineCollection({
      name: "pages",
      fields: [
        { name: "slug", type: "string", unique: true },
        { name: "title", type: "string" },
      ],
    }),
  );

  it("409 DUPLICATE_VALUE on insert, PUT and PATCH; documents without the field never clash", async () => {
    const a = (await env.sk("POST", "/api/data/pages", { slug: "a" })).json.data;
    const b = (await env.sk("POST", "/api/data/pages", { slug: "b" })).json.data;
    expect((await env.sk("POST", "/api/data/pages", { title: "no slug" })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/pages", { title: "no slug either" })).status).toBe(201);
    for (const res of [
      await env.sk("POST", "/api/data/pages", { slug: "a" }),
      await env.sk("PUT", `/api/data/pages/${b._id}`, { slug: "a" }),
      await env.sk("PATCH", `/api/data/pages/${b._id}`, { slug: "a" }),
    ]) {
      expect([res.status, res.json.code, paths(res)]).toEqual([409, "DUPLICATE_VALUE", ["slug"]]);
    }
    expect((await env.sk("GET", `/api/data/pages/${b._id}`)).json.data.slug).toBe("b");
    // A document may keep its own value.
    expect((await env.sk("PATCH", `/api/data/pages/${a._id}`, { slug: "a", title: "t" })).status).toBe(200);
    expect((await env.sk("GET", "/api/data/pages?count=true")).json.data.count).toBe(4);
  });

  // The embedded store's indexes read own properties only: a document without `valueOf` was
  // indexed under the function every object inherits, so the second such document clashed.
  for (const name of ["valueOf", "toString", "hasOwnProperty"]) {
    it(`a unique or indexed field named ${name} treats documents without it as missing`, async () => {
      const fields = [{ name: "title", type: "string" }];
      await env.defineCollection({ name: "u", fields: [...fields, { name, type: "string", unique: true }] });
      await env.defineCollection({ name: "i", fields: [...fields, { name, type: "string", index: true }] });
      for (const collection of ["u", "i"]) {
        for (const body of [{ title: "a" }, { title: "b" }, { title: "c", [name]: "x" }]) {
          const res = await env.sk("POST", `/api/data/${collection}`, body);
          expect(res.status, res.text).toBe(201);
        }
        const missing = await env.sk(
          "GET",
          `/api/data/${collection}?filter=${encodeURIComponent(JSON.stringify({ [name]: null }))}&sort=title`,
        );
        expect(missing.json.data.items.map((d: { title: string }) => d.title)).toEqual(["a", "b"]);
        const sorted = await env.sk("GET", `/api/data/${collection}?sort=-${name},title`);
        expect(sorted.json.data.items.map((d: { title: string }) => d.title)).toEqual(["c", "a", "b"]);
      }
    });
  }
});

describe("private fields", () => {
  let id: string;
  beforeEach(async () => {
    await env.defineCollection({
      name: "people",
      fields: [
        { name: "name", type: "string" },
        { name: "salary", type: "number", private: true },
        {
          name: "profile",
          type: "object",
          fields: [
            { name: "ssn", type: "string", private: true },
            { name: "city", type: "string" },
          ],
        },
      ],
      permissions: { create: "guest", update: "guest" },
    });
    id = (await env.sk("POST", "/api/data/people", { name: "Ann", salary: 10, profile: { ssn: "1", city: "X" } })).json
      .data._id;
  });

  it("get by id takes fields=/select= as a list does: the named paths, _id, the same ETag, the same refusals", async () => {
    const whole = await env.sk("GET", `/api/data/people/${id}`);
    const some = await env.sk("GET", `/api/data/people/${id}?fields=name&select=profile.city`);
    expect([some.status, some.json.data]).toEqual([200, { _id: id, name: "Ann", profile: { city: "X" } }]);
    expect(some.headers.get("etag")).toBe(whole.headers.get("etag"));
    const stamped = await env.sk("GET", `/api/data/people/${id}?fields=updatedAt`);
    expect(stamped.json.data).toEqual({ _id: id, updatedAt: whole.json.data.updatedAt });
    // The pk's copy of an object holding a private field leaves it out; naming the field is refused.
    expect((await env.pk("GET", `/api/data/people/${id}?fields=profile`)).json.data).toEqual({
      _id: id,
      profile: { city: "X" },
    });
    const refused = [
      [env.pk, "fields=salary", 'field "salary" is private'],
      [env.sk, "select=nope", 'unknown field "nope"'],
    ] as const;
    for (const [caller, query, message] of refused) {
      const res = await caller("GET", `/api/data/people/${id}?${query}`);
      expect([query, res.status, res.json.code]).toEqual([query, 400, "INVALID_QUERY"]);
      expect(res.json.message).toContain(message);
    }
  });

  it("are returned to sk and never to pk: list, get, insert, PUT and PATCH responses", async () => {
    expect((await env.sk("GET", `/api/data/people/${id}`)).json.data).toMatchObject({
      salary: 10,
      profile: { ssn: "1" },
    });
    const hidden = (doc: Record<string, unknown>) => {
      expect(doc).not.toHaveProperty("salary");
      expect(doc.profile).not.toHaveProperty("ssn");
    };
    hidden((await env.pk("GET", `/api/data/people/${id}`)).json.data);
    hidden((await env.pk("GET", "/api/data/people")).json.data.items[0]);
    hidden((await env.pk("GET", "/api/data/people?fields=name,profile")).json.data.items[0]);
    hidden(
      (await env.pk("POST", "/api/data/people", { body: { name: "B", salary: 5, profile: { ssn: "2" } } })).json.data,
    );
    hidden((await env.pk("PATCH", `/api/data/people/${id}`, { body: { name: "C" } })).json.data);
    hidden(
      (await env.pk("PUT", `/api/data/people/${id}`, { body: { name: "D", salary: 1, profile: { ssn: "3" } } })).json
        .data,
    );
    expect((await env.sk("GET", `/api/data/people/${id}`)).json.data).toMatchObject({
      salary: 1,
      profile: { ssn: "3" },
    });
  });

  it.each([
    "salary=10",
    "salary_gt=1",
    "profile.ssn=1",
    "profile=x",
    `filter=${encodeURIComponent(JSON.stringify({ salary: { $gt: 1 } }))}`,
    `orFilters=${encodeURIComponent(JSON.stringify([{ "profile.ssn": "1" }, { name: "x" }]))}`,
    "sort=salary",
    "sort=-profile.ssn",
    "sortBy=salary&sortDirection=desc",
    "search=1&searchFields=profile.ssn",
    "fields=salary",
    "select=profile.ssn",
  ])("pk cannot use them in a query: %s → 400 INVALID_QUERY (sk can)", async (query) => {
    const pk = await env.pk("GET", `/api/data/people?${query}`);
    expect([pk.status, pk.json.code]).toEqual([400, "INVALID_QUERY"]);
    expect((await env.sk("GET", `/api/data/people?${query}`)).status).toBe(200);
  });

  it("default search fields leave private ones out for pk", async () => {
    await env.sk("PATCH", `/api/data/people/${id}`, { profile: { ssn: "needle", city: "X" } });
    expect((await env.pk("GET", "/api/data/people?search=needle")).json.data.items).toEqual([]);
    expect((await env.pk("GET", "/api/data/people?search=ann")).json.data.total).toBe(1);
  });
});

describe("instant collections", () => {
  it("an sk insert creates a missing collection, schemaless, with default rules", async () => {
    const res = await env.sk("POST", "/api/data/notes", { anything: { goes: [1, "x"] } });
    expect(res.status).toBe(201);
    const def = (await env.sk("GET", "/api/schemas/notes")).json.data.collection;
    expect(def).toMatchObject({
      name: "notes",
      fields: [],
      additionalFields: true,
      rls: { enabled: false },
      implicit: true,
    });
    expect((await env.pk("GET", "/api/data/notes")).json.data.total).toBe(1);
    expect((await env.pk("POST", "/api/data/notes", { body: { a: 1 } })).json.code).toBe("WRITE_BLOCKED");
    expect((await env.sk("POST", "/api/data/notes2/bulk", [{ a: 1 }, { a: 2 }])).status).toBe(201);
  });

  it("a number JSON cannot carry (1e400 → Infinity) is 400 VALIDATION_FAILED, not stored as null", async () => {
    for (const [method, path, body] of [
      ["POST", "/api/data/notes", '{"n":1e400}'],
      ["POST", "/api/data/notes/bulk", '[{"n":1},{"deep":{"x":[-1e400]}}]'],
    ] as const) {
      const res = await env.sk(method, path, body);
      expect(res.status, `${path} ${res.text}`).toBe(400);
      expect(res.json.code).toBe("VALIDATION_FAILED");
      expect(res.text).toContain("numbers must be finite");
    }
    expect((await env.sk("GET", "/api/schemas/notes")).status).toBe(404);
  });

  it("everything else on a missing collection is 404 COLLECTION_NOT_FOUND", async () => {
    const id = newUserId();
    const token = await env.token(newUserId());
    for (const res of [
      await env.pk("POST", "/api/data/missing", { body: { a: 1 } }),
      await env.pk("POST", "/api/data/missing", { body: { a: 1 }, token }),
      await env.pk("POST", "/api/data/missing/bulk", { body: [{ a: 1 }] }),
      await env.pk("GET", "/api/data/missing"),
      await env.sk("GET", "/api/data/missing"),
      await env.sk("GET", `/api/data/missing/${id}`),
      await env.sk("PUT", `/api/data/missing/${id}`, { a: 1 }),
      await env.sk("PATCH", `/api/data/missing/${id}`, { a: 1 }),
      await env.sk("DELETE", `/api/data/missing/${id}`),
      await env.sk("POST", "/api/data/missing/aggregate", { pipeline: [{ $match: {} }] }),
      await env.pk("POST", "/api/data/bad name", { body: { a: 1 } }),
      await env.sk("GET", "/api/data/bad name"),
    ]) {
      expect([res.status, res.json.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
    }
    expect(await definedNames(env)).toEqual(["users"]); // users exists in every project
  });

  it("an sk insert under a name no collection can have is 400 saying what a name may be", async () => {
    const pattern = "must match ^[a-zA-Z][a-zA-Z0-9_-]{0,63}$";
    for (const [path, problem] of [
      ["/api/data/bad name", pattern],
      ["/api/data/1abc", pattern],
      ["/api/data/my%20todos/bulk", pattern],
      ["/api/data/_collections", "is reserved"],
    ] as const) {
      const res = await env.sk("POST", path, path.endsWith("/bulk") ? [{ a: 1 }] : { a: 1 });
      expect([res.status, res.json.code], path).toEqual([400, "VALIDATION_FAILED"]);
      expect(res.json.details, path).toEqual([{ path: "collection", message: `Collection name ${problem}` }]);
    }
    expect(await definedNames(env)).toEqual(["users"]);
  });

  it("parallel first inserts into a new collection all land", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => env.sk("POST", "/api/data/burst", { n })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect((await env.sk("GET", "/api/data/burst?count=true")).json.data.count).toBe(10);
  });
});

describe("field names in bodies", () => {
  let id: string;
  beforeEach(async () => {
    id = (await env.sk("POST", "/api/data/free", { a: 1 })).json.data._id;
  });

  // Raw JSON, so `__proto__` arrives as a real key.
  const bodies: Array<[string, string]> = [
    ['{"$set":{"a":1}}', "$set"],
    ['{"a.b":1}', "a.b"],
    ['{"a\\u0000b":1}', "a\u0000b"],
    ['{"__proto__":{"admin":true}}', "__proto__"],
    ['{"constructor":{"prototype":{}}}', "constructor"],
    ['{"prototype":1}', "prototype"],
    ['{"meta":{"$gt":1}}', "meta.$gt"],
    ['{"list":[{"a.b":1}]}', "list.0.a.b"],
    ['{"a":{"b":{"c":{"d":{"__proto__":1}}}}}', "a.b.c.d.__proto__"],
    ['{"x":[[{"$where":"1"}]]}', "x.0.0.$where"],
    ['{"meta":{"":1}}', "meta."], // MongoDB refuses an empty field name in an update path
  ];

  it.each(bodies)("%s → 400 INVALID_FIELD_NAME at %s on POST, PUT, PATCH and bulk", async (raw, path) => {
    for (const [method, url, body] of [
      ["POST", "/api/data/free", raw],
      ["PUT", `/api/data/free/${id}`, raw],
      ["PATCH", `/api/data/free/${id}`, raw],
      ["POST", "/api/data/free/bulk", `[{"ok":1},${raw}]`],
    ] as const) {
      const res = await env.sk(method, url, body);
      expect([res.status, res.json.code], `${method} ${url}`).toEqual([400, "INVALID_FIELD_NAME"]);
      expect(paths(res)).toEqual([url.endsWith("bulk") ? `1.${path}` : path]);
    }
    const docs = (await env.sk("GET", "/api/data/free")).json.data.items;
    expect(docs).toEqual([expect.objectContaining({ _id: id, a: 1 })]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it("an empty field name at the top is refused too (PATCH would send MongoDB an empty update path)", async () => {
    for (const [method, url] of [
      ["POST", "/api/data/free"],
      ["PATCH", `/api/data/free/${id}`],
    ] as const) {
      const res = await env.sk(method, url, '{"":1}');
      expect([res.status, res.json.code, res.json.message]).toEqual([
        400,
        "INVALID_FIELD_NAME",
        'Invalid field name at "": field name "" must not be empty',
      ]);
    }
  });

  it("400 VALIDATION_FAILED for a body that is not an object, 400 INVALID_JSON for malformed JSON", async () => {
    for (const raw of ["[1]", '"text"', "3", "null", ""]) {
      const res = await env.sk("POST", "/api/data/free", raw);
      expect([res.status, res.json.code], raw).toEqual([400, "VALIDATION_FAILED"]);
    }
    expect((await env.sk("POST", "/api/data/free", '{"a":')).json.code).toBe("INVALID_JSON");
    expect((await env.sk("PATCH", `/api/data/free/${id}`, "{'a':1}")).json.code).toBe("INVALID_JSON");
  });
});

describe("ids", () => {
  it.each([
    "abc",
    "507f1f77bcf86cd79943901",
    "507f1f77bcf86cd7994390111",
    "zzzzzzzzzzzzzzzzzzzzzzzz",
    "507F1F77BCF86CD799439011",
  ])("%s → 400 INVALID_ID on GET, PUT, PATCH, DELETE", async (bad) => {
    await env.sk("POST", "/api/data/free", { a: 1 });
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
      const res = await env.sk(
        method,
        `/api/data/free/${bad}`,
        method === "GET" || method === "DELETE" ? undefined : { a: 2 },
      );
      expect([res.status, res.json.code], method).toEqual([400, "INVALID_ID"]);
    }
  });

  it("404 DOCUMENT_NOT_FOUND for a well-formed id that is not there", async () => {
    await env.sk("POST", "/api/data/free", { a: 1 });
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
      const res = await env.sk(
        method,
        `/api/data/free/${REF}`,
        method === "GET" || method === "DELETE" ? undefined : { a: 2 },
      );
      expect([res.status, res.json.code], method).toEqual([404, "DOCUMENT_NOT_FOUND"]);
    }
  });
});

describe("bulk insert", () => {
  beforeEach(() =>
    env.defineCollection({
      name: "items",
      fields: [
        { name: "title", type: "string", required: true },
        { name: "sku", type: "string", unique: true },
        { name: "userId", type: "string" },
      ],
      rls: { enabled: true },
    }),
  );
  const count = async () => (await env.sk("GET", "/api/data/items?count=true")).json.data.count;

  it("inserts 1 to 500 documents and answers {insertedCount, items}", async () => {
    const one = await env.sk("POST", "/api/data/items/bulk", [{ title: "a" }]);
    expect(one.status).toBe(201);
    expect(one.json.data).toEqual({
      insertedCount: 1,
      items: [expect.objectContaining({ title: "a", _id: expect.any(String) })],
    });
    const many = Array.from({ length: 500 }, (_, n) => ({ title: `t${n}`, sku: `s${n}` }));
    const res = await env.sk("POST", "/api/data/items/bulk", many);
    expect(res.status).toBe(201);
    expect(res.json.data.insertedCount).toBe(500);
    expect(res.json.data.items.map((d: { title: string }) => d.title)).toEqual(many.map((d) => d.title));
    expect(await count()).toBe(501);
  });

  it.each([
    ["an empty array", "[]"],
    ["501 documents", JSON.stringify(Array.from({ length: 501 }, () => ({ title: "x" })))],
    ["an object", '{"title":"x"}'],
    ["nothing", ""],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_name, raw) => {
    const res = await env.sk("POST", "/api/data/items/bulk", raw);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(await count()).toBe(0);
  });

  it("is all or nothing: details name every failing index", async () => {
    const res = await env.sk("POST", "/api/data/items/bulk", [
      { title: "ok" },
      { title: 1 },
      { title: "ok" },
      { sku: "x" },
      "no",
    ]);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details).toEqual([
      expect.objectContaining({ path: "1.title", index: 1 }),
      expect.objectContaining({ path: "3.title", index: 3 }),
      expect.objectContaining({ path: "4", index: 4 }),
    ]);
    expect(await count()).toBe(0);
  });

  it("bounds the details of many failing items, counting every problem left out", async () => {
    // The first item alone has 151 problems (its own error lists 100 and counts 51), the others 2 each.
    const first = { title: 1, ...Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`x${i}`, 1])) };
    const items = [first, ...Array.from({ length: 299 }, () => ({ title: 1, nope: true }))];
    const res = await env.sk("POST", "/api/data/items/bulk", items);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details).toHaveLength(101);
    expect(res.json.details[99]).toEqual(expect.objectContaining({ path: "0.x98", index: 0 }));
    expect(res.json.details[100]).toEqual({ path: "", message: "649 more not listed", omitted: 649 });
    expect(await count()).toBe(0);
  });

  it("shares one regex budget among its items: checking stops once the body's pattern work is spent", async () => {
    // 2000 RE2 instructions per character: one item of 1900 characters costs about a tenth of the budget.
    await env.defineCollection({ name: "pat", fields: [{ name: "s", type: "string", pattern: "[a-b]{1,1000}[cd]" }] });
    const res = await env.sk("POST", "/api/data/pat/bulk", new Array(100).fill({ s: "a".repeat(1900) }));
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details.length).toBeLessThan(20);
    expect(res.json.details.at(-1).message).toBe("The values are too long to check against the collection's patterns");
  });

  it("a duplicate inside the batch inserts nothing and names the later item", async () => {
    const res = await env.sk("POST", "/api/data/items/bulk", [
      { title: "a", sku: "1" },
      { title: "b", sku: "2" },
      { title: "c", sku: "1" },
    ]);
    expect([res.status, res.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    expect(res.json.details).toEqual([expect.objectContaining({ path: "2.sku", index: 2 })]);
    expect(await count()).toBe(0);
  });

  it("a clash with a stored document inserts nothing and names the item", async () => {
    await env.sk("POST", "/api/data/items", { title: "old", sku: "taken" });
    const res = await env.sk("POST", "/api/data/items/bulk", [
      { title: "a", sku: "free" },
      { title: "b", sku: "taken" },
    ]);
    expect([res.status, res.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    expect(res.json.details).toEqual([expect.objectContaining({ path: "1.sku", index: 1 })]);
    expect(await count()).toBe(1);
  });

  it("applies the owner rule to every item for end users", async () => {
    const alice = newUserId();
    const token = await env.token(alice);
    const res = await env.pk("POST", "/api/data/items/bulk", {
      token,
      body: [{ title: "a" }, { title: "b", userId: alice }],
    });
    expect(res.status).toBe(201);
    expect(res.json.data.items.map((d: { userId: string; createdBy: string }) => [d.userId, d.createdBy])).toEqual([
      [alice, alice],
      [alice, alice],
    ]);
    const mismatch = await env.pk("POST", "/api/data/items/bulk", {
      token,
      body: [{ title: "a" }, { title: "b", userId: newUserId() }],
    });
    expect([mismatch.status, mismatch.json.code, mismatch.json.message]).toEqual([
      403,
      "OWNER_MISMATCH",
      "RLS owner mismatch",
    ]);
    expect(mismatch.json.details).toEqual([expect.objectContaining({ index: 1 })]);
    const guest = await env.pk("POST", "/api/data/items/bulk", { body: [{ title: "a" }] });
    expect([guest.status, guest.json.code]).toEqual([401, "AUTH_REQUIRED"]);
    expect(await count()).toBe(2);
  });
});

describe("PUT, PATCH, DELETE and system fields", () => {
  let alice: string;
  let token: string;
  beforeEach(async () => {
    await env.defineCollection({
      name: "notes",
      fields: [
        { name: "title", type: "string", required: true },
        { name: "body", type: "string" },
        { name: "userId", type: "string" },
      ],
      rls: { enabled: true },
    });
    alice = newUserId();
    token = await env.token(alice);
  });

  const insert = async (body: Record<string, unknown>) =>
    (await env.pk("POST", "/api/data/notes", { token, body })).json.data;

  it("a PATCH that would leave a document larger than one body may be is 413, and changes nothing", async () => {
    expect((await env.sk("PATCH", "/api/schemas/notes", { additionalFields: true })).status).toBe(200);
    const doc = await insert({ title: "t", a: "x".repeat(600_000) });
    const grow = await env.pk("PATCH", `/api/data/notes/${doc._id}`, { token, body: { b: "y".repeat(600_000) } });
    expect([grow.status, grow.json.code, grow.json.message]).toEqual([
      413,
      "PAYLOAD_TOO_LARGE",
      "The document would be larger than 1048576 bytes",
    ]);
    const stored = (await env.sk("GET", `/api/data/notes/${doc._id}`)).json.data;
    expect([stored.a.length, stored.b, stored.updatedAt]).toEqual([600_000, undefined, doc.updatedAt]);
    // Replacing the big field keeps it within the bound.
    expect((await env.pk("PATCH", `/api/data/notes/${doc._id}`, { token, body: { a: "z" } })).status).toBe(200);
    expect(
      (await env.pk("PATCH", `/api/data/notes/${doc._id}`, { token, body: { b: "y".repeat(600_000) } })).status,
    ).toBe(200);
  });

  it("an insert is held to the same document size: 413 when its stored form would not fit, never unwritable", async () => {
    const max = env.deps.config.maxJsonBytes;
    // The body fits; with _id, createdAt and updatedAt (111 bytes) the stored document would not.
    const over = { p: "x".repeat(max - 20) };
    const single = await env.sk("POST", "/api/data/big", over);
    expect([single.status, single.json.code, single.json.message]).toEqual([
      413,
      "PAYLOAD_TOO_LARGE",
      `The document would be larger than ${max} bytes`,
    ]);
    const bulk = await env.sk("POST", "/api/data/big/bulk", [over]);
    expect([bulk.status, bulk.json.code, bulk.json.details]).toEqual([
      413,
      "PAYLOAD_TOO_LARGE",
      [expect.objectContaining({ path: "0", index: 0 })],
    ]);
    // One that fits as stored can be written back unchanged.
    const fits = { p: "x".repeat(max - 200) };
    const inserted = await env.sk("POST", "/api/data/big", fits);
    expect(inserted.status).toBe(201);
    expect((await env.sk("PUT", `/api/data/big/${inserted.json.data._id}`, fits)).status).toBe(200);
    expect((await env.sk("PATCH", `/api/data/big/${inserted.json.data._id}`, fits)).status).toBe(200);
    expect((await env.sk("GET", "/api/data/big?count=true")).json.data.count).toBe(1);
  });

  it("ignores system fields a client sends on insert", async () => {
    const sent = {
      _id: REF,
      createdAt: "1999-01-01T00:00:00.000Z",
      updatedAt: "1999-01-01T00:00:00.000Z",
      createdBy: "x",
    };
    const doc = await insert({ title: "a", ...sent });
    expect(doc._id).not.toBe(REF);
    expect(doc).toMatchObject({
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
      createdBy: alice,
    });
    const bySk = (await env.sk("POST", "/api/data/notes", { title: "b", ...sent })).json.data;
    expect(bySk).not.toHaveProperty("createdBy");
    expect(bySk._id).not.toBe(REF);
  });

  it("an insert naming the owner as null, or createdBy as owner field, makes the caller the owner", async () => {
    const nulled = await env.pk("POST", "/api/data/notes", { token, body: { title: "a", userId: null } });
    expect([nulled.status, nulled.json.data?.userId]).toEqual([201, alice]);
    await env.defineCollection({
      name: "posts",
      fields: [{ name: "title", type: "string" }],
      rls: { enabled: true, ownerField: "createdBy" },
      permissions: { create: "user" },
    });
    const named = await env.pk("POST", "/api/data/posts", { token, body: { title: "a", createdBy: newUserId() } });
    expect([named.status, named.json.data?.createdBy]).toEqual([201, alice]);
  });

  it("PUT replaces the document but keeps _id, createdAt, createdBy and the owner", async () => {
    const doc = await insert({ title: "a", body: "old" });
    env.clock.advance(1000);
    const res = await env.pk("PUT", `/api/data/notes/${doc._id}`, {
      token,
      body: { title: "b", _id: REF, createdAt: "1999-01-01T00:00:00.000Z", createdBy: "x" },
    });
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({
      _id: doc._id,
      title: "b",
      userId: alice,
      createdAt: doc.createdAt,
      updatedAt: "2026-01-01T00:00:01.000Z",
      createdBy: alice,
    });
    expect((await env.sk("GET", `/api/data/notes/${doc._id}`)).json.data).toEqual(res.json.data);
  });

  it("PATCH merges top-level fields; null removes an optional field; a required one cannot be removed", async () => {
    const doc = await insert({ title: "a", body: "old" });
    const res = await env.pk("PATCH", `/api/data/notes/${doc._id}`, { token, body: { body: null, title: "b" } });
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({ ...doc, title: "b", body: undefined, updatedAt: expect.any(String) });
    expect(res.json.data).not.toHaveProperty("body");
    expect(res.json.data.updatedAt > doc.updatedAt).toBe(true);
    const required = await env.pk("PATCH", `/api/data/notes/${doc._id}`, { token, body: { title: null } });
    expect([required.status, required.json.code, paths(required)]).toEqual([400, "VALIDATION_FAILED", ["title"]]);
    const unknown = await env.pk("PATCH", `/api/data/notes/${doc._id}`, { token, body: { nope: null } });
    expect([unknown.status, paths(unknown)]).toEqual([400, ["nope"]]);
  });

  it("PATCH replaces a nested object as a whole (top-level merge)", async () => {
    await env.defineCollection({ name: "cfg" });
    const doc = (await env.sk("POST", "/api/data/cfg", { o: { a: 1, b: 2 }, keep: true })).json.data;
    const res = await env.sk("PATCH", `/api/data/cfg/${doc._id}`, { o: { c: 3 } });
    expect(res.json.data).toMatchObject({ o: { c: 3 }, keep: true });
    expect(res.json.data.o).toEqual({ c: 3 });
  });

  it("DELETE answers {_id, id, deleted: true}; the document is gone", async () => {
    const doc = await insert({ title: "a" });
    const res = await env.pk("DELETE", `/api/data/notes/${doc._id}`, { token });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true, data: { _id: doc._id, id: doc._id, deleted: true } });
    expect((await env.sk("GET", `/api/data/notes/${doc._id}`)).status).toBe(404);
    expect((await env.pk("DELETE", `/api/data/notes/${doc._id}`, { token })).json.code).toBe("DOCUMENT_NOT_FOUND");
  });
});

describe("writes by callers whose read rule refuses them", () => {
  const MARKER = "alice-only-s3cret";

  it("a blind PATCH or PUT naming the owner field is refused alike, whether it names the owner or not", async () => {
    await env.defineCollection({
      name: "inbox",
      fields: [{ name: "title", type: "string" }],
      rls: { enabled: true },
      permissions: { list: "secret", read: "secret", update: "user" },
    });
    const alice = newUserId();
    const doc = (await env.sk("POST", "/api/data/inbox", { title: "t", userId: alice })).json.data;
    const bob = await env.token(newUserId());
    const path = `/api/data/inbox/${doc._id}`;
    for (const method of ["PATCH", "PUT"]) {
      for (const guess of [alice, newUserId()]) {
        const res = await env.pk(method, path, { token: bob, body: { title: "t", userId: guess } });
        expect([method, res.status, res.json.code]).toEqual([method, 403, "OWNER_IMMUTABLE"]);
      }
    }
    expect((await env.pk("PATCH", path, { token: bob, body: { title: "u" } })).status).toBe(200);
  });

  it("read secret, update user: PATCH and PUT are blind, answered with the id and version only", async () => {
    await env.defineCollection({
      name: "inbox",
      fields: [
        { name: "title", type: "string" },
        { name: "note", type: "string" },
      ],
      rls: { enabled: true },
      permissions: { list: "secret", read: "secret", update: "user" },
    });
    const doc = (await env.sk("POST", "/api/data/inbox", { title: "t", note: MARKER, userId: newUserId() })).json.data;
    const bob = await env.token(newUserId());
    expect((await env.pk("GET", `/api/data/inbox/${doc._id}`, { token: bob })).json.code).toBe("READ_BLOCKED");

    const patched = await env.pk("PATCH", `/api/data/inbox/${doc._id}`, { token: bob, body: {} });
    const stored = (await env.sk("GET", `/api/data/inbox/${doc._id}`)).json.data;
    expect(patched.status).toBe(200);
    expect(patched.json.data).toEqual({ _id: doc._id, id: doc._id, updatedAt: stored.updatedAt });
    expect(patched.text).not.toContain(MARKER);
    // The ETag names the version the write made, so a blind writer can still write conditionally.
    const etag = patched.headers.get("etag") as string;
    const put = await env.pk("PUT", `/api/data/inbox/${doc._id}`, {
      token: bob,
      body: { title: "u" },
      headers: { "if-match": etag },
    });
    expect([put.status, Object.keys(put.json.data)]).toEqual([200, ["_id", "id", "updatedAt"]]);
    const stale = await env.pk("PATCH", `/api/data/inbox/${doc._id}`, {
      token: bob,
      body: { title: "v" },
      headers: { "if-match": etag },
    });
    expect(stale.json.code).toBe("PRECONDITION_FAILED");
    expect((await env.sk("GET", `/api/data/inbox/${doc._id}`)).json.data).toMatchObject({
      title: "u",
      userId: doc.userId,
    });
  });

  it("private mode, update guest: a guest addresses no one's document (404), as a signed-in non-owner", async () => {
    await env.defineCollection({
      name: "diary",
      fields: [{ name: "entry", type: "string" }],
      rls: { enabled: true, mode: "private" },
      permissions: { update: "guest" },
    });
    const alice = newUserId();
    const doc = (await env.sk("POST", "/api/data/diary", { entry: MARKER, userId: alice })).json.data;
    const path = `/api/data/diary/${doc._id}`;
    expect((await env.pk("GET", path)).json.code).toBe("AUTH_REQUIRED");
    for (const method of ["PATCH", "PUT"]) {
      const other = await env.pk(method, path, { token: await env.token(newUserId()), body: {} });
      const guest = await env.pk(method, path, { body: {}, headers: { "if-match": etagOf(doc, "") } });
      expect([other.status, other.json.code, guest.status, guest.json.code]).toEqual([
        404,
        "DOCUMENT_NOT_FOUND",
        404,
        "DOCUMENT_NOT_FOUND",
      ]);
      expect(guest.text).not.toContain(MARKER);
    }
    const own = await env.pk("PATCH", path, { token: await env.token(alice), body: {} });
    expect([own.status, own.json.data.entry]).toEqual([200, MARKER]);
  });
});

describe("ETags and conditional requests", () => {
  let id: string;
  let etag: string;
  beforeEach(async () => {
    const res = await env.sk("POST", "/api/data/docs", { n: 0 });
    id = res.json.data._id;
    etag = res.headers.get("etag")!;
  });
  const get = (headers: Record<string, string> = {}) => env.sk("GET", `/api/data/docs/${id}`, undefined, headers);

  it("GET answers the ETag the write gave; If-None-Match with it → 304 without a body", async () => {
    const first = await get();
    expect(first.headers.get("etag")).toBe(etag);
    expect(etag).toMatch(/^"[0-9a-z]+"$/);
    // A browser may keep it for itself, asking again each time; lists and writes are never kept.
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    // The secret key's copy shows private fields a publishable key's does not: one copy per caller.
    expect(
      first.headers
        .get("vary")
        ?.toLowerCase()
        .split(/\s*,\s*/),
    ).toEqual(["origin", "x-api-key", "authorization"]);
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await get({ "if-none-match": header });
      expect(res.status, header).toBe(304);
      expect(res.text).toBe("");
      expect(res.headers.get("etag")).toBe(etag);
      expect(res.headers.get("cache-control")).toBe("private, no-cache");
    }
    expect((await env.sk("GET", "/api/data/docs")).headers.get("cache-control")).toBe("no-store");
    expect((await env.sk("PATCH", `/api/data/docs/${id}`, { n: 1 })).headers.get("cache-control")).toBe("no-store");
    expect((await get({ "if-none-match": '"other"' })).status).toBe(200);
  });

  it("every write changes the ETag, even within one millisecond", async () => {
    const patched = await env.sk("PATCH", `/api/data/docs/${id}`, { n: 1 });
    const next = patched.headers.get("etag")!;
    expect(next).not.toBe(etag);
    expect((await get()).headers.get("etag")).toBe(next);
    expect((await get({ "if-none-match": etag })).status).toBe(200);
    const put = await env.sk("PUT", `/api/data/docs/${id}`, { n: 2 });
    expect(put.headers.get("etag")).not.toBe(next);
  });

  it.each(["PUT", "PATCH", "DELETE"])(
    "%s with a stale If-Match → 412 and nothing changes; the current one → 200",
    async (method) => {
      const body = method === "DELETE" ? undefined : { n: 5 };
      const stale = await env.sk(method, `/api/data/docs/${id}`, body, { "if-match": '"stale"' });
      expect([stale.status, stale.json.code]).toEqual([412, "PRECONDITION_FAILED"]);
      expect((await get()).json.data.n).toBe(0);
      const fresh = await env.sk(method, `/api/data/docs/${id}`, body, { "if-match": etag });
      expect(fresh.status).toBe(200);
      if (method === "DELETE") expect((await get()).status).toBe(404);
      else expect((await get()).json.data.n).toBe(5);
    },
  );

  it("publishing or hiding a field changes every document's ETag (found by the schema evolution review); other definition changes do not", async () => {
    const fields = (bio: Record<string, unknown>) => [
      { name: "s", type: "string" },
      { name: "bio", type: "string", ...bio },
    ];
    await env.defineCollection({ name: "t", fields: fields({ private: true }) });
    const path = `/api/data/t/${(await env.sk("POST", "/api/data/t", { s: "a", bio: "hello" })).json.data._id}`;
    const first = await env.pk("GET", path);
    const hidden = first.headers.get("etag")!;
    expect(first.json.data.bio).toBeUndefined();
    expect((await env.sk("GET", path)).headers.get("etag")).toBe(hidden);
    // The rules changed, not what pk callers are shown: still 304.
    expect((await env.sk("PATCH", "/api/schemas/t", { permissions: { list: "secret" } })).status).toBe(200);
    expect((await env.pk("GET", path, { headers: { "if-none-match": hidden } })).status).toBe(304);
    expect((await env.sk("PUT", "/api/schemas/t", { fields: fields({ private: false }) })).status).toBe(200);
    const published = await env.pk("GET", path, { headers: { "if-none-match": hidden } });
    expect([published.status, published.json.data.bio]).toEqual([200, "hello"]);
    const shown = published.headers.get("etag")!;
    // Strong and quoted: the version, then the view while the definition has private fields.
    expect([hidden, shown]).toEqual([
      expect.stringMatching(/^"[0-9a-z]+\.[\w-]+"$/),
      expect.stringMatching(/^"[0-9a-z]+"$/),
    ]);
    // A write based on the old view (without bio) is refused: it could erase what it did not show.
    const stale = await env.sk("PATCH", path, { s: "b" }, { "if-match": hidden });
    expect([stale.status, stale.json.code]).toEqual([412, "PRECONDITION_FAILED"]);
    expect((await env.sk("PATCH", path, { s: "b" }, { "if-match": shown })).status).toBe(200);
  });

  it("publishing one of two private fields changes the ETag too: the view follows which fields are private", async () => {
    const fields = (bPrivate: boolean) => [
      { name: "a", type: "string", private: true },
      { name: "b", type: "string", private: bPrivate },
    ];
    await env.defineCollection({ name: "t", fields: fields(true) });
    const path = `/api/data/t/${(await env.sk("POST", "/api/data/t", { a: "secret", b: "hello" })).json.data._id}`;
    const hidden = (await env.pk("GET", path)).headers.get("etag")!;
    expect((await env.sk("PUT", "/api/schemas/t", { fields: fields(false) })).status).toBe(200);
    const published = await env.pk("GET", path, { headers: { "if-none-match": hidden } });
    expect([published.status, published.json?.data?.b]).toEqual([200, "hello"]);
    expect(published.headers.get("etag")).not.toBe(hidden);
    const stale = await env.sk("PATCH", path, { b: "bye" }, { "if-match": hidden });
    expect([stale.status, stale.json.code]).toEqual([412, "PRECONDITION_FAILED"]);
  });

  it("20 parallel PATCHes without If-Match all land (merged, retried on conflicts)", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => env.sk("PATCH", `/api/data/docs/${id}`, { [`f${n}`]: n })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const merged = (await get()).json.data;
    for (let n = 0; n < 20; n++) expect(merged[`f${n}`]).toBe(n);
    expect(new Set(results.map((r) => r.headers.get("etag"))).size).toBe(20);
  });

  it("parallel PATCHes with the same If-Match: exactly one 200, the rest 412", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => env.sk("PATCH", `/api/data/docs/${id}`, { n }, { "if-match": etag })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(19).fill(412)]);
    const winner = results.find((r) => r.status === 200)!.json.data.n;
    expect((await get()).json.data.n).toBe(winner);
  });
});

describe("a refused first insert", () => {
  it("does not create the collection", async () => {
    for (const raw of ['{"$bad":1}', "[]", '{"a":', '[{},{"a.b":1}]']) {
      expect((await env.sk("POST", "/api/data/ghost", raw)).status).toBe(400);
      expect((await env.sk("POST", "/api/data/ghost/bulk", raw)).status).toBe(400);
    }
    expect((await env.sk("GET", "/api/schemas/ghost")).status).toBe(404);
    expect(await definedNames(env)).toEqual(["users"]); // users exists in every project
  });
});

describe("the first problem found is the answer", () => {
  it("bulk: an invalid item before an oversized one is the answer (the code of the first failing item)", async () => {
    await env.defineCollection({ name: "items", fields: [{ name: "title", type: "string" }] });
    const max = env.deps.config.maxJsonBytes;
    const body = [{ title: 1 }, { title: "x".repeat(max - 50) }];
    const res = await env.sk("POST", "/api/data/items/bulk", body);
    expect([res.status, res.json.code, res.json.details?.[0]?.index]).toEqual([400, "VALIDATION_FAILED", 0]);
  });

  it("body keys: 150 bad keys, then 1e400: the bad keys found first are the answer", async () => {
    await env.defineCollection({ name: "loose", fields: [], permissions: { create: "guest" } });
    const keys = Array.from({ length: 150 }, (_, i) => `"$k${i}":1`).join(",");
    const res = await env.sk("POST", "/api/data/loose", `{${keys},"n":1e400}`);
    expect([res.status, res.json.code, res.json.details?.[0]?.path]).toEqual([400, "INVALID_FIELD_NAME", "$k0"]);
  });
});

describe("documents written outside the API (a project's own database)", () => {
  const collectionOf = async (name: string) => {
    const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
    return env.deps.collections.database(project).collection(name);
  };

  it("one without updatedAt can be PATCHed, PUT and DELETEd, and gets a version from its first write", async () => {
    await env.defineCollection({ name: "notes", fields: [{ name: "text", type: "string" }] });
    const notes = await collectionOf("notes");
    const doc = await notes.insertOne({ text: "imported" });
    const read = await env.sk("GET", `/api/data/notes/${doc._id}`);
    expect([read.status, read.headers.get("etag")]).toEqual([200, '"0"']);
    const patch = await env.sk("PATCH", `/api/data/notes/${doc._id}`, { text: "patched" }, { "if-match": '"0"' });
    expect([patch.status, patch.json.data.updatedAt]).toEqual([200, expect.any(String)]);
    const put = await env.sk("PUT", `/api/data/notes/${doc._id}`, { text: "put" });
    expect([put.status, put.json.data.text]).toEqual([200, "put"]);
    const other = await notes.insertOne({ text: "imported too" });
    expect((await env.sk("DELETE", `/api/data/notes/${other._id}`)).status).toBe(200);
    expect(await notes.count({})).toBe(1);
  });

  it("a version held as a date or as epoch ms is the ETag's and the next write's", () => {
    const at = Date.UTC(2026, 0, 1);
    for (const updatedAt of [new Date(at), at, new Date(at).toISOString()]) {
      expect(etagOf({ updatedAt }, "")).toBe(`"${at.toString(36)}"`);
      expect(nextTimestamp(updatedAt, at - 5)).toBe(new Date(at + 1).toISOString());
    }
  });
});
