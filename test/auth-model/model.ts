/**
 * The model of the auth API (API.md §6 as refined by docs/choices.md, Auth): accounts, sessions and
 * their refresh-token families, the clients' handles on them, one-time-code records per
 * (purpose, email), the per-email login throttle, the users quota and the mails that went out.
 */
import { sha256Hex } from "../../shared/crypto.js";
import { check, fail, same } from "../model/operations.js";
import type { CallResult, Real } from "./harness.js";

export const OTP_TTL = 600_000;
export const COOLDOWN = 60_000;
export const KEEP = 3_600_000;
export const MAX_TRIES = 5;
export const DAILY_MAX = 10;
export const DAY = 24 * 3_600_000;
export const LOGIN_WINDOW = 900_000;
export const REUSE_WINDOW = 10_000;
export const ACCESS_TTL_S = 900;
export const REFRESH_TTL = 7 * 24 * 3600 * 1000;

export type Purpose = "verify" | "reset";

export interface Account {
  id: string;
  email: string;
  pw: string;
  verified: boolean;
  name?: string;
}
export interface SessionM {
  userId: string;
  createdAt: number;
  expiresAt: number;
}
export interface TokenM {
  sid: string;
  userId: string;
  spent: boolean;
  spentAt: number;
  successor?: string;
  expiresAt: number;
}
/** A client's hold on one session: every access and refresh token it was given, newest last. */
export interface Handle {
  userId: string;
  email: string;
  sid: string;
  access: string[];
  refresh: string[];
}
export interface CodeM {
  value?: string;
  userId: string;
  expiresAt: number;
}
export interface OtpRec {
  sentAt: number;
  attempts: number;
  window: number;
  /** codes requested in the day window `day` */
  issued: number;
  day: number;
  keep: number;
  codeTries: number;
  code: CodeM | null;
  /** codes this record held before (replaced or spent) */
  old: string[];
}

export interface State {
  now: number;
  accounts: Record<string, Account>;
  sessions: Record<string, SessionM>;
  tokens: Record<string, TokenM>;
  handles: Handle[];
  otps: Record<string, OtpRec>;
  throttle: Record<string, { windowStart: number; count: number }>;
  mails: Record<string, number>;
  deletedIds: string[];
  /** every session id ever seen, with its user */
  sidOwners: Record<string, string>;
}

export class Model {
  s: State;
  inRace = false;
  /** In a race: the state when the group was sent, the group, and emails whose throttle must be read back. */
  before?: State;
  group: { k: string; norm?: string; access?: string; userId?: string }[] = [];
  resync = new Set<string>();
  /** code records whose budget count a race left unknowable: read back after the group */
  resyncOtp = new Set<string>();
  /** In a race: logins refused because a password write landed during their check, per email, judged so far */
  refusedLogins: Record<string, number> = {};
  /** In a race: users whose expired sessions and tokens a refused login may or may not have swept: read back */
  resyncSwept = new Set<string>();
  /** The project's code secret, which keys the server's record of each (purpose, email). */
  constructor(
    now: number,
    readonly secret: string,
  ) {
    this.s = {
      now,
      accounts: {},
      sessions: {},
      tokens: {},
      handles: [],
      otps: {},
      throttle: {},
      mails: {},
      deletedIds: [],
      sidOwners: {},
    };
  }
  trial(group: { k: string; norm?: string; access?: string; userId?: string }[]): Model {
    const t = new Model(this.s.now, this.secret);
    t.s = structuredClone(this.s);
    t.inRace = true;
    t.before = this.s;
    t.group = group;
    return t;
  }
  adopt(t: Model) {
    this.s = t.s;
    this.resync = t.resync;
    this.resyncOtp = t.resyncOtp;
  }
  accountById(id: string): Account | undefined {
    return Object.values(this.s.accounts).find((a) => a.id === id);
  }
}

// ---------------------------------------------------------------- checks

/** The failure checks are the data model's: they report the last requests. */
export { check, fail, same };

export type Verdict = { status: number; code?: string; message?: string; retry?: number };

