/**
 * Costs and caches of the data function that a caller could otherwise drive up: a bulk insert on a
 * very wide definition (the lookalike guard is built once per definition revision, not per item),
 * digit-named private fields of definitions stored before such names were refused (never usable
 * in a pk query), and the collection registry's cache of lookups (bounded, misses included).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_CACHED_DEFINITIONS } from "../shared/collections.js";
import type { ResolvedProject } from "../shared/principal.js";
import * as sanitize from "../shared/sanitize.js";
import type { CollectionDef } from "../shared/schema/definition.js";
import * as definition from "../shared/schema/definition.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => {
  vi.restoreAllMocks();
  return env.close();
});

/** The project as the registry sees it (resolved from its secret key). */
async function resolvedProject(): Promise<ResolvedProject> {
  const principal = await env.deps.projects.resolveKey(env.project.sk);
  if (!principal) throw new Error("the secret key does not resolve");
  return principal.project;
}

describe("bulk insert on a wide definition", () => {
  /** 5 object fields × 199 string subfields: 1000 declared paths, the most a definition may have. */
  const wide = {
    name: "wide",
    fields: Array.from({ length: 5 }, (_, i) => ({
      name: `f${i}`,
      type: "object",
      fields: Array.from({ length: 199 }, (_, j) => ({ name: `s${j}`, type: "string" })),
    })),
    rls: { enabled: true, mode: "public-read" },
  };
  const items = Array.from({ length: 500 }, () => ({ f0: { s0: "a" } }));

  it("answers 500 items quickly and folds the declared paths once per definition revision", {
    timeout: 60_000,
  }, async () => {
    await env.defineCollection(wide);
    const token = await env.token("65f0a1b2c3d4e5f601234567");
    const paths = vi.spyOn(definition, "fieldPaths");
    const guards = vi.spyOn(sanitize, "lookalikeGuard");

    const started = Date.now();
    const first = await env.pk("POST", "/api/data/wide/bulk", { token, body: items });
    const elapsed = Date.now() - started;
    expect(first.status).toBe(201);
    expect(first.json.data.insertedCount).toBe(500);
    expect(elapsed).toBeLessThan(1500);
    // One guard for the body check (every nested path) and one inside the compiled validators.
    expect(paths).toHaveBeenCalledTimes(1);
    expect(guards).toHaveBeenCalledTimes(2);

    // Same revision: nothing is worked out again, for inserts, PUT and PATCH alike.
    const again = await env.pk("POST", "/api/data/wide/bulk", { token, body: items });
    expect(again.status).toBe(201);
    const id = again.json.data.items[0]._id;
    expect((await env.pk("PATCH", `/api/data/wide/${id}`, { token, body: { f1: { s1: "b" } } })).status).toBe(200);
    expect((await env.pk("PUT", `/api/data/wide/${id}`, { token, body: { f2: { s2: "c" } } })).status).toBe(200);
    expect(paths).toHaveBeenCalledTimes(1);
    expect(guards).toHaveBeenCalledTimes(2);

    // A new revision gets its own guard, once.
    expect((await env.sk("PATCH", "/api/schemas/wide", { additionalFields: true })).status).toBe(200);
    paths.mockClear();
    guards.mockClear();
    expect((await env.pk("POST", "/api/data/wide/bulk", { token, body: items.slice(0, 10) })).status).toBe(201);
    expect((await env.pk("POST", "/api/data/wide/bulk", { token, body: items.slice(0, 10) })).status).toBe(201);
    expect(paths).toHaveBeenCalledTimes(1);
    expect(guards).toHaveBeenCalledTimes(2);
  });

  it("still refuses lookalikes of nested paths and of the owner field in every item", async () => {
    await env.defineCollection({
      name: "nested",
      fields: [{ name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] }],
      rls: { enabled: true },
      additionalFields: true,
    });
    const token = await env.token("65f0a1b2c3d4e5f601234567");
    // U+FF0E (fullwidth full stop) folds to ".": the key looks like the declared path `meta.lang`.
    const res = await env.pk("POST", "/api/data/nested/bulk", {
      token,
      body: [{ meta: { lang: "en" } }, { "meta\uff0elang": "x" }, { UserId: "someone" }],
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("INVALID_FIELD_NAME");
    expect(res.json.details.map((d: { path: string }) => d.path)).toEqual(["1.meta\uff0elang", "2.UserId"]);
  });
});

describe("digit-named private fields of definitions stored before they were refused", () => {
  /** As such a definition was stored: `parseDefinition` refuses digit names now. */
  const legacy: CollectionDef = {
    name: "acct",
    fields: [
      { name: "title", type: "string" },
      { name: "1234", type: "string", private: true },
      { name: "meta", type: "object", fields: [{ name: "7", type: "string", private: true }] },
      {
        name: "comments",
        type: "array",
        items: { type: "object", fields: [{ name: "0", type: "string", private: true }] },
      },
    ],
    additionalFields: false,
    rls: { enabled: false, mode: "public-read", ownerField: "userId" },
    permissions: {},
    aggregate: { publishable: true },
  };

  beforeEach(async () => {
    await env.deps.collections.create(await resolvedProject(), legacy);
    for (const [title, secret] of [
      ["first", "alpha-secret"],
      ["second", "beta-secret"],
    ]) {
      const body = { title, "1234": secret, meta: { 7: secret }, comments: [{ 0: secret }] };
      expect((await env.sk("POST", "/api/data/acct", body)).status).toBe(201);
    }
  });

  const filter = (value: unknown) => `filter=${encodeURIComponent(JSON.stringify(value))}`;

  it.each([
    "1234=alpha-secret",
    "1234_regex=^alpha",
    "1234_ne=alpha-secret",
    filter({ 1234: { $regex: "^beta" } }),
    filter({ $or: [{ 1234: "alpha-secret" }] }),
    "sort=1234",
    "sort=-1234",
    "fields=1234",
    "select=title,1234",
    "search=alpha&searchFields=1234",
    "meta.7=alpha-secret",
    filter({ "meta.7": { $regex: "^alpha" } }),
    "fields=meta.7",
    "comments.0=alpha-secret",
    filter({ "comments.0": { $regex: "^alpha" } }),
  ])("pk: %s → 400 INVALID_QUERY (the private value is no oracle)", async (query) => {
    const res = await env.pk("GET", `/api/data/acct?${query}`);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("INVALID_QUERY");
    expect(res.json.message).toContain("is private");
  });

  it.each([
    [{ $match: { 1234: "alpha-secret" } }],
    [{ $match: { "meta.7": { $regex: "^alpha" } } }],
    [{ $match: { "comments.0": "alpha-secret" } }],
    [{ $project: { leak: "$1234" } }],
    [{ $group: { _id: "$meta.7" } }],
  ])("pk aggregate naming it: %j → 400 INVALID_QUERY", async (stage) => {
    const res = await env.pk("POST", "/api/data/acct/aggregate", { body: { pipeline: [stage] } });
    expect(res.status, res.text).toBe(400);
    expect(res.json.code).toBe("INVALID_QUERY");
  });

  it("pk aggregate stages that reach it another way see documents without it", async () => {
    for (const pipeline of [
      [{ $project: { all: "$$ROOT" } }],
      [{ $project: { meta: 1, comments: 1, whole: { $objectToArray: "$$ROOT" } } }],
      [{ $addFields: { copy: "$$CURRENT" } }],
    ]) {
      const res = await env.pk("POST", "/api/data/acct/aggregate", { body: { pipeline } });
      expect(res.status, res.text).toBe(200);
      expect(res.json.data.items).toHaveLength(2);
      expect(res.text).not.toContain("secret");
    }
    const sk = await env.sk("POST", "/api/data/acct/aggregate", { pipeline: [{ $match: { 1234: "alpha-secret" } }] });
    expect(sk.status, sk.text).toBe(200);
    expect(sk.json.data.items.map((item: Record<string, unknown>) => item.title)).toEqual(["first"]);
  });

  it("pk search without searchFields leaves the private field out; sk may filter on it", async () => {
    const search = await env.pk("GET", "/api/data/acct?search=alpha");
    expect(search.status).toBe(200);
    expect(search.json.data.items).toEqual([]);
    const items = (await env.pk("GET", "/api/data/acct?sort=title")).json.data.items;
    expect(items.map((item: Record<string, unknown>) => Object.keys(item).sort())).toEqual([
      ["_id", "comments", "createdAt", "meta", "title", "updatedAt"],
      ["_id", "comments", "createdAt", "meta", "title", "updatedAt"],
    ]);
    const sk = await env.sk("GET", "/api/data/acct?1234=alpha-secret");
    expect(sk.status).toBe(200);
    expect(sk.json.data.items.map((item: Record<string, unknown>) => item.title)).toEqual(["first"]);
  });
});

describe("the collection registry's lookup cache", () => {
  it("stays bounded after many distinct missing names, and still answers as before", async () => {
    await env.defineCollection({ name: "kept", fields: [{ name: "title", type: "string" }] });
    expect((await env.sk("POST", "/api/data/kept", { title: "x" })).status).toBe(201);
    const project = await resolvedProject();
    const registry = env.deps.collections;
    for (let i = 0; i < MAX_CACHED_DEFINITIONS * 3; i++) {
      await registry.get(project, `missing${i}`);
      expect(registry.cachedCount).toBeLessThanOrEqual(MAX_CACHED_DEFINITIONS);
    }
    // The same through HTTP: 404s for new names never grow the cache past its bound.
    for (let i = 0; i < 200; i++) {
      expect((await env.pk("GET", `/api/data/gone${i}`)).status).toBe(404);
      expect(registry.cachedCount).toBeLessThanOrEqual(MAX_CACHED_DEFINITIONS);
    }
    const list = await env.pk("GET", "/api/data/kept");
    expect(list.status).toBe(200);
    expect(list.json.data.items).toHaveLength(1);
    expect((await env.pk("GET", "/api/data/gone0")).json.code).toBe("COLLECTION_NOT_FOUND");
  });

  it("drops expired entries first when it reaches the bound", async () => {
    const project = await resolvedProject();
    const registry = env.deps.collections;
    for (let i = 0; i < MAX_CACHED_DEFINITIONS - 1; i++) await registry.get(project, `old${i}`);
    expect(registry.cachedCount).toBe(MAX_CACHED_DEFINITIONS - 1);
    env.clock.advance(24 * 60 * 60 * 1000);
    await registry.get(project, "fresh1");
    await registry.get(project, "fresh2");
    expect(registry.cachedCount).toBe(2);
  });
});
