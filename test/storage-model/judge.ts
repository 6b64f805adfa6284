/**
 * The operations of the storage model fuzz, and the judge that checks an answer against the model
 * (throwing when it is not the model's) and applies the operation to it.
 */
import { check, fail, same } from "../model/operations.js";
import type { Caller, Real, Res, User } from "./harness.js";
import {
  acceptedType,
  bytesOf,
  type Content,
  declaredType,
  equalBytes,
  type MFile,
  type Model,
  magicOk,
  type ProjectName,
  parseFolder,
  type Range,
  rangeOf,
  SANITIZED,
  validPath,
} from "./model.js";

export type Op =
  | { kind: "upload"; caller: Caller; content: Content; folder?: string }
  | {
      kind: "presign";
      route: "upload-url" | "upload-request";
      caller: Caller;
      content: Content;
      folder?: string;
      size: number;
    }
  | { kind: "put"; path: string; url: string; body: Uint8Array; type: string; variant: string }
  | { kind: "confirm"; caller: Caller; path: string; size: number }
  | { kind: "read"; caller: Caller; path: string; method: "GET" | "HEAD"; range: Range }
  | { kind: "delete"; caller: Caller; path: string };

/** What an operation's answer is: for reads, the /file answer and (after a 302) the signed URL's. */
export interface Answer {
  res: Res;
  followed?: Res;
}

type OpOf<K extends Op["kind"]> = Extract<Op, { kind: K }>;
type Want = { status: number; code?: string };
const E = (status: number, code?: string): Want => ({ status, ...(code ? { code } : {}) });

/** The answer has the status (and code) and the envelope; `headOnly`: a HEAD, which has no body. */
function verdict(r: Real, res: Res, want: Want, what: string, headOnly = false): void {
  if (res.status !== want.status || (want.code !== undefined && !headOnly && res.json?.code !== want.code)) {
    fail(r, `${what}: expected ${want.status} ${want.code ?? ""}, got ${res.status} ${res.text.slice(0, 400)}`);
  }
  check(r, !!res.headers.get("x-request-id"), `${what}: no x-request-id`);
  if (headOnly || res.status === 302 || res.status === 206 || (res.status === 200 && res.json === undefined)) return;
  if (res.status < 400) {
    check(r, res.json?.success === true && "data" in res.json, `${what}: bad success envelope ${res.text}`);
  } else {
    const { success, message, code, requestId } = res.json ?? {};
    const wellFormed = success === false && [message, code, requestId].every((v) => typeof v === "string");
    check(r, wellFormed, `${what}: bad error envelope ${res.text}`);
  }
}

const isUser = (c: Caller): c is User => c === "A" || c === "B";
const callerProject = (c: Caller): ProjectName | null => (c === "Qsk" || c === "Qpk" ? "Q" : c === "none" ? null : "P");
const fileUrl = (path: string) => `http://localhost/api/storage/file?path=${encodeURIComponent(path)}`;
const mediaType = (t: string) => (t.split(";")[0] ?? "").trim().toLowerCase();

/** The writer check of upload routes (API.md §7): P's project allows user uploads, Q's does not. */
function writerRefusal(c: Caller): Want | null {
  if (c === "none") return E(401, "API_KEY_MISSING");
  if (c === "Qpk") return E(403, "WRITE_BLOCKED");
  if (c === "guest") return E(401, "AUTH_REQUIRED");
  if (c === "badToken") return E(401, "TOKEN_INVALID");
  return null;
}

/**
 * Where a new file of `caller` goes and what its quota says: the refusal, or the folder (below the
 * project) and the project. The quota check first settles the project's expired uploads.
 */
