/** GET /sessions and DELETE /sessions/:id (API.md §6): the caller's own sessions. */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { listSessions, revokeSession } from "../../shared/auth/sessions.js";
import { ApiError } from "../../shared/errors.js";
import { ok } from "../../shared/http.js";
import { isId } from "../../shared/ids.js";
import { type AuthRuntime, inUserTurn, requireUser } from "./context.js";

export function sessionRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/sessions", async (c) => {
    const { cols, user, now, sessionId } = await requireUser(c, rt);
    return ok(c, { items: await listSessions(cols, user._id, { now, currentSessionId: sessionId }) });
  });

  /** Another user's session id is answered exactly like an unknown one. */
  routes.delete("/sessions/:id", async (c) => {
    const scope = await requireUser(c, rt);
    const id = c.req.param("id");
    if (!isId(id)) throw new ApiError("INVALID_ID");
    return inUserTurn(rt, scope, async () => {
      if (!(await revokeSession(scope.cols, id, scope.user._id))) throw new ApiError("NOT_FOUND", "Session not found");
      return ok(c, { id, revoked: true });
    });
  });

  return routes;
}
