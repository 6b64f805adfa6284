import type { Context } from "hono";
import type { AppEnv } from "../../shared/app.js";
import type { OtpPurpose } from "../../shared/auth/otp.js";
import { otpMail } from "../../shared/auth/otp-mail.js";
import type { AuthRuntime, AuthScope } from "./context.js";

/**
 * Sends a code without making the response wait for the provider: the answer (and its timing)
 * is the same whether or not a mail went out, so it tells nothing about which accounts exist.
 * Failures are logged; on Workers the send is handed to waitUntil.
 */
export function deliverOtp(
  c: Context<AppEnv>,
  rt: AuthRuntime,
  scope: AuthScope,
  input: { purpose: OtpPurpose; to: string; code: string },
): void {
  const mail = otpMail({ project: scope.project, ...input });
  const sending = rt.deps.mailer
    .send(mail)
    .then(() => {
      rt.deps.usage.count(scope.project.id, "mails");
      // Counted after the answer, so after the usage middleware looked: see it written too.
      return rt.deps.usage.flushIfDue();
    })
    .catch((error: unknown) => {
      rt.deps.log.error("mail failed", { projectId: scope.project.id, purpose: input.purpose, error });
    });
  try {
    c.executionCtx.waitUntil(sending);
  } catch {
    // No execution context (Node): the promise runs on by itself.
  }
}
