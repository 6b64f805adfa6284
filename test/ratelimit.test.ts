/**
 * Rate limits (API.md §8) through HTTP on the data function, run against both limiter adapters:
 * `memory`, and `upstash` talking to a real redis-server through the Upstash-REST shim.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import { rateLimitSubject } from "../shared/client-ip.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";
import { loadRateLimitConfig } from "../shared/ratelimit/config.js";
import { parseRule } from "../shared/ratelimit/rule.js";
import { upstashLimiter } from "../shared/ratelimit/upstash.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import type { DocumentStore } from "../shared/store/types.js";
import { fakeClock, memoryLogger, testConfig, testDeps } from "./helpers.js";
import { type RedisServer, RespConnection, startRedis } from "./redis-harness.js";
import { startUpstashShim, type UpstashShim } from "./upstash-shim.js";

let redis: RedisServer;
let shim: UpstashShim;
beforeAll(async () => {
  redis = await startRedis();
  shim = await startUpstashShim(redis.port);
});
afterAll(async () => {
  await shim.close();
  await redis.stop();
});

let namespace = 0;
type Backend = "memory" | "upstash";

/** A data app (or several sharing one store and one limiter backend) with rules from `env`. */
async function instances(backend: Backend, env: Record<string, string>, count = 1, store?: DocumentStore) {
  const shared = store ?? (await openEmbeddedStore({ dataDir: null }));
  // "upstash" points at the suite's shim; a test may pass its own UPSTASH_* variables in env instead.
  const upstash: Record<string, string> =
    backend === "upstash" ? { UPSTASH_REDIS_REST_URL: shim.url, UPSTASH_REDIS_REST_TOKEN: shim.token } : {};
  const log = memoryLogger();
  const all: Deps[] = [];
  for (let i = 0; i < count; i++) {
    all.push(
      await createDeps(testConfig({ TRUSTED_PROXY: "xff", ...upstash, ...env }), {
        store: shared,
        log,
        clock: fakeClock(Date.now()),
      }),
    );
  }
  const [first] = all as [Deps];
  // A fresh project per test: its id namespaces the Redis keys, so tests never share counters.
  const { keys } = await first.projects.create({ name: `rl-${++namespace}` });
  const apps = all.map((deps) => createDataApp(deps));
  const get = (app = 0, headers: Record<string, string> = {}, key = keys.publishable) =>
    apps[app]!.request("/api/data/items", {
      headers: { "x-api-key": key, "x-forwarded-for": "198.51.100.1", ...headers },
    });
  return { deps: first, keys, log, get, close: () => shared.close() };
}

