/**
 * Deleting a project while its requests run on the same instance: the deletion waits for them (a
 * social sign-in's callback, which has no key, too), so that nothing they write outlives it; one that
 * never ends holds the deletion up for its lease only.
 */
import { afterEach, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { inFlightRequests } from "../shared/in-flight.js";
import {
  ADMIN_TOKEN,
  aroundCollections,
  aroundPlatform,
  deferred,
  fakeClock,
  memoryLogger,
  testDeps,
} from "./helpers.js";
import { fakeProviders, SOCIAL } from "./social-providers.js";
import { envelope, storageEnv } from "./storage-helpers.js";

let deps: Deps;
afterEach(async () => {
  vi.restoreAllMocks();
  await deps?.store.close();
});

/** The admin, auth and data apps over `deps`, and one JSON call to whichever serves the path. */
function appsOver(d: Deps) {
  const admin = createAdminApp(d);
  const auth = createAuthApp(d);
  const data = createDataApp(d);
  return async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const app = path.startsWith("/api/admin") ? admin : path.startsWith("/api/userAuth") ? auth : data;
    const res = await app.request(path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };
}

const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function newProject(call: ReturnType<typeof appsOver>, settings: Record<string, unknown> = {}) {
  const body = { name: "doomed", settings: { quotas: { users: 10, documentsBytes: 1_000_000 }, ...settings } };
  const res = await call("POST", "/api/admin/projects", asAdmin, body);
  expect(res.status).toBe(201);
  const { project, keys } = res.json.data;
  return { id: project.id as string, pk: { "x-api-key": keys.publishable }, sk: { "x-api-key": keys.secret } };
}

/** What the store still holds of a project: its tenant collections, and its platform rows by collection. */
async function leftOf(projectId: string) {
  await deps.usage.flush();
  const platform = deps.store.platform();
  const rows: Record<string, number> = {};
  for (const name of await platform.listCollections()) {
    const mine = (await platform.collection(name).find({})).filter((d) => JSON.stringify(d).includes(projectId));
    if (mine.length > 0) rows[name] = mine.length;
  }
  return { tenant: await deps.store.tenant({ projectId }).listCollections(), platform: rows };
}

/** Resolves once the deletion retired the project and dropped its keys (it then waits for its requests). */
function retiredSignal() {
  const retired = deferred();
  aroundPlatform(deps, async (call, run) => {
    const result = await run();
    if (call.collection === "keys" && call.method === "deleteMany") retired.resolve();
    return result;
  });
  return retired.promise;
}

/** Holds the named tenant collection's insertOne until `release` resolves; `reached` once it is held. */
function holdInsert(collection: string) {
  const reached = deferred();
  const release = deferred();
  aroundCollections(deps, { [collection]: ["insertOne"] }, async (run) => {
    reached.resolve();
    await release.promise;
    return run();
  });
  return { reached: reached.promise, release: release.resolve };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

it("a signup under way when its project is deleted leaves no account, usage, log or counter behind", async () => {
  deps = await testDeps({ clock: fakeClock(), env: { BCRYPT_COST: "4" } });
  const call = appsOver(deps);
  const p = await newProject(call);
  const held = holdInsert("users");
  const signup = call("POST", "/api/userAuth/signup", p.pk, {
    email: "victim@example.com",
    password: "correct horse battery",
  });
  await held.reached; // the account is about to be written
  const retired = retiredSignal();
  const deletion = call("DELETE", `/api/admin/projects/${p.id}`, asAdmin);
  await retired;
  await settle(); // the deletion waits for the signup now
  held.release();
  expect((await signup).status).toBe(201); // written before the deletion went on, and removed by it
  expect((await deletion).status).toBe(200);
  vi.restoreAllMocks();
  expect(await leftOf(p.id)).toEqual({ tenant: [], platform: {} });
  expect((await call("DELETE", `/api/admin/projects/${p.id}`, asAdmin)).status).toBe(404);
});

it("a document insert under way when its project is deleted leaves no document, usage, log or counter behind", async () => {
  deps = await testDeps({ clock: fakeClock() });
  const call = appsOver(deps);
  const p = await newProject(call);
  expect((await call("POST", "/api/schemas", p.sk, { name: "notes" })).status).toBe(201);
  const held = holdInsert("notes");
  const write = call("POST", "/api/data/notes", p.sk, { secret: "customer data" });
  await held.reached;
  const retired = retiredSignal();
  const deletion = call("DELETE", `/api/admin/projects/${p.id}`, asAdmin);
  await retired;
  await settle();
  held.release();
  expect((await write).status).toBe(201);
  expect((await deletion).status).toBe(200);
  vi.restoreAllMocks();
  expect(await leftOf(p.id)).toEqual({ tenant: [], platform: {} });
});

it("a social sign-in whose callback is under way when its project is deleted leaves no account, session or handover behind", async () => {
  deps = await testDeps({ clock: fakeClock(), env: { BCRYPT_COST: "4" } });
  const call = appsOver(deps);
  const p = await newProject(call, { social: SOCIAL });
  const providers = await fakeProviders(() => deps.clock.now());
  providers.accounts.set("code-doomed", { id: "7", email: "doomed@example.com", verified: true });
  // GitHub takes its time to redeem the code: the callback resolved the project and took its state.
  const reached = deferred();
  const release = deferred();
  const slowGitHub = (async (input: string | URL | Request, init?: RequestInit) => {
    if (String(input) === "https://github.com/login/oauth/access_token") {
      reached.resolve();
      await release.promise;
    }
    return providers.fetcher(input, init);
  }) as typeof fetch;
  const auth = createAuthApp(deps, { fetch: slowGitHub });
  const started = await auth.request(`/api/userAuth/social/github/start?key=${p.pk["x-api-key"]}`);
  expect(started.status).toBe(302);
  const authorize = new URL(started.headers.get("location") ?? "");
  providers.approve(authorize, "code-doomed");
  const state = encodeURIComponent(authorize.searchParams.get("state") ?? "");
  const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const ended: string[] = [];
  const callbackPath = `/api/userAuth/social/github/callback?code=code-doomed&state=${state}`;
  const callback = Promise.resolve(auth.request(callbackPath, { headers: { cookie } })).finally(() =>
    ended.push("callback"),
  );
  await reached.promise;
  const retired = retiredSignal();
  const deletion = call("DELETE", `/api/admin/projects/${p.id}`, asAdmin).finally(() => ended.push("deletion"));
  await retired;
  await settle(); // the deletion waits for the callback now
  expect(ended).toEqual([]);
  release.resolve();
  const landed = new URL((await callback).headers.get("location") ?? "");
  // Signed in (the account, its session and handover written before the deletion went on, and removed by it).
  expect([landed.searchParams.get("error"), landed.searchParams.get("isNewUser")]).toEqual([null, "true"]);
  expect((await deletion).status).toBe(200);
  expect(ended).toEqual(["callback", "deletion"]);
  vi.restoreAllMocks();
  expect(await leftOf(p.id)).toEqual({ tenant: [], platform: {} });
});

it("a public file read (no key) under way when its project is deleted is waited for (settling a pending one writes)", async () => {
  const env = await storageEnv("memory", { public: true });
  deps = env.deps;
  const admin = createAdminApp(deps, { blobs: env.blobs });
  const { path } = (await envelope(await env.upload(env.sk, "hello"))).data;
  const reached = deferred();
  const release = deferred();
  let holding = true;
  aroundPlatform(deps, async (call, run) => {
    if (holding && call.collection === "files" && call.method === "findOne") {
      holding = false; // the read resolved the project and looks for the file's record
      reached.resolve();
      await release.promise;
    }
    return run();
  });
  const ended: string[] = [];
  const read = Promise.resolve(env.read({}, path)).finally(() => ended.push("read"));
  await reached.promise;
  const retired = retiredSignal();
  const deletion = Promise.resolve(
    admin.request(`/api/admin/projects/${env.p.id}`, { method: "DELETE", headers: asAdmin }),
  ).finally(() => ended.push("deletion"));
  await retired;
  await settle();
  expect(ended).toEqual([]);
  release.resolve();
  expect((await read).status).toBe(200);
  expect((await deletion).status).toBe(200);
  expect(ended).toEqual(["read", "deletion"]);
});

it("a request that never ends holds the deletion up for its lease only, and what it reports after is not recorded", async () => {
  const base = await testDeps({ clock: fakeClock() });
  deps = await createDeps(base.config, { store: base.store, log: memoryLogger(), inFlight: inFlightRequests(200) });
  const call = appsOver(deps);
  const p = await newProject(call);
  expect((await call("POST", "/api/schemas", p.sk, { name: "notes" })).status).toBe(201);
  const held = holdInsert("notes");
  const write = call("POST", "/api/data/notes", p.sk, { n: 1 });
  await held.reached;
  const started = Date.now();
  const deletion = await call("DELETE", `/api/admin/projects/${p.id}`, asAdmin);
  expect(deletion.status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  expect(Date.now() - started).toBeLessThan(3_000);
  held.release(); // taken for cancelled, it ends after all: its usage and log are not written
  await write;
  vi.restoreAllMocks();
  expect((await leftOf(p.id)).platform).toEqual({});
});

it("a request whose key resolved just before the deletion began is refused, and writes nothing", async () => {
  deps = await testDeps({ clock: fakeClock(), env: { BCRYPT_COST: "4" } });
  const call = appsOver(deps);
  const p = await newProject(call);
  const read = deferred();
  const release = deferred();
  let holding = true;
  aroundPlatform(deps, async (c, run) => {
    const result = await run();
    if (holding && c.collection === "projects" && c.method === "findOne") {
      holding = false; // the signup's key lookup (its key is not cached yet) has read the live project
      read.resolve();
      await release.promise;
    }
    return result;
  });
  const signup = call("POST", "/api/userAuth/signup", p.pk, {
    email: "late@example.com",
    password: "correct horse battery",
  });
  await read.promise;
  expect((await call("DELETE", `/api/admin/projects/${p.id}`, asAdmin)).status).toBe(200);
  release.resolve();
  const answered = await signup;
  expect([answered.status, answered.json.code]).toEqual([401, "API_KEY_INVALID"]);
  vi.restoreAllMocks();
  expect(await leftOf(p.id)).toEqual({ tenant: [], platform: {} });
});
