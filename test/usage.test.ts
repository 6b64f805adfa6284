/** Usage analytics, request logs and quotas (API.md §8) through HTTP: data requests in, admin reads out. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { createStorageApp } from "../functions/storage/app.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";
import { MAX_COLLECTIONS } from "../shared/quotas.js";
import { memoryBlobStore } from "../shared/storage/memory.js";
import type { Collection, Doc } from "../shared/store/types.js";
import {
  createUsageRecorder,
  LOG_COLLECTION,
  LOG_RETENTION,
  MAX_LOGGED_PATH,
  USAGE_COLLECTION,
} from "../shared/usage/recorder.js";
import { ADMIN_TOKEN, fakeClock, memoryLogger, testConfig, testDeps } from "./helpers.js";
import { PNG } from "./png.js";

let clock: ReturnType<typeof fakeClock>;
let deps: Deps;
let app: ReturnType<typeof createLocalApp>;
let project: { id: string; pk: string; sk: string };

beforeEach(async () => {
  clock = fakeClock(Date.parse("2026-11-20T12:00:00Z"));
  deps = await testDeps({ clock });
  app = createLocalApp(deps);
  const created = await deps.projects.create({ name: "usage" });
  project = { id: created.project.id, pk: created.keys.publishable, sk: created.keys.secret };
});
afterEach(() => deps.store.close());

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await app.fetch(
    new Request(`http://x${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  // biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
  return { status: res.status, json: (await res.json()) as any };
}
const admin = (path: string) =>
  call("GET", `/api/admin/projects/${project.id}${path}`, { authorization: `Bearer ${ADMIN_TOKEN}` });
const sk = () => ({ "x-api-key": project.sk });
const pk = () => ({ "x-api-key": project.pk });

describe("usage counters", () => {
  it("counts requests by function and status class, and documents written, per day", async () => {
    await call("POST", "/api/data/notes", sk(), { text: "a" });
    await call("POST", "/api/data/notes/bulk", sk(), [{ text: "b" }, { text: "c" }]);
    await call("GET", "/api/data/notes", pk());
    await call("GET", "/api/data/missing", pk()); // 404
    await call("POST", "/api/data/notes", pk(), { text: "x" }); // 403
    await call("GET", "/api/data/notes"); // no key: not attributable, not counted
    clock.advance(86_400_000);
    await call("GET", "/api/data/notes", pk());

    const res = await admin("/usage?days=7");
    expect(res.status).toBe(200);
    expect(res.json.data.usage).toEqual([
      { day: "2026-11-20", requests: { data: { "2xx": 3, "4xx": 2 } }, documentsWritten: 3 },
      { day: "2026-11-21", requests: { data: { "2xx": 1 } } },
    ]);
    expect((await admin("/usage?days=1")).json.data.usage.map((d: { day: string }) => d.day)).toEqual(["2026-11-21"]);
  });

  it("days and logs are found by an index on projectId, not a scan of every project's", async () => {
    await call("GET", "/api/data/notes", pk());
    await deps.usage.flush();
    for (const name of [USAGE_COLLECTION, LOG_COLLECTION]) {
      const indexes = await deps.store.platform().collection(name).listIndexes();
      expect(indexes.map((index) => index.fields.join())).toContain("projectId");
    }
  });

  it("shows each quota's limit beside what it counts now", async () => {
    const quotas = async () => (await admin("/usage")).json.data.quotas;
    expect(await quotas()).toEqual({
      documentsBytes: { limit: null, used: null }, // measured only under a quota
      users: { limit: null, used: 0 },
      storageBytes: { limit: null, used: 0 },
      mailsPerMonth: { limit: 100, used: 0 },
      collections: { limit: MAX_COLLECTIONS, used: 0 }, // a limit even when none is set
    });
    await deps.projects.update(project.id, {
      settings: {
        quotas: { documentsBytes: 100_000, users: 5, mailsPerMonth: 10, collections: 3 },
        storage: { quotaBytes: 50_000 },
      },
    });
    const doc = await call("POST", "/api/data/notes", sk(), { text: "a" });
    const signup = await call("POST", "/api/userAuth/signup", pk(), {
      email: "ann@example.com",
      password: "pw-0123456789",
    });
    const mail = await call("POST", "/api/mail/send", sk(), { to: "ann@example.com", subject: "Hi", text: "Hello" });
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "a.png");
    const upload = await app.fetch(
      new Request("http://x/api/storage/upload", { method: "POST", headers: sk(), body: form }),
    );
    expect([doc.status, signup.status, mail.status, upload.status]).toEqual([201, 201, 200, 201]);
    const bytes = new TextEncoder().encode(JSON.stringify(doc.json.data)).length;
    expect(await quotas()).toEqual({
      documentsBytes: { limit: 100_000, used: bytes },
      users: { limit: 5, used: 1 },
      storageBytes: { limit: 50_000, used: PNG.length },
      mailsPerMonth: { limit: 10, used: 1 },
      collections: { limit: 3, used: 1 }, // notes, made by the insert; `users` is not counted
    });
  });

  it("counts key-less reads of a public project's files (plain <img> links) under storage", async () => {
    await deps.projects.update(project.id, { settings: { storage: { public: true } } });
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "a.png");
    const uploaded = await app.fetch(
      new Request("http://x/api/storage/upload", { method: "POST", headers: sk(), body: form }),
    );
    const { path } = (await uploaded.json()).data;
    const read = await app.fetch(new Request(`http://x/api/storage/file?path=${encodeURIComponent(path)}`));
    expect(read.status).toBe(200);
    // A miss is anyone's: not counted, or a stranger could fill the project's request log.
    const miss = await app.fetch(new Request(`http://x/api/storage/file?path=${project.id}/uploads/nothing.png`));
    expect(miss.status).toBe(404);
    expect((await admin("/usage")).json.data.usage[0].requests).toEqual({ storage: { "2xx": 2 } });
  });

  it("a deleted project's usage and logs go with it, those still buffered included", async () => {
    await call("POST", "/api/data/notes", sk(), { text: "a" });
    expect((await admin("/usage")).json.data.usage).toHaveLength(1); // written
    await call("GET", "/api/data/notes", pk()); // buffered
    const removed = await call("DELETE", `/api/admin/projects/${project.id}`, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(removed.status).toBe(200);
    await deps.usage.flush();
    const platform = deps.store.platform();
    expect(await platform.collection(USAGE_COLLECTION).count({ projectId: project.id })).toBe(0);
    expect(await platform.collection(LOG_COLLECTION).count({ projectId: project.id })).toBe(0);
  });

  it("refuses bad queries and unknown projects", async () => {
    expect((await admin("/usage?days=0")).json.code).toBe("INVALID_QUERY");
    expect((await admin("/logs?limit=5000")).json.code).toBe("INVALID_QUERY");
    for (const days of ["1e2", "0x10", "%205", "2.5", "-3", ""]) {
      const res = await admin(`/usage?days=${days}`);
      expect([days, res.status, res.json.details]).toEqual([
        days,
        400,
        [{ path: "days", message: "must be a whole number from 1 to 366" }],
      ]);
    }
    expect((await admin("/usage?days=366")).status).toBe(200);
    const missing = await call("GET", `/api/admin/projects/${"0".repeat(24)}/usage`, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(missing.json.code).toBe("PROJECT_NOT_FOUND");
    expect((await call("GET", `/api/admin/projects/${project.id}/logs`)).status).toBe(401);
  });
});

describe("functions deployed on their own", () => {
  it("what an instance recorded is written within the flush interval, with no later request to carry it", async () => {
    // The data function's instance, over the same platform store as the admin function's.
    const data = createDataApp(
      await createDeps(testConfig(), {
        store: deps.store,
        log: memoryLogger(),
        clock,
        usage: createUsageRecorder(deps.store, clock, memoryLogger(), { flushEveryMs: 50 }),
      }),
    );
    const insert = await data.request("/api/data/notes", {
      method: "POST",
      headers: { "x-api-key": project.sk, "content-type": "application/json" },
      body: JSON.stringify({ text: "a" }),
    });
    expect(insert.status).toBe(201);
    expect((await admin("/usage")).json.data.usage).toEqual([]); // still in the data instance's buffer
    await vi.waitFor(async () =>
      expect((await admin("/usage")).json.data.usage).toEqual([
        { day: "2026-11-20", requests: { data: { "2xx": 1 } }, documentsWritten: 1 },
      ]),
    );
  });

  it("what a key-less request counted (a signed upload's bytes) is written within the flush interval too", async () => {
    const blobs = memoryBlobStore();
    const storage = createStorageApp(
      await createDeps(testConfig(), {
        store: deps.store,
        log: memoryLogger(),
        clock,
        usage: createUsageRecorder(deps.store, clock, memoryLogger(), { flushEveryMs: 50 }),
      }),
      { blobs },
    );
    const presigned = await storage.request("/api/storage/upload-url", {
      method: "POST",
      headers: { "x-api-key": project.sk, "content-type": "application/json" },
      body: JSON.stringify({ filename: "note.txt", contentType: "text/plain", size: 5 }),
    });
    expect(presigned.status).toBe(200);
    const url = new URL(((await presigned.json()) as { data: { uploadUrl: string } }).data.uploadUrl);
    await vi.waitFor(async () => expect((await admin("/usage")).json.data.usage[0]?.requests).toBeDefined());
    // The signed PUT carries no key; it settles the file, counting its bytes on this instance.
    const put = await storage.request(`${url.pathname}${url.search}`, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expect(put.status).toBe(200);
    await vi.waitFor(async () => expect((await admin("/usage")).json.data.usage[0]?.storageBytes).toBe(5));
  });
});

describe("request logs", () => {
  it("are newest first by start time, also when a slow request ends after later ones and spans a flush", async () => {
    const t0 = clock.now();
    clock.advance(1000);
    // A: an insert whose body is still arriving, started at t0 + 1 s.
    let finish!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"text":'));
        finish = () => {
          controller.enqueue(new TextEncoder().encode('"slow"}'));
          controller.close();
        };
      },
    });
    const slow = app.fetch(
      new Request("http://x/api/data/notes", {
        method: "POST",
        headers: { "x-api-key": project.sk, "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit),
    );
    clock.advance(1000);
    expect((await call("GET", "/api/schemas", sk())).status).toBe(200); // t0 + 2 s
    expect((await admin("/logs")).json.data.logs).toHaveLength(1); // written: one bucket
    clock.advance(1000);
    expect((await call("GET", `/api/data/notes/${"a".repeat(24)}`, sk())).status).toBe(404); // t0 + 3 s
    finish();
    expect((await slow).status).toBe(201);

    const times = async (query: string) =>
      (await admin(`/logs${query}`)).json.data.logs.map((entry: { time: string }) => Date.parse(entry.time) - t0);
    expect(await times("")).toEqual([3000, 2000, 1000]);
    expect(await times("?limit=1")).toEqual([3000]);
    expect(await times("?limit=2")).toEqual([3000, 2000]);
  });

  it("count a publishable-key request refused for its origin: its key is the project's", async () => {
    await app.fetch(
      new Request(`http://x/api/admin/projects/${project.id}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ allowedOrigins: ["https://app.example.com"] }),
      }),
    );
    const refused = await call("GET", "/api/schemas", { ...pk(), origin: "https://evil.example.net" });
    expect([refused.status, refused.json.code]).toEqual([403, "ORIGIN_NOT_ALLOWED"]);
    expect((await call("GET", "/api/schemas", { ...pk(), origin: "https://app.example.com" })).status).toBe(200);
    expect((await admin("/usage")).json.data.usage[0].requests.data).toEqual({ "2xx": 1, "4xx": 1 });
    expect((await admin("/logs")).json.data.logs.map((entry: { status: number }) => entry.status)).toEqual([200, 403]);
  });

  it("keeps method, path (no query: it may carry a key), status, duration, key type and time, newest first", async () => {
    await call("GET", `/api/data/notes?key=${project.pk}&limit=5`);
    clock.advance(1000);
    await call("POST", "/api/data/notes", sk(), { text: "a" });
    const logs = (await admin("/logs?limit=10")).json.data.logs;
    expect(logs).toMatchObject([
      { method: "POST", path: "/api/data/notes", status: 201, keyType: "secret", function: "data" },
      { method: "GET", path: "/api/data/notes", status: 404, keyType: "publishable", function: "data" },
    ]);
    expect(JSON.stringify(logs)).not.toContain(project.pk);
    expect(typeof logs[0].durationMs).toBe("number");
    expect(Date.parse(logs[0].time)).toBeGreaterThan(Date.parse(logs[1].time));
    expect((await admin("/logs?limit=1")).json.data.logs).toHaveLength(1);
  });

  it("counts each request under the function that serves it: app mail under auth", async () => {
    await call("POST", "/api/mail/send", sk(), {}); // 400: refused, still counted
    await call("GET", "/api/userAuth/me", pk()); // 401
    await call("GET", "/api/storage/file?path=x", pk());
    const logs = (await admin("/logs?limit=10")).json.data.logs;
    expect(logs.map((l: { path: string; function: string }) => [l.path, l.function])).toEqual([
      ["/api/storage/file", "storage"],
      ["/api/userAuth/me", "auth"],
      ["/api/mail/send", "auth"],
    ]);
  });

  it("keeps a long path's first MAX_LOGGED_PATH characters, marked as cut", async () => {
    const long = `/api/data/notes/${"a".repeat(15_000)}`;
    expect((await call("GET", long, pk())).status).toBe(404);
    await deps.usage.flush();
    const [entry] = (await admin("/logs?limit=1")).json.data.logs;
    expect(entry.path).toBe(`${long.slice(0, MAX_LOGGED_PATH)}…`);
  });

  it("a log write that fails drops only that project's part of the batch", async () => {
    const other = await deps.projects.create({ name: "other" });
    const platform = deps.store.platform.bind(deps.store);
    // The log bucket insert of `project` is refused; everything else goes through.
    type Method = (...args: never[]) => unknown;
    const refuse = <T extends object>(target: T, name: string, wrap: (real: never) => unknown): T =>
      new Proxy(target, {
        get: (obj, key) => {
          const value: unknown = Reflect.get(obj, key);
          if (typeof value !== "function") return value;
          const bound = (value as Method).bind(obj);
          return key === name ? wrap(bound as never) : bound;
        },
      });
    vi.spyOn(deps.store, "platform").mockImplementation(() =>
      refuse(
        platform(),
        "collection",
        (collection: (name: string) => Collection) => (name: string) =>
          name !== LOG_COLLECTION
            ? collection(name)
            : refuse(collection(name), "insertOne", (insertOne: Collection["insertOne"]) => async (doc: Doc) => {
                if (doc.projectId === project.id) throw new Error("refused");
                return insertOne(doc);
              }),
      ),
    );
    await call("GET", "/api/data/notes", pk());
    await call("GET", "/api/data/notes", { "x-api-key": other.keys.publishable });
    await deps.usage.flush();
    vi.restoreAllMocks();
    expect((await admin("/logs?limit=10")).json.data.logs).toEqual([]);
    const theirs = await call("GET", `/api/admin/projects/${other.project.id}/logs?limit=10`, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(theirs.json.data.logs).toMatchObject([{ path: "/api/data/notes", status: 404 }]);
  });

  it("retention is bounded: at most the newest entries, at most a week old", async () => {
    for (let i = 0; i < LOG_RETENTION.entries + 20; i++) {
      deps.usage.request({
        projectId: project.id,
        time: clock.now() + i,
        method: "GET",
        path: `/api/data/n${i}`,
        status: 200,
        durationMs: 1,
        keyType: "publishable",
        function: "data",
      });
    }
    await deps.usage.flush();
    const kept = (await admin("/logs?limit=1000")).json.data.logs;
    expect(kept).toHaveLength(LOG_RETENTION.entries);
    expect(kept.at(-1).path).toBe("/api/data/n20"); // the 20 oldest are gone
    expect(kept[0].path).toBe(`/api/data/n${LOG_RETENTION.entries + 19}`);

    clock.advance((LOG_RETENTION.days + 1) * 86_400_000);
    // Read before the project writes again (which prunes): still none older than the week.
    expect((await admin("/logs?limit=1000")).json.data.logs).toEqual([]);
    await call("GET", "/api/data/notes", pk());
    await deps.usage.flush();
    expect((await admin("/logs?limit=1000")).json.data.logs.map((l: { path: string }) => l.path)).toEqual([
      "/api/data/notes",
    ]);
  });

  it("reads buckets written before the column layout (entries as objects) next to new ones", async () => {
    const entry = (path: string, time: string) => ({
      time,
      method: "GET",
      path,
      status: 200,
      durationMs: 1,
      keyType: "publishable",
      function: "data",
    });
    await deps.store
      .platform()
      .collection(LOG_COLLECTION)
      .insertOne({
        projectId: project.id,
        time: "2026-11-20T11:00:01.000Z",
        count: 2,
        entries: [
          entry("/api/data/old1", "2026-11-20T11:00:00.000Z"),
          entry("/api/data/old2", "2026-11-20T11:00:01.000Z"),
        ],
      });
    await call("GET", "/api/data/notes", pk());
    await deps.usage.flush();
    const logs = (await admin("/logs?limit=10")).json.data.logs;
    expect(logs.map((l: { path: string }) => l.path)).toEqual(["/api/data/notes", "/api/data/old2", "/api/data/old1"]);
    expect(logs[1]).toEqual(entry("/api/data/old2", "2026-11-20T11:00:01.000Z"));
  });
});

describe("quotas", () => {
  it("documentsBytes: inserts and bulks past the quota are 403 QUOTA_EXCEEDED; deletes give bytes back", async () => {
    await call("POST", "/api/data/notes", sk(), { text: "existing" }); // counted when the quota is first used
    await deps.projects.update(project.id, { settings: { quotas: { documentsBytes: 600 } } });
    const text = "x".repeat(100);
    const first = await call("POST", "/api/data/notes", sk(), { text });
    expect(first.status).toBe(201);
    expect((await call("POST", "/api/data/notes/bulk", sk(), [{ text }, { text }])).json.code).toBe("QUOTA_EXCEEDED");
    expect((await call("GET", "/api/data/notes?count=true", sk())).json.data.count).toBe(2);
    const second = await call("POST", "/api/data/notes", sk(), { text });
    expect(second.status).toBe(201);
    const refused = await call("POST", "/api/data/notes", sk(), { text });
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe("QUOTA_EXCEEDED");
    await call("DELETE", `/api/data/notes/${first.json.data._id}`, sk());
    expect((await call("POST", "/api/data/notes", sk(), { text })).status).toBe(201);
  });

  it("documentsBytes holds under parallel inserts: never more than the quota is reserved", async () => {
    await deps.projects.update(project.id, { settings: { quotas: { documentsBytes: 1000 } } });
    const results = await Promise.all(
      Array.from({ length: 30 }, () => call("POST", "/api/data/notes", sk(), { text: "y".repeat(100) })),
    );
    const created = results.filter((r) => r.status === 201).length;
    expect(created).toBeGreaterThan(0);
    expect(results.filter((r) => r.status !== 201).every((r) => r.json.code === "QUOTA_EXCEEDED")).toBe(true);
    const docs = await deps.collections
      .database((await deps.projects.resolveKey(project.sk))!.project)
      .collection("notes")
      .find({});
    expect(docs.reduce((n, d) => n + JSON.stringify(d).length, 0)).toBeLessThanOrEqual(1000);
  });

  it("quota and rate-limit settings are validated", async () => {
    for (const settings of [
      { quotas: { documentsBytes: -1 } },
      { quotas: { users: "many" } },
      { rateLimits: { pk: "lots" } },
    ]) {
      const res = await call(
        "PATCH",
        `/api/admin/projects/${project.id}`,
        { authorization: `Bearer ${ADMIN_TOKEN}` },
        { settings },
      );
      expect(res.status, JSON.stringify(settings)).toBe(400);
      expect(res.json.code).toBe("VALIDATION_FAILED");
    }
  });
});
