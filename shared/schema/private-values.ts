/**
 * Private fields of a definition as a tree, and what publishable-key callers see of them. What a pk
 * write keeps of the private values it cannot see is in kept-values.ts.
 */
import { isPlainObject } from "../sanitize.js";
import { childFields, type FieldDef, type ItemDef } from "./definition.js";

/** Private fields as a tree: `null` = this key is private; a subtree = descend into the object (or each array element, at any depth). */
export type PrivateTree = Map<string, PrivateTree | null>;

export function privateTree(fields: readonly FieldDef[]): PrivateTree {
  const tree: PrivateTree = new Map();
  for (const field of fields) {
    if (field.private) tree.set(field.name, null);
    else {
      const nested = childFields(field);
      const sub = nested ? privateTree(nested) : undefined;
      if (sub && sub.size > 0) tree.set(field.name, sub);
    }
  }
  return tree;
}

/**
 * Whether `createdBy` is private to publishable-key callers: the field named as the owner field is
 * declared private, and the server sets `createdBy` to the same user id (an anonymous collection
 * would tell every reader its authors through it).
 */
export function createdByPrivate(def: { fields: readonly FieldDef[]; rls: { ownerField: string } }): boolean {
  return def.fields.some((field) => field.name === def.rls.ownerField && field.private === true);
}

/**
 * The private fields as one canonical string, "" when there are none: two definitions hide the same
 * from publishable-key callers exactly when theirs are equal.
 */
export function privateShape(fields: readonly FieldDef[]): string {
  const shape = (tree: PrivateTree): string =>
    [...tree]
      .map(([key, sub]) => JSON.stringify(key) + (sub ? `{${shape(sub)}}` : ""))
      .sort()
      .join(",");
  return shape(privateTree(fields));
}

/** The value without its private fields (never mutates it). */
export function stripWith(value: unknown, tree: PrivateTree): unknown {
  if (Array.isArray(value)) return value.map((item) => stripWith(item, tree));
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, sub] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    out ??= { ...value };
    if (sub === null) delete out[key];
    else out[key] = stripWith(value[key], sub);
  }
  return out ?? value;
}

/** A field's default without the private values it holds (what a pk caller may be shown of it). */
export function publicDefault(field: ItemDef): unknown {
  return stripWith(field.default, privateTree(childFields(field) ?? []));
}

/**
 * Fields without the private ones, at any depth (object `fields`, array `items` and their `fields`).
 * A default holds what documents written without the field store: it loses their private values too,
 * as a pk read of such a document does.
 */
export function publicFields(fields: FieldDef[]): FieldDef[] {
  const open = <T extends ItemDef>(field: T): T => ({
    ...field,
    ...(field.default !== undefined ? { default: publicDefault(field) } : {}),
    ...(field.fields ? { fields: publicFields(field.fields) } : {}),
    ...(field.items ? { items: open(field.items) } : {}),
  });
  return fields.filter((field) => !field.private).map(open);
}
