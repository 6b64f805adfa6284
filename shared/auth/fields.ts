/**
 * Which user-document fields belong to the auth function. Users can set none of the protected
 * ones through signup or update-profile; internal ones never leave the server.
 */

/** Stored on the user but never in any response. */
export const INTERNAL_USER_FIELDS: readonly string[] = ["passwordHash"];

/** A key without case, spaces, `_` and `-`: `password_confirmation` → `passwordconfirmation`. */
const folded = (key: string) => key.toLowerCase().replace(/[\s_-]/g, "");

const CONFIRMATIONS = new Set(["passwordconfirm", "passwordconfirmation", "confirmpassword"]);
const PASSWORDS = new Set([...CONFIRMATIONS, "password", "currentpassword", "newpassword", "oldpassword"]);

/**
 * Whether a key is a password or one of what forms send beside it, in any spelling
 * (`passwordConfirm`, `password_confirmation`, a change-password body's `new_password` sent to
 * update-profile): never stored as a profile field, never shown (one stored before is left out of
 * every view), never public. Signup checks a confirmation against the password.
 */
export const isPasswordLike = (key: string) => PASSWORDS.has(folded(key));

/** Whether a key is a password confirmation (`passwordConfirm`, `confirm_password`, `password_confirmation`). */
export const isPasswordConfirmation = (key: string) => CONFIRMATIONS.has(folded(key));

/** Server-owned user fields: never taken from a signup or update-profile body. */
export const PROTECTED_USER_FIELDS: readonly string[] = [
  "_id",
  "id",
  "email",
  "password",
  "passwordHash",
  "emailVerified",
  "roles",
  "role",
  "provider",
  "providers",
  "providerId",
  "githubId",
  "googleId",
  "createdAt",
  "updatedAt",
  "createdBy",
  "lastLoginAt",
  "passwordChangedAt",
];

/** Built-in account fields besides the protected ones: handled by auth, not by the profile schema. */
export const ACCOUNT_FIELDS: readonly string[] = ["username"];

/** Public profile fields shown by `/public/:username` when the project names none. */
export const DEFAULT_PUBLIC_PROFILE_FIELDS: readonly string[] = ["name", "displayName", "avatar", "avatarUrl", "bio"];

/** Fields `/public/:username` always shows. */
export const ALWAYS_PUBLIC_FIELDS: readonly string[] = ["_id", "username", "createdAt"];

const NEVER_PUBLIC = new Set(PROTECTED_USER_FIELDS.filter((f) => !ALWAYS_PUBLIC_FIELDS.includes(f)));

/** Whether a field may be listed in `settings.auth.publicProfileFields`. */
export const mayBePublic = (field: string) => !NEVER_PUBLIC.has(field) && !isPasswordLike(field);
