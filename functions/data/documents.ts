import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { aggregateRoutes } from "./aggregate.js";
import { readRoutes } from "./read.js";
import { writeRoutes } from "./write.js";

/** The document routes of the data function (API.md §5), mounted under /api/data. */
export function documentRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.route("/", aggregateRoutes(deps));
  routes.route("/", readRoutes(deps));
  routes.route("/", writeRoutes(deps));
  return routes;
}
