import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openEmbeddedStore } from "../../shared/store/embedded/index.js";
import { AggregateLimitError, MAX_DOCUMENTS_FLOWING } from "../../shared/store/embedded/mingo-context.js";
import { DOCUMENT_JSON, type Doc, QueryTimeoutError, StoreUnavailableError } from "../../shared/store/types.js";
import { storeContract } from "./contract.js";

storeContract("embedded, in memory", async () => ({ store: await openEmbeddedStore({ dataDir: null }) }), {
  durable: false,
});

storeContract(
  "embedded, on disk",
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgeback-store-"));
    let current = await openEmbeddedStore({ dataDir });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openEmbeddedStore({ dataDir });
        return current;
      },
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
  { durable: true },
);

// The log keeps the order in which one turn's writes were issued. MongoDB promises no such order for
// concurrent operations (they run on separate pooled connections), so this is not in the contract.
describe("writes of one turn, on disk", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "edgeback-order-"));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it("writes made in one turn keep their order after reopen (overwrites, deletes, drops, large batches)", async () => {
    const store = await openEmbeddedStore({ dataDir });
    const db = store.platform();
    const c = db.collection("mixed");
    const seeded = await c.insertMany(Array.from({ length: 1200 }, (_, i) => ({ i })));
    const [first, second] = seeded as [Doc, Doc];
    await Promise.all([
      c.deleteOne({ _id: first._id }),
      c.insertOne({ _id: first._id, again: true }),
      c.updateOne({ _id: second._id }, { $set: { v: 1 } }),
      c.updateOne({ _id: second._id }, { $set: { v: 2 } }),
      c.deleteMany({ i: { $gte: 600 } }),
      c.insertMany(Array.from({ length: 700 }, (_, i) => ({ i: 2000 + i }))),
      db.collection("temp").insertOne({ n: 1 }),
    ]);
    await db.dropCollection("temp");
    await db.collection("temp").insertOne({ n: 2 });
    await store.close();
    const reopenedStore = await openEmbeddedStore({ dataDir });
    const reopened = reopenedStore.platform();
    const again = reopened.collection("mixed");
    expect(await again.count()).toBe(600 + 700);
    expect(await again.findOne({ _id: first._id })).toEqual({ _id: first._id, again: true });
    expect(await again.findOne({ _id: second._id })).toEqual({ _id: second._id, i: 1, v: 2 });
    expect(await again.count({ i: { $gte: 600, $lt: 2000 } })).toBe(0);
    expect((await reopened.collection("temp").find({})).map((d) => d.n)).toEqual([2]);
    await reopenedStore.close();
  });

  it("lists after reopen a collection written again after its drop, or its database's, in a later commit", async () => {
    const store = await openEmbeddedStore({ dataDir });
    const tenant = store.tenant({ projectId: "p1" });
    await tenant.collection("a").insertOne({ n: 1 });
    await tenant.collection("b").insertOne({ n: 1 });
    await tenant.collection("a").insertOne({ n: 2 }); // a commit of a collection already listed
    await tenant.dropCollection("a");
    await tenant.collection("a").insertOne({ n: 3 });
    await store.platform().collection("c").insertOne({ n: 1 });
    await tenant.drop();
    await tenant.collection("b").insertOne({ n: 2 });
    await store.close();
    const reopened = await openEmbeddedStore({ dataDir });
    expect(await reopened.tenant({ projectId: "p1" }).listCollections()).toEqual(["b"]);
    expect(await reopened.platform().listCollections()).toEqual(["c"]);
    await reopened.close();
  });
});

