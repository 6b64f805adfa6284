/**
 * fs store: an upload into a folder named as a stored file that a DELETE removes meanwhile. Node's
 * recursive mkdir then fails with ENOENT (it saw the file, then found nothing): the folder is looked
 * at again and made, where the upload answered 500 (found by a jittered soak of the storage model).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { envelope, type StorageEnv, storageEnv } from "./storage-helpers.js";

const mkdirFails = vi.hoisted(() => ({ once: false }));
vi.mock("node:fs/promises", async (original) => {
  const fs = await original<typeof import("node:fs/promises")>();
  const mkdir = async (...args: Parameters<typeof fs.mkdir>) => {
    if (mkdirFails.once) {
      mkdirFails.once = false;
      throw Object.assign(new Error("ENOENT: no such file or directory, mkdir"), { code: "ENOENT", syscall: "mkdir" });
    }
    return fs.mkdir(...args);
  };
  return { ...fs, mkdir: mkdir as typeof fs.mkdir };
});

describe("fs store: a folder's stored file removed while the upload makes the folder", () => {
  let env: StorageEnv;
  afterEach(() => env.close());

  it("the upload is stored (201), not a 500", async () => {
    env = await storageEnv("fs");
    const file = (await envelope(await env.upload(env.sk, "hello", "notes"))).data.path as string;
    await env.del(env.sk, file);
    mkdirFails.once = true;
    const res = await env.upload(env.sk, "inside", "a.txt", file.split("/").slice(1).join("/"));
    expect(res.status).toBe(201);
    expect(mkdirFails.once).toBe(false);
  });
});
