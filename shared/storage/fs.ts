import { createReadStream } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import type { BlobStore } from "./types.js";

/**
 * Blobs as files under `root` (the local server: DATA_DIR/files). The content type is kept next to
 * each file (`<file>.type`). Paths were validated by the caller; resolving them again here makes sure
 * nothing lands outside `root`.
 */
export function fsBlobStore(root: string): BlobStore {
  const base = resolve(root);
  const fileOf = (path: string) => {
    const file = resolve(base, ...path.split("/"));
    if (!file.startsWith(base + sep)) throw new Error("Blob path escapes the storage root");
    return file;
  };
  return {
    kind: "fs",
    async put(path, bytes, contentType) {
      const file = fileOf(path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, bytes);
      await writeFile(`${file}.type`, contentType);
    },
    async get(path, range) {
      const head = await this.head(path);
      if (!head) return null;
      const bounds = range && { start: range.offset, end: range.offset + range.length - 1 }; // end inclusive
      const body = Readable.toWeb(createReadStream(fileOf(path), bounds)) as ReadableStream<Uint8Array>;
      const size = range ? Math.max(0, Math.min(range.length, head.size - range.offset)) : head.size;
      return { body, size, contentType: head.contentType };
    },
    async head(path) {
      const file = fileOf(path);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) return null;
      const contentType = await readFile(`${file}.type`, "utf8").catch(() => "application/octet-stream");
      return { size: info.size, contentType };
    },
    async delete(path) {
      const file = fileOf(path);
      await rm(file, { force: true });
      await rm(`${file}.type`, { force: true });
    },
    async copy(from, to) {
      const head = await this.head(from);
      if (!head) return false;
      await this.put(to, await readFile(fileOf(from)), head.contentType);
      return true;
    },
    presignPut: async () => null,
    presignGet: async () => null,
  };
}

/** The files directory of a data dir. */
export const filesDir = (dataDir: string) => join(dataDir, "files");
