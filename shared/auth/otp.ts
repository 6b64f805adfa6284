/**
 * One-time codes (API.md §6): 6 digits, valid 10 minutes, single use, compared in constant time.
 * Codes and emails are stored only as keyed SHA-256 hashes (the project's code secret, `codeSecret`, is the key).
 *
 * One record per (purpose, email) holds two things:
 * - what any caller can observe, kept alike for every email, registered or not: the 60 s send
 *   cooldown (`sentAt`), the count of codes requested (`issued` in the 24-hour clock window `day`, at
 *   most 10) and the budget of 5 tries (`attempts` in the 10-minute clock window `window`). Only
 *   requests for a code and wrong tries change it; signup, a right code and account deletion leave it
 *   as it was, so no sequence of answers tells which accounts exist. The windows are fixed slices of
 *   the clock, the same for every email: when a budget or a count starts says nothing either.
 * - the code (`userId`, `codeHash`, `codeExpiresAt`, `codeTries`), which only its holder can observe.
 *   A code counts every try made while it exists and stops matching after 5, so no code meets more
 *   than 5 guesses, whichever windows they fell into.
 *
 * A request for a code (after the cooldown, within the day's count) replaces the code and starts a
 * fresh budget.
 *
 * Each step makes the same store calls whether or not the email has an account or a record (signup
 * makes one for registered emails only): against a networked store each call is a round trip, so a
 * different count of calls would tell accounts apart by the answer's time.
 */
import { sha256Hex, timingSafeEqual } from "../crypto.js";
import { ApiError } from "../errors.js";
import { newId } from "../ids.js";
import { type Doc, DuplicateKeyError } from "../store/types.js";
import { OTP_COOLDOWN_MS, OTP_DAILY_MAX, OTP_DAY_MS, OTP_MAX_ATTEMPTS, OTP_TTL_MS } from "./settings.js";
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
/** The clock window a request for a code falls into (codes issued are counted per day window). */
const dayOf = (now: number) => Math.floor(now / OTP_DAY_MS);
/** An id no account has (ids start with their creation time): a read by it costs what a read of an account does. */
const NO_ACCOUNT = "0".repeat(24);
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
 * of the budget's window, cooldown end), and to the end of the day window at least, which its count
 * of codes issued covers, so a swept record answers like a missing one; the holder of an expired code
 * is told OTP_EXPIRED for this long. Past the day window, each record stays a part of a day its key
 * decides, so the day's records expire over the next day, a few at each sweep, not all at midnight.
 */
const KEEP_MS = 60 * 60_000;
const spreadOf = (key: string) => (Number.parseInt(key.slice(0, 8), 16) % 1440) * 60_000;
const keepUntil = (key: string, now: number) =>
  iso(Math.max(now + KEEP_MS, (dayOf(now) + 1) * OTP_DAY_MS + spreadOf(key)));
const sweep = (cols: Otps, now: number) => cols.otps.deleteMany({ expiresAt: { $lte: iso(now) } });

/** A new record: no cooldown, no code issued today, no budget in use, no code. */
const blank = (key: string, now: number) => ({
  _id: newId(now),
  key,
  userId: null,
  codeHash: null,
  codeExpiresAt: NEVER,
  codeTries: 0,
  attempts: 0,
  window: 0,
  issued: 0,
  day: 0,
  sentAt: NEVER,
  expiresAt: keepUntil(key, now),
});

/**
 * Sweeps expired records, then gives `key` a blank record unless it has one: one insert either way
 * (refused when there is one), so the calls that follow, all updates of that record, are the same
 * whether or not it had one.
 */
