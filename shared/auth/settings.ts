import type { ResolvedProject } from "../principal.js";
import { isPlainObject } from "../sanitize.js";
import { DEFAULT_PUBLIC_PROFILE_FIELDS } from "./fields.js";

/** A project's auth settings (API.md §9 `settings.auth`) with every default applied; lifetimes in seconds. */
export interface AuthSettings {
  requireEmailVerification: boolean;
  passwordMinLength: number;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  publicProfileFields: readonly string[];
  maxFailedLogins: number;
}

export const AUTH_DEFAULTS: Readonly<AuthSettings> = Object.freeze({
  requireEmailVerification: false,
  passwordMinLength: 8,
  accessTokenTtl: 15 * 60,
  refreshTokenTtl: 7 * 24 * 3600,
  publicProfileFields: DEFAULT_PUBLIC_PROFILE_FIELDS,
  maxFailedLogins: 10,
});

/** Longest password accepted at signup, reset and change (characters). */
export const PASSWORD_MAX_LENGTH = 128;
/** One-time codes: lifetime, wrong tries before the code is spent, wait between two sends. */
export const OTP_TTL_MS = 10 * 60_000;
export const OTP_MAX_ATTEMPTS = 5;
export const OTP_COOLDOWN_MS = 60_000;
/** Codes issued per (purpose, email) in one day window (fixed slices of the clock): bounds guesses at a reset code, and mail to one inbox. */
export const OTP_DAILY_MAX = 10;
export const OTP_DAY_MS = 24 * 3_600_000;
/** The window of the per-email login throttle. */
export const LOGIN_WINDOW_MS = 15 * 60_000;

/** The auth settings of a project (validated when the project was saved), defaults filled in. */
export function authSettingsOf(project: Pick<ResolvedProject, "settings">): AuthSettings {
  const given = isPlainObject(project.settings.auth) ? project.settings.auth : {};
  const pick = <K extends keyof AuthSettings>(key: K, valid: (v: unknown) => boolean): AuthSettings[K] =>
    (valid(given[key]) ? given[key] : AUTH_DEFAULTS[key]) as AuthSettings[K];
  const int = (v: unknown) => Number.isInteger(v);
  return {
    requireEmailVerification: pick("requireEmailVerification", (v) => typeof v === "boolean"),
    passwordMinLength: pick("passwordMinLength", int),
    accessTokenTtl: pick("accessTokenTtl", int),
    refreshTokenTtl: pick("refreshTokenTtl", int),
    publicProfileFields: pick("publicProfileFields", (v) => Array.isArray(v)),
    maxFailedLogins: pick("maxFailedLogins", int),
  };
}
