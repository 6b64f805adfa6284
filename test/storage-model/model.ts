/**
 * The model of the storage API: which files exist (P's and Q's), their bytes, type, owner and state
 * (pending direct upload or ready), the byte counters, the fs folders made so far, and the clock; and
 * the generated files' contents. Expectations follow docs/API.md §7 and docs/choices.md (Storage).
 */
import type { User } from "./harness.js";

// ---------------------------------------------------------------- contents

/** What a generated file is: its bytes come from `seed`, so every file's bytes are its own. */
export type Kind = "text" | "png" | "fakepng" | "html" | "octetpng" | "bin";
export interface Content {
  kind: Kind;
  size: number;
  seed: number;
  name: string;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function prng(seed: number) {
  let x = (seed * 2654435761) | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

export function bytesOf(c: Content): Uint8Array {
  const next = prng(c.seed + c.size * 7919);
  const out = new Uint8Array(c.size);
  const binary = c.kind === "png" || c.kind === "octetpng";
  for (let i = 0; i < c.size; i++) out[i] = binary ? next() & 0xff : 97 + (next() % 26);
  if (binary) out.set(PNG_SIGNATURE.slice(0, c.size));
  return out;
}

const DECLARED: Partial<Record<Kind, string>> = {
  text: "text/plain",
  png: "image/png",
  fakepng: "image/png",
  html: "text/html",
};
export const declaredType = (c: Content) => DECLARED[c.kind] ?? "application/octet-stream";

/** The type the project accepts the file as, or null (415): default allowlist, extension for octet-stream. */
export function acceptedType(c: Content): string | null {
  if (c.kind === "octetpng") return "image/png";
  if (c.kind === "bin" || c.kind === "html") return null;
  return declaredType(c);
}

const startsPng = (bytes: Uint8Array) => bytes.length >= 8 && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte);
/** 415 for bytes that contradict the type (only PNG has a signature among the generated types). */
export const magicOk = (type: string, bytes: Uint8Array) => type !== "image/png" || startsPng(bytes);

export const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The stored name of a generated file name (docs: stem and extension reduced apart). */
export const SANITIZED: Record<string, string> = {
  notes: "notes",
  "a.txt": "a.txt",
  "../../up.txt": "up.txt",
  "日本語.txt": "file.txt",
  "résumé.txt": "resume.txt",
  ".hidden": "hidden",
  "a b.TXT": "a-b.TXT",
  "p.png": "p.png",
  "o.png": "o.png",
  "o.bin": "o.bin",
  "x.html": "x.html",
};

/** parseFolder: the folder a valid value names, or null (400). */
export function parseFolder(folder: string | undefined): string | null {
  if (folder === undefined || folder === "") return "uploads";
  if (folder.length > 200) return null;
  const segments = folder.split("/").filter(Boolean);
  if (segments.length === 0 || segments.length > 3 || !segments.every((s) => /^[A-Za-z0-9_-]{1,64}$/.test(s)))
    return null;
  if (segments[0] === "users") return null;
  return segments.join("/");
}

/** parseFilePath's shape check (not the project). */
export function validPath(path: string) {
  const segments = path.split("/");
  return (
    path.length > 0 &&
    path.length <= 512 &&
    segments.length >= 3 &&
    segments.every((s) => /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(s) && s !== "." && s !== "..")
  );
}

export type Range = { header?: string; ifRange?: boolean };

/** What a served file answers for a Range (docs/choices.md: one range; else the whole file). */
export function rangeOf(range: Range, size: number): { offset: number; length: number } | "416" | null {
  if (range.header === undefined || range.ifRange) return null;
  const match = /^bytes=(\d*)-(\d*)$/i.exec(range.header.trim());
  if (!match) return null;
  const [first, last] = [match[1] ?? "", match[2] ?? ""];
  if (first === "" && last === "") return null;
  if (first === "") {
    const length = Math.min(Number(last), size);
    return length > 0 ? { offset: size - length, length } : "416";
  }
  const offset = Number(first);
  if (last !== "" && Number(last) < offset) return null;
  if (offset >= size) return "416";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { offset, length: end - offset + 1 };
}

// ---------------------------------------------------------------- state

export type Owner = "sk" | User;
export type ProjectName = "P" | "Q";
export interface MFile {
  path: string;
  project: ProjectName;
  owner: Owner;
  type: string;
  size: number;
  status: "pending" | "ready";
  bytes?: Uint8Array;
  /** A direct upload: the bytes its PUT sends, its Content-Type header, its URL and expiry (epoch s). */
  planned?: Uint8Array;
  putType?: string;
  url?: string;
  exp?: number;
  /** Its record kept the claim of a PUT a close cut short (`uploading`): the URL refuses every PUT until then (epoch ms). */
  stuckUntil?: number;
  /**
   * Pending with `bytes` a PUT stored that contradict its type: a confirm or read refuses them (415),
   * removing it, unless a PUT of the running group holds its claim (Race.putPaths).
   */
  refused?: boolean;
}

export interface State {
  files: Record<string, MFile>;
  /** Files deleted or released: their paths (and URLs) are probed afterwards. */
  gone: Record<string, MFile>;
  /** fs folders made so far (full paths, never removed). */
  dirs: string[];
  /** Bytes on disk without a record (left by a close mid-flight): never served, never counted. */
  orphans: string[];
  nowMs: number;
  isPublic: boolean;
  /** Bytes each counter holds beyond the records: a release a close cut, or one a recount overtook. */
  leaked: Record<ProjectName, number>;
  usageKnown: boolean;
}

/** What the operations sent together share while one serial order of them is judged. */
export interface Race {
  /** Paths that operations of the group name (a stale view of one removed meanwhile is accepted). */
  paths: Set<string>;
  /** Paths that two or more PUTs of the group write to. */
  puts: Set<string>;
  /** Paths that any PUT of the group may have claimed (a look may find its file claimed by that PUT). */
  putPaths: Set<string>;
}

export class Model {
  s: State;
  race: Race | null = null;
  constructor(
    readonly ids: { P: string; Q: string; uid: Record<User, string> },
    readonly opts: { fs: boolean; quota?: number; max: number },
    nowMs: number,
    isPublic: boolean,
  ) {
    this.s = { files: {}, gone: {}, dirs: [], orphans: [], nowMs, isPublic, leaked: { P: 0, Q: 0 }, usageKnown: true };
  }
  /** A copy to judge one serial order of a group with. */
  trial(race: Race | null = null): Model {
    const m = new Model(this.ids, this.opts, this.s.nowMs, this.s.isPublic);
    m.s = structuredClone(this.s);
    m.race = race;
    return m;
  }
  adopt(other: Model) {
    this.s = other.s;
  }
  filesOf(project: ProjectName) {
    return Object.values(this.s.files).filter((f) => f.project === project);
  }
  recordedBytes(project: ProjectName) {
    return this.filesOf(project).reduce((n, f) => n + f.size, 0);
  }
  counter(project: ProjectName) {
    return this.recordedBytes(project) + this.s.leaked[project];
  }
  readyBytes() {
    return this.filesOf("P")
      .filter((f) => f.status === "ready")
      .reduce((n, f) => n + f.size, 0);
  }
  expired(f: MFile) {
    return f.exp !== undefined && Math.floor(this.s.nowMs / 1000) > f.exp;
  }
  /** A pending file a look releases: its URL expired, and no claim of a PUT (`uploading`) is live. */
  released(f: MFile) {
    return f.status === "pending" && this.expired(f) && this.s.nowMs >= (f.stuckUntil ?? 0);
  }
  /** Bytes are stored at the file's path: it is ready, or pending with bytes that are refused. */
  stored(f: MFile | undefined) {
    return f?.status === "ready" || !!f?.refused;
  }
  remove(path: string) {
    const f = this.s.files[path];
    if (!f) return;
    delete this.s.files[path];
    this.s.gone[path] = f;
  }
  /** The quota check's sweep: pending files of the project whose URL expired (no bytes, or refused ones) are released. */
  sweep(project: ProjectName) {
    for (const f of this.filesOf(project)) if (this.released(f)) this.remove(f.path);
  }
  projectId(p: ProjectName) {
    return this.ids[p];
  }
  projectOfPath(path: string): ProjectName | null {
    const first = path.split("/")[0];
    return first === this.ids.P ? "P" : first === this.ids.Q ? "Q" : null;
  }
  /** fs: a strict prefix of `path` (below the project) is a stored file. */
  parentIsFile(path: string) {
    if (!this.opts.fs) return false;
    const segments = path.split("/");
    for (let i = 2; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join("/");
      if (this.stored(this.s.files[prefix]) || this.s.orphans.includes(prefix)) return true;
    }
    return false;
  }
  /** fs: `path` is a folder (an upload went into a folder of that name). */
  isDir(path: string) {
    return this.opts.fs && this.s.dirs.includes(path);
  }
  addDirs(path: string) {
    if (!this.opts.fs) return;
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join("/");
      if (!this.s.dirs.includes(prefix)) this.s.dirs.push(prefix);
    }
  }
}
