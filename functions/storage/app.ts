import type { Hono } from "hono";
import { type AppEnv, createBaseApp } from "../../shared/app";
import type { Deps } from "../../shared/deps";

/** The storage function (`/api/storage/*`); for now the base app only: health, CORS, errors. */
export function createStorageApp(deps: Deps): Hono<AppEnv> {
  return createBaseApp(deps);
}
