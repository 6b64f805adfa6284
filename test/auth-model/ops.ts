/**
 * The operations: abstract specs (what fast-check generates), resolved against the model into
 * concrete requests (tokens, codes, ids), sent over HTTP, and judged against the model.
 */
import { projectRefreshCookie } from "../auth-helpers.js";
import { adminCall, api, type CallResult, type Real, usersCounter } from "./harness.js";
import {
  type Account,
  check,
  claims,
  consume,
  countLogin,
  fail,
  type Handle,
  iso,
  issue,
  Model,
  otpKey,
  type Purpose,
  REFRESH_TTL,
  REUSE_WINDOW,
  requireUser,
  retryAfter,
  revokeUserSessions,
  same,
  signupCode,
  sweepUser,
  type Verdict,
  verdict,
} from "./model.js";

/** An answer with a message carries it in the envelope and, for urBackend's SDK, inside its data too. */
function sameWithMessage(r: Real, res: CallResult, expected: object, what: string): void {
  const message = res.json?.message;
  same(r, typeof message === "string" && message !== "", true, `${what}: message`);
  same(r, res.json.data, { ...expected, message }, what);
}

export const EMAILS = ["ann@ex.io", "bob@ex.io", "cy@ex.io"];
export const PASSWORDS = ["password-one", "password-two", "password-three"];
const WRONG = "wrong-password";
const SHORT = "short";
const GARBAGE_REFRESH = "Z".repeat(43);
const UNKNOWN_ID = "00000000000000000000000a";

export type Spec =
  | { k: "signup"; e: number; pw: number; shout: boolean }
  | { k: "login"; e: number; pw: "right" | "wrong" | number; shout: boolean }
  | { k: "refresh"; h: number; which: "current" | "previous" | "garbage" | "none"; via: "header" | "body" | "cookie" }
  | { k: "logout"; h: number; which: "current" | "previous" | "none"; bearer: boolean }
  | { k: "me"; h: number; access: "latest" | "first" }
  | { k: "profile"; h: number; name: string | null }
  | { k: "changePw"; h: number; right: boolean; pw: number }
  | { k: "requestReset"; e: number; shout: boolean }
  | { k: "reset"; e: number; code: "right" | "wrong" | "stale"; pw: number }
  | { k: "resend"; e: number }
  | { k: "verify"; e: number; code: "right" | "wrong" | "stale" }
  | { k: "sessions"; h: number }
  | { k: "revoke"; h: number; target: "self" | "other" | "foreign" | "unknown" }
  | { k: "delete"; e: number; stale: boolean };

export type Op =
  | { k: "signup"; email: string; norm: string; password: string }
  | { k: "login"; email: string; norm: string; password: string }
  | { k: "refresh"; token?: string; via: "header" | "body" | "cookie" }
  | { k: "logout"; token?: string; bearer?: string }
  | { k: "me"; access?: string }
  | { k: "profile"; access?: string; name: string | null }
  | { k: "changePw"; access?: string; current: string; next: string }
  | { k: "requestReset"; email: string; norm: string }
  | { k: "reset"; email: string; norm: string; code: string; password: string }
  | { k: "resend"; email: string; norm: string }
  | { k: "verify"; email: string; norm: string; code: string }
  | { k: "sessions"; access?: string }
  | { k: "revoke"; access?: string; target: string }
  | { k: "delete"; userId: string };

// ---------------------------------------------------------------- resolving

const shouted = (email: string) => `  ${email.toUpperCase()} `;

function pickHandle(m: Model, h: number): Handle | undefined {
  const all = m.s.handles;
  if (all.length === 0) return undefined;
  const live = all.filter((x) => {
    const s = m.s.sessions[x.sid];
    return s && s.expiresAt > m.s.now;
  });
  if (h % 3 !== 0 && live.length > 0) return live[(h >> 2) % live.length];
  return all[(h >> 2) % all.length];
}

function codeFor(m: Model, p: Purpose, email: string, kind: "right" | "wrong" | "stale"): string {
  const rec = m.s.otps[otpKey(p, email)];
  const value = rec?.code?.value;
  if (kind === "right") return value ?? "000000";
  if (kind === "stale") return rec?.old.at(-1) ?? "111111";
  return value ? String((Number(value) + 1) % 1_000_000).padStart(6, "0") : "222222";
}

