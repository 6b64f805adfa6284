import type { Mail } from "../mail/index.js";
import type { OtpPurpose } from "./otp.js";
import { OTP_TTL_MS } from "./settings.js";

const minutes = OTP_TTL_MS / 60_000;

/** The mail that carries a one-time code. */
export function otpMail(input: {
  project: { id: string; name: string };
  purpose: OtpPurpose;
  to: string;
  code: string;
}): Mail {
  const { project, purpose, to, code } = input;
  const [subject, what] =
    purpose === "verify-email"
      ? [`${project.name}: verify your email`, "Your verification code"]
      : [`${project.name}: reset your password`, "Your password reset code"];
  const text = [
    `${what} for ${project.name} is ${code}.`,
    `It expires in ${minutes} minutes and works once.`,
    "If you did not ask for it, ignore this mail.",
  ].join("\n\n");
  return { projectId: project.id, to, subject, text, otp: code };
}
