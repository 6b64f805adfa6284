/**
 * The stored values a publishable-key PUT or PATCH keeps: private ones (a pk caller never sees them,
 * so a document read, edited and written back must not lose them by accident) and readonly ones (a
 * pk caller may not change them; readonly-values.ts says what a body may carry at one). `private`
 * hides a field from pk reads, not from pk writes: a private value the body names is written as
 * sent (docs/choices.md). The rules, at any depth:
 * - an object keeps the stored private and readonly values the body does not name, even where it
 *   replaces the object (`{"bio": {...}}` keeps `bio.phone`), over defaults too; a private object
 *   the body names keeps the readonly values inside it; a readonly value the body names must be the
 *   stored one (else 400), and one where nothing is stored is refused; one a stored object lacks
 *   stays lacking (NO_VALUE: no default), as the stored item an array item is;
 * - an array item equal to a stored item, as the caller reads it (without its private values) or
 *   without its kept values, is that item, its kept values included; an edited or removed item is a
 *   new item, without the stored one's: as on an insert, it may name a readonly value at its default
 *   only, and its readonly fields not named take their defaults. Where the caller reads no item
 *   (under a private field, or a blind write), only the form without kept values matches: matching
 *   the stored item with its readonly values would tell them;
 * - removing an object that holds such values (`null`, a PUT that leaves it out, a scalar in its
 *   place) is 400 VALIDATION_FAILED: only the secret key can.
 */
import { ApiError, type ErrorDetail } from "../errors.js";
import { isPlainObject } from "../sanitize.js";
import { canonical } from "./canonical-json.js";
import { childFields, type FieldDef } from "./definition.js";
import { isDefault, isStored, READONLY_MESSAGE, type ReadonlyRule, readonlyRule } from "./readonly-values.js";
import { NO_VALUE } from "./value-schema.js";

/** Why a stored value is kept when the body leaves it out: the caller does not see it, or may not write it. */
type KeptBecause = "private" | "readonly";

/**
 * One field of a KeptTree: `whole` when its stored value is kept as it is; `inner`: what is kept inside
 * a value the body gives; `readonly`: what a body may carry there.
 */
interface KeptNode {
  whole?: KeptBecause;
  inner?: KeptTree;
  readonly?: ReadonlyRule;
}

/** The fields whose stored values a pk write keeps, as a tree (an array's items are descended into at any depth). */
export type KeptTree = Map<string, KeptNode>;

/** The trees under a private field: the caller reads none of their values (sameItems). */
const unseenTrees = new WeakSet<KeptTree>();

/** `underPrivate`: inside a private object, which the body may give as it likes, only readonly values are kept. */
export function keptTree(fields: readonly FieldDef[], underPrivate = false): KeptTree {
  const tree: KeptTree = new Map();
  if (underPrivate) unseenTrees.add(tree);
  for (const field of fields) {
    const whole = field.private && !underPrivate ? "private" : field.readonly ? "readonly" : undefined;
    // Nothing inside a readonly field is ever named: it is kept whole.
    const nested = field.readonly ? undefined : childFields(field);
    const inner = nested ? keptTree(nested, underPrivate || field.private === true) : undefined;
    const node: KeptNode = {
      ...(whole ? { whole } : {}),
      ...(inner && inner.size > 0 ? { inner } : {}),
      ...(field.readonly ? { readonly: readonlyRule(field, underPrivate) } : {}),
    };
    if (node.whole || node.inner) tree.set(field.name, node);
  }
  return tree;
}

/** keepsReadonly's answers: trees live as long as their compiled validators and never change. */
const readonlyHeld = new WeakMap<KeptTree, boolean>();

/**
 * Whether the tree (or subtree) holds a readonly field: without one there is nothing to compare, so
 * a collection with private fields only pays nothing for the readonly checks.
 */