describe("one process per data directory", () => {
  let dataDir: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "edgeback-lock-"));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Another process that opens and closes the data directory on command (data-dir-child.ts). */
  function otherProcess() {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "data-dir-child.ts"), dataDir],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    children.push(child);
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    return {
      child,
      /** Sends a command; resolves with the line it printed. */
      async send(command: "open" | "close"): Promise<string> {
        const lines = output.split("\n").length;
        child.stdin?.write(`${command}\n`);
        while (output.split("\n").length === lines) await new Promise((resolve) => setTimeout(resolve, 5));
        return output.split("\n")[lines - 1] as string;
      },
    };
  }

  it("a directory open in this process or another live one is refused, naming it; a killed holder leaves nothing to take over", async () => {
    const first = await openEmbeddedStore({ dataDir });
    await first.platform().collection("c").insertOne({ _id: "a", n: 1 });
    await expect(openEmbeddedStore({ dataDir })).rejects.toThrow(/already open in this process/);
    await first.close();

    const other = otherProcess();
    expect(await other.send("open")).toBe("open");
    await expect(openEmbeddedStore({ dataDir })).rejects.toThrow(
      new RegExp(`^DATA_DIR .* is in use by process ${other.child.pid} \\(one Edgeback process per data directory\\)`),
    );
    other.child.kill("SIGKILL");
    await new Promise((resolve) => other.child.once("exit", resolve));

    const again = await openEmbeddedStore({ dataDir });
    expect(await again.platform().collection("c").findOne({ _id: "a" })).toMatchObject({ n: 1 });
    await again.close();
  });

  it("two processes opening it at the same instant: one gets it, the other is refused (a stale edgeback.lock of an older version means nothing)", async () => {
    const [a, b] = [otherProcess(), otherProcess()];
    for (let round = 0; round < 12; round++) {
      await writeFile(join(dataDir, "edgeback.lock"), "4999999 1\n");
      const answers = await Promise.all([a.send("open"), b.send("open")]);
      expect(answers.filter((answer) => answer === "open")).toHaveLength(1);
      expect(answers.filter((answer) => answer.startsWith("refused: DATA_DIR"))).toHaveLength(1);
      await Promise.all([a.send("close"), b.send("close")]);
    }
  });

  it("tells whether the last process to open it ended without closing it", async () => {
    const first = await openEmbeddedStore({ dataDir });
    expect(first.uncleanShutdown).toBe(false);
    await first.close();
    const other = otherProcess();
    expect(await other.send("open")).toBe("open");
    other.child.kill("SIGKILL");
    await new Promise((resolve) => other.child.once("exit", resolve));
    const afterCrash = await openEmbeddedStore({ dataDir });
    expect(afterCrash.uncleanShutdown).toBe(true);
    await afterCrash.close();
    const again = await openEmbeddedStore({ dataDir });
    expect(again.uncleanShutdown).toBe(false);
    await again.close();
  });

  it("a failed open gives the directory back", async () => {
    // A database file whose tables are not the store's: the open fails after the lock was taken.
    const { createClient } = await import("@libsql/client");
    const client = createClient({ url: `file:${join(dataDir, "edgeback.db")}` });
    await client.execute("CREATE TABLE collections (x TEXT)");
    client.close();
    await expect(openEmbeddedStore({ dataDir })).rejects.toThrow(/no such column|has no column/);
    const other = otherProcess();
    expect(await other.send("open")).toBe("open");
  });

  it("a unique index loaded over duplicate values (two processes wrote them) is logged", async () => {
    const store = await openEmbeddedStore({ dataDir });
    const c = store.platform().collection("people");
    await c.createIndex(["email"], { unique: true });
    await c.insertMany([
      { _id: "a", email: "x" },
      { _id: "b", email: "y" },
    ]);
    await store.close();
    const { createClient } = await import("@libsql/client");
    const client = createClient({ url: `file:${join(dataDir, "edgeback.db")}` });
    await client.execute(`UPDATE docs SET doc = '{"_id":"b","email":"x"}' WHERE id = 'b'`);
    client.close();

    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const reopened = await openEmbeddedStore({ dataDir });
    expect(await reopened.platform().collection("people").count()).toBe(2);
    expect(logged).toHaveBeenCalledWith(
      expect.stringMatching(
        /unique index "email" of platform\.people holds duplicate values \(document [ab] among them\)/,
      ),
    );
    logged.mockRestore();
    await reopened.close();
  });
});