export function resolve(m: Model, spec: Spec): Op {
  const email = (e: number, shout = false) => {
    const norm = EMAILS[e % EMAILS.length]!;
    return { email: shout ? shouted(norm) : norm, norm };
  };
  switch (spec.k) {
    case "signup":
      return { k: "signup", ...email(spec.e, spec.shout), password: spec.pw < 0 ? SHORT : PASSWORDS[spec.pw]! };
    case "login": {
      const e = email(spec.e, spec.shout);
      const acc = m.s.accounts[e.norm];
      const password =
        spec.pw === "right" ? (acc?.pw ?? PASSWORDS[0]!) : spec.pw === "wrong" ? WRONG : PASSWORDS[spec.pw]!;
      return { k: "login", ...e, password };
    }
    case "refresh": {
      const h = pickHandle(m, spec.h);
      const token =
        spec.which === "none"
          ? undefined
          : spec.which === "garbage" || !h
            ? GARBAGE_REFRESH
            : spec.which === "current"
              ? h.refresh.at(-1)
              : (h.refresh.at(-2) ?? h.refresh.at(-1));
      return { k: "refresh", token, via: spec.via };
    }
    case "logout": {
      const h = pickHandle(m, spec.h);
      const token =
        spec.which === "none" || !h
          ? undefined
          : spec.which === "current"
            ? h.refresh.at(-1)
            : (h.refresh.at(-2) ?? h.refresh.at(-1));
      return { k: "logout", token, bearer: spec.bearer ? h?.access.at(-1) : undefined };
    }
    case "me": {
      const h = pickHandle(m, spec.h);
      return { k: "me", access: spec.access === "latest" ? h?.access.at(-1) : h?.access[0] };
    }
    case "profile":
      return { k: "profile", access: pickHandle(m, spec.h)?.access.at(-1), name: spec.name };
    case "changePw": {
      const h = pickHandle(m, spec.h);
      const acc = h ? m.accountById(h.userId) : undefined;
      return {
        k: "changePw",
        access: h?.access.at(-1),
        current: spec.right ? (acc?.pw ?? PASSWORDS[0]!) : WRONG,
        next: PASSWORDS[spec.pw]!,
      };
    }
    case "requestReset":
      return { k: "requestReset", ...email(spec.e, spec.shout) };
    case "reset": {
      const e = email(spec.e);
      return { k: "reset", ...e, code: codeFor(m, "reset", e.norm, spec.code), password: PASSWORDS[spec.pw]! };
    }
    case "resend":
      return { k: "resend", ...email(spec.e) };
    case "verify": {
      const e = email(spec.e);
      return { k: "verify", ...e, code: codeFor(m, "verify", e.norm, spec.code) };
    }
    case "sessions":
      return { k: "sessions", access: pickHandle(m, spec.h)?.access.at(-1) };
    case "revoke": {
      const h = pickHandle(m, spec.h);
      const owners = Object.entries(m.s.sidOwners);
      let target = UNKNOWN_ID;
      if (h && spec.target === "self") target = h.sid;
      if (h && spec.target === "other")
        target = owners.find(([sid, u]) => u === h.userId && sid !== h.sid)?.[0] ?? h.sid;
      if (h && spec.target === "foreign") target = owners.find(([, u]) => u !== h.userId)?.[0] ?? UNKNOWN_ID;
      return { k: "revoke", access: h?.access.at(-1), target };
    }
    case "delete": {
      const acc = m.s.accounts[EMAILS[spec.e % EMAILS.length]!];
      const userId = !spec.stale && acc ? acc.id : (m.s.deletedIds.at(-1) ?? UNKNOWN_ID);
      return { k: "delete", userId };
    }
  }
}

// ---------------------------------------------------------------- sending

const HEADER_MODE = { "x-refresh-token-mode": "header" };

