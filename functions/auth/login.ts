/** POST /login (API.md §6): email + password → session; per-email throttling; no account enumeration. */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { loginBody } from "../../shared/auth/bodies.js";
import { burnPasswordCheck, rehashIfOtherCost, verifyPassword } from "../../shared/auth/passwords.js";
import { createSession, revokeSession } from "../../shared/auth/sessions.js";
import { clearLoginAttempts, countLoginAttempt } from "../../shared/auth/throttle.js";
import { samePasswordAs, type UserDoc } from "../../shared/auth/users.js";
import { ApiError } from "../../shared/errors.js";
import { ok, parseWith } from "../../shared/http.js";
import { type AuthRuntime, scopeOf } from "./context.js";
import { readObject } from "./inputs.js";
import { sessionPayload } from "./session-response.js";

export function loginRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/login", async (c) => {
    const scope = await scopeOf(c, rt);
    const { settings, cols, now } = scope;
    const { email, password } = parseWith(loginBody, await readObject(c));
    await countLoginAttempt(cols, email, { now, max: settings.maxFailedLogins });

    const user = (await cols.users.findOne({ email })) as UserDoc | null;
    const cost = rt.deps.config.bcryptCost;
    // An unknown email (or an account without a password) costs one bcrypt check too.
    const valid = user?.passwordHash
      ? await verifyPassword(password, user.passwordHash)
      : await burnPasswordCheck(password, cost);
    if (!user || !valid) throw new ApiError("INVALID_CREDENTIALS");
    await clearLoginAttempts(cols, email);
    if (settings.requireEmailVerification && user.emailVerified !== true) throw new ApiError("EMAIL_NOT_VERIFIED");

    // The password was checked against the account as read before bcrypt's long wait: a reset, a
    // change or a deletion may have landed since, and must not be outlived by this session. It is
    // told by the passwordId read with that hash (samePasswordAs), which the rehash below keeps: a
    // login on an instance of another BCRYPT_COST does not end what a writer's revoke keeps.
    const rehashed = await rehashIfOtherCost(password, user.passwordHash!, cost);
    const at = new Date(now).toISOString();
    const checked = samePasswordAs(user);
    const current = (await cols.users.updateOne(checked, {
      $set: { lastLoginAt: at, ...(rehashed ? { passwordHash: rehashed } : {}) },
    })) as UserDoc | null;
    if (!current) throw new ApiError("INVALID_CREDENTIALS");
    const issued = await createSession(cols, {
      projectId: scope.project.id,
      userId: user._id,
      now,
      ttlMs: settings.refreshTokenTtl * 1000,
      userAgent: c.req.header("user-agent"),
      passwordId: user.passwordId,
    });
    // Those revoke sessions after they change the account: one that changed it after the update
    // above but before this session existed is seen here; one that changes it later revokes this.
    // One whose write this login read keeps this session (its passwordId is the one it wrote), unless
    // another writer's revoke lands after that write (docs/choices.md, left open).
    // Refused even where that writer revoked this session already: the old password never buys a
    // token after a reset (a password change may then count this session in revokedSessions).
    // Checked against the account as this login left it: an account stored before passwordId is told
    // by its hash, which the rehash above has just changed.
    if (!(await cols.users.findOne(samePasswordAs(current)))) {
      await revokeSession(cols, issued.sessionId);
      throw new ApiError("INVALID_CREDENTIALS");
    }
    return ok(c, await sessionPayload(c, rt, scope, current, issued));
  });

  return routes;
}
