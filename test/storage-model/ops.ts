/**
 * The abstract operations the commands generate, resolved against the model at run time (which file,
 * which URL, which folder), how each is sent, and one operation run on its own.
 */
import { type Caller, headersFor, json, type Real, request } from "./harness.js";
import { type Answer, judge, type Op } from "./judge.js";
import { bytesOf, type Content, declaredType, type MFile, type Model, type Range } from "./model.js";
import { checkState } from "./state.js";

/**
 * A folder: fixed values, or one colliding with the fs store's files (the path below the project of a
 * ready, pending or deleted file of the secret key, or a folder under a ready one).
 */
export type FolderChoice =
  | "none"
  | "empty"
  | "docs"
  | "docs/sub"
  | "x/y/z"
  | "w/x/y/z"
  | "users"
  | "users/x"
  | "a b"
  | "../etc"
  | "collideReady"
  | "collideReadyDeep"
  | "collidePending"
  | "collideGone";

export type PutVariant = "good" | "short" | "long" | "wrongType" | "badMagic" | "paramType";

/** `pick` chooses among the model's files (or URLs) at run time. */
export type Abstract =
  | { kind: "upload"; caller: Caller; content: Content; folder: FolderChoice }
  | { kind: "presign"; route: "upload-url" | "upload-request"; caller: Caller; content: Content; folder: FolderChoice }
  | { kind: "put"; pick: number; variant: PutVariant }
  | { kind: "confirm"; caller: Caller; pick: number; size: "right" | "wrong" }
  | { kind: "read"; caller: Caller; pick: number; method: "GET" | "HEAD"; range: Range }
  | { kind: "delete"; caller: Caller; pick: number };

// ---------------------------------------------------------------- resolving

const below = (path: string) => path.split("/").slice(1).join("/");

function resolveFolder(m: Model, choice: FolderChoice, seed: number): string | undefined {
  // Files whose path below the project can be a folder: the sk's (not under users/), names without a dot.
  const folderLike = (f: MFile) => /^[A-Za-z0-9_-]+$/.test(f.path.split("/").pop()!) && f.path.split("/").length <= 4;
  const pickOf = (files: MFile[]) => {
    const mine = files.filter((f) => f.project === "P" && f.owner === "sk");
    const pool = mine.some(folderLike) ? mine.filter(folderLike) : mine;
    return pool[seed % Math.max(1, pool.length)];
  };
  const live = (status: MFile["status"]) => pickOf(Object.values(m.s.files).filter((f) => f.status === status));
  const folderOf = (f: MFile | undefined, deeper = "") => (f ? below(f.path) + deeper : "docs");
  switch (choice) {
    case "none":
      return undefined;
    case "empty":
      return "";
    case "collideReady":
      return folderOf(live("ready"));
    case "collideReadyDeep":
      return folderOf(live("ready"), "/deeper");
    case "collidePending":
      return folderOf(live("pending"));
    case "collideGone":
      return folderOf(pickOf(Object.values(m.s.gone)));
    default:
      return choice;
  }
}

/** Files, mostly live ones; now and then a deleted one or a malformed or unknown path. */
function target(m: Model, pick: number): string {
  const { P, Q } = m.ids;
  const live = Object.keys(m.s.files);
  const gone = Object.keys(m.s.gone);
  const odd = [
    `${P}/short`,
    `${P}/uploads/../x`,
    `.staging/${P}/uploads/x`,
    `${P}/uploads/000000000000000000000000-never.txt`,
    `${Q}/uploads/000000000000000000000000-never.txt`,
  ];
  const which = pick % 10;
  const n = Math.floor(pick / 10);
  if (which < 7 && live.length) return live[n % live.length]!;
  if (which < 9 && gone.length) return gone[n % gone.length]!;
  return odd[n % odd.length]!;
}

/** The bytes and Content-Type a PUT variant sends for a file whose URL plans `planned` as `type`. */
function putBody(variant: PutVariant, planned: Uint8Array, type: string): { body: Uint8Array; type: string } {
  switch (variant) {
    case "good":
      return { body: planned, type };
    case "short":
      return { body: planned.subarray(0, planned.length - 1), type };
    case "long":
      return { body: new Uint8Array([...planned, 120]), type };
    case "wrongType":
      return { body: planned, type: type === "text/plain" ? "image/png" : "text/plain" };
    case "paramType":
      return { body: planned, type: `${type}; charset=utf-8` };
    case "badMagic":
      return { body: new Uint8Array(planned.length).fill(65), type };
  }
}

