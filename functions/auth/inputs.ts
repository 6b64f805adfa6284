/** Reading auth request bodies: the key checks every account body gets (the bodies' schemas are in shared/auth/bodies.ts). */
import type { Context } from "hono";
import type { z } from "zod";
import { ACCOUNT_FIELDS, isPasswordLike, notProfileField, PROTECTED_USER_FIELDS } from "../../shared/auth/fields.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { readJson, requiredWhenMissing, zodDetails } from "../../shared/http.js";
import { assertNoLookalikes, assertSafeBody, isPlainObject } from "../../shared/sanitize.js";

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
    if (!notProfileField(key)) {
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
