/**
 * One fetch handler for all four functions, as the local server serves them on one port.
 * Each request goes to exactly one app, chosen by path prefix, so no middleware runs twice.
 */
import type { ExecutionContext } from "hono";
import { getPath } from "hono/utils/url";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import { createStorageApp } from "../functions/storage/app.js";
import type { Deps } from "./deps.js";
import { type FunctionName, functionFor } from "./functions.js";
import { openBlobStore } from "./storage/index.js";

/** A fetch handler with the Workers/Hono signature. */
export type FetchHandler = (request: Request, env?: object, ctx?: ExecutionContext) => Response | Promise<Response>;

/** Builds the four apps once from the same deps and blob store (so they share caches) and dispatches by path prefix. */
export function createLocalApp(deps: Deps): { fetch: FetchHandler } {
  const blobs = openBlobStore(deps.config);
  const apps: Record<FunctionName, { fetch: FetchHandler }> = {
    auth: createAuthApp(deps),
    data: createDataApp(deps),
    storage: createStorageApp(deps, { blobs }),
    admin: createAdminApp(deps, { blobs }),
  };
  return {
    fetch: (request, env, ctx) => apps[functionFor(getPath(request))].fetch(request, env, ctx),
  };
}