function admitWrite(m: Model, op: OpOf<"upload"> | OpOf<"presign">, size: number) {
  const project = callerProject(op.caller)!;
  if (size > (project === "P" ? m.opts.max : 48)) return { refusal: E(413, "FILE_TOO_LARGE") };
  const type = acceptedType(op.content);
  if (!type) return { refusal: E(415, "UNSUPPORTED_MEDIA_TYPE") };
  if (op.kind === "upload" && !magicOk(type, bytesOf(op.content))) return { refusal: E(415, "UNSUPPORTED_MEDIA_TYPE") };
  const folder = parseFolder(op.folder);
  if (folder === null) return { refusal: E(400, "VALIDATION_FAILED") };
  m.sweep(project);
  const quota = project === "P" ? m.opts.quota : undefined;
  if (quota !== undefined && m.counter(project) + size > quota) return { refusal: E(403, "QUOTA_EXCEEDED") };
  // A user's folder goes below their own (none given: their own).
  const given = op.folder !== undefined && op.folder !== "";
  const dir = isUser(op.caller) ? `users/${m.ids.uid[op.caller]}${given ? `/${folder}` : ""}` : folder;
  const name = SANITIZED[op.content.name] ?? "?";
  return { project, type, quota, base: `${m.projectId(project)}/${dir}`, name };
}

/**
 * Under a race with a quota, another write's reservation (given back since, as its write failed) may
 * have filled the quota for a moment: a 403 QUOTA_EXCEEDED that wrote nothing is then accepted though
 * the order judged had room.
 */
const refusedByPassingReservation = (m: Model, quota: number | undefined, res: Res) =>
  m.race !== null && quota !== undefined && res.status === 403 && res.json?.code === "QUOTA_EXCEEDED";

/** A new file's path: `<base>/<24 hex>-<name>`, never seen before. */
function newPath(m: Model, r: Real, path: string, base: string, name: string, what: string) {
  const shape = new RegExp(`^${base}/[0-9a-f]{24}-${name.replace(/\./g, "\\.")}$`);
  check(r, shape.test(path), `${what}: path ${path} is not ${base}/<24 hex>-${name}`);
  check(r, !m.s.files[path] && !m.s.gone[path], `${what}: path ${path} reused`);
}

function judgeUpload(m: Model, r: Real, op: OpOf<"upload">, res: Res) {
  const what = `upload ${op.caller} ${JSON.stringify(op.content)} folder=${op.folder}`;
  const refused = writerRefusal(op.caller);
  if (refused) return verdict(r, res, refused, what);
  const admitted = admitWrite(m, op, op.content.size);
  if (admitted.refusal) return verdict(r, res, admitted.refusal, what);
  const { project, type, quota, base, name } = admitted;
  if (m.parentIsFile(`${base}/x`)) {
    verdict(r, res, E(409, "DUPLICATE_VALUE"), what);
    same(r, res.json.details, [{ path: "folder", message: "names a stored file" }], `${what}: details`);
    return;
  }
  if (refusedByPassingReservation(m, quota, res)) return;
  verdict(r, res, E(201), what);
  const path: string = res.json.data.path;
  newPath(m, r, path, base, name, what);
  const bytes = bytesOf(op.content);
  const data = { path, url: fileUrl(path), size: bytes.length, contentType: type, provider: "internal" };
  same(r, res.json.data, data, `${what}: data`);
  const owner = isUser(op.caller) ? op.caller : "sk";
  m.s.files[path] = { path, project, owner, type, size: bytes.length, status: "ready", bytes };
  m.addDirs(path);
}

