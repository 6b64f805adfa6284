/**
 * Deps for Node serverless platforms (AWS Lambda, Vercel): built once per instance from process.env,
 * with one MongoDB client at module scope and a small pool, reused by every request the instance serves.
 * The app is built before the store is opened, so a configuration error is found first; an instance
 * that cannot build its app or open its store answers the error envelope (as the Workers entry does)
 * and tries again on its next request.
 */
import { Hono } from "hono";
import type { AppEnv } from "../shared/app.js";
import { type Config, type Env, type FunctionNeeds, loadConfig } from "../shared/config.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { openStore } from "../shared/store/index.js";
import { openMongoStore } from "../shared/store/mongo.js";
import { type DocumentStore, StoreUnavailableError } from "../shared/store/types.js";
import { withPlatformDefaults } from "./env-defaults.js";
import { misconfigured, unavailable } from "./failure.js";

const MAX_POOL_SIZE = 5;

/** An instance's deps, and how to open the store they use (once; again after a failure). */
interface Instance {
  deps: Deps;
  open(): Promise<void>;
}

/** The instance per set of platform defaults (a deployed instance serves one platform: one entry). */
const instances = new Map<string, Promise<Instance>>();

/** A store whose calls go to the instance's store once it is open (the deps are built before it is). */
function deferredStore(kind: DocumentStore["kind"], opened: () => DocumentStore | undefined): DocumentStore {
  const current = () => {
    const store = opened();
    if (!store) throw new StoreUnavailableError("Document store not open");
    return store;
  };
  return {
    kind,
    platform: () => current().platform(),
    tenant: (location) => current().tenant(location),
    ping: () => current().ping(),
    close: async () => opened()?.close(),
  };
}

async function createInstance(config: Config): Promise<Instance> {
  let store: DocumentStore | undefined;
  let opening: Promise<void> | undefined;
  const deps = await createDeps(config, { store: deferredStore(config.store.kind, () => store) });
  const open = async () => {
    opening ??= (
      config.store.kind === "mongo"
        ? openMongoStore({ ...config.store, maxPoolSize: MAX_POOL_SIZE })
        : openStore(config.store)
    ).then(
      (opened) => {
        store = opened;
      },
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    await opening;
  };
  return { deps, open };
}

/** This instance's deps (shared by the functions it serves), built from the first function's config. */
function instanceFor(defaults: Readonly<Env>, config: Config): Promise<Instance> {
  const id = JSON.stringify(defaults);
  let instance = instances.get(id);
  if (!instance) {
    instance = createInstance(config).catch((error) => {
      instances.delete(id);
      throw error;
    });
    instances.set(id, instance);
  }
  return instance;
}

/** An app that answers every request with `answer()` (a fresh envelope, with its own request id). */
const answering = (answer: (request: Request) => Response) => new Hono<AppEnv>().all("*", (c) => answer(c.req.raw));

/**
 * A function's app on this instance, built on first use from process.env over the platform's
 * `defaults` (see env-defaults.ts); `required`: variables this function cannot work without.
 * Until the app is built and the store open, each call returns an app answering the error envelope:
 * 500 "Server misconfigured" or 503 "Service unavailable", the cause in the log.
 */
export function instanceApp(
  createApp: (deps: Deps) => Hono<AppEnv>,
  defaults: Readonly<Env> = {},
  options: FunctionNeeds = {},
): () => Promise<Hono<AppEnv>> {
  let built: Promise<{ app: Hono<AppEnv>; instance: Instance }> | undefined;
  return async () => {
    built ??= (async () => {
      const env = withPlatformDefaults(process.env, defaults);
      // A deployed Lambda or Vercel instance has no disk that lasts: in production DATA_DIR cannot
      // stand in for MONGODB_URI (in development, e.g. `vercel dev`, it may).
      const config = loadConfig(env, { ...options, diskless: env.NODE_ENV?.trim() === "production" });
      const instance = await instanceFor(defaults, config);
      return { app: createApp(instance.deps), instance };
    })().catch((error) => {
      built = undefined;
      throw error;
    });
    let ready: Awaited<typeof built>;
    try {
      ready = await built;
    } catch (error) {
      return answering((request) => misconfigured(request, error));
    }
    try {
      await ready.instance.open();
    } catch (error) {
      return answering((request) => unavailable(request, error));
    }
    return ready.app;
  };
}
