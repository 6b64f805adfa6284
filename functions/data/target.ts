import type { Context } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { callerOf } from "../../shared/caller.js";
import type { CollectionEntry } from "../../shared/collections.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { isId } from "../../shared/ids.js";
import type { QueryContext } from "../../shared/query.js";
import { type Caller, ownsDocuments } from "../../shared/rules.js";
import { assertSafeBody, isPlainObject } from "../../shared/sanitize.js";
import {
  type CollectionDef,
  collectionNameProblem,
  fieldPaths,
  SYSTEM_FIELDS,
} from "../../shared/schema/definition.js";
import { implicitDefinition, parseCollectionName } from "../../shared/schema/names.js";
import { createdByPrivate } from "../../shared/schema/private-values.js";
import type { Validators } from "../../shared/schema/validator.js";
import { type Collection, type Doc, DuplicateKeyError, type Filter } from "../../shared/store/types.js";
import { duplicateDetails, duplicateMessage } from "./duplicate.js";

export type Ctx = Context<AppEnv>;

/** What a document route works on: the collection named in the path, its rules and validators, and the caller. */
export interface Target {
  entry: CollectionEntry;
  def: CollectionDef;
  caller: Caller;
  validators: Validators;
  collection: Collection;
  isSecretKey: boolean;
  /** The collection does not exist yet: an sk insert will create it (see `materialize`). */
  provisional: boolean;
  /** The write fence's stamp, taken before the definition was resolved (see write-target.ts). */
  stamp: number;
  /** A stored document as this caller may see it (private fields removed for pk callers). */
  present(doc: Doc): Record<string, unknown>;
}

/**
 * Resolves the collection in the path and the caller. A missing collection is 404, except for an
 * sk insert (`createIfMissing`): it gets a provisional schemaless entry with default rules
 * ("instant NoSQL"), which `materialize` stores once the body has passed its checks.
 */
export async function resolveTarget(deps: Deps, c: Ctx, options: { createIfMissing?: boolean } = {}): Promise<Target> {
  const { project, keyType } = c.get("principal");
  const creating = options.createIfMissing === true && keyType === "secret";
  const raw = c.req.param("collection") ?? "";
  // An insert that would create the collection says what a name may be; other calls find nothing there.
  const problem = creating ? collectionNameProblem(raw) : undefined;
  if (problem) {
    const message = `Collection name ${problem}`;
    throw new ApiError("VALIDATION_FAILED", message, { details: [{ path: "collection", message }] });
  }
  const name = parseCollectionName(raw);
  const stamp = deps.collections.fence.stamp;
  let entry = await deps.collections.get(project, name);
  const provisional = !entry && creating;
  if (provisional) {
    const time = new Date(deps.clock.now()).toISOString();
    const def = implicitDefinition(name);
    entry = { def, version: 0, revision: "implicit", view: "", implicit: true, createdAt: time, updatedAt: time };
  }
  if (!entry) throw new ApiError("COLLECTION_NOT_FOUND", `Collection "${name}" not found`);
  const caller = await callerOf(c, deps.clock);
  const validators = deps.collections.validators(project, entry);
  const collection = deps.collections.database(project).collection(name);
  const isSecretKey = keyType === "secret";
  const present = (doc: Doc) => validators.strip(doc, { isSecretKey });
  return { entry, def: entry.def, caller, validators, collection, isSecretKey, provisional, stamp, present };
}

/**
 * Stores a provisional collection (implicit, schemaless) and resolves the target again. When
 * another request created the collection first, theirs is used — which may have a definition
 * of its own, so callers prepare their documents again against the returned target.
 */
export async function materialize(deps: Deps, c: Ctx, target: Target): Promise<Target> {
  if (!target.provisional) return target;
  const { project } = c.get("principal");
  await deps.collections.create(project, target.def, { implicit: true }).catch((error: unknown) => {
    if (!(error instanceof ApiError && error.code === "COLLECTION_EXISTS")) throw error;
  });
  return resolveTarget(deps, c);
}

/** Query fields by definition: definitions are never changed in place, so each is worked out once. */
const queryFieldsByDef = new WeakMap<CollectionDef, QueryContext["fields"]>();

/**
 * What the query parser knows of a collection: its declared paths (null when schemaless), plus the
 * owner field as a string when the rules use it without declaring it (the server writes it).
 */
export function queryContext(def: CollectionDef, isSecretKey: boolean): QueryContext {
  let fields = queryFieldsByDef.get(def);
  if (fields === undefined) {
    fields = def.fields.length === 0 ? null : fieldPaths(def);
    const owner = def.rls.ownerField;
    if (fields && ownsDocuments(def) && !fields.has(owner) && !SYSTEM_FIELDS.includes(owner)) {
      fields = new Map([...fields, [owner, { type: "string", private: false }]]);
    }
    if (fields && createdByPrivate(def)) {
      fields = new Map([...fields, ["createdBy", { type: "string", private: true }]]);
    }
    queryFieldsByDef.set(def, fields);
  }
  return { fields, isSecretKey, closed: fields !== null && !def.additionalFields };
}

/** The `:id` of the path, checked: a 24-hex id, else 400 INVALID_ID. */
export function documentId(c: Ctx): string {
  const id = c.req.param("id") ?? "";
  if (!isId(id)) throw new ApiError("INVALID_ID", "Document id must be a 24-character lower-case hex string");
  return id;
}

/**
 * A write body: a JSON object whose keys are safe at every depth, and whose top-level keys are never
 * lookalikes of declared fields. Costs O(size of the body), whatever the size of the definition.
 */
export function checkedBody(body: unknown, target: Pick<Target, "validators">): Record<string, unknown> {
  if (!isPlainObject(body)) {
    throw new ApiError("VALIDATION_FAILED", "Body must be a JSON object", {
      details: [{ path: "", message: "Expected a JSON object" }],
    });
  }
  assertSafeBody(body);
  target.validators.assertBodyKeys(body);
  return body;
}

/** A unique index refused the write → 409 DUPLICATE_VALUE naming its fields; anything else is rethrown. */
export function duplicate(error: unknown): never {
  if (error instanceof DuplicateKeyError) {
    throw new ApiError("DUPLICATE_VALUE", duplicateMessage(error.fields), { details: duplicateDetails(error.fields) });
  }
  throw error;
}

/** ANDs store filters, dropping empty ones. */
export function and(...filters: Filter[]): Filter {
  const parts = filters.filter((f) => Object.keys(f).length > 0);
  return parts.length <= 1 ? (parts[0] ?? {}) : { $and: parts };
}
