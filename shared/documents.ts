/** Document versions (ETags derived from `updatedAt`, which every write moves strictly forward) and size. */
import { ApiError } from "./errors.js";
import { jsonBytesWithin } from "./json-bytes.js";
import type { Update } from "./store/types.js";

/** The document as a top-level update (`$set` and `$unset` of whole fields) leaves it. */
export function afterUpdate(current: Record<string, unknown>, update: Update): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current, ...update.$set };
  for (const field of Object.keys(update.$unset ?? {})) delete next[field];
  return next;
}

/** Most documents one bulk insert may carry (POST /api/data/:collection/bulk). */
export const MAX_BULK = 500;

/** `"_id":"<24 hex>",`: what the store adds to a document inserted without an id. */
export const ID_BYTES = 33;

/**
 * 413 when a document, as a write would leave it (with the `_id` the store gives an insert), is
 * larger than one request body may be: top-level merges (PATCH, update-profile) could otherwise grow
 * it past any bound, a body at a time, and an insert whose system fields and defaults push it over
 * could never be written back unchanged.
 */
export function assertDocumentSize(doc: Record<string, unknown>, maxBytes: number): void {
  const limit = maxBytes - (doc._id === undefined ? ID_BYTES : 0);
  if (jsonBytesWithin(doc, limit) > limit) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `The document would be larger than ${maxBytes} bytes`);
  }
}

/**
 * A strong ETag for a document as its collection's definition shows it: its `updatedAt` in base-36
 * milliseconds, then `.` and the definition's `view` when it has one (it changes with the private
 * fields, which shape what publishable-key callers are shown), so publishing or hiding a field
 * changes the tag of every document.
 */
export function etagOf(doc: Record<string, unknown>, view: string): string {
  const time = timeOf(doc.updatedAt);
  const version = Number.isNaN(time) ? "0" : time.toString(36);
  return view === "" ? `"${version}"` : `"${version}.${view}"`;
}

/** Whether an If-Match / If-None-Match header names this ETag (lists, `W/` and `*` understood). */
export function etagMatches(header: string, etag: string): boolean {
  return header.split(",").some((part) => {
    const candidate = part.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === etag;
  });
}

/**
 * The time an `updatedAt` names, in ms (NaN for none): the API writes ISO strings; a document
 * written outside it (a project's own database) may hold a BSON date (a Date here) or epoch ms.
 */
function timeOf(value: unknown): number {
  if (typeof value === "string") return Date.parse(value);
  if (value instanceof Date) return value.getTime();
  return typeof value === "number" ? value : Number.NaN;
}

/** The next `updatedAt`: now, but always at least 1 ms after the previous one, so every write changes the ETag. */
export function nextTimestamp(previous: unknown, now: number): string {
  const before = timeOf(previous);
  return new Date(Number.isNaN(before) ? now : Math.max(now, before + 1)).toISOString();
}
