/**
 * Coercion of query-string values (always strings) to the declared field type.
 *
 * Untyped paths (schemaless collections, undeclared fields, `any`/`object` fields, arrays without
 * an item type) use a documented heuristic instead, because the stored type is unknown:
 * - equality / `_ne` / `_in` / `_nin`: the raw string plus, when it reads as one, its number
 *   (`"5"` → `{$in: ["5", 5]}`) or boolean (`"true"` → `{$in: ["true", true]}`) form;
 * - range operators (`_gt _gte _lt _lte`): a number when the value reads as one, else the string
 *   as given (ISO dates compare correctly as strings);
 * - "reads as a number" means plain decimal notation (`-1.5`, `2e3`); `"007"`, `" 5"`, `"0x10"`
 *   and `"Infinity"` stay strings.
 */
import type { ValueKind } from "./paths.js";

const NUMBER_SHAPE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const ID_SHAPE = /^[0-9a-fA-F]{24}$/;
/** Date, optional time (T or space), fraction and offset; a space before the offset is a URL-decoded "+". */
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+\- ]\d{2}(?::?\d{2})?)?)?$/;

/** The number a string reads as in plain decimal notation, or undefined. */
export function readNumber(raw: string): number | undefined {
  if (!NUMBER_SHAPE.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** Normalizes an ISO 8601 date or date-time to `YYYY-MM-DDTHH:mm:ss.sssZ` (no offset = UTC); undefined if invalid. */
export function normalizeIsoDate(raw: string): string | undefined {
  const m = ISO_DATE.exec(raw);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) =>
    Number(part ?? 0),
  );
  if (month! < 1 || month! > 12 || day! < 1 || hour! > 23 || minute! > 59 || second! > 59) return undefined;
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  const check = new Date(0);
  check.setUTCFullYear(year!, month! - 1, day!);
  check.setUTCHours(hour!, minute!, second!, millis);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month! - 1) return undefined;
  const local = check.getTime();
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || 0);
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = sign * (hours * 60 + minutes);
  }
  const time = local - offsetMinutes * 60_000;
  const date = new Date(time);
  return Number.isNaN(time) || date.getUTCFullYear() > 9999 || date.getUTCFullYear() < 0
    ? undefined
    : date.toISOString();
}

/** Coerces a string to a declared kind; undefined when it cannot be coerced. */
export function coerceTyped(kind: ValueKind, raw: string): string | number | boolean | undefined {
  switch (kind) {
    case "number":
      return readNumber(raw);
    case "integer": {
      const value = readNumber(raw);
      return value !== undefined && Number.isSafeInteger(value) ? value : undefined;
    }
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : undefined;
    case "date":
      return normalizeIsoDate(raw);
    case "id":
    case "ref":
      return ID_SHAPE.test(raw) ? raw.toLowerCase() : undefined;
    default:
      return raw;
  }
}

/** What a value must look like for a kind, for error messages. */
export function expectation(kind: ValueKind): string {
  switch (kind) {
    case "number":
      return "a number";
    case "integer":
      return "an integer";
    case "boolean":
      return "true or false";
    case "date":
      return "an ISO 8601 date";
    case "id":
    case "ref":
      return "a 24-hex id";
    default:
      return "a string";
  }
}

/** Untyped equality candidates: the string plus its number or boolean reading. */
export function looseCandidates(raw: string): Array<string | number | boolean> {
  const number = readNumber(raw);
  if (number !== undefined) return [raw, number];
  if (raw === "true" || raw === "false") return [raw, raw === "true"];
  return [raw];
}

/** Untyped range operand: a number when the string reads as one, else the string. */
export function looseScalar(raw: string): string | number {
  return readNumber(raw) ?? raw;
}
