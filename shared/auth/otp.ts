/**
 * One-time codes (API.md §6): 6 digits, valid 10 minutes, single use, compared in constant time.
 * Codes and emails are stored only as keyed SHA-256 hashes (the project's code secret, `codeSecret`, is the key).
 *
 * One record per (purpose, email) holds two things:
 * - what any caller can observe, kept alike for every email, registered or not: the 60 s send
 *   cooldown (`sentAt`) and the budget of 5 tries (`attempts` in the 10-minute clock window
 *   `window`). Only requests for a code and wrong tries change it; signup, a right code and account
 *   deletion leave it as it was, so no sequence of answers tells which accounts exist. The windows
 *   are fixed slices of the clock, the same for every email: when a budget starts says nothing either.
 * - the code (`userId`, `codeHash`, `codeExpiresAt`, `codeTries`), which only its holder can observe.
 *   A code counts every try made while it exists and stops matching after 5, so no code meets more
 *   than 5 guesses, whichever windows they fell into.
 *
 * A request for a code (after the cooldown) replaces the code and starts a fresh budget.
 */
import { sha256Hex, timingSafeEqual } from "../crypto.js";
import { ApiError } from "../errors.js";
import { newId } from "../ids.js";
import { type Doc, DuplicateKeyError, type Filter } from "../store/types.js";
import { OTP_COOLDOWN_MS, OTP_MAX_ATTEMPTS, OTP_TTL_MS } from "./settings.js";
import type { AuthCollections } from "./store.js";

/** What a code is for. */
export type OtpPurpose = "verify-email" | "password-reset";

/** The outcome of asking for a code: a code to mail (registered, eligible account), none, or wait. */
export type OtpIssue =
  | { status: "issued"; code: string }
  | { status: "none" }
  | { status: "cooldown"; retryAfter: number };

type Otps = Pick<AuthCollections, "otps">;
type OtpCols = Pick<AuthCollections, "otps" | "users">;

