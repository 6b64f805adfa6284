/**
 * Which user-document fields belong to the auth function. Users can set none of the protected
 * ones through signup or update-profile; internal ones never leave the server.
 */

/** Stored on the user but never in any response. */
export const INTERNAL_USER_FIELDS: readonly string[] = ["passwordHash", "passwordId"];

/** A key without case, spaces, `_` and `-`: `password_confirmation` → `passwordconfirmation`. */
const folded = (key: string) => key.toLowerCase().replace(/[\s_-]/g, "");

/** Words that make a password key a confirmation, before `password` (`re`: Djoser's `re_password`) or after it. */
const CONFIRM_BEFORE = "confirm|repeated|repeat|retyped|retype|verify|re|c";
const CONFIRM_AFTER =
  "confirmation|confirmed|confirm|repeated|repeat|retyped|retype|verification|verified|verify|again|\\d";
/**
 * The names forms give a password and what they send beside it, folded: `password`, after an
 * optional confirmation word and an optional current/new/old, before an optional confirmation word
 * (or a digit: Django's `password2`). A grammar rather than a list: forms spell the confirmation many
 * ways (`repeatPassword`, `passwordAgain`, `re_password`, `confirmNewPassword`), and every spelling a
 * list missed was stored in clear. `passwordHint` and the like match nothing.
 */
const PASSWORD_KEY = new RegExp(`^(${CONFIRM_BEFORE})?(current|new|old)?password(${CONFIRM_AFTER})?$`);

/**
 * Whether a key is a password or one of what forms send beside it, in any spelling
 * (`passwordConfirm`, `password_confirmation`, `password2`, a change-password body's `new_password`
 * or `confirmNewPassword` sent to update-profile): never stored as a profile field, never shown (one
 * stored before is left out of every view), never public. Signup checks a confirmation against the
 * password.
 */
export const isPasswordLike = (key: string) => PASSWORD_KEY.test(folded(key));

/**
 * Whether a key is a confirmation of the password itself (`passwordConfirm`, `confirm_password`,
 * `repeatPassword`, `password2`): one confirmation word or digit, no current/new/old
 * (`confirmNewPassword` confirms a change-password's new one, which signup refuses as it refuses
 * `newPassword`).
 */
export function isPasswordConfirmation(key: string): boolean {
  const [, before, which, after] = PASSWORD_KEY.exec(folded(key)) ?? [];
  return which === undefined && (before === undefined) !== (after === undefined);
}

/** Server-owned user fields: never taken from a signup or update-profile body. */
export const PROTECTED_USER_FIELDS: readonly string[] = [
  "_id",
  "id",
  "email",
  "password",
  "passwordHash",
  "passwordId",
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

const AUTH_OWNED = new Set([...PROTECTED_USER_FIELDS, ...ACCOUNT_FIELDS]);

/** A field auth owns (protected or account): a `users` definition may name it, the profile rules leave it out. */
export const isAuthOwned = (key: string) => AUTH_OWNED.has(key);

/** Never a profile field of a signup or update-profile body: auth's own, and password-like keys. */
export const notProfileField = (key: string) => AUTH_OWNED.has(key) || isPasswordLike(key);

/** Never in an answer: internal fields, and a password-like key stored before (accountView). */
export const neverShown = (key: string) => INTERNAL_USER_FIELDS.includes(key) || isPasswordLike(key);

/** Public profile fields shown by `/public/:username` when the project names none. */
export const DEFAULT_PUBLIC_PROFILE_FIELDS: readonly string[] = ["name", "displayName", "avatar", "avatarUrl", "bio"];

/** Fields `/public/:username` always shows. */
export const ALWAYS_PUBLIC_FIELDS: readonly string[] = ["_id", "username", "createdAt"];

const NEVER_PUBLIC = new Set(PROTECTED_USER_FIELDS.filter((f) => !ALWAYS_PUBLIC_FIELDS.includes(f)));

/** Whether a field may be listed in `settings.auth.publicProfileFields`. */
export const mayBePublic = (field: string) => !NEVER_PUBLIC.has(field) && !isPasswordLike(field);