describe("a data directory written before compound index keys", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "edgeback-old-indexes-"));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it("loads unchanged: each index row's one field is an index of that field, enforced, and a compound one adds to them", async () => {
    // The tables and rows as the store wrote them when an index op carried a single `field`.
    const { createClient } = await import("@libsql/client");
    const client = createClient({ url: `file:${join(dataDir, "edgeback.db")}` });
    await client.executeMultiple(`
      CREATE TABLE collections (db TEXT NOT NULL, coll TEXT NOT NULL, PRIMARY KEY (db, coll)) WITHOUT ROWID;
      CREATE TABLE docs (db TEXT NOT NULL, coll TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (db, coll, id)) WITHOUT ROWID;
      CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE indexes (db TEXT NOT NULL, coll TEXT NOT NULL, field TEXT NOT NULL, is_unique INTEGER NOT NULL, PRIMARY KEY (db, coll, field)) WITHOUT ROWID;
      INSERT INTO collections VALUES ('platform', 'people');
      INSERT INTO docs VALUES ('platform', 'people', 'a', '{"_id":"a","email":"x","age":1,"profile":{"handle":"h"}}');
      INSERT INTO docs VALUES ('platform', 'people', 'b', '{"_id":"b","email":"y","age":1}');
      INSERT INTO indexes VALUES ('platform', 'people', 'email', 1), ('platform', 'people', 'age', 0), ('platform', 'people', 'profile.handle', 1);
    `);
    client.close();

    const store = await openEmbeddedStore({ dataDir });
    const people = () => store.platform().collection("people");
    const sorted = async () =>
      (await people().listIndexes()).sort((a, b) => a.fields.join().localeCompare(b.fields.join()));
    expect(await sorted()).toEqual([
      { fields: ["age"], unique: false },
      { fields: ["email"], unique: true },
      { fields: ["profile.handle"], unique: true },
    ]);
    await expect(people().insertOne({ email: "x" })).rejects.toThrow('Duplicate value for unique field "email"');
    await expect(people().insertOne({ profile: { handle: "h" } })).rejects.toThrow('unique field "profile.handle"');
    await people().createIndex(["age", "email"], { unique: true });
    await people().dropIndex(["profile.handle"]);
    await store.close();

    const reopened = await openEmbeddedStore({ dataDir });
    const again = reopened.platform().collection("people");
    expect((await again.listIndexes()).map((index) => index.fields.join("+")).sort()).toEqual([
      "age",
      "age+email",
      "email",
    ]);
    await expect(again.updateOne({ _id: "b" }, { $set: { email: "x" } })).rejects.toThrow('unique field "email"');
    expect(await again.insertOne({ profile: { handle: "h" } })).toMatchObject({ profile: { handle: "h" } });
    await reopened.close();

    // Read as that release read its rows (TEXT, which @libsql/client ends at a NUL), the compound key
    // is "": an index on no field, refusing nothing, not a unique index on its first field, `age`.
    const client2 = createClient({ url: `file:${join(dataDir, "edgeback.db")}` });
    const rows = (await client2.execute("SELECT field, is_unique FROM indexes WHERE coll = 'people'")).rows;
    client2.close();
    expect(rows.map((row) => [String(row.field), Number(row.is_unique)]).sort()).toEqual([
      ["", 1],
      ["age", 0],
      ["email", 1],
    ]);
  });
});

