/**
 * Key safety for request bodies (API.md §5 "Bodies", §4.2 last paragraph).
 * Bodies come from JSON.parse, so `__proto__` can be an own key: keys are always read with
 * Object.keys, never probed with `in`, and nothing here assigns into objects.
 */
import { ApiError, detailPath, type ErrorDetail, MAX_DETAILS } from "./errors.js";

/** Deepest container nesting a body may have (the root object is level 1). */
export const MAX_BODY_DEPTH = 32;

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

/** Offending keys found in a body: the first MAX_DETAILS listed, the rest only counted. */
interface Findings {
  details: ErrorDetail[];
  omitted: number;
}

/**
 * Checks every key at every depth of a body (objects and arrays).
 * Throws INVALID_FIELD_NAME listing the offending keys (path in dot notation, ending with the key),
 * or VALIDATION_FAILED when containers nest deeper than MAX_BODY_DEPTH or a number is not finite.
 */
export function assertSafeBody(value: unknown): void {
  const found: Findings = { details: [], omitted: 0 };
  walk(value, [], 1, found);
  const first = found.details[0];
  if (first) {
    throw new ApiError("INVALID_FIELD_NAME", `Invalid field name at "${first.path}": ${first.message}`, found);
  }
}

function walk(value: unknown, path: string[], depth: number, found: Findings): void {
  // The first problem found is the answer: once bad keys are found, the walk only looks for more of them.
  const clean = found.details.length === 0;
  if (clean && typeof value === "number" && !Number.isFinite(value)) {
    // 1e400 parses to Infinity, which JSON cannot carry back (it would be stored or sent as null).
    throw new ApiError("VALIDATION_FAILED", "Numbers must be finite", {
      details: [{ path: detailPath(path), message: "numbers must be finite" }],
    });
  }
  if (typeof value !== "object" || value === null) return;
  if (depth > MAX_BODY_DEPTH) {
    if (!clean) return;
    throw new ApiError("VALIDATION_FAILED", "Body is too deeply nested", {
      details: [{ path: detailPath(path), message: `too deeply nested (more than ${MAX_BODY_DEPTH} levels)` }],
    });
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], [...path, String(i)], depth + 1, found);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const reason = unsafeKeyReason(key);
    if (reason === undefined) walk(record[key], [...path, key], depth + 1, found);
    // Past the listed ones only counted: building their paths and messages would cost for nothing.
    else if (found.details.length >= MAX_DETAILS) found.omitted++;
    else
      found.details.push({ path: detailPath([...path, key]), message: `field name ${JSON.stringify(key)} ${reason}` });
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
    const found: Findings = { details: [], omitted: 0 };
    for (const key of Object.keys(body)) {
      if (exact.has(key)) continue;
      const match = folded.get(foldName(key));
      if (match === undefined) continue;
      if (found.details.length >= MAX_DETAILS) found.omitted++;
      else
        found.details.push({ path: key, message: `field name ${JSON.stringify(key)} looks like the field "${match}"` });
    }
    const first = found.details[0];
    if (first) throw new ApiError("INVALID_FIELD_NAME", first.message, found);
  };
}

/** One-off `lookalikeGuard(declared)(body)`, for short fixed lists (it folds every declared name). */
export function assertNoLookalikes(body: Record<string, unknown>, declared: readonly string[]): void {
  lookalikeGuard(declared)(body);
}
