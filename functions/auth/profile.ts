/** GET /me, GET /public/:username, PUT /update-profile (API.md §6), DELETE /me (an addition). */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { deleteAccountBody, usernameSchema } from "../../shared/auth/bodies.js";
import { verifyPassword } from "../../shared/auth/passwords.js";
import { profileSchema } from "../../shared/auth/profile.js";
import { clearLoginAttempts, countLoginAttempt } from "../../shared/auth/throttle.js";
import {
  deleteUser,
  normalizeUsername,
  publicProfile,
  samePasswordAs,
  type UserDoc,
  writeUser,
} from "../../shared/auth/users.js";
import { afterUpdate, assertDocumentSize, nextTimestamp } from "../../shared/documents.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { ok, parseWith } from "../../shared/http.js";
import type { Update } from "../../shared/store/types.js";
import { type AuthRuntime, inUserTurn, requireUser, scopeOf, sessionEnded } from "./context.js";
import { checkAccountKeys, failOn, parseInto, profilePart, readObject } from "./inputs.js";
import { clearRefreshCookie, cookieOriginAllowed } from "./transport.js";
import { userView } from "./views.js";

/** Tries of a guarded profile write before it gives up (each after the account changed under it). */
const MAX_WRITE_ATTEMPTS = 3;

/**
 * How recent a sign-in stands in for the password of an account that has none (social sign-in
 * only) when it deletes itself: Firebase's "requires recent login". A refresh keeps the session's
 * sign-in time, so a stolen refresh token alone cannot delete the account.
 */
const RECENT_SIGN_IN_MS = 10 * 60 * 1000;

export function profileRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /** `data` is the user object itself, as urBackend answers. */
  routes.get("/me", async (c) => {
    const scope = await requireUser(c, rt);
    return ok(c, await userView(rt, scope, scope.user));
  });

  routes.get("/public/:username", async (c) => {
    const scope = await scopeOf(c, rt);
    const username = normalizeUsername(c.req.param("username"));
    const user = username === "" ? null : await scope.cols.users.findOne({ username });
    if (!user) throw new ApiError("USER_NOT_FOUND");
    const profile = await profileSchema(rt.deps, scope.project);
    return ok(c, publicProfile(user, scope.settings.publicProfileFields, profile));
  });

  routes.put("/update-profile", async (c) => {
    const scope = await requireUser(c, rt);
    const body = await readObject(c);
    const details: ErrorDetail[] = [];
    checkAccountKeys(body, [], details);
    const username = Object.hasOwn(body, "username")
      ? body.username === null
        ? null
        : parseInto(usernameSchema, body.username, details, "username")
      : undefined;
    const profile = await profileSchema(rt.deps, scope.project);
    const fields = profilePart(body);
    const removedUsername = username === null ? ["username"] : [];
    // Written only over the account as read (its updatedAt), so kept private values are current.
    let current: UserDoc | null = scope.user;
    for (let attempt = 0; current && attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const { set, unset } = profile.update(fields, scope.keyType, current, details);
      failOn(details);
      const update: Update = { $set: { ...set, updatedAt: nextTimestamp(current.updatedAt, scope.now) } };
      if (typeof username === "string") (update.$set as Record<string, unknown>).username = username;
      const removed = [...unset, ...removedUsername];
      if (removed.length > 0) update.$unset = Object.fromEntries(removed.map((field) => [field, ""]));
      assertDocumentSize(afterUpdate(current, update), rt.deps.config.maxJsonBytes);
      const guard = { _id: current._id, updatedAt: current.updatedAt ?? null };
      const user = (await writeUser(() => scope.cols.users.updateOne(guard, update))) as UserDoc | null;
      if (user) return ok(c, { user: await userView(rt, scope, user) }, 200, "Profile updated");
      current = (await scope.cols.users.findOne({ _id: current._id })) as UserDoc | null;
    }
    if (!current) throw new ApiError("TOKEN_INVALID");
    throw new ApiError("PRECONDITION_FAILED", "The account kept changing; retry");
  });

  /**
   * The caller deletes their own account (app stores require it), as the operator's delete does: its
   * sessions, tokens and codes go, its place in the users quota is given back, the documents and files
   * it owns stay. An account with a password sends it (checked and throttled as change-password's);
   * one without needs a session signed in within RECENT_SIGN_IN_MS.
   */
  routes.delete("/me", async (c) => {
    const scope = await requireUser(c, rt);
    const { project, settings, cols, now, user } = scope;
    const body = await readObject(c);
    const hash = user.passwordHash;
    const password = hash === undefined ? undefined : parseWith(deleteAccountBody, body).password;
    return inUserTurn(rt, scope, async () => {
      if (hash !== undefined) {
        await countLoginAttempt(cols, user.email, { now, max: settings.maxFailedLogins });
        const valid = password !== undefined && (await verifyPassword(password, hash));
        if (!valid) throw new ApiError("INVALID_CREDENTIALS", "Password is incorrect");
        await clearLoginAttempts(cols, user.email);
      } else {
        const session = await cols.sessions.findOne({ _id: scope.sessionId });
        if (!session || Date.parse(String(session.createdAt)) <= now - RECENT_SIGN_IN_MS) {
          throw new ApiError(
            "AUTH_REQUIRED",
            "Sign in again first: an account without a password is deleted only within 10 minutes of signing in",
          );
        }
      }
      // Only the account as checked: a reset, a password change or a social link that landed meanwhile
      // stands and ends every session itself (after its write); this deletion is ordered after it and
      // answers as it would then (its session ended). So does one after a concurrent deletion.
      // (A login's rehash of the same password keeps its passwordId: it does not stop this.)
      if (!(await deleteUser(rt.deps, project, cols, user._id, samePasswordAs(user)))) throw sessionEnded();
      const { config } = rt.deps;
      if (cookieOriginAllowed(c, project.allowedOrigins, config.publicUrl)) clearRefreshCookie(c, config, project.id);
      return ok(c, { _id: user._id, id: user._id, deleted: true }, 200, "Account deleted");
    });
  });

  return routes;
}
