/**
 * The JSON request bodies of the storage routes (API.md §7) as zod schemas: the routes parse with
 * them and the OpenAPI document (shared/openapi) describes them.
 */
import { z } from "zod";

/** POST /upload-url and /upload-request: the file a direct upload will send. */
export const directUploadBody = z.object({
  filename: z.string().min(1).max(255),
  // Sent on as the PUT's Content-Type header: visible ASCII and spaces only (no CR/LF, no other script).
  contentType: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x20-\x7e]+$/, "must be a header value: visible ASCII characters and spaces"),
  // 0 too: an empty text or CSV export is a file (POST /upload takes one; a type with a signature refuses it, 415).
  size: z.number().int().nonnegative(),
  folder: z.string().max(200).optional(),
});

/** POST /upload-confirm: the direct upload's path and the size it sent. */
export const uploadConfirmBody = z.object({ filePath: z.string(), size: z.number().int().nonnegative() });

/** DELETE /file: the file's path (or its URL). */
export const deleteFileBody = z.object({ path: z.string() });