function judgePresign(m: Model, r: Real, op: OpOf<"presign">, res: Res) {
  const what = `${op.route} ${op.caller} ${JSON.stringify(op.content)} size=${op.size} folder=${op.folder}`;
  const refused = writerRefusal(op.caller);
  if (refused) return verdict(r, res, refused, what);
  if (op.size < 0) return verdict(r, res, E(400, "VALIDATION_FAILED"), what);
  const admitted = admitWrite(m, op, op.size);
  if (admitted.refusal) return verdict(r, res, admitted.refusal, what);
  const { project, type, quota, base, name } = admitted;
  if (refusedByPassingReservation(m, quota, res)) return;
  verdict(r, res, E(200), what);
  const data = res.json.data;
  const path: string = op.route === "upload-url" ? data.path : data.filePath;
  const url: string = op.route === "upload-url" ? data.uploadUrl : data.signedUrl;
  newPath(m, r, path, base, name, what);
  const sent = declaredType(op.content);
  const headers = { "content-type": sent, "content-length": String(op.size) };
  const expected =
    op.route === "upload-url"
      ? { uploadUrl: url, method: "PUT", headers, path, expiresIn: 900 }
      : { signedUrl: url, filePath: path, expiresIn: 900 };
  same(r, data, expected, `${what}: data`);
  check(r, url.startsWith("http://localhost/api/storage/blob?"), `${what}: url ${url}`);
  m.s.files[path] = {
    path,
    project,
    owner: isUser(op.caller) ? op.caller : "sk",
    type,
    size: op.size,
    status: "pending",
    planned: bytesOf({ ...op.content, size: op.size }),
    putType: sent,
    url,
    exp: Math.floor(m.s.nowMs / 1000) + 900,
  };
}

function judgePut(m: Model, r: Real, op: OpOf<"put">, res: Res) {
  const what = `PUT ${op.variant} ${op.path} (${op.body.length} bytes, ${op.type})`;
  const f = m.s.files[op.path] ?? m.s.gone[op.path];
  if (!f || f.exp === undefined || !f.putType) fail(r, `${what}: the model has no URL for it`);
  if (m.expired(f)) return verdict(r, res, E(403, "FORBIDDEN"), what);
  if (mediaType(op.type) !== mediaType(f.putType)) return verdict(r, res, E(415, "UNSUPPORTED_MEDIA_TYPE"), what);
  const live = m.s.files[op.path];
  if (live?.status !== "pending" || m.s.nowMs < (live.stuckUntil ?? 0))
    return verdict(r, res, E(403, "FORBIDDEN"), what);
  // Of two PUTs in flight together one writes and the other is 403 "This upload URL was used already"
  // (even when the one that held the claim is then refused and lets go of it).
  const claimed = res.status === 403 && res.json?.message === "This upload URL was used already";
  if (m.race?.puts.has(op.path) && claimed) return verdict(r, res, E(403, "FORBIDDEN"), what);
  if (op.body.length > f.size) return verdict(r, res, E(413, "FILE_TOO_LARGE"), what);
  if (op.body.length < f.size) return verdict(r, res, E(400, "VALIDATION_FAILED"), what);
  if (m.parentIsFile(op.path)) return verdict(r, res, E(409, "DUPLICATE_VALUE"), what);
  if (m.isDir(op.path)) {
    // Its own path became a folder (an upload into a folder of that name): the file stays pending.
    verdict(r, res, E(409, "DUPLICATE_VALUE"), what);
    same(r, res.json.details, [{ path: "filePath", message: "names a folder" }], `${what}: details`);
    return;
  }
  verdict(r, res, E(200), what);
  same(r, res.json.data, { path: op.path, size: f.size }, `${what}: data`);
  // Bytes that contradict the type are stored and the file stays pending, for a confirm or read to refuse.
  const refused = !magicOk(f.type, op.body);
  m.s.files[op.path] = { ...live, status: refused ? "pending" : "ready", bytes: op.body, refused };
  m.addDirs(op.path);
}

/**
 * A look that found refused bytes while a PUT of the running group (to the same URL, which takes other
 * bytes meanwhile) held its live claim: it leaves the file pending, refused bytes and all (a read 404,
 * a confirm 400 "the file was not uploaded"), and the first look once that PUT let go refuses them
 * (docs/choices.md, Storage, direct uploads; soak2).
 */
const claimedByAPut = (m: Model, f: MFile, res: Res, status: number) =>
  !!f.refused && !!m.race?.putPaths.has(f.path) && res.status === status;