/** The operation an abstract one stands for now; null for a PUT while no URL was issued. */
export function resolve(m: Model, a: Abstract): Op | null {
  switch (a.kind) {
    case "upload":
      return { ...a, folder: resolveFolder(m, a.folder, a.content.seed) };
    case "presign":
      return { ...a, folder: resolveFolder(m, a.folder, a.content.seed), size: a.content.size };
    case "put": {
      const withUrl = [...Object.values(m.s.files), ...Object.values(m.s.gone)].filter((f) => f.url);
      const pending = withUrl.filter((f) => f.status === "pending" && m.s.files[f.path]);
      // Mostly a pending file's URL; sometimes any URL (used, deleted, released).
      const pool = a.pick % 4 !== 0 && pending.length ? pending : withUrl;
      const f = pool[Math.floor(a.pick / 4) % Math.max(1, pool.length)];
      if (!f) return null;
      return {
        kind: "put",
        path: f.path,
        url: f.url!,
        variant: a.variant,
        ...putBody(a.variant, f.planned!, f.putType!),
      };
    }
    case "confirm": {
      const path = target(m, a.pick);
      const size = ((m.s.files[path] ?? m.s.gone[path])?.size ?? 5) + (a.size === "wrong" ? 1 : 0);
      return { kind: "confirm", caller: a.caller, path, size };
    }
    case "read":
      return { kind: "read", caller: a.caller, path: target(m, a.pick), method: a.method, range: a.range };
    case "delete":
      return { kind: "delete", caller: a.caller, path: target(m, a.pick) };
  }
}

/** The operations abstract ones stand for now, PUTs without a URL left out. */
export const resolveAll = (m: Model, abstracts: Abstract[]) =>
  abstracts.map((a) => resolve(m, a)).filter((op): op is Op => op !== null);

// ---------------------------------------------------------------- sending

function multipart(content: Content, folder: string | undefined): FormData {
  const form = new FormData();
  const file = new Blob([bytesOf(content) as Uint8Array<ArrayBuffer>], { type: declaredType(content) });
  form.append("file", file, content.name);
  if (folder !== undefined) form.append("folder", folder);
  return form;
}

const local = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

export async function send(r: Real, op: Op): Promise<Answer> {
  switch (op.kind) {
    case "upload": {
      const label = `upload[${op.caller}] ${JSON.stringify(op.content)} folder=${op.folder}`;
      const init = { headers: headersFor(r, op.caller), body: multipart(op.content, op.folder) };
      return { res: await request(r, label, "POST", "/api/storage/upload", init) };
    }
    case "presign": {
      const body = {
        filename: op.content.name,
        contentType: declaredType(op.content),
        size: op.size,
        folder: op.folder,
      };
      return { res: await json(r, op.route, "POST", op.route, op.caller, body) };
    }
    case "put": {
      const init = { headers: { "content-type": op.type }, body: op.body as Uint8Array<ArrayBuffer> };
      return { res: await request(r, `put ${op.variant} ${op.body.length}B ${op.type}`, "PUT", local(op.url), init) };
    }
    case "confirm":
      return {
        res: await json(r, "confirm", "POST", "upload-confirm", op.caller, { filePath: op.path, size: op.size }),
      };
    case "delete":
      return { res: await json(r, "delete", "DELETE", "file", op.caller, { path: op.path }) };
    case "read": {
      const ranges: Record<string, string> = {};
      if (op.range.header !== undefined) ranges.range = op.range.header;
      if (op.range.ifRange) ranges["if-range"] = '"x"';
      const url = `/api/storage/file?path=${encodeURIComponent(op.path)}`;
      const label = `read[${op.caller}] ${JSON.stringify(op.range)}`;
      const res = await request(r, label, op.method, url, { headers: { ...headersFor(r, op.caller), ...ranges } });
      const location = res.headers.get("location");
      if (res.status !== 302 || !location?.startsWith("http://localhost/")) return { res };
      return { res, followed: await request(r, "  follow", op.method, local(location), { headers: ranges }) };
    }
  }
}

// ---------------------------------------------------------------- one at a time

/**
 * Refuses (as a failing platform store would) the first release of storage bytes the operations
 * make, when the counters hold nothing beyond the records (a recount would give back such a surplus,
 * which the model could not tell the moment of).
 */
export function refuseARelease(m: Model, r: Real): boolean {
  if (m.s.leaked.P !== 0 || m.s.leaked.Q !== 0) return false;
  r.faults.releases = 1;
  r.trace.push("-- the next release is refused --");
  return true;
}

/** One operation, judged; `refused`: its first release of bytes fails (the answer must not change). */
export async function doSerial(m: Model, r: Real, a: Abstract, refused = false) {
  const op = resolve(m, a);
  if (!op) return;
  if (refused) refuseARelease(m, r);
  const answer = await send(r, op);
  r.faults.releases = 0;
  judge(m, r, op, answer);
  await checkState(m, r, JSON.stringify(a));
}
