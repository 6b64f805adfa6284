import { constants } from "node:fs";
import { access, mkdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { InStatement, InValue } from "@libsql/client";
import { type IndexFields, indexKeyName, StoreUnavailableError } from "../types.js";
import type { Persistence, StoredWrite } from "./write-ops.js";

/**
 * SQLite persistence for the embedded store: one file, `edgeback.db`, in WAL mode. Writes that
 * arrive in the same turn of the event loop are committed together in one transaction (group
 * commit); each caller's promise resolves only after that transaction commits.
 * synchronous=NORMAL: a committed write survives a crash of the process, not of the machine.
 * One process per directory: the connection holds SQLite's exclusive lock on the file for its life
 * (locking_mode=EXCLUSIVE, set before WAL so no shared-memory index is used either), so a second
 * process is refused, and the lock goes with the process however it ends: nothing stale to take over.
 * busy_timeout: two processes opening at once may each hold a read lock when they ask for the write
 * lock, and both be refused; the one refused first lets go, and the other's short wait then wins.
 */

const SCHEMA = `
PRAGMA busy_timeout = 250;
PRAGMA locking_mode = EXCLUSIVE;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS collections (db TEXT NOT NULL, coll TEXT NOT NULL, PRIMARY KEY (db, coll)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (db TEXT NOT NULL, coll TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (db, coll, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexes (db TEXT NOT NULL, coll TEXT NOT NULL, field TEXT NOT NULL, is_unique INTEGER NOT NULL, PRIMARY KEY (db, coll, field)) WITHOUT ROWID;
`;

/**
 * An index's row names its key in the `field` column. A single-field index's row holds that field
 * alone, as every row did before compound keys, so a data directory written then loads unchanged. A
 * compound key is a NUL, then its fields joined by NUL (`indexKeyName`): read as a BLOB here, since
 * @libsql/client ends a TEXT value it reads at its first NUL, while a release from before compound
 * keys, rolled back to, reads it as "" (an index on no field, which refuses nothing) rather than as a
 * unique index on the group's first field.
 */
const storedKey = (fields: IndexFields) => (fields.length > 1 ? `\0${indexKeyName(fields)}` : indexKeyName(fields));
const keyFields = (column: ArrayBuffer) => new TextDecoder().decode(column).replace(/^\0/, "").split("\0");

/** Rows per multi-row statement (4 values each, far below SQLite's limit on bound values). */
const MAX_ROWS = 500;

const PUT = "INSERT INTO docs (db, coll, id, doc) VALUES ";
const PUT_CONFLICT = " ON CONFLICT (db, coll, id) DO UPDATE SET doc = excluded.doc";
const DELETE = "DELETE FROM docs WHERE (db, coll, id) IN (VALUES ";

/** A multi-row statement: `rows` tuples of `width` placeholders between a head and a tail. */
function rowsStatement(head: string, width: number, tail: string, args: InValue[]): InStatement {
  const row = `(${Array(width).fill("?").join(", ")})`;
  return {
    sql: `${head}${Array(args.length / width)
      .fill(row)
      .join(", ")}${tail}`,
    args,
  };
}

/** A collection as `registered` names it. */
const registeredKey = (db: string, coll: string) => `${db}\u0000${coll}`;

/**
 * The statements committing a batch of writes in order. Consecutive puts become one multi-row upsert
 * and consecutive deletes one multi-row delete (a later row wins, as a later statement would), so a
 * group commit prepares a handful of statements however many documents it carries. `registered`
 * holds the collections the file lists (`db\0coll`), updated as if the batch commits: only the others
 * are registered again (each statement costs about 30 µs of CPU through @libsql/client).
 */
function batchStatements(writes: readonly StoredWrite[], registered: Set<string>): InStatement[] {
  const out: InStatement[] = [];
  const collections = new Map<string, InValue[]>();
  let segment: InStatement[] = [];
  let run: { kind: "put" | "delete"; args: InValue[] } | undefined;
  const endRun = () => {
    if (run?.kind === "put") segment.push(rowsStatement(PUT, 4, PUT_CONFLICT, run.args));
    if (run?.kind === "delete") segment.push(rowsStatement(DELETE, 3, ")", run.args));
    run = undefined;
  };
  const addRow = (kind: "put" | "delete", row: InValue[]) => {
    if (run && (run.kind !== kind || run.args.length >= MAX_ROWS * row.length)) endRun();
    run ??= { kind, args: [] };
    run.args.push(...row);
  };
  // Collections are registered ahead of their segment's ops; a drop ends the segment.
  const endSegment = () => {
    endRun();
    if (collections.size > 0)
      out.push(
        rowsStatement("INSERT OR IGNORE INTO collections (db, coll) VALUES ", 2, "", [...collections.values()].flat()),
      );
    for (const key of collections.keys()) registered.add(key);
    out.push(...segment);
    collections.clear();
    segment = [];
  };
  for (const write of writes) {
    if (write.kind !== "ops") {
      endSegment();
      if (write.kind === "dropCollection") registered.delete(registeredKey(write.db, write.coll));
      else for (const key of registered) if (key.startsWith(registeredKey(write.db, ""))) registered.delete(key);
      const where = write.kind === "dropDatabase" ? "db = ?" : "db = ? AND coll = ?";
      const args = write.kind === "dropDatabase" ? [write.db] : [write.db, write.coll];
      for (const table of ["docs", "indexes", "collections"])
        out.push({ sql: `DELETE FROM ${table} WHERE ${where}`, args });
      continue;
    }
    const { db, coll } = write;
    const key = registeredKey(db, coll);
    if (!registered.has(key)) collections.set(key, [db, coll]);
    for (const op of write.ops) {
      if (op.op === "put") addRow("put", [db, coll, op.id, op.json]);
      else if (op.op === "delete") addRow("delete", [db, coll, op.id]);
      else {
        endRun();
        segment.push(
          op.op === "createIndex"
            ? {
                sql: "INSERT INTO indexes (db, coll, field, is_unique) VALUES (?, ?, ?, ?) ON CONFLICT (db, coll, field) DO UPDATE SET is_unique = excluded.is_unique",
                args: [db, coll, storedKey(op.fields), op.unique ? 1 : 0],
              }
            : {
                sql: "DELETE FROM indexes WHERE db = ? AND coll = ? AND field = ?",
                args: [db, coll, storedKey(op.fields)],
              },
        );
      }
    }
  }
  endSegment();
  return out;
}

/** The data directory cannot be used (another process's, not writable): the message says why and what to do. */
export class DataDirError extends Error {
  override name = "DataDirError";
}

/** Errors of a directory or file this process may not write (permissions, a read-only file system). */
const UNWRITABLE = new Set(["EACCES", "EPERM", "EROFS", "SQLITE_READONLY"]);

/** How often a ping looks for the data directory's file. */
const PING_EVERY_MS = 1000;

/** Data directories open in this process (SQLite refuses a second connection too, in vaguer words). */
const held = new Set<string>();

/** The process holding a lock on `file`, from /proc/locks (Linux); undefined where it cannot be told. */
async function lockHolder(file: string): Promise<number | undefined> {
  const [info, locks] = await Promise.all([
    stat(file).catch(() => null),
    readFile("/proc/locks", "utf8").catch(() => ""),
  ]);
  // "1: POSIX  ADVISORY  WRITE <pid> <major>:<minor>:<inode> <start> <end>"
  for (const line of locks.split("\n")) {
    const [, , , , pid, where] = line.trim().split(/\s+/);
    if (info && where?.endsWith(`:${info.ino}`) && Number(pid) !== process.pid) return Number(pid);
  }
  return undefined;
}

interface Pending {
  write: StoredWrite;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Opens (creating when needed) `dataDir/edgeback.db`. @libsql/client (a native addon) is imported
 * here, not at the top: a bundle that holds this module (esbuild hoists an external static import to
 * the top of an ESM bundle) loads it only when an on-disk store is opened, never on a Lambda cold start.
 */
export async function openSqlitePersistence(dataDir: string): Promise<Persistence> {
  const { createClient } = await import("@libsql/client");
  const dir = resolve(dataDir);
  if (held.has(dir)) throw new Error(`DATA_DIR ${dir} is already open in this process`);
  const notWritable = (error: unknown) => {
    const code = String((error as { code?: string }).code);
    if (!UNWRITABLE.has(code)) return error;
    return new DataDirError(
      `DATA_DIR ${dir} is not writable (${code}): give this process write access to it, or start it with another DATA_DIR`,
      { cause: error },
    );
  };
  // Checked here, where SQLite would say only "Unable to open connection" (a new file) or nothing
  // until the first write (an existing one).
  await mkdir(dir, { recursive: true })
    .then(() => access(dir, constants.W_OK))
    .catch((error: unknown) => {
      throw notWritable(error);
    });
  const path = join(dir, "edgeback.db");
  const client = createClient({ url: `file:${path}` });
  // libsql's close() leaves the connection open until the garbage collector reclaims its statements
  // (tursodatabase/libsql-js#228), and with it the lock, which would refuse a reopen in this process:
  // the lock is given back before each close. NORMAL locking needs leaving WAL first.
  const closeClient = async () => {
    await client
      .executeMultiple("PRAGMA journal_mode = DELETE; PRAGMA locking_mode = NORMAL; SELECT 1 FROM sqlite_master;")
      .catch(() => undefined);
    client.close();
  };
  let crashed: boolean;
  try {
    await client.executeMultiple(SCHEMA);
    // The first write transaction takes the exclusive lock. "open" stays until a clean close: found
    // here, the last process on this file ended without closing it (killed, crashed).
    const [marker] = await client.batch(
      [
        "SELECT value FROM meta WHERE key = 'open'",
        { sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('open', ?)", args: [String(process.pid)] },
      ],
      "write",
    );
    crashed = (marker?.rows.length ?? 0) > 0;
  } catch (error) {
    await closeClient();
    if ((error as { code?: string }).code !== "SQLITE_BUSY") throw notWritable(error);
    const holder = await lockHolder(path);
    throw new DataDirError(
      `DATA_DIR ${dir} is in use by ${holder ? `process ${holder}` : "another process"} (one Edgeback process per data directory): stop it, or start this one with another DATA_DIR`,
    );
  }
  held.add(dir);
  // SQLite goes on writing to a file whose directory was removed (rm -rf DATA_DIR): its writes would
  // be acknowledged and lost. Each group commit and ping checks the file is still there (by its path
  // only: inode numbers are not stable on every file system a DATA_DIR may be mounted from).
  let gone: string | undefined;
  let lastLook = 0;
  async function assertStillThere(): Promise<void> {
    if (gone === undefined) {
      // Only its absence: another error (a permission changed) is not a removed directory.
      const missing = await stat(path).then(
        () => false,
        (error: NodeJS.ErrnoException) => error.code === "ENOENT" || error.code === "ENOTDIR",
      );
      if (!missing) return;
      gone = `DATA_DIR ${dir} was removed while the server ran (${path} is gone): writes are refused; restore it and restart`;
      console.error(gone);
    }
    throw new StoreUnavailableError(gone);
  }

  /** The collections the file lists, as far as this connection's commits tell (see batchStatements). */
  const registered = new Set<string>();
  let queue: Pending[] = [];
  let scheduled = false;
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;
  let failed = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      await assertStillThere();
      const statements = batchStatements(
        batch.map((p) => p.write),
        registered,
      );
      await client.batch(statements, "write");
      for (const p of batch) p.resolve();
    } catch (error) {
      failed = true;
      registered.clear(); // what the batch registered was rolled back: every collection registers again
      for (const p of batch) p.reject(error);
    }
  }

  return {
    crashed,
    async catalog() {
      const result = await client.execute("SELECT db, coll FROM collections");
      return result.rows.map((row) => [String(row.db), String(row.coll)] as [string, string]);
    },
    async load(db, coll) {
      const [docs, indexes] = await client.batch(
        [
          { sql: "SELECT doc FROM docs WHERE db = ? AND coll = ?", args: [db, coll] },
          {
            sql: "SELECT CAST(field AS BLOB) AS field, is_unique FROM indexes WHERE db = ? AND coll = ?",
            args: [db, coll],
          },
        ],
        "read",
      );
      return {
        docs: (docs?.rows ?? []).map((row) => String(row.doc)),
        indexes: (indexes?.rows ?? []).map((row) => ({
          fields: keyFields(row.field as ArrayBuffer),
          unique: Number(row.is_unique) === 1,
        })),
      };
    },
    commit(write) {
      if (closed) return Promise.reject(new StoreUnavailableError("Embedded store is closed"));
      return new Promise<void>((resolve, reject) => {
        queue.push({ write, resolve, reject });
        if (scheduled) return;
        scheduled = true;
        setImmediate(() => {
          flushing = flushing.then(flush);
        });
      });
    },
    async ping() {
      // Health checks come often (load balancers): the file is looked at once a second at most.
      if (gone === undefined && Date.now() - lastLook < PING_EVERY_MS) return;
      lastLook = Date.now();
      await assertStillThere();
    },
    async close() {
      closed = true;
      while (scheduled || queue.length > 0) {
        await new Promise((r) => setImmediate(r));
        await flushing;
      }
      await flushing;
      // A clean close, unless a write failed (what it reserved may be counted without it).
      if (!failed && gone === undefined)
        await client.execute("DELETE FROM meta WHERE key = 'open'").catch(() => undefined);
      await closeClient();
      held.delete(dir);
    },
  };
}
