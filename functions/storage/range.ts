import type { ByteRange } from "../../shared/storage/types.js";

/** One range of a Range header (RFC 9110 §14.1.2): `bytes=first-last`, `bytes=first-` or `bytes=-suffix`. */
const ONE_RANGE = /^bytes=(\d*)-(\d*)$/i;

/**
 * The part of a file of `size` bytes a request asks for: one range (a 206), none (the whole file, a
 * 200), or a range that starts at or past the end ("unsatisfiable", a 416). Everything but a single
 * byte range is answered with the whole file, as RFC 9110 allows a server: several ranges (a
 * multipart answer no media player needs), other units, a malformed header, and a range whose
 * If-Range did not name the file's current ETag (`ifRangeHolds` false).
 */
export function requestedRange(
  range: string | undefined,
  ifRangeHolds: boolean,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  const match = range === undefined || !ifRangeHolds ? null : ONE_RANGE.exec(range.trim());
  const [first = "", last = ""] = match?.slice(1) ?? [];
  if (!match || (first === "" && last === "")) return undefined;
  if (first === "") {
    const length = Math.min(Number(last), size); // the last `last` bytes, all of them in a shorter file
    return length > 0 ? { offset: size - length, length } : "unsatisfiable";
  }
  const offset = Number(first);
  if (last !== "" && Number(last) < offset) return undefined; // an invalid range: the header is ignored
  if (offset >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { offset, length: end - offset + 1 };
}
