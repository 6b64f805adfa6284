/**
 * The final state a serial order must explain, read from the store: accounts, sessions, refresh
 * tokens (spent or not), code records (cooldown, budget, whether a code is usable) and login counts.
 * Only what the API can tell apart is compared (expired records equal missing ones).
 */
import { sha256Hex } from "../../shared/crypto.js";
import type { Doc } from "../../shared/store/types.js";
import type { Real } from "./harness.js";
import { dayOf, LOGIN_WINDOW, type Model, same, windowOf } from "./model.js";
import { EMAILS } from "./ops.js";

export interface Snapshot {
  users: Doc[];
  sessions: Doc[];
  tokens: Doc[];
  otps: Doc[];
  attempts: Doc[];
}

export async function snapshot(r: Real): Promise<Snapshot> {
  const db = r.deps.store.tenant({ projectId: r.project.id });
  const all = (name: string) => db.collection(name).find({});
  const [users, sessions, tokens, otps, attempts] = await Promise.all([
    all("users"),
    all("_auth_sessions"),
    all("_auth_refresh_tokens"),
    all("_auth_otps"),
    all("_auth_login_attempts"),
  ]);
  return { users, sessions, tokens, otps, attempts };
}

const byKey = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));

/** Throws when the model's state is not the store's. `skipThrottle`: emails whose count was read back. */
export function compareState(
  m: Model,
  r: Real,
  snap: Snapshot,
  skipThrottle: Set<string> = new Set(),
  skipBudget: Set<string> = new Set(),
) {
  const now = m.s.now;
  same(
    r,
    byKey(
      snap.users.map((u) => ({ id: u._id, email: u.email, verified: u.emailVerified, name: u.name })),
      (x) => String(x.email),
    ),
    byKey(
      Object.values(m.s.accounts).map((a) => ({ id: a.id, email: a.email, verified: a.verified, name: a.name })),
      (x) => x.email,
    ),
    "state: accounts",
  );
  same(
    r,
    byKey(
      snap.sessions.map((s) => ({ id: s._id, userId: s.userId, expiresAt: s.expiresAt })),
      (x) => x.id,
    ),
    byKey(
      Object.entries(m.s.sessions).map(([id, s]) => ({
        id,
        userId: s.userId,
        expiresAt: new Date(s.expiresAt).toISOString(),
      })),
      (x) => x.id,
    ),
    "state: sessions",
  );
  const realTokens = new Map(snap.tokens.map((t) => [String(t.hash), t]));
  const modelTokens = Object.entries(m.s.tokens).map(([value, t]) => ({
    hash: sha256Hex(`${r.project.id}\u0000${value}`),
    t,
  }));
  same(
    r,
    modelTokens
      .map(({ hash, t }) => ({
        spent: t.spent,
        sid: t.sid,
        known: realTokens.has(hash) ? realTokens.get(hash)!.spent === true : "missing",
      }))
      .map((x) => ({ sid: x.sid, spent: x.known })),
    modelTokens.map(({ t }) => ({ sid: t.sid, spent: t.spent })),
    "state: refresh tokens",
  );
  // Code records: by their keyed hash.
  const realOtps = new Map(snap.otps.map((o) => [String(o.key), o]));
  const w = windowOf(now);
  for (const purpose of ["verify", "reset"] as const) {
    for (const email of EMAILS) {
      const key = sha256Hex(
        `${r.project.jwtSecret}\u0000${purpose === "verify" ? "verify-email" : "password-reset"}\u0000${email}`,
      );
      const real = realOtps.get(key);
      const rec = m.s.otps[`${purpose}|${email}`];
      const loose = skipBudget.has(`${purpose}|${email}`);
      const view = (
        x:
          | {
              sentAt: number;
              attempts: number;
              window: number;
              issued: number;
              day: number;
              code: boolean;
              tries: number;
            }
          | undefined,
      ) =>
        x === undefined
          ? "none"
          : {
              cooldownUntil: Math.max(x.sentAt + 60_000, now),
              attempts: loose ? "read back" : x.window === w ? x.attempts : 0,
              issuedToday: x.day === dayOf(now) ? x.issued : 0,
              code: x.code,
              tries: loose ? "read back" : x.code ? x.tries : 0,
            };
      const realLive = real && Date.parse(String(real.expiresAt)) > now;
      const modelLive = rec && rec.keep > now;
      same(
        r,
        view(
          realLive
            ? {
                sentAt: Date.parse(String(real.sentAt)),
                attempts: real.attempts as number,
                window: real.window as number,
                issued: real.issued as number,
                day: real.day as number,
                code: typeof real.codeHash === "string" && typeof real.userId === "string",
                tries: real.codeTries as number,
              }
            : undefined,
        ),
        view(
          modelLive
            ? {
                sentAt: rec.sentAt,
                attempts: rec.attempts,
                window: rec.window,
                issued: rec.issued,
                day: rec.day,
                code: rec.code !== null,
                tries: rec.codeTries,
              }
            : undefined,
        ),
        `state: code record ${purpose} ${email}`,
      );
    }
  }
  for (const email of EMAILS) {
    if (skipThrottle.has(email)) continue;
    const real = snap.attempts.find((a) => a.email === email);
    const rec = m.s.throttle[email];
    const count = (x: { windowStart: number; count: number } | undefined) =>
      x && x.windowStart > now - LOGIN_WINDOW ? { windowStart: x.windowStart, count: x.count } : 0;
    same(
      r,
      count(real ? { windowStart: real.windowStart as number, count: real.count as number } : undefined),
      count(rec),
      `state: login count ${email}`,
    );
  }
}

/**
 * Reads back, from the snapshot, what a race left unknowable before the state is compared: whether
 * the expired sessions and tokens of `m.resyncSwept`'s users were swept (the model drops those the
 * store no longer holds; live ones are still compared).
 */
export function readBackSweeps(m: Model, r: Real, snap: Snapshot) {
  const now = m.s.now;
  const sessions = new Set(snap.sessions.map((s) => s._id));
  const tokens = new Set(snap.tokens.map((t) => String(t.hash)));
  for (const [sid, s] of Object.entries(m.s.sessions))
    if (m.resyncSwept.has(s.userId) && s.expiresAt <= now && !sessions.has(sid)) delete m.s.sessions[sid];
  for (const [value, t] of Object.entries(m.s.tokens)) {
    const gone = !tokens.has(sha256Hex(`${r.project.id}\u0000${value}`));
    if (m.resyncSwept.has(t.userId) && t.expiresAt <= now && gone) delete m.s.tokens[value];
  }
  m.resyncSwept = new Set();
}

/** Reads back what a race left unknowable: login counts and code budgets. */
export async function readBack(m: Model, r: Real) {
  const db = r.deps.store.tenant({ projectId: r.project.id });
  for (const email of m.resync) {
    const doc = await db.collection("_auth_login_attempts").findOne({ email });
    if (doc) m.s.throttle[email] = { windowStart: doc.windowStart as number, count: doc.count as number };
    else delete m.s.throttle[email];
  }
  for (const k of m.resyncOtp) {
    const [purpose, email] = k.split("|") as ["verify" | "reset", string];
    const key = sha256Hex(
      `${r.project.jwtSecret}\u0000${purpose === "verify" ? "verify-email" : "password-reset"}\u0000${email}`,
    );
    const doc = await db.collection("_auth_otps").findOne({ key });
    const rec = m.s.otps[k];
    if (doc && rec) {
      rec.attempts = doc.attempts as number;
      rec.window = doc.window as number;
      rec.codeTries = doc.codeTries as number;
    }
  }
  m.resync = new Set();
  m.resyncOtp = new Set();
}
