import type { Deps } from "../../shared/deps.js";
import { etagMatches, etagOf } from "../../shared/documents.js";
import { ApiError } from "../../shared/errors.js";
import { decideAccess, ownedBy, ownerFilter, readFilter, rulesFor } from "../../shared/rules.js";
import type { Doc, Filter } from "../../shared/store/types.js";
import { and, type Ctx, documentId, type Target } from "./target.js";

/** How often a write without If-Match is retried on a fresh version before giving up. */
const MAX_WRITE_ATTEMPTS = 50;

/** A short random pause after a lost race, growing with the attempt (at most ~10 ms). */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt + 1, 10)));

/** Whether the caller's read rule lets it read documents: a write's answer carries the document only then. */
export function readsDocuments(target: Target): boolean {
  return decideAccess(target.caller, rulesFor(target.def).read, "read").allowed;
}

/**
 * The documents a write may address, or null for none. A write reaches only what the caller's read
 * rule shows it, so it learns no more than a read would: under an `owner` read rule another user's
 * document is 404 (and so is a draft `publicWhen` hides from it), and a guest, whom an `owner` or
 * `user` read rule shows nothing, addresses nothing.
 * A `secret` read rule shows no pk caller anything (write-only collections): there the update or
 * delete rule alone confines the write, which is blind (answered without the document).
 */
function addressable(target: Target, ownerId: string | null): Filter | null {
  const { def, caller } = target;
  const rule = rulesFor(def).read;
  const read = decideAccess(caller, rule, "read");
  if (read.allowed) return readFilter(def, caller, read.ownerId);
  return rule === "secret" ? ownerFilter(def, ownerId) : null;
}

/**
 * Runs a PUT, PATCH or DELETE on the document the path addresses, as the caller may see it.
 * Not visible to the caller → 404 (see `addressable`); visible but owned by someone else → 403 OWNER_MISMATCH.
 * `write` gets the current document and a guard filter (id + version + owner) that makes the
 * write conditional: after a concurrent change the write is retried on the fresh version if
 * `If-Match` (when sent) still matches it, so concurrent merges all land and a stale `If-Match` is
 * a 412. `write` returns null when the guard missed.
 */
export async function writeAddressed<T>(
  deps: Deps,
  c: Ctx,
  target: Target,
  ownerId: string | null,
  write: (current: Doc, guard: Filter) => Promise<T | null>,
): Promise<T> {
  const { def, collection } = target;
  const id = documentId(c);
  const visible = addressable(target, ownerId);
  if (visible === null) throw new ApiError("DOCUMENT_NOT_FOUND");
  const ifMatch = c.req.header("if-match");
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await collection.findOne(and({ _id: id }, visible));
    if (!current) throw new ApiError("DOCUMENT_NOT_FOUND");
    if (ownerId !== null && !ownedBy(def, current[def.rls.ownerField], ownerId)) throw new ApiError("OWNER_MISMATCH");
    if (ifMatch !== undefined && !etagMatches(ifMatch, etagOf(current, target.entry.view))) {
      throw new ApiError("PRECONDITION_FAILED");
    }
    // A document written outside the API (a project's own database) may have no version yet.
    const version = current.updatedAt === undefined ? { $exists: false } : current.updatedAt;
    const guard = and({ _id: id, updatedAt: version }, ownerFilter(def, ownerId));
    const result = await write(current, guard);
    if (result !== null) return result;
    // Lost a race: the next round reads the new version and checks If-Match against it (a named
    // version no longer matches: 412; `*` still does, and the write is retried).
    await backoff(attempt);
  }
  deps.log.warn("write gave up after repeated conflicts", { collection: def.name, id });
  throw new ApiError("PRECONDITION_FAILED", "The document kept changing; retry");
}
