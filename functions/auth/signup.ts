/** POST /signup (API.md §6): creates the account, mails a verification code, answers with a session. */
import { Hono } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../../shared/app.js";
import { signupBody } from "../../shared/auth/bodies.js";
import { isPasswordConfirmation } from "../../shared/auth/fields.js";
import { issueOtp } from "../../shared/auth/otp.js";
import { hashPassword, newPasswordId } from "../../shared/auth/passwords.js";
import { profileSchema } from "../../shared/auth/profile.js";
import { createSession } from "../../shared/auth/sessions.js";
import { insertUser, type UserDoc } from "../../shared/auth/users.js";
import type { ErrorDetail } from "../../shared/errors.js";
import { ok } from "../../shared/http.js";
import { newId } from "../../shared/ids.js";
import { type AuthRuntime, scopeOf } from "./context.js";
import { deliverOtp } from "./deliver.js";
import { checkAccountKeys, failOn, parseInto, profilePart, readObject } from "./inputs.js";
import { sessionPayload } from "./session-response.js";
import { userView } from "./views.js";

export function signupRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/signup", async (c) => {
    const scope = await scopeOf(c, rt);
    const { project, settings, cols, now } = scope;
    const body = await readObject(c);
    const details: ErrorDetail[] = [];
    const confirmations = Object.keys(body).filter(isPasswordConfirmation);
    checkAccountKeys(body, ["email", "password", ...confirmations], details);
    for (const key of confirmations) {
      if (body[key] !== body.password) details.push({ path: key, message: "does not match password" });
    }
    const accountSchema = signupBody(settings.passwordMinLength);
    const account = parseInto(accountSchema, body, details);
    const profile = (await profileSchema(rt.deps, project)).create(profilePart(body), scope.keyType, details);
    failOn(details);
    const { email, password, username } = account as z.output<typeof accountSchema>;

    const at = new Date(now).toISOString();
    const user: UserDoc = {
      _id: newId(now),
      email,
      ...(username === undefined ? {} : { username }),
      ...profile,
      passwordHash: await hashPassword(password, rt.deps.config.bcryptCost),
      passwordId: newPasswordId(),
      emailVerified: false,
      createdAt: at,
      updatedAt: at,
    };
    await insertUser(rt.deps, project, cols, user);

    const otp = await issueOtp(cols, {
      secret: project.codeSecret,
      purpose: "verify-email",
      email,
      userId: user._id,
      now,
      signup: true,
    });
    // A taken email is 409 anyway: a signup's time needs no evening out.
    if (otp.status === "issued") await deliverOtp(c, rt, scope, { purpose: "verify-email", to: email, code: otp.code });

    if (settings.requireEmailVerification) {
      return ok(c, { user: await userView(rt, scope, user), emailVerificationRequired: true }, 201);
    }
    const issued = await createSession(cols, {
      projectId: project.id,
      userId: user._id,
      now,
      ttlMs: settings.refreshTokenTtl * 1000,
      userAgent: c.req.header("user-agent"),
      passwordId: user.passwordId,
    });
    return ok(c, await sessionPayload(c, rt, scope, user, issued), 201);
  });

  return routes;
}
