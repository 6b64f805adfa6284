import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { ApiError } from "../errors.js";
import { type BlobStore, BlobStoreUnavailableError } from "./types.js";

/**
 * Blobs as files under `root` (the local server: DATA_DIR/files). The content type is kept next to
 * each file (`<file>.type`); both are written whole, then renamed into place (writeWhole). Paths
 * were validated by the caller; resolving them again here makes sure nothing lands outside `root`.
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
      await mkdir(dirname(file), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        // A folder of the path is a stored file: `uploads/<random>-notes`, then a folder of that name.
        if (error.code === "EEXIST" || error.code === "ENOTDIR") throw folderIsAFile();
        throw unavailable(error);
      });
      // The type first: a file that is there has its type.
      await writeWhole(`${file}.type`, contentType).catch((error: NodeJS.ErrnoException) => {
        throw unavailable(error);
      });
      await writeWhole(file, bytes).catch(async (error: NodeJS.ErrnoException) => {
        // Nothing is stored: the type written for it goes.
        await rm(`${file}.type`, { force: true }).catch(() => undefined);
        if (!isCollision(error)) throw unavailable(error);
        // The path is a folder now (an upload into a folder of a pending direct upload's name), or a
        // folder of it became a stored file.
        throw error.code === "ENOTDIR" ? folderIsAFile() : fileIsAFolder();
      });
    },
    async get(path, range) {
      const head = await this.head(path);
      if (!head) return null;
      const bounds = range && { start: range.offset, end: range.offset + range.length - 1 }; // end inclusive
      const body = readWhenAsked(fileOf(path), bounds);
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
      // Nothing is stored at a path that is a folder or lies under a stored file; rm without
      // `recursive` never removes a folder.
      const nothingThere = (error: NodeJS.ErrnoException) => {
        if (!isCollision(error)) throw unavailable(error);
      };
      await rm(file, { force: true }).catch(nothingThere);
      await rm(`${file}.type`, { force: true }).catch(nothingThere);
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

/** 409: on disk, a folder cannot have a stored file's name (other stores have no folders to collide). */
const folderIsAFile = () =>
  new ApiError("DUPLICATE_VALUE", "A stored file has the name of this upload's folder: choose another folder", {
    details: [{ path: "folder", message: "names a stored file" }],
  });

/** 409: on disk, a file cannot have a folder's name (a pending direct upload's path, taken by a folder since). */
const fileIsAFolder = () =>
  new ApiError("DUPLICATE_VALUE", "A folder has this upload's name: upload the file again under another path", {
    details: [{ path: "filePath", message: "names a folder" }],
  });

/** Errors of a disk that is full or that this process may not write: no request can store now. */
const UNWRITABLE = new Set(["ENOSPC", "EDQUOT", "EROFS", "EACCES"]);

/** 503 SERVICE_UNAVAILABLE for a full or unwritable disk, as the document store answers (the log names the cause). */
const unavailable = (error: NodeJS.ErrnoException) =>
  UNWRITABLE.has(error.code ?? "")
    ? new BlobStoreUnavailableError(`Files directory: ${error.message}`, { cause: error })
    : error;

/** Errors of a path that is a folder (EISDIR; rm says ERR_FS_EISDIR) or lies under a stored file (ENOTDIR). */
const COLLISIONS = new Set(["EISDIR", "ERR_FS_EISDIR", "ENOTEMPTY", "ENOTDIR"]);
const isCollision = (error: NodeJS.ErrnoException) => COLLISIONS.has(error.code ?? "");

/**
 * Writes a file under a temporary name beside it, then renames it into place (atomic within a file
 * system): a read, or a settle judging a direct upload's size, sees the whole file or none, never
 * one half-written. The temporary name starts with a dot, which no file path a client sends can.
 */
async function writeWhole(file: string, data: Uint8Array | string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** A temporary file of writeWhole: a dot, the file's name, a random UUID, `.tmp`. */
const TEMPORARY = /^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary files writeWhole left under `root` when its process died while writing
 * (nothing else would: they have no record). Only for a store no write can be under way in: the
 * local server's at startup, its data dir locked and nothing served yet.
 */
export async function removeTemporaryFiles(root: string): Promise<void> {
  const names = await readdir(root, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return []; // nothing stored yet
    throw error;
  });
  for (const name of names) {
    if (TEMPORARY.test(basename(name))) await rm(join(root, name), { force: true });
  }
}

/**
 * A file's bytes (`bounds`: from `start` to `end`, inclusive) as a stream that opens the file at its
 * first read and closes it after its last or when cancelled: a body dropped unread (a HEAD answered
 * by a GET route, a response replaced by an error) holds no file descriptor.
 */
function readWhenAsked(file: string, bounds?: { start: number; end: number }): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= (Readable.toWeb(createReadStream(file, bounds)) as ReadableStream<Uint8Array>).getReader();
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader?.cancel(reason),
    },
    { highWaterMark: 0 }, // nothing is read before a consumer asks: the file stays closed until then
  );
}

/** The files directory of a data dir. */
export const filesDir = (dataDir: string) => join(dataDir, "files");