export function keepsReadonly(tree: KeptTree): boolean {
  let holds = readonlyHeld.get(tree);
  if (holds === undefined) {
    holds = [...tree.values()].some((node) => node.readonly !== undefined || (node.inner && keepsReadonly(node.inner)));
    readonlyHeld.set(tree, holds);
  }
  return holds;
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

/**
 * The value without the values the tree keeps (`only`: those kept for that reason), never mutating
 * it: what a pk body carries of it when it leaves them out (or, without private ones, as it read it).
 */
function withoutKept(value: unknown, tree: KeptTree, only?: KeptBecause): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutKept(item, tree, only));
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, node] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    out ??= { ...value };
    if (node.whole && (only === undefined || node.whole === only)) delete out[key];
    else if (node.inner) out[key] = withoutKept(value[key], node.inner, only);
  }
  return out ?? value;
}

const removed = (because: KeptBecause) => `holds ${because} values: only the secret key can remove it`;

/** One check of a pk body: its problems (one readonly detail per path), and whether the caller reads no document. */
interface Walk {
  details: ErrorDetail[];
  refused: Set<string>;
  blind: boolean;
}

const newWalk = (blind: boolean): Walk => ({ details: [], refused: new Set(), blind });

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** A readonly path the body would change (dotted, one detail for all the items of an array). */
function refuse(walk: Walk, path: string): void {
  if (walk.refused.has(path)) return;
  walk.refused.add(path);
  walk.details.push({ path, message: READONLY_MESSAGE });
}

function throwIfRefused(walk: Walk): void {
  if (walk.details.length > 0) throw new ApiError("VALIDATION_FAILED", undefined, { details: walk.details });
}

/**
 * The readonly values a value with no stored counterpart names: an insert's or a new array item's may
 * be their defaults (`defaults`), what the server would set; one a PUT or PATCH puts where nothing is
 * stored may be nothing. Array items are new items either way.
 */
function checkNew(value: unknown, tree: KeptTree, path: string, walk: Walk, defaults: boolean): void {
  if (!keepsReadonly(tree)) return;
  if (Array.isArray(value)) {
    for (const item of value) checkNew(item, tree, path, walk, true);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, node] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    if (node.readonly) {
      if (!(defaults && isDefault(node.readonly, value[key]))) refuse(walk, at(path, key));
    } else if (node.inner) checkNew(value[key], node.inner, at(path, key), walk, defaults);
  }
}

/** A pk insert body (one, or a bulk item) naming a readonly value other than its default → 400 VALIDATION_FAILED. */
export function refuseReadonlyInsert(tree: KeptTree, body: Record<string, unknown>): void {
  const walk = newWalk(false);
  checkNew(body, tree, "", walk, true);
  throwIfRefused(walk);
}

/**
 * The body as sent, with the stored values of `stored` the tree keeps carried in per the rules above,
 * to be validated next (so a required private or readonly field the caller cannot send is there).
 * `merge` (PATCH, update-profile): fields the body leaves out are left alone rather than removed.
 * `blind`: the caller reads no document (a `secret` read rule), so no readonly value is compared.
 */
export function keepStoredValues(
  tree: KeptTree,
  body: Record<string, unknown>,
  stored: Record<string, unknown>,
  options: { merge: boolean; blind: boolean },
): Record<string, unknown> {
  const walk = newWalk(options.blind);
  const out = { ...body };
  for (const [key, node] of tree) {
    if (!options.merge || Object.hasOwn(body, key)) keepKey(key, node, out, stored, key, walk);
  }
  throwIfRefused(walk);
  return out;
}

function keepKey(
  key: string,
  node: KeptNode,
  out: Record<string, unknown>,
  stored: Record<string, unknown>,
  path: string,
  walk: Walk,
): void {
  const isHeld = Object.hasOwn(stored, key);
  const before = isHeld ? stored[key] : undefined;
  if (Object.hasOwn(out, key)) {
    if (node.readonly) {
      // Sent back unchanged: stored as it was (its key order too). Anything else would change it.
      if (isHeld && isStored(node.readonly, out[key], before, walk.blind)) out[key] = before;
      else refuse(walk, path);
    } else if (node.inner) out[key] = keepIn(out[key], before, node.inner, path, walk);
  } else if (!isHeld) {
    // A readonly value a stored object lacks is kept lacking: a default would change it.
    if (node.readonly) out[key] = NO_VALUE;
  } else if (node.whole) out[key] = before;
  else {
    const because = node.inner && held(before, node.inner, false);
    if (because) walk.details.push({ path, message: removed(because) });
  }
}

