import { Buffer } from "node:buffer";
import { ApiError } from "../../shared/errors.js";

/** Most parts a multipart upload may have: the file, the folder, and room for fields clients add. */
export const MAX_MULTIPART_PARTS = 16;

/** A boundary of RFC 2046's characters, without the space and comma that parsers read differently. */
const BOUNDARY = /^[0-9A-Za-z'()+_\-./:=?]{1,70}$/;

/**
 * The body's multipart boundary, once the body is known to have at most MAX_MULTIPART_PARTS parts
 * (400 otherwise, before anything parses it: the platform's parser holds the event loop for seconds
 * over a 10 MiB body cut into 100 000 parts). The content type must name exactly one boundary of
 * plain characters; the caller hands the parser a content type built from it, so the parser reads
 * the parts counted here and no others.
 */
export function fewPartsBoundary(raw: Uint8Array, contentType: string): string {
  const refused = () => new ApiError("VALIDATION_FAILED", "Send multipart/form-data with a `file` field");
  const found = [...contentType.matchAll(/;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/gi)];
  const boundary = found.length === 1 ? (found[0]?.[1] ?? found[0]?.[2]) : undefined;
  if (!/^\s*multipart\/form-data\s*;/i.test(contentType) || !boundary || !BOUNDARY.test(boundary)) throw refused();
  const delimiter = `--${boundary}`;
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let parts = -1; // the closing delimiter ends the last part
  for (let at = bytes.indexOf(delimiter); at !== -1; at = bytes.indexOf(delimiter, at + delimiter.length)) {
    if (++parts > MAX_MULTIPART_PARTS) {
      throw new ApiError("VALIDATION_FAILED", `A multipart upload may have at most ${MAX_MULTIPART_PARTS} parts`);
    }
  }
  return boundary;
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

/** Up to `count` bytes from the start of a stream, however it is cut into chunks; the rest is not read. */
export async function firstBytes(body: ReadableStream<Uint8Array>, count: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const head = new Uint8Array(count);
  let filled = 0;
  while (filled < count) {
    const { done, value } = await reader.read();
    if (done) break;
    const taken = value.subarray(0, count - filled);
    head.set(taken, filled);
    filled += taken.length;
  }
  await reader.cancel().catch(() => undefined);
  return head.subarray(0, filled);
}