export function send(r: Real, op: Op): Promise<CallResult> {
  switch (op.k) {
    case "signup":
      return api(r, "POST", "/signup", { body: { email: op.email, password: op.password }, headers: HEADER_MODE });
    case "login":
      return api(r, "POST", "/login", { body: { email: op.email, password: op.password }, headers: HEADER_MODE });
    case "refresh": {
      if (op.token === undefined) return api(r, "POST", "/refresh-token");
      if (op.via === "header") return api(r, "POST", "/refresh-token", { headers: { "x-refresh-token": op.token } });
      if (op.via === "body") return api(r, "POST", "/refresh-token", { body: { refreshToken: op.token } });
      return api(r, "POST", "/refresh-token", {
        headers: { cookie: projectRefreshCookie(r.project.id).header(op.token) },
      });
    }
    case "logout":
      return api(r, "POST", "/logout", {
        headers: op.token ? { "x-refresh-token": op.token } : {},
        token: op.bearer ?? null,
      });
    case "me":
      return api(r, "GET", "/me", { token: op.access ?? null });
    case "profile":
      return api(r, "PUT", "/update-profile", { token: op.access ?? null, body: { name: op.name } });
    case "changePw":
      return api(r, "PUT", "/change-password", {
        token: op.access ?? null,
        body: { currentPassword: op.current, newPassword: op.next },
      });
    case "requestReset":
      return api(r, "POST", "/request-password-reset", { body: { email: op.email } });
    case "reset":
      return api(r, "POST", "/reset-password", {
        body: { email: op.email, otp: op.code, newPassword: op.password },
      });
    case "resend":
      return api(r, "POST", "/resend-verification", { body: { email: op.email } });
    case "verify":
      return api(r, "POST", "/verify-email", { body: { email: op.email, otp: op.code } });
    case "sessions":
      return api(r, "GET", "/sessions", { token: op.access ?? null });
    case "revoke":
      return api(r, "DELETE", `/sessions/${op.target}`, { token: op.access ?? null });
    case "delete":
      return adminCall(r, "DELETE", `/users/${op.userId}`);
  }
}

// ---------------------------------------------------------------- judging

const isVerdict = (x: object): x is Verdict => "status" in x;

/**
 * Documented design (choices.md): every try is counted before the code is compared, and a right try
 * gives its count back afterwards; so a wrong try running beside a right one may see the budget full
 * (429) where a serial order says 400 OTP_INVALID. Its count stays as the 400's would.
 */
function budgetRace(m: Model, op: Op): boolean {
  if (!m.inRace || !m.before || (op.k !== "verify" && op.k !== "reset")) return false;
  const others = m.group.filter((o) => o !== op && o.k === op.k && o.norm === op.norm).length;
  const key = otpKey(op.k === "verify" ? "verify" : "reset", op.norm);
  const rec = m.before.otps[key];
  const base = rec && rec.window === Math.floor(m.s.now / 600_000) && rec.keep > m.s.now ? rec.attempts : 0;
  if (others === 0 || base + others + 1 < 5) return false;
  // A right try's refund after the others counted: the count left over is read back.
  m.resyncOtp.add(key);
  return true;
}
/**
 * A right code spent while its account was deleted in parallel: 400 with its count given back
 * (benign); whether the group deletes the account (its count is then read back).
 */
function deletedMeanwhile(m: Model, op: Op): boolean {
  if (!m.inRace || !m.before || (op.k !== "verify" && op.k !== "reset")) return false;
  const id = m.before.accounts[op.norm]?.id;
  if (!id || !m.group.some((o) => o.k === "delete" && o.userId === id)) return false;
  m.resyncOtp.add(otpKey(op.k === "verify" ? "verify" : "reset", op.norm));
  return true;
}
/**
 * A code request for the same email beside the try (resend beside verify, requestReset beside reset)
 * replaces the code record, fresh budget and all, while the try counts against it: the try may find
 * its count refused and answer 429 where an order says 400 (fail closed). The count is read back.
 */
function requestRace(m: Model, op: Op): boolean {
  if (!m.inRace || (op.k !== "verify" && op.k !== "reset")) return false;
  const request = op.k === "verify" ? "resend" : "requestReset";
  if (!m.group.some((o) => o.k === request && o.norm === op.norm)) return false;
  m.resyncOtp.add(otpKey(op.k === "verify" ? "verify" : "reset", op.norm));
  return true;
}
function racedOtpBudget(m: Model, op: Op, res: CallResult, v: Verdict): boolean {
  if (!budgetRace(m, op) && !requestRace(m, op)) return false;
  if ((v.code !== "OTP_INVALID" && v.code !== "OTP_EXPIRED") || res.json?.code !== "OTP_ATTEMPTS_EXCEEDED")
    return false;
  return true;
}

function expectError(r: Real, res: CallResult, v: Verdict, what: string) {
  verdict(r, res, v, what);
  if (v.retry !== undefined) retryAfter(r, res, v.retry, what);
}

