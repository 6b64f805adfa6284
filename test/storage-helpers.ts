/**
 * A small setup for storage HTTP tests: the storage app over the embedded store and a memory or fs blob
 * store, one project allowing user uploads (its settings.storage extended by `storage`), and one call
 * per kind of request.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorageApp } from "../functions/storage/app.js";
import { fsBlobStore } from "../shared/storage/fs.js";
import { memoryBlobStore } from "../shared/storage/memory.js";
import type { BlobStore } from "../shared/storage/types.js";
import { signAccessToken } from "../shared/tokens.js";
import { fakeClock, type PlatformCall, testDeps } from "./helpers.js";

/** Whether a platform store call is a release of storage bytes: a decrement of a project's counter. */
export const isStorageRelease = ({ collection, method, args }: PlatformCall) =>
  collection === "storage_usage" &&
  method === "updateOne" &&
  ((args[1] as { $inc?: { bytes?: number } }).$inc?.bytes ?? 0) < 0;

export type StorageEnv = Awaited<ReturnType<typeof storageEnv>>;

/** The storage app with a `kind` blob store (`wrap` may change it) and one project; close() removes it all. */
export async function storageEnv(
  kind: "fs" | "memory",
  storage: Record<string, unknown> = {},
  wrap: (blobs: BlobStore) => BlobStore = (blobs) => blobs,
) {
  const dir = kind === "fs" ? await mkdtemp(join(tmpdir(), "edgeback-storage-")) : null;
  const clock = fakeClock(Date.parse("2026-03-01T00:00:00Z"));
  const deps = await testDeps({ clock });
  const blobs = wrap(dir ? fsBlobStore(dir) : memoryBlobStore());
  const app = createStorageApp(deps, { blobs });
  const { project, keys } = await deps.projects.create({
    name: "p",
    settings: { storage: { allowUserUploads: true, ...storage } },
  });
  const jwtSecret = (await deps.projects.resolveKey(keys.secret))!.project.jwtSecret;
  const p = { id: project.id, pk: keys.publishable, sk: keys.secret, jwtSecret };
  const sk = { "x-api-key": p.sk };
  const asUser = async (userId: string) => {
    const { token } = await signAccessToken(p, userId, { now: clock.now(), ttlSeconds: 86_400 });
    return { "x-api-key": p.pk, authorization: `Bearer ${token}` };
  };
  const request = (path: string, init: RequestInit) => app.request(`/api/storage/${path}`, init);
  const post = (route: string, headers: Record<string, string>, body: unknown) =>
    request(route, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const del = (headers: Record<string, string>, path: string) =>
    request("file", {
      method: "DELETE",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ path }),
    });
  const read = (headers: Record<string, string>, path: string) =>
    request(`file?path=${encodeURIComponent(path)}`, { headers });
  /** A multipart upload of `text` as text/plain. */
  const upload = (headers: Record<string, string>, text: string, name = "a.txt", folder?: string) => {
    const form = new FormData();
    form.append("file", new Blob([text], { type: "text/plain" }), name);
    if (folder !== undefined) form.append("folder", folder);
    return request("upload", { method: "POST", headers, body: form });
  };
  /** A direct upload's URL for `size` bytes of text/plain: its path and URL. */
  const presign = async (headers: Record<string, string>, filename: string, size: number, folder?: string) => {
    const res = await post("upload-url", headers, { filename, contentType: "text/plain", size, folder });
    if (res.status !== 200) throw new Error(`upload-url: ${res.status} ${await res.text()}`);
    const { data } = (await res.json()) as { data: { path: string; uploadUrl: string } };
    return { path: data.path, url: data.uploadUrl };
  };
  const putTo = (url: string, body: string, type = "text/plain") => {
    const u = new URL(url);
    return app.request(`${u.pathname}${u.search}`, { method: "PUT", headers: { "content-type": type }, body });
  };
  /** The project's reserved bytes (its counter), undefined when it has none. */
  const counter = async () =>
    (await deps.store.platform().collection("storage_usage").findOne({ _id: p.id }))?.bytes as number | undefined;
  const close = async () => {
    await deps.store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  return { deps, app, blobs, clock, p, sk, asUser, post, del, read, upload, presign, putTo, counter, close, dir };
}

/** A response's JSON envelope. */
// biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
export const envelope = async (res: Response) => (await res.json()) as any;
