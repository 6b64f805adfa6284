/**
 * Definition changes while data is written (found by the schema evolution review): changes of one
 * collection run one at a time, a change lost to another instance is applied again on what that
 * one stored, indexes are exactly what the stored definition wants, and a refused change leaves
 * every unique field enforced.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { createDeps } from "../shared/deps.js";
import { type CallResult, call, type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { aroundCollections, deferred, memoryLogger, testConfig } from "./helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
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
    expect(await (await tenant()).collection("posts").listIndexes()).toEqual([{ field: "createdAt", unique: false }]);
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
    await (await tenant()).collection("posts").createIndex("slug", { unique: true });
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
