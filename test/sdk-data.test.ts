/**
 * urBackend's own JS SDK (`@urbackend/sdk`, a client nobody here wrote), unchanged, pointed with
 * `baseUrl` at the local app served over real HTTP: its `db` and `schema` modules against the
 * data function, with the secret key and with a publishable key plus end-user tokens.
 */
import urBackend, { AuthError, NotFoundError, UrBackendError, ValidationError } from "@urbackend/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../shared/deps.js";
import { createTestProject, newUserId, type TestProject, userToken } from "./data-helpers.js";
import { testDeps } from "./helpers.js";
import { serveLocalApp } from "./serve.js";

let deps: Deps;
let project: TestProject;
let baseUrl: string;
let server: Awaited<ReturnType<typeof serveLocalApp>>;

type Post = { _id: string; title: string; status?: string; views?: number; userId?: string; createdBy?: string };

beforeAll(async () => {
  deps = await testDeps();
  project = await createTestProject(deps, "sdk");
  server = await serveLocalApp(deps);
  baseUrl = server.baseUrl;
  // Definitions are made with plain HTTP: the SDK has no schema writer.
  const define = async (def: Record<string, unknown>) => {
    const res = await fetch(`${baseUrl}/api/schemas`, {
      method: "POST",
      headers: { "x-api-key": project.sk, "content-type": "application/json" },
      body: JSON.stringify(def),
    });
    expect(res.status).toBe(201);
  };
  await define({
    name: "posts",
    fields: [
      { name: "title", type: "string", required: true },
      { name: "status", type: "string", enum: ["draft", "active"] },
      { name: "views", type: "number", default: 0 },
      { name: "slug", type: "string", unique: true },
      { name: "internal", type: "string", private: true },
    ],
  });
  await define({
    name: "notes",
    fields: [
      { name: "text", type: "string" },
      { name: "userId", type: "string" },
    ],
    rls: { enabled: true, mode: "private" },
  });
  await define({
    name: "orders",
    fields: [
      { name: "item", type: "string" },
      { name: "note", type: "string" },
      { name: "status", type: "string", default: "pending", readonly: true },
      { name: "userId", type: "string" },
    ],
    rls: { enabled: true, mode: "private" },
  });
});
afterAll(async () => {
  await server.close();
  await deps.store.close();
});

