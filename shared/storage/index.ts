import { type Config, ConfigError, S3_REQUIRED } from "../config.js";
import { filesDir, fsBlobStore } from "./fs.js";
import { memoryBlobStore } from "./memory.js";
import { s3BlobStore } from "./s3.js";
import type { BlobStore } from "./types.js";

/** The lasting blob store a configuration names: the S3 bucket (S3_*), else files under DATA_DIR. */
function lastingBlobStore(config: Config): BlobStore | undefined {
  if (config.s3) return s3BlobStore(config.s3);
  if (config.store.kind === "embedded" && config.store.dataDir) return fsBlobStore(filesDir(config.store.dataDir));
  return undefined;
}

/**
 * The storage function's blob store: the S3 bucket (S3_*), else files under DATA_DIR, else (outside
 * production) this instance's memory. In production without either it throws a ConfigError naming
 * S3_BUCKET: files in memory would be lost on recycle and differ between instances. Only the storage
 * and admin functions import this, so no other bundle carries the S3 client.
 */
export function openBlobStore(config: Config): BlobStore {
  const lasting = lastingBlobStore(config);
  if (lasting) return lasting;
  if (config.production) throw new ConfigError([S3_REQUIRED]);
  return memoryBlobStore();
}

/**
 * The admin function's blob store, used only to delete a removed project's files. In production
 * without S3 or DATA_DIR it is a store that refuses: deleting a project that has files fails (the
 * project stays retired; deleting it again once S3_* is set finishes), so no file record is dropped
 * while its bytes stay in the bucket. A project without files is deleted as usual.
 */
export function openCleanupBlobStore(config: Config): BlobStore {
  return lastingBlobStore(config) ?? (config.production ? missingBlobStore() : memoryBlobStore());
}

/** A blob store for a deployment that has none: every operation fails, naming what to configure. */
function missingBlobStore(): BlobStore {
  const refuse = async (): Promise<never> => {
    throw new Error(`No blob store configured. ${S3_REQUIRED}`);
  };
  return {
    kind: "none",
    put: refuse,
    get: refuse,
    head: refuse,
    delete: refuse,
    copy: refuse,
    presignPut: refuse,
    presignGet: refuse,
  };
}
