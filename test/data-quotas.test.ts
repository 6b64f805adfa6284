/**
 * The `documentsBytes` quota over HTTP (settings.quotas): PUT and PATCH reserve a document's growth
 * before writing and give back its shrinkage, so the counter always equals the JSON size of what the
 * project stores, under concurrent writes and failed writes too.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { documentBytes } from "../shared/quotas.js";
import type { Filter, Update } from "../shared/store/types.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { ADMIN_TOKEN, aroundPlatform } from "./helpers.js";

const QUOTA = 20_000;

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv({ settings: { quotas: { documentsBytes: QUOTA } } });
});
afterEach(() => env.close());

const project = async () => (await env.deps.projects.resolveKey(env.project.sk))!.project;

/** The JSON size of every document the project stores in `notes`, as the quota counts it. */
async function storedBytes(): Promise<number> {
  const docs = await env.deps.collections
    .database(await project())
    .collection("notes")
    .find({});
  return docs.reduce((n, doc) => n + documentBytes(doc), 0);
}

/** The project's counter of document bytes. */
async function counted(): Promise<number> {
  const counter = await env.deps.store.platform().collection("quota_usage").findOne({ _id: env.project.id });
  return counter?.documentsBytes as number;
}

async function insertTiny(): Promise<string> {
  const res = await env.sk("POST", "/api/data/notes", { text: "a" });
  expect(res.status).toBe(201);
  return res.json.data._id;
}

describe("documentsBytes: a counter dropped under a write", () => {
  it("an insert whose counter is dropped between its count and its reservation is stored, not 403", async () => {
    await insertTiny(); // the counter exists
    let dropped = false;
    aroundPlatform(env.deps, async (call, run) => {
      const inc = (call.args[1] as { $inc?: { documentsBytes?: number } } | undefined)?.$inc?.documentsBytes ?? 0;
      if (!dropped && call.collection === "quota_usage" && call.method === "updateOne" && inc > 0) {
        dropped = true; // as a failed release elsewhere does meanwhile
        await env.deps.store
          .platform()
          .collection("quota_usage")
          .updateOne({ _id: env.project.id }, { $unset: { documentsBytes: "" } });
      }
      return run();
    });
    const res = await env.sk("POST", "/api/data/notes", { text: "b" });
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    vi.restoreAllMocks();
    expect(await counted()).toBe(await storedBytes());
  });
});

