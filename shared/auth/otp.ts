/**
 * One-time codes (API.md §6): 6 digits, stored only as a keyed SHA-256 (the project's token secret
 * is the key, so a leaked table alone does not give the codes away), valid 10 minutes, at most 5
 * wrong tries, single use, compared in constant time. One record per (purpose, email): it also
 * carries the 60 s send cooldown, kept for every email asked about, registered or not, so the
 * cooldown answer says nothing about which accounts exist.
 */
import { sha256Hex, timingSafeEqual } from "../crypto";
import { ApiError } from "../errors";
import { newId } from "../ids";
import { DuplicateKeyError } from "../store/types";
import { OTP_COOLDOWN_MS, OTP_MAX_ATTEMPTS, OTP_TTL_MS } from "./settings";
import type { AuthCollections } from "./store";

/** What a code is for. */
export type OtpPurpose = "verify-email" | "password-reset";

/** The outcome of asking for a code: a code to mail (registered, eligible account), none, or wait. */
export type OtpIssue =
  | { status: "issued"; code: string }
  | { status: "none" }
  | { status: "cooldown"; retryAfter: number };

const iso = (ms: number) => new Date(ms).toISOString();
const keyOf = (purpose: OtpPurpose, email: string) => `${purpose}:${email}`;
const hashCode = (secret: string, key: string, code: string) => sha256Hex(`${secret}\u0000${key}\u0000${code}`);

/** A uniformly random 6-digit code. */
export function randomCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 1e6 below 2^32: no modulo bias
  for (;;) {
    const value = crypto.getRandomValues(new Uint32Array(1))[0] as number;
    if (value < limit) return String(value % 1_000_000).padStart(6, "0");
  }
}

/**
 * Starts a new code for (purpose, email) unless one was sent less than 60 s ago (`ignoreCooldown`:
 * a brand-new account's first code). `userId` is the account the code is for; null (unknown or
 * ineligible email) records the cooldown and issues nothing.
 */
export async function issueOtp(
  cols: Pick<AuthCollections, "otps">,
  input: {
    secret: string;
    purpose: OtpPurpose;
    email: string;
    userId: string | null;
    now: number;
    ignoreCooldown?: boolean;
  },
): Promise<OtpIssue> {
  const { secret, purpose, email, userId, now } = input;
  const key = keyOf(purpose, email);
  await cols.otps.deleteMany({ expiresAt: { $lte: iso(now) } });
  const code = userId === null ? null : randomCode();
  const fields = {
    key,
    userId,
    codeHash: code === null ? null : hashCode(secret, key, code),
    attempts: 0,
    sentAt: iso(now),
    expiresAt: iso(now + OTP_TTL_MS),
  };
  const issued = code === null ? ({ status: "none" } as const) : ({ status: "issued", code } as const);
  const due = input.ignoreCooldown ? { key } : { key, sentAt: { $lte: iso(now - OTP_COOLDOWN_MS) } };
  if (await cols.otps.updateOne(due, { $set: fields })) {
    return issued;
  }
  try {
    await cols.otps.insertOne({ _id: newId(now), ...fields });
    return issued;
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
  }
  const current = await cols.otps.findOne({ key });
  const sentAt = typeof current?.sentAt === "string" ? Date.parse(current.sentAt) : now;
  return { status: "cooldown", retryAfter: Math.max(1, Math.ceil((sentAt + OTP_COOLDOWN_MS - now) / 1000)) };
}

/**
 * Checks and spends a code; returns the account it was issued for. Wrong → 400 OTP_INVALID (the
 * fifth wrong try spends the code: 429 OTP_ATTEMPTS_EXCEEDED from then on); expired → 400
 * OTP_EXPIRED; unknown or already used → OTP_INVALID. Spending is an atomic conditional update,
 * so a code works once even when sent twice at the same moment.
 */
export async function consumeOtp(
  cols: Pick<AuthCollections, "otps">,
  input: { secret: string; purpose: OtpPurpose; email: string; code: string; now: number },
): Promise<string> {
  const { secret, purpose, email, code, now } = input;
  const key = keyOf(purpose, email);
  const doc = await cols.otps.findOne({ key });
  if (!doc || typeof doc.codeHash !== "string" || typeof doc.userId !== "string") throw new ApiError("OTP_INVALID");
  const attempts = typeof doc.attempts === "number" ? doc.attempts : OTP_MAX_ATTEMPTS;
  const exhausted = () => otpExhausted(Date.parse(String(doc.sentAt)) + OTP_COOLDOWN_MS - now);
  if (attempts >= OTP_MAX_ATTEMPTS) throw exhausted();
  if (String(doc.expiresAt) <= iso(now)) throw new ApiError("OTP_EXPIRED");
  const live = { _id: doc._id, codeHash: doc.codeHash, attempts: { $lt: OTP_MAX_ATTEMPTS } };
  if (timingSafeEqual(hashCode(secret, key, code), doc.codeHash)) {
    const spent = await cols.otps.updateOne(live, { $set: { codeHash: null, usedAt: iso(now) } });
    if (!spent) throw new ApiError("OTP_INVALID");
    return doc.userId;
  }
  const counted = await cols.otps.updateOne(live, { $inc: { attempts: 1 } });
  if (!counted || (counted.attempts as number) >= OTP_MAX_ATTEMPTS) throw exhausted();
  throw new ApiError("OTP_INVALID");
}

/** The code is spent by wrong tries; Retry-After says when a new one may be requested. */
const otpExhausted = (waitMs: number) =>
  new ApiError("OTP_ATTEMPTS_EXCEEDED", "Too many wrong codes; request a new one", {
    headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) },
  });

/** Forgets every code of an email (the account is gone). */
export async function dropOtps(cols: Pick<AuthCollections, "otps">, email: string): Promise<void> {
  for (const purpose of ["verify-email", "password-reset"] as const) {
    await cols.otps.deleteMany({ key: keyOf(purpose, email) });
  }
}
