/** Uploads (API.md §7): multipart `/upload`, presigned `/upload-url`, and urBackend's `/upload-request` + `/upload-confirm`. */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../shared/app";
import { ApiError } from "../../shared/errors";
import { ok, parseWith, readJson } from "../../shared/http";
import { type FileDoc, fileRecords, releaseBytes, reserveBytes } from "../../shared/storage/files";
import { parseFilePath, parseFolder, sanitizeName } from "../../shared/storage/paths";
import { acceptedType, assertMagicBytes, assertSize } from "../../shared/storage/policy";
import { readLimited } from "./body";
import { type Actor, baseUrl, type Ctx, fileUrl, newFilePath, type StorageRuntime, writer } from "./context";

/** Room for the multipart envelope around the file (boundaries, part headers, the folder field). */
const MULTIPART_OVERHEAD = 64 * 1024;
/** How long a direct-upload URL stays valid, in seconds. */
const UPLOAD_URL_TTL = 15 * 60;

const directUpload = z.object({
  filename: z.string().min(1).max(255),
  contentType: z.string().min(1).max(255),
  size: z.number().int().positive(),
  folder: z.string().max(200).optional(),
});

export function uploadRoutes(rt: StorageRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { deps, blobs } = rt;
  /** urBackend's `provider` field: files in a bucket (`external`) or kept by the server (`internal`). */
  const provider = () => (blobs.kind === "s3" ? "external" : "internal");

  /** Stores bytes under a new record, with the bytes reserved first and given back on failure. */
  async function store(c: Ctx, actor: Actor, path: string, bytes: Uint8Array, type: string) {
    await reserveBytes(deps, actor.project, bytes.length, actor.policy.quotaBytes);
    try {
      await blobs.put(path, bytes, type);
      await fileRecords(deps).insertOne(record(actor, path, bytes.length, type, "ready"));
    } catch (error) {
      await releaseBytes(deps, actor.project, bytes.length);
      throw error;
    }
    deps.usage.count(actor.project.id, "storageBytes", bytes.length);
    return { path, url: fileUrl(c, rt, path), size: bytes.length, contentType: type, provider: provider() };
  }

  const record = (actor: Actor, path: string, size: number, contentType: string, status: FileDoc["status"]) => ({
    _id: path,
    projectId: actor.project.id,
    ownerId: actor.userId,
    size,
    contentType,
    status,
    createdAt: new Date(deps.clock.now()).toISOString(),
  });

  routes.post("/upload", async (c) => {
    const actor = await writer(c, rt);
    const limit = actor.policy.maxFileSize + MULTIPART_OVERHEAD;
    if (Number(c.req.header("content-length") ?? 0) > limit) assertSize(actor.policy, Number.POSITIVE_INFINITY);
    const raw = await readLimited(c.req.raw.body, limit);
    const form = await new Response(raw as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": c.req.header("content-type") ?? "" },
    })
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
    const type = acceptedType(actor.policy, file.type);
    const bytes = new Uint8Array(await file.arrayBuffer());
    assertMagicBytes(type, bytes.subarray(0, 16));
    const folder = parseFolder(form.get("folder") ?? undefined);
    const path = newFilePath(actor, folder, sanitizeName(file.name), deps.clock.now());
    return ok(c, await store(c, actor, path, bytes, type), 201);
  });

  /** Reserves the bytes and records a pending file for a direct upload; returns the URL to PUT to. */
  async function presign(c: Ctx) {
    const actor = await writer(c, rt);
    const input = parseWith(directUpload, await readJson(c));
    assertSize(actor.policy, input.size);
    const type = acceptedType(actor.policy, input.contentType);
    const path = newFilePath(actor, parseFolder(input.folder), sanitizeName(input.filename), deps.clock.now());
    await reserveBytes(deps, actor.project, input.size, actor.policy.quotaBytes);
    await fileRecords(deps).insertOne(record(actor, path, input.size, type, "pending"));
    const direct = await blobs.presignPut(path, type, input.size, UPLOAD_URL_TTL);
    const exp = Math.floor(deps.clock.now() / 1000) + UPLOAD_URL_TTL;
    const query = rt.signer.query({ op: "put", path, type, size: input.size, exp });
    const signed = direct ?? {
      url: `${baseUrl(c, rt)}/api/storage/blob?${query}`,
      method: "PUT" as const,
      headers: { "content-type": type, "content-length": String(input.size) },
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

  /** The stored bytes' signature matches the declared type (direct uploads bypass the upload route's check). */
  async function assertStoredContent(path: string, file: FileDoc) {
    const stored = await blobs.get(path);
    if (!stored) return;
    const reader = stored.body.getReader();
    const { value } = await reader.read();
    await reader.cancel().catch(() => undefined);
    assertMagicBytes(file.contentType, value ?? new Uint8Array());
  }

  routes.post("/upload-confirm", async (c) => {
    const actor = await writer(c, rt);
    const body = parseWith(z.object({ filePath: z.string(), size: z.number().int().nonnegative() }), await readJson(c));
    const path = parseFilePath(body.filePath, actor.project.id);
    const files = fileRecords(deps);
    const file = (await files.findOne({ _id: path })) as FileDoc | null;
    if (!file || (actor.userId !== null && file.ownerId !== actor.userId)) throw new ApiError("FILE_NOT_FOUND");
    const stored = await blobs.head(path);
    const problem = !stored
      ? "the file was not uploaded"
      : stored.size !== file.size || body.size !== file.size
        ? "size mismatch"
        : null;
    if (problem === "size mismatch") {
      await blobs.delete(path);
      await files.deleteOne({ _id: path });
      await releaseBytes(deps, actor.project, file.size);
    }
    if (problem)
      throw new ApiError("VALIDATION_FAILED", undefined, { details: [{ path: "filePath", message: problem }] });
    await assertStoredContent(path, file).catch(async (error) => {
      await blobs.delete(path);
      await files.deleteOne({ _id: path });
      await releaseBytes(deps, actor.project, file.size);
      throw error;
    });
    if (file.status === "pending") {
      await files.updateOne({ _id: path }, { $set: { status: "ready" } });
      deps.usage.count(actor.project.id, "storageBytes", file.size);
    }
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
