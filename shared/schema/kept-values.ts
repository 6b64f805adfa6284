/**
 * The stored values a publishable-key PUT or PATCH keeps: private ones (a pk caller never sees them,
 * so a document read, edited and written back must not lose them by accident) and readonly ones (a
 * pk caller may not write them; a body naming one was refused before, readonly-values.ts). `private`
 * hides a field from pk reads, not from pk writes: a private value the body names is written as
 * sent (docs/choices.md). The rules, at any depth:
 * - an object keeps the stored private and readonly values the body does not name, even where it
 *   replaces the object (`{"bio": {...}}` keeps `bio.phone`), over defaults too; a private object
 *   the body names keeps the readonly values inside it;
 * - an array item whose content equals a stored item's without those values is that item, its kept
 *   values included; an edited or removed item is a new item, without the stored one's (its readonly
 *   fields take their defaults, as on an insert);
 * - removing an object that holds such values (`null`, a PUT that leaves it out, a scalar in its
 *   place) is 400 VALIDATION_FAILED: only the secret key can.
 */
import { ApiError, type ErrorDetail } from "../errors.js";
import { isPlainObject } from "../sanitize.js";
import { childFields, type FieldDef } from "./definition.js";

/** Why a stored value is kept when the body leaves it out: the caller does not see it, or may not write it. */
type KeptBecause = "private" | "readonly";

/** One field of a KeptTree: `whole` when its stored value is kept as it is; `inner`: what is kept inside a value the body gives. */
interface KeptNode {
  whole?: KeptBecause;
  inner?: KeptTree;
}

/** The fields whose stored values a pk write keeps, as a tree (an array's items are descended into at any depth). */
export type KeptTree = Map<string, KeptNode>;

/** `underPrivate`: inside a private object, which the body may give as it likes, only readonly values are kept. */
export function keptTree(fields: readonly FieldDef[], underPrivate = false): KeptTree {
  const tree: KeptTree = new Map();
  for (const field of fields) {
    const whole = field.private && !underPrivate ? "private" : field.readonly ? "readonly" : undefined;
    // Nothing inside a readonly field is ever named: it is kept whole.
    const nested = field.readonly ? undefined : childFields(field);
    const inner = nested ? keptTree(nested, underPrivate || field.private === true) : undefined;
    const node: KeptNode = { ...(whole ? { whole } : {}), ...(inner && inner.size > 0 ? { inner } : {}) };
    if (node.whole || node.inner) tree.set(field.name, node);
  }
  return tree;
}

/**
 * Why a stored value holds values to keep ("private" before "readonly"), undefined when it holds
 * none; `inItems` false: only in objects outside arrays (array items may go, their values with them).
 */
function held(value: unknown, tree: KeptTree, inItems: boolean): KeptBecause | undefined {
  const found = new Set<KeptBecause | undefined>();
  if (Array.isArray(value)) {
    if (inItems) for (const item of value) found.add(held(item, tree, inItems));
  } else if (isPlainObject(value)) {
    for (const [key, node] of tree) {
      if (!Object.hasOwn(value, key)) continue;
      found.add(node.whole ?? (node.inner ? held(value[key], node.inner, inItems) : undefined));
    }
  }
  return found.has("private") ? "private" : found.has("readonly") ? "readonly" : undefined;
}

/** The value without the values the tree keeps: what a pk body carries of it (never mutates it). */
function withoutKept(value: unknown, tree: KeptTree): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutKept(item, tree));
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, node] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    out ??= { ...value };
    if (node.whole) delete out[key];
    else if (node.inner) out[key] = withoutKept(value[key], node.inner);
  }
  return out ?? value;
}

/** JSON with object keys sorted: equal for equal values whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (!isPlainObject(value)) return JSON.stringify(value) ?? "null";
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
}

const removed = (because: KeptBecause) => `holds ${because} values: only the secret key can remove it`;

/**
 * The body as sent, with the stored values of `stored` the tree keeps carried in per the rules above,
 * to be validated next (so a required private or readonly field the caller cannot send is there).
 * `merge` (PATCH, update-profile): fields the body leaves out are left alone rather than removed.
 */
export function keepStoredValues(
  tree: KeptTree,
  body: Record<string, unknown>,
  stored: Record<string, unknown>,
  merge: boolean,
): Record<string, unknown> {
  const details: ErrorDetail[] = [];
  const out = { ...body };
  for (const [key, node] of tree) {
    if (!merge || Object.hasOwn(body, key)) keepKey(key, node, out, stored, key, details);
  }
  if (details.length > 0) throw new ApiError("VALIDATION_FAILED", undefined, { details });
  return out;
}

function keepKey(
  key: string,
  node: KeptNode,
  out: Record<string, unknown>,
  stored: Record<string, unknown>,
  path: string,
  details: ErrorDetail[],
): void {
  if (!Object.hasOwn(stored, key)) return;
  const before = stored[key];
  if (Object.hasOwn(out, key)) {
    if (node.inner) out[key] = keepIn(out[key], before, node.inner, path, details);
  } else if (node.whole) out[key] = before;
  else {
    const because = node.inner && held(before, node.inner, false);
    if (because) details.push({ path, message: removed(because) });
  }
}

function keepIn(value: unknown, before: unknown, tree: KeptTree, path: string, details: ErrorDetail[]): unknown {
  if (isPlainObject(value) && isPlainObject(before)) {
    const out = { ...value };
    for (const [key, node] of tree) keepKey(key, node, out, before, `${path}.${key}`, details);
    return out;
  }
  if (Array.isArray(value) && Array.isArray(before)) return sameItems(value, before, tree);
  const because = held(before, tree, false);
  if (because) details.push({ path, message: removed(because) });
  return value;
}

/** Items of `value` that equal a stored item without its kept values are that stored item (each used once). */
function sameItems(value: unknown[], before: unknown[], tree: KeptTree): unknown[] {
  const stored = new Map<string, { items: unknown[]; used: number }>();
  for (const item of before) {
    if (!held(item, tree, true)) continue;
    const key = canonical(withoutKept(item, tree));
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
