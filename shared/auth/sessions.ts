/**
 * Sessions and refresh tokens (API.md §6). A session is one refresh-token family. Each refresh
 * token is opaque (256 random bits), stored only as its SHA-256 with its project's id (a token of
 * one project finds nothing in another's, even where two share a database), and spent by its first use: the
 * spend is one atomic conditional update (`{hash, spent: false}` → `spent: true`), so of any
 * number of concurrent refreshes exactly one wins. Presenting a spent token again is reuse: the
 * whole family (the session) is revoked — except within REFRESH_REUSE_WINDOW_MS of the spend while
 * the successor it issued is unspent (a client's own parallel refreshes). Revoking a session
 * deletes it; its tokens, spent or not, then lead nowhere (REFRESH_TOKEN_INVALID). A login's session
 * remembers the passwordId of the password it checked, so a reset or change ends every session but
 * those signed in with the password it wrote (a login that read it, even where that login rehashed
 * it). A writer's revoke that lands after another writer's write still ends the other's sessions
 * too (docs/choices.md).
 */
import { randomToken, sha256Hex } from "../crypto.js";
import { ApiError } from "../errors.js";
import { newId } from "../ids.js";
import type { Doc } from "../store/types.js";
import type { AuthCollections } from "./store.js";
import type { UserDoc } from "./users.js";

/** A session as its owner sees it (GET /sessions). */
export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  current: boolean;
}

/** A refresh token just handed out, and the session it belongs to. */
export interface IssuedRefresh {
  sessionId: string;
  userId: string;
  refreshToken: string;
  expiresAt: number;
}

/** What a refresh token looks like: 32 random bytes, base64url. */
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const MAX_USER_AGENT = 256;
const iso = (ms: number) => new Date(ms).toISOString();

type Cols = Pick<AuthCollections, "sessions" | "refreshTokens">;
type RotateCols = Pick<AuthCollections, "sessions" | "refreshTokens" | "users">;

/** What a refresh token is stored and looked up as: bound to the project that issued it. */
const tokenHash = (projectId: string, token: string) => sha256Hex(`${projectId}\u0000${token}`);

/**
 * How long after its spend a refresh token that comes again is taken for the same client's parallel
 * refreshes (each request of a burst that met an expired access token refreshes with the one stored
 * token) rather than for theft: still 401 REFRESH_TOKEN_REUSED, so exactly one refresh succeeds, but
 * the session is kept — and only while the successor that spend issued is unspent (a replay after
 * the family moved on is not a parallel refresh). Supabase's refresh-token reuse interval, 10 s by
 * default. Reasoning: docs/choices.md, Keys and tokens.
 */
export const REFRESH_REUSE_WINDOW_MS = 10_000;

async function insertRefreshToken(
  cols: Cols,
  input: { projectId: string; id: string; sessionId: string; userId: string; now: number; ttlMs: number },
) {
  const { sessionId, userId, now, ttlMs } = input;
  const refreshToken = randomToken(32);
  const expiresAt = now + ttlMs;
  await cols.refreshTokens.insertOne({
    _id: input.id,
    hash: tokenHash(input.projectId, refreshToken),
    sessionId,
    userId,
    spent: false,
    createdAt: iso(now),
    expiresAt: iso(expiresAt),
  });
  return { sessionId, userId, refreshToken, expiresAt };
}

/**
 * Starts a session for a user; also clears that user's expired sessions and tokens. `passwordId`:
 * that of the password the login checked, read with its hash (see revokeUserSessions).
 */
