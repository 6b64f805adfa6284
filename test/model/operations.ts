/**
 * Single-document operations (insert, bulk, get, PATCH, PUT, DELETE): how each is sent, and the
 * judge that checks its answer against the model (throwing when it is not the model's) and applies it.
 */
import { expect } from "vitest";
import { documentBytes } from "../../shared/quotas.js";
import type { CallResult } from "../data-helpers.js";
import { type Caller, COLL, type Real, req } from "./harness.js";
import {
  type Body,
  canSee,
  type Doc,
  etagOf,
  guestRefused,
  isUser,
  type Model,
  slugTaken,
  validateFull,
  validatePatch,
} from "./model.js";

export type Res = CallResult;
type Verdict = { status: number; code?: string };

// ---------------------------------------------------------------- checks

/** What a failure reports besides its message: the last requests (also the auth model's real side). */
export type Traced = { trace: string[] };

export function fail(r: Traced, message: string): never {
  throw new Error(`${message}\n--- last requests ---\n${r.trace.join("\n")}`);
}
export function check(r: Traced, cond: boolean, message: string): void {
  if (!cond) fail(r, message);
}
export function same(r: Traced, actual: unknown, expected: unknown, message: string): void {
  try {
    expect(actual).toEqual(expected);
  } catch (error) {
    fail(r, `${message}: ${(error as Error).message}`);
  }
}

/** The answer has the wanted status (and code), in the API's envelope. */
export function verdict(r: Real, res: Res, want: Verdict, what: string): void {
  if (res.status !== want.status || (want.code !== undefined && res.json?.code !== want.code)) {
    fail(r, `${what}: expected ${want.status} ${want.code ?? ""}, got ${res.status} ${res.text.slice(0, 400)}`);
  }
  if (res.status === 304) return;
  check(r, typeof res.json?.success === "boolean", `${what}: no envelope: ${res.text}`);
  if (res.status < 400) check(r, res.json.success === true && "data" in res.json, `${what}: bad success envelope`);
  else {
    const { success, message, code, requestId } = res.json;
    const wellFormed = success === false && [message, code, requestId].every((v) => typeof v === "string");
    check(r, wellFormed, `${what}: bad error envelope ${res.text}`);
  }
}

/** A guest writing, or reading where the rule needs a user. */
export const GUEST_REFUSED: Verdict = { status: 401, code: "AUTH_REQUIRED" };

/**
 * Under a race with a quota, another write's reservation (given back since, as its write failed or
 * lost) may have filled the quota for a moment: a 403 QUOTA_EXCEEDED with nothing written is then
 * accepted though every serial order had room.
 */
const refusedByPassingReservation = (m: Model, r: Real, res: Res) =>
  m.inRace && r.quota !== undefined && res.status === 403 && res.json?.code === "QUOTA_EXCEEDED";

/** Whether the model refuses `growth` more bytes for the quota (and notes that the counter now exists). */
function overQuota(m: Model, r: Real, growth: number): boolean {
  if (r.quota === undefined || growth <= 0) return false;
  m.counterMade = true;
  return m.bytes() + m.leaked + growth > r.quota;
}

// ---------------------------------------------------------------- sending

export type IfMatch = "none" | "current" | "weak" | "star" | "stale" | "list";
export type IfNoneMatch = "none" | "current" | "stale" | "weak" | "list" | "star";

/** One data operation, as sent. */
export type OpSpec =
  | { kind: "insert"; caller: Caller; body: Body }
  | { kind: "bulk"; caller: Caller; bodies: Body[] }
  | { kind: "get"; caller: Caller; id: string; headers: Record<string, string> }
  | { kind: "patch" | "put"; caller: Caller; id: string; body: Body; headers: Record<string, string> }
  | { kind: "delete"; caller: Caller; id: string; headers: Record<string, string> };

/** The current and the previous ETag of a document (made-up ones where it has none). */
function versions(m: Model, id: string) {
  const history = m.etags.get(id) ?? [];
  return { current: history.at(-1) ?? '"nope"', stale: history.at(-2) ?? '"0-stale"' };
}

/** The If-Match header a kind stands for, from the model's ETag history of the document. */
export function ifMatchHeader(m: Model, id: string, kind: IfMatch): Record<string, string> {
  if (kind === "none") return {};
  const { current, stale } = versions(m, id);
  const value = { current, weak: `W/${current}`, star: "*", stale, list: `${stale}, ${current}` }[kind];
  return { "if-match": value };
}

function ifNoneMatchHeader(m: Model, id: string, kind: IfNoneMatch): Record<string, string> {
  if (kind === "none") return {};
  const { current, stale } = versions(m, id);
  const value = { current, stale, weak: `W/${current}`, list: `${stale}, W/"zz", ${current}`, star: "*" }[kind];
  return { "if-none-match": value };
}

