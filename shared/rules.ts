import { ApiError, authRequired, type ErrorCode } from "./errors.js";
import type { KeyType } from "./principal.js";
import { type AccessRule, type CollectionDef, type Operation, SYSTEM_FIELDS } from "./schema/definition.js";

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

/** The store filter that confines an allowed operation to the owner's documents ({} when unconfined). */
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
 * The body a publishable-key caller may insert into a collection whose documents have owners: an
 * end user's id fills an absent owner field, and a body naming anyone else is refused
 * (OWNER_MISMATCH); a guest, who is no one, may name no owner at all (OWNER_MISMATCH); with `_id`
 * as the owner field every end-user insert is refused (INSERT_DENIED). A body names no owner when
 * it leaves the field out, sets it to null ("no value") or the field is a system field (`_id`,
 * `createdBy`: never taken from a body; the server sets `createdBy`). Secret-key inserts skip this.
 */
export function ownedInsert(
  body: Record<string, unknown>,
  def: Pick<CollectionDef, "rls" | "permissions">,
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
  if (!named) return { ...body, [field]: userId };
  if (body[field] !== userId) throw new ApiError("OWNER_MISMATCH");
  return body;
}

/**
 * Refuses an end-user update that would change (or drop) the owner field. An owner field that is
 * a system field (`_id`, `createdBy`) is never taken from a body, so it cannot change.
 */
export function assertOwnerKept(
  current: Record<string, unknown>,
  next: Record<string, unknown>,
  def: Pick<CollectionDef, "rls" | "permissions">,
): void {
  const field = def.rls.ownerField;
  if (!ownsDocuments(def) || SYSTEM_FIELDS.includes(field)) return;
  if (next[field] !== current[field]) throw new ApiError("OWNER_IMMUTABLE");
}