export async function createSession(
  cols: Cols,
  input: {
    projectId: string;
    userId: string;
    now: number;
    ttlMs: number;
    userAgent: string | undefined;
    passwordId?: string;
  },
): Promise<IssuedRefresh> {
  const { projectId, userId, now, ttlMs } = input;
  await cols.sessions.deleteMany({ userId, expiresAt: { $lte: iso(now) } });
  await cols.refreshTokens.deleteMany({ userId, expiresAt: { $lte: iso(now) } });
  const sessionId = newId(now);
  await cols.sessions.insertOne({
    _id: sessionId,
    userId,
    createdAt: iso(now),
    lastUsedAt: iso(now),
    expiresAt: iso(now + ttlMs),
    userAgent: input.userAgent ? input.userAgent.slice(0, MAX_USER_AGENT) : null,
    ...(input.passwordId === undefined ? {} : { passwordId: input.passwordId }),
  });
  return insertRefreshToken(cols, { projectId, id: newId(now), sessionId, userId, now, ttlMs });
}

/**
 * Spends a refresh token and issues its successor in the same session. A token that is unknown,
 * expired, or of a session that is gone (logged out, revoked, expired) → REFRESH_TOKEN_INVALID,
 * however often it comes: only a live session's token is spent. A spent token is REFRESH_TOKEN_REUSED
 * and revokes its session, unless it comes within REFRESH_REUSE_WINDOW_MS of its spend and the
 * successor issued then is unspent: then the session is kept. Of concurrent refreshes with one token
 * exactly one spends it and gets its successor (and the account, read before the spend); the others
 * are REUSED within the window, so the winner's successor stays good.
 */
export async function rotateRefreshToken(
  cols: RotateCols,
  token: string,
  input: { projectId: string; now: number; ttlMs: number },
): Promise<IssuedRefresh & { user: UserDoc }> {
  if (!REFRESH_TOKEN.test(token)) throw new ApiError("REFRESH_TOKEN_INVALID");
  const { projectId, now, ttlMs } = input;
  const hash = tokenHash(projectId, token);
  const known = await cols.refreshTokens.findOne({ hash, expiresAt: { $gt: iso(now) } });
  if (!known) throw new ApiError("REFRESH_TOKEN_INVALID");
  const sessionId = String(known.sessionId);
  const live = { _id: sessionId, expiresAt: { $gt: iso(now) } };
  let spent: Doc | null = known;
  if (known.spent !== true) {
    // The account is read before the session is extended, which orders this refresh before a reset
    // landing later: read after, it could answer the account as that reset left it (an account
    // deleted since is no one's session; its deletion also ends the session, failing the extend).
    const userId = String(known.userId);
    const user = (await cols.users.findOne({ _id: userId })) as UserDoc | null;
    if (!user) {
      await cols.sessions.deleteOne({ _id: sessionId });
      throw new ApiError("REFRESH_TOKEN_INVALID");
    }
    // The session is extended before the spend, and only while it lives: a spend is then always
    // answered 200, so a logout, reset or account deletion landing in between is ordered after this
    // refresh (its successor leads nowhere), and a concurrent refresh that saw the spend never sees it undone.
    const extended = { lastUsedAt: iso(now), expiresAt: iso(now + ttlMs) };
    if (!(await cols.sessions.updateOne(live, { $set: extended }))) throw new ApiError("REFRESH_TOKEN_INVALID");
    // The successor's id is recorded with the spend, so a reuse can tell whether the family moved on.
    const successorId = newId(now);
    const spend = { spent: true, spentAt: iso(now), successorId };
    if (await cols.refreshTokens.updateOne({ hash, spent: false }, { $set: spend })) {
      const issued = await insertRefreshToken(cols, { projectId, id: successorId, sessionId, userId, now, ttlMs });
      return { ...issued, user };
    }
    // Spent by a concurrent refresh just now: read when, and what it issued.
    spent = await cols.refreshTokens.findOne({ hash });
  }
  // A spent token of a session that is gone has nothing left to revoke: INVALID, as its unspent tokens.
  if (!(await cols.sessions.findOne(live))) throw new ApiError("REFRESH_TOKEN_INVALID");
  if (spent && (await parallelRefresh(cols, spent, now))) {
    throw new ApiError("REFRESH_TOKEN_REUSED", "Refresh token already used");
  }
  // Of concurrent reuses, the one that revokes says so; the others find the session gone.
  if (!(await cols.sessions.deleteOne({ _id: sessionId }))) throw new ApiError("REFRESH_TOKEN_INVALID");
  throw new ApiError("REFRESH_TOKEN_REUSED");
}