export function send(r: Real, op: OpSpec): Promise<Res> {
  const path = `/api/data/${COLL}`;
  switch (op.kind) {
    case "insert":
      return req(r, op.caller, "POST", path, op.body);
    case "bulk":
      return req(r, op.caller, "POST", `${path}/bulk`, op.bodies);
    case "get":
      return req(r, op.caller, "GET", `${path}/${op.id}`, undefined, op.headers);
    case "patch":
    case "put":
      return req(r, op.caller, op.kind.toUpperCase(), `${path}/${op.id}`, op.body, op.headers);
    case "delete":
      return req(r, op.caller, "DELETE", `${path}/${op.id}`, undefined, op.headers);
  }
}

/** Checks an answer against the model (throws when it is not what the model says) and applies it. */
export function judge(m: Model, r: Real, op: OpSpec, res: Res) {
  if (op.kind === "insert") return judgeInsert(m, r, op.caller, op.body, res);
  if (op.kind === "bulk") return judgeBulk(m, r, op.caller, op.bodies, res);
  if (op.kind === "get") return judgeGet(m, r, op.caller, op.id, op.headers["if-none-match"], res);
  const what = `${op.kind} by ${op.caller} (If-Match ${op.headers["if-match"] ?? "none"})`;
  if (op.caller === "guest") return verdict(r, res, GUEST_REFUSED, what);
  if (op.kind === "delete") return judgeDelete(m, r, op, res, what);
  return op.kind === "patch" ? judgePatch(m, r, op, res, what) : judgePut(m, r, op, res, what);
}

async function run(m: Model, r: Real, op: OpSpec): Promise<void> {
  judge(m, r, op, await send(r, op));
}

export const doInsert = (m: Model, r: Real, caller: Caller, body: Body) => run(m, r, { kind: "insert", caller, body });
export const doBulk = (m: Model, r: Real, caller: Caller, bodies: Body[]) =>
  run(m, r, { kind: "bulk", caller, bodies });
export function doGet(m: Model, r: Real, caller: Caller, pick: number, inm: IfNoneMatch) {
  const id = m.pickId(pick);
  return run(m, r, { kind: "get", caller, id, headers: ifNoneMatchHeader(m, id, inm) });
}
export function doUpdate(
  m: Model,
  r: Real,
  kind: "patch" | "put",
  caller: Caller,
  pick: number,
  body: Body,
  ifm: IfMatch,
) {
  const id = m.pickId(pick);
  return run(m, r, { kind, caller, id, body, headers: ifMatchHeader(m, id, ifm) });
}
export function doDelete(m: Model, r: Real, caller: Caller, pick: number, ifm: IfMatch) {
  const id = m.pickId(pick);
  return run(m, r, { kind: "delete", caller, id, headers: ifMatchHeader(m, id, ifm) });
}

// ---------------------------------------------------------------- inserts

const nowIso = (r: Real) => new Date(r.clock.now()).toISOString();

/**
 * The document an insert by `caller` stores (before its `_id`), or its refusal: a user owns what it
 * inserts (naming another owner is 403), invalid fields are 400.
 */
function prepareInsert(r: Real, caller: Caller, body: Body): { doc: Body } | { refused: Verdict } {
  let owned = body;
  if (isUser(caller)) {
    if (body.userId !== undefined && body.userId !== null && body.userId !== r.uid[caller])
      return { refused: { status: 403, code: "OWNER_MISMATCH" } };
    owned = { ...body, userId: r.uid[caller] };
  }
  const fields = validateFull(owned);
  if (!fields) return { refused: { status: 400, code: "VALIDATION_FAILED" } };
  const time = nowIso(r);
  const createdBy = isUser(caller) ? { createdBy: r.uid[caller] } : {};
  return { doc: { ...fields, createdAt: time, updatedAt: time, ...createdBy } };
}

/** A stored document the server answered: a fresh 24-hex id, the expected fields, its ETag. */
function checkCreated(m: Model, r: Real, got: Doc, expected: Body, what: string): void {
  check(r, typeof got._id === "string" && /^[0-9a-f]{24}$/.test(got._id), `${what}: bad _id`);
  check(r, !m.known.includes(got._id), `${what}: reused id ${got._id}`);
  same(r, got, { ...expected, _id: got._id }, `${what}: answered document`);
}

