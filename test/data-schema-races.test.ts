/**
 * Definition changes while data is written (found by the schema evolution review): changes of one
 * collection run one at a time, a change lost to another instance is applied again on what that
 * one stored, indexes are exactly what the stored definition wants, a refused change leaves every
 * unique field enforced, and writes of the collection wait while its definition changes (then
 * answer by the new one, or 404 when it went).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { createDeps } from "../shared/deps.js";
import { documentBytes } from "../shared/quotas.js";
import { StoreUnavailableError } from "../shared/store/types.js";
import { type CallResult, call, type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { aroundCollections, deferred, memoryLogger, slowCollections, testConfig } from "./helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv({ settings: { quotas: { documentsBytes: 50_000 } } });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await env.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `request` at the first call of `method` on collection `name` (the registry's own calls
 * included, before or after that call) and lets the call go on once the request is answered, or
 * after 100 ms: a request the definition change under way holds back is answered after it.
 */
function during(
  name: string,
  method: string,
  request: () => Promise<CallResult>,
  when: "before" | "after" = "before",
): Promise<CallResult> {
  const answered = deferred<CallResult>();
  let fired = false;
  aroundCollections(env.deps, { [name]: [method] }, async (run) => {
    if (fired) return run();
    fired = true;
    const send = async () => {
      const sent = request();
      void sent.then(answered.resolve);
      await Promise.race([sent, sleep(100)]);
    };
    if (when === "before") await send();
    const result = await run();
    if (when === "after") await send();
    return result;
  });
  return answered.promise;
}

/** Another instance (its own caches, queues and fences) over the same store. */
async function otherInstance() {
  const deps = await createDeps(testConfig(), { store: env.deps.store, clock: env.clock, log: memoryLogger() });
  const app = createDataApp(deps);
  return (method: string, path: string, body?: unknown) => call(app, method, path, { key: env.project.sk, body });
}

const project = async () => (await env.deps.projects.resolveKey(env.project.sk))!.project;
const tenant = async () => env.deps.collections.database(await project());
const definition = async (name: string) => (await env.sk("GET", `/api/schemas/${name}`)).json.data.collection;
const slug = (rules: Record<string, unknown> = {}) => [{ name: "slug", type: "string", ...rules }];