describe.each<Backend>(["memory", "upstash"])("rate limits, %s backend", (backend) => {
  it("counts down to the limit, then 429 with Retry-After; headers exact at limit and limit+1", async () => {
    // The window is fixed and aligned to the clock (Upstash's fixedWindow): four requests straddling
    // a minute's end fall into two windows (it happened in CI). Start with 15 s of the minute left
    // (5 s were once not enough on a loaded machine), before the apps' clocks are set.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    const env = await instances(backend, { RATE_LIMIT_PK: "3/1m" });
    await env.deps.projects.list();
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await env.get());
    expect(seen.map((r) => r.status)).toEqual([404, 404, 404, 429]); // 404: no such collection, but counted
    expect(seen.map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["2", "1", "0", "0"]);
    for (const res of seen) {
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      expect(res.headers.get("x-ratelimit-limit")).toBe("3");
      expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
      expect(Number(res.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(60);
      expect(Number(res.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    }
    const limited = seen[3]!;
    const retryAfter = limited.headers.get("retry-after");
    expect(await limited.json()).toMatchObject({
      success: false,
      code: "RATE_LIMITED",
      message: `Too many requests: the pk limit is 3 per 1 min; retry in ${retryAfter} s`,
    });
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    await env.close();
  }, 40_000);

  it("limits publishable keys per project and client IP: the last x-forwarded-for hop, the one the proxy added", async () => {
    const env = await instances(backend, { RATE_LIMIT_PK: "2/1m" });
    const a = { "x-forwarded-for": "203.0.113.1" };
    const b = { "x-forwarded-for": "203.0.113.2" };
    expect((await env.get(0, a)).status).toBe(404);
    // A client-sent first hop changes nothing: the proxy appended the address it saw.
    expect((await env.get(0, { "x-forwarded-for": "10.9.9.9, 203.0.113.1" })).status).toBe(404);
    // A port the proxy appended names the same client.
    expect((await env.get(0, { "x-forwarded-for": "10.9.9.8 , 203.0.113.1:4444" })).status).toBe(429);
    expect((await env.get(0, b)).status).toBe(404);
    // The same client's budget in another project is whole: one project's traffic never uses up another's.
    const other = (await env.deps.projects.create({ name: `rl-${++namespace}` })).keys;
    const elsewhere = await env.get(0, a, other.publishable);
    expect([elsewhere.status, elsewhere.headers.get("ratelimit-remaining")]).toEqual([404, "1"]);
    await env.close();
  });

  it("ignores a forwarded value that is not an IP address (all such clients share the socket's bucket)", async () => {
    const env = await instances(backend, { RATE_LIMIT_PK: "2/1m" });
    const statuses = [];
    for (const junk of ["x".repeat(15_000), "not-an-ip", "cafe", "::1::2::3::4::5::6::7::8::9::0::1::2", "[::1"]) {
      statuses.push((await env.get(0, { "x-forwarded-for": junk })).status);
    }
    expect(statuses).toEqual([404, 404, 429, 429, 429]);
    await env.close();
  });

  it("counts IPv6 clients per /64 network and IPv4-mapped addresses as IPv4", async () => {
    const env = await instances(backend, { RATE_LIMIT_PK: "2/1m" });
    const from = (ip: string) => ({ "x-forwarded-for": ip });
    expect((await env.get(0, from("2001:db8:1:2::1"))).status).toBe(404);
    expect((await env.get(0, from("2001:0DB8:1:2:ffff:0:0:9"))).status).toBe(404);
    expect((await env.get(0, from("2001:db8:1:2:aaaa::7"))).status).toBe(429);
    expect((await env.get(0, from("2001:db8:1:3::1"))).status).toBe(404);
    expect((await env.get(0, from("192.0.2.7"))).status).toBe(404);
    expect((await env.get(0, from("::ffff:192.0.2.7"))).status).toBe(404);
    expect((await env.get(0, from("192.0.2.7"))).status).toBe(429);
    // Bracketed (RFC 7239's host form), with a port or without: the address, per /64 as any other.
    expect((await env.get(0, from("[2001:db8:5:5::1]"))).status).toBe(404);
    expect((await env.get(0, from("[2001:db8:5:5::2]:443"))).status).toBe(404);
    expect((await env.get(0, from("[2001:db8:5:5::3]"))).status).toBe(429);
    expect((await env.get(0, from("[2001:db8:6:6::1]"))).status).toBe(404);
    await env.close();
  });

  it("limits secret keys per key (the old and new key of a rotation apart), apart from publishable traffic", async () => {
    const env = await instances(backend, { RATE_LIMIT_SK: "2/1m", RATE_LIMIT_PK: "5/1m" });
    const sk = env.keys.secret;
    expect([
      (await env.get(0, {}, sk)).status,
      (await env.get(0, {}, sk)).status,
      (await env.get(0, {}, sk)).status,
    ]).toEqual([404, 404, 429]);
    expect((await env.get()).status).toBe(404);
    // A rotation's new secret key, while the old one is still valid, has a budget of its own.
    const project = (await env.deps.projects.list())[0]!;
    const rotated = await env.deps.projects.rotateKeys(project.id, "secret", 3600);
    const fresh = await env.get(0, {}, rotated!.secret!);
    expect([fresh.status, fresh.headers.get("ratelimit-remaining")]).toEqual([404, "1"]);
    expect((await env.get(0, {}, sk)).status).toBe(429);
    await env.close();
  });

  it("a project's settings override the deployment's rules", async () => {
    const env = await instances(backend, { RATE_LIMIT_PK: "1/1m" });
    const project = (await env.deps.projects.list())[0]!;
    await env.deps.projects.update(project.id, { settings: { rateLimits: { pk: "off" } } });
    for (let i = 0; i < 5; i++) {
      const res = await env.get();
      expect(res.status).toBe(404);
      expect(res.headers.get("ratelimit-limit")).toBeNull();
    }
    await env.deps.projects.update(project.id, { settings: { rateLimits: { pk: "2/1m" } } });
    expect([(await env.get()).status, (await env.get()).status, (await env.get()).status]).toEqual([404, 404, 429]);
    await env.close();
  });
});

describe("the 429 on a development server", () => {
  it("says how to turn the limit off: the deployment's variable, or the project's setting where it has its own", async () => {
    const env = await instances("memory", { NODE_ENV: "development", RATE_LIMIT_PK: "1/1m" });
    await env.get();
    expect((await (await env.get()).json()).message).toMatch(
      /; retry in \d+ s \(while developing, RATE_LIMIT_PK=off turns it off\)$/,
    );
    const project = (await env.deps.projects.list())[0]!;
    await env.deps.projects.update(project.id, { settings: { rateLimits: { pk: "1/1m" } } });
    await env.get();
    expect((await (await env.get()).json()).message).toMatch(
      /\(while developing, the project's settings.rateLimits.pk "off" turns it off\)$/,
    );
    await env.close();
  });
});

describe("rate limits across instances (Upstash)", () => {
  it("two instances sharing one Redis enforce one limit together", async () => {
    const env = await instances("upstash", { RATE_LIMIT_PK: "4/1m" }, 2);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await env.get(i % 2)).status);
    expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
    await env.close();
  });
});

describe("the Upstash limiter's memory of blocked subjects", () => {
  it("is bounded: past it the oldest is forgotten and costs one Redis call, which still refuses it", async () => {
    const limiter = upstashLimiter({ url: shim.url, token: shim.token, remembered: 2 });
    const stats = await RespConnection.open(redis.port);
    const scriptCalls = async () => {
      const info = String(await stats.command(["INFO", "commandstats"]));
      return [...info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const subject = (name: string) => `blocked-${++namespace}-${name}`;
    const [a, b, c] = [subject("a"), subject("b"), subject("c")];
    for (const s of [a, b, c]) {
      expect((await limiter.check(s, 1, 60_000)).allowed).toBe(true);
      expect((await limiter.check(s, 1, 60_000)).allowed).toBe(false); // now remembered as blocked
    }
    let before = await scriptCalls();
    expect((await limiter.check(c, 1, 60_000)).allowed).toBe(false);
    expect(await scriptCalls()).toBe(before); // remembered: no Redis call
    before = await scriptCalls();
    expect((await limiter.check(a, 1, 60_000)).allowed).toBe(false);
    expect(await scriptCalls()).toBeGreaterThan(before); // forgotten (the oldest of three): asked Redis again
    stats.close();
  });
});

describe("when Redis fails", () => {
  it("open rules answer, closed rules are 503, each within a second", async () => {
    const ownRedis = await startRedis();
    const ownShim = await startUpstashShim(ownRedis.port);
    const store = await openEmbeddedStore({ dataDir: null });
    const upstash = { UPSTASH_REDIS_REST_URL: ownShim.url, UPSTASH_REDIS_REST_TOKEN: ownShim.token };
    const open = await instances("memory", { ...upstash, RATE_LIMIT_PK: "100/1m" }, 1, store);
    const closed = await instances(
      "memory",
      { ...upstash, RATE_LIMIT_PK: "100/1m", RATE_LIMIT_ON_FAILURE_PK: "closed" },
      1,
      store,
    );
    expect((await open.get()).headers.get("ratelimit-limit")).toBe("100"); // Redis answers

    await ownRedis.stop(true); // killed mid-test
    let started = Date.now();
    const answered = await open.get();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(answered.status).toBe(404);
    expect(answered.headers.get("ratelimit-limit")).toBeNull();
    expect(open.log.lines.some((l) => l.message === "rate limiter unavailable")).toBe(true);

    started = Date.now();
    const refused = await closed.get();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    await ownShim.close();
    await store.close();
  });

  it("a Redis endpoint that never answers costs at most about a second", async () => {
    const silent: Server = createServer(() => undefined); // accepts connections, never replies
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const env = await instances("memory", {
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`,
      UPSTASH_REDIS_REST_TOKEN: "t",
      RATE_LIMIT_PK: "10/1m",
    });
    const started = Date.now();
    expect((await env.get()).status).toBe(404);
    expect(Date.now() - started).toBeLessThan(1500);
    await env.close();
    silent.close();
  });
});

describe("the auth rule", () => {
  const login = (app: ReturnType<typeof createAuthApp>, pk: string) =>
    app.request("/api/userAuth/login", {
      method: "POST",
      headers: { "x-api-key": pk, "content-type": "application/json", "x-forwarded-for": "198.51.100.9" },
      body: JSON.stringify({ email: "nobody@example.com", password: "wrong-password-1" }),
    });

  it("guards the routes that check a secret, open accounts or send mail; a signed-in user's own calls count as pk", async () => {
    const env = await instances("memory", { RATE_LIMIT_AUTH: "2/1m", RATE_LIMIT_PK: "100/1m", BCRYPT_COST: "4" });
    const auth = createAuthApp(env.deps);
    const call = (method: string, path: string, body?: unknown) =>
      auth.request(`/api/userAuth/${path}`, {
        method,
        headers: { "x-api-key": env.keys.publishable, "x-forwarded-for": "198.51.100.9" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const limitOf = (res: Response) => [res.status, res.headers.get("ratelimit-limit")];
    expect(limitOf(await login(auth, env.keys.publishable))).toEqual([401, "2"]);
    expect(limitOf(await call("POST", "signup", { email: "a@example.com", password: "correct horse 1" }))).toEqual([
      201,
      "2",
    ]);
    for (const [method, path, body] of [
      ["POST", "login", { email: "a@example.com", password: "x" }],
      ["POST", "%6Cogin", { email: "a@example.com", password: "x" }], // the same route, percent-encoded
      ["POST", "verify-email", { email: "a@example.com", otp: "000000" }],
      ["POST", "resend-verification", { email: "a@example.com" }],
      ["POST", "request-password-reset", { email: "a@example.com" }],
      ["POST", "reset-password", { email: "a@example.com", otp: "000000", newPassword: "another one 1" }],
      ["PUT", "change-password", { currentPassword: "x", newPassword: "another one 1" }],
      ["DELETE", "me", { password: "x" }],
      ["GET", "social/github/start"],
      ["POST", "social/exchange", { token: "t", rtCode: "c" }],
    ] as const) {
      expect({ path, status: (await call(method, path, body)).status }).toEqual({ path, status: 429 });
    }
    for (const [method, path] of [
      ["GET", "me"],
      ["PUT", "update-profile"],
      ["POST", "refresh-token"],
      ["POST", "logout"],
      ["GET", "sessions"],
      ["GET", "public/someone"],
    ] as const) {
      const res = await call(method, path, method === "GET" ? undefined : {});
      expect(res.status, path).not.toBe(429);
      expect(res.headers.get("ratelimit-limit"), path).toBe("100");
    }
    await env.close();
  });

  it("is stricter and separate from the data rule; it closes (503) when Redis cannot answer", async () => {
    const env = await instances("upstash", { RATE_LIMIT_AUTH: "2/1m", RATE_LIMIT_PK: "100/1m", BCRYPT_COST: "4" });
    const auth = createAuthApp(env.deps);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await login(auth, env.keys.publishable)).status);
    expect(statuses).toEqual([401, 401, 429]);
    expect((await env.get()).status).toBe(404); // the data rule still has room

    const dead = await createDeps(
      testConfig({
        RATE_LIMIT_AUTH: "2/1m",
        UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
        UPSTASH_REDIS_REST_TOKEN: "t",
      }),
      { store: env.deps.store, log: memoryLogger() },
    );
    const started = Date.now();
    const refused = await login(createAuthApp(dead), env.keys.publishable);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(refused.status).toBe(503);
    await env.close();
  });
});

describe("one request counts once", () => {
  it("on every keyed route of every function (middleware registered for a path and its subtree runs once)", async () => {
    const limits = { RATE_LIMIT_PK: "1000/1h", RATE_LIMIT_SK: "1000/1h", RATE_LIMIT_AUTH: "1000/1h" };
    const deps = await testDeps({ env: limits });
    const app = createLocalApp(deps);
    const { keys } = await deps.projects.create({ name: "count-once" });
    const routes: Array<[string, string, string]> = [
      ["GET", "/api/data/items", keys.publishable],
      ["GET", "/api/data/items/0123456789abcdef01234567", keys.publishable],
      ["POST", "/api/data/items/aggregate", keys.secret],
      ["POST", "/api/data/items/bulk", keys.secret],
      ["GET", "/api/schemas", keys.publishable],
      ["POST", "/api/schemas", keys.secret],
      ["GET", "/api/schemas/items", keys.secret],
      ["GET", "/api/userAuth/me", keys.publishable],
      ["POST", "/api/userAuth/login", keys.publishable],
      ["POST", "/api/storage/upload-url", keys.publishable],
      ["POST", "/api/storage/upload", keys.secret],
    ];
    for (const [method, path, key] of routes) {
      const remaining = [];
      for (let i = 0; i < 2; i++) {
        const res = await app.fetch(
          new Request(`http://localhost${path}`, {
            method,
            headers: { "x-api-key": key },
            body: method === "GET" ? null : "{}",
          }),
        );
        remaining.push(Number(res.headers.get("ratelimit-remaining")));
      }
      expect({ route: `${method} ${path}`, spent: remaining[0]! - remaining[1]! }).toEqual({
        route: `${method} ${path}`,
        spent: 1,
      });
    }
    await deps.store.close();
  });
});

describe("rateLimitSubject", () => {
  it.each([
    ["203.0.113.9", "203.0.113.9"],
    ["::ffff:203.0.113.9", "203.0.113.9"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"],
    ["2001:DB8::1", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["64:ff9b::192.0.2.1", "64:ff9b:0:0::/64"],
    ["unknown", "unknown"],
    ["1:2:3", "1:2:3"],
    ["1::2::3", "1::2::3"],
    ["zz:1:2:3:4:5:6:7", "zz:1:2:3:4:5:6:7"],
  ])("%s → %s", (ip, subject) => {
    expect(rateLimitSubject(ip)).toBe(subject);
  });
});

describe("rules and configuration", () => {
  it("parses <count>/<window> and off; refuses anything else", () => {
    expect(parseRule("100/15m")).toEqual({ limit: 100, windowMs: 900_000 });
    expect(parseRule("20/30s")).toEqual({ limit: 20, windowMs: 30_000 });
    expect(parseRule("5/2h")).toEqual({ limit: 5, windowMs: 7_200_000 });
    expect(parseRule("OFF")).toBe("off");
    for (const bad of ["", "100", "0/1m", "10/0m", "10/1d", "-1/1m", "1e3/1m", "10 / 1m"])
      expect(parseRule(bad)).toBeUndefined();
  });

  it("defaults: pk 100/15m and open, auth 20/15m and closed, sk 1000/1m and open; every problem named", () => {
    const { config, problems } = loadRateLimitConfig({});
    expect(problems).toEqual([]);
    expect(config.rules).toEqual({
      pk: { limit: 100, windowMs: 900_000 },
      auth: { limit: 20, windowMs: 900_000 },
      sk: { limit: 1000, windowMs: 60_000 },
    });
    expect(config.failOpen).toEqual({ pk: true, auth: false, sk: true });
    expect(config.trustedProxy).toBe("none");
    const bad = loadRateLimitConfig({
      RATE_LIMIT_PK: "lots",
      RATE_LIMIT_ON_FAILURE_AUTH: "maybe",
      UPSTASH_REDIS_REST_URL: "http://x",
      TRUSTED_PROXY: "everyone",
    });
    expect(bad.problems.map((p) => p.split(":")[0])).toEqual([
      "RATE_LIMIT_PK",
      "RATE_LIMIT_ON_FAILURE_AUTH",
      "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
      "TRUSTED_PROXY",
    ]);
  });

  it("in production, an Upstash URL is https, or http to this machine only (the token goes with every request)", () => {
    const problems = (url: string, production = true) =>
      loadRateLimitConfig({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: "t" }, { production }).problems;
    expect(problems("http://eu1-redis.upstash.io")).toEqual([
      "UPSTASH_REDIS_REST_URL: must be https:// in production (http:// would send the token in the clear)",
    ]);
    expect(problems("http://localhost.evil.example:8079")).toHaveLength(1);
    expect(problems("http://localhost:8079@eu1-redis.upstash.io")).toHaveLength(1);
    for (const url of [
      "https://eu1-redis.upstash.io",
      "http://127.0.0.1:8079",
      "http://localhost",
      "http://[::1]:80/",
    ]) {
      expect(problems(url), url).toEqual([]);
    }
    expect(problems("http://eu1-redis.upstash.io", false)).toEqual([]);
  });

  it("without a trusted proxy, client-sent X-Forwarded-For is ignored (one bucket for all)", async () => {
    const env = await instances("memory", { RATE_LIMIT_PK: "2/1m", TRUSTED_PROXY: "none" });
    const statuses = [];
    for (const ip of ["1.1.1.1", "2.2.2.2", "3.3.3.3"])
      statuses.push((await env.get(0, { "x-forwarded-for": ip })).status);
    expect(statuses).toEqual([404, 404, 429]);
    await env.close();
  });
});
