/**
 * The storage byte counter when giving bytes back fails: a release never becomes the answer, a
 * dropped counter is counted afresh from the file records, and a recount racing with uploads and
 * deletes under way counts too much at worst, never too little (shared/storage/quota.ts).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { fileRecords } from "../shared/storage/files.js";
import type { BlobStore } from "../shared/storage/types.js";
import { StoreUnavailableError } from "../shared/store/types.js";
import { ADMIN_TOKEN, aroundPlatform, deferred } from "./helpers.js";
import { envelope, isStorageRelease, type StorageEnv, storageEnv } from "./storage-helpers.js";

const QUOTA = 10;

/** A blob store whose writes of `*-slow.txt` start (`writing`) and then wait for `written`. */
function slowWrites() {
  const written = deferred();
  const writing = deferred();
  const holdSlow = (blobs: BlobStore): BlobStore => ({
    ...blobs,
    put: async (key, bytes, type) => {
      if (key.endsWith("-slow.txt")) {
        writing.resolve();
        await written.promise;
      }
      return blobs.put(key, bytes, type);
    },
  });
  return { written, writing, holdSlow };
}

const refused = () => Promise.reject(new StoreUnavailableError("platform store hiccup"));

describe("storage quota when a release fails", () => {
  let env: StorageEnv;
  afterEach(async () => {
    vi.restoreAllMocks();
    await env.close();
  });
  const stored = async () =>
    (await fileRecords(env.deps).find({ projectId: env.p.id })).reduce((n, file) => n + (file.size as number), 0);
  const path = async (res: Response) => {
    expect(res.status).toBe(201);
    return (await envelope(res)).data.path as string;
  };

  it("a DELETE whose release fails answers 200; the counter is dropped and counted afresh from the records", async () => {
    env = await storageEnv("memory", { quotaBytes: QUOTA });
    const kept = await path(await env.upload(env.sk, "12345"));
    const gone = await path(await env.upload(env.sk, "hello"));
    aroundPlatform(env.deps, (call, run) => (isStorageRelease(call) ? refused() : run()));
    const res = await env.del(env.sk, gone);
    expect([res.status, (await envelope(res)).data]).toEqual([200, { path: gone, deleted: true }]);
    expect((await env.del(env.sk, gone)).status).toBe(404);
    expect(env.deps.log.lines.map((line) => line.message)).toContain(
      "storage: release failed; the counter is counted afresh",
    );
    expect(await env.counter()).toBeUndefined();
    expect((await env.upload(env.sk, "world")).status).toBe(201);
    expect([await env.counter(), await stored()]).toEqual([10, 10]);
    expect((await env.read(env.sk, kept)).status).toBe(302);
  });

  it("an upload whose record and release both fail is 503, and the quota is whole once the store is back", async () => {
    env = await storageEnv("memory", { quotaBytes: QUOTA });
    let outage = true;
    aroundPlatform(env.deps, (call, run) =>
      outage && ((call.collection === "files" && call.method === "insertOne") || isStorageRelease(call))
        ? refused()
        : run(),
    );
    expect((await env.upload(env.sk, "0123456789")).status).toBe(503);
    outage = false;
    expect((await env.upload(env.sk, "0123456789")).status).toBe(201);
    expect([await env.counter(), await stored()]).toEqual([10, 10]);
  });

  it("a release refused with the counter's drop leaves it too high until settings.storage is set again", async () => {
    env = await storageEnv("memory", { quotaBytes: QUOTA });
    const gone = await path(await env.upload(env.sk, "hello"));
    let down = true;
    aroundPlatform(env.deps, (call, run) =>
      down && call.collection === "storage_usage" && call.method !== "findOne" ? refused() : run(),
    );
    expect((await env.del(env.sk, gone)).status).toBe(200);
    down = false;
    expect(await env.counter()).toBe(5); // refuses early, never late
    expect((await envelope(await env.upload(env.sk, "0123456789"))).code).toBe("QUOTA_EXCEEDED");
    const admin = createAdminApp(env.deps);
    const setAgain = await admin.request(`/api/admin/projects/${env.p.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ settings: { storage: { allowUserUploads: true, quotaBytes: QUOTA } } }),
    });
    expect(setAgain.status).toBe(200);
    expect((await env.upload(env.sk, "0123456789")).status).toBe(201);
    expect([await env.counter(), await stored()]).toEqual([10, 10]);
  });

  it("an upload under way while the counter is counted afresh: its bytes are counted once its record is written", async () => {
    const { written, writing, holdSlow } = slowWrites();
    env = await storageEnv("memory", { quotaBytes: QUOTA }, holdSlow);
    const gone = await path(await env.upload(env.sk, "hello"));
    const slow = env.upload(env.sk, "123", "slow.txt"); // reserves 3 bytes, then waits to write them
    await writing.promise;
    aroundPlatform(env.deps, (call, run) => (isStorageRelease(call) ? refused() : run()));
    expect((await env.del(env.sk, gone)).status).toBe(200); // the counter is dropped
    vi.restoreAllMocks();
    expect((await env.upload(env.sk, "4567")).status).toBe(201); // counted afresh: the slow upload has no record yet
    written.resolve();
    expect((await slow).status).toBe(201);
    // 7 bytes stored: 4 more would pass the quota.
    expect((await envelope(await env.upload(env.sk, "abcd"))).code).toBe("QUOTA_EXCEEDED");
    expect((await env.upload(env.sk, "abc")).status).toBe(201);
    expect([await env.counter(), await stored()]).toEqual([10, 10]);
  });

  it("a DELETE under way while the counter is counted afresh gives nothing back to the new count", async () => {
    env = await storageEnv("memory", { quotaBytes: QUOTA });
    const first = await path(await env.upload(env.sk, "hello"));
    const second = await path(await env.upload(env.sk, "world"));
    const releasing = deferred();
    const release = deferred();
    let refuse = false;
    aroundPlatform(env.deps, async (call, run) => {
      if (!isStorageRelease(call)) return run();
      if (refuse) return refused();
      releasing.resolve();
      await release.promise; // the first DELETE: its record is removed, its release not yet made
      return run();
    });
    const deleting = env.del(env.sk, first);
    await releasing.promise;
    refuse = true;
    expect((await env.del(env.sk, second)).status).toBe(200); // its release fails: the counter is dropped
    refuse = false;
    expect((await env.upload(env.sk, "12345")).status).toBe(201); // counted afresh: 0 recorded, then 5
    release.resolve();
    expect((await deleting).status).toBe(200);
    expect([await env.counter(), await stored()]).toEqual([5, 5]);
    expect((await env.upload(env.sk, "67890")).status).toBe(201);
    expect((await envelope(await env.upload(env.sk, "x"))).code).toBe("QUOTA_EXCEEDED");
  });
});

describe("storage counter drops and recounts (found by the review of the session's changes)", () => {
  let env: StorageEnv;
  afterEach(async () => {
    vi.restoreAllMocks();
    await env.close();
  });

  for (const quotaBytes of [undefined, 1_000_000]) {
    it(`an upload whose counter is dropped between its look and its reservation is stored, not 403 (quota ${quotaBytes})`, async () => {
      env = await storageEnv("memory", quotaBytes === undefined ? {} : { quotaBytes });
      expect((await env.upload(env.sk, "first")).status).toBe(201); // the counter exists
      let dropped = false;
      aroundPlatform(env.deps, async (call, run) => {
        const inc = (call.args[1] as { $inc?: { bytes?: number } } | undefined)?.$inc?.bytes ?? 0;
        if (!dropped && call.collection === "storage_usage" && call.method === "updateOne" && inc > 0) {
          dropped = true; // as a change of settings.storage, or a failed release elsewhere, does meanwhile
          await env.deps.store.platform().collection("storage_usage").deleteOne({ _id: env.p.id });
        }
        return run();
      });
      const res = await env.upload(env.sk, "second");
      expect([res.status, (await envelope(res)).code]).toEqual([201, undefined]);
      vi.restoreAllMocks();
      expect(await env.counter()).toBe("first".length + "second".length);
    });
  }

  it("an upload whose record is written while a recount reads the records, checking before it is stored, is counted", async () => {
    const { written, writing, holdSlow } = slowWrites();
    env = await storageEnv("memory", {}, holdSlow);
    expect((await env.upload(env.sk, "hello")).status).toBe(201);
    const slow = env.upload(env.sk, "123", "slow.txt"); // reserved, its bytes held back
    await writing.promise;
    await env.deps.store.platform().collection("storage_usage").deleteOne({ _id: env.p.id }); // dropped
    let held = false;
    aroundPlatform(env.deps, async (call, run) => {
      if (!held && call.collection === "storage_usage" && call.method === "insertOne") {
        held = true; // the recount read the records: the slow upload now writes its record and checks
        written.resolve();
        expect((await slow).status).toBe(201);
      }
      return run();
    });
    expect((await env.upload(env.sk, "4567")).status).toBe(201);
    vi.restoreAllMocks();
    expect(await env.counter()).toBe("hello".length + "123".length + "4567".length);
  });

  it("one counter drop under steady concurrent uploads costs one recount, and no upload is refused", async () => {
    env = await storageEnv("memory", {}, (blobs) => ({
      ...blobs,
      put: async (...args: Parameters<typeof blobs.put>) => {
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20)); // a networked bucket
        return blobs.put(...args);
      },
    }));
    expect((await env.upload(env.sk, "first")).status).toBe(201);
    let recounts = 0;
    aroundPlatform(env.deps, (call, run) => {
      if (call.collection === "storage_usage" && call.method === "insertOne") recounts++;
      return run();
    });
    // Four uploads in flight at a time, 60 in all; the counter is dropped once, early on.
    const statuses: number[] = [];
    let sent = 0;
    const lane = async () => {
      while (sent < 60) {
        sent++;
        if (sent === 6) await env.deps.store.platform().collection("storage_usage").deleteOne({ _id: env.p.id });
        statuses.push((await env.upload(env.sk, `file ${sent}`)).status);
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    expect({ refused: statuses.filter((status) => status !== 201).length, recounts }).toEqual({
      refused: 0,
      recounts: 1,
    });
  });
});
