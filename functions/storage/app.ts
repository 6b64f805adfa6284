import type { Hono } from "hono";
import { requireApiKey } from "../../shared/api-key.js";
import { type AppEnv, createBaseApp, jsonBodyLimit } from "../../shared/app.js";
import { randomToken } from "../../shared/crypto.js";
import type { Deps } from "../../shared/deps.js";
import { openBlobStore } from "../../shared/storage/index.js";
import { blobSigner } from "../../shared/storage/signing.js";
import type { BlobStore } from "../../shared/storage/types.js";
import type { StorageRuntime } from "./context.js";
import { fileRoutes } from "./files.js";
import { listRoutes } from "./list.js";
import { uploadRoutes } from "./upload.js";

const PREFIX = "/api/storage";

/**
 * The storage function (API.md §7). Files go to the S3 bucket, DATA_DIR, or (outside production)
 * memory; in production without either, building it throws a ConfigError naming S3_BUCKET (see
 * openBlobStore). `blobs` replaces that choice in tests. Upload bodies are limited per project while they stream; the
 * JSON routes keep the usual 1 MiB limit.
 */
export function createStorageApp(deps: Deps, options: { blobs?: BlobStore } = {}): Hono<AppEnv> {
  // Uploads are limited per project while they stream (readLimited); JSON routes get the usual limit.
  const app = createBaseApp(deps, { jsonBodyLimit: false });
  // Signs the storage function's own upload/download URLs; a random secret works on one instance only.
  const secret = deps.config.encryptionKey ?? deps.config.adminToken ?? randomToken(32);
  const rt: StorageRuntime = { deps, blobs: options.blobs ?? openBlobStore(deps.config), signer: blobSigner(secret) };
  const jsonLimit = jsonBodyLimit(deps.config.maxJsonBytes);
  for (const path of ["upload-url", "upload-request", "upload-confirm", "file"])
    app.use(`${PREFIX}/${path}`, jsonLimit);
  for (const path of ["upload", "upload-url", "upload-request", "upload-confirm", "files"]) {
    app.use(`${PREFIX}/${path}`, requireApiKey(deps));
  }
  app.route(PREFIX, uploadRoutes(rt));
  app.route(PREFIX, fileRoutes(rt));
  app.route(PREFIX, listRoutes(rt));
  return app;
}
