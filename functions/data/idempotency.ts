/**
 * `Idempotency-Key` on inserts (POST /:c and /:c/bulk). A client that lost an insert's answer (a
 * dropped connection, an app sent to the background) retries it with the same key; without one, the
 * retry inserts the documents again. The new documents' `_id`s derive from the key and who sends it
 * (project, collection, key type, user), so the retry meets the documents the first attempt made in
 * the store's unique `_id` index, atomically with the write: no record to keep beside the documents,
 * and none to lose between them. The retry then answers those documents as they are now (201,
 * `Idempotent-Replayed: true`), where this caller's read rule shows them; a key whose documents it
 * cannot read (a blind writer's, a guest's under another guest's key) is 409. A key is remembered as
 * long as its documents exist; it names one insert, whatever the retry's body.
 */
import { sha256Hex } from "../../shared/crypto.js";
import { ApiError } from "../../shared/errors.js";
import { decideAccess, readFilter, rulesFor } from "../../shared/rules.js";
import { type Doc, DuplicateKeyError } from "../../shared/store/types.js";
import { and, type Ctx, type Target } from "./target.js";

const HEADER = "Idempotency-Key";
/** Visible ASCII, as Stripe's and the IETF draft's keys (a UUID is the usual one). */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;
export const REPLAYED_HEADER = "idempotent-replayed";

/** The `_id`s of an insert's `count` documents under the request's key; undefined without one. */
export function idempotentIds(c: Ctx, target: Target, count: number, route: "one" | "bulk"): string[] | undefined {
  const key = c.req.header(HEADER);
  if (key === undefined) return undefined;
  if (!KEY_SHAPE.test(key)) {
    const message = "must be 1 to 255 visible ASCII characters (a UUID, say)";
    throw new ApiError("VALIDATION_FAILED", `${HEADER} ${message}`, { details: [{ path: HEADER, message }] });
  }
  const { project } = c.get("principal");
  const { keyType, userId } = target.caller;
  const scope = [project.id, target.def.name, keyType, userId, route, key];
  return Array.from({ length: count }, (_, index) => sha256Hex(JSON.stringify([...scope, index])).slice(0, 24));
}

/**
 * The documents an earlier insert under the same key made, when the write that failed with `error`
 * met them; undefined when it met none (`error` is then the answer: another unique value, say).
 */
export async function earlierInsert(target: Target, ids: string[], error: unknown): Promise<Doc[] | undefined> {
  if (!(error instanceof DuplicateKeyError)) return undefined;
  const { caller, def, collection } = target;
  const read = decideAccess(caller, rulesFor(def).read, "read");
  const shown = read.allowed
    ? await collection.find(and({ _id: { $in: ids } }, readFilter(def, caller, read.ownerId)))
    : [];
  if (shown.length === ids.length) return ids.map((id) => shown.find((doc) => doc._id === id) as Doc);
  if (shown.length === 0 && (await collection.count({ _id: { $in: ids } })) === 0) return undefined;
  const message = "was used for another insert, whose documents this caller cannot read; send a new key";
  throw new ApiError("DUPLICATE_VALUE", `${HEADER} ${message}`, { details: [{ path: HEADER, message }] });
}
