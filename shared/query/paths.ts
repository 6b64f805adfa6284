/**
 * Field paths in queries: shape checks, declared-type lookup and private-field restrictions.
 * Numeric segments (`items.0.price`) are array positions and are ignored for schema lookups,
 * except where a definition stored before digit field names were refused declares one at that
 * level: then both readings count, and a pk caller is refused when either touches a private field.
 */
import { invalidQuery } from "./fail.js";
import type { FieldType, QueryContext } from "./types.js";

/** The kind a query value is coerced to; `id` is a 24-hex document id; null = untyped (heuristic). */
export type ValueKind = FieldType | "id";

/** What the query parser knows about one field path. */
export interface FieldInfo {
  /** Coercion kind of values compared with this path (array fields: their item type); null = untyped. */
  kind: ValueKind | null;
  /** Declared, a system field, or under a declared object/array/any field. */
  known: boolean;
}

/**
 * How a path is used. `filter` and `sort` compare values, so they may not name a private field,
 * one under it, or an object holding one. `select` (output stripping hides private parts) and
 * `shape` (`$exists`, `$size`, `$elemMatch` whose inner paths are checked on their own) may name
 * an object holding a private field.
 */
export type PathUse = "filter" | "sort" | "select" | "shape";

const FORBIDDEN_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_PATH_LENGTH = 256;
const MAX_SEGMENTS = 16;
const INDEX_SEGMENT = /^\d+$/;
const NUMERIC_SEGMENT = /(?:^|\.)\d+(?:\.|$)/;
const OPEN_TYPES = new Set<FieldType>(["object", "array", "any"]);

/** System fields every document has; filterable and sortable, private only as `createdBy` of a private owner. */
export const SYSTEM_FIELDS: ReadonlyMap<string, ValueKind> = new Map<string, ValueKind>([
  ["_id", "id"],
  ["createdAt", "date"],
  ["updatedAt", "date"],
  ["createdBy", "string"],
]);

/** Why a dotted field path is malformed, or null when it is well-formed. */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return "empty field name";
  if (path.length > MAX_PATH_LENGTH) return `field path longer than ${MAX_PATH_LENGTH} characters`;
  const segments = path.split(".");
  if (segments.length > MAX_SEGMENTS) return `field path deeper than ${MAX_SEGMENTS} segments`;
  for (const segment of segments) {
    if (segment.length === 0) return "empty segment in field path";
    if (segment.startsWith("$")) return "field names may not start with $";
    if (segment.includes("\0")) return "field names may not contain NUL";
    if (FORBIDDEN_SEGMENTS.has(segment)) return `"${segment}" is not allowed as a field name`;
  }
  return null;
}

/**
 * The paths as the schema may name them: each numeric segment read as an array position (dropped)
 * and, where the definition declares a field of that name at that level, also as that field.
 * Declared readings come first. Without digit-named fields there is exactly one reading.
 */
function schemaPaths(path: string, fields: ReadonlyMap<string, unknown>): string[] {
  // The common case, and called several times per path of each list: no numeric segment (and no
  // leading empty one, which the walk below drops) leaves the path its only reading.
  if (path[0] !== "." && !NUMERIC_SEGMENT.test(path)) return [path];
  let readings = [""];
  for (const segment of path.split(".")) {
    const next: string[] = [];
    for (const reading of readings) {
      const named = reading ? `${reading}.${segment}` : segment;
      if (!INDEX_SEGMENT.test(segment)) next.push(named);
      else {
        if (fields.has(named)) next.push(named);
        if (!next.includes(reading)) next.push(reading);
      }
    }
    readings = next;
  }
  return readings;
}

/** The prefixes of a dotted path, shortest first (`a`, `a.b`, `a.b.c`). */
export function pathPrefixes(path: string): string[] {
  if (!path.includes(".")) return [path];
  const segments = path.split(".");
  return segments.map((_, i) => segments.slice(0, i + 1).join("."));
}

