/** The fs blob store on a full or unwritable disk: 503 SERVICE_UNAVAILABLE, as the document store answers. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { fsBlobStore } from "../shared/storage/fs.js";
import { BlobStoreUnavailableError } from "../shared/storage/types.js";

/** The error code the next file writes and removals fail with (a disk that cannot be set up so here). */
const failing = vi.hoisted(() => ({ code: undefined as string | undefined }));
vi.mock("node:fs/promises", async (original) => {
  const fs = await original<typeof import("node:fs/promises")>();
  const fail =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      failing.code
        ? Promise.reject(Object.assign(new Error(`${failing.code}: failed`), { code: failing.code }))
        : call(...args);
  return { ...fs, writeFile: fail(fs.writeFile), rm: fail(fs.rm) };
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "edgeback-full-"));
});
afterEach(async () => {
  failing.code = undefined;
  await rm(root, { recursive: true, force: true });
});

it.each(["ENOSPC", "EDQUOT", "EROFS", "EACCES"])(
  "%s on put or delete is BlobStoreUnavailableError (503)",
  async (code) => {
    const blobs = fsBlobStore(root);
    await blobs.put("p/kept.txt", new TextEncoder().encode("kept"), "text/plain");
    failing.code = code;
    await expect(blobs.put("p/new.txt", new TextEncoder().encode("new"), "text/plain")).rejects.toBeInstanceOf(
      BlobStoreUnavailableError,
    );
    await expect(blobs.delete("p/kept.txt")).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    failing.code = undefined;
    expect((await readdir(join(root, "p"))).sort()).toEqual(["kept.txt", "kept.txt.type"]);
  },
);

it("another failure stays a plain error (500, its cause logged)", async () => {
  failing.code = "EIO";
  const put = fsBlobStore(root).put("p/x.txt", new Uint8Array(1), "text/plain");
  await expect(put).rejects.toThrow(/EIO/);
  await expect(put).rejects.not.toBeInstanceOf(BlobStoreUnavailableError);
});