async function ensureRecord(cols: Otps, key: string, now: number): Promise<void> {
  await sweep(cols, now);
  try {
    await cols.otps.insertOne(blank(key, now));
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
  }
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
  await ensureRecord(cols, key, now);
  const code = userId === null ? null : randomCode();
  const codeFields = {
    userId,
    codeHash: code === null ? null : hashCode(secret, key, code),
    codeExpiresAt: iso(now + OTP_TTL_MS),
    codeTries: 0,
    expiresAt: keepUntil(key, now),
  };
  const issued = code === null ? ({ status: "none" } as const) : ({ status: "issued", code } as const);
  if (input.signup) {
    const written = await cols.otps.updateOne({ key }, { $set: codeFields });
    return written ? stillThere(cols, issued, userId) : { status: "none" };
  }
  const day = dayOf(now);
  // A new day window starts the count afresh; never back to an earlier one (an instance's clock
  // behind). Records from before the count have no `day`.
  await cols.otps.updateOne(
    { key, $or: [{ day: { $lt: day } }, { day: { $exists: false } }] },
    { $set: { day, issued: 0 } },
  );
  // One atomic update checks the cooldown and the count and counts the code: parallel requests cannot
  // pass either.
  // A record another instance moved to a later day (its clock ahead) counts there.
  const due = { key, sentAt: { $lte: iso(now - OTP_COOLDOWN_MS) }, day: { $gte: day }, issued: { $lt: OTP_DAILY_MAX } };
  const requested = { ...codeFields, attempts: 0, window: windowOf(now), sentAt: iso(now) };
  if (await cols.otps.updateOne(due, { $set: requested, $inc: { issued: 1 } })) return stillThere(cols, issued, userId);
  const current = await cols.otps.findOne({ key });
  return { status: "cooldown", retryAfter: secondsUntil(nextRequestAt(current, now), now) };
}

/**
 * The caller read the account before the code was written: a deletion in between dropped the codes it
 * found, then this one was bound to the gone account (and would be mailed). Re-read once the code is
 * in; gone → drop it and issue none, as when the deletion came first. The read is made when no code
 * was issued too (by an id no account has), so the calls are the same for every email.
 */
async function stillThere(cols: OtpCols, issued: OtpIssue, userId: string | null): Promise<OtpIssue> {
  const bound = issued.status === "issued" && userId !== null ? userId : null;
  const account = await cols.users.findOne({ _id: bound ?? NO_ACCOUNT });
  if (bound === null || account) return issued;
  await dropOtps(cols, bound);
  return { status: "none" };
}

/**
 * When a new code may be requested for `doc` (a record, or none): once its cooldown is over, and once
 * its day window is over if that day's codes are all issued.
 */
function nextRequestAt(doc: Doc | null, now: number): number {
  const cooldownEnd = Date.parse(String(doc?.sentAt ?? NEVER)) + OTP_COOLDOWN_MS;
  const day = typeof doc?.day === "number" ? doc.day : 0;
  const capped = day >= dayOf(now) && (doc?.issued as number) >= OTP_DAILY_MAX;
  return capped ? Math.max(cooldownEnd, (day + 1) * OTP_DAY_MS) : cooldownEnd;
}

/** Whole seconds (at least 1) until `at`. */
const secondsUntil = (at: number, now: number) => Math.max(1, Math.ceil((at - now) / 1000));

/** The budget is used up: 429, and Retry-After says when a new code may be requested. */
const otpExhausted = (doc: Doc | null, now: number) =>
  new ApiError("OTP_ATTEMPTS_EXCEEDED", "Too many wrong codes; request a new one", {
    headers: { "retry-after": String(secondsUntil(nextRequestAt(doc, now), now)) },
  });

/**
 * Counts one try against the budget of `key` before the code is compared (so parallel tries cannot
 * exceed it), and against the current code; returns the record as counted. Budget used up → 429.
 * The window is moved on first, then the try counted: the same two updates whether or not this is
 * the window's first try (a right code, which only its holder can send, may have started it).
 */
async function countTry(cols: Otps, key: string, now: number): Promise<Doc> {
  const window = windowOf(now);
  await ensureRecord(cols, key, now);
  // A new window starts a fresh budget; never back to an earlier one (an instance's clock behind).
  await cols.otps.updateOne(
    { key, window: { $lt: window } },
    { $set: { attempts: 0, window, expiresAt: keepUntil(key, now) } },
  );
  // A window another instance moved on (its clock ahead) takes the try: a lagging clock refuses none.
  const open = { key, window: { $gte: window }, attempts: { $lt: OTP_MAX_ATTEMPTS } };
  const counted = await cols.otps.updateOne(open, { $inc: { attempts: 1, codeTries: 1 } });
  if (counted) return counted;
  throw otpExhausted(await cols.otps.findOne({ key }), now);
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
    if ((doc.attempts as number) >= OTP_MAX_ATTEMPTS) throw otpExhausted(doc, now);
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
