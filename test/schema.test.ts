import { describe, expect, it } from "vitest";
import {
  type CollectionDef,
  definitionView,
  type FieldDef,
  fieldPaths,
  indexedFields,
  parseDefinition,
} from "../shared/schema/definition.js";
import { mergeDefinition } from "../shared/schema/merge-definition.js";
import { compileValidators, createValidatorCache, validatorsFor, validatorWeight } from "../shared/schema/validator.js";
import { detailPaths as paths, thrown } from "./helpers.js";

/** The detail paths of a VALIDATION_FAILED thrown by fn. */
function failedPaths(fn: () => unknown): string[] {
  const error = thrown(fn);
  expect(error.code).toBe("VALIDATION_FAILED");
  expect(error.status).toBe(400);
  return paths(error.details);
}

const validators = (fields: unknown[], extra: Record<string, unknown> = {}) =>
  compileValidators(parseDefinition({ name: "things", fields, ...extra }));

const ID = "0123456789abcdef01234567";

const SPEC_EXAMPLE = {
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

describe("document validation: types and constraints", () => {
  /** [label, field (named "f"), valid values, invalid values] */
  const table: Array<[string, Record<string, unknown>, unknown[], unknown[]]> = [
    ["string", { type: "string" }, ["x", "", "ünï ✓"], [1, true, {}, [], ["x"]]],
    ["string minLength/maxLength", { type: "string", minLength: 2, maxLength: 3 }, ["ab", "abc"], ["a", "abcd"]],
    ["string pattern", { type: "string", pattern: "^[a-z0-9-]+$" }, ["my-slug-1"], ["My Slug", ""]],
    ["string enum", { type: "string", enum: ["draft", "published"] }, ["draft", "published"], ["other", "Draft", 1]],
    ["number", { type: "number" }, [0, -1.5, 1e21, 42], ["1", true, Number.NaN, Number.POSITIVE_INFINITY, [1]]],
    ["number min/max", { type: "number", min: 0, max: 10 }, [0, 10, 5.5], [-0.1, 10.01]],
    ["integer", { type: "integer" }, [0, -3, 2 ** 40], [1.5, "3", 2 ** 60]],
    ["integer min/max", { type: "integer", min: 1, max: 3 }, [1, 3], [0, 4]],
    ["integer enum", { type: "integer", enum: [1, 2] }, [1, 2], [3]],
    ["boolean", { type: "boolean" }, [true, false], ["true", 0, 1]],
    [
      "date",
      { type: "date" },
      [
        "2024-01-31",
        "2024-02-29T10:00:00Z",
        "2024-01-31T10:00:00.123+02:00",
        "2024-01-31T10:00Z",
        "2024-01-31T10:00:00+0200",
        "2000-02-29",
        0,
        1_700_000_000_000,
      ],
      [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-01-31T10:00:00",
        "2024-01-31T25:00:00Z",
        "1900-02-29",
        "0000-01-01T00:00:00+01:00",
        "yesterday",
        "",
        true,
        9e15,
      ],
    ],
    ["email", { type: "email" }, ["a@b.co", "first.last+tag@example.org"], ["nope", "a@", "@b.co", 1]],
    ["email maxLength", { type: "email", maxLength: 8 }, ["a@b.co"], ["abcdef@b.co"]],
    [
      "url",
      { type: "url" },
      ["https://example.com/x?y=1", "http://localhost:3000"],
      ["ftp://example.com", "javascript:alert(1)", "example.com", "", 1],
    ],
    ["ref", { type: "ref", ref: "authors" }, [ID, ID.toUpperCase()], ["123", "z".repeat(24), `${ID}0`, 5]],
    ["ref enum", { type: "ref", enum: [ID] }, [ID], ["aaaaaaaaaaaaaaaaaaaaaaaa"]],
    ["any", { type: "any" }, [1, "x", false, { a: 1 }, [1, "2"]], []],
    ["array", { type: "array" }, [[], [1, "x", { a: 1 }]], ["x", {}, 1]],
    [
      "array of integers with minLength/maxLength",
      { type: "array", items: { type: "integer" }, minLength: 1, maxLength: 2 },
      [[1], [1, 2]],
      [[], [1, 2, 3], [1.5], ["1"]],
    ],
    [
      "array of enum strings",
      { type: "array", items: { type: "string", enum: ["a", "b"] } },
      [["a", "b", "a"]],
      [["c"]],
    ],
    [
      "object with fields",
      { type: "object", fields: [{ name: "lang", type: "string" }] },
      [{}, { lang: "en" }],
      [{ lang: 1 }, "x", [], { other: 1 }],
    ],
    ["object without fields", { type: "object" }, [{}, { anything: [1, { deep: true }] }], [[1], "x", 1]],
  ];

  for (const [label, spec, valid, invalid] of table) {
    const v = validators([{ name: "f", ...spec }]);
    it.each(valid.map((value) => [value]))(`${label}: accepts %j`, (value) => {
      expect(Object.keys(v.insert({ f: value }))).toEqual(["f"]);
    });
    if (invalid.length > 0) {
      it.each(invalid.map((value) => [value]))(`${label}: rejects %j`, (value) => {
        const found = failedPaths(() => v.insert({ f: value }));
        expect(found.length).toBeGreaterThan(0);
        for (const path of found) expect(path === "f" || path.startsWith("f.")).toBe(true);
      });
    }
  }

  it("normalizes dates to ISO strings and refs to lower case", () => {
    const v = validators([
      { name: "d", type: "date" },
      { name: "e", type: "date" },
      { name: "r", type: "ref" },
    ]);
    expect(v.insert({ d: "2024-01-31T10:00:00.5+02:00", e: 0, r: ID.toUpperCase() })).toEqual({
      d: "2024-01-31T08:00:00.500Z",
      e: "1970-01-01T00:00:00.000Z",
      r: ID,
    });
    expect(v.insert({ d: "2024-01-31" }).d).toBe("2024-01-31T00:00:00.000Z");
  });
});

describe("document validation: documents", () => {
  const posts = compileValidators(parseDefinition(SPEC_EXAMPLE));

  it("accepts the spec example document and applies defaults", () => {
    expect(posts.insert({ title: "Hello", tags: ["a"], meta: { lang: "en" }, userId: "u1" })).toEqual({
      title: "Hello",
      views: 0,
      tags: ["a"],
      meta: { lang: "en" },
      userId: "u1",
    });
  });

  it("lists every failing field, in dot notation with array indexes", () => {
    const v = validators([
      { name: "title", type: "string", required: true },
      { name: "tags", type: "array", items: { type: "string" } },
      { name: "meta", type: "object", fields: [{ name: "lang", type: "string", required: true }] },
      { name: "comments", type: "array", items: { type: "object", fields: [{ name: "text", type: "string" }] } },
      { name: "n", type: "integer", min: 0 },
    ]);
    const error = thrown(() =>
      v.insert({ tags: ["a", "b", 3, 4], meta: {}, comments: [{ text: "ok" }, { text: 5 }], n: -1, extra: true }),
    );
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.details).toEqual([
      { path: "title", message: "Required" },
      { path: "tags.2", message: expect.any(String) },
      { path: "tags.3", message: expect.any(String) },
      { path: "meta.lang", message: "Required" },
      { path: "comments.1.text", message: expect.any(String) },
      { path: "n", message: expect.any(String) },
      { path: "extra", message: "Unknown field" },
    ]);
  });

  it("reports the non-object body itself", () => {
    expect(failedPaths(() => posts.insert([] as unknown as Record<string, unknown>))).toEqual([""]);
  });

  it("treats null as absent on insert: optional → left out, default → applied, required → Required", () => {
    const v = validators([
      { name: "a", type: "string" },
      { name: "b", type: "number", default: 7 },
      { name: "c", type: "string", required: true },
    ]);
    expect(failedPaths(() => v.insert({ a: null, b: null, c: null }))).toEqual(["c"]);
    expect(v.insert({ a: null, b: null, c: "x" })).toEqual({ b: 7, c: "x" });
  });

  it("applies defaults deep-cloned, at every level, validated like input", () => {
    const v = validators([
      {
        name: "settings",
        type: "object",
        default: { theme: "dark", list: [1] },
        fields: [
          { name: "theme", type: "string" },
          { name: "list", type: "array" },
          { name: "size", type: "integer", default: 12 },
        ],
      },
      { name: "when", type: "date", default: "2024-01-01" },
      { name: "req", type: "string", required: true, default: "fallback" },
    ]);
    const first = v.insert({});
    expect(first).toEqual({
      settings: { theme: "dark", list: [1], size: 12 },
      when: "2024-01-01T00:00:00.000Z",
      req: "fallback",
    });
    ((first.settings as { list: number[] }).list as number[]).push(2);
    expect(v.insert({}).settings).toEqual({ theme: "dark", list: [1], size: 12 });
    expect(v.insert({ settings: { theme: "light" } }).settings).toEqual({ theme: "light", size: 12 });
  });

  it("replace validates fully and applies defaults like insert", () => {
    expect(posts.replace({ title: "T" })).toEqual({ title: "T", views: 0 });
    expect(failedPaths(() => posts.replace({ views: -1 }))).toEqual(["title", "views"]);
  });

  describe("additionalFields", () => {
    const nestedFields = [{ name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] }];

    it("false (default once fields are declared): unknown fields rejected, nested too", () => {
      const v = validators(nestedFields);
      expect(failedPaths(() => v.insert({ x: 1, meta: { lang: "en", y: 2 } }))).toEqual(["meta.y", "x"]);
    });

    it("true: unknown fields kept as sent, nested too; declared ones still validated", () => {
      const v = validators(nestedFields, { additionalFields: true });
      expect(v.insert({ x: { any: ["thing"] }, meta: { lang: "en", y: 2 } })).toEqual({
        meta: { lang: "en", y: 2 },
        x: { any: ["thing"] },
      });
      expect(failedPaths(() => v.insert({ x: 1, meta: { lang: 1 } }))).toEqual(["meta.lang"]);
    });

    it("a collection without fields accepts anything", () => {
      const v = compileValidators(parseDefinition({ name: "notes" }));
      expect(v.insert({ a: 1, b: { c: [null] } })).toEqual({ a: 1, b: { c: [null] } });
    });

    it("an object field without declared fields accepts any keys even when additionalFields is false", () => {
      const v = validators([{ name: "blob", type: "object" }]);
      expect(v.insert({ blob: { free: 1 } })).toEqual({ blob: { free: 1 } });
    });
  });

  it("ignores system fields in bodies (insert, replace, patch), even when additionalFields is false", () => {
    const system = { _id: ID, createdAt: "2020-01-01T00:00:00Z", updatedAt: "x", createdBy: "someone" };
    expect(posts.insert({ title: "T", ...system })).toEqual({ title: "T", views: 0 });
    expect(posts.replace({ title: "T", ...system })).toEqual({ title: "T", views: 0 });
    expect(posts.patch({ title: "T", ...system })).toEqual({ set: { title: "T" }, unset: [] });
  });

  it("checks keys before validating: unsafe keys and lookalikes → INVALID_FIELD_NAME", () => {
    const open = validators([{ name: "title", type: "string" }], { additionalFields: true });
    expect(thrown(() => open.insert({ meta: { $gt: 1 } })).code).toBe("INVALID_FIELD_NAME");
    expect(thrown(() => open.insert(JSON.parse('{"__proto__": {"x": 1}}'))).code).toBe("INVALID_FIELD_NAME");
    for (const key of [" title", "Title", "title\u200b", "createdat", "USERID"]) {
      const error = thrown(() => open.insert({ [key]: "x" }));
      expect(error.code).toBe("INVALID_FIELD_NAME");
      expect(paths(error.details)).toEqual([key]);
    }
    expect(thrown(() => open.patch({ "title\ufeff": "x" })).code).toBe("INVALID_FIELD_NAME");
  });

  it("accepts an undeclared rls owner field (the server writes it), only when owner rules apply", () => {
    const fields = [{ name: "title", type: "string" }];
    const owned = validators(fields, { rls: { enabled: true } });
    expect(owned.insert({ title: "x", userId: "u1" })).toEqual({ title: "x", userId: "u1" });
    expect(failedPaths(() => owned.insert({ title: "x", userId: 42 }))).toEqual(["userId"]);
    const byPermission = validators(fields, { permissions: { create: "owner" } });
    expect(byPermission.insert({ userId: "u1" })).toEqual({ userId: "u1" });
    expect(failedPaths(() => validators(fields).insert({ userId: "u1" }))).toEqual(["userId"]);
  });
});