function checkUser(r: Real, view: Record<string, unknown>, acc: Account, what: string) {
  same(
    r,
    { _id: view._id, email: view.email, emailVerified: view.emailVerified, name: view.name },
    { _id: acc.id, email: acc.email, emailVerified: acc.verified, name: acc.name },
    `${what}: user`,
  );
  check(r, !("passwordHash" in view) && !("passwordId" in view) && !("password" in view), `${what}: hash leaked`);
}

/** A session payload (signup, login, refresh): checks it, returns its tokens. */
function sessionAnswer(
  m: Model,
  r: Real,
  res: CallResult,
  acc: Account,
  status: number,
  bodyRefresh: boolean,
  what: string,
) {
  verdict(r, res, { status }, what);
  const d = res.json.data;
  const now = m.s.now;
  same(
    r,
    [d.tokenType, d.expiresIn, d.token === d.accessToken, d.userId],
    ["Bearer", 900, true, acc.id],
    `${what}: payload`,
  );
  const c = claims(d.accessToken);
  same(r, [c.sub, c.exp, d.expiresAt], [acc.id, Math.floor(now / 1000) + 900, iso(c.exp * 1000)], `${what}: claims`);
  checkUser(r, d.user, acc, what);
  const refreshCookie = projectRefreshCookie(r.project.id);
  const cookie = refreshCookie.value(res);
  check(r, typeof cookie === "string" && cookie.length === 43, `${what}: no refresh cookie`);
  if (bodyRefresh) same(r, d.refreshToken, cookie, `${what}: body refresh token`);
  else same(r, d.refreshToken, undefined, `${what}: refresh token in body`);
  const maxAge = /Max-Age=(\d+)/.exec(refreshCookie.line(res) ?? "")?.[1];
  same(r, Number(maxAge), REFRESH_TTL / 1000, `${what}: cookie Max-Age`);
  return { access: d.accessToken as string, refresh: cookie as string, sid: c.sid };
}

function addSession(m: Model, acc: Account, t: { access: string; refresh: string; sid: string }) {
  const now = m.s.now;
  m.s.sessions[t.sid] = { userId: acc.id, createdAt: now, expiresAt: now + REFRESH_TTL };
  m.s.tokens[t.refresh] = { sid: t.sid, userId: acc.id, spent: false, spentAt: 0, expiresAt: now + REFRESH_TTL };
  m.s.handles.push({ userId: acc.id, email: acc.email, sid: t.sid, access: [t.access], refresh: [t.refresh] });
  m.s.sidOwners[t.sid] = acc.id;
}

const accountCount = (m: Model) => Object.keys(m.s.accounts).length;

/** Under a race with a quota, another signup's reservation (given back since) may have filled it for a moment. */
const passingReservation = (m: Model, r: Real, res: CallResult) =>
  m.inRace && r.setup.quota !== undefined && res.status === 403 && res.json?.code === "QUOTA_EXCEEDED";

/**
 * Documented (choices.md): the throttle counts attempts before the check and a right password clears
 * it afterwards, so parallel logins (right ones too) beyond the limit may be 429 although a serial
 * order would have cleared the count between them. Accepted when the attempts of the group for this
 * email, on top of the count at its start, pass the limit; the count is then read back.
 */
function raceThrottled(m: Model, r: Real, res: CallResult, email: string): boolean {
  if (!m.inRace || res.status !== 429 || res.json?.code !== "RATE_LIMITED" || !m.before) return false;
  const rec = m.before.throttle[email];
  const base = rec && rec.windowStart > m.s.now - 900_000 ? rec.count : 0;
  const attempts = m.group.filter(
    (op) =>
      (op.k === "login" && op.norm === email) ||
      (op.k === "changePw" && op.access !== undefined && accountEmail(m.before!, claims(op.access).sub) === email),
  ).length;
  if (base + attempts <= r.setup.maxFailed) return false;
  m.resync.add(email);
  return true;
}
/**
 * Documented (choices.md): a password check made against the account as read is refused (401
 * INVALID_CREDENTIALS) when a change or reset of that account landed during bcrypt's wait — also when
 * the new password equals the old one, which a serial order would accept.
 */
