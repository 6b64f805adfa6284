/**
 * The collections quota (settings.quotas.collections, MAX_COLLECTIONS unless the operator sets it):
 * a project makes at most that many collections (`users` aside), by POST /api/schemas or by an sk
 * insert into a collection nobody defined; past it, 403 QUOTA_EXCEEDED naming the limit and the
 * setting, with nothing made. Definitions store data (a field's `default`), so without the bound a
 * project stored any amount in them, past its documents quota (the sec7 review, finding 2).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { MAX_COLLECTIONS } from "../shared/quotas.js";
import { call, type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { ADMIN_TOKEN } from "./helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

/** Sets the project's settings.quotas through the admin API, as an operator does. */
async function setQuotas(quotas: Record<string, unknown>) {
  return call(createAdminApp(env.deps), "PATCH", `/api/admin/projects/${env.project.id}`, {
    key: null,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: { settings: { quotas } },
  });
}

const refused = (res: { status: number; json: { code?: string; message?: string } }) => [res.status, res.json.code];

describe("collections quota", () => {
  it("refuses a collection past the operator's limit, by POST and by an sk insert; users and existing ones still work", async () => {
    expect((await setQuotas({ collections: 3 })).status).toBe(200);
    for (const name of ["a", "b"]) await env.defineCollection({ name });
    expect((await env.sk("POST", "/api/data/c", { text: "implicit" })).status).toBe(201); // the third
    const post = await env.sk("POST", "/api/schemas", { name: "d" });
    expect(refused(post)).toEqual([403, "QUOTA_EXCEEDED"]);
    expect(post.json.message).toContain("3 collections");
    expect(post.json.message).toContain("settings.quotas.collections");
    expect(refused(await env.sk("POST", "/api/data/e", { text: "x" }))).toEqual([403, "QUOTA_EXCEEDED"]);
    expect(refused(await env.sk("POST", "/api/data/e/bulk", [{ text: "x" }]))).toEqual([403, "QUOTA_EXCEEDED"]);
    for (const name of ["d", "e"]) expect((await env.sk("GET", `/api/schemas/${name}`)).status).toBe(404);

    // At the limit: what is there is answered as before, and `users` (in every project) is not counted.
    expect(refused(await env.sk("POST", "/api/schemas", { name: "a" }))).toEqual([409, "COLLECTION_EXISTS"]);
    expect((await env.sk("POST", "/api/data/c", { text: "more" })).status).toBe(201);
    expect((await env.sk("PATCH", "/api/schemas/a", { fields: [{ name: "n", type: "number" }] })).status).toBe(200);
    const users = await env.sk("PUT", "/api/schemas/users", { fields: [{ name: "nick", type: "string" }] });
    expect(users.status, users.text).toBe(200);

    // A deleted collection makes room.
    expect((await env.sk("DELETE", "/api/schemas/b")).status).toBe(200);
    expect((await env.sk("POST", "/api/schemas", { name: "d" })).status).toBe(201);
    expect(refused(await env.sk("POST", "/api/schemas", { name: "f" }))).toEqual([403, "QUOTA_EXCEEDED"]);
  });

  it("is exact on one instance: a burst of creates, by POST and by implicit inserts, makes no more than the quota", async () => {
    expect((await setQuotas({ collections: 3 })).status).toBe(200);
    await env.defineCollection({ name: "a" });
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? env.sk("POST", "/api/schemas", { name: `p${i}` })
          : env.sk("POST", `/api/data/i${i}`, { text: "x" }),
      ),
    );
    expect(burst.filter((res) => res.status === 201)).toHaveLength(2);
    expect(burst.filter((res) => res.status !== 201).map(refused)).toEqual(Array(18).fill([403, "QUOTA_EXCEEDED"]));
    const names = (await env.sk("GET", "/api/schemas")).json.data.collections.map((c: { name: string }) => c.name);
    expect(names.filter((name: string) => name !== "users")).toHaveLength(3);
  });

  it("applies MAX_COLLECTIONS when the operator set no limit, and a limit set later replaces it", async () => {
    // The repro's payload: 60 KB a definition. 200 of them is bounded (12 MB), not unbounded as before.
    const blob = [{ name: "blob", type: "string", default: "y".repeat(60_000) }];
    for (let i = 0; i < MAX_COLLECTIONS; i++) {
      const res = await env.sk("POST", "/api/schemas", { name: `stash${i}`, ...(i < 3 ? { fields: blob } : {}) });
      expect(res.status, res.text).toBe(201);
    }
    const past = await env.sk("POST", "/api/schemas", { name: "onemore", fields: blob });
    expect(refused(past)).toEqual([403, "QUOTA_EXCEEDED"]);
    expect(past.json.message).toContain(`${MAX_COLLECTIONS} collections`);
    expect((await setQuotas({ collections: MAX_COLLECTIONS + 1 })).status).toBe(200);
    expect((await env.sk("POST", "/api/schemas", { name: "onemore" })).status).toBe(201);
  });

  it("the setting is checked: a positive whole number", async () => {
    for (const collections of [0, -1, 1.5, "10"]) {
      expect(refused(await setQuotas({ collections }))).toEqual([400, "VALIDATION_FAILED"]);
    }
  });
});