describe("patch", () => {
  const v = validators([
    { name: "title", type: "string", required: true },
    { name: "views", type: "number", min: 0, default: 0 },
    {
      name: "meta",
      type: "object",
      fields: [
        { name: "lang", type: "string", required: true },
        { name: "size", type: "integer", default: 1 },
      ],
    },
    { name: "tags", type: "array", items: { type: "string" } },
  ]);

  it("validates only the given fields and applies no top-level defaults", () => {
    expect(v.patch({ views: 3 })).toEqual({ set: { views: 3 }, unset: [] });
    expect(v.patch({})).toEqual({ set: {}, unset: [] });
  });

  it("null removes an optional field and is refused for a required one", () => {
    expect(v.patch({ views: null, tags: null })).toEqual({ set: {}, unset: ["views", "tags"] });
    expect(failedPaths(() => v.patch({ title: null }))).toEqual(["title"]);
  });

  it("replaces a top-level object as a whole, validated fully (nested required and defaults)", () => {
    expect(v.patch({ meta: { lang: "en" } })).toEqual({ set: { meta: { lang: "en", size: 1 } }, unset: [] });
    expect(failedPaths(() => v.patch({ meta: { size: 2 } }))).toEqual(["meta.lang"]);
  });

  it("lists every failing field, unknown ones included", () => {
    expect(failedPaths(() => v.patch({ title: 1, views: -1, tags: ["a", 2], extra: 1, gone: null }))).toEqual([
      "title",
      "views",
      "tags.1",
      "extra",
      "gone",
    ]);
  });

  it("with additionalFields, sets and unsets undeclared fields", () => {
    const open = validators([{ name: "title", type: "string" }], { additionalFields: true });
    expect(open.patch({ extra: { a: 1 }, old: null })).toEqual({ set: { extra: { a: 1 } }, unset: ["old"] });
  });
});

