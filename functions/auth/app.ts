import type { Hono } from "hono";
import { type AppEnv, createBaseApp } from "../../shared/app";
import type { Deps } from "../../shared/deps";

/** The auth function (`/api/userAuth/*`); for now the base app only: health, CORS, errors. */
export function createAuthApp(deps: Deps): Hono<AppEnv> {
  return createBaseApp(deps);
}
