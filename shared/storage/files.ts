import type { Deps } from "../deps";
import { ApiError } from "../errors";
import type { ResolvedProject } from "../principal";
import { type Doc, DuplicateKeyError } from "../store/types";

/** A stored file's record (platform database): who owns it and what it holds. */
export interface FileDoc extends Doc {
  projectId: string;
  /** The end user who uploaded it; null for secret-key uploads. */
  ownerId: string | null;
  size: number;
  contentType: string;
  /** `pending` until the bytes are known to be there (direct uploads), then `ready`. */
  status: "pending" | "ready";
  createdAt: string;
}

const FILES = "files";
const USAGE = "storage_usage";

type FileDeps = Pick<Deps, "store" | "clock">;

export const fileRecords = (deps: FileDeps) => deps.store.platform().collection(FILES);

/**
 * Reserves `size` bytes of the project's storage before the bytes are written: atomically refused
 * (403 QUOTA_EXCEEDED) when the quota would be passed. Every project's bytes are counted, with or
 * without a quota, so a quota set later starts from the truth.
 */
export async function reserveBytes(deps: FileDeps, project: ResolvedProject, size: number, quota: number | undefined) {
  const usage = deps.store.platform().collection(USAGE);
  if (!(await usage.findOne({ _id: project.id }))) {
    await usage.insertOne({ _id: project.id, bytes: 0 }).catch((error) => {
      if (!(error instanceof DuplicateKeyError)) throw error;
    });
  }
  const condition = quota === undefined ? {} : { bytes: { $lte: quota - size } };
  const reserved = await usage.updateOne({ _id: project.id, ...condition }, { $inc: { bytes: size } });
  if (!reserved) throw new ApiError("QUOTA_EXCEEDED", "The project's storage quota is used up");
}

/** Gives back bytes reserved for a failed write or a deleted file. */
export async function releaseBytes(deps: FileDeps, project: ResolvedProject, size: number): Promise<void> {
  await deps.store
    .platform()
    .collection(USAGE)
    .updateOne({ _id: project.id }, { $inc: { bytes: -size } });
}
