import type { Hono } from "hono";
import { requireApiKey } from "../../shared/api-key.js";
import { type AppEnv, createBaseApp } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { looksLikeUsers } from "../../shared/schema/names.js";
import { documentRoutes } from "./documents.js";
import { schemaRoutes } from "./schemas.js";

const safeDecode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** The data function: documents under /api/data (API.md §5) and definitions under /api/schemas (§4.1). */
export function createDataApp(deps: Deps): Hono<AppEnv> {
  const app = createBaseApp(deps);
  app.use("/api/data/*", requireApiKey(deps));
  app.use("/api/schemas/*", requireApiKey(deps)); // "/*" matches "/api/schemas" itself too
  // End users live behind /api/userAuth only: /api/data/users (any case) and below are closed to every key.
  app.use("/api/data/*", async (c, next) => {
    // The collection segment as any router could read it: decoded, up to an encoded "/" (users%2Fx).
    const segment = safeDecode(c.req.path.split("/")[3] ?? "").split("/")[0] ?? "";
    if (looksLikeUsers(segment)) throw new ApiError("USERS_COLLECTION_BLOCKED");
    await next();
  });
  app.route("/api/data", documentRoutes(deps));
  app.route("/api/schemas", schemaRoutes(deps));
  return app;
}
