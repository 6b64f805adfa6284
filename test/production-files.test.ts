/**
 * Files in production need a lasting blob store: the S3 bucket, or DATA_DIR's files (the local server's
 * on-disk store). Without one the storage function refuses to start (a configuration error naming
 * S3_BUCKET on every platform), and the admin function refuses to delete a project whose files it
 * cannot delete, so no record goes while its bytes stay in the bucket. Real s3rver, real embedded store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createStorageApp } from "../functions/storage/app.js";
import { ConfigError, loadConfig } from "../shared/config.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { s3BlobStore } from "../shared/storage/s3.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import type { DocumentStore } from "../shared/store/types.js";
import { ADMIN_TOKEN, memoryLogger } from "./helpers.js";
import { event } from "./lambda-event.js";
import { PNG } from "./png.js";
import { S3RVER_KEYS, startS3rver } from "./s3-server.js";

const PRODUCTION = {
  NODE_ENV: "production",
  MONGODB_URI: "mongodb://127.0.0.1:9/edgeback", // never reached: each test brings its own store
  ENCRYPTION_KEY: "ab".repeat(32),
  ADMIN_TOKEN,
  RATE_LIMIT_PK: "off",
  RATE_LIMIT_AUTH: "off",
  RATE_LIMIT_SK: "off",
};
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

let s3rver: Awaited<ReturnType<typeof startS3rver>>;
let s3Env: Record<string, string>;
let store: DocumentStore;

beforeAll(async () => {
  s3rver = await startS3rver();
  s3Env = {
    S3_BUCKET: "files",
    S3_REGION: "us-east-1",
    S3_ENDPOINT: s3rver.endpoint,
    S3_FORCE_PATH_STYLE: "true",
    S3_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
  };
  store = await openEmbeddedStore({ dataDir: null });
});
afterAll(async () => {
  await store.close();
  await s3rver.close();
});

/** Production deps over the shared store; `env` adds variables (S3_*). */
async function productionDeps(env: Record<string, string> = {}) {
  const log = memoryLogger();
  return { ...(await createDeps(loadConfig({ ...PRODUCTION, ...env }), { store, log })), log };
}

// biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
const json = async (res: Response) => (await res.json()) as any;

