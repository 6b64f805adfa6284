/**
 * Readonly fields (`readonly: true`, at any depth): only the secret key writes them. A
 * publishable-key body that names one, even with `null`, is refused (400 VALIDATION_FAILED, one
 * detail per path), as a pk signup naming a private profile field is: a value silently dropped
 * would look stored to the caller. The field's `default` applies on a pk insert, and a pk PUT or
 * PATCH keeps the stored value (kept-values.ts). Reads are unaffected.
 */
import type { ErrorDetail } from "../errors.js";
import { isPlainObject } from "../sanitize.js";
import { childFields, type FieldDef } from "./definition.js";

export const READONLY_MESSAGE = "is readonly: only the secret key can set it";

/**
 * The outermost readonly paths, split into their segments (`["lines", "price"]` for the items of an
 * array `lines`): a field under a readonly one cannot be named without naming that one.
 */
export function readonlyPaths(fields: readonly FieldDef[], prefix: readonly string[] = []): string[][] {
  return fields.flatMap((field) => {
    const path = [...prefix, field.name];
    if (field.readonly) return [path];
    const nested = childFields(field);
    return nested ? readonlyPaths(nested, path) : [];
  });
}

/** Whether `value` holds something at `path`, looking into every element of the arrays on the way. */
export function carries(value: unknown, path: readonly string[]): boolean {
  if (path.length === 0) return true;
  if (Array.isArray(value)) return value.some((item) => carries(item, path));
  const [head, ...rest] = path;
  return isPlainObject(value) && head !== undefined && Object.hasOwn(value, head) && carries(value[head], rest);
}

/** One detail per readonly path the body names (dotted; one for all the items of an array). */
export function readonlyWrites(body: Record<string, unknown>, paths: readonly string[][]): ErrorDetail[] {
  return paths
    .filter((path) => carries(body, path))
    .map((path) => ({ path: path.join("."), message: READONLY_MESSAGE }));
}
