/**
 * The `users` quota over HTTP (settings.quotas.users): a signup reserves its user in the project's
 * counter before the account is written, so parallel signups on a slow (networked) store cannot pass
 * it together; a failed signup and a deleted account give their place back; changed quotas recount.
 */
import { afterEach, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createDataApp } from "../functions/data/app.js";
import { documentBytes } from "../shared/quotas.js";
import { StoreUnavailableError } from "../shared/store/types.js";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { call } from "./data-helpers.js";
import { ADMIN_TOKEN, aroundCollections, slowCollections } from "./helpers.js";

let env: AuthTestEnv;
afterEach(() => {
  vi.restoreAllMocks();
  return env.close();
});

const signup = (email: string) => env.api("POST", "/signup", { body: { email, password: PASSWORD } });

/** Signs up each address in turn; their statuses and codes. */
async function signups(...emails: string[]) {
  const answers: Array<string | number> = [];
  for (const email of emails) {
    const res = await signup(email);
    answers.push(res.status === 201 ? 201 : res.json.code);
  }
  return answers;
}

const admin = (method: string, path: string, body?: unknown) =>
  call(createAdminApp(env.deps), method, `/api/admin/projects/${env.project.id}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body,
  });

/** The project's counter document (platform database). */
const counter = () => env.deps.store.platform().collection("quota_usage").findOne({ _id: env.project.id });

it("parallel signups cannot pass the quota, also when the store answers in 20 ms (a networked MongoDB)", async () => {
  env = await authTestEnv({ settings: { quotas: { users: 3 } } });
  slowCollections(env.deps, { users: ["count", "insertOne"] });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => signup(`u${i}@example.com`)));
  vi.restoreAllMocks();
  const created = results.filter((r) => r.status === 201).length;
  const refused = results.filter((r) => r.status === 403 && r.json.code === "QUOTA_EXCEEDED").length;
  expect({ created, refused }).toEqual({ created: 3, refused: 7 });
  expect((await admin("GET", "/users")).json.data.total).toBe(3);
});

it("a signup that fails (the email is taken) gives its place back", async () => {
  env = await authTestEnv({ settings: { quotas: { users: 2 } } });
  expect(await signups("ann@example.com", "ann@example.com", "ann@example.com")).toEqual([
    201,
    "EMAIL_TAKEN",
    "EMAIL_TAKEN",
  ]);
  expect(await signups("bob@example.com", "cy@example.com")).toEqual([201, "QUOTA_EXCEEDED"]);
  expect((await counter())?.users).toBe(2);
});

it("a deleted account frees its place, once however often it is deleted", async () => {
  env = await authTestEnv({ settings: { quotas: { users: 2 } } });
  expect(await signups("ann@example.com", "bob@example.com", "cy@example.com")).toEqual([201, 201, "QUOTA_EXCEEDED"]);
  const ann = (await admin("GET", "/users")).json.data.items.find(
    (u: { email: string }) => u.email === "ann@example.com",
  );
  const deletions = await Promise.all([1, 2].map(() => admin("DELETE", `/users/${ann._id}`)));
  expect(deletions.map((r) => r.status).sort()).toEqual([200, 404]);
  expect(await signups("cy@example.com", "dee@example.com")).toEqual([201, "QUOTA_EXCEEDED"]);
});

it("changed quotas count the users there are: those who signed up while no quota was set count too", async () => {
  env = await authTestEnv({ settings: { quotas: { users: 2 } } });
  expect(await signups("ann@example.com")).toEqual([201]);
  expect((await admin("PATCH", "", { settings: { quotas: { users: null } } })).status).toBe(200);
  expect(await signups("bob@example.com", "cy@example.com")).toEqual([201, 201]); // not counted: no quota
  expect((await counter())?.users).toBeUndefined();
  expect((await admin("PATCH", "", { settings: { quotas: { users: 4 } } })).status).toBe(200);
  expect(await signups("dee@example.com", "eve@example.com")).toEqual([201, "QUOTA_EXCEEDED"]);
});

it("users and documentsBytes share the project's counter document, each starting from what is stored", async () => {
  env = await authTestEnv();
  const data = createDataApp(env.deps);
  const sk = (method: string, path: string, body?: unknown) => call(data, method, path, { key: env.project.sk, body });
  const note = (await sk("POST", "/api/data/notes", { text: "before the quotas" })).json.data;
  const quotas = { users: 1, documentsBytes: 10_000 };
  expect((await admin("PATCH", "", { settings: { quotas } })).status).toBe(200);
  expect(await signups("ann@example.com")).toEqual([201]); // the users counter comes first
  expect((await sk("DELETE", `/api/data/notes/${note._id}`)).status).toBe(200); // no bytes counter yet to give to
  expect((await sk("POST", "/api/data/notes", { text: "after" })).status).toBe(201);
  const project = (await env.deps.projects.resolveKey(env.project.sk))!.project;
  const [kept] = await env.deps.collections.database(project).collection("notes").find({});
  expect(await counter()).toEqual({
    _id: env.project.id,
    projectId: env.project.id,
    users: 1,
    documentsBytes: documentBytes(kept!),
  });
  expect(await signups("bob@example.com")).toEqual(["QUOTA_EXCEEDED"]);
});

/** One signup's status, or its error code. */
const one = async (email: string) => (await signups(email))[0];
const users = async () => (await admin("GET", "/users")).json.data.total as number;
const until = async (done: () => Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 2));
};

it("an account deleted while the counter is recounted gives its place back before the slow steps", async () => {
  env = await authTestEnv({ settings: { quotas: { users: 2 } } });
  expect([await one("ann@example.com"), await one("bob@example.com")]).toEqual([201, 201]);
  // The operator changes the quotas (here: sets the same one again): the counters are dropped, to be recounted.
  expect((await admin("PATCH", "", { settings: { quotas: { users: 2 } } })).status).toBe(200);
  const ann = (await admin("GET", "/users")).json.data.items.find(
    (u: { email: string }) => u.email === "ann@example.com",
  );

  slowCollections(env.deps, { _auth_sessions: ["deleteMany"] }, 300); // a networked store between the steps
  const deletion = admin("DELETE", `/users/${ann._id}`);
  await until(async () => (await users()) === 1); // ann's account is gone, and her place given back at once
  expect(await one("cy@example.com")).toBe(201); // counts the accounts now (bob): 1, reserves cy: 2
  expect((await deletion).status).toBe(200);
  vi.restoreAllMocks();

  expect(await users()).toBe(2); // bob and cy: the quota is reached…
  expect(await one("dee@example.com")).toBe("QUOTA_EXCEEDED"); // …and holds
  expect(await users()).toBeLessThanOrEqual(2);
});

it("an account whose deletion fails after the account went has given its place back", async () => {
  env = await authTestEnv({ settings: { quotas: { users: 2 } } });
  expect([await one("ann@example.com"), await one("bob@example.com")]).toEqual([201, 201]);
  const ann = (await admin("GET", "/users")).json.data.items.find(
    (u: { email: string }) => u.email === "ann@example.com",
  );
  // One hiccup of the store (a networked MongoDB) on the step after the account's removal.
  let failed = false;
  aroundCollections(env.deps, { _auth_sessions: ["deleteMany"] }, async (run) => {
    if (failed) return run();
    failed = true;
    throw new StoreUnavailableError("connection reset");
  });
  expect((await admin("DELETE", `/users/${ann._id}`)).status).toBe(503);
  expect((await admin("DELETE", `/users/${ann._id}`)).status).toBe(404); // the retry finds no account
  vi.restoreAllMocks();
  expect(await users()).toBe(1); // bob only…
  expect(await one("cy@example.com")).toBe(201); // ann's place is free
});
