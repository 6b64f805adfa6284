/**
 * What a caller with a given key needs for one operation on a collection, decided by the rules the
 * routes apply (shared/rules.ts), so the document offers only the calls that can succeed.
 */
import type { KeyType } from "../principal.js";
import { type Caller, decideAccess, rulesFor } from "../rules.js";
import type { CollectionDef, Operation } from "../schema/definition.js";

/** The key alone suffices, an end user's token is needed beside it, or no caller with the key may. */
export type KeyAccess = "key" | "user" | "never";

/** Any signed-in user: the rules ask only whether there is one (an `owner` rule then confines to their documents). */
const SOMEONE = "signed-in";

/** What a caller with `keyType` needs for `operation` on the collection. */
export function keyAccess(
  def: Pick<CollectionDef, "rls" | "permissions">,
  keyType: KeyType,
  operation: Operation,
): KeyAccess {
  const rule = rulesFor(def)[operation];
  const caller = (userId: string | null): Caller => ({ keyType, userId, tokenError: null });
  if (decideAccess(caller(null), rule, operation).allowed) return "key";
  return decideAccess(caller(SOMEONE), rule, operation).allowed ? "user" : "never";
}