describe("strip", () => {
  const v = validators([
    { name: "title", type: "string" },
    { name: "secret", type: "string", private: true },
    {
      name: "meta",
      type: "object",
      fields: [
        { name: "lang", type: "string" },
        { name: "token", type: "string", private: true },
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
  ]);
  const doc = {
    _id: ID,
    title: "t",
    secret: "s",
    meta: { lang: "en", token: "k" },
    comments: [{ text: "a", ip: "1.2.3.4" }, { text: "b" }],
  };

  it("removes private fields, nested and inside arrays, for pk callers", () => {
    expect(v.strip(doc, { isSecretKey: false })).toEqual({
      _id: ID,
      title: "t",
      meta: { lang: "en" },
      comments: [{ text: "a" }, { text: "b" }],
    });
  });

  it("keeps everything for sk callers and never mutates the document", () => {
    const copy = structuredClone(doc);
    expect(v.strip(doc, { isSecretKey: true })).toEqual(copy);
    v.strip(doc, { isSecretKey: false });
    expect(doc).toEqual(copy);
  });

  it("tolerates documents whose stored shape differs from the schema", () => {
    expect(v.strip({ meta: "legacy", comments: "x" }, { isSecretKey: false })).toEqual({
      meta: "legacy",
      comments: "x",
    });
  });
});

describe("validator cache", () => {
  const def = parseDefinition({ name: "c", fields: [{ name: "a", type: "string" }] });

  it("compiles once per version and recompiles for a new one", () => {
    const first = validatorsFor(def, "p1/c/1");
    expect(validatorsFor(def, "p1/c/1")).toBe(first);
    expect(validatorsFor(def, "p1/c/2")).not.toBe(first);
  });

  it("is bounded, evicting the least recently used entry", () => {
    const cache = createValidatorCache(2);
    const one = cache.validatorsFor(def, "1");
    cache.validatorsFor(def, "2");
    cache.validatorsFor(def, "1");
    cache.validatorsFor(def, "3");
    expect(cache.size).toBe(2);
    expect(cache.validatorsFor(def, "1")).toBe(one);
  });

  /** The heaviest definition parseDefinition accepts: ~1000 email fields, 9 000 pattern instructions. */
  const heaviest = (name: string) =>
    parseDefinition({
      name,
      fields: [
        ...Array.from({ length: 4 }, (_, i) => ({
          name: `o${i}`,
          type: "object",
          fields: Array.from({ length: 199 }, (_, j) => ({ name: `e${j}`, type: "email" })),
        })),
        ...Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, type: "string", pattern: `^.{${450 + i}}$` })),
        ...Array.from({ length: 176 }, (_, i) => ({ name: `x${i}`, type: "email" })),
      ],
    });

  it("is bounded by weight (fields, pattern programs, JSON size), not only by entries", () => {
    const big = heaviest("big");
    expect(validatorWeight(big)).toBeGreaterThan(1000);
    expect(validatorWeight(big)).toBeLessThan(2400); // 5 or more fit the default budget (12 000)
    expect(validatorWeight(def)).toBeLessThan(5);
    const cache = createValidatorCache(500, 5000);
    const kept = Array.from({ length: 8 }, (_, i) => cache.validatorsFor(big, `big/${i}`));
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.weight).toBeLessThanOrEqual(5000);
    expect(cache.validatorsFor(big, "big/7")).toBe(kept[7]);
    for (let i = 0; i < 300; i++) cache.validatorsFor(def, `small/${i}`);
    expect(cache.size).toBe(300 + Math.floor((5000 - 300 * validatorWeight(def)) / validatorWeight(big)));
  });

  it("keeps the newest entry even when it alone weighs more than the budget", () => {
    const cache = createValidatorCache(500, 10);
    cache.validatorsFor(def, "small");
    const big = cache.validatorsFor(heaviest("big"), "big");
    expect(cache.size).toBe(1);
    expect(cache.validatorsFor(heaviest("big"), "big")).toBe(big);
  });
});

