import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requireApiKey } from "../shared/api-key.js";
import { type AppEnv, createBaseApp } from "../shared/app.js";
import { createSecretBox } from "../shared/crypto.js";
import type { Deps } from "../shared/deps.js";
import { ERROR_CODES } from "../shared/errors.js";
import { createProjectService } from "../shared/projects.js";
import type { Collection, Database, DocumentStore } from "../shared/store/types.js";
import { fakeClock, testDeps } from "./helpers.js";

type Keys = { publishable: string; secret: string };

/** The one message of API_KEY_INVALID, whatever the reason. */
const INVALID = ERROR_CODES.API_KEY_INVALID[1];

/** A tiny project-facing app: the key middleware and one route naming the caller. */
function whoamiApp(deps: Deps): Hono<AppEnv> {
  const app = createBaseApp(deps);
  app.use("/api/whoami", requireApiKey(deps));
  app.get("/api/whoami", (c) => {
    const { project, keyType } = c.get("principal");
    return c.json({ success: true, data: { projectId: project.id, keyType } });
  });
  return app;
}

/** Wraps a real store so the first `keys.findOne` waits, after reading, until `release()`. */
function gateFirstKeyRead(store: DocumentStore) {
  let release = () => {};
  let reached = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const atGate = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let gated = false;
  const bind = <T extends object>(target: T, name: PropertyKey) => {
    const value = Reflect.get(target, name);
    return typeof value === "function" ? value.bind(target) : value;
  };
  const collection = (db: Database, name: string): Collection => {
    const real = db.collection(name);
    if (name !== "keys") return real;
    return new Proxy(real, {
      get: (target, prop) =>
        prop !== "findOne"
          ? bind(target, prop)
          : async (...args: Parameters<Collection["findOne"]>) => {
              const doc = await target.findOne(...args);
              if (!gated) {
                gated = true;
                reached();
                await gate;
              }
              return doc;
            },
    });
  };
  const wrapped = new Proxy(store, {
    get: (target, prop) => {
      if (prop !== "platform") return bind(target, prop);
      return () => {
        const db = target.platform();
        return new Proxy(db, {
          get: (t, p) => (p === "collection" ? (name: string) => collection(t, name) : bind(t, p)),
        });
      };
    },
  });
  return { store: wrapped, reached: atGate, release: () => release() };
}