function judgeInsert(m: Model, r: Real, caller: Caller, body: Body, res: Res) {
  const what = `insert by ${caller}`;
  if (caller === "guest") return verdict(r, res, GUEST_REFUSED, what);
  const prepared = prepareInsert(r, caller, body);
  if ("refused" in prepared) return verdict(r, res, prepared.refused, what);
  const { doc } = prepared;
  if (overQuota(m, r, documentBytes(doc))) return verdict(r, res, { status: 403, code: "QUOTA_EXCEEDED" }, what);
  if (refusedByPassingReservation(m, r, res)) return;
  if (slugTaken(m, doc.slug)) return verdict(r, res, { status: 409, code: "DUPLICATE_VALUE" }, what);
  verdict(r, res, { status: 201 }, what);
  checkCreated(m, r, res.json.data, doc, what);
  same(r, res.headers.get("etag"), etagOf(res.json.data), `${what}: ETag`);
  m.put(res.json.data);
  m.written += 1;
}

/** A bulk is all or nothing: the first owner mismatch is 403 naming its item, unless an earlier item is invalid (400). */
function prepareBulk(r: Real, caller: Caller, bodies: Body[], res: Res, what: string): Body[] | undefined {
  const prepared: Body[] = [];
  let invalid = false;
  for (const [i, body] of bodies.entries()) {
    const item = prepareInsert(r, caller, body);
    if ("doc" in item) prepared.push(item.doc);
    else if (item.refused.status === 400) invalid = true;
    else {
      verdict(r, res, invalid ? { status: 400, code: "VALIDATION_FAILED" } : item.refused, what);
      if (!invalid) same(r, res.json.details?.[0]?.index, i, `${what}: 403 names the item`);
      return undefined;
    }
  }
  if (!invalid) return prepared;
  verdict(r, res, { status: 400, code: "VALIDATION_FAILED" }, what);
  return undefined;
}

/** Whether slugs repeat within the batch or repeat a stored one (unique slug). */
function bulkClashes(m: Model, prepared: Body[]): boolean {
  const slugs = prepared.map((d) => d.slug).filter((s) => s !== undefined);
  return (m.shape.slug === "unique" && new Set(slugs).size < slugs.length) || slugs.some((s) => slugTaken(m, s));
}

/** A 409 names an item that is a duplicate (of a stored document or of an earlier item). */
function checkBulkDuplicate(m: Model, r: Real, prepared: Body[], res: Res, what: string): void {
  verdict(r, res, { status: 409, code: "DUPLICATE_VALUE" }, what);
  const named = res.json.details?.[0]?.index as number | undefined;
  // Under a race the stored clash may be gone by the time the server looks for it: no item named then (bulk.ts).
  if (m.inRace && named === undefined) return;
  const slug = named === undefined ? undefined : prepared[named]?.slug;
  const duplicate =
    slug !== undefined && (slugTaken(m, slug) || prepared.slice(0, named).some((earlier) => earlier.slug === slug));
  check(r, duplicate, `${what}: 409 names item ${named}, not a duplicate`);
}

function judgeBulk(m: Model, r: Real, caller: Caller, bodies: Body[], res: Res) {
  const what = `bulk by ${caller}`;
  if (caller === "guest") return verdict(r, res, GUEST_REFUSED, what);
  const prepared = prepareBulk(r, caller, bodies, res, what);
  if (!prepared) return;
  const bytes = prepared.reduce((n, d) => n + documentBytes(d), 0);
  if (overQuota(m, r, bytes)) return verdict(r, res, { status: 403, code: "QUOTA_EXCEEDED" }, what);
  if (refusedByPassingReservation(m, r, res)) return;
  if (bulkClashes(m, prepared)) return checkBulkDuplicate(m, r, prepared, res, what);
  verdict(r, res, { status: 201 }, what);
  const items = res.json.data.items as Doc[];
  same(r, res.json.data.insertedCount, prepared.length, `${what}: insertedCount`);
  same(r, items.length, prepared.length, `${what}: items`);
  for (const [i, got] of items.entries()) checkCreated(m, r, got, prepared[i]!, `${what}: item ${i}`);
  check(r, new Set(items.map((d) => d._id)).size === items.length, `${what}: ids repeat`);
  for (const got of items) m.put(got);
  m.written += items.length;
}

// ---------------------------------------------------------------- reads and writes of one document

