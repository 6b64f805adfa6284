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
  const rules = rulesFor(def);
  const allowed = (userId: string | null) => {
    const caller: Caller = { keyType, userId, tokenError: null };
    if (!decideAccess(caller, rules[operation], operation).allowed) return false;
    // An update or delete reaches only a document the read rule shows the caller (functions/data/
    // addressed.ts), or, under a `secret` read rule, any its own rule allows (a blind write).
    const addressed = operation === "update" || operation === "delete";
    return !addressed || rules.read === "secret" || decideAccess(caller, rules.read, "read").allowed;
  };
  if (allowed(null)) return "key";
  return allowed(SOMEONE) ? "user" : "never";
}
