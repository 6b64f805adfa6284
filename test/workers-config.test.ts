/**
 * What the Workers entries demand of their configuration, through each entry's fetch: a missing or
 * invalid variable answers 500 "Server misconfigured" and is named in the log only.
 */
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";

const ADMIN_TOKEN = "workers-admin-token-0123456789";
const ENCRYPTION_KEY = "ab".repeat(32);
const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };

let logged: MockInstance<typeof console.error>;
beforeEach(() => {
  vi.resetModules();
  logged = vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => logged.mockRestore());

const log = () => logged.mock.calls.map((args) => args.join(" ")).join("\n");

/** GET `path` from a fresh isolate of `worker` with `env` as its bindings. */
async function call(worker: "admin" | "data" | "storage" | "local", env: Record<string, unknown>, path: string) {
  const entry = (await import(`../platforms/workers/${worker}.ts`)).default;
  const res: Response = await entry.fetch(new Request(`https://api.example.com${path}`), env, ctx);
  return { status: res.status, json: await res.json() };
}

const MISCONFIGURED = { success: false, code: "INTERNAL_ERROR", message: "Server misconfigured" };

describe("Workers entries", () => {
  it.each(["admin", "local"] as const)("%s requires ADMIN_TOKEN (not a 401 to every request)", async (worker) => {
    const res = await call(worker, { NODE_ENV: "development" }, "/api/admin/projects");
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ ...MISCONFIGURED, requestId: expect.any(String) });
    expect(log()).toMatch(/ADMIN_TOKEN: required/);
    const ok = await call(worker, { NODE_ENV: "development", ADMIN_TOKEN }, "/api/admin/projects");
    expect(ok.status).toBe(401); // configured: the token is checked
  });

  it("the other functions do not need ADMIN_TOKEN", async () => {
    expect((await call("data", { NODE_ENV: "development" }, "/api/health")).status).toBe(200);
  });

  it("in production MONGODB_URI is required whatever DATA_DIR says (a Worker has no disk)", async () => {
    const env = { NODE_ENV: "production", ENCRYPTION_KEY, DATA_DIR: "/var/lib/edgeback" };
    const res = await call("data", env, "/api/health");
    expect(res.json).toEqual({ ...MISCONFIGURED, requestId: expect.any(String) });
    expect(log()).toMatch(/MONGODB_URI: required in production/);
  });

  it("a [vars] value wrangler passes as a TOML number or boolean counts as its text, checked like any other", async () => {
    const bad = { NODE_ENV: "development", KEY_CACHE_TTL_SECONDS: 99 };
    expect((await call("data", bad, "/api/health")).json).toEqual({ ...MISCONFIGURED, requestId: expect.any(String) });
    expect(log()).toMatch(/KEY_CACHE_TTL_SECONDS/);
    const good = { NODE_ENV: "development", KEY_CACHE_TTL_SECONDS: 10, S3_FORCE_PATH_STYLE: true };
    expect((await call("data", good, "/api/health")).status).toBe(200);
  });
});