function racedPasswordWrite(m: Model, res: CallResult, email: string): boolean {
  if (!m.inRace || !m.before || res.status !== 401 || res.json?.code !== "INVALID_CREDENTIALS") return false;
  const id = m.before.accounts[email]?.id;
  const writes = m.group.filter(
    (op) =>
      (op.k === "reset" && op.norm === email) ||
      (op.k === "delete" && (op as { userId?: string }).userId === id) ||
      (op.k === "changePw" && op.access !== undefined && claims(op.access).sub === id),
  );
  if (writes.length === 0) return false;
  m.resync.add(email);
  return true;
}
/**
 * Documented (choices.md): a login re-checks the password after it made its session and removes that
 * session when a change or reset landed during bcrypt's wait (racedPasswordWrite): a list of the
 * account's sessions in that moment shows it. Left out of the list judged, up to one per login of the
 * group for the account, where the group writes its password too.
 */
function withoutRacedLogins(m: Model, items: Array<Record<string, unknown>>, user: Account) {
  if (!m.inRace || !m.before) return items;
  const logins = m.group.filter((op) => op.k === "login" && op.norm === user.email).length;
  const written = m.group.some(
    (op) =>
      (op.k === "reset" && op.norm === user.email) ||
      (op.k === "changePw" && op.access !== undefined && claims(op.access).sub === user.id),
  );
  const known = (id: unknown) => typeof id === "string" && (id in m.s.sessions || id in m.before!.sessions);
  const unknown = items.filter((item) => !known(item.id));
  if (!written || unknown.length === 0 || unknown.length > logins) return items;
  return items.filter((item) => known(item.id));
}
const accountEmail = (s: { accounts: Record<string, Account> }, id: string) =>
  Object.values(s.accounts).find((a) => a.id === id)?.email;

/** A try of a code (verify, reset): the account it is for, or undefined when its answer was judged an error. */
function tryCode(m: Model, r: Real, op: Extract<Op, { k: "verify" | "reset" }>, res: CallResult): Account | undefined {
  const out = consume(m, op.k, op.norm, op.code);
  if (isVerdict(out) && racedOtpBudget(m, op, res, out)) return undefined;
  budgetRace(m, op);
  const deleting = deletedMeanwhile(m, op);
  if (isVerdict(out)) return void expectError(r, res, out, op.k);
  const acc = m.accountById(out.userId);
  // The code was right, and the account went before it was spent (soak, seed 396123391).
  if (deleting && res.status === 400 && res.json?.code === "OTP_INVALID") {
    return void verdict(r, res, { status: 400, code: "OTP_INVALID" }, op.k);
  }
  if (acc && acc.email === op.norm) return acc;
  verdict(r, res, { status: 400, code: "OTP_INVALID" }, op.k);
  return undefined;
}

