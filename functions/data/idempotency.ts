/**
 * `Idempotency-Key` on inserts (POST /:c and /:c/bulk). A client that lost an insert's answer (a
 * dropped connection, an app sent to the background) retries it with the same key; without one, the
 * retry inserts the documents again. The new documents' `_id`s derive from the key and who sends it
 * (project, collection, key type, user; for a guest, who has no identity, the body too), so the retry
 * meets the documents the first attempt made: it looks for them first, and a parallel attempt that
 * looked too early meets them in the store's unique `_id` index, atomically with its write. No record
 * to keep beside the documents, none to lose between them. The retry answers those documents as they
 * are now (201, `Idempotent-Replayed: true`), where this caller's read rule shows them all; else (a
 * blind writer, documents deleted since, a batch of another size) it is 409. A key is remembered as
 * long as its documents exist; for a signed-in caller or the secret key it names one insert, whatever
 * the retry's body: a retry this attempt would refuse (its body, or a definition changed since) is
 * still the replay when the first attempt's documents are there (`preparedUnderKey`).
 */
import { hmacSha256Hex, sha256Hex } from "../../shared/crypto.js";
import { ApiError } from "../../shared/errors.js";
import { decideAccess, readFilter, rulesFor } from "../../shared/rules.js";
import { assertSafeBody } from "../../shared/sanitize.js";
import { canonical } from "../../shared/schema/canonical-json.js";
import type { Doc } from "../../shared/store/types.js";
import { and, type Ctx, type Target } from "./target.js";

const HEADER = "Idempotency-Key";
/** Visible ASCII, as Stripe's and the IETF draft's keys (a UUID is the usual one). */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;
export const REPLAYED_HEADER = "idempotent-replayed";

const keyProblem = (message: string, headers?: Record<string, string>) =>
  new ApiError("DUPLICATE_VALUE", `${HEADER} ${message}`, { details: [{ path: HEADER, message }], headers });

/** The request's key, checked before anything is written; undefined without one. */
export function idempotencyKey(c: Ctx): string | undefined {
  const key = c.req.header(HEADER);
  if (key === undefined || KEY_SHAPE.test(key)) return key;
  const message = "must be 1 to 255 visible ASCII characters (a UUID, say)";
  throw new ApiError("VALIDATION_FAILED", `${HEADER} ${message}`, { details: [{ path: HEADER, message }] });
}

/**
 * Which insert route a key is used on, named by the route, not the body's shape (a refused body may
 * have either): a key names one insert on each.
 */
export type InsertRoute = "one" | "bulk";

/** Sets the idempotent ids' hashes apart from the one-time codes' hashes, which the same secret keys. */
const ID_LABEL = "edgeback idempotency-key ids";

/**
 * The `_id`s of an insert of `count` documents under `key`, and one more (a larger batch's next):
 * a keyed hash of the scope, then the index, so the items of one batch sort as inserted (as ObjectIds
 * made in turn do: lists break createdAt ties by `_id`). Keyed (HMAC) with the project's secret, as a
 * plain hash of who inserted would let any reader of an `_id` test a guessed creator against it (for
 * a guest, a guessed private value of the body). The secret is `codeSecret`, which is never renewed,
 * so a retry after the token secret was renewed still finds its first attempt.
 */
export function idempotentIds(c: Ctx, target: Target, key: string, body: unknown, route: InsertRoute, count: number) {
  const { project } = c.get("principal");
  const { keyType, userId } = target.caller;
  const who = keyType === "publishable" && userId === null ? guestScope(body) : userId;
  const scope = JSON.stringify([ID_LABEL, project.id, target.def.name, keyType, who, route, key]);
  const prefix = hmacSha256Hex(project.codeSecret, scope).slice(0, 20);
  return Array.from({ length: count + 1 }, (_, index) => prefix + index.toString(16).padStart(4, "0"));
}

/**
 * A guest's stand-in for who inserted: the body itself. Checked first (depth, keys), as the body
 * is not yet and `canonical` recurses: a body nested past the limit would overflow the stack (500).
 */
function guestScope(body: unknown): string {
  assertSafeBody(body);
  return sha256Hex(canonical(body));
}

/** An insert's prepared body, and under a key its `ids`; `value` throws the refusal a key held back. */
export interface KeyedInsert<T> {
  ids: string[] | undefined;
  value: () => T;
}

/**
 * Prepares an insert's body. Under a key, a refusal of the body (400, 403, 413) is held back: the
 * attempt may be the retry of an insert stored before the refusal's cause (a field made required or
 * readonly since, a retry's body of its own), whose answer is the replay; `value` throws it once the
 * earlier insert was looked for and not found. Told 400, a client would take it that nothing was
 * written, and insert again under a new key.
 */
export function preparedUnderKey<T>(target: Target, ids: string[] | undefined, prepare: () => T): KeyedInsert<T> {
  try {
    const value = prepare();
    return { ids, value: () => value };
  } catch (error) {
    // A collection not created yet (an sk insert's) holds no earlier insert, and a refused body does not create it.
    if (!ids || target.provisional || !(error instanceof ApiError) || error.status >= 500) throw error;
    return {
      ids,
      value: () => {
        throw error;
      },
    };
  }
}

/**
 * The documents an earlier insert under the same key made (`ids` from idempotentIds); undefined when
 * there are none. 409 when some are there but this attempt cannot be answered with them: not all
 * (deleted since, or a smaller batch), one more (a larger batch), or not all readable by this caller.
 */
export async function earlierInsert(target: Target, ids: string[]): Promise<Doc[] | undefined> {
  const { caller, def, collection } = target;
  const found = await collection.find({ _id: { $in: ids } }, { projection: { _id: 1 } });
  if (found.length === 0) return undefined;
  const wanted = ids.slice(0, -1);
  if (found.some((doc) => doc._id === ids.at(-1))) throw keyProblem("was used for a larger batch: send a new key");
  if (found.length !== wanted.length) {
    // A batch going in (MongoDB inserts one document at a time), one being taken out after a failure,
    // or one some of which were deleted since: only a later retry can tell.
    const message =
      "names a batch only partly stored: retry with the same key shortly; if it stays so, some of its documents were deleted since (or it was a smaller batch): send a new key";
    throw keyProblem(message, { "retry-after": "1" });
  }
  const read = decideAccess(caller, rulesFor(def).read, "read");
  const shown = read.allowed
    ? await collection.find(and({ _id: { $in: wanted } }, readFilter(def, caller, read.ownerId)))
    : [];
  if (shown.length < wanted.length) throw keyProblem("was used for an insert whose documents this caller cannot read");
  return wanted.map((id) => shown.find((doc) => doc._id === id) as Doc);
}
