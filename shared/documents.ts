/** Document versions: ETags derived from `updatedAt`, which every write moves strictly forward. */

/** A strong ETag for a document: its `updatedAt` in base-36 milliseconds. */
export function etagOf(doc: Record<string, unknown>): string {
  const time = typeof doc.updatedAt === "string" ? Date.parse(doc.updatedAt) : Number.NaN;
  return `"${Number.isNaN(time) ? "0" : time.toString(36)}"`;
}

/** Whether an If-Match / If-None-Match header names this ETag (lists, `W/` and `*` understood). */
export function etagMatches(header: string, etag: string): boolean {
  return header.split(",").some((part) => {
    const candidate = part.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === etag;
  });
}

/** The next `updatedAt`: now, but always at least 1 ms after the previous one, so every write changes the ETag. */
export function nextTimestamp(previous: unknown, now: number): string {
  const before = typeof previous === "string" ? Date.parse(previous) : Number.NaN;
  return new Date(Number.isNaN(before) ? now : Math.max(now, before + 1)).toISOString();
}
