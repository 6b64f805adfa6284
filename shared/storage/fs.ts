import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
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
      await makeFolder(dirname(file));
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
      // Opened here, not at the body's first read: a file deleted after get is still read whole
      // (the descriptor keeps its bytes), one deleted before is null (a 404, or no bytes to judge),
      // never a 200 whose body then fails or a look that throws ENOENT. The stream closes the
      // descriptor after its last byte or when cancelled (a client gone, a pipelined answer's
      // connection closed before its turn: shared/queued-responses.ts; firstBytes done).
      const file = fileOf(path);
      const handle = await open(file, "r").catch((error: NodeJS.ErrnoException) => {
        if (NOT_A_FILE.has(error.code ?? "")) return null;
        throw error;
      });
      if (!handle) return null;
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close(); // a folder opens for reading
        return null;
      }
      const bounds = range && { start: range.offset, end: range.offset + range.length - 1 }; // end inclusive
      const body = Readable.toWeb(handle.createReadStream(bounds)) as ReadableStream<Uint8Array>;
      const size = range ? Math.max(0, Math.min(range.length, info.size - range.offset)) : info.size;
      return { body, size, contentType: await typeOf(file) };
    },
    async head(path) {
      const file = fileOf(path);
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) return null;
      return { size: info.size, contentType: await typeOf(file) };
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

/**
 * Makes the folders of a path. A folder of it that is a stored file (`uploads/<random>-notes`, then
 * a folder of that name) is 409; one a DELETE removes while mkdir looks at it (ENOENT: it saw a
 * file, then found nothing) is looked at again, and is then made.
 */
async function makeFolder(folder: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(folder, { recursive: true });
      return;
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      if (code === "ENOENT" && attempt < 3) continue;
      if (code === "EEXIST" || code === "ENOTDIR") throw folderIsAFile();
      throw unavailable(error as NodeJS.ErrnoException);
    }
  }
}

/** Errors of a disk that is full or that this process may not write: no request can store now. */
const UNWRITABLE = new Set(["ENOSPC", "EDQUOT", "EROFS", "EACCES"]);

/** 503 SERVICE_UNAVAILABLE for a full or unwritable disk, as the document store answers (the log names the cause). */
const unavailable = (error: NodeJS.ErrnoException) =>
  UNWRITABLE.has(error.code ?? "")
    ? new BlobStoreUnavailableError(`Files directory: ${error.message}`, { cause: error })
    : error;

/** The stored type of `file` (written before it, so there unless a delete is removing both). */
const typeOf = (file: string) => readFile(`${file}.type`, "utf8").catch(() => "application/octet-stream");

/** Errors of opening a path where no file is stored: gone, a folder, or under a stored file. */
const NOT_A_FILE = new Set(["ENOENT", "EISDIR", "ENOTDIR"]);

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

/** The files directory of a data dir. */
export const filesDir = (dataDir: string) => join(dataDir, "files");
