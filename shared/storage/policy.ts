import { z } from "zod";
import { ApiError } from "../errors.js";
import type { ResolvedProject } from "../principal.js";

/** Largest file any project may allow (its own `maxFileSize` is at most this). */
export const MAX_FILE_SIZE = 100 * 1024 * 1024;
const DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024;

/** Types accepted unless a project lists its own: images, pdf, text, json, csv, office, audio, video. */
export const DEFAULT_CONTENT_TYPES = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "application/pdf",
  "text/plain",
  "text/csv",
  "application/json",
  "application/msword",
  "application/vnd.ms-excel",
  "application/vnd.ms-powerpoint",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  "audio/mpeg",
  "audio/ogg",
  "audio/wav",
  "video/mp4",
  "video/webm",
];

/** settings.storage (API.md §9), as a PATCH may send it. */
export const storageSettingsShape = {
  maxFileSize: z.number().int().positive().max(MAX_FILE_SIZE),
  allowedContentTypes: z.array(z.string().regex(/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/i)).max(100),
  allowUserUploads: z.boolean(),
  quotaBytes: z.number().int().positive(),
  /** Files readable by anyone holding the URL (else short-lived signed URLs). */
  public: z.boolean(),
};

/** A project's storage policy with the defaults applied. */
export interface StoragePolicy {
  maxFileSize: number;
  allowedContentTypes: readonly string[];
  allowUserUploads: boolean;
  quotaBytes: number | undefined;
  public: boolean;
}

export function storagePolicy(project: ResolvedProject): StoragePolicy {
  const s = (project.settings.storage ?? {}) as Partial<StoragePolicy>;
  return {
    maxFileSize: s.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
    allowedContentTypes: (s.allowedContentTypes ?? DEFAULT_CONTENT_TYPES).map((t) => t.toLowerCase()),
    allowUserUploads: s.allowUserUploads ?? false,
    quotaBytes: s.quotaBytes,
    public: s.public ?? false,
  };
}

/** The types a file name's extension stands for, where a client declares none of its own. */
const EXTENSION_TYPES = new Map(
  Object.entries({
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    avif: "image/avif",
    heic: "image/heic",
    heif: "image/heif",
    pdf: "application/pdf",
    txt: "text/plain",
    csv: "text/csv",
    json: "application/json",
    doc: "application/msword",
    xls: "application/vnd.ms-excel",
    ppt: "application/vnd.ms-powerpoint",
    docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    mp3: "audio/mpeg",
    ogg: "audio/ogg",
    wav: "audio/wav",
    mp4: "video/mp4",
    webm: "video/webm",
    mov: "video/quicktime",
    m4a: "audio/mp4",
    // Not accepted by default, named so that a refusal says the type rather than "send the type".
    svg: "image/svg+xml",
    md: "text/markdown",
    html: "text/html",
    htm: "text/html",
    css: "text/css",
    js: "text/javascript",
    xml: "application/xml",
    zip: "application/zip",
  }),
);

const OCTET_STREAM = "application/octet-stream";

/** A content type as sent, normalised: parameters dropped, lower case; "" when there is none. */
export function mediaType(declared: unknown): string {
  return typeof declared === "string" ? (declared.split(";")[0] ?? "").trim().toLowerCase() : "";
}

/**
 * The file's type: the declared one, or, where a client declares only "some bytes" (none, or
 * application/octet-stream, as urBackend's SDK does for a Buffer), the one its name's extension
 * stands for. 415 when the project does not accept it. The first bytes are checked against it later.
 */
export function acceptedType(policy: StoragePolicy, declared: unknown, filename = ""): string {
  let type = mediaType(declared);
  const extension = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase();
  const named = EXTENSION_TYPES.get(extension ?? "");
  // Untyped bytes are taken as the type their name says, or as bytes where the project takes any.
  if ((type === "" || type === OCTET_STREAM) && named) {
    type =
      policy.allowedContentTypes.includes(named) || !policy.allowedContentTypes.includes(OCTET_STREAM)
        ? named
        : OCTET_STREAM;
  }
  if (!type || !policy.allowedContentTypes.includes(type)) {
    const untyped = type === "" || type === OCTET_STREAM;
    const hint = !untyped
      ? " by this project (its operator may add types to settings.storage.allowedContentTypes)"
      : extension
        ? `: ".${extension}" names no type known here; send the file's type (a typed Blob or File)`
        : ": send the file's type, or a file name with its extension (photo.png)";
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `Files of type "${type || "unknown"}" are not accepted${hint}`);
  }
  return type;
}

/** 413 when a size is over the project's limit. */
export function assertSize(policy: StoragePolicy, size: number): void {
  if (size > policy.maxFileSize) {
    throw new ApiError("FILE_TOO_LARGE", `Files may be at most ${policy.maxFileSize} bytes`);
  }
}

/** How many leading bytes of a file assertMagicBytes reads (every known signature lies within them). */
export const SIGNATURE_BYTES = 16;

const ascii = (text: string) => Array.from(text, (ch) => ch.charCodeAt(0));
/**
 * The second byte of an MPEG audio frame's header (`111VVLLP`) for every version (VV: 2.5, 2, 1;
 * 01 is reserved), layer (LL: III, II, I; 00 is reserved) and protection bit: a file without an ID3
 * tag starts with one.
 */
const MPEG_FRAME_STARTS = [0b00, 0b10, 0b11].flatMap((version) =>
  [0b01, 0b10, 0b11].flatMap((layer) => [0, 1].map((crc) => 0xe0 | (version << 3) | (layer << 1) | crc)),
);
/** Known signatures: type → [offset, bytes][] that must all match (any entry of the outer list). */
const SIGNATURES: Record<string, Array<Array<[number, number[]]>>> = {
  "image/png": [[[0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]]],
  "image/jpeg": [[[0, [0xff, 0xd8, 0xff]]]],
  "image/gif": [[[0, ascii("GIF87a")]], [[0, ascii("GIF89a")]]],
  "image/webp": [
    [
      [0, ascii("RIFF")],
      [8, ascii("WEBP")],
    ],
  ],
  "application/pdf": [[[0, ascii("%PDF-")]]],
  "audio/wav": [
    [
      [0, ascii("RIFF")],
      [8, ascii("WAVE")],
    ],
  ],
  "audio/ogg": [[[0, ascii("OggS")]]],
  "audio/mpeg": [
    [[0, ascii("ID3")]],
    ...MPEG_FRAME_STARTS.map((second): Array<[number, number[]]> => [[0, [0xff, second]]]),
  ],
  "video/mp4": [[[4, ascii("ftyp")]]],
  "video/webm": [[[0, [0x1a, 0x45, 0xdf, 0xa3]]]],
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": [[[0, [0x50, 0x4b, 0x03, 0x04]]]],
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [[[0, [0x50, 0x4b, 0x03, 0x04]]]],
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": [[[0, [0x50, 0x4b, 0x03, 0x04]]]],
};

/** Whether a file's first bytes fit its declared type (types without a known signature fit any). */
export function signatureFits(type: string, head: Uint8Array): boolean {
  const signatures = SIGNATURES[type];
  if (!signatures) return true;
  return signatures.some((parts) =>
    parts.every(([offset, bytes]) => bytes.every((byte, i) => head[offset + i] === byte)),
  );
}

/** 415 when the file's first bytes contradict its declared type (types without a known signature pass). */
export function assertMagicBytes(type: string, head: Uint8Array): void {
  if (!signatureFits(type, head)) throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `The file's content is not ${type}`);
}
