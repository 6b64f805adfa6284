/**
 * fs store: a direct upload whose path collides with a folder on disk (its own path became a folder,
 * or a folder of its path is a stored file) is a 409 DUPLICATE_VALUE on PUT, and its DELETE, confirm
 * or expiry removes it as any other, leaving the folder and what it holds.
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import { fileRecords } from "../shared/storage/files.js";
import { envelope, type StorageEnv, storageEnv } from "./storage-helpers.js";

describe("fs store: a direct upload's path collides with a folder", () => {
  let env: StorageEnv;
  afterEach(() => env.close());

  /** The folder (below the project) that a path names: `uploads/<random>-notes`. */
  const asFolder = (path: string) => path.split("/").slice(1).join("/");
  const stored = async (res: Response) => (await envelope(res)).data.path as string;
  const onDisk = (path: string) => join(env.dir!, ...path.split("/"));

  /** A pending direct upload whose own path a multipart upload into a folder of that name has made a folder. */
  async function pendingPathIsAFolder() {
    const pending = await env.presign(env.sk, "notes", 5);
    const inside = await env.upload(env.sk, "hello", "a.txt", asFolder(pending.path));
    expect(inside.status).toBe(201);
    return { pending, inside: await stored(inside) };
  }

  /** A pending direct upload into a folder named as a stored file. */
  async function folderIsAStoredFile() {
    const file = await stored(await env.upload(env.sk, "hello", "notes"));
    return { file, pending: await env.presign(env.sk, "x.txt", 3, asFolder(file)) };
  }

  it("its PUT is a 409 that leaves no type file beside the folder; its DELETE is 200 and keeps the folder", async () => {
    env = await storageEnv("fs");
    const { pending, inside } = await pendingPathIsAFolder();
    const put = await env.putTo(pending.url, "12345");
    expect([put.status, await envelope(put)]).toEqual([
      409,
      expect.objectContaining({ code: "DUPLICATE_VALUE", details: [{ path: "filePath", message: "names a folder" }] }),
    ]);
    const name = pending.path.split("/").pop()!;
    expect((await readdir(dirname(onDisk(pending.path)))).filter((entry) => entry.startsWith(name))).toEqual([name]);
    const deleted = await env.del(env.sk, pending.path);
    expect([deleted.status, (await envelope(deleted)).data]).toEqual([200, { path: pending.path, deleted: true }]);
    expect((await env.read(env.sk, inside)).status).toBe(302); // the folder and its file stay
    expect(await env.counter()).toBe(5);
  });

  it("DELETE of one whose folder is a stored file: 200, its bytes given back, the file kept", async () => {
    env = await storageEnv("fs");
    const { file, pending } = await folderIsAStoredFile();
    const res = await env.del(env.sk, pending.path);
    expect([res.status, (await envelope(res)).data]).toEqual([200, { path: pending.path, deleted: true }]);
    expect(await env.counter()).toBe(5);
    expect((await env.read(env.sk, file)).status).toBe(302);
  });

  it("a confirm with the wrong size removes it (400), and a read after its URL expired (404)", async () => {
    env = await storageEnv("fs");
    const { pending } = await folderIsAStoredFile();
    const confirm = await env.post("upload-confirm", env.sk, { filePath: pending.path, size: 4 });
    expect([confirm.status, (await envelope(confirm)).code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(await fileRecords(env.deps).findOne({ _id: pending.path })).toBeNull();

    const { pending: expiring } = await pendingPathIsAFolder();
    env.clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    const read = await env.read(env.sk, expiring.path);
    expect([read.status, (await envelope(read)).code]).toEqual([404, "FILE_NOT_FOUND"]);
    expect(await fileRecords(env.deps).findOne({ _id: expiring.path })).toBeNull();
    expect(await env.counter()).toBe(10); // the stored file and the one in the folder
  });
});
