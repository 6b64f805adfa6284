/** Reading and deleting files (API.md §7), and the signed blob URLs of the fs and memory stores. */
import { Hono } from "hono";
import { requireApiKey } from "../../shared/api-key.js";
import type { AppEnv } from "../../shared/app.js";
import { sha256Hex } from "../../shared/crypto.js";
import { etagMatches } from "../../shared/documents.js";
import { ApiError } from "../../shared/errors.js";
import { ok, parseWith, publicBaseUrl, queryParams, readJson } from "../../shared/http.js";
import { whileUnderWay } from "../../shared/in-flight.js";
import { limitRequest } from "../../shared/ratelimit/middleware.js";
import { deleteFileBody } from "../../shared/storage/bodies.js";
import { type FileDoc, fileRecords } from "../../shared/storage/files.js";
import { parseFilePath } from "../../shared/storage/paths.js";
import { mediaType, SIGNATURE_BYTES, signatureFits, storagePolicy } from "../../shared/storage/policy.js";
import type { Validity } from "../../shared/storage/types.js";
import { readLimited } from "./body.js";
import { type Ctx, endUser, type StorageRuntime } from "./context.js";
import { deleteFile, deleteIfGone, settle, settleForDelete } from "./pending.js";
import { requestedRange } from "./range.js";

/**
 * Download URLs are signed per window of 5 minutes and work until the end of the next one: the same
 * URL for a file all window long, so browsers reuse the redirect to it and the bytes behind it
 * (a page of `<img>` costs the API one request per image per window, not one per view).
 */
const DOWNLOAD_WINDOW = 5 * 60;
/** The signed download URLs of this moment's window (epoch seconds). */
function downloadValidity(nowMs: number): Validity {
  const from = Math.floor(nowMs / 1000 / DOWNLOAD_WINDOW) * DOWNLOAD_WINDOW;
  return { from, until: from + 2 * DOWNLOAD_WINDOW };
}
/**
 * A redirect to a download URL, and the bytes a signed blob URL serves, may be kept until a minute
 * before the URL stops working (`until`, epoch seconds): as long as each other, never less than 0.
 */
const cacheUntil = (until: number, nowMs: number, scope: "public" | "private") =>
  `${scope}, max-age=${Math.max(0, until - Math.ceil(nowMs / 1000) - 60)}`;
/**
 * How long (ms) a PUT to an upload URL holds its file (`uploading`): a minute, plus its body at 128 KiB/s
 * (a slow mobile uplink), so a PUT still sending keeps it.
 */
const uploadLease = (size: number) => 60_000 + (size * 1000) / (128 * 1024);
/** A PUT's refusals: its URL's file claimed (or stored) by another PUT; its file deleted, or released once expired. */
const usedAlready = () => new ApiError("FORBIDDEN", "This upload URL was used already");
const expiredOrDeleted = () => new ApiError("FORBIDDEN", "This upload URL has expired or its file was deleted");
const fileNotFound = () => new ApiError("FILE_NOT_FOUND");
/** The key a file read was sent with: the header, or `?key=` as an <img> link sends it ("" when none). */
const sentKeyOf = (c: Ctx) => c.req.header("x-api-key") || c.req.query("key") || "";
/** Types a browser may show inline (never SVG, which runs scripts); everything else is served as a download. */
const INLINE = /^(image\/(?!svg)|video\/|audio\/)|^application\/pdf$/;
/** How a file is served: inline for the types a browser may show, else as a download named `name`. */
const dispositionOf = (contentType: string, name: string) =>
  `${INLINE.test(contentType) ? "inline" : "attachment"}; filename="${name}"`;
/** The name a file is served under: the last segment of its path. */
const nameOf = (path: string) => path.split("/").pop() ?? "file";
/**
 * A served file's validator: its path, which names one content for good (a path's random part is
 * never given out again, and a file is never rewritten), so the tag holds as long as the file does.
 */