export function judge(m: Model, r: Real, op: Op, res: CallResult) {
  const now = m.s.now;
  const what = `${op.k}`;
  switch (op.k) {
    case "signup": {
      if (op.password.length < 8) return verdict(r, res, { status: 400, code: "VALIDATION_FAILED" }, what);
      if (r.setup.quota !== undefined && accountCount(m) >= r.setup.quota)
        return verdict(r, res, { status: 403, code: "QUOTA_EXCEEDED" }, what);
      if (passingReservation(m, r, res)) return;
      if (m.s.accounts[op.norm]) return verdict(r, res, { status: 409, code: "EMAIL_TAKEN" }, what);
      verdict(r, res, { status: 201 }, what);
      const d = res.json.data;
      const acc: Account = { id: d.user._id, email: op.norm, pw: op.password, verified: false };
      m.s.accounts[op.norm] = acc;
      signupCode(m, op.norm, acc.id);
      if (r.setup.requireVerify) {
        checkUser(r, d.user, acc, what);
        same(
          r,
          [d.emailVerificationRequired, d.accessToken, projectRefreshCookie(r.project.id).value(res)],
          [true, undefined, undefined],
          `${what}: no session`,
        );
        return;
      }
      sweepUser(m, acc.id);
      addSession(m, acc, sessionAnswer(m, r, res, acc, 201, true, what));
      return;
    }
    case "login": {
      if (raceThrottled(m, r, res, op.norm)) return;
      if (racedPasswordWrite(m, res, op.norm)) {
        // Its session may have been stored and then revoked, and counted, by a change beside it.
        m.refusedLogins[op.norm] = (m.refusedLogins[op.norm] ?? 0) + 1;
        // Refused before or after it started that session, it may or may not have swept the
        // account's expired sessions and tokens (invisible to clients): read back.
        const id = m.before?.accounts[op.norm]?.id;
        if (id) m.resyncSwept.add(id);
        return;
      }
      const limited = countLogin(m, r, op.norm);
      if (limited) return expectError(r, res, limited, what);
      const acc = m.s.accounts[op.norm];
      if (!acc || acc.pw !== op.password) return verdict(r, res, { status: 401, code: "INVALID_CREDENTIALS" }, what);
      delete m.s.throttle[op.norm];
      if (r.setup.requireVerify && !acc.verified)
        return verdict(r, res, { status: 403, code: "EMAIL_NOT_VERIFIED" }, what);
      sweepUser(m, acc.id);
      addSession(m, acc, sessionAnswer(m, r, res, acc, 200, true, what));
      return;
    }
    case "refresh": {
      const invalid = { status: 401, code: "REFRESH_TOKEN_INVALID" };
      if (op.token === undefined) return verdict(r, res, invalid, what);
      const t = m.s.tokens[op.token];
      if (!t || t.expiresAt <= now) return verdict(r, res, invalid, what);
      if (!t.spent) {
        const s = m.s.sessions[t.sid];
        if (!s || s.expiresAt <= now) return verdict(r, res, invalid, what);
        const acc = m.accountById(t.userId);
        if (!acc) fail(r, "model: a live token of a deleted user");
        const got = sessionAnswer(m, r, res, acc, 200, op.via !== "cookie", what);
        same(r, got.sid, t.sid, `${what}: same session`);
        t.spent = true;
        t.spentAt = now;
        t.successor = got.refresh;
        s.expiresAt = now + REFRESH_TTL;
        m.s.tokens[got.refresh] = {
          sid: t.sid,
          userId: t.userId,
          spent: false,
          spentAt: 0,
          expiresAt: now + REFRESH_TTL,
        };
        const h = m.s.handles.find((x) => x.sid === t.sid)!;
        h.access.push(got.access);
        h.refresh.push(got.refresh);
        return;
      }
      const s = m.s.sessions[t.sid];
      if (!s || s.expiresAt <= now) return verdict(r, res, invalid, what);
      const successor = t.successor === undefined ? undefined : m.s.tokens[t.successor];
      if (now < t.spentAt + REUSE_WINDOW && successor?.spent !== true) {
        return verdict(
          r,
          res,
          { status: 401, code: "REFRESH_TOKEN_REUSED", message: "Refresh token already used" },
          what,
        );
      }
      delete m.s.sessions[t.sid];
      return verdict(
        r,
        res,
        { status: 401, code: "REFRESH_TOKEN_REUSED", message: "Refresh token reused; session revoked" },
        what,
      );
    }
    case "logout": {
      let revoked = false;
      if (op.token) {
        const t = m.s.tokens[op.token];
        if (t && m.s.sessions[t.sid]) {
          delete m.s.sessions[t.sid];
          revoked = true;
        }
      }
      if (op.bearer) {
        const c = claims(op.bearer);
        const s = m.s.sessions[c.sid];
        if (c.exp > Math.floor(now / 1000) && s && s.userId === c.sub) {
          delete m.s.sessions[c.sid];
          revoked = true;
        }
      }
      verdict(r, res, { status: 200 }, what);
      sameWithMessage(r, res, { success: true, loggedOut: true, revoked }, what);
      return;
    }
    case "me": {
      const u = requireUser(m, op.access);
      if (isVerdict(u)) return verdict(r, res, u, what);
      verdict(r, res, { status: 200 }, what);
      return checkUser(r, res.json.data, u.user, what);
    }
    case "profile": {
      const u = requireUser(m, op.access);
      if (isVerdict(u)) return verdict(r, res, u, what);
      // Documented: 412 after 3 tries when the account kept changing under it (here: parallel writers).
      if (m.inRace && res.status === 412) {
        const writers = m.group.filter((o) => o !== op && ["profile", "changePw", "verify", "reset"].includes(o.k));
        if (writers.length >= 3) {
          return verdict(r, res, { status: 412, code: "PRECONDITION_FAILED" }, what);
        }
      }
      verdict(r, res, { status: 200 }, what);
      if (op.name === null) delete u.user.name;
      else u.user.name = op.name;
      return checkUser(r, res.json.data.user, u.user, what);
    }
    case "changePw": {
      const u = requireUser(m, op.access);
      if (isVerdict(u)) return verdict(r, res, u, what);
      if (raceThrottled(m, r, res, u.user.email) || racedPasswordWrite(m, res, u.user.email)) return;
      const limited = countLogin(m, r, u.user.email);
      if (limited) return expectError(r, res, limited, what);
      if (u.user.pw !== op.current)
        return verdict(
          r,
          res,
          { status: 401, code: "INVALID_CREDENTIALS", message: "Current password is incorrect" },
          what,
        );
      delete m.s.throttle[u.user.email];
      u.user.pw = op.next;
      const n = revokeUserSessions(m, u.user.id, u.sid);
      // Documented: it may also count the session of a login refused beside it (judged before it).
      const refused = m.refusedLogins[u.user.email] ?? 0;
      const got = res.json?.data?.revokedSessions;
      const counted = typeof got === "number" && got > n && got <= n + refused ? got : n;
      m.refusedLogins[u.user.email] = refused - (counted - n);
      verdict(r, res, { status: 200 }, what);
      sameWithMessage(r, res, { passwordChanged: true, revokedSessions: counted }, what);
      return;
    }
    case "requestReset": {
      const acc = m.s.accounts[op.norm];
      issue(m, "reset", op.norm, acc?.id ?? null);
      verdict(r, res, { status: 200 }, what);
      sameWithMessage(r, res, { email: op.norm }, what);
      same(r, res.headers.get("retry-after"), null, `${what}: Retry-After`);
      return;
    }
    case "resend": {
      const acc = m.s.accounts[op.norm];
      const eligible = acc && !acc.verified ? acc.id : null;
      const out = issue(m, "verify", op.norm, eligible);
      if ("cooldown" in out)
        return expectError(r, res, { status: 429, code: "OTP_COOLDOWN", retry: out.cooldown }, what);
      verdict(r, res, { status: 200 }, what);
      sameWithMessage(r, res, { email: op.norm }, what);
      return;
    }
    case "verify": {
      const acc = tryCode(m, r, op, res);
      if (!acc) return;
      acc.verified = true;
      verdict(r, res, { status: 200 }, what);
      sameWithMessage(r, res, { email: op.norm, emailVerified: true }, what);
      return;
    }
    case "reset": {
      const acc = tryCode(m, r, op, res);
      if (!acc) return;
      acc.pw = op.password;
      acc.verified = true;
      revokeUserSessions(m, acc.id);
      delete m.s.throttle[op.norm];
      verdict(r, res, { status: 200 }, what);
      sameWithMessage(r, res, { passwordReset: true }, what);
      return;
    }
    case "sessions": {
      // Passed requireUser, then a parallel request revoked sessions (its own included) after it
      // listed: the list lies between the states before and after (benign; noted), and holds its
      // own session (one that ended before the list is 401, as after the revocation).
      if (m.inRace && m.before && res.status === 200) {
        const b = new Model(m.s.now, m.secret);
        b.s = m.before;
        const u0 = requireUser(b, op.access);
        const u1 = requireUser(m, op.access);
        if (!isVerdict(u0) && isVerdict(u1)) {
          const ids = (res.json.data.items as Array<{ id: string }>).map((i) => i.id);
          const live = (st: typeof m.s) =>
            Object.entries(st.sessions)
              .filter(([, x]) => x.userId === u0.user.id && x.expiresAt > m.s.now)
              .map(([id]) => id);
          const [was, is] = [live(m.before), live(m.s)];
          check(r, ids.includes(u0.sid), `${what}: listed without its own session`);
          check(
            r,
            ids.every((id) => was.includes(id) || is.includes(id)),
            `${what}: a session never live`,
          );
          check(
            r,
            is.filter((id) => was.includes(id)).every((id) => ids.includes(id)),
            `${what}: a live session left out`,
          );
          return;
        }
      }
      const u = requireUser(m, op.access);
      if (isVerdict(u)) return verdict(r, res, u, what);
      verdict(r, res, { status: 200 }, what);
      return checkSessions(m, r, withoutRacedLogins(m, res.json.data.items, u.user), u.user.id, u.sid, what);
    }
    case "revoke": {
      // Passed requireUser, then its target (its own session) was revoked by a parallel request before
      // its delete: 404 where any serial order says 401 or 200 (benign; noted).
      if (m.inRace && m.before && res.status === 404 && !m.s.sessions[op.target]) {
        const b = new Model(m.s.now, m.secret);
        b.s = m.before;
        const u0 = requireUser(b, op.access);
        if (!isVerdict(u0) && m.before.sessions[op.target]?.userId === u0.user.id) {
          return verdict(r, res, { status: 404, code: "NOT_FOUND" }, what);
        }
      }
      const u = requireUser(m, op.access);
      if (isVerdict(u)) return verdict(r, res, u, what);
      const s = m.s.sessions[op.target];
      if (!s || s.userId !== u.user.id) return verdict(r, res, { status: 404, code: "NOT_FOUND" }, what);
      delete m.s.sessions[op.target];
      verdict(r, res, { status: 200 }, what);
      same(r, res.json.data, { id: op.target, revoked: true }, what);
      return;
    }
    case "delete": {
      const acc = m.accountById(op.userId);
      if (!acc) return verdict(r, res, { status: 404, code: "USER_NOT_FOUND" }, what);
      delete m.s.accounts[acc.email];
      for (const [sid, s] of Object.entries(m.s.sessions)) if (s.userId === acc.id) delete m.s.sessions[sid];
      for (const [t, tok] of Object.entries(m.s.tokens)) if (tok.userId === acc.id) delete m.s.tokens[t];
      for (const rec of Object.values(m.s.otps)) if (rec.code?.userId === acc.id) rec.code = null;
      delete m.s.throttle[acc.email];
      m.s.deletedIds.push(acc.id);
      verdict(r, res, { status: 200 }, what);
      same(r, res.json.data, { _id: acc.id, id: acc.id, deleted: true }, what);
      return;
    }
  }
}

