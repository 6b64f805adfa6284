/**
 * The OpenAPI documents this instance answers, as JSON text, kept for the next requests: building
 * one costs time and memory in proportion to the project's definitions, and any pk holder may ask.
 * A document is kept under a fingerprint of everything it is built from (the project, the key type,
 * the auth settings, each definition's revision; not the base URL, which each answer adds), so a change of any of them is seen at
 * once. A document past MAX_OPENAPI_BYTES is refused rather than cut, and that refusal is kept too.
 */
import { sha256Hex } from "../crypto.js";
import { jsonBytesWithin } from "../json-bytes.js";

/** The largest document answered: more than API.md §4.1's tools need, under what an instance should build. */
export const MAX_OPENAPI_BYTES = 8_000_000;
/** Documents kept at most (a project's pk and sk documents, a few projects). */
export const MAX_KEPT_DOCUMENTS = 8;
/** JSON bytes kept at most, every document together (two of the largest). */
export const MAX_KEPT_BYTES = 2 * MAX_OPENAPI_BYTES;

/** A document as answered: its JSON text, or null when it would pass MAX_OPENAPI_BYTES. */
export type ServedDocument = { text: string; bytes: number } | null;

export interface ServedDocuments {
  /** The document for `fingerprint` (any JSON value naming what it is built from), built by `build` unless kept. */
  get(fingerprint: unknown, build: () => Record<string, unknown>): ServedDocument;
}

/** A bounded least-recently-used store of documents (per instance: per app). */
export function servedDocuments(): ServedDocuments {
  const kept = new Map<string, ServedDocument>();
  let keptBytes = 0;
  const drop = (key: string) => {
    keptBytes -= kept.get(key)?.bytes ?? 0;
    kept.delete(key);
  };
  return {
    get(fingerprint, build) {
      // Hashed: a fingerprint names every collection, and only a few of them are kept.
      const key = sha256Hex(JSON.stringify(fingerprint));
      if (kept.has(key)) {
        const found = kept.get(key) as ServedDocument;
        kept.delete(key); // to the end: the most recently used
        kept.set(key, found);
        return found;
      }
      const document = build();
      // Counted before the text is made, and stopping at the bound, so a refused one costs no text.
      const bytes = jsonBytesWithin(document, MAX_OPENAPI_BYTES);
      const served = bytes > MAX_OPENAPI_BYTES ? null : { text: JSON.stringify(document), bytes };
      kept.set(key, served);
      keptBytes += served?.bytes ?? 0;
      for (const [oldest] of kept) {
        if (kept.size <= MAX_KEPT_DOCUMENTS && keptBytes <= MAX_KEPT_BYTES) break;
        drop(oldest);
      }
      return served;
    },
  };
}