describe("parseDefinition", () => {
  it("normalizes the spec example", () => {
    const def = parseDefinition(SPEC_EXAMPLE);
    expect(def.name).toBe("posts");
    expect(def.additionalFields).toBe(false);
    expect(def.rls).toEqual({ enabled: true, mode: "public-read", ownerField: "userId" });
    expect(def.permissions).toEqual(SPEC_EXAMPLE.permissions);
    expect(def.fields[0]).toEqual({ name: "title", type: "string", required: true, maxLength: 200 });
    expect(def.fields[4]).toEqual({ name: "tags", type: "array", required: false, items: { type: "string" } });
  });

  it("applies defaults: additionalFields, rls and permissions", () => {
    expect(parseDefinition({ name: "notes" })).toEqual({
      name: "notes",
      fields: [],
      additionalFields: true,
      rls: { enabled: false, mode: "public-read", ownerField: "userId" },
      permissions: {},
    });
    expect(parseDefinition({ name: "n", fields: [{ name: "a", type: "string" }] }).additionalFields).toBe(false);
    expect(
      parseDefinition({ name: "n", fields: [{ name: "a", type: "string" }], additionalFields: true }).additionalFields,
    ).toBe(true);
  });

  it("accepts key as an alias of name and type names in any case", () => {
    const def = parseDefinition({
      name: "n",
      fields: [
        { key: "a", type: "String" },
        { name: "b", type: "NUMBER" },
        { key: "c", name: "c", type: "Boolean" },
      ],
    });
    expect(def.fields.map((f) => [f.name, f.type])).toEqual([
      ["a", "string"],
      ["b", "number"],
      ["c", "boolean"],
    ]);
    expect(JSON.stringify(def)).not.toContain('"key"');
    expect(
      failedPaths(() => parseDefinition({ name: "n", fields: [{ key: "a", name: "b", type: "string" }] })),
    ).toEqual(["fields.0.key"]);
  });

  it("reads urBackend's stored format (model, key, capitalized types, field _id, requireAuthForWrite)", () => {
    const def = parseDefinition({
      name: "orders",
      model: [
        { _id: "65f0c0ffee0000000000abcd", key: "item", type: "String", required: true, unique: false },
        {
          key: "lines",
          type: "Array",
          required: false,
          items: { type: "Object", fields: [{ key: "qty", type: "Number" }] },
        },
        { key: "buyer", type: "Ref", ref: "users", required: false },
      ],
      rls: { enabled: true, mode: "owner-write-only", ownerField: "userId", requireAuthForWrite: true },
    });
    expect(def.fields.map((f) => f.name)).toEqual(["item", "lines", "buyer"]);
    expect(def.fields[1]?.items?.fields?.[0]).toEqual({ name: "qty", type: "number", required: false });
    expect(def.rls.mode).toBe("public-read");
    expect(
      failedPaths(() => parseDefinition({ name: "o", rls: { enabled: true, requireAuthForWrite: false } })),
    ).toEqual(["rls.requireAuthForWrite"]);
  });

  it.each([["posts"], ["users"], ["a"], ["A-b_c9"], [`a${"b".repeat(63)}`]])("accepts collection name %j", (name) => {
    expect(parseDefinition({ name }).name).toBe(name);
  });

  it.each([
    [""],
    ["_private"],
    ["system.indexes"],
    ["9lives"],
    ["a.b"],
    ["a b"],
    ["$x"],
    ["-x"],
    [`a${"b".repeat(64)}`],
    ["ünï"],
    ["Users"],
    ["USERS"],
  ])("rejects collection name %j", (name) => {
    expect(failedPaths(() => parseDefinition({ name }))).toEqual(["name"]);
  });

  it.each([
    ["$x"],
    ["a.b"],
    ["a\u0000b"],
    ["__proto__"],
    ["constructor"],
    ["prototype"],
    ["_id"],
    ["createdAt"],
    ["updatedAt"],
    ["createdBy"],
    ["CreatedAt"],
    [" title"],
    ["title "],
    ["ti\u200btle"],
    ["\ufefftitle"],
    ["ti\u00adtle"],
    ["ti\ttle"],
    [""],
    ["x".repeat(129)],
  ])("rejects field name %j", (name) => {
    expect(failedPaths(() => parseDefinition({ name: "n", fields: [{ name, type: "string" }] }))).toEqual([
      "fields.0.name",
    ]);
  });

  it("accepts ordinary field names, including inner spaces and non-ASCII letters", () => {
    const names = ["title", "first name", "Ünïcode", "a-b_c", "userId"];
    const def = parseDefinition({ name: "n", fields: names.map((name) => ({ name, type: "string" })) });
    expect(def.fields.map((f) => f.name)).toEqual(names);
  });

  it.each([
    ["same name", ["title", "title"]],
    ["case only", ["userId", "userid"]],
    ["case only, upper", ["title", "TITLE"]],
    ["inner whitespace", ["first name", "firstname"]],
    ["compatibility form", ["userId", "ｕｓｅｒＩｄ"]],
  ])("rejects duplicate field names (%s)", (_label, names) => {
    const fields = names.map((name) => ({ name, type: "string" }));
    expect(failedPaths(() => parseDefinition({ name: "n", fields }))).toContain("fields.1.name");
  });

  it("rejects duplicates inside nested objects and array items", () => {
    const dup = [
      { name: "a", type: "string" },
      { name: "A", type: "string" },
    ];
    expect(
      failedPaths(() => parseDefinition({ name: "n", fields: [{ name: "meta", type: "object", fields: dup }] })),
    ).toEqual(["fields.0.fields.1.name"]);
    expect(
      failedPaths(() =>
        parseDefinition({ name: "n", fields: [{ name: "l", type: "array", items: { type: "object", fields: dup } }] }),
      ),
    ).toEqual(["fields.0.items.fields.1.name"]);
  });

  /** An object field nested `levels` deep: a.a.a… with a string leaf at the bottom. */
  function objectChain(levels: number): FieldDef {
    let field: FieldDef = { name: "leaf", type: "string" };
    for (let i = 1; i < levels; i++) field = { name: "a", type: "object", fields: [field] };
    return field;
  }

  it("allows nesting of 4 levels and rejects 5 (objects and array items alike)", () => {
    expect(() => parseDefinition({ name: "n", fields: [objectChain(4)] })).not.toThrow();
    expect(failedPaths(() => parseDefinition({ name: "n", fields: [objectChain(5)] }))).toEqual([
      "fields.0.fields.0.fields.0.fields.0.fields",
    ]);
    const arrays = {
      name: "m",
      type: "array",
      items: { type: "array", items: { type: "array", items: { type: "string" } } },
    };
    expect(() => parseDefinition({ name: "n", fields: [arrays] })).not.toThrow();
    const deeper = {
      name: "m",
      type: "array",
      items: { type: "array", items: { type: "array", items: { type: "array", items: { type: "string" } } } },
    };
    expect(failedPaths(() => parseDefinition({ name: "n", fields: [deeper] }))).toEqual([
      "fields.0.items.items.items.items",
    ]);
  });

  it("allows 200 fields per level and rejects 201", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, type: "string" }));
    expect(parseDefinition({ name: "n", fields: many(200) }).fields).toHaveLength(200);
    expect(failedPaths(() => parseDefinition({ name: "n", fields: many(201) }))).toEqual(["fields"]);
  });

  it.each([
    ["unknown type", { type: "strng" }, "fields.0.type"],
    ["min > max", { type: "number", min: 5, max: 1 }, "fields.0.max"],
    ["minLength > maxLength", { type: "string", minLength: 5, maxLength: 1 }, "fields.0.maxLength"],
    ["negative maxLength", { type: "string", maxLength: -1 }, "fields.0.maxLength"],
    ["pattern that does not compile", { type: "string", pattern: "(" }, "fields.0.pattern"],
    ["empty enum", { type: "string", enum: [] }, "fields.0.enum"],
    ["enum value of the wrong type", { type: "string", enum: ["a", 2] }, "fields.0.enum.1"],
    ["enum value breaking a constraint", { type: "string", enum: ["ok", "toolong"], maxLength: 3 }, "fields.0.enum.1"],
    ["enum on an object", { type: "object", enum: [{}] }, "fields.0.enum"],
    ["default of the wrong type", { type: "number", default: "0" }, "fields.0.default"],
    ["default outside the enum", { type: "string", enum: ["a"], default: "b" }, "fields.0.default"],
    ["default breaking min", { type: "integer", min: 1, default: 0 }, "fields.0.default"],
    ["invalid date default", { type: "date", default: "not a date" }, "fields.0.default"],
    ["items on a string", { type: "string", items: { type: "string" } }, "fields.0.items"],
    ["fields on a string", { type: "string", fields: [{ name: "x", type: "string" }] }, "fields.0.fields"],
    ["ref on a string", { type: "string", ref: "authors" }, "fields.0.ref"],
    ["ref naming an invalid collection", { type: "ref", ref: "_x" }, "fields.0.ref"],
    ["min on a string", { type: "string", min: 1 }, "fields.0.min"],
    ["minLength on a number", { type: "number", minLength: 1 }, "fields.0.minLength"],
    ["pattern on a number", { type: "number", pattern: "x" }, "fields.0.pattern"],
    ["unique on an object", { type: "object", unique: true }, "fields.0.unique"],
    ["unique on an array", { type: "array", unique: true }, "fields.0.unique"],
    ["required that is not a boolean", { type: "string", required: "yes" }, "fields.0.required"],
    ["unknown property", { type: "string", requried: true }, "fields.0.requried"],
    ["default on array items", { type: "array", items: { type: "string", default: "x" } }, "fields.0.items.default"],
    ["private on array items", { type: "array", items: { type: "string", private: true } }, "fields.0.items.private"],
  ])("rejects %s", (_label, spec, path) => {
    expect(failedPaths(() => parseDefinition({ name: "n", fields: [{ name: "f", ...spec }] }))).toEqual([path]);
  });

  it("rejects a nested default with unknown keys when additionalFields is false", () => {
    const meta = {
      name: "meta",
      type: "object",
      fields: [{ name: "lang", type: "string" }],
      default: { lang: "en", x: 1 },
    };
    expect(failedPaths(() => parseDefinition({ name: "n", fields: [meta] }))).toEqual(["fields.0.default.x"]);
    expect(() => parseDefinition({ name: "n", fields: [meta], additionalFields: true })).not.toThrow();
  });

  it("rejects unique and index inside array items", () => {
    const items = { type: "object", fields: [{ name: "sku", type: "string", unique: true }] };
    expect(failedPaths(() => parseDefinition({ name: "n", fields: [{ name: "l", type: "array", items }] }))).toEqual([
      "fields.0.items.fields.0.unique",
    ]);
  });

  it("lists every problem of a definition at once", () => {
    const found = failedPaths(() =>
      parseDefinition({
        name: "_bad",
        fields: [
          { name: "a", type: "nope" },
          { name: "b", type: "number", min: 2, max: 1 },
          { name: "$c", type: "string" },
          { name: "B", type: "string" },
        ],
        rls: { mode: "public" },
        permissions: { write: "guest", read: "everyone" },
        extra: true,
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        "name",
        "fields.0.type",
        "fields.1.max",
        "fields.2.name",
        "fields.3.name",
        "rls.mode",
        "permissions.write",
        "permissions.read",
        "extra",
      ]),
    );
  });

  it("normalizes rls: owner-write-only is public-read, private stays, bad ownerField rejected", () => {
    expect(parseDefinition({ name: "n", rls: { enabled: true, mode: "owner-write-only" } }).rls).toEqual({
      enabled: true,
      mode: "public-read",
      ownerField: "userId",
    });
    expect(parseDefinition({ name: "n", rls: { enabled: true, mode: "private", ownerField: "author" } }).rls).toEqual({
      enabled: true,
      mode: "private",
      ownerField: "author",
    });
    expect(parseDefinition({ name: "n", rls: { enabled: true, ownerField: "_id" } }).rls.ownerField).toBe("_id");
    const lookalike = { name: "n", fields: [{ name: "userId", type: "string" }], rls: { ownerField: "userid" } };
    expect(failedPaths(() => parseDefinition(lookalike))).toEqual(["rls.ownerField"]);
    for (const ownerField of ["$where", "a.b", " userId", "createdAt"]) {
      expect(failedPaths(() => parseDefinition({ name: "n", rls: { enabled: true, ownerField } }))).toEqual([
        "rls.ownerField",
      ]);
    }
  });

  it("rejects all-digit field names at every depth (a numeric path segment reads as an array position)", () => {
    const digits = (name: string) => ({ name, type: "string" });
    const def = {
      name: "n",
      fields: [
        digits("1234"),
        { name: "meta", type: "object", fields: [digits("0")] },
        { name: "list", type: "array", items: { type: "object", fields: [{ key: "7", type: "string" }] } },
        {
          name: "deep",
          type: "object",
          fields: [{ name: "a", type: "object", fields: [{ name: "b", type: "object", fields: [digits("42")] }] }],
        },
        digits("a1"),
        digits("1a"),
        digits("١٢"),
      ],
    };
    const error = thrown(() => parseDefinition(def));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(paths(error.details)).toEqual([
      "fields.0.name",
      "fields.1.fields.0.name",
      "fields.2.items.fields.0.key",
      "fields.3.fields.0.fields.0.fields.0.name",
    ]);
    expect(error.details?.[0]?.message).toBe(
      'Field name "1234" must not be all digits (a numeric path segment reads as an array position)',
    );
    expect(failedPaths(() => parseDefinition({ name: "n", rls: { enabled: true, ownerField: "99" } }))).toEqual([
      "rls.ownerField",
    ]);
    const patch = () => mergeDefinition(parseDefinition({ name: "n" }), { fields: [digits("0")] });
    expect(failedPaths(patch)).toEqual(["fields.0.name"]);
  });

  it("accepts permission rules in any case", () => {
    expect(parseDefinition({ name: "n", permissions: { read: "Guest", create: "USER" } }).permissions).toEqual({
      read: "guest",
      create: "user",
    });
  });

  it("rejects a body that is not an object", () => {
    for (const body of [undefined, null, [], "posts"]) expect(failedPaths(() => parseDefinition(body))).toEqual([""]);
  });
});

