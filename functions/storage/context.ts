import type { Context } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { callerOf } from "../../shared/caller.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError, authRequired } from "../../shared/errors.js";
import { publicBaseUrl } from "../../shared/http.js";
import type { ResolvedProject } from "../../shared/principal.js";
import { randomFileKey, userFolder } from "../../shared/storage/paths.js";
import { type StoragePolicy, storagePolicy } from "../../shared/storage/policy.js";
import type { blobSigner } from "../../shared/storage/signing.js";
import type { BlobStore } from "../../shared/storage/types.js";

export type Ctx = Context<AppEnv>;

/** What the storage routes share on an instance. */
export interface StorageRuntime {
  deps: Deps;
  blobs: BlobStore;
  signer: ReturnType<typeof blobSigner>;
}

/** Who acts on files: the project, its storage policy, and the end user (null with the secret key). */
export interface Actor {
  project: ResolvedProject;
  policy: StoragePolicy;
  userId: string | null;
}

/**
 * The caller of a write: the secret key, or a publishable key with a valid user token when the
 * project allows user uploads (no token → 401 AUTH_REQUIRED; not allowed → 403 WRITE_BLOCKED).
 */
export async function writer(c: Ctx, rt: StorageRuntime): Promise<Actor> {
  const { project, keyType } = c.get("principal");
  const policy = storagePolicy(project);
  if (keyType === "secret") return { project, policy, userId: null };
  if (!policy.allowUserUploads) {
    throw new ApiError(
      "WRITE_BLOCKED",
      "Uploads with a publishable key need settings.storage.allowUserUploads (or use the secret key)",
    );
  }
  return { project, policy, userId: await endUser(c, rt) };
}

/**
 * The end user a publishable-key call acts for: its token's user. A bad token → its 401; none → 401
 * AUTH_REQUIRED (a guest owns no file).
 */
export async function endUser(c: Ctx, rt: StorageRuntime): Promise<string> {
  const caller = await callerOf(c, rt.deps.clock);
  if (caller.tokenError) throw new ApiError(caller.tokenError);
  if (!caller.userId) throw authRequired();
  return caller.userId;
}

/** Where a client reads a file: the storage function's file route (it streams or redirects). */
export const fileUrl = (c: Ctx, rt: StorageRuntime, path: string) =>
  `${publicBaseUrl(c, rt.deps.config)}/api/storage/file?path=${encodeURIComponent(path)}`;

/**
 * A new file's path: `<projectId>/<folder>/<random>-<name>` (`uploads` without a folder), users' under
 * `<projectId>/users/<userId>/` (and their folder, if any, below it: a user's files stay in theirs);
 * `<random>` is 96 unguessable bits (see randomFileKey).
 */
export function newFilePath(actor: Actor, folder: string | null, name: string): string {
  const own = actor.userId ? userFolder(actor.userId) : null;
  const dir = own ? (folder ? `${own}/${folder}` : own) : (folder ?? "uploads");
  return `${actor.project.id}/${dir}/${randomFileKey()}-${name}`;
}
