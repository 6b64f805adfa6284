/**
 * The list query of API.md §5.1 over HTTP (filters, sort, paging, cursors, search, projection,
 * count), the aggregate endpoint, and a 10 000-document collection checked against plain JS.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CallResult, call, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

type Doc = Record<string, unknown> & { _id: string };

/** MongoDB's order across the types used here: missing/null < numbers < strings < booleans. */
function rank(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return 1;
  if (typeof value === "string") return 2;
  return 3;
}
function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return 0;
  return a === b ? 0 : (a as number | string) < (b as number | string) ? -1 : 1;
}
const valueAt = (doc: Doc, path: string): unknown =>
  path
    .split(".")
    .reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), doc);

/** Sorts like the server: the given keys, then `_id` in the direction of the last key. */
function jsSort(docs: Doc[], sort: Array<[string, 1 | -1]>): Doc[] {
  const keys: Array<[string, 1 | -1]> = [...sort, ["_id", sort.at(-1)?.[1] ?? 1]];
  return [...docs].sort((x, y) => {
    for (const [path, dir] of keys) {
      const order = compareValues(valueAt(x, path), valueAt(y, path));
      if (order !== 0) return order * dir;
    }
    return 0;
  });
}
const ids = (docs: Array<{ _id: string }>) => docs.map((d) => d._id);
const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));

