import { expect, vi } from "vitest";
import { type Config, loadConfig } from "../shared/config.js";
import { type Clock, createDeps, type Deps, type Logger } from "../shared/deps.js";
import { ApiError, type ErrorDetail } from "../shared/errors.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import type { Database, DocumentStore } from "../shared/store/types.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** A promise and the function that resolves it (Promise.withResolvers, which Node 20 lacks). */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A clock tests can move. */
export function fakeClock(start = Date.parse("2026-01-01T00:00:00Z")): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

/** A logger that keeps what it is told, so tests can assert on it and keep output quiet. */
/**
 * Runs `run` while every look at `Date.now()` moves the clock `ms` ahead: how far a time limit lets
 * work go then depends on how much work the code counts between looks, not on this machine's speed.
 * Answers what `run` answered and how far the clock moved.
 */
export async function whileEachLookMovesClock<T>(
  ms: number,
  run: () => Promise<T>,
): Promise<{ result: T; moved: number }> {
  const started = Date.now();
  let now = started;
  const clock = vi.spyOn(Date, "now").mockImplementation(() => (now += ms));
  try {
    return { result: await run(), moved: now - started };
  } finally {
    clock.mockRestore();
  }
}

export function memoryLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: unknown }> } {
  const lines: Array<{ level: string; message: string; fields?: unknown }> = [];
  const push = (level: string) => (message: string, fields?: unknown) => void lines.push({ level, message, fields });
  return { lines, info: push("info"), warn: push("warn"), error: push("error") };
}

/** Test configuration: in-memory embedded store, a known admin token; `env` overrides variables. */
export function testConfig(env: Record<string, string> = {}): Config {
  // Rate limits are off unless a test turns them on (test/ratelimit-*.test.ts).
  const limits = { RATE_LIMIT_PK: "off", RATE_LIMIT_AUTH: "off", RATE_LIMIT_SK: "off" };
  return loadConfig({ NODE_ENV: "test", ADMIN_TOKEN, ...limits, ...env });
}

/**
 * FUZZ_JITTER=1 (for soaks of the model fuzzes, never in CI): every collection call first waits none
 * (40 %), 1–4 event-loop turns (50 %) or 1–3 ms, as a networked store answers, so requests sent
 * together reach the interleavings between two store calls that the in-process store, answering in
 * lockstep, almost never shows (soak8 found an OTP race so). The delays are random: FC_SEED replays
 * a failure's requests, not always its interleaving.
 */
function jitter(store: DocumentStore): void {
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const delay = async () => {
    const x = Math.random();
    if (x < 0.4) return;
    if (x < 0.9) for (let n = 1 + Math.floor(Math.random() * 4); n > 0; n--) await turn();
    else await new Promise((resolve) => setTimeout(resolve, 1 + Math.floor(Math.random() * 3)));
  };
  const slow = (db: Database): Database =>
    new Proxy(db, {
      get: (target, key) =>
        key === "collection"
          ? (name: string) =>
              new Proxy(target.collection(name), {
                get: (collection, method) => {
                  const value = Reflect.get(collection, method);
                  if (typeof value !== "function") return value;
                  return async (...args: unknown[]) => {
                    await delay();
                    return value.apply(collection, args);
                  };
                },
              })
          : Reflect.get(target, key),
    });
  // Own properties of the store, so the hooks above (vi.spyOn) wrap them as they wrap the originals.
  const [platform, tenant] = [store.platform.bind(store), store.tenant.bind(store)];
  store.platform = () => slow(platform());
  store.tenant = (location) => slow(tenant(location));
}

/** Real dependencies over an embedded store: in memory, or on disk in `dataDir` when given. */
export async function testDeps(
  options: { env?: Record<string, string>; clock?: Clock; dataDir?: string | null } = {},
): Promise<Deps & { log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger();
  const store = await openEmbeddedStore({ dataDir: options.dataDir ?? null });
  if (process.env.FUZZ_JITTER) jitter(store);
  const deps = await createDeps(testConfig(options.env), {
    store,
    log,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { ...deps, log };
}

/** The ApiError a call throws (fails the test when it does not throw one). */
export function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected an ApiError");
}

/** The paths of an error's details. */
export const detailPaths = (details: ErrorDetail[] | undefined) => (details ?? []).map((d) => d.path);

/** One call of a collection's method, as aroundPlatform (and aroundCollections) sees it. */
export interface PlatformCall {
  collection: string;
  method: string;
  args: unknown[];
}

/**
 * Runs every method call of the platform database's collections through `around`, which gets the call
 * and the function that makes it, until vi.restoreAllMocks(): to fail or hold a platform store step.
 */
export function aroundPlatform(
  deps: Pick<Deps, "store">,
  around: (call: PlatformCall, run: () => Promise<unknown>) => Promise<unknown>,
): void {
  // A hook already in place (a harness's) stays underneath: spying again would replace it.
  const current = deps.store.platform;
  const platform = (vi.isMockFunction(current) && current.getMockImplementation()) || current.bind(deps.store);
  const wrap = (collection: string, target: object) =>
    new Proxy(target, {
      get: (inner, key) => {
        const value = Reflect.get(inner, key);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) =>
          around({ collection, method: String(key), args }, () => value.apply(inner, args));
      },
    });
  vi.spyOn(deps.store, "platform").mockImplementation(() => {
    const db = platform();
    return new Proxy(db, {
      get: (target, key) =>
        key === "collection" ? (name: string) => wrap(name, target.collection(name)) : Reflect.get(target, key),
    });
  });
}

/**
 * Runs the named methods of the named tenant collections (`{users: ["count", "insertOne"]}`) through
 * `around`, which gets the call to make (and what it is), until vi.restoreAllMocks(): to delay or hold a store step.
 * The collection registry's own calls (index sync, the checks of a definition change) go through it too.
 */
export function aroundCollections(
  deps: Deps,
  methods: Record<string, string[]>,
  around: (run: () => Promise<unknown>, call: PlatformCall) => Promise<unknown>,
): void {
  const tenant = deps.store.tenant.bind(deps.store);
  const wrap = <T extends object>(name: string, collection: T, names: string[]): T =>
    new Proxy(collection, {
      get: (target, key) => {
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        if (!names.includes(String(key))) return value.bind(target);
        return (...args: unknown[]) =>
          around(() => value.apply(target, args), { collection: name, method: String(key), args });
      },
    });
  vi.spyOn(deps.store, "tenant").mockImplementation((location) => {
    const db = tenant(location);
    return new Proxy(db, {
      get: (target, key) =>
        key === "collection"
          ? (name: string) =>
              methods[name] ? wrap(name, target.collection(name), methods[name]) : target.collection(name)
          : Reflect.get(target, key),
    });
  });
}

/**
 * Makes the named methods of the named tenant collections answer `ms` later, as a networked MongoDB
 * does (`{users: ["count", "insertOne"]}`), until vi.restoreAllMocks(): races that one process's
 * store never shows.
 */
export function slowCollections(deps: Deps, methods: Record<string, string[]>, ms = 20): void {
  aroundCollections(deps, methods, async (run) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return run();
  });
}
