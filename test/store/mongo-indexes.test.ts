/**
 * The mongo adapter's index calls, with the driver's collection calls intercepted
 * (mongo-intercept.ts): which indexes it asks for, which it takes for the port's, what it drops. No
 * server runs; what MongoDB makes of them is the contract suite's job (MONGODB_URI).
 */
import * as mongo from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { type Collection, DuplicateKeyError, StoreUnavailableError } from "../../shared/store/types.js";
import { interceptDriver } from "./mongo-intercept.js";

const driver = interceptDriver();
const { sent } = driver;
let c: Collection;
beforeAll(() => {
  c = driver.store.platform().collection("things");
});
const ID_INDEX = { v: 2, key: { _id: 1 }, name: "_id_" };

describe("mongo adapter indexes (driver calls intercepted, no server)", () => {
  it("an index on other keys than one field (compound, descending, text) is not taken for a port index, nor dropped", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { email: 1, tenant: 1 }, name: "email_1_tenant_1", unique: true },
      { v: 2, key: { email: -1 }, name: "email_-1" },
      { v: 2, key: { _fts: "text", _ftsx: 1 }, name: "bio_text" },
    ];
    expect(await c.listIndexes()).toEqual([]);
    await c.dropIndex("email");
    expect(sent("dropIndex")).toEqual([]);
  });

  it("a port index is {f: 1, _id: 1} (sortable with the _id tie-break); a unique one first adds a partial unique {f: 1}", async () => {
    await c.createIndex("email", { unique: true });
    await c.createIndex("status");
    expect(sent("createIndex")).toEqual([
      [{ email: 1 }, { name: "email_1", unique: true, partialFilterExpression: { email: { $exists: true } } }],
      [{ email: 1, _id: 1 }, { name: "email_1__id_1" }],
      [{ status: 1, _id: 1 }, { name: "status_1__id_1" }],
    ]);
    expect(sent("dropIndex")).toEqual([]);
  });

  it("the pair is listed and dropped as one index; a plain {f: 1} (older, or the database's own) is neither", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { email: 1 }, name: "email_1", unique: true, partialFilterExpression: { email: { $exists: true } } },
      { v: 2, key: { email: 1, _id: 1 }, name: "email_1__id_1" },
      { v: 2, key: { status: 1, _id: 1 }, name: "status_1__id_1" },
      { v: 2, key: { old: 1 }, name: "old_1" },
    ];
    expect(await c.listIndexes()).toEqual([
      { field: "email", unique: true },
      { field: "status", unique: false },
    ]);
    await c.dropIndex("email");
    await c.dropIndex("old");
    expect(sent("dropIndex")).toEqual([["email_1"], ["email_1__id_1"]]);
  });

  it("a unique {f: 1} that is not partial (a project's own database's) is listed as unique but never dropped", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { sku: 1 }, name: "sku_1", unique: true },
      { v: 2, key: { sku: 1, _id: 1 }, name: "sku_1__id_1" },
    ];
    expect(await c.listIndexes()).toEqual([{ field: "sku", unique: true }]);
    await c.dropIndex("sku");
    expect(sent("dropIndex")).toEqual([["sku_1__id_1"]]);
  });

  it("a non-unique index made where an older non-unique {f: 1} is drops that one once {f: 1, _id: 1} is made (a unique one stays)", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { status: 1 }, name: "status_1" },
      { v: 2, key: { status: 1, _id: 1 }, name: "status_1__id_1" },
      { v: 2, key: { email: 1 }, name: "email_1", unique: true },
    ];
    await c.createIndex("status");
    await c.createIndex("email");
    expect(driver.calls().map(([method, args]) => [method, args[0]])).toEqual([
      ["createIndex", { status: 1, _id: 1 }],
      ["indexes", undefined],
      ["dropIndex", "status_1"],
      ["createIndex", { email: 1, _id: 1 }],
      ["indexes", undefined],
    ]);
  });

  it("an index dropped meanwhile by another instance (27 IndexNotFound) is fine", async () => {
    driver.answers.indexes = async () => [ID_INDEX, { v: 2, key: { status: 1, _id: 1 }, name: "status_1__id_1" }];
    driver.answers.dropIndex = async () => {
      throw new mongo.MongoServerError({ code: 27, codeName: "IndexNotFound", errmsg: "index not found" });
    };
    await expect(c.dropIndex("status")).resolves.toBeUndefined();
  });

  it("a unique index over duplicates is DuplicateKeyError, and no other index is made", async () => {
    driver.answers.createIndex = async () => {
      throw new mongo.MongoServerError({
        code: 11000,
        errmsg:
          'Index build failed: E11000 duplicate key error collection: t_platform.things index: email_1 dup key: { email: "d" }',
      });
    };
    const error = await c.createIndex("email", { unique: true }).catch((e: unknown) => e);
    expect([error instanceof DuplicateKeyError, (error as DuplicateKeyError).field]).toEqual([true, "email"]);
    expect(sent("createIndex")).toHaveLength(1);
  });

  /** What the server answers a createIndex that an existing index is in the way of. */
  const conflict = (code: 85 | 86) => async () => {
    const codeName = code === 85 ? "IndexOptionsConflict" : "IndexKeySpecsConflict";
    throw new mongo.MongoServerError({ code, codeName, errmsg: "An existing index has the same name ..." });
  };

  it("an index of the database's own on exactly that key with the same uniqueness does the work (a BYO users.email_1 {unique: true}, not partial)", async () => {
    driver.answers.createIndex = conflict(86);
    driver.answers.indexes = async () => [ID_INDEX, { v: 2, key: { email: 1 }, name: "email_1", unique: true }];
    await expect(c.createIndex("email", { unique: true })).rejects.toBeInstanceOf(StoreUnavailableError); // no {email: 1, _id: 1}
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { email: 1 }, name: "email_1", unique: true },
      { v: 2, key: { email: 1, _id: 1 }, name: "by_email" },
    ];
    await expect(c.createIndex("email", { unique: true })).resolves.toBeUndefined();
    driver.answers.createIndex = conflict(85);
    await expect(c.createIndex("email", { unique: true })).resolves.toBeUndefined();
    expect(await c.listIndexes()).toEqual([{ field: "email", unique: true }]);
  });

  it("any other index in the way is StoreUnavailableError (503) naming the index asked for; other errors pass through", async () => {
    driver.answers.createIndex = conflict(85);
    driver.answers.indexes = async () => [ID_INDEX, { v: 2, key: { email: 1 }, name: "email_1" }];
    const error = await c.createIndex("email", { unique: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('things has an index in the way of email_1 {"email":1} (unique)');
    driver.answers.indexes = async () => [ID_INDEX, { v: 2, key: { email: 1, _id: 1 }, name: "x", unique: true }];
    await expect(c.createIndex("email")).rejects.toBeInstanceOf(StoreUnavailableError);
    driver.answers.createIndex = async () => {
      throw new mongo.MongoServerError({ code: 67, codeName: "CannotCreateIndex", errmsg: "no" });
    };
    await expect(c.createIndex("email")).rejects.toMatchObject({ code: 67 });
  });
});