describe("a data directory removed while open", () => {
  it("refuses the next write and the ping (nothing acknowledged that a restart would not find)", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgeback-removed-"));
    const store = await openEmbeddedStore({ dataDir });
    const c = store.platform().collection("c");
    await c.insertOne({ n: 1 });
    await store.ping();
    await rm(dataDir, { recursive: true, force: true });
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await expect(c.insertOne({ n: 2 })).rejects.toThrow(/^DATA_DIR .* was removed while the server ran/);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(c.find({})).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(logged).toHaveBeenCalledTimes(1);
    logged.mockRestore();
    await store.close();
  });

  it("a ping finds it first: health answers 503 before any write", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgeback-removed-"));
    const store = await openEmbeddedStore({ dataDir });
    await store.platform().collection("c").insertOne({ n: 1 });
    await rm(dataDir, { recursive: true, force: true });
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await expect(store.ping()).rejects.toThrow(/was removed/);
    await expect(store.platform().collection("c").insertOne({ n: 2 })).rejects.toThrow(/was removed/);
    logged.mockRestore();
    await store.close();
  });
});

describe("embedded documents carry the JSON they are stored as", () => {
  it("under a key that no copy, key listing or serialization sees", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("things");
    const inserted = await c.insertOne({ name: "a", meta: { lang: "en" } });
    const [found] = await c.find({});
    for (const doc of [inserted, found!]) {
      expect(Object.getOwnPropertyDescriptor(doc, DOCUMENT_JSON)).toMatchObject({
        value: JSON.stringify(doc),
        enumerable: false,
      });
      expect(Object.getOwnPropertySymbols({ ...doc })).toEqual([]);
      expect(Reflect.ownKeys(doc).filter((key) => typeof key === "string")).toEqual(["_id", "name", "meta"]);
    }
    await store.close();
  });
});

describe("embedded query time limit", () => {
  it("stops a find, a count and an aggregate's leading $match that test documents past maxTimeMs", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("heavy");
    await c.insertMany(Array.from({ length: 20_000 }, (_, i) => ({ text: `t${i}`.repeat(20) })));
    // 100 regex conditions per document, none matching: every one is tested (an `$and` stopped at its
    // first miss, which a fast machine got through within the limit), seconds of work over 20 000 documents.
    const filter = { $or: Array.from({ length: 100 }, (_, i) => ({ text: { $regex: `x${i}$` } })) };
    for (const run of [
      () => c.find(filter, { maxTimeMs: 20 }),
      () => c.count(filter, { maxTimeMs: 20 }),
      () => c.aggregate([{ $match: filter }, { $count: "n" }], { maxTimeMs: 20 }),
    ]) {
      const started = Date.now();
      await expect(run()).rejects.toBeInstanceOf(QueryTimeoutError);
      expect(Date.now() - started).toBeLessThan(500);
    }
    const cheap = { text: { $regex: "^t1999" } };
    expect(await c.find(cheap, { maxTimeMs: 60_000 })).toHaveLength(11);
    expect(await c.count(cheap, { maxTimeMs: 60_000 })).toBe(11);
    await store.close();
  });
});

describe("embedded load of a large collection", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "edgeback-load-"));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  /** The store reopened over a collection "big" of `size` documents, so that its next use loads them. */
  async function reopenedOverBig(size: number) {
    const store = await openEmbeddedStore({ dataDir });
    await store
      .platform()
      .collection("big")
      .insertMany(Array.from({ length: size }, (_, i) => ({ i })));
    await store.close();
    return openEmbeddedStore({ dataDir });
  }

  it("parses it in slices: timers run while it loads, and every document is there after", async () => {
    const store = await reopenedOverBig(20_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const count = await store.platform().collection("big").count();
    clearInterval(timer);
    expect(count).toBe(20_000);
    expect(ticks).toBeGreaterThan(0);
    expect(
      await store
        .platform()
        .collection("big")
        .count({ i: { $gte: 19_990 } }),
    ).toBe(10);
    await store.close();
  });

  it("a write admitted while it loads is finished by close(), not refused", async () => {
    const store = await reopenedOverBig(12_000);
    const id = "0123456789abcdef01234567";
    const write = store.platform().collection("big").insertOne({ _id: id, late: true }); // starts the load
    await new Promise((resolve) => setTimeout(resolve, 5)); // read from disk; parsing in slices
    await store.close();
    await expect(write).resolves.toMatchObject({ _id: id });
    const again = await openEmbeddedStore({ dataDir });
    expect(await again.platform().collection("big").findOne({ _id: id })).toMatchObject({ late: true });
    await again.close();
  });
});

