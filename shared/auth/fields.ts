/**
 * Which user-document fields belong to the auth function. Users can set none of the protected
 * ones through signup or update-profile; internal ones never leave the server.
 */

/** Stored on the user but never in any response. */
export const INTERNAL_USER_FIELDS: readonly string[] = ["passwordHash"];

/**
 * What forms send beside a password (PocketBase's `passwordConfirm`, a change-password body sent to
 * update-profile): never stored. Signup checks a confirmation against the password.
 */
export const PASSWORD_CONFIRMATION_FIELDS: readonly string[] = ["passwordConfirm", "confirmPassword"];
const PASSWORD_COMPANION_FIELDS = [...PASSWORD_CONFIRMATION_FIELDS, "currentPassword", "newPassword", "oldPassword"];

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
  ...PASSWORD_COMPANION_FIELDS,
];

/** Built-in account fields besides the protected ones: handled by auth, not by the profile schema. */
export const ACCOUNT_FIELDS: readonly string[] = ["username"];

/** Public profile fields shown by `/public/:username` when the project names none. */
export const DEFAULT_PUBLIC_PROFILE_FIELDS: readonly string[] = ["name", "displayName", "avatar", "avatarUrl", "bio"];

/** Fields `/public/:username` always shows. */
export const ALWAYS_PUBLIC_FIELDS: readonly string[] = ["_id", "username", "createdAt"];

const NEVER_PUBLIC = new Set(PROTECTED_USER_FIELDS.filter((f) => !ALWAYS_PUBLIC_FIELDS.includes(f)));

/** Whether a field may be listed in `settings.auth.publicProfileFields`. */
export const mayBePublic = (field: string) => !NEVER_PUBLIC.has(field);