function checkSessions(
  m: Model,
  r: Real,
  items: Array<Record<string, unknown>>,
  userId: string,
  current: string,
  what: string,
) {
  const now = m.s.now;
  const expected = Object.entries(m.s.sessions)
    .filter(([, s]) => s.userId === userId && s.expiresAt > now)
    .map(([id, s]) => ({ id, createdAt: iso(s.createdAt), expiresAt: iso(s.expiresAt), current: id === current }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const got = items
    .map((i) => ({ id: i.id, createdAt: i.createdAt, expiresAt: i.expiresAt, current: i.current }))
    .sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
  same(r, got, expected, `${what}: sessions`);
  for (let i = 1; i < items.length; i++) {
    const [a, b] = [items[i - 1]!, items[i]!];
    check(
      r,
      String(a.createdAt) > String(b.createdAt) || (a.createdAt === b.createdAt && String(a.id) > String(b.id)),
      `${what}: not newest first`,
    );
  }
}

// ---------------------------------------------------------------- after each step

/** The mails that went out match the model's count per (purpose, email); the model learns new codes. */
function mailCounts(r: Real) {
  const counts: Record<string, number> = {};
  const newest: Record<string, string> = {};
  for (const mail of r.mails) {
    const key = otpKey(mail.subject.includes("verify your email") ? "verify" : "reset", mail.to);
    counts[key] = (counts[key] ?? 0) + 1;
    newest[key] = mail.otp!;
  }
  return { counts, newest };
}
export function checkMailCounts(m: Model, r: Real) {
  same(r, mailCounts(r).counts, m.s.mails, "mails sent per (purpose, email)");
}
export function settleMails(m: Model, r: Real) {
  const { newest } = mailCounts(r);
  checkMailCounts(m, r);
  for (const [key, rec] of Object.entries(m.s.otps)) {
    if (rec.code && rec.code.value === undefined) {
      if (!newest[key]) fail(r, `model: no mail for the code of ${key}`);
      rec.code.value = newest[key];
    }
  }
}

/** The users counter is exact: the accounts there are. */
export async function checkCounter(m: Model, r: Real) {
  if (r.setup.quota === undefined) return;
  const counted = await usersCounter(r);
  if (counted !== undefined) same(r, counted, accountCount(m), "users quota counter");
}

/** Everything the model says, through the API: accounts (admin list), each live handle's sessions. */
export async function fullCheck(m: Model, r: Real) {
  await checkCounter(m, r);
  const list = await adminCall(r, "GET", "/users?limit=100");
  verdict(r, list, { status: 200 }, "admin users");
  same(
    r,
    (list.json.data.items as Array<{ _id: string; email: string; emailVerified: boolean }>)
      .map((u) => ({ id: u._id, email: u.email, verified: u.emailVerified }))
      .sort((a, b) => (a.email < b.email ? -1 : 1)),
    Object.values(m.s.accounts)
      .map((a) => ({ id: a.id, email: a.email, verified: a.verified }))
      .sort((a, b) => (a.email < b.email ? -1 : 1)),
    "accounts",
  );
  for (const h of m.s.handles) {
    const op: Op = { k: "sessions", access: h.access.at(-1) };
    judge(m, r, op, await send(r, op));
  }
}
