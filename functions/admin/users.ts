/**
 * Operator routes over a project's end users (API.md §9): list and delete accounts (never a hash),
 * and the development mail outbox (404 in production).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../shared/app.js";
import { createAuthStore } from "../../shared/auth/store.js";
import { deleteUser, listUsers } from "../../shared/auth/users.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { ok, zodDetails } from "../../shared/http.js";
import { isId } from "../../shared/ids.js";

const pageSchema = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** A path id, checked: malformed → 400 INVALID_ID. */
function idParam(c: Context, name: string): string {
  const id = c.req.param(name);
  if (!isId(id)) throw new ApiError("INVALID_ID");
  return id;
}

/** Mounted under /api/admin/projects, behind the admin token. */
export function projectUserRoutes(deps: Deps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const store = createAuthStore(deps);

  const projectOf = async (c: Context) => {
    const project = await deps.projects.resolveProject(idParam(c, "id"));
    if (!project) throw new ApiError("PROJECT_NOT_FOUND");
    return project;
  };

  routes.get("/:id/users", async (c) => {
    const project = await projectOf(c);
    const query = pageSchema.safeParse(c.req.query());
    if (!query.success) throw new ApiError("INVALID_QUERY", undefined, { details: zodDetails(query.error) });
    return ok(c, await listUsers(await store.forProject(project), query.data));
  });

  /**
   * Deletes the account, its sessions (so its refresh tokens stop working at once) and its codes,
   * and frees its place in the users quota.
   */
  routes.delete("/:id/users/:userId", async (c) => {
    const project = await projectOf(c);
    const userId = idParam(c, "userId");
    const cols = await store.forProject(project);
    if (!(await deleteUser(deps, project, cols, userId))) throw new ApiError("USER_NOT_FOUND");
    return ok(c, { _id: userId, id: userId, deleted: true });
  });

  /**
   * Signs every end user out: their sessions go (refresh tokens stop working at once), then the
   * project's token secret is drawn anew, so access tokens issued before stop too (at once on this
   * instance, within the key cache's TTL, at most 60 s, on others). In that order: a refresh under
   * way when the sessions went mints a token under the old secret, which dies with it. Codes
   * already mailed (verification, reset) stay good.
   */
  routes.post("/:id/sessions/revoke", async (c) => {
    const project = await projectOf(c);
    const cols = await store.forProject(project);
    const revokedSessions = await cols.sessions.deleteMany({});
    await cols.refreshTokens.deleteMany({});
    await cols.socialHandovers.deleteMany({}); // social sign-ins under way hand over no refresh token
    if (!(await deps.projects.rotateTokenSecret(project.id))) throw new ApiError("PROJECT_NOT_FOUND");
    return ok(c, { revokedSessions });
  });

  /**
   * The last mails sent for the project, newest first (`?to=` filters by recipient; a space is read
   * as the `+` of an address typed unencoded, `?to=ann+test@example.com`). Development only.
   */
  routes.get("/:id/outbox", async (c) => {
    const outbox = deps.mailer.outbox;
    if (deps.config.production || !outbox) throw new ApiError("NOT_FOUND", "Route not found");
    const project = await projectOf(c);
    const to = c.req.query("to")?.trim().toLowerCase().replaceAll(" ", "+");
    const mails = outbox(project.id).filter((mail) => to === undefined || to === "" || mail.to === to);
    return ok(c, mails);
  });

  return routes;
}
