/**
 * Drafts: `rls.publicWhen` hides the documents that do not match it from every publishable-key reader
 * but their owner, on every path that reads them (list, get, count and totals, cursors, populate,
 * aggregate, ETags, the documents a write addresses); a hidden document answers as a missing one.
 * The secret key sees everything. Plus the definition checks of `publicWhen` (POST, PUT, PATCH).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CallResult, call, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
let alice: string;
let bob: string;
/** alice's published post, alice's draft, bob's draft. */
let ids: { published: string; aliceDraft: string; bobDraft: string };

const POSTS = {
  name: "posts",
  fields: [
    { name: "title", type: "string" },
    { name: "published", type: "boolean", default: false },
  ],
  rls: { enabled: true, mode: "public-read", publicWhen: { published: true } },
};

type Caller = "no key" | "bad key" | "guest" | "alice" | "bob" | "sk";
const CALLERS: Caller[] = ["no key", "bad key", "guest", "alice", "bob", "sk"];

async function as(
  caller: Caller,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<CallResult> {
  const { project } = env;
  const keys: Record<string, string | null> = {
    "no key": null,
    "bad key": `${project.pk.slice(0, -4)}zzzz`,
    sk: project.sk,
  };
  const user = caller === "alice" ? alice : caller === "bob" ? bob : null;
  const token = user ? await env.token(user) : null;
  return call(env.app, method, path, { key: caller in keys ? keys[caller] : project.pk, token, body, headers });
}

/** What each caller may read of the three posts (null: the request is refused, 401). */
const SEES: Record<Caller, Array<keyof typeof ids> | null> = {
  "no key": null,
  "bad key": null,
  guest: ["published"],
  alice: ["published", "aliceDraft"],
  bob: ["published", "bobDraft"],
  sk: ["published", "aliceDraft", "bobDraft"],
};
const seen = (caller: Caller) => (SEES[caller] ?? []).map((name) => ids[name]).sort();
const idsOf = (items: Array<{ _id: string }>) => items.map((item) => item._id).sort();
/** An error answer without what differs per request. */
const errorOf = (res: CallResult) => ({ status: res.status, ...res.json, requestId: undefined });

beforeEach(async () => {
  env = await dataTestEnv({ settings: { data: { publishableAggregate: true } } });
  alice = newUserId();
  bob = newUserId();
  await env.defineCollection(POSTS);
  await env.defineCollection({
    name: "comments",
    fields: [
      { name: "text", type: "string" },
      { name: "post", type: "ref", ref: "posts" },
    ],
  });
  const insert = async (user: string, doc: Record<string, unknown>) => {
    const res = await env.pk("POST", "/api/data/posts", { token: await env.token(user), body: doc });
    expect(res.status, res.text).toBe(201);
    return res.json.data._id as string;
  };
  ids = {
    published: await insert(alice, { title: "Hello", published: true }),
    aliceDraft: await insert(alice, { title: "Alice's draft" }),
    bobDraft: await insert(bob, { title: "Bob's draft", published: false }),
  };
  for (const post of Object.values(ids)) {
    expect((await env.sk("POST", "/api/data/comments", { text: "c", post })).status).toBe(201);
  }
});
afterEach(() => env.close());

describe("publicWhen: what each caller reads", () => {
  it.each(CALLERS)("list, count and total: %s", async (caller) => {
    const list = await as(caller, "GET", "/api/data/posts");
    const count = await as(caller, "GET", "/api/data/posts?count=true");
    if (SEES[caller] === null) {
      expect([list.status, count.status]).toEqual([401, 401]);
      return;
    }
    expect(list.status, list.text).toBe(200);
    expect(idsOf(list.json.data.items)).toEqual(seen(caller));
    expect(list.json.data.total).toBe(seen(caller).length);
    expect(count.json.data.count).toBe(seen(caller).length);
    // A filter on the hiding field finds no more than the list: a draft is not found by asking for it.
    const drafts = await as(caller, "GET", "/api/data/posts?published=false");
    expect(idsOf(drafts.json.data.items)).toEqual(seen(caller).filter((id) => id !== ids.published));
  });

  it.each(CALLERS)("pages and cursors walk only the visible documents: %s", async (caller) => {
    if (SEES[caller] === null) return;
    const walked: string[] = [];
    let next = "/api/data/posts?limit=1&sort=createdAt:asc";
    for (let pages = 0; pages < 5 && next; pages++) {
      const res = await as(caller, "GET", next);
      expect(res.status, res.text).toBe(200);
      walked.push(...idsOf(res.json.data.items));
      const cursor = res.json.data.nextCursor;
      next = cursor ? `/api/data/posts?limit=1&sort=createdAt:asc&cursor=${encodeURIComponent(cursor)}` : "";
    }
    expect(walked.sort()).toEqual(seen(caller));
    const page2 = await as(caller, "GET", "/api/data/posts?limit=1&page=2");
    expect(page2.json.data.totalPages).toBe(seen(caller).length);
    expect(page2.json.data.hasNext).toBe(seen(caller).length > 2);
  });

  it.each(CALLERS)("get by id, ETag and If-None-Match: %s; a hidden post answers as a missing one", async (caller) => {
    const missing = await as(caller, "GET", `/api/data/posts/${newUserId()}`);
    for (const [name, id] of Object.entries(ids)) {
      const etag = (await env.sk("GET", `/api/data/posts/${id}`)).headers.get("etag") as string;
      const res = await as(caller, "GET", `/api/data/posts/${id}`);
      const revalidated = await as(caller, "GET", `/api/data/posts/${id}`, undefined, { "if-none-match": etag });
      if (SEES[caller] === null) {
        expect(res.status).toBe(401);
      } else if (seen(caller).includes(id)) {
        expect(res.status, `${name}: ${res.text}`).toBe(200);
        expect(res.headers.get("etag")).toBe(etag);
        expect(revalidated.status).toBe(304);
      } else {
        expect(res.status, name).toBe(404);
        expect(errorOf(res)).toEqual(errorOf(missing));
        expect(res.headers.get("etag")).toBeNull();
        expect(revalidated.status).toBe(404);
        expect(errorOf(revalidated)).toEqual(errorOf(missing));
      }
    }
  });

  it.each(CALLERS)("populate into the collection shows a hidden post as a missing one (null): %s", async (caller) => {
    const list = await as(caller, "GET", "/api/data/comments?populate=post&limit=100");
    if (SEES[caller] === null) {
      expect(list.status).toBe(401);
      return;
    }
    expect(list.status, list.text).toBe(200);
    const populated = list.json.data.items.map((c: { post: { _id: string } | null }) => c.post?._id ?? null);
    expect(populated.filter(Boolean).sort()).toEqual(seen(caller));
    expect(populated.filter((id: string | null) => id === null)).toHaveLength(3 - seen(caller).length);
    const comment = list.json.data.items.find((c: { post: unknown }) => c.post === null);
    if (comment) {
      const one = await as(caller, "GET", `/api/data/comments/${comment._id}?expand=post`);
      expect(one.json.data.post).toBeNull();
    }
  });

  it.each(CALLERS)("aggregate (publishableAggregate) counts only what the caller may list: %s", async (caller) => {
    const pipeline = [{ $group: { _id: "$published", n: { $sum: 1 } } }, { $sort: { _id: 1 } }];
    const res = await as(caller, "POST", "/api/data/posts/aggregate", { pipeline });
    if (SEES[caller] === null) {
      expect(res.status).toBe(401);
      return;
    }
    expect(res.status, res.text).toBe(200);
    const drafts = seen(caller).length - 1;
    const expected = [...(drafts > 0 ? [{ _id: false, n: drafts }] : []), { _id: true, n: 1 }];
    expect(res.json.data.items).toEqual(expected);
    // A $match of the caller's own cannot reach past the read filter.
    const all = await as(caller, "POST", "/api/data/posts/aggregate", { pipeline: [{ $match: {} }] });
    expect(idsOf(all.json.data.items)).toEqual(seen(caller));
  });
});

describe("publicWhen: writes", () => {
  it("another user's hidden draft is 404 to a write, as a missing one; a published one is still 403", async () => {
    const missing = await as("bob", "PATCH", `/api/data/posts/${newUserId()}`, { title: "x" });
    for (const method of ["PATCH", "PUT", "DELETE"]) {
      const res = await as("bob", method, `/api/data/posts/${ids.aliceDraft}`, { title: "x" });
      expect(errorOf(res), method).toEqual(errorOf(missing));
    }
    const published = await as("bob", "PATCH", `/api/data/posts/${ids.published}`, { title: "x" });
    expect(published.json.code).toBe("OWNER_MISMATCH");
    expect((await env.sk("GET", `/api/data/posts/${ids.aliceDraft}`)).json.data.title).toBe("Alice's draft");
  });

  it("the owner publishes by updating the field, and unpublishes the same way", async () => {
    const publish = await as("alice", "PATCH", `/api/data/posts/${ids.aliceDraft}`, { published: true });
    expect(publish.status, publish.text).toBe(200);
    expect((await as("guest", "GET", `/api/data/posts/${ids.aliceDraft}`)).status).toBe(200);
    expect((await as("alice", "PATCH", `/api/data/posts/${ids.published}`, { published: false })).status).toBe(200);
    expect((await as("guest", "GET", `/api/data/posts/${ids.published}`)).status).toBe(404);
    expect(idsOf((await as("guest", "GET", "/api/data/posts")).json.data.items)).toEqual([ids.aliceDraft]);
  });
});

describe("publicWhen under an owner read rule", () => {
  it("adds nothing: a private collection shows each user only their own documents, published or not", async () => {
    const patched = await env.sk("PATCH", "/api/schemas/posts", { rls: { mode: "private" } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.data.collection.rls.publicWhen).toEqual({ published: true });
    expect(idsOf((await as("bob", "GET", "/api/data/posts")).json.data.items)).toEqual([ids.bobDraft]);
    expect(idsOf((await as("alice", "GET", "/api/data/posts")).json.data.items)).toEqual(
      [ids.published, ids.aliceDraft].sort(),
    );
    expect((await as("bob", "GET", `/api/data/posts/${ids.published}`)).status).toBe(404);
    expect((await as("guest", "GET", "/api/data/posts")).status).toBe(401);
  });
});

describe("publicWhen in a definition", () => {
  const base = {
    name: "items",
    fields: [
      { name: "published", type: "boolean" },
      { name: "status", type: "string", enum: ["draft", "live"] },
      { name: "rank", type: "integer", min: 0 },
      { name: "goesLive", type: "date" },
      { name: "secretFlag", type: "boolean", private: true },
      { name: "tags", type: "array", items: { type: "string" } },
      { name: "meta", type: "object", fields: [{ name: "shown", type: "boolean" }] },
      { name: "cat", type: "ref", ref: "cats" },
      { name: "anything", type: "any" },
    ],
  };
  const owned = { enabled: true, mode: "public-read" };
  const refused: Array<[string, Record<string, unknown>, string]> = [
    ["without owners", { rls: { publicWhen: { published: true } } }, "rls.publicWhen"],
    ["rls disabled", { rls: { enabled: false, publicWhen: { published: true } } }, "rls.publicWhen"],
    ["no field", { rls: { ...owned, publicWhen: {} } }, "rls.publicWhen"],
    ["an undeclared field", { rls: { ...owned, publicWhen: { nope: true } } }, "rls.publicWhen.nope"],
    ["a private field", { rls: { ...owned, publicWhen: { secretFlag: true } } }, "rls.publicWhen.secretFlag"],
    ["an array field", { rls: { ...owned, publicWhen: { tags: "a" } } }, "rls.publicWhen.tags"],
    ["an object field", { rls: { ...owned, publicWhen: { meta: true } } }, "rls.publicWhen.meta"],
    ["a ref field", { rls: { ...owned, publicWhen: { cat: "0".repeat(24) } } }, "rls.publicWhen.cat"],
    ["an any field", { rls: { ...owned, publicWhen: { anything: 1 } } }, "rls.publicWhen.anything"],
    ["a null value", { rls: { ...owned, publicWhen: { published: null } } }, "rls.publicWhen.published"],
    ["an object value", { rls: { ...owned, publicWhen: { published: { ne: false } } } }, "rls.publicWhen.published"],
    ["a list of values", { rls: { ...owned, publicWhen: { status: ["live"] } } }, "rls.publicWhen.status"],
    ["a value of another type", { rls: { ...owned, publicWhen: { published: "true" } } }, "rls.publicWhen.published"],
    ["a value outside the enum", { rls: { ...owned, publicWhen: { status: "gone" } } }, "rls.publicWhen.status"],
    ["a value below min", { rls: { ...owned, publicWhen: { rank: -1 } } }, "rls.publicWhen.rank"],
    ["not a date", { rls: { ...owned, publicWhen: { goesLive: "soon" } } }, "rls.publicWhen.goesLive"],
    ["not an object", { rls: { ...owned, publicWhen: true } }, "rls.publicWhen"],
  ];
  it.each(refused)("refuses %s (400 naming the path)", async (_, def, path) => {
    const res = await env.sk("POST", "/api/schemas", { ...base, ...def });
    expect(res.status, res.text).toBe(400);
    expect(res.json.code).toBe("VALIDATION_FAILED");
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
  });
  it("refuses a dotted path as every body does (a field name is never dotted)", async () => {
    const res = await env.sk("POST", "/api/schemas", {
      ...base,
      rls: { ...owned, publicWhen: { "meta.shown": true } },
    });
    expect([res.status, res.json.code]).toEqual([400, "INVALID_FIELD_NAME"]);
  });

  const accepted: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ["a boolean", { rls: { ...owned, publicWhen: { published: true } } }, { published: true }],
    ["an enum value", { rls: { ...owned, publicWhen: { status: "live" } } }, { status: "live" }],
    ["two fields", { rls: { ...owned, publicWhen: { status: "live", rank: 0 } } }, { status: "live", rank: 0 }],
    [
      "a date, kept as stored",
      { rls: { ...owned, publicWhen: { goesLive: "2026-01-01" } } },
      { goesLive: "2026-01-01T00:00:00.000Z" },
    ],
    [
      "an owner rule without rls",
      { permissions: { update: "owner" }, rls: { publicWhen: { published: true } } },
      { published: true },
    ],
    [
      "a private collection",
      { rls: { enabled: true, mode: "private", publicWhen: { published: true } } },
      { published: true },
    ],
  ];
  it.each(accepted)("accepts %s, and the pk view shows it", async (_, def, stored) => {
    const res = await env.sk("POST", "/api/schemas", { ...base, ...def });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.collection.rls.publicWhen).toEqual(stored);
    const view = await env.pk("GET", "/api/schemas/items");
    expect(view.json.data.collection.rls.publicWhen).toEqual(stored);
    // A definition answer sent back unchanged is taken as it is.
    expect((await env.sk("PUT", "/api/schemas/items", view.json.data.collection)).status).toBe(200);
  });

  it("PATCH and PUT check it against the whole new definition", async () => {
    const patch = (body: unknown) => env.sk("PATCH", "/api/schemas/posts", body);
    const paths = (res: CallResult) => res.json.details.map((d: { path: string }) => d.path);
    // The field it names cannot go, turn private or change type while it names it.
    let res = await patch({ fields: [{ name: "published", remove: true }] });
    expect([res.status, ...paths(res)]).toEqual([400, "rls.publicWhen.published"]);
    res = await patch({ fields: [{ name: "published", type: "boolean", private: true }] });
    expect([res.status, ...paths(res)]).toEqual([400, "rls.publicWhen.published"]);
    res = await patch({ fields: [{ name: "published", type: "string" }] });
    expect([res.status, ...paths(res)]).toEqual([400, "rls.publicWhen.published"]);
    // Nor can the documents lose their owners.
    res = await patch({ rls: { enabled: false } });
    expect([res.status, ...paths(res)]).toEqual([400, "rls.publicWhen"]);
    res = await env.sk("PUT", "/api/schemas/posts", { ...POSTS, rls: { publicWhen: { published: true } } });
    expect([res.status, ...paths(res)]).toEqual([400, "rls.publicWhen"]);
    res = await patch({ rls: { publicWhen: { title: 3 } } });
    expect([res.status, ...paths(res)]).toEqual([400, "rls.publicWhen.title"]);
    expect(idsOf((await as("guest", "GET", "/api/data/posts")).json.data.items)).toEqual([ids.published]);
    // Replaced as a whole, and removed with null: every post is public again.
    res = await patch({ rls: { publicWhen: { title: "Bob's draft" } } });
    expect(res.json.data.collection.rls.publicWhen).toEqual({ title: "Bob's draft" });
    expect(idsOf((await as("guest", "GET", "/api/data/posts")).json.data.items)).toEqual([ids.bobDraft]);
    res = await patch({ rls: { publicWhen: null } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.collection.rls).not.toHaveProperty("publicWhen");
    expect(idsOf((await as("guest", "GET", "/api/data/posts")).json.data.items)).toEqual(Object.values(ids).sort());
  });
});
