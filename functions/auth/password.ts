/** POST /request-password-reset, POST /reset-password, PUT /change-password (API.md §6). */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { changePasswordBody, emailBody, resetPasswordBody } from "../../shared/auth/bodies.js";
import { consumeOtp, issueOtp } from "../../shared/auth/otp.js";
import { hashPassword, newPasswordId, verifyPassword } from "../../shared/auth/passwords.js";
import { revokeUserSessions } from "../../shared/auth/sessions.js";
import { clearLoginAttempts, countLoginAttempt } from "../../shared/auth/throttle.js";
import { samePasswordAs, type UserDoc } from "../../shared/auth/users.js";
import { ApiError } from "../../shared/errors.js";
import { ok, parseWith } from "../../shared/http.js";
import { type AuthRuntime, inUserTurn, requireUser, scopeOf, sessionEnded } from "./context.js";
import { deliverOtp } from "./deliver.js";
import { readObject } from "./inputs.js";

export function passwordRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /**
   * Always 200 with the same body: whether the email is registered, or in its cooldown (60 s, or to the
   * end of the day window after 10 codes), is never told.
   */
  routes.post("/request-password-reset", async (c) => {
    const started = performance.now(); // the answer's floor on Lambda counts from here (deliverOtp)
    const scope = await scopeOf(c, rt);
    const { project, cols, now } = scope;
    const { email } = parseWith(emailBody, await readObject(c));
    const user = (await cols.users.findOne({ email })) as UserDoc | null;
    const otp = await issueOtp(cols, {
      secret: project.codeSecret,
      purpose: "password-reset",
      email,
      userId: user?._id ?? null,
      now,
    });
    const code = otp.status === "issued" ? otp.code : null;
    await deliverOtp(c, rt, scope, { purpose: "password-reset", to: email, code, evenTimeFrom: started });
    return ok(c, { email }, 200, "If the account exists, a reset code is on its way");
  });

  /** A valid code sets the new password, marks the email verified and revokes every session. */
  routes.post("/reset-password", async (c) => {
    const { project, settings, cols, now } = await scopeOf(c, rt);
    const { email, otp, newPassword } = parseWith(resetPasswordBody(settings.passwordMinLength), await readObject(c));
    const userId = await consumeOtp(cols, {
      secret: project.codeSecret,
      purpose: "password-reset",
      email,
      code: otp,
      now,
    });
    const at = new Date(now).toISOString();
    const passwordHash = await hashPassword(newPassword, rt.deps.config.bcryptCost);
    const passwordId = newPasswordId();
    const user = await cols.users.updateOne(
      { _id: userId, email },
      { $set: { passwordHash, passwordId, emailVerified: true, passwordChangedAt: at, updatedAt: at } },
    );
    if (!user) throw new ApiError("OTP_INVALID");
    await revokeUserSessions(cols, userId, { now, passwordId });
    await clearLoginAttempts(cols, email);
    return ok(c, { passwordReset: true }, 200, "Password reset; sign in with the new password");
  });

  /** Checks the current password (throttled like login), sets the new one, revokes the other sessions. */
  routes.put("/change-password", async (c) => {
    const scope = await requireUser(c, rt);
    const { settings, cols, now, user } = scope;
    const { currentPassword, newPassword } = parseWith(
      changePasswordBody(settings.passwordMinLength),
      await readObject(c),
    );
    return inUserTurn(rt, scope, async () => {
      await countLoginAttempt(cols, user.email, { now, max: settings.maxFailedLogins });
      const valid = user.passwordHash ? await verifyPassword(currentPassword, user.passwordHash) : false;
      if (!valid) throw new ApiError("INVALID_CREDENTIALS", "Current password is incorrect");
      await clearLoginAttempts(cols, user.email);
      const at = new Date(now).toISOString();
      const passwordHash = await hashPassword(newPassword, rt.deps.config.bcryptCost);
      const passwordId = newPasswordId();
      // Only over the password checked above: a reset (or a social link) that landed during bcrypt's
      // wait stands, and this change fails as if the current password were wrong. A login's rehash
      // of that same password keeps its passwordId, so it does not fail this.
      const changed = await cols.users.updateOne(samePasswordAs(user), {
        $set: { passwordHash, passwordId, passwordChangedAt: at, updatedAt: at },
      });
      if (!changed) throw new ApiError("INVALID_CREDENTIALS", "Current password is incorrect");
      const revoked = await revokeUserSessions(cols, user._id, { now, exceptSessionId: scope.sessionId, passwordId });
      // A reset, social link or deletion that landed since the write above ends every session itself
      // (after its own write), and the count misses those it ended first: it is ordered before this
      // change, which answers as it would after it (its session ended). The end state is the same.
      // By passwordId, not the hash: a login with the new password may have rehashed it meanwhile.
      if (!(await cols.users.findOne({ _id: user._id, passwordId }))) throw sessionEnded();
      return ok(c, { passwordChanged: true, revokedSessions: revoked }, 200, "Password changed");
    });
  });

  return routes;
}