/** Type information for a field path (declared, system, or untyped). */
export function resolveField(path: string, ctx: QueryContext): FieldInfo {
  if (ctx.untyped) return { kind: null, known: true };
  const system = SYSTEM_FIELDS.get(path);
  if (system) return { kind: system, known: true };
  const fields = ctx.fields;
  if (!fields || fields.size === 0) return { kind: null, known: true };
  const readings = schemaPaths(path, fields);
  const declared = readings.map((reading) => fields.get(reading)).find((field) => field !== undefined);
  if (declared) {
    const type = declared.type === "array" ? (declared.itemType ?? "any") : declared.type;
    return { kind: OPEN_TYPES.has(type) ? null : type, known: true };
  }
  const known = readings.some((reading) => pathPrefixes(reading).some((prefix) => holdsUndeclared(prefix, ctx)));
  return { kind: null, known };
}

/**
 * Whether undeclared paths under a declared field can hold values: under `any`, and under an
 * `object` or `array` field, unless the definition refuses undeclared fields and declares that field's own.
 */
function holdsUndeclared(path: string, { fields, closed }: QueryContext): boolean {
  const type = fields?.get(path)?.type;
  if (type === undefined || !OPEN_TYPES.has(type)) return false;
  if (!closed || type === "any") return true;
  for (const name of fields!.keys()) if (name.startsWith(`${path}.`)) return false;
  return true;
}

/**
 * Whether the definition lets a path hold arrays or objects: it is declared `array`, `object` or
 * `any`, lies under a declared `array` or `any`, or is undeclared under an open field. False for
 * system fields and in schemaless collections, where only the values tell.
 */
export function mayHoldNonScalar(path: string, ctx: QueryContext): boolean {
  const fields = ctx.fields;
  if (!fields || fields.size === 0 || SYSTEM_FIELDS.has(path)) return false;
  return schemaPaths(path, fields).some((reading) => {
    const type = fields.get(reading)?.type;
    if (type === undefined || OPEN_TYPES.has(type)) return true;
    return pathPrefixes(reading)
      .slice(0, -1)
      .some((prefix) => fields.get(prefix)?.type === "array" || fields.get(prefix)?.type === "any");
  });
}

/** Whether a pk caller may not use this path: private, under a private field, or (except select) above one. */
export function restrictedFor(path: string, use: PathUse, ctx: QueryContext): boolean {
  const fields = ctx.fields;
  if (ctx.isSecretKey || !fields) return false;
  if (SYSTEM_FIELDS.has(path)) return fields.get(path)?.private === true; // createdBy of a private owner
  return schemaPaths(path, fields).some((norm) => {
    if (pathPrefixes(norm).some((p) => fields.get(p)?.private === true)) return true;
    if (use === "select" || use === "shape") return false;
    for (const [name, field] of fields) if (field.private && name.startsWith(`${norm}.`)) return true;
    return false;
  });
}

/**
 * Throws INVALID_QUERY unless the path is well-formed, usable by this caller, and one the collection
 * can hold. `unknownHint` may add what an unknown path was probably meant as (called only then).
 */
export function assertPath(
  param: string,
  path: string,
  use: PathUse,
  ctx: QueryContext,
  unknownHint?: (path: string, ctx: QueryContext) => string | undefined,
): void {
  const problem = pathProblem(path);
  if (problem) throw invalidQuery(param, `${problem} (${JSON.stringify(path.slice(0, 64))})`);
  if (restrictedFor(path, use, ctx)) throw invalidQuery(param, `field "${path}" is private`);
  if (ctx.closed && !resolveField(path, ctx).known) {
    const hint = unknownHint?.(path, ctx);
    const unknown = `unknown field "${path}": the collection's definition does not declare it`;
    throw invalidQuery(param, hint ? `${unknown}. ${hint}` : unknown);
  }
}