const iso = (ms: number) => new Date(ms).toISOString();
/** "Never" for the cooldown and code times of a record that has none yet. */
const NEVER = iso(0);
/** The clock window a try falls into (budgets are counted per window). */
const windowOf = (now: number) => Math.floor(now / OTP_TTL_MS);
const keyOf = (secret: string, purpose: OtpPurpose, email: string) =>
  sha256Hex(`${secret}\u0000${purpose}\u0000${email}`);
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
 * How long a record is kept after its last write: longer than anything it decides (code expiry, end
 * of the budget's window, cooldown end), so a swept record answers like a missing one; the holder of
 * an expired code is told OTP_EXPIRED for this long.
 */
const KEEP_MS = 60 * 60_000;
const keepUntil = (now: number) => iso(now + KEEP_MS);
const sweep = (cols: Otps, now: number) => cols.otps.deleteMany({ expiresAt: { $lte: iso(now) } });

/** A new record: no cooldown, no budget in use, no code. */
const blank = (key: string, now: number) => ({
  _id: newId(now),
  key,
  userId: null,
  codeHash: null,
  codeExpiresAt: NEVER,
  codeTries: 0,
  attempts: 0,
  window: 0,
  sentAt: NEVER,
  expiresAt: keepUntil(now),
});

/** Updates the record of `key` where `filter` holds, else inserts it if there is none; false: neither. */
async function upsert(
  cols: Otps,
  key: string,
  filter: Filter,
  set: Record<string, unknown>,
  now: number,
): Promise<boolean> {
  for (let round = 0; round < 3; round++) {
    if (await cols.otps.updateOne({ ...filter, key }, { $set: set })) return true;
    // A record there: the filter does not hold for it, or another call (a code's first try) made it
    // after the update looked; a second update judges it as it is now.
    if (await cols.otps.findOne({ key }))
      return (await cols.otps.updateOne({ ...filter, key }, { $set: set })) !== null;
    try {
      await cols.otps.insertOne({ ...blank(key, now), ...set });
      return true;
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error; // inserted meanwhile: try the update again
    }
  }
  return false;
}

/**
 * Starts a new code for (purpose, email) unless one was asked for less than 60 s ago. `userId` is the
 * account the code is for; null (unknown or ineligible email) does everything a real request does —
 * cooldown, fresh budget — but issues no code. `signup`: a brand-new account's first code, which
 * ignores the cooldown and leaves cooldown and budget as they are (nobody asked for it).
 */
export async function issueOtp(
  cols: OtpCols,
  input: {
    secret: string;
    purpose: OtpPurpose;
    email: string;
    userId: string | null;
    now: number;
    signup?: boolean;
  },
): Promise<OtpIssue> {
  const { secret, purpose, email, userId, now } = input;
  const key = keyOf(secret, purpose, email);
  await sweep(cols, now);
  const code = userId === null ? null : randomCode();
  const codeFields = {
    userId,
    codeHash: code === null ? null : hashCode(secret, key, code),
    codeExpiresAt: iso(now + OTP_TTL_MS),
    codeTries: 0,
    expiresAt: keepUntil(now),
  };
  const issued = code === null ? ({ status: "none" } as const) : ({ status: "issued", code } as const);
  if (input.signup) {
    return (await upsert(cols, key, {}, codeFields, now)) ? stillThere(cols, issued, userId) : { status: "none" };
  }
  const requested = { ...codeFields, attempts: 0, window: windowOf(now), sentAt: iso(now) };
  const due = { sentAt: { $lte: iso(now - OTP_COOLDOWN_MS) } };
  if (await upsert(cols, key, due, requested, now)) return stillThere(cols, issued, userId);
  const current = await cols.otps.findOne({ key });
  return { status: "cooldown", retryAfter: secondsUntil(String(current?.sentAt ?? NEVER), now) };
}

/**
 * The caller read the account before the code was written: a deletion in between dropped the codes it
 * found, then this one was bound to the gone account (and would be mailed). Re-read once the code is
 * in; gone → drop it and issue none, as when the deletion came first.
 */
async function stillThere(cols: OtpCols, issued: OtpIssue, userId: string | null): Promise<OtpIssue> {
  if (issued.status !== "issued" || userId === null || (await cols.users.findOne({ _id: userId }))) return issued;
  await dropOtps(cols, userId);
  return { status: "none" };
}

/** Whole seconds (at least 1) until the cooldown of a code sent at `sentAt` is over. */
const secondsUntil = (sentAt: string, now: number) =>
  Math.max(1, Math.ceil((Date.parse(sentAt) + OTP_COOLDOWN_MS - now) / 1000));

/** The budget is used up: 429, and Retry-After says when a new code may be requested. */
const otpExhausted = (sentAt: string, now: number) =>
  new ApiError("OTP_ATTEMPTS_EXCEEDED", "Too many wrong codes; request a new one", {
    headers: { "retry-after": String(secondsUntil(sentAt, now)) },
  });

/**
 * Counts one try against the budget of `key` before the code is compared (so parallel tries cannot
 * exceed it), and against the current code; returns the record as counted. Budget used up → 429.
 */
async function countTry(cols: Otps, key: string, now: number): Promise<Doc> {
  const window = windowOf(now);
  for (let round = 0; round < 4; round++) {
    const open = { key, window, attempts: { $lt: OTP_MAX_ATTEMPTS } };
    const counted = await cols.otps.updateOne(open, { $inc: { attempts: 1, codeTries: 1 } });
    if (counted) return counted;
    const doc = await cols.otps.findOne({ key });
    if (doc?.window === window) {
      // Used up; or a parallel try made the record, or restarted its window, after the update looked:
      // count again (refusing it would call 2 tries of 5 too many).
      if ((doc.attempts as number) >= OTP_MAX_ATTEMPTS) throw otpExhausted(String(doc.sentAt), now);
      continue;
    }
    const first = { attempts: 1, window, expiresAt: keepUntil(now) };
    await sweep(cols, now); // on both paths below, so a first try costs the same with or without a record
    if (doc) {
      // The first try of this window (unless a parallel try was first).
      const started = await cols.otps.updateOne(
        { _id: doc._id, window: doc.window },
        { $set: first, $inc: { codeTries: 1 } },
      );
      if (started) return started;
      continue;
    }
    try {
      return await cols.otps.insertOne({ ...blank(key, now), ...first, codeTries: 1 });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
    }
  }
  throw otpExhausted(NEVER, now); // sustained contention on one email: refuse rather than loop
}

/** Gives back the count of a try that was not a wrong one, if its window still runs. */
const refund = (cols: Otps, doc: Doc) =>
  cols.otps.updateOne({ _id: doc._id, window: doc.window, attempts: { $gt: 0 } }, { $inc: { attempts: -1 } });

/**
 * Checks and spends a code; returns the account it was issued for. Every try counts against the
 * (purpose, email) budget first, whether or not the email has an account or a code: tries 1–4 that
 * miss are 400 OTP_INVALID, a fifth wrong try is 429 OTP_ATTEMPTS_EXCEEDED and so is every try after
 * it, the right code included (a right fifth try still succeeds), until the window ends or a new code
 * is requested. Only the right code of
 * an expired code is 400 OTP_EXPIRED (nobody else can tell an expired code from none). A right try is
 * not a wrong one: it gives its count back. Spending is an atomic conditional update, so a code works
 * once even when sent twice at the same moment.
 */
export async function consumeOtp(
  cols: Otps,
  input: { secret: string; purpose: OtpPurpose; email: string; code: string; now: number },
): Promise<string> {
  const { secret, purpose, email, code, now } = input;
  const key = keyOf(secret, purpose, email);
  const doc = await countTry(cols, key, now);
  const given = hashCode(secret, key, code);
  const usable =
    typeof doc.codeHash === "string" && typeof doc.userId === "string" && (doc.codeTries as number) <= OTP_MAX_ATTEMPTS;
  // One comparison whatever the record holds (a code or none), so timing does not tell them apart.
  const right = timingSafeEqual(given, usable ? (doc.codeHash as string) : "") && usable;
  if (!right) {
    if ((doc.attempts as number) >= OTP_MAX_ATTEMPTS) throw otpExhausted(String(doc.sentAt), now);
    throw new ApiError("OTP_INVALID");
  }
  if (String(doc.codeExpiresAt) <= iso(now)) {
    await refund(cols, doc);
    throw new ApiError("OTP_EXPIRED");
  }
  const spent = await cols.otps.updateOne(
    { _id: doc._id, codeHash: doc.codeHash },
    { $set: { codeHash: null, usedAt: iso(now) } },
  );
  if (!spent) throw new ApiError("OTP_INVALID");
  await refund(cols, doc);
  return doc.userId as string;
}

/** Makes the codes of an account unusable (it is gone); what callers can observe stays as it was. */
export async function dropOtps(cols: Otps, userId: string): Promise<void> {
  // One record per purpose (and records kept from before emails were hashed): a handful at most.
  for (let round = 0; round < 8; round++) {
    if (!(await cols.otps.updateOne({ userId }, { $set: { userId: null, codeHash: null } }))) return;
  }
}
