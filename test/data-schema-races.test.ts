/**
 * Definition changes while data is written (found by the schema evolution review): indexes are
 * exactly what the stored definition wants, and a refused change leaves every unique field enforced.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type CallResult, type DataTestEnv, dataTestEnv } from "./data-helpers.js";
import { aroundCollections, deferred } from "./helpers.js";

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

const project = async () => (await env.deps.projects.resolveKey(env.project.sk))!.project;
const tenant = async () => env.deps.collections.database(await project());
const definition = async (name: string) => (await env.sk("GET", `/api/schemas/${name}`)).json.data.collection;
const slug = (rules: Record<string, unknown> = {}) => [{ name: "slug", type: "string", ...rules }];

describe("definition changes of one collection", () => {
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
