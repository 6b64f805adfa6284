import { ApiError, authRequired, type ErrorCode } from "./errors.js";
import { isId } from "./ids.js";
import type { KeyType } from "./principal.js";
import {
  type AccessRule,
  type CollectionDef,
  MAX_MEMBERS,
  type Operation,
  ownerIsList,
  SYSTEM_FIELDS,
} from "./schema/definition.js";

/**
 * Access rules (API.md §4.2) as pure decisions. `rls` sets the defaults, `permissions` overrides
 * single operations; sk bypasses every rule and never carries an end-user identity.
 */

/** Who calls, as far as rules care: the key type and the verified user (or why the token failed). */
export interface Caller {
  keyType: KeyType;
  userId: string | null;
  tokenError: "TOKEN_INVALID" | "TOKEN_EXPIRED" | null;
}

/** The verdict for one operation: denied with a code, or allowed — confined to one owner's documents when `ownerId` is set. */
export type Decision = { allowed: true; ownerId: string | null } | { allowed: false; code: ErrorCode };

const OPEN: Record<Operation, AccessRule> = {
  list: "guest",
  read: "guest",
  create: "secret",
  update: "secret",
  delete: "secret",
};
const PUBLIC_READ: Record<Operation, AccessRule> = { ...OPEN, create: "owner", update: "owner", delete: "owner" };
const PRIVATE: Record<Operation, AccessRule> = {
  list: "owner",
  read: "owner",
  create: "owner",
  update: "owner",
  delete: "owner",
};

/** The rule of every operation for a collection definition. */
export function rulesFor(def: Pick<CollectionDef, "rls" | "permissions">): Record<Operation, AccessRule> {
  const base = !def.rls.enabled ? OPEN : def.rls.mode === "private" ? PRIVATE : PUBLIC_READ;
  return { ...base, ...def.permissions };
}

/** Decides one operation for one caller under one rule. */
export function decideAccess(caller: Caller, rule: AccessRule, operation: Operation): Decision {
  if (caller.keyType === "secret") return { allowed: true, ownerId: null };
  const reading = operation === "list" || operation === "read";
  if (rule === "secret") return { allowed: false, code: reading ? "READ_BLOCKED" : "WRITE_BLOCKED" };
  if (caller.tokenError) return { allowed: false, code: caller.tokenError };
  if (rule === "guest") return { allowed: true, ownerId: null };
  if (!caller.userId) return { allowed: false, code: "AUTH_REQUIRED" };
  return { allowed: true, ownerId: rule === "owner" ? caller.userId : null };
}

/** Decides, and throws the ApiError of a denial. */
export function authorize(
  caller: Caller,
  def: Pick<CollectionDef, "rls" | "permissions">,
  operation: Operation,
): string | null {
  const decision = decideAccess(caller, rulesFor(def)[operation], operation);
  if (!decision.allowed) throw decision.code === "AUTH_REQUIRED" ? authRequired() : new ApiError(decision.code);
  return decision.ownerId;
}

/**
 * The store filter that confines an allowed operation to the owner's documents ({} when unconfined).
 * On a member list (an owner field declared `array`) the same equality matches a list holding the
 * id, on MongoDB and mingo alike: the user owns every document whose list names them.
 */
export function ownerFilter(def: Pick<CollectionDef, "rls">, ownerId: string | null): Record<string, unknown> {
  return ownerId === null ? {} : { [def.rls.ownerField]: ownerId };
}

/**
 * The store filter of what an allowed read shows the caller, `ownerId` being `authorize`'s answer:
 * under an `owner` rule the caller's own documents (`publicWhen` only narrows what a rule shows, and
 * an owner's documents are all theirs to see); otherwise, for a pk caller of a collection with
 * `publicWhen`, the documents matching it plus, when signed in, the caller's own; else all ({}).
 * A hidden document is then not found, as a missing one is: the condition is part of the query.
 */
export function readFilter(
  def: Pick<CollectionDef, "rls">,
  caller: Caller,
  ownerId: string | null,
): Record<string, unknown> {
  const when = def.rls.publicWhen;
  if (ownerId !== null || !when || caller.keyType === "secret") return ownerFilter(def, ownerId);
  return caller.userId === null ? { ...when } : { $or: [{ ...when }, { [def.rls.ownerField]: caller.userId }] };
}

/** Whether documents of the collection have owners: RLS is on, or some operation's rule is `owner`. */
export function ownsDocuments(def: Pick<CollectionDef, "rls" | "permissions">): boolean {
  return def.rls.enabled || Object.values(def.permissions).includes("owner");
}

