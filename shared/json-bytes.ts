/** The size of a value's JSON text, counted without building it. */
import { ResultTooLargeError } from "./store/types.js";

/** UTF-8 bytes of a string as JSON text (quotes and escapes included). */
function stringBytes(s: string): number {
  let bytes = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 8 || c === 9 || c === 10 || c === 12 || c === 13) bytes += 2;
    else if (c < 0x20) bytes += 6;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += c >= 0xd800 && c < 0xe000 ? 6 : 3; // a lone surrogate is written \udxxx
  }
  return bytes;
}

/**
 * The UTF-8 size of `value`'s JSON text (as JSON.stringify writes it), counted by walking the value
 * without building any string. Stops as soon as the count passes `limit` (the result is then > limit),
 * so an answer whose items share one huge array costs at most `limit` of counting.
 */
export function jsonBytesWithin(value: unknown, limit: number): number {
  let total = 0;
  const visit = (raw: unknown, inArray: boolean): void => {
    const v =
      typeof (raw as { toJSON?: unknown } | null)?.toJSON === "function"
        ? (raw as { toJSON: () => unknown }).toJSON()
        : raw;
    if (typeof v === "string") total += stringBytes(v);
    else if (typeof v === "number") total += Number.isFinite(v) ? String(v).length : 4;
    else if (typeof v === "boolean") total += v ? 4 : 5;
    else if (v === null) total += 4;
    else if (Array.isArray(v)) {
      total += 1 + Math.max(v.length, 1);
      for (let i = 0; i < v.length && total <= limit; i++) visit(v[i], true);
    } else if (typeof v === "object") {
      total += 1;
      let first = true;
      for (const key of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
        total += stringBytes(key) + 1 + (first ? 0 : 1);
        first = false;
        visit(item, false);
        if (total > limit) return;
      }
      total += 1;
    } else if (inArray) total += 4; // undefined, a function or a symbol in an array is written null
  };
  visit(value, true);
  return total;
}

/**
 * Counts an array's JSON size as its items are read: each call adds one item, and throws
 * ResultTooLargeError as soon as the array's JSON text would pass `limit` bytes.
 */
export function arrayBytesWithin(limit: number): (item: unknown) => void {
  let total = 1; // "[", and "]" or "," before each item
  return (item) => {
    total += 1 + jsonBytesWithin(item, limit - total);
    if (total > limit) throw new ResultTooLargeError(limit);
  };
}
