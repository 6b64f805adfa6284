/**
 * Per-email login throttling (API.md §6: default 10 per 15 minutes → 429 RATE_LIMITED with
 * Retry-After, on whatever RATE_LIMIT_* says) and the cost of a login for an unknown email.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";

let env: AuthTestEnv;
const opened: AuthTestEnv[] = [];
/** Opens the test environment (closed after each test). */
async function open(options?: Parameters<typeof authTestEnv>[0]) {
  env = await authTestEnv(options);
  opened.push(env);
}
afterEach(async () => {
  for (const e of opened.splice(0)) await e.close();
});

const WRONG = "not the password";

describe("login throttling", () => {
  it("after 10 failed logins the 11th is 429 RATE_LIMITED (Retry-After) even with the right password, until 15 minutes pass", async () => {
    await open({ env: { RATE_LIMIT_AUTH: "off" } });
    await env.signup("a@example.com");
    for (let i = 0; i < 10; i++) {
      env.clock.advance(1000);
      expect((await env.login(i % 2 ? "a@example.com" : " A@EXAMPLE.COM", WRONG)).status, `try ${i + 1}`).toBe(401);
    }
    const limited = await env.login("a@example.com");
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ code: "RATE_LIMITED", message: "Too many login attempts; try again later" });
    expect(limited.headers.get("retry-after")).toBe(String(15 * 60 - 10 + 1));
    // Other emails are not affected.
    expect((await env.login("b@example.com", WRONG)).status).toBe(401);
    env.clock.advance(15 * 60_000 - 9000);
    expect((await env.login("a@example.com")).status).toBe(200);
  });

  it("a successful login clears the count", async () => {
    await open();
    await env.signup("a@example.com");
    for (let i = 0; i < 9; i++) await env.login("a@example.com", WRONG);
    expect((await env.login("a@example.com")).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await env.login("a@example.com", WRONG)).status).toBe(401);
    expect((await env.login("a@example.com", WRONG)).status).toBe(429);
  });

  it("unknown emails are throttled the same way (no enumeration)", async () => {
    await open();
    for (let i = 0; i < 10; i++) expect((await env.login("nobody@example.com", WRONG)).status).toBe(401);
    expect((await env.login("nobody@example.com", WRONG)).json.code).toBe("RATE_LIMITED");
  });

  it("parallel guesses cannot get more than the allowed number of password checks", async () => {
    await open();
    await env.signup("a@example.com");
    const results = await Promise.all(Array.from({ length: 30 }, () => env.login("a@example.com", WRONG)));
    expect(results.filter((r) => r.status === 401)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(20);
  });

  it("settings.auth.maxFailedLogins sets the limit; change-password counts against it too", async () => {
    await open({ settings: { auth: { maxFailedLogins: 3 } } });
    const session = await env.signup("a@example.com");
    const change = (currentPassword: string) =>
      env.api("PUT", "/change-password", {
        token: session.accessToken,
        body: { currentPassword, newPassword: "another password" },
      });
    expect((await change(WRONG)).status).toBe(401);
    expect((await env.login("a@example.com", WRONG)).status).toBe(401);
    expect((await env.login("a@example.com", WRONG)).status).toBe(401);
    expect((await change(PASSWORD)).json.code).toBe("RATE_LIMITED");
    expect((await env.login("a@example.com")).json.code).toBe("RATE_LIMITED");
  });
});

describe("password hashing cost", () => {
  it("uses BCRYPT_COST (default 10), and an unknown email costs what a wrong password costs", async () => {
    await open({ defaultCost: true });
    await env.signup("a@example.com");
    const stored = await env.deps.store.tenant({ projectId: env.project.id }).collection("users").findOne({});
    expect(String(stored?.passwordHash)).toMatch(/^\$2[aby]\$10\$/);
    expect(env.deps.config.bcryptCost).toBe(10);

    const time = async (email: string) => {
      const start = performance.now();
      const res = await env.login(email, WRONG);
      expect(res.json.code).toBe("INVALID_CREDENTIALS");
      return performance.now() - start;
    };
    await time("warm@example.com");
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await time("a@example.com"));
      unknown.push(await time(`nobody${i}@example.com`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    // A bcrypt check at cost 10 takes tens of milliseconds; skipping it would take about one.
    // (Wide bounds: the machine is shared; a skipped check would be 20× off, not 3×.)
    expect(median(wrong)).toBeGreaterThan(10);
    expect(median(unknown)).toBeGreaterThan(median(wrong) / 3);
    expect(median(unknown)).toBeLessThan(median(wrong) * 3);
  });

  it("loadConfig defaults BCRYPT_COST to 10 and refuses values outside 4–15", async () => {
    const { loadConfig } = await import("../shared/config.js");
    expect(loadConfig({}).bcryptCost).toBe(10);
    expect(() => loadConfig({ BCRYPT_COST: "3" })).toThrow(/BCRYPT_COST/);
    expect(() => loadConfig({ BCRYPT_COST: "16" })).toThrow(/BCRYPT_COST/);
  });
});
