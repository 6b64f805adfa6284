/**
 * The request bodies of the auth routes (API.md §6) as zod schemas: the routes parse with them and
 * the OpenAPI document (shared/openapi) describes them, so the two cannot drift apart.
 */
import { z } from "zod";
import { PASSWORD_MAX_LENGTH } from "./settings.js";
import { USERNAME_PATTERN } from "./users.js";

/** An email: trimmed, lower-cased, well-formed. */
export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email("must be a valid email address"));

/** A new password: the project's minimum to 128 characters. */
export const newPasswordSchema = (minLength: number) =>
  z
    .string()
    .min(minLength, `must be at least ${minLength} characters`)
    .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`);

/** A password being checked (login, change-password): any string up to a sane bound. */
export const givenPasswordSchema = z.string().min(1).max(1024);

/** A username: trimmed, lower-cased, 3–32 of letters, digits, `_`, `.`, `-`. */
export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(USERNAME_PATTERN, "must be 3–32 letters, digits, _ . or -, starting with a letter, digit or _")
  .describe("Case-insensitive: stored lower-cased");

/** A one-time code: six digits (a number is accepted and read as its digits). */
export const otpSchema = z.union([z.string().trim(), z.int().min(0).max(999_999)]).transform((v, ctx) => {
  const code = typeof v === "number" ? String(v).padStart(6, "0") : v;
  if (!/^\d{6}$/.test(code)) ctx.addIssue({ code: "custom", message: "must be 6 digits" });
  return code;
});

/** POST /signup: the account part (profile fields beside it are checked by the users definition). */
export const signupBody = (passwordMinLength: number) =>
  z.object({
    email: emailSchema,
    password: newPasswordSchema(passwordMinLength),
    username: usernameSchema.optional(),
  });

/** POST /login. */
export const loginBody = z.object({ email: emailSchema, password: givenPasswordSchema });

/** POST /resend-verification, POST /request-password-reset. */
export const emailBody = z.object({ email: emailSchema });

/** POST /verify-email. */
export const verifyEmailBody = z.object({ email: emailSchema, otp: otpSchema });

/** POST /reset-password. */
export const resetPasswordBody = (passwordMinLength: number) =>
  z.object({ email: emailSchema, otp: otpSchema, newPassword: newPasswordSchema(passwordMinLength) });

/** PUT /change-password. */
export const changePasswordBody = (passwordMinLength: number) =>
  z.object({ currentPassword: givenPasswordSchema, newPassword: newPasswordSchema(passwordMinLength) });

/** DELETE /me of an account that has a password. */
export const deleteAccountBody = z.object({ password: givenPasswordSchema });
