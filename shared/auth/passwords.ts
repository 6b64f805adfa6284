/**
 * End-user passwords: bcrypt (bcryptjs) at the configured cost. bcrypt reads only the first 72
 * bytes, so a longer password is first reduced to `sha256:<base64 digest>` (deterministic, so the
 * same rule verifies it); shorter ones are hashed as they are, compatible with any bcrypt hash.
 * A short password that itself starts with `sha256:` is reduced too: else the reduced form of a long
 * password, which only takes its unsalted SHA-256 to make, was a second password of the account.
 */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import { randomToken } from "../crypto.js";

const BCRYPT_MAX_BYTES = 72;
const REDUCED_PREFIX = "sha256:";
const encoder = new TextEncoder();

function bcryptInput(password: string): string {
  if (encoder.encode(password).length <= BCRYPT_MAX_BYTES && !password.startsWith(REDUCED_PREFIX)) return password;
  return `${REDUCED_PREFIX}${createHash("sha256").update(password).digest("base64")}`;
}

/** The bcrypt hash of a password at `cost`. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(bcryptInput(password), cost);
}

/**
 * A new identity for a password write (signup, reset, change), stored beside the hash as the user's
 * `passwordId`: a login's rehash replaces the hash but keeps it, so what a session was signed in with
 * is told by this, not by the hash (revokeUserSessions).
 */
export const newPasswordId = () => randomToken(16);

/** Whether a password matches a stored bcrypt hash. */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(bcryptInput(password), hash);
}

/**
 * A fresh hash of a password that just matched `hash`, when `hash` was made at another cost (an
 * imported one, or before BCRYPT_COST changed): a wrong password for it takes another time than for
 * an unknown email, so it is brought to the configured cost at its next login. Undefined otherwise.
 */
export async function rehashIfOtherCost(password: string, hash: string, cost: number): Promise<string | undefined> {
  return bcrypt.getRounds(hash) === cost ? undefined : hashPassword(password, cost);
}

/**
 * A well-formed bcrypt hash at `cost` that no password will match (its digest is all zero bits);
 * bcrypt reads the cost and salt from it and does the full work. Made
 * without hashing, so the unknown-email branch never waits on work started by another request:
 * on Workers such work stops when that request ends.
 */
const dummyHash = (cost: number) => `$2b$${String(cost).padStart(2, "0")}$${"unknownAccount".padEnd(53, ".")}`;

/**
 * Spends the time of one password check at `cost` and returns false: the unknown-email branch of
 * login, so it costs what a wrong password costs.
 */
export async function burnPasswordCheck(password: string, cost: number): Promise<false> {
  await bcrypt.compare(bcryptInput(password), dummyHash(cost));
  return false;
}