describe("documentsBytes: PUT and PATCH", () => {
  it("a PATCH or PUT that would grow past the quota is 403 QUOTA_EXCEEDED and writes nothing", async () => {
    const id = await insertTiny();
    const before = (await env.sk("GET", `/api/data/notes/${id}`)).json.data;
    for (const method of ["PATCH", "PUT"]) {
      const res = await env.sk(method, `/api/data/notes/${id}`, { text: "x".repeat(30_000) });
      expect(res.status, method).toBe(403);
      expect(res.json.code).toBe("QUOTA_EXCEEDED");
    }
    expect((await env.sk("GET", `/api/data/notes/${id}`)).json.data).toEqual(before);
    expect(await counted()).toBe(await storedBytes());
  });

  it("tiny inserts patched to large documents cannot store more than the quota (the audit's bypass)", async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, insertTiny));
    const statuses: number[] = [];
    for (const id of ids) {
      statuses.push((await env.sk("PATCH", `/api/data/notes/${id}`, { text: "x".repeat(6_000) })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 403, 403]);
    expect(await storedBytes()).toBeLessThanOrEqual(QUOTA);
    expect(await counted()).toBe(await storedBytes());
  });

  it("a shrinking PATCH or PUT gives its bytes back", async () => {
    const id = await insertTiny();
    expect((await env.sk("PATCH", `/api/data/notes/${id}`, { text: "x".repeat(15_000) })).status).toBe(200);
    expect((await env.sk("POST", "/api/data/notes", { text: "y".repeat(10_000) })).json.code).toBe("QUOTA_EXCEEDED");
    expect((await env.sk("PATCH", `/api/data/notes/${id}`, { text: null, short: "s" })).status).toBe(200);
    expect(await counted()).toBe(await storedBytes());
    const other = await env.sk("POST", "/api/data/notes", { text: "y".repeat(10_000) });
    expect(other.status).toBe(201);
    expect((await env.sk("PUT", `/api/data/notes/${other.json.data._id}`, { text: "z" })).status).toBe(200);
    expect(await counted()).toBe(await storedBytes());
    expect((await env.sk("POST", "/api/data/notes", { text: "y".repeat(15_000) })).status).toBe(201);
    expect(await counted()).toBe(await storedBytes());
  });

  it("a write that fails (duplicate value on insert, bulk, PATCH and PUT; If-Match) gives its reservation back", async () => {
    await env.defineCollection({
      name: "notes",
      fields: [
        { name: "text", type: "string" },
        { name: "slug", type: "string", unique: true },
      ],
    });
    await env.sk("POST", "/api/data/notes", { slug: "taken" });
    const id = await insertTiny();
    const grow = { text: "x".repeat(5_000), slug: "taken" };
    // Refused inserts, three times over what the quota would hold if their reservations stayed.
    for (let i = 0; i < 3; i++) {
      const dup = await env.sk("POST", "/api/data/notes", grow);
      expect([dup.status, dup.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    }
    const bulk = await env.sk("POST", "/api/data/notes/bulk", [{ text: "x".repeat(5_000) }, grow]);
    expect([bulk.status, bulk.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    expect(await counted()).toBe(await storedBytes());
    expect((await env.sk("PATCH", `/api/data/notes/${id}`, grow)).json.code).toBe("DUPLICATE_VALUE");
    expect((await env.sk("PUT", `/api/data/notes/${id}`, grow)).json.code).toBe("DUPLICATE_VALUE");
    const stale = { "if-match": '"0-stale"' };
    expect((await env.sk("PATCH", `/api/data/notes/${id}`, { text: "x".repeat(5_000) }, stale)).status).toBe(412);
    expect(await counted()).toBe(await storedBytes());
    expect((await env.sk("PATCH", `/api/data/notes/${id}`, { text: "x".repeat(15_000) })).status).toBe(200);
  });

  it("concurrent PATCHes and PUTs of one document leave the counter equal to what is stored", async () => {
    const id = await insertTiny();
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        env.sk(i % 3 === 0 ? "PUT" : "PATCH", `/api/data/notes/${id}`, { [`f${i % 4}`]: "x".repeat(300 * (i + 1)) }),
      ),
    );
    expect(results.map((r) => r.status).every((s) => s === 200 || s === 403)).toBe(true);
    expect(await counted()).toBe(await storedBytes());
  });

  it("concurrent growth of many documents never passes the quota", async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, insertTiny));
    const results = await Promise.all(
      ids.map((id) => env.sk("PATCH", `/api/data/notes/${id}`, { text: "x".repeat(3_000) })),
    );
    expect(results.filter((r) => r.status === 200).length).toBe(6);
    expect(results.filter((r) => r.status !== 200).every((r) => r.json.code === "QUOTA_EXCEEDED")).toBe(true);
    expect(await storedBytes()).toBeLessThanOrEqual(QUOTA);
    expect(await counted()).toBe(await storedBytes());
  });

  it("a committed DELETE or shrinking write answers its own result when the counter cannot be updated; the counter is then recounted", async () => {
    const big = (await env.sk("POST", "/api/data/notes", { text: "x".repeat(5_000) })).json.data._id;
    const [gone, alsoGone] = [await insertTiny(), await insertTiny()];
    // The counter's collection (platform store) refuses its $inc updates, or every update, for a while.
    let refused: "none" | "$inc" | "all" = "$inc";
    const platform = env.deps.store.platform.bind(env.deps.store);
    env.deps.store.platform = () => {
      const db = platform();
      const collection = (name: string) => {
        const inner = db.collection(name);
        if (name !== "quota_usage") return inner;
        return new Proxy(inner, {
          get: (target, key) =>
            key !== "updateOne"
              ? Reflect.get(target, key).bind(target)
              : (filter: Filter, update: Update) =>
                  refused === "all" || (refused === "$inc" && update.$inc)
                    ? Promise.reject(new Error("platform store down"))
                    : target.updateOne(filter, update),
        });
      };
      return new Proxy(db, { get: (target, key) => (key === "collection" ? collection : Reflect.get(target, key)) });
    };
    const deleted = await env.sk("DELETE", `/api/data/notes/${gone}`);
    expect([deleted.status, deleted.json.data?.deleted]).toEqual([200, true]);
    const shrunk = await env.sk("PATCH", `/api/data/notes/${big}`, { text: "small" });
    expect([shrunk.status, shrunk.json.data?.text]).toEqual([200, "small"]);
    expect(env.deps.log.lines.filter((l) => l.message.startsWith("quota release failed"))).toHaveLength(2);
    refused = "none";
    // The counter was dropped: the next reservation counts what is stored, not what the releases left.
    expect((await env.sk("POST", "/api/data/notes", { text: "x".repeat(QUOTA - 1_000) })).status).toBe(201);
    expect(await counted()).toBe(await storedBytes());

    // Refused its drop too, the counter stays too high (never too low) until counted afresh.
    refused = "all";
    expect((await env.sk("DELETE", `/api/data/notes/${alsoGone}`)).status).toBe(200);
    refused = "none";
    expect(await counted()).toBeGreaterThan(await storedBytes());
    const admin = createAdminApp(env.deps);
    const quotasSetAgain = await admin.request(`/api/admin/projects/${env.project.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ settings: { quotas: { documentsBytes: QUOTA } } }),
    });
    expect(quotasSetAgain.status).toBe(200);
    await insertTiny();
    expect(await counted()).toBe(await storedBytes());
  });

  it("a dropped collection's bytes count no more, and a quota set again counts what is stored", async () => {
    await env.sk("POST", "/api/data/notes", { text: "x".repeat(15_000) });
    expect((await env.sk("POST", "/api/data/notes", { text: "x".repeat(6_000) })).json.code).toBe("QUOTA_EXCEEDED");
    expect((await env.sk("DELETE", "/api/schemas/notes")).status).toBe(200);
    expect((await env.sk("POST", "/api/data/notes", { text: "x".repeat(6_000) })).status).toBe(201);
    expect(await counted()).toBe(await storedBytes());

    // Off (the counter is not kept), writes, then on again: the counter starts from what is stored.
    const admin = createAdminApp(env.deps);
    const setQuota = (quotas: Record<string, unknown>) =>
      admin.request(`/api/admin/projects/${env.project.id}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ settings: { quotas } }),
      });
    expect((await setQuota({ documentsBytes: null })).status).toBe(200);
    await env.sk("POST", "/api/data/notes", { text: "x".repeat(10_000) });
    expect((await setQuota({ documentsBytes: QUOTA })).status).toBe(200);
    expect((await env.sk("POST", "/api/data/notes", { text: "x".repeat(6_000) })).json.code).toBe("QUOTA_EXCEEDED");
    expect(await counted()).toBe(await storedBytes());
  });
});
