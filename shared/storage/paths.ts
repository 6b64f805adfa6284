import { ApiError } from "../errors.js";
import { invalidQuery } from "../query/fail.js";

/** A path segment; never starting with `.`, so no file path can reach a staging key (below). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** Whether a path's segments are all safe: no `.` or `..`, no empty one (`//`), no special character. */
const safeSegments = (segments: string[]) => segments.every((s) => SEGMENT.test(s) && s !== "." && s !== "..");
const MAX_PATH = 512;
const STAGING = ".staging";

/**
 * The random part of a new file's path: 96 bits from the platform's CSPRNG as 24 lower-case hex, so a
 * path cannot be guessed from another one (document ids, by contrast, are ObjectId-like and ordered).
 */
export function randomFileKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Longest stored name (stem and extension), and longest extension kept. */
const MAX_NAME = 100;
const MAX_EXTENSION = 16;

/**
 * A file name reduced to safe characters: letters, digits, `.`, `_`, `-`; never empty, never hidden.
 * Its stem and its extension are reduced apart, so a name of other scripts keeps its extension
 * (`日本語.png` → `file.png`); a stem left empty becomes `file`.
 */
export function sanitizeName(name: string): string {
  // Accents come apart from their letters (NFKD) and go: `résumé` → `resume`.
  const base = (name.split(/[\\/]/).pop() ?? "").normalize("NFKD").replace(/\p{M}+/gu, "");
  const dot = base.lastIndexOf(".");
  const extension = dot > 0 ? base.slice(dot + 1).replace(/[^A-Za-z0-9]+/g, "") : "";
  const suffix = extension ? `.${extension.slice(0, MAX_EXTENSION)}` : "";
  const stem = (dot > 0 ? base.slice(0, dot) : base)
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[.-]+|[.-]+$/g, "")
    .slice(-(MAX_NAME - suffix.length));
  return `${stem || "file"}${suffix}`;
}

/** An optional upload folder: up to 3 segments of letters, digits, `_`, `-`; null when none is given. */
export function parseFolder(folder: unknown): string | null {
  if (folder === undefined || folder === null || folder === "") return null;
  if (typeof folder !== "string" || folder.length > 200) throw invalidPath("folder", "must be a short string");
  const segments = folder.split("/").filter(Boolean);
  if (segments.length === 0 || segments.length > 3 || !segments.every((s) => /^[A-Za-z0-9_-]{1,64}$/.test(s))) {
    throw invalidPath("folder", "up to 3 segments of letters, digits, _ and -");
  }
  if (segments[0] === "users") throw invalidPath("folder", '"users" is reserved for end-user uploads');
  return segments.join("/");
}

const invalidPath = (path: string, message: string) =>
  new ApiError("VALIDATION_FAILED", undefined, { details: [{ path, message }] });

/**
 * A stored file's path as a client sends it back: `<projectId>/<segments…>`, each segment safe (no
 * `..`, no absolute path, no control characters). A path of another project is 403.
 */
export function parseFilePath(value: unknown, projectId: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_PATH) {
    throw invalidPath("path", "must be a file path");
  }
  const segments = value.split("/");
  if (!safeSegments(segments) || segments.length < 3) {
    throw invalidPath("path", "must be <projectId>/<folder>/<file> without '..', '//' or special characters");
  }
  if (!/^[0-9a-f]{24}$/.test(segments[0] ?? "")) {
    throw invalidPath("path", `must start with the project's id, as the path an upload answered: ${projectId}/…`);
  }
  if (segments[0] !== projectId) throw new ApiError("FORBIDDEN", "This file belongs to another project");
  return value;
}

/**
 * The folder a list names (GET /files?prefix=) as `<projectId>/<segments…>/`: given within the project
 * (`avatars`, `users/<userId>/`) or, as the paths the routes answer, after the project's id (a first
 * segment that is the id is taken so; a folder named like it is named after it). Empty: the whole
 * project. Its segments are those of file paths; a trailing `/` is optional. Bad → 400 INVALID_QUERY.
 */
export function parseFolderPrefix(value: string, projectId: string): string {
  if (value === "") return `${projectId}/`;
  const segments = value.replace(/\/$/, "").split("/");
  if (value.length > MAX_PATH || !safeSegments(segments)) {
    throw invalidQuery("prefix", "must be a folder: segments of letters, digits, ., _ and - without '..' or '//'");
  }
  const within = segments[0] === projectId ? segments.slice(1) : segments;
  return [projectId, ...within, ""].join("/");
}

/**
 * Where a direct upload's bucket URL (S3) writes: `.staging/<path>`, never the file's path, so bytes
 * stored through it after the file was checked cannot become the file (see settle). No path a client
 * sends can name it: each segment of a file path starts with a letter, digit, `_` or `-`.
 */
export const stagingKey = (path: string) => `${STAGING}/${path}`;

/** The folder of a user's own uploads. */
export const userFolder = (userId: string) => `users/${userId}`;