/** Whether a conditional header names this document's version (lists, W/ and * understood). */
function namesVersion(header: string | undefined, doc: Doc): boolean {
  if (header === undefined) return true;
  return header.split(",").some((part) => {
    const tag = part.trim().replace(/^W\//, "");
    return tag === "*" || tag === etagOf(doc);
  });
}

function judgeGet(m: Model, r: Real, caller: Caller, id: string, ifNoneMatch: string | undefined, res: Res) {
  const cur = m.docs.get(id);
  const what = `get by ${caller} (If-None-Match ${ifNoneMatch ?? "none"})`;
  if (guestRefused(r, caller)) return verdict(r, res, GUEST_REFUSED, what);
  if (!cur || !canSee(r, caller, cur)) return verdict(r, res, { status: 404, code: "DOCUMENT_NOT_FOUND" }, what);
  if (ifNoneMatch !== undefined && namesVersion(ifNoneMatch, cur)) return verdict(r, res, { status: 304 }, what);
  verdict(r, res, { status: 200 }, what);
  same(r, res.json.data, cur, `${what}: document`);
  same(r, res.headers.get("etag"), etagOf(cur), `${what}: ETag`);
}

/** PUT/PATCH/DELETE: the refusal before the write itself (undefined: the write goes on). */
function refusal(m: Model, r: Real, caller: Caller, id: string, ifMatch: string | undefined): Verdict | undefined {
  const cur = m.docs.get(id);
  if (!cur || !canSee(r, caller, cur)) return { status: 404, code: "DOCUMENT_NOT_FOUND" };
  if (isUser(caller) && cur.userId !== r.uid[caller]) return { status: 403, code: "OWNER_MISMATCH" };
  if (!namesVersion(ifMatch, cur)) return { status: 412, code: "PRECONDITION_FAILED" };
  return undefined;
}

type Update = Extract<OpSpec, { kind: "patch" | "put" }>;

/** A new version's updatedAt: now, and always after the previous one. */
const nextTime = (prev: string, now: number) => new Date(Math.max(now, Date.parse(prev) + 1)).toISOString();

function judgePatch(m: Model, r: Real, op: Update, res: Res, what: string) {
  const patch = validatePatch(op.body);
  if (op.caller === "sk" && !patch) return verdict(r, res, { status: 400, code: "VALIDATION_FAILED" }, what);
  const refused = refusal(m, r, op.caller, op.id, op.headers["if-match"]);
  if (refused) return verdict(r, res, refused, what);
  if (!patch) return verdict(r, res, { status: 400, code: "VALIDATION_FAILED" }, what);
  const cur = m.docs.get(op.id)!;
  const next: Doc = { ...cur, ...patch.set, updatedAt: nextTime(cur.updatedAt, r.clock.now()) };
  for (const f of patch.unset) delete next[f];
  if (isUser(op.caller) && next.userId !== cur.userId)
    return verdict(r, res, { status: 403, code: "OWNER_IMMUTABLE" }, what);
  return finishUpdate(m, r, res, cur, next, what);
}

function judgePut(m: Model, r: Real, op: Update, res: Res, what: string) {
  const refused = refusal(m, r, op.caller, op.id, op.headers["if-match"]);
  if (refused) return verdict(r, res, refused, what);
  const cur = m.docs.get(op.id)!;
  // A PUT without userId keeps the owner.
  const keepsOwner = !Object.hasOwn(op.body, "userId") && Object.hasOwn(cur, "userId");
  const fields = validateFull(keepsOwner ? { ...op.body, userId: cur.userId } : op.body);
  if (!fields) return verdict(r, res, { status: 400, code: "VALIDATION_FAILED" }, what);
  if (isUser(op.caller) && fields.userId !== cur.userId)
    return verdict(r, res, { status: 403, code: "OWNER_IMMUTABLE" }, what);
  const next: Doc = {
    _id: cur._id,
    ...fields,
    createdAt: cur.createdAt,
    updatedAt: nextTime(cur.updatedAt, r.clock.now()),
    ...(cur.createdBy === undefined ? {} : { createdBy: cur.createdBy }),
  };
  return finishUpdate(m, r, res, cur, next, what);
}

function finishUpdate(m: Model, r: Real, res: Res, cur: Doc, next: Doc, what: string) {
  const growth = documentBytes(next) - documentBytes(cur);
  if (overQuota(m, r, growth)) return verdict(r, res, { status: 403, code: "QUOTA_EXCEEDED" }, what);
  if (refusedByPassingReservation(m, r, res)) return;
  if (slugTaken(m, next.slug, cur._id)) return verdict(r, res, { status: 409, code: "DUPLICATE_VALUE" }, what);
  verdict(r, res, { status: 200 }, what);
  same(r, res.json.data, next, `${what}: answered document`);
  same(r, res.headers.get("etag"), etagOf(next), `${what}: ETag`);
  m.put(next);
  m.written += 1;
}

function judgeDelete(m: Model, r: Real, op: Extract<OpSpec, { kind: "delete" }>, res: Res, what: string) {
  const refused = refusal(m, r, op.caller, op.id, op.headers["if-match"]);
  if (refused) return verdict(r, res, refused, what);
  verdict(r, res, { status: 200 }, what);
  same(r, res.json.data, { _id: op.id, id: op.id, deleted: true }, `${what}: answer`);
  m.docs.delete(op.id);
  m.written += 1;
}
