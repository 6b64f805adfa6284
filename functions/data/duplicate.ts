/**
 * The words of a data write's 409 DUPLICATE_VALUE: a unique field (`A document with this slug
 * already exists`, detail `slug`: `must be unique`) or a `uniqueTogether` group (its fields named
 * together, a detail on each).
 */
import type { ErrorDetail } from "../../shared/errors.js";
import { type IndexFields, quotedFields, uniqueIndexName } from "../../shared/store/types.js";

/** The message naming the unique field, or the fields of the unique group. */
export function duplicateMessage(fields: IndexFields): string {
  return fields.length === 1
    ? `A document with this ${fields[0]} already exists`
    : `Duplicate value for ${uniqueIndexName(fields)}`;
}

/** One detail per field of the index, at the bulk item `index` when given (`3.slug`). */
export function duplicateDetails(fields: IndexFields, index?: number): ErrorDetail[] {
  return fields.map((field) => {
    const others = fields.filter((other) => other !== field);
    const message = others.length === 0 ? "must be unique" : `must be unique together with ${quotedFields(others)}`;
    return index === undefined ? { path: field, message } : { path: `${index}.${field}`, message, index };
  });
}
