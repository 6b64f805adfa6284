/**
 * A project moved to its own MongoDB (PATCH settings.database.uri) on a warm instance. The customer's
 * server is stood in for by a second embedded store: the embedded adapter ignores URIs on its own,
 * so a store that sends every tenant with a URI there plays the mongo adapter's `byoClient(uri)`.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import type { DocumentStore } from "../shared/store/types.js";
import { ADMIN_TOKEN, fakeClock, memoryLogger, testConfig } from "./helpers.js";

const OWN_URI = "mongodb://owner:pw@customer.example.net/app";
let operator: DocumentStore;
let customer: DocumentStore;
let deps: Deps;
let apps: Record<"admin" | "auth" | "data", ReturnType<typeof createDataApp>>;

beforeEach(async () => {
  operator = await openEmbeddedStore({ dataDir: null });
  customer = await openEmbeddedStore({ dataDir: null });
  const store: DocumentStore = {
    kind: "embedded",
    platform: () => operator.platform(),
    tenant: (at) => (at.uri ? customer.tenant({ projectId: "own" }) : operator.tenant(at)),
    ping: () => operator.ping(),
    close: async () => {
      await operator.close();
      await customer.close().catch(() => undefined); // closed already when a test took it down
    },
  };
  const config = testConfig({ BCRYPT_COST: "4", MAIL_PROVIDER: "memory" });
  deps = await createDeps(config, { store, clock: fakeClock(), log: memoryLogger() });
  apps = { admin: createAdminApp(deps), auth: createAuthApp(deps), data: createDataApp(deps) };
});
afterEach(() => deps.store.close());

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const app = path.startsWith("/api/admin") ? apps.admin : path.startsWith("/api/userAuth") ? apps.auth : apps.data;
  const res = await app.request(path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
  return { status: res.status, text, json: JSON.parse(text) as any };
}
const admin = (method: string, path: string, body?: unknown) =>
  call(method, `/api/admin${path}`, { authorization: `Bearer ${ADMIN_TOKEN}` }, body);

async function createProject(body: Record<string, unknown> = { name: "moving" }) {
  const { project, keys } = (await admin("POST", "/projects", body)).json.data;
  const move = async () =>
    expect((await admin("PATCH", `/projects/${project.id}`, { settings: { database: { uri: OWN_URI } } })).status).toBe(
      200,
    );
  return { id: project.id as string, pk: { "x-api-key": keys.publishable }, sk: { "x-api-key": keys.secret }, move };
}

it("auth's unique indexes are made in the new database: an email still signs up once", async () => {
  const p = await createProject();
  const signup = (email: string) =>
    call("POST", "/api/userAuth/signup", p.pk, { email, password: "correct horse battery" });
  expect((await signup("first@example.com")).status).toBe(201); // this instance made the indexes in the old database
  await p.move();
  expect((await signup("twice@example.com")).status).toBe(201);
  const again = await signup("twice@example.com");
  expect([again.status, again.json.code]).toEqual([409, "EMAIL_TAKEN"]);
  expect(await customer.tenant({ projectId: "own" }).collection("users").count({ email: "twice@example.com" })).toBe(1);
});

it("the new database's collection rules apply at once on the instance that moved it", async () => {
  const p = await createProject();
  expect((await call("POST", "/api/schemas", p.sk, { name: "posts" })).status).toBe(201);
  expect((await call("GET", "/api/data/posts", p.pk)).status).toBe(200); // public read, now cached
  // The customer's database keeps "posts" for the secret key only.
  const [definition] = await operator.tenant({ projectId: p.id }).collection("_collections").find({});
  const def = definition?.def as Record<string, unknown>;
  const own = customer.tenant({ projectId: "own" });
  await own
    .collection("_collections")
    .insertOne({ ...definition, def: { ...def, permissions: { list: "secret", read: "secret" } } });
  await own.collection("posts").insertOne({ title: "internal" });
  await p.move();
  const read = await call("GET", "/api/data/posts", p.pk);
  expect([read.status, read.json.code]).toEqual([403, "READ_BLOCKED"]);
  expect(read.text).not.toContain("internal");
});

it("the documentsBytes quota counts what the new database holds", async () => {
  const p = await createProject({ name: "quota", settings: { quotas: { documentsBytes: 2000 } } });
  const insert = () => call("POST", "/api/data/notes", p.sk, { text: "x".repeat(500) });
  for (let i = 0; i < 3; i++) expect((await insert()).status).toBe(201);
  expect((await insert()).json.code).toBe("QUOTA_EXCEEDED");
  await p.move(); // to an empty database
  expect((await insert()).status).toBe(201);
});

it("the users quota counts the users of the new database", async () => {
  const p = await createProject({ name: "users", settings: { quotas: { users: 2 } } });
  const signup = (email: string) =>
    call("POST", "/api/userAuth/signup", p.pk, { email, password: "correct horse battery" });
  for (const email of ["a@example.com", "b@example.com"]) expect((await signup(email)).status).toBe(201);
  expect((await signup("c@example.com")).json.code).toBe("QUOTA_EXCEEDED");
  await p.move(); // to an empty database
  expect((await signup("c@example.com")).status).toBe(201);
});

it("an instance that has not seen the move yet cannot leave the counter measuring the old database", async () => {
  const p = await createProject({ name: "quota", settings: { quotas: { documentsBytes: 2000 } } });
  // A second instance over the same stores, with its own caches: it keeps the project as it was.
  const stale = createDataApp(
    await createDeps(deps.config, { store: deps.store, clock: fakeClock(), log: memoryLogger() }),
  );
  const insert = (app: typeof stale, size: number) =>
    app.request("/api/data/notes", {
      method: "POST",
      headers: { ...p.sk, "content-type": "application/json" },
      body: JSON.stringify({ text: "x".repeat(size) }),
    });
  for (let i = 0; i < 3; i++) expect((await insert(stale, 500)).status).toBe(201);
  await p.move(); // on this instance: the counter is dropped
  expect((await insert(stale, 10)).status).toBe(201); // still the old database: it counts that one
  expect((await insert(apps.data, 500)).status).toBe(201); // the new, empty database is counted afresh
});

it("what an instance that has not seen the move yet gives back never frees room in the new database", async () => {
  const p = await createProject({ name: "quota", settings: { quotas: { documentsBytes: 2000 } } });
  const stale = createDataApp(
    await createDeps(deps.config, { store: deps.store, clock: fakeClock(), log: memoryLogger() }),
  );
  const request = (app: typeof stale, method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { ...p.sk, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const insert = async (app: typeof stale, size: number) =>
    request(app, "POST", "/api/data/notes", { text: "x".repeat(size) });
  const old = [await insert(stale, 500), await insert(stale, 500)];
  const ids = await Promise.all(old.map(async (res) => ((await res.json()) as { data: { _id: string } }).data._id));
  await p.move();
  for (let i = 0; i < 3; i++) expect((await insert(apps.data, 500)).status).toBe(201); // about 1 700 of 2 000 bytes
  for (const id of ids) expect((await request(stale, "DELETE", `/api/data/notes/${id}`)).status).toBe(200);
  const over = await insert(apps.data, 500);
  expect([over.status, ((await over.json()) as { code?: string }).code]).toEqual([403, "QUOTA_EXCEEDED"]);
});

it("a refresh token works only on the project that issued it, also where two projects share one database", async () => {
  const first = await createProject({ name: "first" });
  await first.move();
  const signup = await call(
    "POST",
    "/api/userAuth/signup",
    { ...first.pk, "x-refresh-token-mode": "header" },
    { email: "u@example.com", password: "correct horse battery" },
  );
  expect(signup.status).toBe(201);
  const refreshToken = signup.json.data.refreshToken as string;
  expect((await admin("DELETE", `/projects/${first.id}`)).status).toBe(200); // its own database stays

  const second = await createProject({ name: "second" });
  await second.move();
  const refresh = (project: typeof second) =>
    call("POST", "/api/userAuth/refresh-token", { ...project.pk, "x-refresh-token": refreshToken });
  const res = await refresh(second);
  expect([res.status, res.json.code]).toEqual([401, "REFRESH_TOKEN_INVALID"]);
  const logout = await call("POST", "/api/userAuth/logout", { ...second.pk, "x-refresh-token": refreshToken });
  expect(logout.json.data.revoked).toBe(false);
});

it("usage answers while the project's own database is down: the quotas it cannot count are null", async () => {
  const project = await createProject();
  await project.move();
  expect((await admin("GET", `/projects/${project.id}/usage`)).json.data.quotas.users.used).toBe(0);
  await customer.close(); // the customer's MongoDB goes away
  const res = await admin("GET", `/projects/${project.id}/usage`);
  expect(res.status, res.text).toBe(200);
  expect(res.json.data.quotas.users).toEqual({ limit: null, used: null });
});