describe("db and schema with the secret key", () => {
  const client = () => urBackend({ apiKey: project.sk, baseUrl });

  it("insert, getOne, getAll, count, update, patch, delete (populate/expand: test/data-populate.test.ts)", async () => {
    const { db } = client();
    const created = await db.insert<Post>("posts", { title: "Hello", status: "active", slug: "hello" });
    expect(created).toMatchObject({ title: "Hello", status: "active", views: 0 });
    expect(created._id).toMatch(/^[0-9a-f]{24}$/);
    await db.insert("posts", { title: "Draft", status: "draft", slug: "draft" });

    const one = await db.getOne<Post>("posts", created._id);
    expect(one).toMatchObject({ _id: created._id, title: "Hello" });
    // populate names ref fields only: "author" is none here.
    await expect(db.getOne("posts", created._id, { populate: ["author"] })).rejects.toBeInstanceOf(ValidationError);

    const active = await db.getAll<Post>("posts", { filter: { status: "active" }, limit: 10, sort: "-createdAt" });
    expect(active.map((p) => p.title)).toEqual(["Hello"]);
    const all = await db.getAll<Post>("posts", { page: 1, limit: 1, sort: "title" });
    expect(all.map((p) => p.title)).toEqual(["Draft"]);
    expect(await db.count("posts")).toBe(2);
    expect(await db.count("posts", { filter: { status: "draft" } })).toBe(1);
    // An operator object in the SDK's filter reaches the server as "[object Object]": a 400 that says what to send.
    const operator = await db.getAll("posts", { filter: { views: { $gt: 3 } } }).catch((e: unknown) => e);
    expect(operator).toBeInstanceOf(ValidationError);
    expect((operator as Error).message).toBe(
      'Invalid query parameter "views": got "[object Object]", an object turned into text: use an operator suffix (price_gt=3) or filter={"price":{"$gt":3}} (JSON)',
    );

    const replaced = await db.update<Post>("posts", created._id, { title: "Hello again", slug: "hello" });
    expect(replaced).toMatchObject({ _id: created._id, title: "Hello again", views: 0 });
    expect(replaced.status).toBeUndefined();
    const patched = await db.patch<Post>("posts", created._id, { views: 5 });
    expect(patched).toMatchObject({ title: "Hello again", views: 5 });

    expect(await db.delete("posts", created._id)).toEqual({ deleted: true });
    await expect(db.getOne("posts", created._id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await db.count("posts")).toBe(1);
  });

  it("sees private fields, and gets an empty list (not an error) for a missing collection", async () => {
    const { db } = client();
    const doc = await db.insert<Post & { internal: string }>("posts", { title: "P", slug: "p", internal: "x" });
    expect(doc.internal).toBe("x");
    expect(await db.getAll("nothing-here")).toEqual([]);
  });

  it("reports the server's errors through its own error classes", async () => {
    const { db } = client();
    const invalid = await db.insert("posts", { status: "gone" }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    // The message names the first problem: the SDK keeps only the message.
    expect((invalid as ValidationError).message).toBe("Validation failed: title: Required (and 1 more)");
    await db.insert("posts", { title: "u", slug: "unique" });
    const duplicate = await db.insert("posts", { title: "u", slug: "unique" }).catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(UrBackendError);
    expect((duplicate as UrBackendError).statusCode).toBe(409);
    const blocked = await db.getAll("users").catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(AuthError);
    expect((blocked as AuthError).statusCode).toBe(403);
    await expect(db.patch("posts", "not-an-id", { title: "x" })).rejects.toBeInstanceOf(ValidationError);
  });

  it("schema.getSchema reads the definition, as the SDK types it (model) and as Edgeback answers it (fields)", async () => {
    const { schema } = client();
    const def = await schema.getSchema("posts");
    expect(def.name).toBe("posts");
    expect(def.model.map((f) => [f.key, f.type])).toEqual([
      ["title", "String"],
      ["status", "String"],
      ["views", "Number"],
      ["slug", "String"],
      ["internal", "String"],
    ]);
    const fields = (def as unknown as { fields: Array<{ name: string }> }).fields;
    expect(fields.map((f) => f.name)).toEqual(["title", "status", "views", "slug", "internal"]);
    await expect(schema.getSchema("missing")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("db with a publishable key and end-user tokens", () => {
  it("owner rules hold: owner injected, own documents only, others' documents out of reach", async () => {
    const alice = newUserId();
    const bob = newUserId();
    const aliceToken = await userToken(deps, project, alice);
    const bobToken = await userToken(deps, project, bob);
    const { db } = urBackend({ apiKey: project.pk, baseUrl });

    const mine = await db.insert<{ _id: string; text: string; userId: string }>("notes", { text: "a" }, aliceToken);
    expect(mine).toMatchObject({ text: "a", userId: alice, createdBy: alice });
    await db.insert("notes", { text: "b" }, bobToken);

    const aliceNotes = await db.getAll<{ _id: string; text: string }>("notes", {}, aliceToken);
    expect(aliceNotes.map((n) => n.text)).toEqual(["a"]);
    expect(await db.count("notes", {}, aliceToken)).toBe(1);
    expect(await db.getOne("notes", mine._id, {}, aliceToken)).toMatchObject({ _id: mine._id });
    await expect(db.getOne("notes", mine._id, {}, bobToken)).rejects.toBeInstanceOf(NotFoundError);
    expect(await db.patch("notes", mine._id, { text: "a2" }, aliceToken)).toMatchObject({ text: "a2" });

    const mismatch = await db.insert("notes", { text: "c", userId: bob }, aliceToken).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(AuthError);
    expect((mismatch as AuthError).message).toBe("RLS owner mismatch");
    const immutable = await db
      .update("notes", mine._id, { text: "x", userId: bob }, aliceToken)
      .catch((e: unknown) => e);
    expect((immutable as AuthError).message).toBe("Owner field immutable");

    // Without a token: 401 (the SDK tries a refresh, finds none, and reports the original error).
    const anonymous = await db.insert("notes", { text: "d" }).catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(AuthError);
    expect((anonymous as AuthError).statusCode).toBe(401);
    expect((anonymous as AuthError).message).toBe("Authentication required");

    // The SDK also carries a session token set on its auth module.
    const client = urBackend({ apiKey: project.pk, baseUrl });
    client.auth.setToken(bobToken);
    expect((await client.db.getAll<{ _id: string; text: string }>("notes")).map((n) => n.text)).toEqual(["b"]);
    expect(await client.db.delete("notes", mine._id).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    expect(await db.delete("notes", mine._id, aliceToken)).toEqual({ deleted: true });
  });

  it("update with the whole document as read passes a readonly field it carries unchanged", async () => {
    type Order = { _id: string; item: string; note?: string; status: string };
    const token = await userToken(deps, project, newUserId());
    const { db } = urBackend({ apiKey: project.pk, baseUrl });
    const order = await db.insert<Order>("orders", { item: "bike" }, token);
    const read = await db.getOne<Order>("orders", order._id, {}, token);
    const updated = await db.update<Order>("orders", order._id, { ...read, note: "x" }, token);
    expect(updated).toMatchObject({ item: "bike", note: "x", status: "pending" });
    const changed = await db.update("orders", order._id, { ...read, status: "paid" }, token).catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(ValidationError);
  });

  it("a publishable key cannot write definitions or data of a secret-only collection", async () => {
    const { db, schema } = urBackend({ apiKey: project.pk, baseUrl });
    const write = await db.insert("posts", { title: "x" }).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(AuthError);
    expect((write as AuthError).message).toBe("Write blocked for publishable key");
    const def = (await schema.getSchema("posts")) as unknown as { fields: Array<{ name: string }> };
    expect(def.fields.map((f) => f.name)).not.toContain("internal");
  });
});
