/** The admin function (API.md §9): the operator's API for projects and their keys. */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { requireAdmin } from "../../shared/api-key.js";
import { type AppEnv, createBaseApp } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { jsonBody, ok } from "../../shared/http.js";
import { isId } from "../../shared/ids.js";
import { forgetMailCount } from "../../shared/mail/allowance.js";
import { createProjectSchema, rotateKeysSchema, updateProjectSchema } from "../../shared/projects.js";
import { recountQuotas } from "../../shared/quotas.js";
import { removeProjectFiles } from "../../shared/storage/files.js";
import { openCleanupBlobStore } from "../../shared/storage/index.js";
import { forgetStorageCounter } from "../../shared/storage/quota.js";
import type { BlobStore } from "../../shared/storage/types.js";
import { forgetUsage } from "../../shared/usage/recorder.js";
import { refuseWildcardsOverPublicSuffixes } from "./origins.js";
import { refuseLimitsCountedPerInstance } from "./rate-limits.js";
import { usageRoutes } from "./usage.js";
import { projectUserRoutes } from "./users.js";

/** The `:id` path parameter, checked: malformed → 400 INVALID_ID. */
function projectId(c: Context): string {
  const id = c.req.param("id");
  if (!isId(id)) throw new ApiError("INVALID_ID");
  return id;
}

/** Checks `:id` before the body is read, so a bad id wins over a bad body. */
const checkId: MiddlewareHandler = async (c, next) => {
  projectId(c);
  await next();
};

function found<T>(value: T | null | false): T {
  if (value === null || value === false) throw new ApiError("PROJECT_NOT_FOUND");
  return value;
}

/** Builds the admin app; every `/api/admin/*` route needs the operator's admin token. */
export function createAdminApp(deps: Deps, options: { blobs?: BlobStore } = {}): Hono<AppEnv> {
  const app = createBaseApp(deps);
  const { projects } = deps;
  const blobs = options.blobs ?? openCleanupBlobStore(deps.config);
  // Per app: whether a project's own rate limit would hold depends on this function's configuration.
  const limitsHold = refuseLimitsCountedPerInstance(deps.config);
  const createBody = createProjectSchema.superRefine(refuseWildcardsOverPublicSuffixes).superRefine(limitsHold);
  const updateBody = updateProjectSchema.superRefine(refuseWildcardsOverPublicSuffixes).superRefine(limitsHold);

  app.use("/api/admin/*", requireAdmin(deps));

  app.post("/api/admin/projects", jsonBody(createBody), async (c) => {
    return ok(c, await projects.create(c.get("body")), 201);
  });

  app.get("/api/admin/projects", async (c) => ok(c, await projects.list()));

  /** This instance's counters: how many store reads key resolution has cost (0 per warm request). */
  app.get("/api/admin/stats", (c) => ok(c, { keyResolution: projects.stats() }));

  app.get("/api/admin/projects/:id", async (c) => ok(c, found(await projects.get(projectId(c)))));

  app.patch("/api/admin/projects/:id", checkId, jsonBody(updateBody), async (c) => {
    const updated = found(await projects.update(projectId(c), c.get("body")));
    // The counters hold what the project's database held: new quotas or a new database count afresh;
    // so does the storage counter after new storage settings (one left too high by a failed release).
    const { quotas, database, storage } = c.get("body").settings ?? {};
    if (quotas !== undefined || database !== undefined) await recountQuotas(deps, updated.id);
    if (storage !== undefined) await forgetStorageCounter(deps, updated.id);
    return ok(c, updated);
  });

  app.delete("/api/admin/projects/:id", async (c) => {
    const id = projectId(c);
    const removeData = async () => {
      await removeProjectFiles(deps, blobs, id);
      await recountQuotas(deps, id); // drops the quota counters
      await forgetMailCount(deps, id);
      await forgetUsage(deps, id);
    };
    found(await projects.remove(id, removeData));
    return ok(c, { id, deleted: true });
  });

  app.post("/api/admin/projects/:id/keys/rotate", checkId, jsonBody(rotateKeysSchema), async (c) => {
    const { which, graceSeconds } = c.get("body");
    return ok(c, { keys: found(await projects.rotateKeys(projectId(c), which, graceSeconds)) });
  });

  // End users and the development outbox (GET …/users, DELETE …/users/:userId, GET …/outbox).
  app.route("/api/admin/projects", projectUserRoutes(deps));

  // Usage counters and request logs (GET …/usage, GET …/logs).
  usageRoutes(app, deps);

  return app;
}