describe("mergeDefinition", () => {
  const current: CollectionDef = parseDefinition(SPEC_EXAMPLE);

  it("merges permissions per operation and keeps every role not mentioned", () => {
    const next = mergeDefinition(current, { permissions: { create: "user" } });
    expect(next.permissions).toEqual({
      list: "guest",
      read: "guest",
      create: "user",
      update: "owner",
      delete: "owner",
    });
    expect(next.fields).toEqual(current.fields);
    expect(next.rls).toEqual(current.rls);
  });

  it("removes one override only when it is set to null", () => {
    const next = mergeDefinition(current, { permissions: { delete: null } });
    expect(next.permissions).toEqual({ list: "guest", read: "guest", create: "owner", update: "owner" });
  });

  it("merges rls key by key", () => {
    expect(mergeDefinition(current, { rls: { mode: "private" } }).rls).toEqual({
      enabled: true,
      mode: "private",
      ownerField: "userId",
    });
    expect(mergeDefinition(current, { rls: { mode: "owner-write-only" } }).rls.mode).toBe("public-read");
  });

  const names = (def: CollectionDef) => def.fields.map((f) => f.name);

  it("merges fields by name (key alias and model accepted): one named replaces its field whole, a new one is appended", () => {
    const next = mergeDefinition(current, {
      fields: [
        { key: "title", type: "String" },
        { name: "lang", type: "string" },
      ],
    });
    expect(names(next)).toEqual([...names(current), "lang"]);
    expect(next.fields[0]).toEqual({ name: "title", type: "string", required: false }); // its maxLength gone with it
    expect(next.fields.slice(1, -1)).toEqual(current.fields.slice(1));
    expect(next.additionalFields).toBe(false);
    expect(next.permissions).toEqual(current.permissions);
    const meta = mergeDefinition(current, {
      model: [{ key: "meta", type: "Object", fields: [{ key: "x", type: "Number" }] }],
    });
    expect(meta.fields.find((f) => f.name === "meta")?.fields).toEqual([
      { name: "x", type: "number", required: false },
    ]);
    expect(names(meta)).toEqual(names(current));
    expect(mergeDefinition(current, { fields: [] }).fields).toEqual(current.fields);
  });

  it("removes a field named with remove: true; one not declared, or named twice, is refused at its place in the list", () => {
    expect(names(mergeDefinition(current, { fields: [{ name: "views", remove: true }] }))).toEqual(
      names(current).filter((name) => name !== "views"),
    );
    expect(names(mergeDefinition(current, { model: [{ key: "views", remove: true }] }))).not.toContain("views");
    const refusedPaths = (fields: unknown[]) => failedPaths(() => mergeDefinition(current, { fields }));
    expect(
      refusedPaths([
        { name: "lang", type: "string" },
        { name: "nope", remove: true },
      ]),
    ).toEqual(["fields.1.name"]);
    expect(
      refusedPaths([
        { name: "views", remove: true },
        { name: "Views", type: "number" },
      ]),
    ).toEqual(["fields.1.name"]);
    expect(refusedPaths([{ name: "Views", type: "number" }])).toEqual(["fields.0.name"]); // looks like "views"
    expect(refusedPaths([{ name: "views", remove: false }])).toEqual(["fields.0.remove"]);
    expect(refusedPaths([{ name: "views", type: "number", remove: true }])).toEqual(["fields.0.type"]);
    expect(refusedPaths([{ remove: true }, { name: "a", key: "b", remove: true }])).toEqual([
      "fields.0.name",
      "fields.1.key",
    ]);
    expect(failedPaths(() => mergeDefinition(current, { fields: null }))).toEqual(["fields"]);
    expect(failedPaths(() => mergeDefinition(current, { fields: "title" }))).toEqual(["fields"]);
    expect(failedPaths(() => mergeDefinition(current, { fields: [], model: [] }))).toEqual(["model"]);
  });

  it("declaring fields on a schemaless collection applies the declared-fields default unless given", () => {
    const notes = parseDefinition({ name: "notes" });
    expect(mergeDefinition(notes, { fields: [{ name: "a", type: "string" }] }).additionalFields).toBe(false);
    expect(
      mergeDefinition(notes, { fields: [{ name: "a", type: "string" }], additionalFields: true }).additionalFields,
    ).toBe(true);
    expect(mergeDefinition(notes, { permissions: { read: "user" } }).additionalFields).toBe(true);
  });

  it("removing the last field applies the default of a collection without fields unless given", () => {
    const one = parseDefinition({ name: "notes", fields: [{ name: "a", type: "string" }] });
    const removeA = [{ name: "a", remove: true }];
    expect(mergeDefinition(one, { fields: removeA }).additionalFields).toBe(true);
    expect(mergeDefinition(one, { model: [{ key: "a", remove: true }] }).additionalFields).toBe(true);
    expect(mergeDefinition(one, { fields: removeA, additionalFields: false }).additionalFields).toBe(false);
    expect(mergeDefinition(one, { fields: [...removeA, { name: "b", type: "string" }] }).additionalFields).toBe(false);
    expect(mergeDefinition(current, { fields: [] }).additionalFields).toBe(false);
  });

  it("validates the merged result and refuses renames", () => {
    expect(failedPaths(() => mergeDefinition(current, { permissions: { read: "everyone" } }))).toEqual([
      "permissions.read",
    ]);
    expect(
      failedPaths(() => mergeDefinition(current, { fields: [{ name: "a", type: "number", min: 2, max: 1 }] })),
    ).toEqual(["fields.0.max"]);
    expect(failedPaths(() => mergeDefinition(current, { name: "other" }))).toEqual(["name"]);
    expect(mergeDefinition(current, { name: "posts" }).name).toBe("posts");
    expect(failedPaths(() => mergeDefinition(current, "x"))).toEqual([""]);
  });
});

