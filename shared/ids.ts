/** ObjectId-compatible ids: 4-byte seconds timestamp, 5 random bytes, 3-byte counter, as 24 hex. */

export const ID_PATTERN = /^[0-9a-f]{24}$/;
const hex = (value: number, width: number) => value.toString(16).padStart(width, "0");

// Drawn on first use, not at import: Workers forbid random values in global scope.
let processRandom: string | undefined;
let counter = 0;

/** A new 24-hex id that sorts by creation time, like a MongoDB ObjectId. */
export function newId(now: number = Date.now()): string {
  if (processRandom === undefined) {
    processRandom = Array.from(crypto.getRandomValues(new Uint8Array(5)), (byte) => hex(byte, 2)).join("");
    counter = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
  }
  counter = (counter + 1) % 0x1000000;
  return hex(Math.floor(now / 1000) % 0x100000000, 8) + processRandom + hex(counter, 6);
}

/** Whether a value is a well-formed 24-hex id (lower case). */
export function isId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}
