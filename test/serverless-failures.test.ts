/**
 * The Node serverless entries (Lambda, Vercel) when an instance cannot run its app: a configuration
 * error answers 500 "Server misconfigured", a store that cannot be opened 503 "Service unavailable",
 * both in the error envelope with the real cause in the log only (as the Workers entry answers), and
 * a later request tries again. Each test loads the entries afresh: an instance is per process.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { event } from "./lambda-event.js";

let logged: MockInstance<typeof console.error>;
beforeEach(() => {
  vi.resetModules();
  vi.unstubAllEnvs();
  for (const name of ["MONGODB_URI", "DATA_DIR", "S3_BUCKET", "ENCRYPTION_KEY", "ADMIN_TOKEN"]) vi.stubEnv(name, "");
  vi.stubEnv("NODE_ENV", "development");
  logged = vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.unstubAllEnvs();
  logged.mockRestore();
});

/** What the entries logged to console.error, as one string. */
const log = () => logged.mock.calls.map((args) => args.join(" ")).join("\n");

type Fn = "data" | "admin" | "storage" | "auth";
type Init = { method?: string; headers?: Record<string, string> };

async function lambda(fn: Fn, path = "/api/health", { method = "GET", headers = {} }: Init = {}) {
  const { handler } = await import(`../platforms/lambda/${fn}.ts`);
  const res = await handler(event(method, path, headers), {});
  const body = res.isBase64Encoded ? Buffer.from(res.body, "base64").toString("utf8") : res.body;
  return {
    status: res.statusCode as number,
    json: body ? JSON.parse(body) : undefined,
    headers: new Headers(res.headers),
  };
}

