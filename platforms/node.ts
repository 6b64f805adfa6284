/**
 * Deps for Node serverless platforms (AWS Lambda, Vercel): built once per instance from process.env,
 * with one MongoDB client at module scope and a small pool, reused by every request the instance serves.
 */
import type { Hono } from "hono";
import type { AppEnv } from "../shared/app";
import { type Env, loadConfig } from "../shared/config";
import { createDeps, type Deps } from "../shared/deps";
import { openStore } from "../shared/store";
import { openMongoStore } from "../shared/store/mongo";
import { withPlatformDefaults } from "./env-defaults";

const MAX_POOL_SIZE = 5;

/** The instance's deps per set of platform defaults (a deployed instance serves one platform: one entry). */
const instances = new Map<string, Promise<Deps>>();

/** This instance's deps (shared by the functions it serves), from process.env over the platform's defaults. */
function instanceDeps(defaults: Readonly<Env>): Promise<Deps> {
  const id = JSON.stringify(defaults);
  let deps = instances.get(id);
  if (!deps) {
    deps = (async () => {
      const config = loadConfig(withPlatformDefaults(process.env, defaults));
      const store =
        config.store.kind === "mongo"
          ? await openMongoStore({ ...config.store, maxPoolSize: MAX_POOL_SIZE })
          : await openStore(config.store);
      return createDeps(config, { store });
    })().catch((error) => {
      instances.delete(id);
      throw error;
    });
    instances.set(id, deps);
  }
  return deps;
}

/** A function's app on this instance, built on first use; `defaults`: the platform's (see env-defaults.ts). */
export function instanceApp(
  createApp: (deps: Deps) => Hono<AppEnv>,
  defaults: Readonly<Env> = {},
): () => Promise<Hono<AppEnv>> {
  let app: Promise<Hono<AppEnv>> | undefined;
  return () => {
    app ??= instanceDeps(defaults).then(createApp);
    return app;
  };
}