/**
 * Whether a stored owner value makes `userId` an owner: the value itself, or, where the owner field is
 * a member list, an element of it (an owner field of another type keeps one owner, whatever it holds).
 */
export function ownedBy(def: Pick<CollectionDef, "fields" | "rls">, value: unknown, userId: string): boolean {
  return value === userId || (ownerIsList(def) && Array.isArray(value) && value.includes(userId));
}

/**
 * The body a publishable-key caller may insert into a collection whose documents have owners: an
 * end user's id fills an absent owner field, and a body naming anyone else is refused
 * (OWNER_MISMATCH); a guest, who is no one, may name no owner at all (OWNER_MISMATCH); with `_id`
 * as the owner field every end-user insert is refused (INSERT_DENIED). A body names no owner when
 * it leaves the field out, sets it to null ("no value") or the field is a system field (`_id`,
 * `createdBy`: never taken from a body; the server sets `createdBy`). On a member list the caller
 * stands for the list `[id]`, and a list the body names is checked by `checkedMembers`.
 * Secret-key inserts skip this.
 */
export function ownedInsert(
  body: Record<string, unknown>,
  def: Pick<CollectionDef, "rls" | "permissions" | "fields">,
  userId: string | null,
): Record<string, unknown> {
  if (!ownsDocuments(def)) return body;
  const field = def.rls.ownerField;
  const system = SYSTEM_FIELDS.includes(field);
  const named = !system && Object.hasOwn(body, field) && body[field] !== null;
  if (userId === null) {
    if (named) throw new ApiError("OWNER_MISMATCH");
    return body;
  }
  if (field === "_id") throw new ApiError("INSERT_DENIED");
  if (system) return body;
  const list = ownerIsList(def);
  if (!named) return { ...body, [field]: list ? [userId] : userId };
  if (list) checkedMembers(field, body[field], userId);
  else if (body[field] !== userId) throw new ApiError("OWNER_MISMATCH");
  return body;
}

const notMembers = (field: string, message: string) =>
  new ApiError("VALIDATION_FAILED", undefined, { details: [{ path: field, message }] });

/**
 * A member list an end user's insert names: a list (else 400) that holds the caller (else 403
 * OWNER_MISMATCH: no one creates a document only others own), of user ids (24-hex, lower case), each
 * once (else 400: a repeated id would count twice toward the list's length, and a server removing a
 * member would have to find every copy). Its length is the definition's to check (maxLength).
 */
function checkedMembers(field: string, value: unknown, userId: string): void {
  if (!Array.isArray(value)) throw notMembers(field, "Expected a list of user ids (the members)");
  // Before the checks below, which are linear in the list's length: a body may hold a long one.
  if (value.length > MAX_MEMBERS) throw notMembers(field, `At most ${MAX_MEMBERS} members`);
  if (!value.includes(userId)) throw new ApiError("OWNER_MISMATCH");
  const seen = new Set<unknown>();
  const at = value.findIndex((member) => !isId(member) || seen.size === seen.add(member).size);
  if (at === -1) return;
  const message = isId(value[at]) ? "Each member is named once" : "Expected a user id (24 lower-case hex characters)";
  throw notMembers(`${field}.${at}`, message);
}

/** Whether two member lists hold the same ids in the same order. */
const sameMembers = (a: unknown, b: unknown): boolean =>
  Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((member, i) => member === b[i]);

/**
 * A stored owner in the shape the owner field now declares: a single id stored before the field
 * became a member list is the list of that one member (it owns the document either way, ownedBy),
 * so a PUT that keeps the owner writes a document the definition takes.
 */
export function ownerAsDeclared(def: Pick<CollectionDef, "fields" | "rls">, stored: unknown): unknown {
  return ownerIsList(def) && typeof stored === "string" ? [stored] : stored;
}

/**
 * Refuses an end-user update that would change (or drop) the owner field. An owner field that is
 * a system field (`_id`, `createdBy`) is never taken from a body, so it cannot change. A member list
 * is compared by value: sent back as stored it passes; any change (a member added, removed or
 * moved) is the secret key's to make.
 */
export function assertOwnerKept(
  current: Record<string, unknown>,
  next: Record<string, unknown>,
  def: Pick<CollectionDef, "rls" | "permissions" | "fields">,
): void {
  const field = def.rls.ownerField;
  if (!ownsDocuments(def) || SYSTEM_FIELDS.includes(field)) return;
  const stored = ownerAsDeclared(def, current[field]);
  const kept = next[field] === current[field] || (ownerIsList(def) && sameMembers(next[field], stored));
  if (!kept) throw new ApiError("OWNER_IMMUTABLE");
}