describe("definitionView", () => {
  it("names fields with name (never key) and round-trips through parseDefinition", () => {
    const def = parseDefinition({
      ...SPEC_EXAMPLE,
      fields: [{ key: "lines", type: "array", items: { type: "object", fields: [{ key: "qty", type: "integer" }] } }],
      aggregate: { publishable: true },
    });
    const view = definitionView(def);
    expect(JSON.stringify(view)).not.toContain('"key"');
    expect(view).toMatchObject({
      name: "posts",
      fields: [{ name: "lines", type: "array", items: { type: "object", fields: [{ name: "qty", type: "integer" }] } }],
      additionalFields: false,
      aggregate: { publishable: true },
    });
    expect(parseDefinition(view)).toEqual(def);
  });
});

describe("fieldPaths and indexedFields", () => {
  const def = parseDefinition({
    name: "n",
    fields: [
      { name: "title", type: "string", unique: true },
      { name: "score", type: "number", index: true },
      { name: "tags", type: "array", items: { type: "string" }, index: true },
      {
        name: "meta",
        type: "object",
        fields: [
          { name: "lang", type: "string", index: true },
          { name: "geo", type: "object", fields: [{ name: "country", type: "string", unique: true }] },
        ],
      },
      { name: "vault", type: "object", private: true, fields: [{ name: "pin", type: "string" }] },
      { name: "comments", type: "array", items: { type: "object", fields: [{ name: "text", type: "string" }] } },
    ],
  });

  it("lists dotted paths with types, item types and inherited privacy", () => {
    expect(Object.fromEntries(fieldPaths(def))).toEqual({
      title: { type: "string", private: false },
      score: { type: "number", private: false },
      tags: { type: "array", private: false, itemType: "string" },
      meta: { type: "object", private: false },
      "meta.lang": { type: "string", private: false },
      "meta.geo": { type: "object", private: false },
      "meta.geo.country": { type: "string", private: false },
      vault: { type: "object", private: true },
      "vault.pin": { type: "string", private: true },
      comments: { type: "array", private: false, itemType: "object" },
      "comments.text": { type: "string", private: false },
    });
  });

  it("lists unique and indexed fields, dotted for nested objects", () => {
    expect(indexedFields(def)).toEqual([
      { field: "title", unique: true },
      { field: "score", unique: false },
      { field: "tags", unique: false },
      { field: "meta.lang", unique: false },
      { field: "meta.geo.country", unique: true },
    ]);
  });
});
