/** End-user accounts in a project's `users` collection: normalization, views, admin listing and deletion. */
import type { Deps } from "../deps.js";
import { ApiError } from "../errors.js";
import type { ResolvedProject } from "../principal.js";
import { releaseUser, reserveUser } from "../quotas.js";
import type { Doc, Filter } from "../store/types.js";
import { DuplicateKeyError } from "../store/types.js";
import { ALWAYS_PUBLIC_FIELDS, neverShown } from "./fields.js";
import { dropOtps } from "./otp.js";
import type { ProfileSchema } from "./profile.js";
import type { AuthCollections } from "./store.js";

/** A stored account: built-in fields plus the project's profile fields. */
export interface UserDoc extends Doc {
  email: string;
  username?: string;
  passwordHash?: string;
  /** The identity of the password write that set passwordHash (newPasswordId); absent on accounts stored before it. */
  passwordId?: string;
  emailVerified: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Emails are trimmed and lower-cased everywhere. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Usernames are case-insensitive: stored trimmed and lower-cased. */
export const normalizeUsername = (username: string) => username.trim().toLowerCase();

/**
 * 3–32 characters: letters, digits, `_`, `.`, `-`; starting with a letter, digit or `_`. Letters of
 * either case: a username is lower-cased before this check, and the OpenAPI document publishes this
 * pattern for what a client may send (`Jane.Doe`).
 */
export const USERNAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{2,31}$/;

/**
 * Matches the account only while it holds the password `user` was read with: by its passwordId,
 * which a login's rehash keeps (its hash it does not); an account stored before passwordId, or
 * without a password, by its hash, while no reset or change has given it a passwordId.
 */
export function samePasswordAs(user: Pick<UserDoc, "_id" | "passwordHash" | "passwordId">): Filter {
  if (user.passwordId !== undefined) return { _id: user._id, passwordId: user.passwordId };
  return { _id: user._id, passwordHash: user.passwordHash ?? { $exists: false }, passwordId: { $exists: false } };
}

/** An account without its internal fields (the password hash and its passwordId) and any password stored as a profile field: what the account's own callers see. */
export function accountView(doc: Doc): Record<string, unknown> {
  const view: Record<string, unknown> = { ...doc };
  for (const field of Object.keys(view)) {
    if (neverShown(field)) delete view[field];
  }
  return view;
}

/**
 * The public profile: `_id`, `username`, `createdAt` and the listed fields, picked from the account
 * as a publishable key sees it (private fields removed at any depth).
 */
export function publicProfile(
  doc: Doc,
  fields: readonly string[],
  profile: Pick<ProfileSchema, "view">,
): Record<string, unknown> {
  const visible = profile.view(accountView(doc), "publishable");
  const out: Record<string, unknown> = {};
  for (const field of [...ALWAYS_PUBLIC_FIELDS, ...fields]) {
    if (Object.hasOwn(visible, field)) out[field] = visible[field];
  }
  return out;
}

/** The conflict a unique index reported: EMAIL_TAKEN, USERNAME_TAKEN, or DUPLICATE_VALUE for a profile field. */
export function conflictError(error: DuplicateKeyError): ApiError {
  const [field] = error.fields;
  if (error.fields.length === 1 && field === "email") return new ApiError("EMAIL_TAKEN");
  if (error.fields.length === 1 && field === "username") return new ApiError("USERNAME_TAKEN");
  return new ApiError("DUPLICATE_VALUE", error.message, {
    details: error.fields.map((path) => ({ path, message: "already taken" })),
  });
}

/** Runs a users write; unique-index conflicts become their API errors. */
export async function writeUser<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw conflictError(error);
    throw error;
  }
}

/**
 * Creates an account (signup, a new social sign-in) within the project's users quota: its place is
 * reserved first (403 QUOTA_EXCEEDED) and given back when the insert fails (EMAIL_TAKEN and the like).
 */
export async function insertUser(
  deps: Pick<Deps, "store" | "collections" | "usage" | "log">,
  project: ResolvedProject,
  cols: Pick<AuthCollections, "users">,
  user: UserDoc,
): Promise<void> {
  const release = await reserveUser(deps, project);
  await writeUser(() => cols.users.insertOne(user)).catch(async (error) => {
    await release();
    throw error;
  });
  deps.usage.count(project.id, "users");
}

/** A page of accounts, oldest first, without internal fields (admin API). */
export async function listUsers(cols: Pick<AuthCollections, "users">, page: { page: number; limit: number }) {
  const [docs, total] = await Promise.all([
    cols.users.find({}, { sort: { createdAt: 1, _id: 1 }, skip: (page.page - 1) * page.limit, limit: page.limit }),
    cols.users.count({}),
  ]);
  return { items: docs.map(accountView), total, page: page.page, limit: page.limit };
}

/**
 * Deletes an account and everything auth keeps for it (sessions, refresh tokens, codes, login counts)
 * and gives back its place in the users quota (once: only the call that deleted it). `unchanged`
 * deletes it only while it still matches (the password its owner just gave): an account that changed
 * meanwhile is kept, its sessions too, and the answer is false as for one that is gone.
 */
export async function deleteUser(
  deps: Pick<Deps, "store" | "collections" | "log">,
  project: ResolvedProject,
  cols: AuthCollections,
  userId: string,
  unchanged: Filter = {},
): Promise<boolean> {
  const user = await cols.users.deleteOne({ ...unchanged, _id: userId });
  if (!user && (await cols.users.findOne({ _id: userId }))) return false; // changed: kept, sessions too
  if (user) await releaseUser(deps, project); // at once: a later step that fails must not keep the place
  await cols.sessions.deleteMany({ userId });
  await cols.refreshTokens.deleteMany({ userId });
  if (!user) return false;
  await dropOtps(cols, userId);
  await cols.loginAttempts.deleteOne({ email: String(user.email) });
  return true;
}