const fileTag = (path: string) => `"${sha256Hex(path).slice(0, 32)}"`;
/**
 * How long caches may keep a public project's file: 5 minutes, by anyone's cache (a CDN in front of
 * the API too: the same bytes for every caller). A private one's (a signed blob URL) is kept only in
 * the browser that fetched it, as long as the redirect to it (cacheUntil). After that a cache asks
 * again with If-None-Match (a 304 while it lives).
 */
const PUBLIC_CACHE = "public, max-age=300";
/** Files served from the API's origin never run scripts there (PDF viewers refuse a sandbox, and run none). */
const SANDBOX = "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/**
 * urBackend's SDK deletes by "the file path or URL": the file URL an upload answered with
 * (`…/api/storage/file?path=…`) names its path. Anything else is taken as a path.
 */
function pathOfFileUrl(value: string): string {
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) return value;
  const url = new URL(value);
  return url.pathname.endsWith("/api/storage/file") ? (url.searchParams.get("path") ?? value) : value;
}

export function fileRoutes(rt: StorageRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { deps, blobs, signer } = rt;
  const key = requireApiKey(deps);
  /** A private file's read: its project's key, as any call, limited only where it finds no ready file (recordOf). */
  const readerKey = requireApiKey(deps, { rateLimited: false });
  /** The bucket's own download URL for a file (s3), with its type and disposition; null where this function serves it. */
  const bucketUrl = (path: string, contentType: string, validity: Validity) =>
    blobs.presignGet(path, validity, contentType, dispositionOf(contentType, nameOf(path)));
  /** A redirect to a file's download URL, which browsers may keep (and shared caches too, for a public project). */
  function redirectTo(c: Ctx, url: string, validity: Validity, scope: "public" | "private") {
    c.header("cache-control", cacheUntil(validity.until, deps.clock.now(), scope));
    return c.redirect(url, 302);
  }

  /**
   * Streams a stored file, or the one range of it the request asks for (media players seek so;
   * Safari plays no video without it), with headers that keep browsers from sniffing or running it.
   * A HEAD gets the same status and headers and no body is opened for it: Hono answers HEAD by
   * running this GET route and dropping the body unread, which (fs store) would hold a file
   * descriptor per request.
   */
  async function serve(c: Ctx, path: string, cacheControl: string) {
    const stored = await blobs.head(path);
    if (!stored) throw new ApiError("FILE_NOT_FOUND");
    const etag = fileTag(path);
    const ifNoneMatch = c.req.header("if-none-match");
    if (ifNoneMatch && etagMatches(ifNoneMatch, etag)) {
      return c.body(null, 304, { etag, "cache-control": cacheControl });
    }
    const ifRange = c.req.header("if-range");
    const range = requestedRange(c.req.header("range"), ifRange === undefined || ifRange.trim() === etag, stored.size);
    if (range === "unsatisfiable") {
      throw new ApiError("RANGE_NOT_SATISFIABLE", `The file has ${stored.size} bytes`, {
        headers: { "content-range": `bytes */${stored.size}` },
      });
    }
    const headers = {
      "content-type": stored.contentType,
      "content-length": String(range ? range.length : stored.size),
      ...(range ? { "content-range": `bytes ${range.offset}-${range.offset + range.length - 1}/${stored.size}` } : {}),
      "accept-ranges": "bytes",
      "x-content-type-options": "nosniff",
      ...(stored.contentType === "application/pdf" ? {} : { "content-security-policy": SANDBOX }),
      "content-disposition": dispositionOf(stored.contentType, nameOf(path)),
      "cache-control": cacheControl,
      etag,
    };
    const status = range ? 206 : 200;
    if (c.req.method === "HEAD") return c.body(null, status, headers);
    const blob = await blobs.get(path, range);
    if (!blob) throw new ApiError("FILE_NOT_FOUND");
    return c.body(blob.body, status, headers);
  }

  /**
   * The record of a readable file, or 404. A direct upload is `pending` until its bytes are seen: the
   * first look that finds them marks it ready; one whose URL expired without them is released (settle).
   * Reads are not rate-limited so that pages of `<img>` work, but only those that find a ready file:
   * a miss or a pending file counts under the pk rule (`limit`) before it is settled or answered 404,
   * as each costs the project (a store read, a request log entry; on S3 a settle's COPY and HEAD).
   */
  async function recordOf(path: string, limit: () => Promise<void>): Promise<FileDoc> {
    const found = (await fileRecords(deps).findOne({ _id: path })) as FileDoc | null;
    if (found?.status !== "ready") await limit();
    const file = found && (await settle(rt, found));
    if (file?.status !== "ready") throw new ApiError("FILE_NOT_FOUND");
    return file;
  }

  // GET /file?path=: public projects stream (or redirect) to anyone; private ones need a key and
  // redirect to a short-lived signed URL. Either way the read is under way for its project until it
  // ends (deps.inFlight): settling a pending file writes (its record, an S3 copy to its path), and the
  // project's deletion waits for that.
  routes.get(
    "/file",
    async (c, next) => {
      const path = c.req.query("path") ?? "";
      const projectId = path.split("/")[0] ?? "";
      const project = /^[0-9a-f]{24}$/.test(projectId)
        ? await deps.projects.resolveProject(projectId, { cached: true })
        : null;
      if (project && storagePolicy(project).public) {
        // Refused as a missing file when the project's deletion began after it resolved.
        return whileUnderWay(deps.inFlight, project.id, fileNotFound, async () => {
          parseFilePath(path, project.id);
          const file = await recordOf(path, () => limitRequest(c, deps, { project, keyType: "publishable" }, ""));
          // Counted in the project's usage as a pk read, once the file is found: key-less misses are
          // anyone's, and would fill the project's request log.
          c.set("principal", { project, keyType: "publishable" });
          const validity = downloadValidity(deps.clock.now());
          const url = await bucketUrl(path, file.contentType, validity);
          return url ? redirectTo(c, url, validity, "public") : serve(c, path, PUBLIC_CACHE);
        });
      }
      // A private file: a valid key of its project (the header, or `?key=` as an <img> link sends it), else 401.
      if (!sentKeyOf(c)) {
        throw new ApiError(
          "API_KEY_MISSING",
          "This project's files are read with its key: add &key=<publishable key> to the file URL (or the operator sets settings.storage.public)",
        );
      }
      await next();
    },
    readerKey,
    async (c) => {
      const path = c.req.query("path") ?? "";
      const principal = c.get("principal");
      parseFilePath(path, principal.project.id);
      const file = await recordOf(path, () => limitRequest(c, deps, principal, sentKeyOf(c)));
      const validity = downloadValidity(deps.clock.now());
      const url =
        (await bucketUrl(path, file.contentType, validity)) ??
        `${publicBaseUrl(c, rt.deps.config)}/api/storage/blob?${signer.query({ op: "get", path, type: file.contentType, size: file.size, exp: validity.until })}`;
      return redirectTo(c, url, validity, "private");
    },
  );

  routes.delete("/file", key, async (c) => {
    const { project, keyType } = c.get("principal");
    const body = parseWith(deleteFileBody, await readJson(c));
    const path = parseFilePath(pathOfFileUrl(body.path), project.id);
    // Pending files too: deleting a direct upload before (or instead of) its bytes gives its reservation
    // back; one whose URL expired without them is gone (404), as for a read.
    const found = (await fileRecords(deps).findOne({ _id: path })) as FileDoc | null;
    const file = found && (await settleForDelete(rt, found));
    if (!file) throw new ApiError("FILE_NOT_FOUND");
    if (keyType === "publishable" && file.ownerId !== (await endUser(c, rt)))
      throw new ApiError("FORBIDDEN", "Only its uploader or the secret key may delete this file");
    await deleteFile(rt, file);
    return ok(c, { path, deleted: true });
  });

  // The fs and memory stores' own signed URLs: the signature is the authorization.
  routes.put("/blob", async (c) => {
    const signed = signer.verify(queryParams(c), Math.floor(deps.clock.now() / 1000));
    if (signed?.op !== "put") throw new ApiError("FORBIDDEN", "Invalid or expired upload URL");
    if (mediaType(c.req.header("content-type")) !== signed.type)
      throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `This URL uploads ${signed.type} only`);
    // Claimed before the body is read: of PUTs in flight together, one writes; a refused one lets go.
    // The claim is a lease: one a process that died kept lapses, and the URL works again while valid.
    const now = deps.clock.now();
    let lease = new Date(now + uploadLease(signed.size)).toISOString();
    const lapsed = { $or: [{ uploading: { $exists: false } }, { uploading: { $lte: new Date(now).toISOString() } }] };
    const file = (await fileRecords(deps).updateOne(
      { _id: signed.path, status: "pending", ...lapsed },
      { $set: { uploading: lease } },
    )) as FileDoc | null;
    if (!file) throw usedAlready();
    /** Lets go of the claim, if this PUT still holds it; the file as it is then, or null. */
    const letGo = () =>
      fileRecords(deps).updateOne(
        { _id: signed.path, status: "pending", uploading: lease },
        { $unset: { uploading: "" } },
      );
    let fits: boolean;
    try {
      const bytes = await readLimited(c.req.raw.body, signed.size);
      if (bytes.length !== signed.size) {
        throw new ApiError("VALIDATION_FAILED", `This URL uploads exactly ${signed.size} bytes`);
      }
      // The file's own type: the one the PUT carries, or what its name said where that was octet-stream.
      fits = signatureFits(file.contentType, bytes.subarray(0, SIGNATURE_BYTES));
      // Still this PUT's, renewed for the write: a PUT whose lease lapsed while its body came may have been
      // overtaken by another, whose file may be ready and served already (a ready file's bytes never change).
      const renewed = new Date(deps.clock.now() + uploadLease(signed.size)).toISOString();
      const held = { _id: signed.path, status: "pending", uploading: lease };
      if (!(await fileRecords(deps).updateOne(held, { $set: { uploading: renewed } }))) {
        const current = (await fileRecords(deps).findOne({ _id: signed.path })) as FileDoc | null;
        throw current && current.status !== "deleted" ? usedAlready() : expiredOrDeleted();
      }
      lease = renewed;
      await blobs.put(signed.path, bytes, file.contentType);
    } catch (error) {
      await letGo();
      throw error;
    }
    if (!fits) {
      // Bytes that are not of the file's type stay, pending, for /upload-confirm or the first read to
      // refuse (415, the file removed with its reservation), as a bucket's do: urBackend's SDK reports
      // a failed PUT by its status line alone (a reason phrase of ours would not reach it: Node's adapter
      // drops it, HTTP/2 has none), and shows the confirm's message. Deleted or released meanwhile: its bytes go.
      if (!(await letGo()) && !(await deleteIfGone(rt, signed.path))) throw expiredOrDeleted();
      return ok(c, { path: signed.path, size: signed.size });
    }
    // Marks it ready, unless the pending file was deleted or released while the bytes streamed in (its
    // bytes go), or another PUT took it over once this one's lease lapsed (the bytes are that PUT's).
    if ((await settle(rt, file, { uploading: lease }))?.status !== "ready") {
      throw (await deleteIfGone(rt, signed.path)) ? usedAlready() : expiredOrDeleted();
    }
    return ok(c, { path: signed.path, size: signed.size });
  });

  routes.get("/blob", async (c) => {
    const signed = signer.verify(queryParams(c), Math.floor(deps.clock.now() / 1000));
    if (signed?.op !== "get") throw new ApiError("FORBIDDEN", "Invalid or expired download URL");
    return serve(c, signed.path, cacheUntil(signed.exp, deps.clock.now(), "private"));
  });

  return routes;
}
