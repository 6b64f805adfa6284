import type { Config } from "../config";
import { filesDir, fsBlobStore } from "./fs";
import { memoryBlobStore } from "./memory";
import { s3BlobStore } from "./s3";
import type { BlobStore } from "./types";

/**
 * The blob store a configuration names: the S3 bucket (S3_*), else files under DATA_DIR, else this
 * instance's memory. Only the storage function imports this, so no other bundle carries the S3 client.
 */
export function openBlobStore(config: Config): BlobStore {
  if (config.s3) return s3BlobStore(config.s3);
  if (config.store.kind === "embedded" && config.store.dataDir) return fsBlobStore(filesDir(config.store.dataDir));
  return memoryBlobStore();
}