function keepIn(value: unknown, before: unknown, tree: KeptTree, path: string, walk: Walk): unknown {
  if (isPlainObject(value) && isPlainObject(before)) {
    const out = { ...value };
    for (const [key, node] of tree) keepKey(key, node, out, before, at(path, key), walk);
    return out;
  }
  if (Array.isArray(value) && Array.isArray(before)) return sameItems(value, before, tree, path, walk);
  const because = held(before, tree, false);
  if (because) walk.details.push({ path, message: removed(because) });
  checkNew(value, tree, path, walk, false);
  return value;
}

/**
 * Items of `value` that equal a stored item as the caller reads it (not for a blind write or under a
 * private field: the match would tell the readonly values) or without its kept values are that
 * stored item (its missing readonly values kept missing), each used once; the others are new items
 * (checkNew).
 */
function sameItems(value: unknown[], before: unknown[], tree: KeptTree, path: string, walk: Walk): unknown[] {
  type Forms = Map<string, { indexes: number[]; next: number }>;
  const [readForms, bareForms]: [Forms, Forms] = [new Map(), new Map()];
  const add = (forms: Forms, form: string, index: number) => {
    const same = forms.get(form);
    if (same) same.indexes.push(index);
    else forms.set(form, { indexes: [index], next: 0 });
  };
  for (const [index, item] of before.entries()) {
    // An item without kept values is its content, unless it lacks a readonly value (withMissingKept).
    if (!keepsReadonly(tree) && !held(item, tree, true)) continue;
    const bare = canonical(withoutKept(item, tree));
    add(bareForms, bare, index);
    const unread = walk.blind || unseenTrees.has(tree) || !keepsReadonly(tree);
    const read = unread ? bare : canonical(withoutKept(item, tree, "private"));
    if (read !== bare) add(readForms, read, index);
  }
  const used = new Set<number>();
  /** The first unused stored item of this form; an index used through its other form is skipped, each list walked once. */
  const take = (forms: Forms, form: string): number | undefined => {
    const same = forms.get(form);
    while (same && same.next < same.indexes.length && used.has(same.indexes[same.next] as number)) same.next++;
    const index = same?.indexes[same.next];
    if (index !== undefined) used.add(index);
    return index;
  };
  // Items as read first, then items without kept values: `[{sku: a}, {sku: a, price: 10}]` sent back
  // over the same two items is each its own, whichever order the bare one comes in.
  const forms = value.map((item) => (bareForms.size > 0 ? canonical(item) : undefined));
  const matched = forms.map((form) => (form !== undefined && readForms.size > 0 ? take(readForms, form) : undefined));
  return value.map((item, i) => {
    const form = forms[i];
    const index = matched[i] ?? (form === undefined ? undefined : take(bareForms, form));
    if (index !== undefined) return keepsReadonly(tree) ? withMissingKept(before[index], tree) : before[index];
    checkNew(item, tree, path, walk, true);
    return item;
  });
}

/** A stored value with NO_VALUE where it lacks a readonly value, at any depth, so that no default fills it. */
function withMissingKept(value: unknown, tree: KeptTree): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => withMissingKept(item, tree));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, node] of tree) {
    const isHeld = Object.hasOwn(value, key);
    const before = isHeld ? value[key] : undefined;
    let kept = before;
    if (!isHeld) kept = node.readonly ? NO_VALUE : undefined;
    else if (node.inner && keepsReadonly(node.inner)) kept = withMissingKept(before, node.inner);
    if (kept === before) continue;
    out ??= { ...value };
    out[key] = kept;
  }
  return out ?? value;
}
