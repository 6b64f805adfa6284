/** What every auth route needs: the project's auth collections and settings, and the signed-in user. */
import type { Context } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { sessionAlive } from "../../shared/auth/sessions.js";
import { type AuthSettings, authSettingsOf } from "../../shared/auth/settings.js";
import type { AuthCollections, AuthStore } from "../../shared/auth/store.js";
import type { UserDoc } from "../../shared/auth/users.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError, authRequired } from "../../shared/errors.js";
import { isId } from "../../shared/ids.js";
import type { oneAtATime } from "../../shared/one-at-a-time.js";
import type { KeyType, ResolvedProject } from "../../shared/principal.js";
import { bearerToken, verifyAccessToken } from "../../shared/tokens.js";

/** The auth function's dependencies: the shared deps plus its per-instance store of auth collections. */
export interface AuthRuntime {
  deps: Deps;
  store: AuthStore;
  /** One user's session-ending requests, one after another on this instance (see inUserTurn). */
  userTurn: ReturnType<typeof oneAtATime>;
}

/** One request's view of its project. */
export interface AuthScope {
  project: ResolvedProject;
  keyType: KeyType;
  settings: AuthSettings;
  cols: AuthCollections;
  now: number;
}

/** The signed-in caller of a Bearer route. */
export interface UserScope extends AuthScope {
  user: UserDoc;
  sessionId: string;
}

/** The project of the request's API key, its auth settings and collections. */
export async function scopeOf(c: Context<AppEnv>, rt: AuthRuntime): Promise<AuthScope> {
  const { project, keyType } = c.get("principal");
  return projectScope(rt, project, keyType);
}

/** A project's auth scope, for a request that named its project some other way than a key. */
export async function projectScope(rt: AuthRuntime, project: ResolvedProject, keyType: KeyType): Promise<AuthScope> {
  return {
    project,
    keyType,
    settings: authSettingsOf(project),
    cols: await rt.store.forProject(project),
    now: rt.deps.clock.now(),
  };
}

/**
 * The caller of a Bearer route (pk or sk): a valid access token of this project whose session is
 * still live. No token → AUTH_REQUIRED; bad, foreign or revoked → TOKEN_INVALID; expired → TOKEN_EXPIRED.
 */
export async function requireUser(c: Context<AppEnv>, rt: AuthRuntime): Promise<UserScope> {
  const token = bearerToken(c.req.header("authorization"));
  if (token === undefined) throw authRequired();
  const scope = await scopeOf(c, rt);
  const { userId, claims } = await verifyAccessToken(scope.project, token, scope.now);
  const sessionId = claims.sid;
  if (!isId(sessionId) || !(await sessionAlive(scope.cols, sessionId, userId, scope.now))) throw sessionEnded();
  const user = (await scope.cols.users.findOne({ _id: userId })) as UserDoc | null;
  if (!user) throw new ApiError("TOKEN_INVALID");
  return { ...scope, user, sessionId };
}

/** 401 to a caller whose session was revoked. */
export const sessionEnded = () =>
  new ApiError("TOKEN_INVALID", "Session ended (signed out, or the password changed): sign in again");

/**
 * Runs a request that ends sessions (a password change, revoking a session) in its user's turn on
 * this instance, once the caller's own session is found still live: two such requests sent together
 * each end the other's session, and both would answer 200 (no order of the two explains that). The
 * second one now finds its session ended: 401.
 */
export function inUserTurn<T>(rt: AuthRuntime, scope: UserScope, task: () => Promise<T>): Promise<T> {
  return rt.userTurn(`${scope.project.id}:${scope.user._id}`, async () => {
    if (!(await sessionAlive(scope.cols, scope.sessionId, scope.user._id, scope.now))) throw sessionEnded();
    return task();
  });
}
