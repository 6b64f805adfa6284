/**
 * A project's own rate limits (settings.rateLimits, API.md §8) where each of many instances counts
 * in its own memory: production on a diskless platform (Workers, Lambda, Vercel) without Upstash.
 * The admin API refuses them there; a rule stored before is still counted, and the operator warned.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import { type Env, type LoadOptions, loadConfig } from "../shared/config.js";
import { createDeps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import type { DocumentStore } from "../shared/store/types.js";
import { ADMIN_TOKEN, memoryLogger } from "./helpers.js";

/** Production with every environment rule off: what a diskless platform accepts without Upstash. */
const PRODUCTION: Env = {
  NODE_ENV: "production",
  MONGODB_URI: "mongodb://db.example.net/",
  ENCRYPTION_KEY: "a".repeat(64),
  ADMIN_TOKEN,
  RATE_LIMIT_PK: "off",
  RATE_LIMIT_AUTH: "off",
  RATE_LIMIT_SK: "off",
  TRUSTED_PROXY: "xff",
};
const UPSTASH: Env = { UPSTASH_REDIS_REST_URL: "https://redis.example.net", UPSTASH_REDIS_REST_TOKEN: "token" };
/** What the admin function's platform entry declares (platforms/lambda/admin.ts). */
const ADMIN_NEEDS: LoadOptions = { required: ["ADMIN_TOKEN"], rateLimited: false };

let store: DocumentStore;
let dataDir: string;
beforeAll(async () => {
  // One store behind every instance, as Lambda instances share one MongoDB.
  store = await openEmbeddedStore({ dataDir: null });
  dataDir = await mkdtemp(join(tmpdir(), "edgeback-rl-"));
});
afterAll(async () => {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** An app as these tests call it: a path (and request) in, a response out. */
type Fetcher = { request(path: string, init?: RequestInit): Response | Promise<Response> };

/** The admin function on a diskless platform (Lambda, Workers, Vercel) in production. */
async function disklessAdmin(env: Env): Promise<Fetcher> {
  return createAdminApp(await createDeps(loadConfig(env, { ...ADMIN_NEEDS, diskless: true }), { store }));
}

/** The local server in production: one instance, which counts every limit exactly. */
async function localServer(): Promise<Fetcher> {
  const config = loadConfig({ ...PRODUCTION, MONGODB_URI: "", DATA_DIR: dataDir }, { ...ADMIN_NEEDS, files: true });
  const app = createLocalApp(await createDeps(config, { store }));
  return { request: (path: string, init?: RequestInit) => app.fetch(new Request(`http://localhost${path}`, init)) };
}

async function admin(app: Fetcher, method: string, path: string, body?: unknown) {
  const res = await app.request(`/api/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const refusal = (path: string) => ({
  path,
  message: expect.stringMatching(/UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.*"off"/),
});

describe("the admin API, in production on a diskless platform without Upstash", () => {
  it("refuses a project's own rule other than off on create, naming Upstash at the rule's path", async () => {
    const app = await disklessAdmin(PRODUCTION);
    const pk = await admin(app, "POST", "/projects", { name: "p", settings: { rateLimits: { pk: "2/1m" } } });
    expect([pk.status, pk.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(pk.json.details).toEqual([refusal("settings.rateLimits.pk")]);
    const auth = await admin(app, "POST", "/projects", {
      name: "p",
      settings: { rateLimits: { pk: "off", auth: "5/15m", sk: "1000/1m" } },
    });
    expect([auth.status, auth.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(auth.json.details).toEqual([refusal("settings.rateLimits.auth"), refusal("settings.rateLimits.sk")]);
    const off = await admin(app, "POST", "/projects", { name: "p", settings: { rateLimits: { pk: "off" } } });
    expect(off.status).toBe(201);
    expect(off.json.data.project.settings.rateLimits).toEqual({ pk: "off" });
  });

  it("refuses one on update too, keeping the project's settings, and still takes off", async () => {
    const app = await disklessAdmin(PRODUCTION);
    const { project } = (await admin(app, "POST", "/projects", { name: "p" })).json.data;
    const refused = await admin(app, "PATCH", `/projects/${project.id}`, {
      settings: { rateLimits: { auth: "5/15m" } },
    });
    expect([refused.status, refused.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(refused.json.details).toEqual([refusal("settings.rateLimits.auth")]);
    expect((await admin(app, "GET", `/projects/${project.id}`)).json.data.settings).toEqual({});
    const off = await admin(app, "PATCH", `/projects/${project.id}`, { settings: { rateLimits: { auth: "off" } } });
    expect(off.status).toBe(200);
    expect(off.json.data.settings.rateLimits).toEqual({ auth: "off" });
  });
});

describe.each([
  ["in production on a diskless platform with Upstash", () => disklessAdmin({ ...PRODUCTION, ...UPSTASH })],
  ["on the local server in production (one instance)", localServer],
])("the admin API %s", (_where, start) => {
  it("takes a project's own rules on create and update", async () => {
    const app = await start();
    const created = await admin(app, "POST", "/projects", { name: "p", settings: { rateLimits: { pk: "2/1m" } } });
    expect(created.status).toBe(201);
    const { id } = created.json.data.project;
    const updated = await admin(app, "PATCH", `/projects/${id}`, { settings: { rateLimits: { auth: "5/15m" } } });
    expect(updated.status).toBe(200);
    expect(updated.json.data.settings.rateLimits).toEqual({ pk: "2/1m", auth: "5/15m" });
  });
});

describe("a rate-limited function in production on a diskless platform without Upstash", () => {
  it("counts a project's own rule stored through an admin configured otherwise, and warns once per project and rule", async () => {
    const withUpstash = await disklessAdmin({ ...PRODUCTION, ...UPSTASH });
    const rules = { pk: "2/1m", auth: "1/1m" };
    const projects = [];
    for (const name of ["a", "b"]) {
      const created = await admin(withUpstash, "POST", "/projects", { name, settings: { rateLimits: rules } });
      projects.push(created.json.data as { project: { id: string }; keys: { publishable: string } });
    }
    const log = memoryLogger();
    const deps = await createDeps(loadConfig(PRODUCTION, { diskless: true }), { store, log });
    const data = createDataApp(deps);
    const auth = createAuthApp(deps);
    for (const { keys } of projects) {
      const headers = { "x-api-key": keys.publishable, "x-forwarded-for": "203.0.113.9" };
      const reads = [];
      for (let i = 0; i < 3; i++) reads.push((await data.request("/api/data/notes", { headers })).status);
      expect(reads.filter((status) => status === 429)).toHaveLength(1); // counted: some protection beats none
      const logins = [];
      for (let i = 0; i < 2; i++) {
        const body = JSON.stringify({ email: "x@example.com", password: "wrong password" });
        const init = { method: "POST", headers: { ...headers, "content-type": "application/json" }, body };
        logins.push((await auth.request("/api/userAuth/login", init)).status);
      }
      expect(logins[1]).toBe(429);
    }
    const warnings = log.lines.filter((line) => line.level === "warn");
    expect(warnings).toEqual(
      projects.flatMap(({ project }) =>
        ["pk", "auth"].map((rule) => ({
          level: "warn",
          message: expect.stringMatching(/counted per instance.*UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/),
          fields: { projectId: project.id, rule },
        })),
      ),
    );
  });
});
