/** POST /verify-email and POST /resend-verification (alias /resend-verification-otp), API.md §6. */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { emailBody, verifyEmailBody } from "../../shared/auth/bodies.js";
import { consumeOtp, issueOtp } from "../../shared/auth/otp.js";
import type { UserDoc } from "../../shared/auth/users.js";
import { ApiError } from "../../shared/errors.js";
import { ok, parseWith } from "../../shared/http.js";
import { type AuthRuntime, scopeOf } from "./context.js";
import { deliverOtp } from "./deliver.js";
import { readObject } from "./inputs.js";

export function emailRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/verify-email", async (c) => {
    const { project, cols, now } = await scopeOf(c, rt);
    const { email, otp } = parseWith(verifyEmailBody, await readObject(c));
    const userId = await consumeOtp(cols, {
      secret: project.codeSecret,
      purpose: "verify-email",
      email,
      code: otp,
      now,
    });
    const user = await cols.users.updateOne(
      { _id: userId, email },
      { $set: { emailVerified: true, updatedAt: new Date(now).toISOString() } },
    );
    if (!user) throw new ApiError("OTP_INVALID");
    return ok(c, { email, emailVerified: true }, 200, "Email verified");
  });

  /**
   * The same answer for every email: a code goes out only to a registered, unverified account, and
   * the cooldown (429 OTP_COOLDOWN) applies to any email asked about twice within 60 s, or more than
   * 10 times in a day window.
   */
  const resend = async (c: Context<AppEnv>) => {
    const started = performance.now(); // the answer's floor on Lambda counts from here (deliverOtp)
    const scope = await scopeOf(c, rt);
    const { project, cols, now } = scope;
    const { email } = parseWith(emailBody, await readObject(c));
    const user = (await cols.users.findOne({ email })) as UserDoc | null;
    const eligible = user !== null && user.emailVerified !== true;
    const otp = await issueOtp(cols, {
      secret: project.codeSecret,
      purpose: "verify-email",
      email,
      userId: eligible ? user._id : null,
      now,
    });
    if (otp.status === "cooldown") {
      // The wait is the same for every email (no account is told apart), so it may be said.
      throw new ApiError("OTP_COOLDOWN", `Please wait ${otp.retryAfter} s before requesting another code`, {
        headers: { "retry-after": String(otp.retryAfter) },
      });
    }
    const code = otp.status === "issued" ? otp.code : null;
    await deliverOtp(c, rt, scope, { purpose: "verify-email", to: email, code, evenTimeFrom: started });
    return ok(c, { email }, 200, "If the account exists and is not verified yet, a new code is on its way");
  };
  routes.post("/resend-verification", resend);
  routes.post("/resend-verification-otp", resend);

  return routes;
}