export function verdict(r: Real, res: CallResult, want: Verdict, what: string): void {
  if (
    res.status !== want.status ||
    (want.code !== undefined && res.json?.code !== want.code) ||
    (want.message !== undefined && res.json?.message !== want.message)
  ) {
    fail(
      r,
      `${what}: expected ${want.status} ${want.code ?? ""} ${want.message ?? ""}, got ${res.status} ${res.text.slice(0, 400)}`,
    );
  }
  check(r, typeof res.json?.success === "boolean", `${what}: no envelope`);
  if (res.status < 400) check(r, res.json.success === true && "data" in res.json, `${what}: bad success envelope`);
  else {
    const { success, message, code, requestId } = res.json;
    check(
      r,
      success === false && [message, code, requestId].every((v) => typeof v === "string"),
      `${what}: bad error envelope`,
    );
  }
}
export function retryAfter(r: Real, res: CallResult, seconds: number, what: string) {
  same(r, res.headers.get("retry-after"), String(seconds), `${what}: Retry-After`);
}

// ---------------------------------------------------------------- helpers

export const iso = (ms: number) => new Date(ms).toISOString();
export const windowOf = (now: number) => Math.floor(now / OTP_TTL);
export const dayOf = (now: number) => Math.floor(now / DAY);
/**
 * Kept an hour after its last write, and to the end of that write's day window at least (the count of
 * codes), plus past that end the part of a day the server's key of the record (purpose, email) picks.
 */
function keepFrom(m: Model, key: string, now: number) {
  const [p, email] = key.split("|") as [Purpose, string];
  const hashed = sha256Hex(`${m.secret}\u0000${p === "verify" ? "verify-email" : "password-reset"}\u0000${email}`);
  const spread = (Number.parseInt(hashed.slice(0, 8), 16) % 1440) * 60_000;
  return Math.max(now + KEEP, (dayOf(now) + 1) * DAY + spread);
}
/** Seconds until a new code may be requested: the cooldown is over, and the day window too once its codes are used up. */
export function secondsUntil(rec: Pick<OtpRec, "sentAt" | "issued" | "day"> | undefined, now: number) {
  const cooldownEnd = (rec?.sentAt ?? 0) + COOLDOWN;
  const capped = rec !== undefined && rec.day === dayOf(now) && rec.issued >= DAILY_MAX;
  const at = capped ? Math.max(cooldownEnd, (dayOf(now) + 1) * DAY) : cooldownEnd;
  return Math.max(1, Math.ceil((at - now) / 1000));
}
export const otpKey = (p: Purpose, email: string) => `${p}|${email}`;

export function claims(token: string): { sid: string; sub: string; exp: number; iat: number } {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
}

/** The record of a key, as the server would see it (a record past its keep is swept, i.e. absent). */
export function liveRec(m: Model, key: string): OtpRec | undefined {
  const rec = m.s.otps[key];
  if (rec && rec.keep <= m.s.now) {
    delete m.s.otps[key];
    return undefined;
  }
  return rec;
}
export const blank = (keep: number): OtpRec => ({
  sentAt: 0,
  attempts: 0,
  window: 0,
  issued: 0,
  day: 0,
  keep,
  codeTries: 0,
  code: null,
  old: [],
});
function retire(rec: OtpRec) {
  if (rec.code?.value) rec.old.push(rec.code.value);
}

/** Asks for a code (resend, request-reset): cooldown, fresh budget, a code for `userId` or none. */
export function issue(
  m: Model,
  p: Purpose,
  email: string,
  userId: string | null,
): { issued: boolean } | { cooldown: number } {
  const key = otpKey(p, email);
  const now = m.s.now;
  let rec = liveRec(m, key);
  const issuedToday = rec?.day === dayOf(now) ? rec.issued : 0;
  if (rec && (rec.sentAt > now - COOLDOWN || issuedToday >= DAILY_MAX)) return { cooldown: secondsUntil(rec, now) };
  rec ??= blank(keepFrom(m, key, now));
  rec.issued = issuedToday + 1;
  rec.day = dayOf(now);
  retire(rec);
  rec.code = userId ? { userId, expiresAt: now + OTP_TTL } : null;
  rec.codeTries = 0;
  rec.attempts = 0;
  rec.window = windowOf(now);
  rec.sentAt = now;
  rec.keep = keepFrom(m, key, now);
  m.s.otps[key] = rec;
  if (userId) m.s.mails[key] = (m.s.mails[key] ?? 0) + 1;
  return { issued: userId !== null };
}