describe("definition changes of one collection", () => {
  it("PATCHes sent together all land (none is lost)", async () => {
    await env.defineCollection({ name: "posts", fields: slug() });
    const answers = await Promise.all([
      env.sk("PATCH", "/api/schemas/posts", { permissions: { read: "user" } }),
      env.sk("PATCH", "/api/schemas/posts", { additionalFields: true }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await definition("posts")).toMatchObject({ permissions: { read: "user" }, additionalFields: true });
  });

  it("a PATCH overtaken by another instance's is merged again onto what that one stored", async () => {
    await env.defineCollection({ name: "posts", fields: slug() });
    const other = await otherInstance();
    // The other instance's change lands while this one syncs its indexes.
    const overtaking = during("posts", "listIndexes", () =>
      other("PATCH", "/api/schemas/posts", { permissions: { read: "user" } }),
    );
    const patched = await env.sk("PATCH", "/api/schemas/posts", { additionalFields: true });
    expect([(await overtaking).status, patched.status]).toEqual([200, 200]);
    expect(await definition("posts")).toMatchObject({ permissions: { read: "user" }, additionalFields: true });
  });

  it("PATCHes adding fields, sent together or overtaken by another instance's, all land (fields merge by name)", async () => {
    await env.defineCollection({ name: "posts", fields: slug({ index: true }) });
    const field = (name: string) => ({ fields: [{ name, type: "string" }] });
    const together = await Promise.all([
      env.sk("PATCH", "/api/schemas/posts", field("a")),
      env.sk("PATCH", "/api/schemas/posts", field("b")),
    ]);
    expect(together.map((a) => a.status)).toEqual([200, 200]);
    const other = await otherInstance();
    const overtaking = during("posts", "listIndexes", () => other("PATCH", "/api/schemas/posts", field("c")));
    const patched = await env.sk("PATCH", "/api/schemas/posts", field("d"));
    expect([(await overtaking).status, patched.status]).toEqual([200, 200]);
    const fields = (await definition("posts")).fields.map((f: { name: string }) => f.name);
    expect(fields.slice(0, 3)).toEqual(["slug", "a", "b"]);
    expect(fields.slice(3).sort()).toEqual(["c", "d"]);
    expect((await definition("posts")).fields[0].index).toBe(true);
  });

  it("overtaken again and again, it is 412 PRECONDITION_FAILED, with the indexes of what is stored", async () => {
    await env.defineCollection({ name: "posts", fields: slug() });
    const definitions = (await tenant()).collection("_collections");
    aroundCollections(env.deps, { posts: ["listIndexes"] }, async (run) => {
      await definitions.updateOne({ name: "posts" }, { $inc: { version: 1 } }); // another instance's change
      return run();
    });
    const put = await env.sk("PUT", "/api/schemas/posts", { fields: slug({ unique: true }) });
    vi.restoreAllMocks();
    expect([put.status, put.json.code]).toEqual([412, "PRECONDITION_FAILED"]);
    expect((await definition("posts")).fields[0].unique).toBeUndefined();
    expect(await (await tenant()).collection("posts").listIndexes()).toEqual([
      { fields: ["createdAt"], unique: false },
    ]);
  });

  it("a PUT dropping unique sent while a PATCH of the rules syncs its indexes: the index follows the stored definition", async () => {
    await env.defineCollection({ name: "posts", fields: slug({ unique: true }) });
    const put = during("posts", "listIndexes", () => env.sk("PUT", "/api/schemas/posts", { fields: slug() }), "after");
    const patch = await env.sk("PATCH", "/api/schemas/posts", { permissions: { read: "guest" } });
    expect([patch.status, (await put).status]).toEqual([200, 200]);
    const unique = (await definition("posts")).fields[0].unique === true;
    expect((await env.sk("POST", "/api/data/posts", { slug: "x" })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/posts", { slug: "x" })).status).toBe(unique ? 409 : 201);
  });

  it("a read whose answer arrives after a create caches no 'missing': the next request here finds the collection", async () => {
    expect((await env.sk("GET", "/api/schemas/other")).status).toBe(404); // the definitions' index is made
    let late = true;
    aroundCollections(env.deps, { _collections: ["findOne"] }, async (run) => {
      const result = await run(); // read before the collection exists...
      if (late) {
        late = false;
        await sleep(150); // ...answered after the create, as over a network
      }
      return result;
    });
    const early = env.sk("GET", "/api/data/posts");
    await sleep(20);
    expect((await env.sk("POST", "/api/schemas", { name: "posts", fields: slug() })).status).toBe(201);
    expect((await early).status).toBe(404);
    vi.restoreAllMocks();
    expect((await env.sk("GET", "/api/data/posts")).status).toBe(200);
    expect((await env.sk("GET", "/api/schemas/posts")).status).toBe(200);
  });

  it("a create taken back (its index build failed) leaves nothing cached of it, even what a read found meanwhile", async () => {
    const project = await env.deps.projects.resolveProject(env.project.id);
    if (!project) throw new Error("no project");
    const proto = Object.getPrototypeOf(env.deps.collections.database(project).collection("posts"));
    const createIndex = proto.createIndex;
    const building = deferred();
    const release = deferred();
    vi.spyOn(proto, "createIndex").mockImplementation(async function (this: unknown, ...args: unknown[]) {
      if (String(args[0]) !== "slug") return createIndex.apply(this, args);
      building.resolve();
      await release.promise;
      throw new StoreUnavailableError("index build failed");
    });
    const create = env.sk("POST", "/api/schemas", { name: "posts", fields: slug({ unique: true }) });
    await building.promise; // stored, its indexes being built
    expect((await env.sk("GET", "/api/data/posts")).status).toBe(200); // found, and cached
    release.resolve();
    expect((await create).status).toBe(503);
    vi.restoreAllMocks();
    expect((await env.sk("GET", "/api/data/posts")).status).toBe(404);
    expect((await env.sk("GET", "/api/schemas/posts")).status).toBe(404);
  });

  it("first definitions of users sent together both land", async () => {
    const answers = await Promise.all([
      env.sk("PATCH", "/api/schemas/users", { fields: [{ name: "bio", type: "string" }], additionalFields: true }),
      env.sk("PATCH", "/api/schemas/users", { permissions: { read: "owner" } }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await definition("users")).toMatchObject({ additionalFields: true, permissions: { read: "owner" } });
  });

  it("an index no definition wants (a change that crashed before storing its definition) goes at the next change", async () => {
    await env.defineCollection({ name: "posts", fields: slug() });
    await (await tenant()).collection("posts").createIndex(["slug"], { unique: true });
    expect((await env.sk("PATCH", "/api/schemas/posts", { additionalFields: true })).status).toBe(200);
    expect((await env.sk("POST", "/api/data/posts", { slug: "x" })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/posts", { slug: "x" })).status).toBe(201);
  });

  it("a DELETE sent while a PUT adding unique syncs its indexes: a collection made again has only its own", async () => {
    await env.defineCollection({ name: "p", fields: slug() });
    const deleted = during("p", "listIndexes", () => env.sk("DELETE", "/api/schemas/p"));
    const put = await env.sk("PUT", "/api/schemas/p", { fields: slug({ unique: true }) });
    expect([200, 404]).toContain(put.status);
    expect((await deleted).status).toBe(200);
    expect((await env.sk("POST", "/api/schemas", { name: "p", fields: slug() })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/p", { slug: "x" })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/p", { slug: "x" })).status).toBe(201);
  });

  it("a refused unique change (409) leaves every unique field enforced, writes sent meanwhile included", async () => {
    const fields = (a: boolean, b: boolean) => [
      { name: "a", type: "string", unique: a },
      { name: "b", type: "string", unique: b },
    ];
    await env.defineCollection({ name: "p", fields: fields(true, false) });
    await env.sk("POST", "/api/data/p", { a: "1", b: "dup" });
    await env.sk("POST", "/api/data/p", { a: "2", b: "dup" });
    const meanwhile = during("p", "count", () => env.sk("POST", "/api/data/p", { a: "1" }));
    const put = await env.sk("PUT", "/api/schemas/p", { fields: fields(false, true) });
    expect([put.status, put.json.code]).toEqual([409, "DUPLICATE_VALUE"]);
    expect((await definition("p")).fields[0]).toMatchObject({ name: "a", unique: true });
    expect((await meanwhile).status).toBe(409);
    expect((await env.sk("POST", "/api/data/p", { a: "2" })).status).toBe(409);
  });

  it("an index rollback that fails is logged and answered as an error, never taken for the change's own answer", async () => {
    await env.defineCollection({ name: "p", fields: [{ name: "a", type: "string" }, ...slug()] });
    await env.sk("POST", "/api/data/p", { slug: "dup" });
    await env.sk("POST", "/api/data/p", { slug: "dup" });
    aroundCollections(env.deps, { p: ["dropIndex"] }, async () => {
      throw new Error("store failed");
    });
    const put = await env.sk("PUT", "/api/schemas/p", {
      fields: [{ name: "a", type: "string", unique: true }, ...slug({ unique: true })],
    });
    vi.restoreAllMocks();
    expect(put.status).toBe(500);
    expect(env.deps.log.lines.some((line) => line.level === "error" && /roll/.test(line.message))).toBe(true);
    // The next change brings the indexes in line with what is stored.
    expect((await env.sk("PATCH", "/api/schemas/p", { additionalFields: true })).status).toBe(200);
    expect((await env.sk("POST", "/api/data/p", { a: "x" })).status).toBe(201);
    expect((await env.sk("POST", "/api/data/p", { a: "x" })).status).toBe(201);
  });
});

describe("writes while a definition changes", () => {
  /** The JSON size of every document the project stores, as the quota counts it. */
  async function storedBytes(): Promise<number> {
    const db = await tenant();
    let total = 0;
    for (const name of await db.listCollections()) {
      if (name.startsWith("_") || name === "users") continue;
      for (const doc of await db.collection(name).find({})) total += documentBytes(doc);
    }
    return total;
  }
  const counted = async () =>
    (await env.deps.store.platform().collection("quota_usage").findOne({ _id: env.project.id }))?.documentsBytes;

  it("inserts under way when the collection is deleted land before it goes or answer 404, never in its successor", async () => {
    await env.defineCollection({ name: "posts", fields: slug() });
    const gate = deferred();
    aroundCollections(env.deps, { posts: ["insertOne"] }, async (run) => {
      await gate.promise;
      return run();
    });
    const first = env.sk("POST", "/api/data/posts", { slug: "under way" });
    await sleep(20);
    const deleted = env.sk("DELETE", "/api/schemas/posts");
    await sleep(20);
    const later = env.sk("POST", "/api/data/posts", { slug: "sent during the delete" });
    await sleep(20);
    gate.resolve();
    expect((await deleted).status).toBe(200);
    expect((await first).status).toBe(201);
    expect([(await later).status, (await later).json.code]).toEqual([404, "COLLECTION_NOT_FOUND"]);
    vi.restoreAllMocks();
    await env.defineCollection({ name: "posts", fields: slug() });
    expect((await env.sk("GET", "/api/data/posts")).json.data.items).toEqual([]);
    await env.sk("POST", "/api/data/posts", { slug: "new" });
    expect(await counted()).toBe(await storedBytes());
  });

  it("deleting a collection gives back its bytes alone: writes to others under way anywhere stay counted", async () => {
    await env.sk("POST", "/api/data/a", { x: "1" });
    await env.sk("POST", "/api/data/b", { x: "1" });
    const other = await otherInstance(); // a write there is not held back by this instance's changes
    slowCollections(env.deps, { b: ["insertOne"] }, 50);
    const [inserted] = await Promise.all([
      other("POST", "/api/data/b", { x: "y".repeat(1000) }),
      (async () => {
        await sleep(10);
        expect((await env.sk("DELETE", "/api/schemas/a")).status).toBe(200);
        expect((await env.sk("POST", "/api/data/c", { x: "1" })).status).toBe(201);
      })(),
    ]);
    vi.restoreAllMocks();
    expect(inserted.status).toBe(201);
    expect(await counted()).toBe(await storedBytes());
  });

  it("a private value sent while its field is being retired is judged by the new definition, never published", async () => {
    const fields = [{ name: "s", type: "string" }];
    await env.defineCollection({
      name: "p",
      fields: [...fields, { name: "secret", type: "string", private: true }],
      permissions: { read: "guest", list: "guest" },
    });
    // Sent right after the check that no document holds a value for the retired field.
    const write = during("p", "count", () => env.sk("POST", "/api/data/p", { s: "late", secret: "hush" }), "after");
    const put = await env.sk("PUT", "/api/schemas/p", {
      fields: [...fields, { name: "secret", type: "number" }],
      permissions: { read: "guest", list: "guest" },
    });
    expect(put.status).toBe(200);
    expect([(await write).status, (await write).json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const { items } = (await env.pk("GET", "/api/data/p")).json.data;
    expect(items.filter((doc: Record<string, unknown>) => doc.secret !== undefined)).toEqual([]);
  });
});

describe("a deletion and what overlaps it (found by the review of the session's changes)", () => {
  it("an insert that looked its collection up during the deletion, body after it, does not land in the dropped collection", async () => {
    await env.defineCollection({ name: "posts", fields: [{ name: "slug", type: "string" }] });
    expect((await env.sk("POST", "/api/data/posts", { slug: "first" })).status).toBe(201); // definition cached
    const gate = deferred();
    aroundCollections(env.deps, { _collections: ["deleteOne"] }, async (run) => {
      await gate.promise;
      return run();
    });
    const deleted = env.sk("DELETE", "/api/schemas/posts");
    while (!env.deps.collections.fence.busy) await sleep(1);
    // Its target is resolved now (from the cache), during the deletion; its body comes after it.
    const text = JSON.stringify({ slug: "late" });
    let send!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        send = () => {
          controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        };
      },
    });
    const insert = env.app.request("/api/data/posts", {
      method: "POST",
      headers: {
        "x-api-key": env.project.sk,
        "content-type": "application/json",
        "content-length": String(text.length),
      },
      body,
      duplex: "half",
    } as RequestInit);
    await sleep(50);
    gate.resolve();
    expect((await deleted).status).toBe(200);
    send();
    const res = await insert;
    vi.restoreAllMocks();
    const left = await env.deps.store.tenant({ projectId: env.project.id }).collection("posts").count({});
    expect({ status: res.status, left }).toEqual({ status: 404, left: 0 });
  });

  it("a deletion whose measure fails leaves the collection whole, and a retry deletes it: no old document comes back", async () => {
    await env.defineCollection({ name: "posts", fields: [{ name: "slug", type: "string" }] });
    expect((await env.sk("POST", "/api/data/posts", { slug: "old" })).status).toBe(201);
    let failing = true;
    aroundCollections(env.deps, { posts: ["find"] }, async (run) => {
      if (failing) throw new StoreUnavailableError("store hiccup");
      return run();
    });
    expect((await env.sk("DELETE", "/api/schemas/posts")).status).toBe(503);
    failing = false;
    expect((await env.sk("GET", "/api/data/posts")).json.data.items).toHaveLength(1); // still whole
    expect((await env.sk("DELETE", "/api/schemas/posts")).status).toBe(200);
    await env.defineCollection({ name: "posts", fields: [{ name: "slug", type: "string" }] });
    expect((await env.sk("GET", "/api/data/posts")).json.data.items).toEqual([]);
  });
});
