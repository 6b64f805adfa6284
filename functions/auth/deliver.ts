import type { Context } from "hono";
import type { AppEnv } from "../../shared/app.js";
import type { OtpPurpose } from "../../shared/auth/otp.js";
import { otpMail } from "../../shared/auth/otp-mail.js";
import { finishWork, freezesAfterAnswer } from "../../shared/background.js";
import { flushInBackground } from "../../shared/usage/middleware.js";
import type { AuthRuntime, AuthScope } from "./context.js";

/**
 * How soon, at the earliest, a code request answers where its mail is sent before the answer (AWS
 * Lambda), mail or not: the time then says nothing of whether the account exists, as long as the
 * provider takes less than this (it takes a few hundred ms).
 */
export const CODE_ANSWER_FLOOR_MS = 1500;

/**
 * Sends a code. Where work may outlive the answer (Workers, Vercel, a Node server) the answer does not
 * wait for the provider, so it is the same, in content and time, whether or not a mail went out. On
 * Lambda the mail is sent before the answer (nothing runs after it); there `evenTimeFrom`, for
 * requests whose answer must not tell whether the account exists, holds the answer to
 * CODE_ANSWER_FLOOR_MS after it: the `performance.now()` of the route handler's start, so the store
 * work before the mail is inside the floor too rather than added on top of it. Failures are logged.
 */
export async function deliverOtp(
  c: Context<AppEnv>,
  rt: AuthRuntime,
  scope: AuthScope,
  input: { purpose: OtpPurpose; to: string; code: string | null; evenTimeFrom?: number },
): Promise<void> {
  const { code, evenTimeFrom } = input;
  const floor = evenTimeFrom !== undefined && freezesAfterAnswer(c) ? evenTimeFrom + CODE_ANSWER_FLOOR_MS : undefined;
  if (code !== null) {
    const mail = otpMail({ project: scope.project, ...input, code });
    const sending = rt.deps.mailer
      .send(mail)
      .then(() => {
        rt.deps.usage.count(scope.project.id, "mails");
        // Maybe counted after the answer, so after the usage middleware looked: see it written too.
        flushInBackground(c, rt.deps.usage);
      })
      .catch((error: unknown) => {
        rt.deps.log.error("mail failed", { projectId: scope.project.id, purpose: input.purpose, error });
      });
    await finishWork(c, sending);
  }
  if (floor !== undefined) await sleep(floor - performance.now());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