/** The signup's code: ignores and keeps cooldown and budget. */
export function signupCode(m: Model, email: string, userId: string) {
  const key = otpKey("verify", email);
  const now = m.s.now;
  const rec = liveRec(m, key) ?? blank(keepFrom(m, key, now));
  retire(rec);
  rec.code = { userId, expiresAt: now + OTP_TTL };
  rec.codeTries = 0;
  rec.keep = keepFrom(m, key, now);
  m.s.otps[key] = rec;
  m.s.mails[key] = (m.s.mails[key] ?? 0) + 1;
}

/** A try of a code: the verdict, or the account id the code was for. */
export function consume(m: Model, p: Purpose, email: string, code: string): Verdict | { userId: string } {
  const key = otpKey(p, email);
  const now = m.s.now;
  const w = windowOf(now);
  let rec = liveRec(m, key);
  if (rec && rec.window === w) {
    if (rec.attempts >= MAX_TRIES) return { status: 429, code: "OTP_ATTEMPTS_EXCEEDED", retry: secondsUntil(rec, now) };
    rec.attempts++;
    rec.codeTries++;
  } else if (rec) {
    rec.attempts = 1;
    rec.window = w;
    rec.keep = keepFrom(m, key, now);
    rec.codeTries++;
  } else {
    rec = { ...blank(keepFrom(m, key, now)), attempts: 1, window: w, codeTries: 1 };
    m.s.otps[key] = rec;
  }
  const usable = rec.code !== null && rec.codeTries <= MAX_TRIES;
  const right = usable && rec.code?.value === code;
  if (!right) {
    if (rec.attempts >= MAX_TRIES) return { status: 429, code: "OTP_ATTEMPTS_EXCEEDED", retry: secondsUntil(rec, now) };
    return { status: 400, code: "OTP_INVALID" };
  }
  const refund = () => {
    if (rec.attempts > 0) rec.attempts--;
  };
  if (rec.code!.expiresAt <= now) {
    refund();
    return { status: 400, code: "OTP_EXPIRED" };
  }
  const userId = rec.code!.userId;
  retire(rec);
  rec.code = null;
  refund();
  return { userId };
}

/** One password check against the per-email throttle: the 429 verdict, or undefined. */
export function countLogin(m: Model, r: Real, email: string): (Verdict & { retry: number }) | undefined {
  const now = m.s.now;
  let rec = m.s.throttle[email];
  if (rec && rec.windowStart > now - LOGIN_WINDOW) rec.count++;
  else rec = { windowStart: now, count: 1 };
  m.s.throttle[email] = rec;
  if (rec.count > r.setup.maxFailed) {
    return {
      status: 429,
      code: "RATE_LIMITED" as string,
      retry: Math.max(1, Math.ceil((rec.windowStart + LOGIN_WINDOW - now) / 1000)),
    };
  }
  return undefined;
}

/** requireUser: the caller's account and session, or the 401. */
export function requireUser(m: Model, access: string | undefined): Verdict | { user: Account; sid: string } {
  if (!access) return { status: 401, code: "AUTH_REQUIRED" };
  const c = claims(access);
  if (c.exp <= Math.floor(m.s.now / 1000)) return { status: 401, code: "TOKEN_EXPIRED" };
  const s = m.s.sessions[c.sid];
  if (!s || s.userId !== c.sub || s.expiresAt <= m.s.now) return { status: 401, code: "TOKEN_INVALID" };
  const user = m.accountById(c.sub);
  if (!user) return { status: 401, code: "TOKEN_INVALID" };
  return { user, sid: c.sid };
}

/** Deletes a user's session docs (all, or all but one): how many. */
export function revokeUserSessions(m: Model, userId: string, except?: string): number {
  let n = 0;
  for (const [sid, s] of Object.entries(m.s.sessions)) {
    if (s.userId === userId && sid !== except) {
      delete m.s.sessions[sid];
      if (s.expiresAt > m.s.now) n++; // only live sessions are counted
    }
  }
  return n;
}

/** createSession's cleanup: the user's expired sessions and refresh tokens are deleted. */
export function sweepUser(m: Model, userId: string) {
  const now = m.s.now;
  for (const [sid, s] of Object.entries(m.s.sessions))
    if (s.userId === userId && s.expiresAt <= now) delete m.s.sessions[sid];
  for (const [t, tok] of Object.entries(m.s.tokens))
    if (tok.userId === userId && tok.expiresAt <= now) delete m.s.tokens[t];
}