/** A file another operation of the running group removed, as this one may have seen it before. */
const staleView = (m: Model, path: string, res: Res) =>
  m.race?.paths.has(path) && res.status !== 404 ? m.s.gone[path] : undefined;

function judgeConfirm(m: Model, r: Real, op: OpOf<"confirm">, res: Res) {
  const what = `confirm ${op.caller} ${op.path} size=${op.size}`;
  const refused = writerRefusal(op.caller);
  if (refused) return verdict(r, res, refused, what);
  if (!validPath(op.path)) return verdict(r, res, E(400, "VALIDATION_FAILED"), what);
  if (m.projectOfPath(op.path) !== callerProject(op.caller)) return verdict(r, res, E(403, "FORBIDDEN"), what);
  const f = m.s.files[op.path];
  if (!f || (isUser(op.caller) && f.owner !== op.caller)) {
    const stale = staleView(m, op.path, res);
    // Refused bytes found by a confirm that was overtaken answer 404 (judged as now, below), unless a
    // PUT of the group held the file (a confirm then finds it pending: 400 "not uploaded").
    const overtakenRefusal = stale?.refused && op.size === stale.size && !m.race?.putPaths.has(op.path);
    if (stale && !overtakenRefusal && (!isUser(op.caller) || stale.owner === op.caller)) {
      // It looked before another operation of the group removed the file: answered as then, no effect.
      const status = op.size !== stale.size || stale.status !== "ready" ? 400 : 200;
      return verdict(r, res, E(status), `${what} (stale)`);
    }
    return verdict(r, res, E(404, "FILE_NOT_FOUND"), what);
  }
  if (op.size !== f.size) {
    if (f.status === "pending") m.remove(op.path);
    return verdict(r, res, E(400, "VALIDATION_FAILED"), what);
  }
  if (claimedByAPut(m, f, res, 400)) {
    verdict(r, res, E(400, "VALIDATION_FAILED"), `${what} (claimed by a PUT)`);
    same(r, res.json.details, [{ path: "filePath", message: "the file was not uploaded" }], `${what}: details`);
    return;
  }
  if (f.refused) {
    m.remove(op.path);
    return verdict(r, res, E(415, "UNSUPPORTED_MEDIA_TYPE"), what);
  }
  if (f.status === "pending") {
    if (!m.released(f)) return verdict(r, res, E(400, "VALIDATION_FAILED"), what);
    m.remove(op.path);
    return verdict(r, res, E(404, "FILE_NOT_FOUND"), what);
  }
  verdict(r, res, E(200), what);
  const data = { path: op.path, url: fileUrl(op.path), size: f.size, contentType: f.type, provider: "internal" };
  same(r, res.json.data, data, `${what}: data`);
}

function judgeServed(r: Real, f: MFile, op: OpOf<"read">, res: Res, what: string) {
  const head = op.method === "HEAD";
  const bytes = f.bytes!;
  const range = rangeOf(op.range, bytes.length);
  if (range === "416") {
    verdict(r, res, E(416, "RANGE_NOT_SATISFIABLE"), what, head);
    same(r, res.headers.get("content-range"), `bytes */${bytes.length}`, `${what}: content-range`);
    return;
  }
  verdict(r, res, E(range ? 206 : 200), what, true);
  const body = range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
  const headers = (name: string) => res.headers.get(name);
  same(
    r,
    ["content-type", "content-length", "content-range", "accept-ranges", "x-content-type-options"].map(headers),
    [
      f.type,
      String(body.length),
      range ? `bytes ${range.offset}-${range.offset + range.length - 1}/${bytes.length}` : null,
      "bytes",
      "nosniff",
    ],
    `${what}: headers`,
  );
  if (head) same(r, res.bytes.length, 0, `${what}: HEAD body`);
  else if (!equalBytes(res.bytes, body))
    fail(r, `${what}: served bytes differ (${res.bytes.length} bytes, want ${body.length}): stale or wrong bytes`);
}

