import { Buffer } from "node:buffer";
import { ApiError } from "../../shared/errors";

/** Most parts a multipart upload may have: the file, the folder, and room for fields clients add. */
export const MAX_MULTIPART_PARTS = 16;

/**
 * Refuses (400) a multipart body of more than MAX_MULTIPART_PARTS parts before it is parsed: the
 * platform's parser holds the event loop for seconds over a 10 MiB body cut into 100 000 parts.
 * A body without a boundary is left to the parser, which refuses it.
 */
export function assertFewParts(raw: Uint8Array, contentType: string): void {
  // The boundary parameter, as the parser reads it: a whole parameter name, never `xboundary`.
  const boundaries = [...contentType.matchAll(/;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/gi)];
  if (boundaries.length > 1) throw new ApiError("VALIDATION_FAILED", "The content type names more than one boundary");
  const boundary = boundaries[0];
  if (!boundary) return;
  const delimiter = `--${boundary[1] ?? boundary[2]}`;
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let parts = -1; // the closing delimiter ends the last part
  for (let at = bytes.indexOf(delimiter); at !== -1; at = bytes.indexOf(delimiter, at + delimiter.length)) {
    if (++parts > MAX_MULTIPART_PARTS) {
      throw new ApiError("VALIDATION_FAILED", `A multipart upload may have at most ${MAX_MULTIPART_PARTS} parts`);
    }
  }
}

/**
 * Reads a request body, refusing it (413 FILE_TOO_LARGE) as soon as it passes `limit` bytes: an
 * oversized upload is cut off while it streams, never buffered whole.
 */
export async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ApiError("FILE_TOO_LARGE", `Files may be at most ${limit} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
