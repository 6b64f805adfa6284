import { randomToken } from "./crypto.js";
import { ApiError } from "./errors.js";
import { pathPrefixes } from "./query/paths.js";
import { type CollectionDef, type FieldPathInfo, fieldPaths, outermostPrivatePaths } from "./schema/definition.js";
import { createdByPrivate, privateShape } from "./schema/private-values.js";
import type { Collection } from "./store/types.js";

/**
 * A definition change never publishes private values by accident: a private path of `previous`
 * that `next` leaves public (removed, renamed, or declared again without the flag; `next` null:
 * the definition goes) must hold no value in any document, else 400 VALIDATION_FAILED. Declaring
 * it `private: false` in so many words publishes it on purpose.
 */
export async function assertNoRetiredPrivateValues(
  collection: Collection,
  previous: CollectionDef,
  next: CollectionDef | null,
): Promise<void> {
  const before = fieldPaths(previous);
  const after = next ? fieldPaths(next) : new Map<string, FieldPathInfo>();
  const stillPrivateOrPublished = (path: string) =>
    after.get(path)?.published === true || pathPrefixes(path).some((prefix) => after.get(prefix)?.private);
  const retired = outermostPrivatePaths(before).filter((path) => !stillPrivateOrPublished(path));
  // `createdBy` too, private while the owner field is (see createdByPrivate), unless `next` keeps a
  // private owner field or declares the new or the old owner field `private: false` in so many words.
  const ownerPublished = (def: CollectionDef) => after.get(def.rls.ownerField)?.published === true;
  if (
    createdByPrivate(previous) &&
    !(next && (createdByPrivate(next) || ownerPublished(next) || ownerPublished(previous)))
  ) {
    retired.push("createdBy");
  }
  for (const path of retired) {
    const holding = await collection.count({ [path]: { $exists: true } });
    if (holding === 0) continue;
    const message =
      path === "createdBy"
        ? `createdBy names the authors of ${holding} document(s) and is private while the owner field "${previous.rls.ownerField}" is: keep the owner field private, or declare it private: false to publish them`
        : `private field "${path}" still has values in ${holding} document(s): unset them first, keep it private, or declare it private: false to publish them`;
    throw new ApiError("VALIDATION_FAILED", message, { details: [{ path: "fields", message }] });
  }
}

/**
 * The `view` of a definition (see CollectionEntry) replacing one whose view was `previous.view`, or
 * a new one: "" without private fields; kept while they stay as they were; else drawn anew (a token
 * that says nothing of their names).
 */
export function viewOf(def: CollectionDef, previous?: { def: CollectionDef; view: string }): string {
  const shape = hiddenShape(def);
  if (shape === "") return "";
  const kept = previous && previous.view !== "" && hiddenShape(previous.def) === shape;
  return kept ? previous.view : randomToken(6);
}

/** What a definition hides from pk callers, as one string: its private fields, and `createdBy` when private. */
const hiddenShape = (def: CollectionDef) => privateShape(def.fields) + (createdByPrivate(def) ? "|createdBy" : "");

/** The `view` of a definition stored before views were: its revision stands for it. */
export const legacyView = (doc: Record<string, unknown>) =>
  hiddenShape(doc.def as CollectionDef) === "" ? "" : `${doc.revision ?? doc.version}`;