describe("requireApiKey", () => {
  let clock: ReturnType<typeof fakeClock>;
  let deps: Deps;
  let app: Hono<AppEnv>;
  let mine: { id: string; keys: Keys };
  let other: { id: string; keys: Keys };
  let rotatedOut: Keys;

  beforeEach(async () => {
    clock = fakeClock();
    deps = await testDeps({ clock });
    app = whoamiApp(deps);
    const a = await deps.projects.create({ name: "mine" });
    const b = await deps.projects.create({ name: "other" });
    mine = { id: a.project.id, keys: a.keys };
    other = { id: b.project.id, keys: b.keys };
    rotatedOut = a.keys;
    const rotated = await deps.projects.rotateKeys(mine.id, "both", 0);
    mine.keys = rotated as Keys;
  });
  afterEach(() => deps.store.close());

  const call = (init: { key?: string; query?: string } = {}) =>
    app.request(`/api/whoami${init.query === undefined ? "" : `?key=${encodeURIComponent(init.query)}`}`, {
      headers: init.key === undefined ? {} : { "x-api-key": init.key },
    });

  const matrix: Array<{
    name: string;
    request: () => { key?: string; query?: string };
    status: number;
    code?: string;
    /** The envelope's message, when not the code's own. */
    message?: string;
    project?: () => string;
    keyType?: string;
  }> = [
    { name: "missing key", request: () => ({}), status: 401, code: "API_KEY_MISSING" },
    { name: "empty header", request: () => ({ key: "" }), status: 401, code: "API_KEY_MISSING" },
    { name: "garbage", request: () => ({ key: "hello" }), status: 401, code: "API_KEY_INVALID" },
    {
      name: "well-formed but unknown pk",
      request: () => ({ key: `pk_live_${"A".repeat(43)}` }),
      status: 401,
      code: "API_KEY_INVALID",
    },
    {
      name: "well-formed but unknown sk",
      request: () => ({ key: `sk_live_${"A".repeat(43)}` }),
      status: 401,
      code: "API_KEY_INVALID",
    },
    {
      name: "pk body under an sk prefix",
      request: () => ({ key: mine.keys.publishable.replace("pk_", "sk_") }),
      status: 401,
      code: "API_KEY_INVALID",
    },
    { name: "rotated-out pk", request: () => ({ key: rotatedOut.publishable }), status: 401, code: "API_KEY_INVALID" },
    { name: "rotated-out sk", request: () => ({ key: rotatedOut.secret }), status: 401, code: "API_KEY_INVALID" },
    {
      name: "pk in header",
      request: () => ({ key: mine.keys.publishable }),
      status: 200,
      project: () => mine.id,
      keyType: "publishable",
    },
    {
      name: "sk in header",
      request: () => ({ key: mine.keys.secret }),
      status: 200,
      project: () => mine.id,
      keyType: "secret",
    },
    {
      name: "other project's pk resolves to the other project",
      request: () => ({ key: other.keys.publishable }),
      status: 200,
      project: () => other.id,
      keyType: "publishable",
    },
    {
      name: "other project's sk resolves to the other project",
      request: () => ({ key: other.keys.secret }),
      status: 200,
      project: () => other.id,
      keyType: "secret",
    },
    {
      name: "pk in ?key=",
      request: () => ({ query: mine.keys.publishable }),
      status: 200,
      project: () => mine.id,
      keyType: "publishable",
    },
    {
      name: "sk in ?key= is refused",
      request: () => ({ query: mine.keys.secret }),
      status: 401,
      code: "API_KEY_INVALID",
      message: "A secret key is not accepted in the URL: send it in the x-api-key header",
    },
    {
      name: "a made-up sk in ?key= is refused alike (the prefix alone decides the message)",
      request: () => ({ query: `sk_live_${"A".repeat(43)}` }),
      status: 401,
      code: "API_KEY_INVALID",
      message: "A secret key is not accepted in the URL: send it in the x-api-key header",
    },
    { name: "garbage in ?key=", request: () => ({ query: "nope" }), status: 401, code: "API_KEY_INVALID" },
    { name: "empty ?key=", request: () => ({ query: "" }), status: 401, code: "API_KEY_MISSING" },
  ];

  it.each(matrix)("$name → $status", async ({ request, status, code, message, project, keyType }) => {
    const res = await call(request());
    const body = await res.json();
    expect(res.status).toBe(status);
    if (code) {
      expect(body).toMatchObject({ success: false, code });
      if (code === "API_KEY_INVALID") expect(body.message).toBe(message ?? INVALID);
    } else {
      expect(body.data).toEqual({ projectId: project?.(), keyType });
    }
  });

  it("keeps a rotated-out key valid for the grace period, then refuses it", async () => {
    const before = mine.keys;
    await deps.projects.rotateKeys(mine.id, "secret", 60);
    clock.advance(59_000);
    expect((await call({ key: before.secret })).status).toBe(200);
    // Cached now; the cache must still honour the key's own expiry.
    const reads = deps.projects.stats().storeReads;
    expect((await call({ key: before.secret })).status).toBe(200);
    expect(deps.projects.stats().storeReads).toBe(reads);
    clock.advance(1_000);
    const res = await call({ key: before.secret });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe("API_KEY_INVALID");
    // The publishable key was not rotated.
    expect((await call({ key: before.publishable })).status).toBe(200);
  });

  it("resolves a warm key without a store read", async () => {
    expect((await call({ key: mine.keys.secret })).status).toBe(200);
    const reads = deps.projects.stats().storeReads;
    expect(reads).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await call({ key: mine.keys.secret })).status).toBe(200);
    expect(deps.projects.stats().storeReads).toBe(reads);
  });

  it("remembers unknown keys briefly, so they do not hammer the store", async () => {
    const unknown = `sk_live_${"B".repeat(43)}`;
    expect((await call({ key: unknown })).status).toBe(401);
    const reads = deps.projects.stats().storeReads;
    expect((await call({ key: unknown })).status).toBe(401);
    expect(deps.projects.stats().storeReads).toBe(reads);
    expect((await call({ key: "garbage" })).status).toBe(401);
    expect(deps.projects.stats().storeReads).toBe(reads);
  });

  it("re-reads a cached key after the cache TTL", async () => {
    expect((await call({ key: mine.keys.secret })).status).toBe(200);
    const reads = deps.projects.stats().storeReads;
    clock.advance(deps.config.keyCacheTtlSeconds * 1000);
    expect((await call({ key: mine.keys.secret })).status).toBe(200);
    expect(deps.projects.stats().storeReads).toBeGreaterThan(reads);
  });

  it("invalidates immediately when keys are rotated on this instance", async () => {
    const old = mine.keys;
    expect((await call({ key: old.secret })).status).toBe(200);
    expect((await call({ key: old.publishable })).status).toBe(200);
    const fresh = await deps.projects.rotateKeys(mine.id, "both");
    expect((await call({ key: old.secret })).status).toBe(401);
    // One answer for every reason, which names rotation beside a typo.
    const rotated = await call({ key: old.publishable });
    expect([rotated.status, (await rotated.json()).message]).toEqual([401, INVALID]);
    expect(INVALID).toMatch(/mistyped.*rotated.*graceSeconds.*current key/);
    expect((await call({ key: fresh?.secret })).status).toBe(200);
    // The other project's cached key is untouched.
    expect((await call({ key: other.keys.secret })).status).toBe(200);
  });

  it("invalidates immediately when the project is updated or removed on this instance", async () => {
    expect((await call({ key: mine.keys.publishable })).status).toBe(200);
    await deps.projects.update(mine.id, { allowedOrigins: ["https://app.example.com"] });
    expect((await call({ key: mine.keys.publishable })).status).toBe(403);
    await deps.projects.remove(mine.id);
    expect((await call({ key: mine.keys.secret })).status).toBe(401);
  });

  it("bounds the cache and shares one lookup between concurrent requests", async () => {
    const service = (maxCacheEntries?: number) =>
      createProjectService({
        store: deps.store,
        clock,
        secretBox: createSecretBox(undefined),
        keyCacheTtlMs: 30_000,
        maxCacheEntries,
      });
    const cold = service();
    const results = await Promise.all(Array.from({ length: 10 }, () => cold.resolveKey(mine.keys.secret)));
    expect(results.every((p) => p?.project.id === mine.id)).toBe(true);
    expect(cold.stats().storeReads).toBe(2);

    const small = service(1);
    await small.resolveKey(mine.keys.secret);
    await small.resolveKey(other.keys.secret);
    const reads = small.stats().storeReads;
    expect((await small.resolveKey(mine.keys.secret))?.project.id).toBe(mine.id);
    expect(small.stats().storeReads).toBeGreaterThan(reads);
  });

  it("does not keep a lookup that was in flight while the keys were rotated", async () => {
    // The real store, with the first read of a key held until we let it go.
    const gate = gateFirstKeyRead(deps.store);
    const service = createProjectService({
      store: gate.store,
      clock,
      secretBox: createSecretBox(undefined),
      keyCacheTtlMs: 30_000,
    });
    const old = mine.keys.secret;
    const first = service.resolveKey(old);
    await gate.reached;
    await service.rotateKeys(mine.id, "secret", 0);
    const second = service.resolveKey(old);
    await new Promise((resolve) => setTimeout(resolve, 20));
    gate.release();
    expect((await first)?.project.id).toBe(mine.id);
    expect(await second).toBeNull();
    expect(await service.resolveKey(old)).toBeNull();
  });

  it("sees a rotation done by another instance within the cache TTL", async () => {
    const elsewhere = createProjectService({
      store: deps.store,
      clock,
      secretBox: createSecretBox(undefined),
      keyCacheTtlMs: deps.config.keyCacheTtlSeconds * 1000,
    });
    const second = whoamiApp({ ...deps, projects: elsewhere });
    const viaSecond = (key: string) => second.request("/api/whoami", { headers: { "x-api-key": key } });
    const old = mine.keys.secret;
    expect((await viaSecond(old)).status).toBe(200);
    await deps.projects.rotateKeys(mine.id, "secret", 0);
    expect((await call({ key: old })).status).toBe(401);
    clock.advance(deps.config.keyCacheTtlSeconds * 1000);
    expect((await viaSecond(old)).status).toBe(401);
  });
});

describe("secrets at rest", () => {
  it("seals the per-project JWT secret when ENCRYPTION_KEY is set", async () => {
    const deps = await testDeps({ env: { ENCRYPTION_KEY: "a".repeat(64) } });
    try {
      const { project, keys } = await deps.projects.create({
        name: "sealed",
        settings: { database: { uri: "mongodb://user:pass@db.example.com/app" } },
      });
      const stored = await deps.store.platform().collection("projects").findOne({ _id: project.id });
      const principal = await deps.projects.resolveKey(keys.secret);
      expect(principal?.project.jwtSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(principal?.project.databaseUri).toBe("mongodb://user:pass@db.example.com/app");
      const text = JSON.stringify(stored);
      expect(stored?.jwtSecret).toMatch(/^aes:/);
      expect(text).not.toContain(principal?.project.jwtSecret);
      expect(text).not.toContain("user:pass");
      const storedKeys = JSON.stringify(await deps.store.platform().collection("keys").find({ projectId: project.id }));
      expect(storedKeys).not.toContain(keys.secret);
      expect(storedKeys).not.toContain(keys.publishable);
    } finally {
      await deps.store.close();
    }
  });
});