async function createProject(deps: Deps, name: string) {
  const res = await createAdminApp(deps).request("/api/admin/projects", {
    method: "POST",
    headers: { ...admin, "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const { project, keys } = (await json(res)).data as { project: { id: string }; keys: { secret: string } };
  return { id: project.id, keys };
}

describe("storage function in production", () => {
  it("refuses to start without S3 or DATA_DIR: a configuration error naming S3_BUCKET", async () => {
    const deps = await productionDeps();
    let error: unknown;
    try {
      createStorageApp(deps);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^S3_BUCKET: required in production/)]);
  });

  it("starts with S3", async () => {
    const storage = createStorageApp(await productionDeps(s3Env));
    expect((await storage.request("/api/health")).status).toBe(200);
  });
});

describe("admin function in production without S3", () => {
  it("does not delete a project whose files it cannot delete; deleting again once S3 is set finishes", async () => {
    const withS3 = await productionDeps(s3Env);
    const withoutS3 = await productionDeps();
    const project = await createProject(withoutS3, "files");
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "a.png");
    const uploaded = await createStorageApp(withS3).request("/api/storage/upload", {
      method: "POST",
      headers: { "x-api-key": project.keys.secret },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const { path } = (await json(uploaded)).data;
    const bucket = s3BlobStore(loadConfig({ ...PRODUCTION, ...s3Env }).s3!);

    const failed = await createAdminApp(withoutS3).request(`/api/admin/projects/${project.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(failed.status).toBe(500);
    const body = await json(failed);
    expect(body).toMatchObject({ success: false, code: "INTERNAL_ERROR", message: "Internal server error" });
    expect(JSON.stringify(body)).not.toMatch(/S3|blob/i);
    const logged = withoutS3.log.lines.map((line) => (line.fields as { error?: Error }).error?.message).join("\n");
    expect(logged).toMatch(/S3_BUCKET/);
    // Nothing was orphaned: the bytes and their record are still there; the project is retired.
    expect(await bucket.head(path)).toEqual({ size: PNG.length, contentType: "image/png" });
    expect(await store.platform().collection("files").count({ projectId: project.id })).toBe(1);
    const retired = await createAdminApp(withoutS3).request(`/api/admin/projects/${project.id}`, { headers: admin });
    expect((await json(retired)).data.retiredAt).toEqual(expect.any(String));

    const retried = await createAdminApp(withS3).request(`/api/admin/projects/${project.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(retried.status).toBe(200);
    expect((await json(retried)).data).toEqual({ id: project.id, deleted: true });
    expect(await bucket.head(path)).toBeNull();
    expect(await store.platform().collection("files").count({ projectId: project.id })).toBe(0);
  });

  it("still deletes a project without files", async () => {
    const deps = await productionDeps();
    const project = await createProject(deps, "no files");
    const res = await createAdminApp(deps).request(`/api/admin/projects/${project.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toEqual({ id: project.id, deleted: true });
  });
});

/** Each platform entry answers a refused start as it answers every configuration error. */
describe("storage entries in production without S3", () => {
  let logged: MockInstance<typeof console.error>;
  beforeEach(() => {
    vi.resetModules();
    logged = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const [name, value] of Object.entries(PRODUCTION)) vi.stubEnv(name, value);
    for (const name of Object.keys(s3Env)) vi.stubEnv(name, "");
    vi.stubEnv("DATA_DIR", "");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    logged.mockRestore();
  });
  const log = () => logged.mock.calls.map((args) => args.join(" ")).join("\n");
  const MISCONFIGURED = { success: false, code: "INTERNAL_ERROR", message: "Server misconfigured" };

  it("Workers: 500 Server misconfigured, S3_BUCKET named in the log", async () => {
    const entry = (await import("../platforms/workers/storage.js")).default;
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
    const res = await entry.fetch(new Request("https://api.example.com/api/storage/file?path=x"), PRODUCTION, ctx);
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body).toMatchObject(MISCONFIGURED);
    expect(res.headers.get("x-request-id")).toBe(body.requestId); // every response carries it
    expect(log()).toMatch(/S3_BUCKET: required in production/);
  });

  it("Lambda: 500 Server misconfigured, S3_BUCKET named in the log", async () => {
    const { handler } = await import("../platforms/lambda/storage.js");
    const res = await handler(event("GET", "/api/health") as never, {} as never);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(Buffer.from(res.body, "base64").toString("utf8"))).toMatchObject(MISCONFIGURED);
    expect(log()).toMatch(/S3_BUCKET: required in production/);
  });

  it("Vercel: 500 Server misconfigured, S3_BUCKET named in the log", async () => {
    const { GET } = await import("../api/storage.js");
    const res = await GET(new Request("https://edgeback.vercel.app/api/health"));
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject(MISCONFIGURED);
    expect(log()).toMatch(/S3_BUCKET: required in production/);
  });

  it("with Upstash missing too, the one error names both (not one per deploy)", async () => {
    for (const name of ["RATE_LIMIT_PK", "RATE_LIMIT_AUTH", "RATE_LIMIT_SK"]) vi.stubEnv(name, "");
    const bindings = { ...PRODUCTION, RATE_LIMIT_PK: "", RATE_LIMIT_AUTH: "", RATE_LIMIT_SK: "" };
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
    const starts = {
      Workers: async () =>
        (await import("../platforms/workers/storage.js")).default.fetch(
          new Request("https://api.example.com/api/health"),
          bindings,
          ctx,
        ),
      Lambda: async () =>
        (await import("../platforms/lambda/storage.js")).handler(event("GET", "/api/health") as never, {} as never),
      Vercel: async () =>
        (await import("../api/storage.js")).GET(new Request("https://edgeback.vercel.app/api/health")),
    };
    for (const [platform, start] of Object.entries(starts)) {
      logged.mockClear();
      await start();
      const refusals = logged.mock.calls.map((args) => args.join(" ")).filter((line) => /S3_BUCKET/.test(line));
      expect(refusals, platform).toHaveLength(1);
      expect(refusals[0], platform).toMatch(/UPSTASH_REDIS_REST_URL/);
    }
  });

  it("Vercel with DATA_DIR and no MONGODB_URI: refused (no disk there lasts), not an instance-local store", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgeback-production-data-"));
    try {
      vi.stubEnv("MONGODB_URI", "");
      vi.stubEnv("DATA_DIR", dataDir);
      const { GET } = await import("../api/storage.js");
      const res = await GET(new Request("https://edgeback.vercel.app/api/health"));
      expect([res.status, (await json(res)).message]).toEqual([500, "Server misconfigured"]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
