/**
 * What only a MongoDB server can tell about the mongo adapter's indexes, seen through the driver
 * beside the port: which plan a list's sort gets, and how the adapter meets indexes it did not make
 * (an older shape, a bring-your-own database's own). Runs only with MONGODB_URI; skipped otherwise.
 */
import { MongoClient, type Sort } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openMongoStore } from "../../shared/store/mongo.js";
import { type DocumentStore, type DuplicateKeyError, StoreUnavailableError } from "../../shared/store/types.js";

const uri = process.env.MONGODB_URI;

describe.skipIf(!uri)("mongo adapter indexes on a server (MONGODB_URI)", () => {
  const dbPrefix = `ebs${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  let store: DocumentStore;
  let client: MongoClient;
  beforeAll(async () => {
    store = await openMongoStore({ uri: uri as string, dbPrefix });
    client = await new MongoClient(uri as string).connect();
  });
  afterAll(async () => {
    await client?.db(`${dbPrefix}_platform`).dropDatabase();
    await client?.close();
    await store?.close();
  });
  /** The same collection through the driver itself. */
  const raw = (name: string) => client.db(`${dbPrefix}_platform`).collection(name);
  const names = async (name: string) => (await raw(name).indexes()).map((index) => index.name);

  it("a list's sort with its _id tie-break is read from its field's index, unique or not, either way (no blocking SORT)", async () => {
    const c = store.platform().collection("sorted");
    await c.createIndex(["status"]);
    await c.createIndex(["email"], { unique: true });
    await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ status: `s${i % 5}`, email: `e${i}@x` })));
    for (const sort of [
      { status: -1, _id: -1 },
      { status: 1, _id: 1 },
      { email: 1, _id: 1 },
      { email: -1, _id: -1 },
    ] as Sort[]) {
      const explained = await raw("sorted").find({}).sort(sort).limit(21).explain("queryPlanner");
      const winning = JSON.stringify(explained.queryPlanner.winningPlan);
      expect(winning).toContain('"IXSCAN"');
      expect(winning).not.toContain('"stage":"SORT"');
    }
    expect(await c.listIndexes()).toEqual(
      expect.arrayContaining([
        { fields: ["status"], unique: false },
        { fields: ["email"], unique: true },
      ]),
    );
    expect(await c.listIndexes()).toHaveLength(2);
  });

  it("an older non-unique {f: 1} is replaced by {f: 1, _id: 1} when the index is made again", async () => {
    await raw("older").createIndex({ status: 1 }, { name: "status_1" });
    await store.platform().collection("older").createIndex(["status"]);
    expect((await names("older")).sort()).toEqual(["_id_", "status_1__id_1"]);
  });

  it("a unique compound index of the database's own is listed (it is what the database enforces) but never dropped", async () => {
    await raw("compound").createIndex({ email: 1, tenant: 1 }, { unique: true });
    const c = store.platform().collection("compound");
    expect(await c.listIndexes()).toEqual([{ fields: ["email", "tenant"], unique: true }]);
    await c.dropIndex(["email"]);
    await c.dropIndex(["email", "tenant"]);
    expect(await names("compound")).toContain("email_1_tenant_1");
  });

  it("a unique field named x_1_y and a group [x, y] both get their index; a bulk duplicate names the fields of either", async () => {
    const c = store.platform().collection("clash");
    await c.createIndex(["x_1_y"], { unique: true });
    await c.createIndex(["x", "y"], { unique: true });
    expect(await c.listIndexes()).toHaveLength(2);
    await c.insertOne({ x_1_y: 1, x: 1, y: 1 });
    const field = await c.insertMany([{ x_1_y: 1 }]).catch((e: unknown) => e);
    const group = await c.insertMany([{ x: 1, y: 1 }]).catch((e: unknown) => e);
    expect([(field as DuplicateKeyError).fields, (group as DuplicateKeyError).fields]).toEqual([["x_1_y"], ["x", "y"]]);
  });

  it("an index of the project's own on {a: 1, b: 1, _id: 1} is neither listed nor dropped", async () => {
    await raw("mine").createIndex({ status: 1, createdAt: 1, _id: 1 }, { name: "my_status_by_date" });
    const c = store.platform().collection("mine");
    expect(await c.listIndexes()).toEqual([]);
    await c.dropIndex(["status", "createdAt"]);
    expect(await names("mine")).toContain("my_status_by_date");
  });

  it("a unique index of the database's own under the adapter's name (not partial) does the work; a non-unique one is in the way (503)", async () => {
    await raw("own").createIndex({ email: 1 }, { name: "email_1", unique: true });
    const own = store.platform().collection("own");
    await expect(own.createIndex(["email"], { unique: true })).resolves.toBeUndefined();
    expect(await own.listIndexes()).toEqual([{ fields: ["email"], unique: true }]);
    await raw("other").createIndex({ email: 1 }, { name: "email_1" });
    const other = store.platform().collection("other");
    await expect(other.createIndex(["email"], { unique: true })).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