describe("embedded count cache", () => {
  it("remembers counts of short filters only (a long filter is counted afresh, never kept)", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("counted");
    await c.insertMany([{ a: "x" }, { a: "y" }]);
    const cached = () => (c as unknown as { counts: Map<string, number> }).counts.size;
    expect(await c.count({ a: "x" })).toBe(1);
    expect(cached()).toBe(1);
    const long = { a: { $nin: Array.from({ length: 100 }, (_, i) => `value-${i}-${"z".repeat(20)}`) } };
    expect(await c.count(long)).toBe(2);
    expect(cached()).toBe(1);
    await store.close();
  });
});

describe("embedded aggregate time limit", () => {
  it("stops a pipeline that runs past maxTimeMs, and answers in time otherwise", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("heavy");
    await c.insertMany(Array.from({ length: 20_000 }, (_, i) => ({ g: i % 100, text: `t${i}`.repeat(20) })));
    const pipeline = [
      { $addFields: { long: { $concat: ["$text", "$text", "$text"] } } },
      { $group: { _id: "$g", n: { $sum: 1 } } },
    ];
    await expect(c.aggregate(pipeline, { maxTimeMs: 1 })).rejects.toBeInstanceOf(QueryTimeoutError);
    expect(await c.aggregate(pipeline, { maxTimeMs: 60_000 })).toHaveLength(100);
    await store.close();
  });

  it("bounds one document's expression too: a $reduce that would run for minutes stops at the limit", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("one");
    await c.insertOne({ n: 1 });
    // Appending to a growing array copies it on every step: quadratic in the 100 000 steps.
    const steps = Array.from({ length: 100_000 }, (_, i) => i);
    const pipeline = [
      {
        $project: {
          x: { $reduce: { input: steps, initialValue: [], in: { $concatArrays: ["$$value", ["$$this"]] } } },
        },
      },
    ];
    const started = Date.now();
    await expect(c.aggregate(pipeline, { maxTimeMs: 100 })).rejects.toBeInstanceOf(QueryTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
    await store.close();
  });
});

describe("embedded aggregate size limits", () => {
  it("a value doubled by $reduce stops at 16 MiB (strings) or 2 Mi elements (arrays), not at the heap's end", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("bomb");
    await c.insertOne({ n: 1 });
    const doubling = (initialValue: unknown, op: string) => [
      {
        $project: {
          x: {
            $reduce: {
              input: Array.from({ length: 40 }, (_, i) => i),
              initialValue,
              in: { [op]: ["$$value", "$$value"] },
            },
          },
        },
      },
    ];
    for (const pipeline of [doubling("ab", "$concat"), doubling([1], "$concatArrays")]) {
      await expect(c.aggregate(pipeline, { maxTimeMs: 60_000 })).rejects.toBeInstanceOf(AggregateLimitError);
    }
    // Below the limits the same expressions work.
    const [small] = await c.aggregate([{ $project: { s: { $strLenCP: { $concat: ["ab", "cd"] } } } }], {
      maxTimeMs: 60_000,
    });
    expect(small).toMatchObject({ s: 4 });
    await store.close();
  });

  it(`stops a pipeline that passes more than ${MAX_DOCUMENTS_FLOWING} documents between stages (a cross product)`, async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("cross");
    await c.insertMany(Array.from({ length: 1050 }, (_, n) => ({ n })));
    const pipeline = [
      { $group: { _id: null, a: { $push: "$n" }, b: { $push: "$n" } } },
      { $unwind: "$a" },
      { $unwind: "$b" },
      { $count: "pairs" },
    ];
    await expect(c.aggregate(pipeline, { maxTimeMs: 60_000 })).rejects.toBeInstanceOf(AggregateLimitError);
    await store.close();
  });
});
