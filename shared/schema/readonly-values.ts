/**
 * Readonly fields (`readonly: true`, at any depth): only the secret key changes them. A
 * publishable-key body may carry one only where the write changes nothing by it, so that a document
 * read and written back whole (a spread of it, a form bound to it) passes: on a PUT or PATCH, the
 * value stored at that path; on an insert, a bulk item or a new array item, the field's `default`
 * (what the server would set). Any other value, `null` too, is refused (400 VALIDATION_FAILED, one
 * detail per path), as a pk signup naming a private profile field is: a value silently dropped would
 * look stored to the caller. A readonly value the caller cannot read (private, under a private
 * field, or a blind write) is compared with nothing: whether it matched would tell the value.
 * Without it, the default applies on insert and a PUT or PATCH keeps the stored value, or its absence
 * (kept-values.ts).
 */
import { isPlainObject } from "../sanitize.js";
import { canonical } from "./canonical-json.js";
import type { FieldDef } from "./definition.js";

export const READONLY_MESSAGE = "is readonly: only the secret key can set it";

/** What a pk body may carry at one readonly field. */
export interface ReadonlyRule {
  /** The caller never reads it (private, or under a private field): any value is refused. */
  unseen: boolean;
  /** The default's canonical JSON (canonical-json.ts), undefined without one. */
  defaultJson: string | undefined;
}

export function readonlyRule(field: FieldDef, underPrivate: boolean): ReadonlyRule {
  const defaultJson = field.default === undefined ? undefined : canonical(field.default);
  return { unseen: underPrivate || field.private === true, defaultJson };
}

/** Whether `value` is the field's default, which a new value (insert, new array item) may carry. */
export const isDefault = (rule: ReadonlyRule, value: unknown): boolean =>
  !rule.unseen && rule.defaultJson !== undefined && canonical(value) === rule.defaultJson;

/** Whether `value` is the stored one, which a PUT or PATCH may carry back (`blind`: the caller reads no document). */
export const isStored = (rule: ReadonlyRule, value: unknown, stored: unknown, blind: boolean): boolean =>
  !rule.unseen && !blind && canonical(value) === canonical(stored);

/** Whether `value` holds something at `path`, looking into every element of the arrays on the way. */
export function carries(value: unknown, path: readonly string[]): boolean {
  if (path.length === 0) return true;
  if (Array.isArray(value)) return value.some((item) => carries(item, path));
  const [head, ...rest] = path;
  return isPlainObject(value) && head !== undefined && Object.hasOwn(value, head) && carries(value[head], rest);
}
