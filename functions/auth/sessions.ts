/** GET /sessions and DELETE /sessions/:id (API.md §6): the caller's own sessions. */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { listSessions, revokeSession, sessionAlive } from "../../shared/auth/sessions.js";
import { ApiError } from "../../shared/errors.js";
import { ok } from "../../shared/http.js";
import { isId } from "../../shared/ids.js";
import { type AuthRuntime, inUserTurn, requireUser, sessionEnded } from "./context.js";

export function sessionRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/sessions", async (c) => {
    const { cols, user, now, sessionId } = await requireUser(c, rt);
    const items = await listSessions(cols, user._id, { now, currentSessionId: sessionId });
    // Its own session ended after requireUser (revoked, the account deleted): the list may hold
    // sessions of no serial order (a refused login's, stored and revoked meanwhile), so answer as
    // after the revocation. Re-checked, not inferred: the list stops at 100.
    if (!items.some((item) => item.current) && !(await sessionAlive(cols, sessionId, user._id, now))) {
      throw sessionEnded();
    }
    return ok(c, { items });
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