async function vercel(fn: Fn, path = "/api/health", { method = "GET", headers = {} }: Init = {}) {
  const handlers = await import(`../api/${fn}.ts`);
  const res: Response = await handlers[method](new Request(`https://edgeback.vercel.app${path}`, { method, headers }));
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const MISCONFIGURED = { success: false, code: "INTERNAL_ERROR", message: "Server misconfigured" };
const UNAVAILABLE = { success: false, code: "SERVICE_UNAVAILABLE", message: "Service unavailable" };

describe.each([
  ["Lambda", lambda],
  ["Vercel", vercel],
])("%s: an instance that cannot run", (_platform, call) => {
  it("with an invalid configuration answers 500 Server misconfigured, the variables named in the log only", async () => {
    vi.stubEnv("NODE_ENV", "production");
    vi.stubEnv("KEY_CACHE_TTL_SECONDS", "600");
    const res = await call("data");
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ ...MISCONFIGURED, requestId: expect.any(String) });
    expect(JSON.stringify(res.json)).not.toMatch(/ENCRYPTION_KEY|MONGODB_URI|KEY_CACHE/);
    expect(log()).toMatch(/Server misconfigured/);
    expect(log()).toMatch(/ENCRYPTION_KEY: required/);
    expect(log()).toMatch(/KEY_CACHE_TTL_SECONDS/);

    // Fixed: the next request builds the app.
    vi.stubEnv("NODE_ENV", "development");
    vi.stubEnv("KEY_CACHE_TTL_SECONDS", "");
    expect((await call("data")).status).toBe(200);
  });

  it("answers a page in the CORS terms of the app: its preflight 204, its failure readable", async () => {
    vi.stubEnv("NODE_ENV", "production");
    const origin = "https://app.example";
    const preflight = await call("data", "/api/data/posts", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("x-api-key");
    const res = await call("data", "/api/data/posts", { headers: { origin } });
    expect([res.status, res.json.code]).toEqual([500, "INTERNAL_ERROR"]);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
    expect(res.headers.get("access-control-expose-headers")).toContain("x-request-id");
    expect(res.headers.get("vary")).toBe("Origin");
  });

  it("in production without Upstash: the data function is misconfigured (naming it), admin, which limits nothing, is not", async () => {
    vi.stubEnv("NODE_ENV", "production");
    vi.stubEnv("ENCRYPTION_KEY", "ab".repeat(32));
    vi.stubEnv("ADMIN_TOKEN", "admin-token-0123456789");
    vi.stubEnv("MONGODB_URI", "mongodb://127.0.0.1:9/edgeback?serverSelectionTimeoutMS=200");
    const data = await call("data");
    expect([data.status, data.json.message]).toEqual([500, "Server misconfigured"]);
    expect(log()).toMatch(/UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN: required/);
    const admin = await call("admin");
    expect([admin.status, admin.json.message]).toEqual([503, "Service unavailable"]); // built; no database here
  });

  it("with a MONGODB_URI the driver refuses (a host left out): misconfigured, naming it, its password never logged", async () => {
    vi.stubEnv("NODE_ENV", "production");
    vi.stubEnv("ENCRYPTION_KEY", "ab".repeat(32));
    vi.stubEnv("ADMIN_TOKEN", "admin-token-0123456789");
    for (const uri of [
      "mongodb://edgeback:S3CRET-db-password@/eb",
      "mongodb+srv://edgeback:S3CRET-db-password@h:1/eb",
      "mongodb://edgeback:S3CRET-db@password@h.example.net/eb", // an @ left unencoded: the rest read as the host
    ]) {
      vi.stubEnv("MONGODB_URI", uri);
      const res = await call("admin");
      expect([res.status, res.json.message]).toEqual([500, "Server misconfigured"]);
      expect(log()).toMatch(/MONGODB_URI: is not a URI MongoDB's driver takes/);
      expect(log()).not.toContain("S3CRET");
    }
  });

  it("logs no password the MongoDB driver takes (quotes in it), keeps a URL whose query holds an @, and refuses a space in one", async () => {
    const { consoleLogger } = await import("../shared/deps.js");
    const { driverOptions } = await import("../shared/mongo-uri.js");
    for (const uri of ["mongodb://app:s3cr'et@db.example.com/app", 'mongodb://app:s3cr"et@db.example.com/app']) {
      expect(driverOptions(uri), uri).toBeDefined();
      consoleLogger.error(`connect failed: ${uri}`, { error: new Error(`connect failed: ${uri}`) });
    }
    expect(log()).not.toContain("s3cr");
    consoleLogger.error("webhook https://hooks.example.com?to=bob@example.com failed");
    expect(log()).toContain("https://hooks.example.com?to=bob@example.com");
    expect(driverOptions("mongodb://app:s3cr et@db.example.com/app")).toBeUndefined();
  });

  it("logs a failure's cause, and any error, without the user and password of a URI it quotes", async () => {
    const { unavailable } = await import("../platforms/failure.js");
    const { consoleLogger } = await import("../shared/deps.js");
    const cause = new Error('failed to connect to "mongodb+srv://edgeback:S3CRET-db-password@h.example.net/eb"');
    expect(unavailable(new Request("http://x/api/health"), cause).status).toBe(503);
    consoleLogger.error("request failed", { error: cause });
    expect(log().match(/mongodb\+srv:\/\/…@h\.example\.net/g)).toHaveLength(3); // the failure's cause; the error's message and stack
    expect(log()).not.toContain("S3CRET");
  });

  it("whose store cannot be opened serves requests once it can be", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeback-failures-"));
    const dataDir = join(dir, "data");
    writeFileSync(dataDir, "not a directory");
    try {
      vi.stubEnv("DATA_DIR", dataDir);
      expect((await call("data")).json).toMatchObject(UNAVAILABLE);
      await rm(dataDir);
      const res = await call("data");
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ success: true, data: { status: "ok" } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.each([
  ["Lambda", lambda],
  ["Vercel", vercel],
])("%s: the admin function", (_platform, call) => {
  it("requires ADMIN_TOKEN (not a 401 to every request)", async () => {
    const res = await call("admin", "/api/admin/projects");
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ ...MISCONFIGURED, requestId: expect.any(String) });
    expect(log()).toMatch(/ADMIN_TOKEN: required/);
    // The other functions do not need it.
    expect((await call("data")).status).toBe(200);
    vi.stubEnv("ADMIN_TOKEN", "failures-admin-token-0123456789");
    expect((await call("admin", "/api/admin/projects")).status).toBe(401); // configured: the token is checked
  });
});

/** The driver waits its server selection timeout (5 s) before it gives up: Lambda only, the path is shared. */
it("Lambda: an instance whose MongoDB cannot be reached answers 503 Service unavailable, and tries again on the next request", async () => {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    vi.stubEnv("MONGODB_URI", `mongodb://127.0.0.1:${port}/?directConnection=true`);
    const first = await lambda("data");
    expect(first.status).toBe(503);
    expect(first.json).toEqual({ ...UNAVAILABLE, requestId: expect.any(String) });
    expect(log()).toMatch(/Service unavailable/);
    const tried = connections;
    expect(tried).toBeGreaterThan(0);
    expect((await lambda("data")).status).toBe(503);
    expect(connections).toBeGreaterThan(tried);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}, 30_000);
