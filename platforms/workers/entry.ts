/**
 * Cloudflare Workers entry for one function. The deps (config, caches) live per isolate; with
 * MONGODB_URI each request opens its own small MongoDB client and closes it in waitUntil, after the
 * work the request handed to waitUntil (a socket may not outlive its request on Workers). Without it
 * the isolate keeps an in-memory embedded store (previews and tests only: every isolate has its own),
 * so production requires MONGODB_URI; DATA_DIR means nothing here (Workers have no disk).
 * Client IPs come from `cf-connecting-ip` unless TRUSTED_PROXY says otherwise.
 */
import type { ExecutionContext } from "hono";
import { PendingWork } from "../../shared/background.js";
import { type FunctionNeeds, loadConfig } from "../../shared/config.js";
import { createDeps, type Deps } from "../../shared/deps.js";
import { openEmbeddedStore } from "../../shared/store/embedded/index.js";
import { openMongoStore } from "../../shared/store/mongo.js";
import { type ScopedStore, scopedStore } from "../../shared/store/scoped.js";
import { WORKERS_DEFAULTS, withPlatformDefaults } from "../env-defaults.js";
import { misconfigured, unavailable } from "../failure.js";

type Bindings = Record<string, unknown>;
/** What a Worker serves: a function's Hono app, or the local all-in-one dispatcher. */
type Served = { fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> };

/**
 * The variables and secrets of a Worker's env, as text: wrangler hands a `[vars]` value written as a
 * TOML number or boolean (`MAX_JSON_BYTES = 2048`) as that type, and it must be read (and checked)
 * like `"2048"`. Other bindings (KV, R2, services) are objects and are not configuration.
 */
const variables = (env: Bindings) =>
  Object.fromEntries(
    Object.entries(env)
      .filter(([, value]) => ["string", "number", "boolean"].includes(typeof value))
      .map(([name, value]) => [name, String(value)]),
  ) as Record<string, string>;

interface Instance {
  app: Served;
  mongo?: { scoped: ScopedStore; uri: string; dbPrefix: string };
}

async function build(env: Bindings, createApp: (deps: Deps) => Served, needs: FunctionNeeds): Promise<Instance> {
  const config = loadConfig(withPlatformDefaults(variables(env), WORKERS_DEFAULTS), { ...needs, diskless: true });
  if (config.store.kind === "mongo") {
    const scoped = scopedStore("mongo");
    const app = createApp(await createDeps(config, { store: scoped }));
    return { app, mongo: { scoped, uri: config.store.uri, dbPrefix: config.store.dbPrefix } };
  }
  return {
    app: createApp(
      await createDeps(config, { store: await openEmbeddedStore({ dataDir: null, aggregateInWorker: false }) }),
    ),
  };
}

/** The `export default` of a function's Worker. */
export function workerEntry(createApp: (deps: Deps) => Served, needs: FunctionNeeds = {}) {
  let instance: Promise<Instance> | undefined;
  return {
    async fetch(request: Request, env: Bindings, ctx: ExecutionContext): Promise<Response> {
      instance ??= build(env, createApp, needs).catch((error) => {
        instance = undefined;
        throw error;
      });
      const built = await instance.catch((error: unknown) => misconfigured(request, error));
      if (built instanceof Response) return built;
      const { app, mongo } = built;
      if (!mongo) return app.fetch(request, env, ctx);
      const store = await openMongoStore({ uri: mongo.uri, dbPrefix: mongo.dbPrefix, oneRequest: true }).catch(
        (error: unknown) => unavailable(request, error),
      );
      if (store instanceof Response) return store;
      // Work the app hands to waitUntil (mails, usage flushes) still needs the client: close it after that.
      const handedOver = new PendingWork();
      const requestCtx = {
        props: ctx.props,
        passThroughOnException: () => ctx.passThroughOnException(),
        waitUntil: (promise: Promise<unknown>) => {
          handedOver.add(promise);
          ctx.waitUntil(promise);
        },
      } as ExecutionContext;
      try {
        return await mongo.scoped.run(store, async () => app.fetch(request, env, requestCtx));
      } finally {
        ctx.waitUntil(handedOver.settled().then(() => store.close()));
      }
    },
  };
}
