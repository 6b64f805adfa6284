/** Uploads (API.md §7): multipart `/upload`, presigned `/upload-url`, and urBackend's `/upload-request` + `/upload-confirm`. */
import { Hono } from "hono";
import type { AppEnv } from "../../shared/app.js";
import { ApiError } from "../../shared/errors.js";
import { ok, parseWith, publicBaseUrl, readJson } from "../../shared/http.js";
import { directUploadBody, uploadConfirmBody } from "../../shared/storage/bodies.js";
import { type FileDoc, fileRecords, removeProjectFiles } from "../../shared/storage/files.js";
import { parseFilePath, parseFolder, sanitizeName, stagingKey } from "../../shared/storage/paths.js";
import { acceptedType, assertMagicBytes, assertSize, mediaType, SIGNATURE_BYTES } from "../../shared/storage/policy.js";
import { type Counted, releaseBytes, removeAndRelease, reservationRecorded } from "../../shared/storage/quota.js";
import { fewPartsBoundary, readLimited } from "./body.js";
import { type Actor, type Ctx, fileUrl, newFilePath, type StorageRuntime, writer } from "./context.js";
import { discardPending, markReady, reserve, settle, UPLOAD_URL_TTL, uploadExpiry } from "./pending.js";

/** Room for the multipart envelope around the file (boundaries, part headers, the folder field). */
const MULTIPART_OVERHEAD = 64 * 1024;

