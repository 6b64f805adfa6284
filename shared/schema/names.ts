import { ApiError } from "../errors.js";
import type { CollectionDef } from "./definition.js";

/** Collection names of API.md §4: a letter, then letters, digits, `_` or `-`, at most 64 in all. */
export const COLLECTION_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/;

/** The end-user collection: the auth function's accounts, which a definition can only add profile fields to. */
export const USERS = "users";

/** Whether a name is the end-user collection (exactly `users`). */
export const isUsersCollection = (name: string) => name === USERS;

/** Whether a name is `users` in any case: /api/data never serves those, so none but `users` can be defined. */
export const looksLikeUsers = (name: string) => name.toLowerCase() === USERS;

/** The collection a path names; anything that is not a valid, unreserved name is simply not found. */
export function parseCollectionName(raw: string): string {
  if (!COLLECTION_NAME.test(raw)) throw new ApiError("COLLECTION_NOT_FOUND", "Collection not found");
  return raw;
}

/** The definition an sk insert gives a collection nobody defined: schemaless, default rules. */
export function implicitDefinition(name: string): CollectionDef {
  return {
    name,
    fields: [],
    additionalFields: true,
    rls: { enabled: false, mode: "public-read", ownerField: "userId" },
    permissions: {},
  };
}