/**
 * Whether a spent token coming again looks like the same client's parallel refresh: within
 * REFRESH_REUSE_WINDOW_MS of its spend, and the successor that spend issued not spent yet (a
 * successor not inserted yet counts as unspent). A token spent before successors were recorded never does.
 */
async function parallelRefresh(cols: Cols, spent: Doc, now: number): Promise<boolean> {
  const spentAt = typeof spent.spentAt === "string" ? Date.parse(spent.spentAt) : Number.NaN;
  if (!(now < spentAt + REFRESH_REUSE_WINDOW_MS) || typeof spent.successorId !== "string") return false;
  const successor = await cols.refreshTokens.findOne({ _id: spent.successorId });
  return successor?.spent !== true;
}

/** The session a refresh token belongs to, spent or not; null when the token is unknown. */
export async function sessionOfRefreshToken(cols: Cols, token: string, projectId: string): Promise<string | null> {
  if (!REFRESH_TOKEN.test(token)) return null;
  const doc = await cols.refreshTokens.findOne({ hash: tokenHash(projectId, token) });
  return doc ? String(doc.sessionId) : null;
}

/** Whether a session exists, belongs to the user and has not expired. */
export async function sessionAlive(cols: Cols, sessionId: string, userId: string, now: number): Promise<boolean> {
  return (await cols.sessions.findOne({ _id: sessionId, userId, expiresAt: { $gt: iso(now) } })) !== null;
}

/** Revokes one session (optionally only if it belongs to `userId`); whether it existed. */
export async function revokeSession(cols: Cols, sessionId: string, userId?: string): Promise<boolean> {
  const filter = userId === undefined ? { _id: sessionId } : { _id: sessionId, userId };
  return (await cols.sessions.deleteOne(filter)) !== null;
}

/**
 * Revokes every session of a user, or every one but `exceptSessionId`; how many of them were live
 * (as GET /sessions lists them): an expired one a login had not swept yet is deleted uncounted, so a
 * concurrent login's sweep never changes the count. `passwordId`: that of the password a reset or
 * change has just written. It runs after that write, so a login that read the new password may have
 * stored its session already: that session is kept (and not counted), as it would be had the login
 * come after, even where its login rehashed the password (a rehash keeps the passwordId). A session
 * without one (a login before the account had one, a signup stored before passwordId, a social
 * sign-in) is ended. A login that checked an older password is ended here, or refused by its own
 * re-check (functions/auth/login.ts).
 */
export async function revokeUserSessions(
  cols: Cols,
  userId: string,
  input: { now: number; exceptSessionId?: string; passwordId?: string },
): Promise<number> {
  const { now, exceptSessionId, passwordId } = input;
  const filter = {
    userId,
    ...(exceptSessionId === undefined ? {} : { _id: { $ne: exceptSessionId } }),
    ...(passwordId === undefined ? {} : { passwordId: { $ne: passwordId } }),
  };
  const live = await cols.sessions.deleteMany({ ...filter, expiresAt: { $gt: iso(now) } });
  await cols.sessions.deleteMany(filter);
  return live;
}

/** A user's live sessions, newest first; `current` marks the caller's own. */
export async function listSessions(
  cols: Cols,
  userId: string,
  input: { now: number; currentSessionId: string },
): Promise<SessionView[]> {
  const docs = await cols.sessions.find(
    { userId, expiresAt: { $gt: iso(input.now) } },
    { sort: { createdAt: -1, _id: -1 }, limit: 100 },
  );
  return docs.map((doc) => ({
    id: doc._id,
    createdAt: String(doc.createdAt),
    lastUsedAt: String(doc.lastUsedAt),
    expiresAt: String(doc.expiresAt),
    userAgent: typeof doc.userAgent === "string" ? doc.userAgent : null,
    current: doc._id === input.currentSessionId,
  }));
}
