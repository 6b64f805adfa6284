/**
 * Private fields of a definition as a tree, and what publishable-key callers see and keep of them.
 *
 * A pk caller never sees private values, so a pk write must not drop them by accident (a document
 * read, edited and written back would lose them). `private` hides a field from pk reads, not from
 * pk writes: a value the body names is written as sent (docs/choices.md). The rules, at any depth:
 * - an object keeps the stored private values the body does not name, even where it replaces the
 *   object (`{"bio": {...}}` keeps `bio.phone`), over defaults too;
 * - an array item whose visible content equals a stored item's is that item, private values
 *   included; an edited or removed item is a new item, without the stored one's private values;
 * - removing an object that holds private values (`null`, a PUT that leaves it out, a scalar in
 *   its place) is 400 VALIDATION_FAILED: only the secret key can.
 */
import { ApiError, type ErrorDetail } from "../errors.js";
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

/**
 * Whether a stored value holds a private value; `inItems` false: only in objects outside arrays
 * (array items may go, their private values with them; objects keep theirs).
 */
function holdsPrivate(value: unknown, tree: PrivateTree, inItems: boolean): boolean {
  if (Array.isArray(value)) return inItems && value.some((item) => holdsPrivate(item, tree, inItems));
  if (!isPlainObject(value)) return false;
  for (const [key, sub] of tree) {
    if (Object.hasOwn(value, key) && (sub === null || holdsPrivate(value[key], sub, inItems))) return true;
  }
  return false;
}

/** JSON with object keys sorted: equal for equal values whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (!isPlainObject(value)) return JSON.stringify(value) ?? "null";
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
}

const REMOVED = "holds private values: only the secret key can remove it";

/**
 * The body as sent, with the stored private values of `stored` carried in per the rules above, to be
 * validated next (so a required private field the caller cannot see is there). `merge` (PATCH,
 * update-profile): fields the body leaves out are left alone rather than removed.
 */
export function keepPrivateValues(
  tree: PrivateTree,
  body: Record<string, unknown>,
  stored: Record<string, unknown>,
  merge: boolean,
): Record<string, unknown> {
  const details: ErrorDetail[] = [];
  const out = { ...body };
  for (const [key, sub] of tree) {
    if (!merge || Object.hasOwn(body, key)) keepKey(key, sub, out, stored, key, details);
  }
  if (details.length > 0) throw new ApiError("VALIDATION_FAILED", undefined, { details });
  return out;
}

function keepKey(
  key: string,
  sub: PrivateTree | null,
  out: Record<string, unknown>,
  stored: Record<string, unknown>,
  path: string,
  details: ErrorDetail[],
): void {
  if (!Object.hasOwn(stored, key)) return;
  const before = stored[key];
  if (Object.hasOwn(out, key)) {
    if (sub !== null) out[key] = keepIn(out[key], before, sub, path, details);
  } else if (sub === null) out[key] = before;
  else if (holdsPrivate(before, sub, false)) details.push({ path, message: REMOVED });
}

function keepIn(value: unknown, before: unknown, tree: PrivateTree, path: string, details: ErrorDetail[]): unknown {
  if (isPlainObject(value) && isPlainObject(before)) {
    const out = { ...value };
    for (const [key, sub] of tree) keepKey(key, sub, out, before, `${path}.${key}`, details);
    return out;
  }
  if (Array.isArray(value) && Array.isArray(before)) return sameItems(value, before, tree);
  if (holdsPrivate(before, tree, false)) details.push({ path, message: REMOVED });
  return value;
}

/** Items of `value` that equal a stored item's visible content are that stored item (each used once). */
function sameItems(value: unknown[], before: unknown[], tree: PrivateTree): unknown[] {
  const stored = new Map<string, { items: unknown[]; used: number }>();
  for (const item of before) {
    if (!holdsPrivate(item, tree, true)) continue;
    const key = canonical(stripWith(item, tree));
    const same = stored.get(key);
    if (same) same.items.push(item);
    else stored.set(key, { items: [item], used: 0 });
  }
  if (stored.size === 0) return value;
  return value.map((item) => {
    const same = stored.get(canonical(item));
    return same && same.used < same.items.length ? same.items[same.used++] : item;
  });
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