export function uploadRoutes(rt: StorageRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { deps, blobs } = rt;
  /** urBackend's `provider` field: files in a bucket (`external`) or kept by the server (`internal`). */
  const provider = () => (blobs.kind === "s3" ? "external" : "internal");

  /**
   * Refuses (401) a write whose project began to be deleted while it ran, after sweeping the project's
   * files again: checked once the write's record exists, so either this sees the deletion or the
   * deletion's own sweep sees the record.
   */
  async function assertProjectLive(actor: Actor) {
    if (await deps.projects.isLive(actor.project.id)) return;
    await removeProjectFiles(deps, blobs, actor.project.id);
    throw new ApiError("API_KEY_INVALID");
  }

  /**
   * Stores bytes under a new record: the bytes reserved, recorded as a pending file, written, and the
   * file marked ready; a failure gives them back. The record comes first, due when a direct upload's URL
   * would expire, so a process that dies on the way leaves a pending file that a quota check then
   * settles as a direct upload (ready if all its bytes were written, else removed with them), never
   * bytes without a record.
   */
  async function store(c: Ctx, actor: Actor, path: string, bytes: Uint8Array, type: string) {
    const reservation = await reserve(rt, actor.project, bytes.length, actor.policy.quotaBytes);
    const exp = Math.floor(deps.clock.now() / 1000) + UPLOAD_URL_TTL;
    const pending = {
      ...record(actor, path, bytes.length, type, "pending", uploadExpiry(exp)),
      ...counted(reservation),
    };
    try {
      await fileRecords(deps).insertOne(pending);
    } catch (error) {
      await releaseBytes(deps, reservation, bytes.length); // never throws: the write's error is the answer
      throw error;
    }
    await reservationRecorded(deps, reservation, bytes.length);
    try {
      await blobs.put(path, bytes, type);
    } catch (error) {
      // What a failed write may still store (an S3 PUT that timed out) is not looked for: the blob store
      // may be failing. The write's error is the answer: a record not removed now is settled when due.
      const remove = () => fileRecords(deps).deleteOne({ _id: path, status: "pending" });
      await removeAndRelease(deps, actor.project.id, remove).catch((failure: unknown) => {
        deps.log.warn("storage: could not remove the record of a failed upload", { path, error: String(failure) });
      });
      throw error;
    }
    const file = await markReady(rt, pending);
    await assertProjectLive(actor); // the project's deletion removed the record meanwhile: 401
    if (file?.status !== "ready") throw new Error("The upload's record was removed while its bytes were written");
    return { path, url: fileUrl(c, rt, path), size: bytes.length, contentType: type, provider: provider() };
  }

  /** The generation a record's reservation went to, kept on the record (FileDoc.reservedIn). */
  const counted = ({ gen }: Counted) => (gen ? { reservedIn: gen } : {});

  const record = (
    actor: Actor,
    path: string,
    size: number,
    contentType: string,
    status: FileDoc["status"],
    expiresAt?: string,
  ): FileDoc => ({
    _id: path,
    projectId: actor.project.id,
    ownerId: actor.userId,
    size,
    contentType,
    status,
    createdAt: new Date(deps.clock.now()).toISOString(),
    ...(expiresAt ? { expiresAt } : {}),
  });

  routes.post("/upload", async (c) => {
    const actor = await writer(c, rt);
    const limit = actor.policy.maxFileSize + MULTIPART_OVERHEAD;
    if (Number(c.req.header("content-length") ?? 0) > limit) assertSize(actor.policy, Number.POSITIVE_INFINITY);
    const raw = await readLimited(c.req.raw.body, limit);
    const boundary = fewPartsBoundary(raw, c.req.header("content-type") ?? "");
    const contentType = `multipart/form-data; boundary=${boundary}`;
    const form = await new Response(raw as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } })
      .formData()
      .catch(() => {
        throw new ApiError("VALIDATION_FAILED", "Send multipart/form-data with a `file` field");
      });
    const file = form.get("file");
    if (!(file instanceof File)) {
      throw new ApiError("VALIDATION_FAILED", undefined, {
        details: [{ path: "file", message: "a file is required" }],
      });
    }
    assertSize(actor.policy, file.size);
    const type = acceptedType(actor.policy, file.type, file.name);
    const bytes = new Uint8Array(await file.arrayBuffer());
    assertMagicBytes(type, bytes.subarray(0, SIGNATURE_BYTES));
    const folder = parseFolder(form.get("folder") ?? undefined);
    const path = newFilePath(actor, folder, sanitizeName(file.name));
    return ok(c, await store(c, actor, path, bytes, type), 201);
  });

  /**
   * Reserves the bytes and records a pending file for a direct upload; returns the URL to PUT to. The
   * reservation lasts until the bytes arrive, or is released once the URL has expired (see pending.ts).
   */
  async function presign(c: Ctx) {
    const actor = await writer(c, rt);
    const input = parseWith(directUploadBody, await readJson(c));
    assertSize(actor.policy, input.size);
    const type = acceptedType(actor.policy, input.contentType, input.filename);
    // The PUT carries the type exactly as the client declared it (parameters too: clients send a
    // Blob's type verbatim, and S3 compares the signed header byte for byte); the file keeps `type`.
    const sent = input.contentType.trim();
    const path = newFilePath(actor, parseFolder(input.folder), sanitizeName(input.filename));
    const reservation = await reserve(rt, actor.project, input.size, actor.policy.quotaBytes);
    // Timed once the quota check is over, so neither URL outlives the record's expiresAt.
    const exp = Math.floor(deps.clock.now() / 1000) + UPLOAD_URL_TTL;
    const pending = { ...record(actor, path, input.size, type, "pending", uploadExpiry(exp)), ...counted(reservation) };
    let direct: Awaited<ReturnType<typeof blobs.presignPut>>;
    try {
      // Signed before its record exists (no I/O), handed out only once the record is written. A bucket
      // URL stores at the staging key: what it stores once the file was checked never becomes the file.
      direct = await blobs.presignPut(stagingKey(path), sent, input.size, UPLOAD_URL_TTL);
      await fileRecords(deps).insertOne(direct ? { ...pending, presignedUntil: pending.expiresAt } : pending);
    } catch (error) {
      await releaseBytes(deps, reservation, input.size);
      throw error;
    }
    await reservationRecorded(deps, reservation, input.size);
    await assertProjectLive(actor);
    const query = rt.signer.query({ op: "put", path, type: mediaType(sent), size: input.size, exp });
    const signed = direct ?? {
      url: `${publicBaseUrl(c, rt.deps.config)}/api/storage/blob?${query}`,
      method: "PUT" as const,
      headers: { "content-type": sent, "content-length": String(input.size) },
    };
    return { path, signed };
  }

  routes.post("/upload-url", async (c) => {
    const { path, signed } = await presign(c);
    return ok(c, {
      uploadUrl: signed.url,
      method: signed.method,
      headers: signed.headers,
      path,
      expiresIn: UPLOAD_URL_TTL,
    });
  });

  routes.post("/upload-request", async (c) => {
    const { path, signed } = await presign(c);
    return ok(c, { signedUrl: signed.url, filePath: path, expiresIn: UPLOAD_URL_TTL });
  });

  routes.post("/upload-confirm", async (c) => {
    const actor = await writer(c, rt);
    const body = parseWith(uploadConfirmBody, await readJson(c));
    const path = parseFilePath(body.filePath, actor.project.id);
    const found = (await fileRecords(deps).findOne({ _id: path })) as FileDoc | null;
    if (!found || found.status === "deleted" || (actor.userId !== null && found.ownerId !== actor.userId)) {
      throw new ApiError("FILE_NOT_FOUND");
    }
    const refused = (problem: string) =>
      new ApiError("VALIDATION_FAILED", undefined, { details: [{ path: "filePath", message: problem }] });
    if (body.size !== found.size) {
      await discardPending(rt, found); // a ready file is never removed by a confirm
      throw refused("size mismatch");
    }
    // Checks the stored size and signature (400/415 remove the file, unless a live PUT's claim keeps
    // it: then it is still pending, 400 "not uploaded"); an expired upload whose bytes never came was
    // released: 404.
    const file = await settle(rt, found);
    if (!file) throw new ApiError("FILE_NOT_FOUND");
    if (file.status === "pending") throw refused("the file was not uploaded");
    return ok(c, {
      path,
      url: fileUrl(c, rt, path),
      size: file.size,
      contentType: file.contentType,
      provider: provider(),
    });
  });

  return routes;
}
