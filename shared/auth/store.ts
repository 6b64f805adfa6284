import type { Deps } from "../deps.js";
import { databaseKey, type ResolvedProject } from "../principal.js";
import { setupOnce } from "../setup-once.js";
import type { Collection } from "../store/types.js";

/** Where auth keeps its records in a project's tenant database (names starting with `_` are reserved). */
export const AUTH_COLLECTIONS = {
  users: "users",
  sessions: "_auth_sessions",
  refreshTokens: "_auth_refresh_tokens",
  otps: "_auth_otps",
  loginAttempts: "_auth_login_attempts",
  /** Social sign-ins under way (the `state` sent to the provider) and their one-time handovers. */
  socialStates: "_auth_social_states",
  socialHandovers: "_auth_social_handovers",
} as const;

/** A project's auth collections, indexes ensured. */
export type AuthCollections = Record<keyof typeof AUTH_COLLECTIONS, Collection>;

/** Hands out a project's auth collections; ensures their indexes once per instance and users definition. */
export interface AuthStore {
  forProject(project: ResolvedProject): Promise<AuthCollections>;
}

const INDEXES: Record<keyof typeof AUTH_COLLECTIONS, Array<[string, boolean]>> = {
  users: [
    ["email", true],
    ["username", true],
    ["createdAt", false],
    ["githubId", true],
    ["googleId", true],
  ],
  sessions: [
    ["userId", false],
    ["expiresAt", false],
  ],
  refreshTokens: [
    ["hash", true],
    ["sessionId", false],
    ["userId", false],
  ],
  otps: [
    ["key", true],
    ["expiresAt", false],
    ["userId", false],
  ],
  loginAttempts: [
    ["email", true],
    ["windowStart", false],
  ],
  socialStates: [
    ["hash", true],
    ["expiresAt", false],
  ],
  socialHandovers: [
    ["hash", true],
    ["expiresAt", false],
  ],
};

/** Fields of `users` the auth function indexes, and whether uniquely: a profile definition never makes or changes them. */
export const AUTH_USER_INDEXES: ReadonlyMap<string, boolean> = new Map(INDEXES.users);

/** Creates the per-instance auth store over the collection registry's tenant databases. */
export function createAuthStore(deps: Pick<Deps, "collections">): AuthStore {
  const ensured = setupOnce();

  return {
    async forProject(project) {
      const db = deps.collections.database(project);
      const cols = Object.fromEntries(
        Object.entries(AUTH_COLLECTIONS).map(([role, name]) => [role, db.collection(name)]),
      ) as AuthCollections;
      // A users definition change may touch the users indexes (the registry syncs declared ones): re-ensure then.
      const revision = (await deps.collections.get(project, "users"))?.revision ?? "none";
      // A project moved to another database (its own MongoDB) needs the indexes there too.
      const key = `${databaseKey(project)}/${revision}`;
      await ensured(key, async () => {
        for (const [role, indexes] of Object.entries(INDEXES)) {
          for (const [field, unique] of indexes) {
            await cols[role as keyof AuthCollections].createIndex([field], { unique });
          }
        }
      });
      return cols;
    },
  };
}