describe("list query", () => {
  let env: DataTestEnv;
  let all: Doc[];
  const list = (query: string) => env.sk("GET", `/api/data/products?${query}`);
  const items = async (query: string) => {
    const res = await list(query);
    expect(res.status, `${query}: ${res.text}`).toBe(200);
    return res.json.data.items as Doc[];
  };
  /** The ids a query returns (limit 100), in any order, against the ids of a JS predicate. */
  const expectMatches = async (query: string, predicate: (d: Doc) => boolean) => {
    const got = ids(await items(`${query}&limit=100`)).sort();
    expect(got, query).toEqual(ids(all.filter(predicate)).sort());
    expect(got.length, `${query} should match something and not everything`).toBeGreaterThan(0);
    expect(got.length, query).toBeLessThan(all.length);
  };

  beforeAll(async () => {
    env = await dataTestEnv();
    await env.defineCollection({
      name: "products",
      fields: [
        { name: "name", type: "string" },
        { name: "price", type: "number", index: true },
        { name: "qty", type: "integer" },
        { name: "category", type: "string", index: true },
        { name: "published", type: "boolean" },
        { name: "releasedAt", type: "date" },
        { name: "tags", type: "array", items: { type: "string" } },
        { name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] },
        { name: "note", type: "string" },
        { name: "cost", type: "number", private: true },
      ],
    });
    const names = ["Apple", "apple pie", "a.b", "axb", "(x)", "c*", "Banana", "cherry", "a+b", "Date"];
    const body = Array.from({ length: 60 }, (_, n) => ({
      name: names[n % names.length],
      price: [5, 10, 20][n % 3],
      qty: n,
      category: ["fruit", "tool", "toy", "book"][n % 4],
      published: n % 5 !== 0,
      releasedAt: new Date(Date.UTC(2024, 0, 1 + n)).toISOString(),
      tags: n % 2 === 0 ? ["red", "sale"] : ["blue"],
      meta: { lang: n % 3 === 0 ? "en" : "de" },
      ...(n % 3 === 1 ? {} : { note: `note ${n % 7}` }),
      cost: n,
    }));
    // Two batches at different times, so createdAt has ties and differences.
    await env.sk("POST", "/api/data/products/bulk", body.slice(0, 30));
    env.clock.advance(5000);
    await env.sk("POST", "/api/data/products/bulk", body.slice(30));
    const stored = await env.deps.collections
      .database((await env.deps.projects.resolveKey(env.project.sk))!.project)
      .collection("products")
      .find({});
    all = stored as Doc[];
    expect(all).toHaveLength(60);
  });
  afterAll(() => env.close());

  describe("query-string filters", () => {
    const n = (d: Doc, f: string) => d[f] as number;
    it.each<[string, (d: Doc) => boolean]>([
      ["category=tool", (d) => d.category === "tool"],
      ["price=10", (d) => d.price === 10],
      ["price_gt=5", (d) => n(d, "price") > 5],
      ["price_gte=10&price_lt=20", (d) => n(d, "price") >= 10 && n(d, "price") < 20],
      ["price_lte=10", (d) => n(d, "price") <= 10],
      ["price_ne=10", (d) => d.price !== 10],
      ["category_in=tool,toy", (d) => ["tool", "toy"].includes(d.category as string)],
      ["category_nin=tool,toy", (d) => !["tool", "toy"].includes(d.category as string)],
      ["note_exists=false", (d) => d.note === undefined],
      ["note_exists=true", (d) => d.note !== undefined],
      ["name_regex=^apple", (d) => /^apple/i.test(d.name as string)],
      ["meta.lang=en", (d) => (d.meta as { lang: string }).lang === "en"],
      ["published=false", (d) => d.published === false],
      ["qty_gte=50", (d) => n(d, "qty") >= 50],
      ["releasedAt_gte=2024-02-01", (d) => (d.releasedAt as string) >= "2024-02-01T00:00:00.000Z"],
      ["releasedAt_lt=2024-01-05T00:00:00%2B01:00", (d) => (d.releasedAt as string) < "2024-01-04T23:00:00.000Z"],
      ["tags=sale", (d) => (d.tags as string[]).includes("sale")],
      ["tags_in=blue,green", (d) => (d.tags as string[]).includes("blue")],
      ["qty_gt=10&qty_lt=20&category=tool", (d) => n(d, "qty") > 10 && n(d, "qty") < 20 && d.category === "tool"],
      ["qty_gt=10&qty_gt=30", (d) => n(d, "qty") > 30],
    ])("%s", async (query, predicate) => {
      await expectMatches(query, predicate);
    });

    it("filters by _id and by createdAt", async () => {
      const one = all[7]!;
      expect(ids(await items(`_id=${one._id}`))).toEqual([one._id]);
      const later = all.filter((d) => (d.createdAt as string) > "2026-01-01T00:00:00.000Z");
      expect(ids(await items("createdAt_gt=2026-01-01T00:00:00Z&limit=100")).sort()).toEqual(ids(later).sort());
      expect(later).toHaveLength(30);
    });

    it.each([
      "price=abc",
      "price_gt=",
      "qty=1.5",
      "published=yes",
      "releasedAt_gte=yesterday",
      "releasedAt=2024-02-30",
      "_id=xyz",
      "note_exists=maybe",
      `name_regex=${"a".repeat(129)}`,
      "name_regex=(",
      "unknownField=1&sort=unknownField",
      "$where=1",
      "a..b=1",
      "__proto__.x=1",
    ])("%s → 400 INVALID_QUERY", async (query) => {
      const res = await list(query);
      expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
      expect(res.json.details[0].path).toBeTruthy();
    });

    it("a path the definition does not declare is 400 where the definition refuses undeclared fields (a typo would match nothing)", async () => {
      const undeclared = [
        "Category=tool",
        "categry_in=tool,toy",
        "meta.language=en",
        `filter=${q({ Category: "tool" })}`,
        `filter=${q({ tags: { $elemMatch: { $eq: "red" } }, meta: { $exists: true }, "meta.lng": "en" })}`,
        "fields=name,titel",
        "search=apple&searchFields=nme",
      ];
      for (const query of undeclared) {
        for (const caller of [env.sk, env.pk]) {
          const res = await caller("GET", `/api/data/products?${query}`);
          expect([res.status, res.json.code], query).toEqual([400, "INVALID_QUERY"]);
          expect(res.json.message, query).toMatch(
            /unknown field ".+": the collection's definition does not declare it$/,
          );
        }
      }
      // Declared, nested, system and under-an-open-field paths stay usable.
      expect(
        (
          await list(
            `category=tool&meta.lang=en&_id_exists=true&createdAt_gt=2000-01-01&tags=red&fields=name,meta.lang`,
          )
        ).status,
      ).toBe(200);
      // A definition that keeps undeclared fields filters on them as before.
      await env.sk("POST", "/api/schemas", {
        name: "loose",
        additionalFields: true,
        fields: [{ name: "title", type: "string" }],
      });
      await env.sk("POST", "/api/data/loose", { title: "a", extra: 1 });
      const loose = await env.sk("GET", `/api/data/loose?extra=1&filter=${q({ extra: { $gte: 1 } })}&fields=extra`);
      expect([loose.status, loose.json.data?.items.length]).toEqual([200, 1]);
    });

    it("an unknown parameter that looks like an offset or an operator suffix says what to use instead", async () => {
      const skip = await list("skip=0");
      expect([skip.status, skip.json.code]).toEqual([400, "INVALID_QUERY"]);
      expect(skip.json.message).toMatch(/unknown field "skip".*to page, use page .*or cursor/);
      const all = await list("tags_all=red,blue");
      expect([all.status, all.json.code]).toEqual([400, "INVALID_QUERY"]);
      expect(all.json.message).toContain(
        '"_all" is not a filter suffix (they are _gte, _gt, _lte, _lt, _ne, _nin, _in, _exists, _regex)',
      );
      expect(all.json.message).toContain('filter={"tags":{"$all":[');
      // The way it points to works; a key whose stem is no field either keeps the plain message.
      expect((await list(`filter=${encodeURIComponent('{"tags":{"$all":["red"]}}')}`)).status).toBe(200);
      expect((await list("nope_all=1")).json.message).toMatch(/does not declare it$/);
      // A private field's stem: the JSON filter would be refused to the pk too, so the hint says why.
      const priv = await call(env.app, "GET", "/api/data/products?cost_all=1", { key: env.project.pk });
      expect([priv.status, priv.json.message]).toEqual([
        400,
        'Invalid query parameter "cost_all": unknown field "cost_all": the collection\'s definition does not declare it. field "cost" is private: only the secret key filters on it',
      ]);
    });

    it("never treats reserved names as filters", async () => {
      const res = await list("fields=&select=&search=&searchFields=&count=false&limit=100");
      expect(res.json.data.total).toBe(60);
    });

    it("takes a publishable key from ?key= and removes it before filters are read", async () => {
      const res = await call(env.app, "GET", `/api/data/products?key=${env.project.pk}&category=toy`);
      expect(res.status).toBe(200);
      expect(res.json.data.total).toBe(15);
      const sk = await call(env.app, "GET", `/api/data/products?key=${env.project.sk}`);
      expect([sk.status, sk.json.code]).toEqual([401, "API_KEY_INVALID"]);
    });
  });

  describe("JSON filters", () => {
    it.each<[string, (d: Doc) => boolean]>([
      [`filter=${q({ price: { $gt: 5 }, category: "tool" })}`, (d) => (d.price as number) > 5 && d.category === "tool"],
      [
        `filter=${q({ $or: [{ category: "toy" }, { price: { $lte: 5 } }] })}`,
        (d) => d.category === "toy" || d.price === 5,
      ],
      [`filter=${q({ qty: { $not: { $gte: 10 } } })}`, (d) => (d.qty as number) < 10],
      [`filter=${q({ tags: { $all: ["red", "sale"] } })}`, (d) => (d.tags as string[]).length === 2],
      [`filter=${q({ tags: { $size: 1 } })}`, (d) => (d.tags as string[]).length === 1],
      [`filter=${q({ tags: { $elemMatch: { $eq: "blue" } } })}`, (d) => (d.tags as string[]).includes("blue")],
      [`filter=${q({ name: { $regex: "^A", $options: "i" } })}`, (d) => /^a/i.test(d.name as string)],
      [
        `filter=${q({ "meta.lang": { $in: ["en"] }, note: { $exists: true } })}`,
        (d) => (d.meta as { lang: string }).lang === "en" && d.note !== undefined,
      ],
      [`filter=${q({ releasedAt: { $lt: "2024-01-10" } })}`, (d) => (d.releasedAt as string) < "2024-01-10"],
      [
        `andFilters=${q([{ category: "book" }, { price: { $ne: 20 } }])}`,
        (d) => d.category === "book" && d.price !== 20,
      ],
      [
        `orFilters=${q([{ category: "book" }, { qty: { $lt: 3 } }])}`,
        (d) => d.category === "book" || (d.qty as number) < 3,
      ],
      [`orFilters=${q({ category: "book", qty: 1 })}`, (d) => d.category === "book" || d.qty === 1],
      [
        `filter=${q({ price: 10 })}&orFilters=${q([{ category: "book" }, { category: "toy" }])}&qty_gt=20`,
        (d) => d.price === 10 && ["book", "toy"].includes(d.category as string) && (d.qty as number) > 20,
      ],
    ])("%s", async (query, predicate) => {
      await expectMatches(query, predicate);
    });

    it("a filter of empty clauses matches everything, counted too", async () => {
      expect(await items(`filter=${q({ $and: [{}] })}&limit=100`)).toHaveLength(all.length);
      const counted = await list(`filter=${q({ $and: [{}] })}&count=true`);
      expect([counted.status, counted.json.data?.count]).toEqual([200, all.length]);
    });

    const deep = (levels: number): unknown => (levels === 0 ? { price: 5 } : { $and: [deep(levels - 1)] });
    it.each([
      ["$where", { $where: "this.price > 1" }],
      ["$expr", { $expr: { $gt: ["$price", 1] } }],
      ["$function", { price: { $function: { body: "x", args: [], lang: "js" } } }],
      ["$text", { $text: { $search: "x" } }],
      ["$near", { loc: { $near: [0, 0] } }],
      ["$nor", { $nor: [{ price: 5 }] }],
      ["$type", { price: { $type: "number" } }],
      ["$mod", { qty: { $mod: [2, 0] } }],
      ["a value operator", { meta: { lang: { $gt: "" }, x: 1 } }],
      ["too deep", deep(7)],
      ["$in over 100", { qty: { $in: Array.from({ length: 101 }, (_, i) => i) } }],
      ["regex over 128", { name: { $regex: "a".repeat(129) } }],
      ["a private field", { cost: { $gt: 1 } }],
      ["a range bound null", { qty: { $gte: null } }],
    ])("filter with %s → 400 INVALID_QUERY (pk)", async (_name, filter) => {
      const res = await env.pk("GET", `/api/data/products?filter=${q(filter)}`);
      expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    });

    it("list and get bodies are the envelope's own JSON, with and without a projection", async () => {
      for (const path of ["/api/data/products?limit=5", "/api/data/products?limit=5&fields=name,meta"]) {
        for (const res of [await list(path.split("?")[1]!), await env.pk("GET", path)]) {
          expect(res.status).toBe(200);
          expect(res.text).toBe(JSON.stringify(res.json));
          const one = await env.pk("GET", `/api/data/products/${res.json.data.items[0]._id}`);
          expect(one.text).toBe(JSON.stringify(one.json));
          expect(Object.keys(one.json)).toEqual(["success", "data"]);
        }
      }
    });

    it("follows definition changes: a field added later can be sorted on, one made private no longer filtered by pk", async () => {
      await env.defineCollection({ name: "gadgets", fields: [{ name: "code", type: "string" }] });
      const sortBySize = () => env.pk("GET", "/api/data/gadgets?sort=size");
      const byCode = () => env.pk("GET", "/api/data/gadgets?code=a");
      expect([(await sortBySize()).status, (await byCode()).status]).toEqual([400, 200]);
      const fields = [
        { name: "code", type: "string", private: true },
        { name: "size", type: "number" },
      ];
      expect((await env.sk("PUT", "/api/schemas/gadgets", { fields })).status).toBe(200);
      expect([(await sortBySize()).status, (await byCode()).status]).toEqual([200, 400]);
    });

    it("malformed JSON → 400 INVALID_QUERY", async () => {
      const res = await list("filter=%7Bprice");
      expect([res.status, res.json.code, res.json.details[0].path]).toEqual([400, "INVALID_QUERY", "filter"]);
    });
  });

  describe("sort and paging", () => {
    it.each<[string, Array<[string, 1 | -1]>]>([
      ["", [["createdAt", -1]]],
      ["sort=price", [["price", 1]]],
      [
        "sort=-price,name",
        [
          ["price", -1],
          ["name", 1],
        ],
      ],
      [
        "sort=price:desc,qty:asc",
        [
          ["price", -1],
          ["qty", 1],
        ],
      ],
      [
        "sort=category:1,price:-1",
        [
          ["category", 1],
          ["price", -1],
        ],
      ],
      ["sortBy=name&sortDirection=desc", [["name", -1]]],
      ["sortBy=price", [["price", 1]]],
      ["sort=note", [["note", 1]]],
      [
        "sort=-meta.lang,-qty",
        [
          ["meta.lang", -1],
          ["qty", -1],
        ],
      ],
      ["sort=createdAt", [["createdAt", 1]]],
    ])("%s orders like JS with the _id tie-break", async (query, sort) => {
      expect(ids(await items(`${query}&limit=100`))).toEqual(ids(jsSort(all, sort)));
    });

    it.each([
      "sort=nope",
      "sort=cost",
      "sort=price,price",
      "sort=_id,price",
      "sort=price:up",
      "sort=a,b,c,d,e,f",
      "sortDirection=asc",
      "sortBy=price&sort=name",
    ])("%s → 400 INVALID_QUERY (pk)", async (query) => {
      const res = await env.pk("GET", `/api/data/products?${query}`);
      expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    });

    it("pages with page/limit and reports total, totalPages, hasNext, hasPrev", async () => {
      const expected = jsSort(all, [["qty", 1]]);
      const pages = [];
      for (let page = 1; page <= 4; page++) {
        const res = await list(`sort=qty&limit=25&page=${page}`);
        const { items: got, ...meta } = res.json.data;
        pages.push(meta);
        expect(ids(got)).toEqual(ids(expected.slice((page - 1) * 25, page * 25)));
      }
      expect(pages).toEqual([
        { total: 60, page: 1, limit: 25, totalPages: 3, hasNext: true, hasPrev: false, nextCursor: expect.any(String) },
        { total: 60, page: 2, limit: 25, totalPages: 3, hasNext: true, hasPrev: true, nextCursor: expect.any(String) },
        { total: 60, page: 3, limit: 25, totalPages: 3, hasNext: false, hasPrev: true, nextCursor: null },
        { total: 60, page: 4, limit: 25, totalPages: 3, hasNext: false, hasPrev: true, nextCursor: null },
      ]);
      const defaults = (await list("")).json.data;
      expect([defaults.items.length, defaults.limit, defaults.page]).toEqual([20, 20, 1]);
      // More than the largest page is the largest page (urBackend's SDK asks for what it likes).
      const most = (await list("limit=500")).json.data;
      expect([most.items.length, most.limit, most.totalPages]).toEqual([60, 100, 1]);
    });

    it.each(["limit=0", "limit=abc", "limit=1.5", "page=0", "page=-1", "page=x", "limit=5&limit=6", "count=yes"])(
      "%s → 400 INVALID_QUERY",
      async (query) => {
        const res = await list(query);
        expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
      },
    );

    it.each<[string, Array<[string, 1 | -1]>]>([
      ["sort=price", [["price", 1]]],
      ["sort=-price", [["price", -1]]],
      [
        "sort=category,-price",
        [
          ["category", 1],
          ["price", -1],
        ],
      ],
      [
        "sort=-published,price:asc",
        [
          ["published", -1],
          ["price", 1],
        ],
      ],
      ["sort=note", [["note", 1]]],
      [
        "sort=-note,-name",
        [
          ["note", -1],
          ["name", -1],
        ],
      ],
      ["", [["createdAt", -1]]],
      ["sort=createdAt&category_ne=toy", [["createdAt", 1]]],
    ])("cursor paging with %s visits every document exactly once, in order", async (query, sort) => {
      const filtered = query.includes("category_ne") ? all.filter((d) => d.category !== "toy") : all;
      const expected = ids(jsSort(filtered, sort));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: CallResult = await list(`${query}&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
        expect(res.status, res.text).toBe(200);
        const data = res.json.data;
        expect(data.total).toBe(filtered.length);
        expect(data.hasPrev).toBe(cursor !== null);
        expect(data.page).toBe(cursor === null ? 1 : null); // a cursor page has no number
        seen.push(...ids(data.items));
        cursor = data.nextCursor;
        expect(data.hasNext).toBe(cursor !== null);
        pages++;
      } while (cursor && pages < 50);
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(filtered.length / 7));
    });

    it("refuses a cursor made for another sort, and garbage", async () => {
      const cursor = (await list("sort=price&limit=5")).json.data.nextCursor;
      for (const query of [`sort=-price&cursor=${cursor}`, "cursor=abc", `cursor=${"A".repeat(5000)}`, "cursor=%00"]) {
        const res = await list(query);
        expect([res.status, res.json.code], query).toEqual([400, "INVALID_QUERY"]);
      }
    });
  });

  describe("search, projection, count", () => {
    it.each<[string, (name: string) => boolean]>([
      ["apple", (name) => name.toLowerCase().includes("apple")],
      ["a.b", (name) => name === "a.b"],
      ["a+b", (name) => name === "a+b"],
      ["(x)", (name) => name === "(x)"],
      ["(", (name) => name.includes("(")],
      ["c*", (name) => name === "c*"],
      ["BANANA", (name) => name === "Banana"],
    ])("search=%s is a literal, case-insensitive substring match", async (term, predicate) => {
      await expectMatches(`search=${encodeURIComponent(term)}&searchFields=name`, (d) => predicate(d.name as string));
    });

    it("searches every readable string field by default, and only the named ones with searchFields", async () => {
      await expectMatches("search=note%203", (d) => d.note === "note 3");
      expect(await items("search=note%203&searchFields=name")).toEqual([]);
      const res = await list("search=x&searchFields=price,%24where");
      expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
    });

    it("searchFields naming a number, boolean or date field is 400 saying to filter it (a text pattern never matches one)", async () => {
      for (const field of ["price", "createdAt"]) {
        const res = await list(`search=12&searchFields=${field}`);
        expect([res.status, res.json.code, res.json.details?.[0]?.message], field).toEqual([
          400,
          "INVALID_QUERY",
          expect.stringContaining(`filter it with ${field}=<value>`),
        ]);
      }
    });

    it("a schemaless collection is searched only with searchFields", async () => {
      await env.sk("POST", "/api/data/jottings", { text: "hello there" });
      await env.sk("POST", "/api/data/jottings", { text: "bye" });
      const unnamed = await env.sk("GET", "/api/data/jottings?search=hello");
      expect([unnamed.status, unnamed.json.code, unnamed.json.details[0].path]).toEqual([
        400,
        "INVALID_QUERY",
        "searchFields",
      ]);
      const named = await env.sk("GET", "/api/data/jottings?search=hello&searchFields=text");
      expect(named.json.data.items.map((d: { text: string }) => d.text)).toEqual(["hello there"]);
    });

    it("fields/select project, always with _id, and without the sort keys added for the cursor", async () => {
      const got = await items("fields=name&sort=price&limit=3");
      expect(got.map((d) => Object.keys(d).sort())).toEqual(Array(3).fill(["_id", "name"]));
      const both = await items("fields=name&select=meta.lang&limit=2");
      expect(both[0]).toEqual({ _id: both[0]!._id, name: expect.any(String), meta: { lang: expect.any(String) } });
      const withSortKey = await items("select=price,qty&sort=-price&limit=2");
      expect(Object.keys(withSortKey[0]!).sort()).toEqual(["_id", "price", "qty"]);
      // A nested sort key goes with the parent it leaves empty, unless a path under that parent was selected.
      const nested = await items("fields=name&sort=meta.lang&limit=3");
      expect(nested.map((d) => Object.keys(d).sort())).toEqual(Array(3).fill(["_id", "name"]));
      await env.sk("POST", "/api/schemas", { name: "notes", additionalFields: true, fields: [] });
      await env.sk("POST", "/api/data/notes", { name: "n", meta: { lang: "en" } });
      const sibling = await env.sk("GET", "/api/data/notes?fields=name,meta.other&sort=meta.lang");
      expect(sibling.json.data.items).toEqual([{ _id: expect.any(String), name: "n", meta: {} }]);
      // The cursor still works from a projected page.
      const first = (await list("fields=name&sort=price&limit=30")).json.data;
      const second = (await list(`fields=name&sort=price&limit=30&cursor=${first.nextCursor}`)).json.data;
      expect([...ids(first.items), ...ids(second.items)]).toEqual(ids(jsSort(all, [["price", 1]])));
    });

    it("count=true answers {count} only", async () => {
      expect((await list("count=true")).json.data).toEqual({ count: 60 });
      expect((await list("count=true&category=toy&price_gt=5")).json.data).toEqual({
        count: all.filter((d) => d.category === "toy" && (d.price as number) > 5).length,
      });
    });
  });
});

describe("cursor paging over a field whose declared type changed", () => {
  let env: DataTestEnv;
  beforeEach(async () => {
    env = await dataTestEnv();
  });
  afterEach(() => env.close());

  it.each(["asc", "desc"])("%s: every document is reached, old types included", async (direction) => {
    await env.defineCollection({ name: "items", fields: [{ name: "price", type: "string" }] });
    for (const price of ["a", "b"]) expect((await env.sk("POST", "/api/data/items", { price })).status).toBe(201);
    const put = await env.sk("PUT", "/api/schemas/items", { fields: [{ name: "price", type: "number" }] });
    expect(put.status).toBe(200);
    for (const price of [1, 2]) expect((await env.sk("POST", "/api/data/items", { price })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/items", {})).status).toBe(201);
    const seen: unknown[] = [];
    let cursor = "";
    for (let page = 0; page < 5; page++) {
      const res = await env.pk(
        "GET",
        `/api/data/items?sortBy=price&sortDirection=${direction}&limit=2&cursor=${cursor}`,
      );
      expect(res.status, res.text).toBe(200);
      seen.push(...res.json.data.items.map((d: { price?: unknown }) => d.price ?? null));
      cursor = res.json.data.nextCursor;
      if (!cursor) break;
    }
    const ascending = [null, 1, 2, "a", "b"];
    expect(seen).toEqual(direction === "asc" ? ascending : ascending.reverse());
    expect((await env.pk("GET", "/api/data/items?sortBy=price&limit=50")).json.data.total).toBe(5);
  });
});

describe("read rules in lists", () => {
  let env: DataTestEnv;
  beforeEach(async () => {
    env = await dataTestEnv();
  });
  afterEach(() => env.close());

  it("an owner rule confines lists, counts, filters, cursors and totals to the caller's documents", async () => {
    await env.defineCollection({ name: "diary", rls: { enabled: true, mode: "private" } });
    const [alice, bob] = [newUserId(), newUserId()];
    const body = (owner: string) => Array.from({ length: 12 }, (_, n) => ({ n, userId: owner }));
    await env.sk("POST", "/api/data/diary/bulk", [...body(alice), ...body(bob)]);
    const token = await env.token(alice);
    const mine = (query: string) => env.pk("GET", `/api/data/diary?${query}`, { token });
    expect((await mine("count=true")).json.data.count).toBe(12);
    expect((await mine(`userId=${bob}`)).json.data.items).toEqual([]);
    expect((await mine(`orFilters=${q([{ userId: bob }, { n: 3 }])}`)).json.data.items).toHaveLength(1);
    let cursor: string | null = null;
    const seen: Doc[] = [];
    do {
      const data: { items: Doc[]; total: number; nextCursor: string | null } = (
        await mine(`sort=n&limit=5${cursor ? `&cursor=${cursor}` : ""}`)
      ).json.data;
      expect(data.total).toBe(12);
      seen.push(...data.items);
      cursor = data.nextCursor;
    } while (cursor);
    expect(seen.map((d) => [d.n, d.userId])).toEqual(Array.from({ length: 12 }, (_, n) => [n, alice]));
    const guest = await env.pk("GET", "/api/data/diary");
    expect([guest.status, guest.json.code, guest.json.message]).toEqual([
      401,
      "AUTH_REQUIRED",
      "Authentication required",
    ]);
  });

  it("a caller's own filter on the owner field never widens the owner rule, on a page that walks the owner index", async () => {
    await env.defineCollection({
      name: "notes",
      fields: [{ name: "text", type: "string" }],
      rls: { enabled: true, mode: "private" },
    });
    const [me, victim] = [newUserId(), newUserId()];
    // Past 512 matches a sorted page walks the index of its sort field: here the owner field.
    const notes = env.deps.store.tenant({ projectId: env.project.id }).collection("notes");
    const now = new Date().toISOString();
    await notes.insertMany(
      Array.from({ length: 1200 }, (_, i) => ({
        text: i % 2 ? "theirs" : "mine",
        userId: i % 2 ? victim : me,
        createdAt: now,
        updatedAt: now,
      })),
    );
    const token = await env.token(me);
    for (const owners of [`${me},${victim}`, `${victim},${me}`]) {
      for (const sort of ["userId", "-userId"]) {
        const res = await env.pk("GET", `/api/data/notes?userId_in=${owners}&sort=${sort}&limit=100`, { token });
        expect(res.status, res.text).toBe(200);
        expect(new Set(res.json.data.items.map((n: Doc) => n.text)), `${owners} ${sort}`).toEqual(new Set(["mine"]));
      }
    }
  });

  it("an owner field the rules use without declaring it can be filtered and sorted on", async () => {
    await env.defineCollection({ name: "tasks", fields: [{ name: "n", type: "integer" }], rls: { enabled: true } });
    const users = [newUserId(), newUserId()].sort();
    for (const [i, user] of users.entries()) {
      await env.pk("POST", "/api/data/tasks", { token: await env.token(user), body: { n: i } });
    }
    const sorted = await env.pk("GET", "/api/data/tasks?sort=-userId");
    expect(sorted.json.data.items.map((d: Doc) => d.userId)).toEqual([...users].reverse());
    const filtered = await env.pk("GET", `/api/data/tasks?userId=${users[0]}`);
    expect(filtered.json.data.items.map((d: Doc) => d.n)).toEqual([0]);
  });
});

describe("aggregate", () => {
  let env: DataTestEnv;
  let alice: string;
  let bob: string;
  beforeEach(async () => {
    env = await dataTestEnv();
    await env.defineCollection({
      name: "orders",
      fields: [
        { name: "total", type: "number" },
        { name: "status", type: "string" },
        { name: "items", type: "array", items: { type: "string" } },
        { name: "margin", type: "number", private: true },
        { name: "userId", type: "string" },
      ],
      rls: { enabled: true, mode: "private" },
    });
    [alice, bob] = [newUserId(), newUserId()];
    const orders = [
      { total: 10, status: "paid", items: ["a", "b"], margin: 1, userId: alice },
      { total: 20, status: "paid", items: ["c"], margin: 2, userId: alice },
      { total: 5, status: "open", items: [], margin: 3, userId: bob },
      { total: 7, status: "paid", items: ["a"], margin: 4, userId: bob },
    ];
    await env.sk("POST", "/api/data/orders/bulk", orders);
  });
  afterEach(() => env.close());
  const aggregate = (pipeline: unknown, key: "sk" | "pk" = "sk", token?: string) =>
    call(env.app, "POST", "/api/data/orders/aggregate", {
      key: key === "sk" ? env.project.sk : env.project.pk,
      token: token ?? null,
      body: { pipeline },
    });

  it("runs every allowed stage with the secret key", async () => {
    const res = await aggregate([
      { $match: { status: "paid" } },
      { $unwind: "$items" },
      { $addFields: { double: { $multiply: ["$total", 2] } } },
      { $project: { items: 1, double: 1, userId: 1 } },
      { $group: { _id: "$items", sum: { $sum: "$double" }, n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
      { $skip: 1 },
      { $limit: 2 },
    ]);
    expect(res.status).toBe(200);
    expect(res.json.data.items).toEqual([
      { _id: "b", sum: 20, n: 1 },
      { _id: "c", sum: 40, n: 1 },
    ]);
    const found = await aggregate([
      { $match: { total: 10 } },
      {
        $project: {
          _id: 0,
          all: { $regexFindAll: { input: "a1b22c333", regex: "([a-z])(\\d+)" } },
          first: { $regexFind: { input: "$status", regex: "A(I)", options: "i" } },
          none: { $regexFind: { input: "$status", regex: "z" } },
          hit: { $regexMatch: { input: "$status", regex: "^p" } },
        },
      },
    ]);
    expect(found.json.data.items).toEqual([
      {
        all: [
          { match: "a1", idx: 0, captures: ["a", "1"] },
          { match: "b22", idx: 2, captures: ["b", "22"] },
          { match: "c333", idx: 5, captures: ["c", "333"] },
        ],
        first: { match: "ai", idx: 1, captures: ["i"] },
        none: null,
        hit: true,
      },
    ]);
    const counted = await aggregate([{ $match: { total: { $gte: 7 } } }, { $count: "n" }]);
    expect(counted.json.data.items).toEqual([{ n: 3 }]);
    const matched = await aggregate([
      { $project: { paid: { $regexMatch: { input: "$status", regex: "^PA", options: "i" } } } },
      { $group: { _id: "$paid", n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ]);
    expect(matched.json.data.items).toEqual([
      { _id: false, n: 1 },
      { _id: true, n: 3 },
    ]);
  });

  it("a $match after a reshaping stage compares values as they are: _id is the group key, a date name holds anything", async () => {
    const cases: Array<[unknown[], unknown[]]> = [
      [[{ $group: { _id: "$status", n: { $sum: 1 } } }, { $match: { _id: "paid" } }], [{ _id: "paid", n: 3 }]],
      [
        [{ $group: { _id: "$total" } }, { $match: { _id: { $gte: 10 } } }, { $sort: { _id: 1 } }],
        [{ _id: 10 }, { _id: 20 }],
      ],
      [[{ $group: { _id: null, n: { $sum: 1 } } }, { $match: { _id: null } }], [{ _id: null, n: 4 }]],
      [
        [{ $unwind: "$items" }, { $project: { createdAt: "$items" } }, { $match: { createdAt: "a" } }, { $count: "n" }],
        [{ n: 2 }],
      ],
    ];
    for (const [pipeline, items] of cases) {
      const res = await aggregate(pipeline);
      expect([res.status, res.json.data?.items], res.text).toEqual([200, items]);
    }
    // Before any reshaping stage the collection's types still apply.
    const typed = await aggregate([{ $match: { _id: "paid" } }, { $group: { _id: "$status" } }]);
    expect([typed.status, typed.json.code]).toEqual([400, "INVALID_QUERY"]);
  });

  it.each([
    ["$lookup", [{ $lookup: { from: "users", localField: "userId", foreignField: "_id", as: "u" } }]],
    [
      "$graphLookup",
      [{ $graphLookup: { from: "orders", startWith: "$x", connectFromField: "x", connectToField: "y", as: "z" } }],
    ],
    ["$unionWith", [{ $unionWith: "users" }]],
    ["$out", [{ $match: {} }, { $out: "copy" }]],
    ["$merge", [{ $merge: { into: "copy" } }]],
    ["$where in $match", [{ $match: { $where: "true" } }]],
    ["$expr in $match", [{ $match: { $expr: { $gt: ["$total", 1] } } }]],
    ["$facet", [{ $facet: { a: [{ $match: {} }] } }]],
    ["a stage with two operators", [{ $match: {}, $limit: 1 }]],
    ["an empty pipeline", []],
    ["a non-array pipeline", { $match: {} }],
    ["21 stages", Array.from({ length: 21 }, () => ({ $skip: 0 }))],
    ["$limit 0", [{ $limit: 0 }]],
    ["$limit as text", [{ $limit: "5" }]],
    ["a negative $skip", [{ $skip: -1 }]],
    ["$sort by 3", [{ $sort: { total: 3 } }]],
    ["$unwind of a number", [{ $unwind: 5 }]],
    ["$count without a name", [{ $count: "" }]],
    ["$group without _id", [{ $group: { n: { $sum: 1 } } }]],
    ["an unknown expression operator", [{ $project: { x: { $nope: "$total" } } }]],
    ["an unknown accumulator", [{ $group: { _id: null, x: { $nope: 1 } } }]],
    ["colliding projection paths", [{ $project: { "items.x": 1, items: 1 } }]],
    ["$range", [{ $addFields: { big: { $range: [0, 1e9] } } }]],
    ["a catastrophic $regexMatch", [{ $addFields: { y: { $regexMatch: { input: "$status", regex: "(a+)+$" } } } }]],
    [
      "a $regexFind pattern from the data",
      [{ $addFields: { y: { $regexFind: { input: "$status", regex: "$status" } } } }],
    ],
  ])("refuses %s with 400 INVALID_QUERY", async (_name, pipeline) => {
    const res = await aggregate(pipeline);
    expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
  });

  // The embedded store fails on server-side JavaScript too, so a status alone would pass either way;
  // MongoDB would run it. The vetting must refuse it, saying why, before any store sees the pipeline.
  const deepExpression = (levels: number): unknown =>
    levels === 0 ? "$total" : { $add: [deepExpression(levels - 1), 1] };
  it.each([
    [
      "$function in $addFields",
      [{ $addFields: { x: { $function: { body: "return 1", args: [], lang: "js" } } } }],
      "Operator $function is not allowed",
    ],
    [
      "$function in $project",
      [{ $project: { x: { $function: { body: "return 1", args: [], lang: "js" } } } }],
      "Operator $function is not allowed",
    ],
    [
      "$accumulator in $group",
      [{ $group: { _id: null, x: { $accumulator: { init: "function(){}" } } } }],
      "Operator $accumulator is not allowed",
    ],
    ["an expression nested 20 deep", [{ $project: { x: deepExpression(20) } }], "Pipeline is nested too deeply"],
  ])(
    "the vetting refuses %s (400 INVALID_QUERY, saying why) before any store runs it",
    async (_name, pipeline, message) => {
      const res = await aggregate(pipeline);
      expect([res.status, res.json.code, res.json.message]).toEqual([400, "INVALID_QUERY", message]);
      expect(env.deps.log.lines.filter((line) => line.message === "aggregate pipeline failed")).toEqual([]);
    },
  );

  it("refuses publishable keys unless the project (or the collection) allows them", async () => {
    const token = await env.token(alice);
    const res = await aggregate([{ $match: {} }], "pk", token);
    expect([res.status, res.json.code]).toEqual([403, "READ_BLOCKED"]);
    expect(res.json.message).toMatch(/settings\.data\.publishableAggregate/); // the way out, named
    await env.sk("PATCH", "/api/schemas/orders", { aggregate: { publishable: true } });
    expect((await aggregate([{ $match: {} }], "pk", token)).status).toBe(200);
    // A definition that says false wins over the project's setting: its message names the definition.
    await env.sk("PATCH", "/api/schemas/orders", { aggregate: { publishable: false } });
    await env.deps.projects.update(env.project.id, { settings: { data: { publishableAggregate: true } } });
    const off = await aggregate([{ $match: {} }], "pk", token);
    expect([off.status, off.json.message]).toEqual([
      403,
      expect.stringMatching(/definition's aggregate\.publishable is false/),
    ]);
  });

  describe("with publishableAggregate on", () => {
    beforeEach(async () => {
      await env.deps.projects.update(env.project.id, { settings: { data: { publishableAggregate: true } } });
    });
    const pkAggregate = async (pipeline: unknown, token?: string) => {
      const principal = await env.deps.projects.resolveKey(env.project.pk);
      expect(principal?.project.settings.data).toEqual({ publishableAggregate: true });
      return aggregate(pipeline, "pk", token);
    };

    it("applies the read rule as a leading $match: a private-mode user aggregates only their documents", async () => {
      const res = await pkAggregate(
        [{ $group: { _id: "$userId", sum: { $sum: "$total" }, n: { $sum: 1 } } }],
        await env.token(alice),
      );
      expect(res.status).toBe(200);
      expect(res.json.data.items).toEqual([{ _id: alice, sum: 30, n: 2 }]);
      const bobs = await pkAggregate([{ $match: { userId: alice } }], await env.token(bob));
      expect(bobs.json.data.items).toEqual([]);
      const guest = await pkAggregate([{ $match: {} }]);
      expect([guest.status, guest.json.code]).toEqual([401, "AUTH_REQUIRED"]);
    });

    it("keeps private fields away from pk: no references, and $$ROOT carries none", async () => {
      const token = await env.token(alice);
      for (const pipeline of [
        [{ $group: { _id: null, m: { $sum: "$margin" } } }],
        [{ $match: { margin: { $gt: 0 } } }],
        [{ $sort: { margin: 1 } }],
        [{ $project: { m: "$margin" } }],
      ]) {
        const res = await pkAggregate(pipeline, token);
        expect([res.status, res.json.code], JSON.stringify(pipeline)).toEqual([400, "INVALID_QUERY"]);
      }
      const rooted = await pkAggregate(
        [{ $addFields: { copy: "$$ROOT" } }, { $group: { _id: null, all: { $push: "$$CURRENT" } } }],
        token,
      );
      expect(rooted.status).toBe(200);
      expect(JSON.stringify(rooted.json.data.items)).not.toContain("margin");
      const got = await pkAggregate([{ $project: { x: { $getField: "margin" } } }], token);
      expect(JSON.stringify(got.json.data)).not.toMatch(/"x":\d/);
    });
  });

  it("hides private fields under arrays of arrays from pk, declared so or stored so before the definition", async () => {
    const cell = {
      type: "object",
      fields: [
        { name: "label", type: "string" },
        { name: "pin", type: "string", private: true },
      ],
    };
    await env.defineCollection({
      name: "boards",
      fields: [{ name: "grid", type: "array", items: { type: "array", items: cell } }],
      aggregate: { publishable: true },
    });
    expect((await env.sk("POST", "/api/data/boards", { grid: [[{ label: "a", pin: "PIN-1" }]] })).status).toBe(201);
    // Stored as an array of arrays while no definition said otherwise, then declared one level deep.
    expect((await env.sk("POST", "/api/data/legacy", { links: [[{ label: "a", pin: "PIN-2" }]] })).status).toBe(201);
    const declared = await env.sk("PUT", "/api/schemas/legacy", {
      name: "legacy",
      fields: [{ name: "links", type: "array", items: cell }],
      aggregate: { publishable: true },
    });
    expect(declared.status).toBe(200);
    for (const name of ["boards", "legacy"]) {
      for (const pipeline of [
        [{ $project: { all: "$$ROOT" } }],
        [{ $group: { _id: null, docs: { $push: "$$CURRENT" } } }],
        [{ $project: { x: { $objectToArray: "$$ROOT" } } }],
      ]) {
        const res = await call(env.app, "POST", `/api/data/${name}/aggregate`, {
          key: env.project.pk,
          body: { pipeline },
        });
        expect(res.status, name).toBe(200);
        expect(res.text, `${name} ${JSON.stringify(pipeline)}`).toContain('"label":"a"');
        expect(res.text, `${name} ${JSON.stringify(pipeline)}`).not.toContain("PIN-");
      }
    }
    // Numeric segments read as array positions, as in queries: the reference names the private field.
    for (const pipeline of [[{ $project: { x: "$grid.0.0.pin" } }], [{ $addFields: { "grid.0.pin": 1 } }]]) {
      const res = await call(env.app, "POST", "/api/data/boards/aggregate", {
        key: env.project.pk,
        body: { pipeline },
      });
      expect([res.status, res.json.code], JSON.stringify(pipeline)).toEqual([400, "INVALID_QUERY"]);
    }
  });

  it("reads the data's variables only: server variables are refused, user variables work", async () => {
    for (const variable of ["$$USER_ROLES", "$$CLUSTER_TIME", "$$SEARCH_META.x", "$$DESCEND"]) {
      const res = await aggregate([{ $project: { x: variable } }]);
      // Refused by the check (MongoDB would answer them), not by the embedded store failing to run them.
      expect([res.status, res.json.code, res.json.message], variable).toEqual([
        400,
        "INVALID_QUERY",
        `Variable ${variable.split(".")[0]} is not allowed`,
      ]);
    }
    const res = await aggregate([
      { $match: { total: 10 } },
      { $project: { _id: 0, t: { $let: { vars: { doubled: { $multiply: ["$total", 2] } }, in: "$$doubled" } } } },
      { $addFields: { now: { $type: "$$NOW" }, same: { $eq: ["$$ROOT", "$$CURRENT"] } } },
    ]);
    expect(res.status).toBe(200);
    expect(res.json.data.items).toEqual([{ t: 20, now: "date", same: true }]);
  });

  it("bounds the result to 1000 items", async () => {
    await env.sk(
      "POST",
      "/api/data/orders/bulk",
      Array.from({ length: 500 }, (_, n) => ({ total: n })),
    );
    await env.sk(
      "POST",
      "/api/data/orders/bulk",
      Array.from({ length: 500 }, (_, n) => ({ total: n })),
    );
    const res = await aggregate([{ $match: {} }, { $limit: 5000 }]);
    expect(res.status).toBe(200);
    expect(res.json.data.items).toHaveLength(1000);
  });
});

describe("a 10 000-document collection", () => {
  let env: DataTestEnv;
  let all: Doc[];
  beforeAll(async () => {
    env = await dataTestEnv();
    await env.defineCollection({
      name: "events",
      fields: [
        { name: "kind", type: "string", index: true },
        { name: "score", type: "integer", index: true },
        { name: "at", type: "date", index: true },
        { name: "label", type: "string" },
      ],
    });
    const kinds = ["click", "view", "buy", "share", "like"];
    for (let batch = 0; batch < 20; batch++) {
      const body = Array.from({ length: 500 }, (_, i) => {
        const n = batch * 500 + i;
        return {
          kind: kinds[(n * 7) % 5],
          score: (n * 7919) % 1000,
          at: new Date(Date.UTC(2025, 0, 1) + ((n * 104729) % 100_000) * 60_000).toISOString(),
          label: `e${n % 37}`,
        };
      });
      const res = await env.sk("POST", "/api/data/events/bulk", body);
      expect(res.status).toBe(201);
    }
    const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
    all = (await env.deps.collections.database(project).collection("events").find({})) as Doc[];
    expect(all).toHaveLength(10_000);
  }, 60_000);
  afterAll(() => env.close());

  it.each<[string, (d: Doc) => boolean, Array<[string, 1 | -1]>, number, number]>([
    [
      "kind=buy&score_gte=500&sort=-score",
      (d) => d.kind === "buy" && (d.score as number) >= 500,
      [["score", -1]],
      3,
      50,
    ],
    [
      "score_in=1,2,3,500,999&sort=kind,score",
      (d) => [1, 2, 3, 500, 999].includes(d.score as number),
      [
        ["kind", 1],
        ["score", 1],
      ],
      1,
      100,
    ],
    [
      `filter=${q({ at: { $gte: "2025-02-01", $lt: "2025-02-15" }, kind: { $ne: "view" } })}&sort=at:desc`,
      (d) => (d.at as string) >= "2025-02-01" && (d.at as string) < "2025-02-15" && d.kind !== "view",
      [["at", -1]],
      4,
      25,
    ],
    [
      "label=e3&sort=score,-at",
      (d) => d.label === "e3",
      [
        ["score", 1],
        ["at", -1],
      ],
      2,
      100,
    ],
    ["sort=-score", () => true, [["score", -1]], 77, 100],
    // Values apart in the index (click lies between): a descending walk starts from the last.
    ["kind_in=buy,like&sort=-kind", (d) => d.kind === "buy" || d.kind === "like", [["kind", -1]], 23, 90],
    // Repeated filters AND together: a walk over one filter's values still checks the other.
    ["kind_in=buy,like&kind_in=buy,view&sort=-kind", (d) => d.kind === "buy", [["kind", -1]], 1, 100],
  ])(
    "%s answers what a plain JS filter and sort compute (one page of it)",
    async (query, predicate, sort, page, limit) => {
      const matching = jsSort(all.filter(predicate), sort);
      const res = await env.sk("GET", `/api/data/events?${query}&page=${page}&limit=${limit}`);
      expect(res.status).toBe(200);
      expect(res.json.data.total).toBe(matching.length);
      expect(res.json.data.totalPages).toBe(Math.ceil(matching.length / limit));
      expect(ids(res.json.data.items)).toEqual(ids(matching.slice((page - 1) * limit, page * limit)));
      expect(res.json.data.items.length).toBeGreaterThan(0);
    },
  );

  it("a cursor walk over a filtered, sorted slice visits every match once, in order", async () => {
    const matching = jsSort(
      all.filter((d) => d.kind === "share"),
      [["score", 1]],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: CallResult = await env.sk(
        "GET",
        `/api/data/events?kind=share&sort=score&limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...ids(res.json.data.items));
      cursor = res.json.data.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids(matching));
  });
});
