/**
 * Idempotency-Key on inserts (functions/data/idempotency.ts): a retried insert answers the documents
 * the first attempt made instead of inserting again, per caller, atomically with the write.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonical } from "../shared/schema/canonical-json.js";
import { type CallResult, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
  await env.defineCollection({
    name: "notes",
    fields: [
      { name: "text", type: "string" },
      { name: "slug", type: "string", unique: true },
      { name: "userId", type: "string" },
    ],
    rls: { enabled: true, mode: "public-read", ownerField: "userId" },
  });
});
afterEach(() => env.close());

const KEY = "7d0f6c2e-2b7e-4c55-9d5e-1f0b7c1e9a01";
const keyed = (key = KEY) => ({ "idempotency-key": key });
const total = async (collection = "notes") =>
  (await env.sk("GET", `/api/data/${collection}?count=true`)).json.data.count;
const replayed = (res: CallResult) => res.headers.get("idempotent-replayed");

describe("Idempotency-Key on POST /:c", () => {
  it("a retry answers the document the first attempt made, as it is now, and inserts nothing", async () => {
    const first = await env.sk("POST", "/api/data/notes", { text: "a", slug: "a" }, keyed());
    expect([first.status, replayed(first)]).toEqual([201, null]);
    const again = await env.sk("POST", "/api/data/notes", { text: "a", slug: "a" }, keyed());
    expect([again.status, replayed(again), again.json.data]).toEqual([201, "true", first.json.data]);
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(await total()).toBe(1);
    // As it is now, whatever the retry's body: a key names one insert.
    await env.sk("PATCH", `/api/data/notes/${first.json.data._id}`, { text: "edited" });
    const later = await env.sk("POST", "/api/data/notes", { text: "other" }, keyed());
    expect([later.status, later.json.data._id, later.json.data.text]).toEqual([201, first.json.data._id, "edited"]);
    expect(await total()).toBe(1);
  });

  it("without a key, or with another, inserts each time; after the document is deleted the key inserts again", async () => {
    await env.sk("POST", "/api/data/notes", { text: "a" });
    await env.sk("POST", "/api/data/notes", { text: "a" });
    const one = await env.sk("POST", "/api/data/notes", { text: "a" }, keyed("k1"));
    const two = await env.sk("POST", "/api/data/notes", { text: "a" }, keyed("k2"));
    expect(one.json.data._id).not.toBe(two.json.data._id);
    expect(await total()).toBe(4);
    await env.sk("DELETE", `/api/data/notes/${one.json.data._id}`);
    const anew = await env.sk("POST", "/api/data/notes", { text: "b" }, keyed("k1"));
    expect([anew.status, replayed(anew), anew.json.data.text]).toEqual([201, null, "b"]);
  });

  it("is per caller: two users (and the secret key) with one key make a document each", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const as = async (user: string) =>
      env.pk("POST", "/api/data/notes", { body: { text: user }, token: await env.token(user), headers: keyed() });
    const a = await as(alice);
    const b = await as(bob);
    const s = await env.sk("POST", "/api/data/notes", { text: "sk" }, keyed());
    expect([a.status, b.status, s.status]).toEqual([201, 201, 201]);
    expect(new Set([a.json.data._id, b.json.data._id, s.json.data._id]).size).toBe(3);
    const again = await as(alice);
    expect([again.status, replayed(again), again.json.data]).toEqual([201, "true", a.json.data]);
    expect(await total()).toBe(3);
  });

  it("replays a key's document met before another unique value, where the retry collides on both", async () => {
    await env.sk("POST", "/api/data/notes", { slug: "taken" }, keyed());
    const again = await env.sk("POST", "/api/data/notes", { slug: "taken" }, keyed());
    expect([again.status, replayed(again)]).toEqual([201, "true"]);
    // Without the key, or under another, the unique value is the answer.
    const other = await env.sk("POST", "/api/data/notes", { slug: "taken" }, keyed("other"));
    expect([other.status, other.json.code, other.json.details[0].path]).toEqual([409, "DUPLICATE_VALUE", "slug"]);
  });

  it("is 409 where the caller's read rule does not show the key's document: a blind writer's retry", async () => {
    await env.defineCollection({
      name: "inbox",
      fields: [{ name: "text", type: "string" }],
      permissions: { create: "user", read: "secret", list: "secret" },
    });
    const token = await env.token(newUserId());
    const send = () => env.pk("POST", "/api/data/inbox", { body: { text: "hi" }, token, headers: keyed() });
    expect((await send()).status).toBe(201);
    const again = await send();
    expect([again.status, again.json.code, again.json.details]).toEqual([
      409,
      "DUPLICATE_VALUE",
      [{ path: "Idempotency-Key", message: expect.stringContaining("cannot read") }],
    ]);
    expect(await total("inbox")).toBe(1);
  });

  it("refuses a key that is empty, too long or not visible ASCII, inserting nothing", async () => {
    for (const key of ["", "a".repeat(256), "with space", "caf\u00e9"]) {
      const res = await env.sk("POST", "/api/data/notes", { text: "x" }, keyed(key));
      expect([JSON.stringify(key).slice(0, 20), res.status, res.json.code, res.json.details?.[0]?.path]).toEqual([
        JSON.stringify(key).slice(0, 20),
        400,
        "VALIDATION_FAILED",
        "Idempotency-Key",
      ]);
    }
    expect(await total()).toBe(0);
  });

  it("guests, who share one scope, are told apart by their bodies: the same key with another body inserts", async () => {
    await env.defineCollection({
      name: "orders",
      fields: [{ name: "item", type: "string" }],
      permissions: { create: "guest", read: "guest", list: "guest" },
    });
    const order = (item: string) => env.pk("POST", "/api/data/orders", { body: { item }, headers: keyed("order-1") });
    const alice = await order("alice's");
    const bob = await order("bob's");
    expect([bob.status, replayed(bob), bob.json.data.item]).toEqual([201, null, "bob's"]);
    const retried = await order("alice's");
    expect([retried.status, replayed(retried), retried.json.data]).toEqual([201, "true", alice.json.data]);
    expect(await total("orders")).toBe(2);
  });

  it("a guest's keyed body nested too deep is refused as without a key (its body is hashed only once checked), not a 500", async () => {
    await env.defineCollection({
      name: "wall",
      fields: [{ name: "text", type: "string" }],
      permissions: { create: "guest", read: "guest", list: "guest" },
    });
    const deep = `{"text":"x","a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const unkeyed = await env.pk("POST", "/api/data/wall", { body: deep });
    expect(unkeyed.status).toBe(400);
    for (const [path, body] of [
      ["/api/data/wall", deep],
      ["/api/data/wall/bulk", `[${deep}]`],
    ] as const) {
      const res = await env.pk("POST", path, { body, headers: keyed("deep") });
      expect([res.status, res.json.code], path).toEqual([400, unkeyed.json.code]);
    }
  });

  it("a retry after the first attempt filled the document quota is the replay, not 403", async () => {
    await env.close();
    env = await dataTestEnv({ settings: { quotas: { documentsBytes: 400 } } });
    const body = { text: "x".repeat(150) };
    const first = await env.sk("POST", "/api/data/notes", body, keyed());
    expect(first.status).toBe(201);
    expect((await env.sk("POST", "/api/data/notes", body)).json.code).toBe("QUOTA_EXCEEDED");
    const again = await env.sk("POST", "/api/data/notes", body, keyed());
    expect([again.status, replayed(again), again.json.data._id]).toEqual([201, "true", first.json.data._id]);
  });

  it("a malformed key is refused before an sk insert would create its collection", async () => {
    const res = await env.sk("POST", "/api/data/fresh", { a: 1 }, keyed("with space"));
    expect(res.status).toBe(400);
    expect((await env.sk("GET", "/api/schemas/fresh")).status).toBe(404);
  });

  it("parallel attempts with one key make one document, every answer 201 with it", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => env.sk("POST", "/api/data/notes", { text: "burst" }, keyed())),
    );
    expect(new Set(answers.map((res) => res.status))).toEqual(new Set([201]));
    expect(new Set(answers.map((res) => res.json.data._id)).size).toBe(1);
    expect(answers.filter((res) => replayed(res) === null)).toHaveLength(1);
    expect(await total()).toBe(1);
  });
});

describe("Idempotency-Key on POST /:c/bulk", () => {
  it("a retry answers the batch the first attempt made; a retry of another size is 409 and inserts nothing", async () => {
    const batch = [{ text: "a" }, { text: "b" }];
    const first = await env.sk("POST", "/api/data/notes/bulk", batch, keyed());
    expect([first.status, first.json.data.insertedCount]).toEqual([201, 2]);
    const again = await env.sk("POST", "/api/data/notes/bulk", batch, keyed());
    expect([again.status, replayed(again), again.json.data]).toEqual([201, "true", first.json.data]);
    const bigger = await env.sk("POST", "/api/data/notes/bulk", [...batch, { text: "c" }], keyed());
    expect([bigger.status, bigger.json.code, bigger.json.details[0].path]).toEqual([
      409,
      "DUPLICATE_VALUE",
      "Idempotency-Key",
    ]);
    const smaller = await env.sk("POST", "/api/data/notes/bulk", batch.slice(0, 1), keyed());
    expect([smaller.status, smaller.json.details[0]]).toEqual([
      409,
      { path: "Idempotency-Key", message: "was used for a larger batch: send a new key" },
    ]);
    // One insert and a bulk insert under one key are two inserts.
    expect((await env.sk("POST", "/api/data/notes", { text: "one" }, keyed())).json.data.text).toBe("one");
    expect(await total()).toBe(3);
  });

  it("a retry after one of the batch was deleted is 409 saying so; a keyed batch lists in the order an unkeyed one does", async () => {
    const batch = Array.from({ length: 8 }, (_, n) => ({ text: String(n) }));
    const keyedBatch = await env.sk("POST", "/api/data/notes/bulk", batch, keyed());
    await env.sk("POST", "/api/data/notes/bulk", batch);
    const listed = (await env.sk("GET", "/api/data/notes?limit=100")).json.data.items.map(
      (doc: { text: string }) => doc.text,
    );
    const newestFirst = batch.map((doc) => doc.text).reverse();
    expect(listed).toEqual([...newestFirst, ...newestFirst]);
    await env.sk("DELETE", `/api/data/notes/${keyedBatch.json.data.items[3]._id}`);
    const again = await env.sk("POST", "/api/data/notes/bulk", batch, keyed());
    // Also what a retry meets while the batch is still going in (MongoDB inserts one at a time): retry shortly.
    expect([again.status, again.headers.get("retry-after"), again.json.details[0].message]).toEqual([
      409,
      "1",
      expect.stringMatching(/retry with the same key shortly.*deleted since/),
    ]);
  });
});

describe("Idempotency-Key: a retry the server would now refuse", () => {
  const alice = newUserId();
  const as = async (path: string, body: unknown, key = KEY) =>
    env.pk("POST", path, { body, token: await env.token(alice), headers: keyed(key) });

  it("replays the stored insert after a field became required, and refuses the body under a key never used", async () => {
    const first = await as("/api/data/notes", { text: "hi" });
    expect(first.status).toBe(201);
    const change = await env.sk("PATCH", "/api/schemas/notes", {
      fields: [{ name: "room", type: "string", required: true }],
    });
    expect(change.status).toBe(200);
    const retry = await as("/api/data/notes", { text: "hi" });
    expect([retry.status, replayed(retry), retry.json.data._id]).toEqual([201, "true", first.json.data._id]);
    const fresh = await as("/api/data/notes", { text: "hi" }, "another-key");
    expect([fresh.status, fresh.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(await total()).toBe(1);
  });

  it("replays the stored insert whatever the retry's body, valid or not", async () => {
    const first = await as("/api/data/notes", { text: "hi" });
    for (const body of [{ text: 5 }, [{ text: "hi" }], { userId: newUserId() }]) {
      const retry = await as("/api/data/notes", body);
      expect([JSON.stringify(body), retry.status, replayed(retry), retry.json.data?._id]).toEqual([
        JSON.stringify(body),
        201,
        "true",
        first.json.data._id,
      ]);
    }
    expect(await total()).toBe(1);
  });

  it("replays a stored batch after a field became readonly; a batch never stored is still refused", async () => {
    const batch = [{ text: "a" }, { text: "b" }];
    const first = await as("/api/data/notes/bulk", batch);
    expect(first.status).toBe(201);
    await env.sk("PATCH", "/api/schemas/notes", { fields: [{ name: "text", type: "string", readonly: true }] });
    const retry = await as("/api/data/notes/bulk", batch);
    expect([retry.status, replayed(retry), retry.json.data]).toEqual([201, "true", first.json.data]);
    // Other checks of the replay stand: a retry of another size is 409, a body not a batch is 400.
    const bigger = await as("/api/data/notes/bulk", [...batch, { text: "c" }]);
    expect([bigger.status, bigger.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    const notBatch = await as("/api/data/notes/bulk", { text: "a" });
    expect([notBatch.status, notBatch.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const fresh = await as("/api/data/notes/bulk", batch, "another-key");
    expect([fresh.status, fresh.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(await total()).toBe(2);
  });

  it("a keyed sk insert refused into a missing collection does not create it", async () => {
    const res = await env.sk("POST", "/api/data/fresh", [{ a: 1 }], keyed());
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect((await env.sk("GET", "/api/schemas/fresh")).status).toBe(404);
  });
});

describe("Idempotency-Key: the derived _ids tell nothing of who inserted", () => {
  /** The unkeyed formula the ids had: a hash anyone who knows the project id could recompute. */
  const plainId = (...scope: unknown[]) =>
    `${createHash("sha256").update(JSON.stringify(scope)).digest("hex").slice(0, 20)}0000`;

  it("a reader cannot test candidate creators against an _id where the owner list is private", async () => {
    const [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
    await env.defineCollection({
      name: "docs",
      fields: [
        { name: "title", type: "string" },
        { name: "members", type: "array", private: true, items: { type: "string" } },
      ],
      rls: { enabled: true, mode: "public-read", ownerField: "members" },
    });
    const key = "create-doc-1";
    const body = { title: "salary review", members: [alice, bob] };
    const made = await env.pk("POST", "/api/data/docs", { body, token: await env.token(alice), headers: keyed(key) });
    expect(made.status).toBe(201);
    const seen = await env.pk("GET", `/api/data/docs/${made.json.data._id}`, { token: await env.token(carol) });
    expect([seen.status, seen.json.data.members, seen.json.data.createdBy]).toEqual([200, undefined, undefined]);
    const id = seen.json.data._id;
    expect(id).toMatch(/^[0-9a-f]{20}0000$/);
    const creator = [alice, bob, carol].find(
      (user) => plainId(env.project.id, "docs", "publishable", user, "one", key) === id,
    );
    expect(creator).toBeUndefined();
  });

  it("a guest document's _id does not confirm a guess of its private field", async () => {
    await env.defineCollection({
      name: "wall",
      fields: [
        { name: "text", type: "string" },
        { name: "email", type: "email", private: true },
      ],
      permissions: { create: "guest", read: "guest", list: "guest" },
    });
    const key = "post-1";
    const made = await env.pk("POST", "/api/data/wall", {
      body: { text: "great app", email: "ceo@example.com" },
      headers: keyed(key),
    });
    expect(made.status).toBe(201);
    const guess = ["someone@example.com", "ceo@example.com"].find((email) => {
      const who = createHash("sha256")
        .update(canonical({ email, text: "great app" }))
        .digest("hex");
      return plainId(env.project.id, "wall", "publishable", who, "one", key) === made.json.data._id;
    });
    expect(guess).toBeUndefined();
  });

  it("a retry after the project's token secret was renewed still replays", async () => {
    const first = await env.sk("POST", "/api/data/notes", { text: "a" }, keyed());
    expect(await env.deps.projects.rotateTokenSecret(env.project.id)).toBe(true);
    const again = await env.sk("POST", "/api/data/notes", { text: "a" }, keyed());
    expect([again.status, replayed(again), again.json.data._id]).toEqual([201, "true", first.json.data._id]);
  });
});
