/** Request bodies of the auth routes: zod schemas and the key checks every account body gets. */
import type { Context } from "hono";
import { z } from "zod";
import { ACCOUNT_FIELDS, isPasswordLike, PROTECTED_USER_FIELDS } from "../../shared/auth/fields.js";
import { PASSWORD_MAX_LENGTH } from "../../shared/auth/settings.js";
import { USERNAME_PATTERN } from "../../shared/auth/users.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { readJson, requiredWhenMissing, zodDetails } from "../../shared/http.js";
import { assertNoLookalikes, assertSafeBody, isPlainObject } from "../../shared/sanitize.js";

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
  .regex(USERNAME_PATTERN, "must be 3–32 letters, digits, _ . or -, starting with a letter, digit or _");

/** A one-time code: six digits (a number is accepted and read as its digits). */
export const otpSchema = z.union([z.string().trim(), z.int().min(0).max(999_999)]).transform((v, ctx) => {
  const code = typeof v === "number" ? String(v).padStart(6, "0") : v;
  if (!/^\d{6}$/.test(code)) ctx.addIssue({ code: "custom", message: "must be 6 digits" });
  return code;
});

/** The body as a JSON object (empty → {}); anything else → VALIDATION_FAILED. */
export async function readObject(c: Context): Promise<Record<string, unknown>> {
  const body = (await readJson(c)) ?? {};
  if (!isPlainObject(body)) {
    throw new ApiError("VALIDATION_FAILED", undefined, { details: [{ path: "", message: "Expected a JSON object" }] });
  }
  return body;
}

const PROTECTED = new Set(PROTECTED_USER_FIELDS);
const PASSWORD_HINT = "cannot be set here: a password changes through PUT /change-password (or a reset)";
const AUTH_FIELDS = [...PROTECTED_USER_FIELDS, ...ACCOUNT_FIELDS];

/**
 * Key checks for signup and update-profile bodies: unsafe keys and look-alikes of auth's own fields
 * → INVALID_FIELD_NAME; protected fields other than `allowed` are listed in `details`.
 */
export function checkAccountKeys(body: Record<string, unknown>, allowed: readonly string[], details: ErrorDetail[]) {
  assertSafeBody(body);
  assertNoLookalikes(body, AUTH_FIELDS);
  for (const key of Object.keys(body)) {
    if (allowed.includes(key)) continue;
    if (isPasswordLike(key)) details.push({ path: key, message: PASSWORD_HINT });
    else if (PROTECTED.has(key)) details.push({ path: key, message: "is protected and cannot be set" });
  }
}

/** The body without auth's own fields: what the profile schema validates. */
export function profilePart(body: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(body)) {
    if (!PROTECTED.has(key) && !ACCOUNT_FIELDS.includes(key) && !isPasswordLike(key)) {
      Object.defineProperty(rest, key, { value: body[key], enumerable: true, writable: true, configurable: true });
    }
  }
  return rest;
}

/** Parses with a zod schema, adding problems to `details` (paths under `at`) instead of throwing. */
export function parseInto<S extends z.ZodType>(
  schema: S,
  value: unknown,
  details: ErrorDetail[],
  at?: string,
): z.output<S> | undefined {
  const result = schema.safeParse(value, { error: requiredWhenMissing });
  if (result.success) return result.data;
  for (const detail of zodDetails(result.error)) {
    details.push(at === undefined ? detail : { ...detail, path: detail.path ? `${at}.${detail.path}` : at });
  }
  return undefined;
}

/** Throws VALIDATION_FAILED listing `details`, if any. */
export function failOn(details: ErrorDetail[]): void {
  if (details.length > 0) throw new ApiError("VALIDATION_FAILED", undefined, { details });
}