function judgeRead(m: Model, r: Real, op: OpOf<"read">, ans: Answer) {
  const what = `read ${op.method} ${op.caller} ${op.path} range=${JSON.stringify(op.range)}`;
  const res = ans.res;
  const head = op.method === "HEAD";
  const target = m.projectOfPath(op.path);
  const publicPath = target === "P" && m.s.isPublic;
  if (!publicPath && op.caller === "none") return verdict(r, res, E(401, "API_KEY_MISSING"), what, head);
  if (!validPath(op.path)) return verdict(r, res, E(400, "VALIDATION_FAILED"), what, head);
  if (!publicPath && target !== callerProject(op.caller)) return verdict(r, res, E(403, "FORBIDDEN"), what, head);
  const f = m.s.files[op.path];
  if (f && claimedByAPut(m, f, res, 404))
    return verdict(r, res, E(404, "FILE_NOT_FOUND"), `${what} (claimed by a PUT)`, head);
  if (f?.refused) {
    m.remove(op.path);
    return verdict(r, res, E(415, "UNSUPPORTED_MEDIA_TYPE"), what, head);
  }
  const view = f ?? staleView(m, op.path, res);
  if (view?.status !== "ready") {
    if (f && m.released(f)) m.remove(op.path);
    return verdict(r, res, E(404, "FILE_NOT_FOUND"), what, head);
  }
  if (publicPath) return judgeServed(r, view, op, res, what);
  verdict(r, res, E(302), what, true);
  const location = res.headers.get("location") ?? "";
  check(r, location.startsWith("http://localhost/api/storage/blob?"), `${what}: location ${location}`);
  if (!ans.followed) fail(r, `${what}: redirect not followed`);
  // The file may have gone between the redirect and the signed URL's read (another op of the group).
  if (m.race?.paths.has(op.path) && ans.followed.status === 404) return;
  judgeServed(r, view, op, ans.followed, `${what} (signed URL)`);
}

function judgeDelete(m: Model, r: Real, op: OpOf<"delete">, res: Res) {
  const what = `delete ${op.caller} ${op.path}`;
  if (op.caller === "none") return verdict(r, res, E(401, "API_KEY_MISSING"), what);
  if (!validPath(op.path)) return verdict(r, res, E(400, "VALIDATION_FAILED"), what);
  if (m.projectOfPath(op.path) !== callerProject(op.caller)) return verdict(r, res, E(403, "FORBIDDEN"), what);
  let f = m.s.files[op.path];
  // An upload whose URL expired without its bytes is released by the DELETE's look: 404 for everyone.
  if (f && m.released(f)) {
    m.remove(op.path);
    f = undefined;
  }
  const view = f ?? staleView(m, op.path, res);
  if (!view) return verdict(r, res, E(404, "FILE_NOT_FOUND"), what);
  if (op.caller === "badToken") return verdict(r, res, E(401, "TOKEN_INVALID"), what);
  if (op.caller === "guest" || op.caller === "Qpk") return verdict(r, res, E(401, "AUTH_REQUIRED"), what);
  if (isUser(op.caller) && view.owner !== op.caller) return verdict(r, res, E(403, "FORBIDDEN"), what);
  verdict(r, res, E(200), what);
  same(r, res.json.data, { path: op.path, deleted: true }, `${what}: data`);
  if (f) m.remove(op.path);
}

export function judge(m: Model, r: Real, op: Op, ans: Answer) {
  switch (op.kind) {
    case "upload":
      return judgeUpload(m, r, op, ans.res);
    case "presign":
      return judgePresign(m, r, op, ans.res);
    case "put":
      return judgePut(m, r, op, ans.res);
    case "confirm":
      return judgeConfirm(m, r, op, ans.res);
    case "read":
      return judgeRead(m, r, op, ans);
    case "delete":
      return judgeDelete(m, r, op, ans.res);
  }
}
