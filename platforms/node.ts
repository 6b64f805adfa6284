/**
 * Deps for Node serverless platforms (AWS Lambda, Vercel): built once per instance from process.env,
 * with one MongoDB client at module scope and a small pool, reused by every request the instance serves.
 */
import type { Hono } from "hono";
import type { AppEnv } from "../shared/app";
import { loadConfig } from "../shared/config";
import { createDeps, type Deps } from "../shared/deps";
import { openStore } from "../shared/store";
import { openMongoStore } from "../shared/store/mongo";

const MAX_POOL_SIZE = 5;

let deps: Promise<Deps> | undefined;

/** This instance's deps (shared by the functions it serves). */
function instanceDeps(): Promise<Deps> {
  deps ??= (async () => {
    const config = loadConfig(process.env);
    const store =
      config.store.kind === "mongo"
        ? await openMongoStore({ ...config.store, maxPoolSize: MAX_POOL_SIZE })
        : await openStore(config.store);
    return createDeps(config, { store });
  })().catch((error) => {
    deps = undefined;
    throw error;
  });
  return deps;
}

/** A function's app on this instance, built on first use. */
export function instanceApp(createApp: (deps: Deps) => Hono<AppEnv>): () => Promise<Hono<AppEnv>> {
  let app: Promise<Hono<AppEnv>> | undefined;
  return () => {
    app ??= instanceDeps().then(createApp);
    return app;
  };
}
