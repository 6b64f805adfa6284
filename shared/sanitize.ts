/**
 * Key safety for request bodies (API.md §5 "Bodies", §4.2 last paragraph).
 * Bodies come from JSON.parse, so `__proto__` can be an own key: keys are always read with
 * Object.keys, never probed with `in`, and nothing here assigns into objects.
 */
import { ApiError, type ErrorDetail } from "./errors.js";

/** Deepest container nesting a body may have (the root object is level 1). */
export const MAX_BODY_DEPTH = 32;

/** At most this many offending keys are listed in one error. */
const MAX_DETAILS = 100;

const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Whitespace, control, format (Cf) and default-ignorable characters: invisible in a field name. */
const INVISIBLE_CLASS = "[\\p{White_Space}\\p{Cc}\\p{Cf}\\p{Default_Ignorable_Code_Point}]";
const INVISIBLE = new RegExp(INVISIBLE_CLASS, "u");
const INVISIBLE_ALL = new RegExp(INVISIBLE_CLASS, "gu");

/** Whether a value is a plain object: `{...}` or Object.create(null), not an array, Date or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Why a key may not be stored (empty, `$` prefix, `.`, NUL, prototype key), or undefined when it is safe. */
export function unsafeKeyReason(key: string): string | undefined {
  if (key === "") return "must not be empty";
  if (key.startsWith("$")) return "must not start with '$'";
  if (key.includes(".")) return "must not contain '.'";
  if (key.includes("\0")) return "must not contain a NUL character";
  if (PROTOTYPE_KEYS.has(key)) return "is reserved";
  return undefined;
}

/**
 * Checks every key at every depth of a body (objects and arrays).
 * Throws INVALID_FIELD_NAME listing each offending key (path in dot notation, ending with the key),
 * or VALIDATION_FAILED when containers nest deeper than MAX_BODY_DEPTH or a number is not finite.
 */
export function assertSafeBody(value: unknown): void {
  const details: ErrorDetail[] = [];
  walk(value, [], 1, details);
  if (details.length > 0) {
    const first = details[0]!;
    throw new ApiError("INVALID_FIELD_NAME", `Invalid field name at "${first.path}": ${first.message}`, { details });
  }
}

function walk(value: unknown, path: string[], depth: number, details: ErrorDetail[]): void {
  if (typeof value === "number" && !Number.isFinite(value)) {
    // 1e400 parses to Infinity, which JSON cannot carry back (it would be stored or sent as null).
    throw new ApiError("VALIDATION_FAILED", "Numbers must be finite", {
      details: [{ path: path.join("."), message: "numbers must be finite" }],
    });
  }
  if (typeof value !== "object" || value === null || details.length >= MAX_DETAILS) return;
  if (depth > MAX_BODY_DEPTH) {
    throw new ApiError("VALIDATION_FAILED", "Body is too deeply nested", {
      details: [{ path: path.join("."), message: `too deeply nested (more than ${MAX_BODY_DEPTH} levels)` }],
    });
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], [...path, String(i)], depth + 1, details);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const reason = unsafeKeyReason(key);
    if (reason !== undefined) {
      details.push({ path: [...path, key].join("."), message: `field name ${JSON.stringify(key)} ${reason}` });
      if (details.length >= MAX_DETAILS) return;
      continue;
    }
    walk(record[key], [...path, key], depth + 1, details);
  }
}

/** Whether a name has whitespace, control, format or other invisible characters anywhere. */
export function hasInvisibleChars(name: string): boolean {
  return INVISIBLE.test(name);
}

/** The comparison form of a name: NFKC, without whitespace or invisible characters, lower-cased. */
export function foldName(name: string): string {
  return name.normalize("NFKC").replace(INVISIBLE_ALL, "").toLowerCase();
}

/** Checks a body's top-level keys against a fixed list of declared names (see `lookalikeGuard`). */
export type LookalikeGuard = (body: Record<string, unknown>) => void;

/**
 * Rejects top-level body keys that are not exactly a declared field but fold to one (whitespace,
 * invisible characters, case, compatibility forms): `" userId"`, `"userid"`, `"user\u200bId"`.
 * Such keys are never normalised into the field; owner checks run on exactly the stored keys.
 * The declared names are folded here, once: each check then costs O(keys in the body), however
 * many names were declared, so build one guard per definition and reuse it.
 */
export function lookalikeGuard(declared: readonly string[]): LookalikeGuard {
  const exact = new Set(declared);
  const folded = new Map<string, string>();
  for (const name of declared) {
    const fold = foldName(name);
    if (!folded.has(fold)) folded.set(fold, name);
  }
  return (body) => {
    const details: ErrorDetail[] = [];
    for (const key of Object.keys(body)) {
      if (exact.has(key)) continue;
      const match = folded.get(foldName(key));
      if (match === undefined) continue;
      details.push({ path: key, message: `field name ${JSON.stringify(key)} looks like the field "${match}"` });
      if (details.length >= MAX_DETAILS) break;
    }
    if (details.length > 0) throw new ApiError("INVALID_FIELD_NAME", details[0]!.message, { details });
  };
}

/** One-off `lookalikeGuard(declared)(body)`, for short fixed lists (it folds every declared name). */
export function assertNoLookalikes(body: Record<string, unknown>, declared: readonly string[]): void {
  lookalikeGuard(declared)(body);
}
