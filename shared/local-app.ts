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
import { openBlobStore } from "./storage/index.js";

/** The functions of API.md §1. */
export type FunctionName = "auth" | "data" | "storage" | "admin";

/** A fetch handler with the Workers/Hono signature. */
export type FetchHandler = (request: Request, env?: object, ctx?: ExecutionContext) => Response | Promise<Response>;

/** The path prefixes of each function; the deploy configs (wrangler.toml, serverless.yml, vercel.json) route the same. */
export const PREFIXES: ReadonlyArray<readonly [string, FunctionName]> = [
  ["/api/userAuth", "auth"],
  ["/api/mail", "auth"],
  ["/api/data", "data"],
  ["/api/schemas", "data"],
  ["/api/storage", "storage"],
  ["/api/admin", "admin"],
];

/** Which function serves a path: the first whole-segment prefix match; anything else (health, 404s) → data. */
export function functionFor(pathname: string): FunctionName {
  for (const [prefix, name] of PREFIXES) {
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return name;
  }
  return "data";
}

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
