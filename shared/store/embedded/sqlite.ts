import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createClient, type InStatement } from "@libsql/client";
import { StoreUnavailableError } from "../types";
import type { Persistence, StoredWrite } from "./write-ops";

/**
 * SQLite persistence for the embedded store: one file, `edgeback.db`, in WAL mode. Writes that
 * arrive in the same turn of the event loop are committed together in one transaction (group
 * commit); each caller's promise resolves only after that transaction commits.
 * synchronous=NORMAL: a committed write survives a crash of the process, not of the machine.
 */

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS collections (db TEXT NOT NULL, coll TEXT NOT NULL, PRIMARY KEY (db, coll)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (db TEXT NOT NULL, coll TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (db, coll, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexes (db TEXT NOT NULL, coll TEXT NOT NULL, field TEXT NOT NULL, is_unique INTEGER NOT NULL, PRIMARY KEY (db, coll, field)) WITHOUT ROWID;
`;

function statements(write: StoredWrite): InStatement[] {
  if (write.kind === "dropDatabase") {
    return ["docs", "indexes", "collections"].map((table) => ({
      sql: `DELETE FROM ${table} WHERE db = ?`,
      args: [write.db],
    }));
  }
  const { db, coll } = write;
  if (write.kind === "dropCollection") {
    return ["docs", "indexes", "collections"].map((table) => ({
      sql: `DELETE FROM ${table} WHERE db = ? AND coll = ?`,
      args: [db, coll],
    }));
  }
  const out: InStatement[] = [{ sql: "INSERT OR IGNORE INTO collections (db, coll) VALUES (?, ?)", args: [db, coll] }];
  for (const op of write.ops) {
    switch (op.op) {
      case "put":
        out.push({
          sql: "INSERT INTO docs (db, coll, id, doc) VALUES (?, ?, ?, ?) ON CONFLICT (db, coll, id) DO UPDATE SET doc = excluded.doc",
          args: [db, coll, op.id, op.json],
        });
        break;
      case "delete":
        out.push({ sql: "DELETE FROM docs WHERE db = ? AND coll = ? AND id = ?", args: [db, coll, op.id] });
        break;
      case "createIndex":
        out.push({
          sql: "INSERT INTO indexes (db, coll, field, is_unique) VALUES (?, ?, ?, ?) ON CONFLICT (db, coll, field) DO UPDATE SET is_unique = excluded.is_unique",
          args: [db, coll, op.field, op.unique ? 1 : 0],
        });
        break;
      case "dropIndex":
        out.push({ sql: "DELETE FROM indexes WHERE db = ? AND coll = ? AND field = ?", args: [db, coll, op.field] });
        break;
    }
  }
  return out;
}

interface Pending {
  statements: InStatement[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Opens (creating when needed) `dataDir/edgeback.db`. */
export async function openSqlitePersistence(dataDir: string): Promise<Persistence> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const client = createClient({ url: `file:${join(dir, "edgeback.db")}` });
  await client.executeMultiple(SCHEMA);

  let queue: Pending[] = [];
  let scheduled = false;
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      await client.batch(
        batch.flatMap((p) => p.statements),
        "write",
      );
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  return {
    async catalog() {
      const result = await client.execute("SELECT db, coll FROM collections");
      return result.rows.map((row) => [String(row.db), String(row.coll)] as [string, string]);
    },
    async load(db, coll) {
      const [docs, indexes] = await client.batch(
        [
          { sql: "SELECT doc FROM docs WHERE db = ? AND coll = ?", args: [db, coll] },
          { sql: "SELECT field, is_unique FROM indexes WHERE db = ? AND coll = ?", args: [db, coll] },
        ],
        "read",
      );
      return {
        docs: (docs?.rows ?? []).map((row) => String(row.doc)),
        indexes: (indexes?.rows ?? []).map((row) => ({
          field: String(row.field),
          unique: Number(row.is_unique) === 1,
        })),
      };
    },
    commit(write) {
      if (closed) return Promise.reject(new StoreUnavailableError("Embedded store is closed"));
      return new Promise<void>((resolve, reject) => {
        queue.push({ statements: statements(write), resolve, reject });
        if (scheduled) return;
        scheduled = true;
        setImmediate(() => {
          flushing = flushing.then(flush);
        });
      });
    },
    async ping() {
      await client.execute("SELECT 1");
    },
    async close() {
      closed = true;
      while (scheduled || queue.length > 0) {
        await new Promise((r) => setImmediate(r));
        await flushing;
      }
      await flushing;
      client.close();
    },
  };
}
