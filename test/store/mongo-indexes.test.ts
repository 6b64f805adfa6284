/**
 * The mongo adapter's index calls, with the driver's collection calls intercepted
 * (mongo-intercept.ts): which indexes it asks for, which it takes for the port's, what it drops. No
 * server runs; what MongoDB makes of them is the contract suite's job (MONGODB_URI).
 */
import * as mongo from "mongodb";
import { beforeAll, describe, expect, it } from "vitest";
import { syncIndexes } from "../../shared/collection-indexes.js";
import { sha256Hex } from "../../shared/crypto.js";
import { parseDefinition } from "../../shared/schema/definition.js";
import { type Collection, DuplicateKeyError, StoreUnavailableError } from "../../shared/store/types.js";
import { interceptDriver } from "./mongo-intercept.js";

const driver = interceptDriver();
const { sent } = driver;
let c: Collection;
beforeAll(() => {
  c = driver.store.platform().collection("things");
});
const ID_INDEX = { v: 2, key: { _id: 1 }, name: "_id_" };
/** The port's name of the group [listingId, buyerId]. */
const GROUP_NAME = `unique_together_${sha256Hex(JSON.stringify(["listingId", "buyerId"])).slice(0, 16)}`;

describe("mongo adapter indexes (driver calls intercepted, no server)", () => {
  it("an index on other keys (descending, text, _id inside) is not taken for a port index, nor dropped; a unique compound one of the database's own is listed, never dropped", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { email: 1, tenant: 1 }, name: "email_1_tenant_1", unique: true },
      { v: 2, key: { email: -1 }, name: "email_-1" },
      { v: 2, key: { a: 1, _id: 1, b: 1 }, name: "a_1__id_1_b_1" },
      { v: 2, key: { _fts: "text", _ftsx: 1 }, name: "bio_text" },
    ];
    expect(await c.listIndexes()).toEqual([{ fields: ["email", "tenant"], unique: true }]);
    await c.dropIndex(["email"]);
    await c.dropIndex(["email", "tenant"]);
    expect(sent("dropIndex")).toEqual([]);
  });

  it("a unique compound port index is {a: 1, b: 1} alone, partial on $exists of every field, named unique_together_<hash of its fields>", async () => {
    await c.createIndex(["listingId", "buyer.id"], { unique: true });
    const [[key, options]] = sent("createIndex") as [[unknown, { name: string }]];
    expect(key).toEqual({ listingId: 1, "buyer.id": 1 });
    expect(options).toEqual({
      name: expect.stringMatching(/^unique_together_[0-9a-f]{16}$/),
      unique: true,
      partialFilterExpression: { listingId: { $exists: true }, "buyer.id": { $exists: true } },
    });
    expect(sent("dropIndex")).toEqual([]);
  });

  it("a group's index and a unique field's never share a name (MongoDB's a_1_b_1 names the field a_1_b too: 86 on a server)", async () => {
    for (const fields of [["x_1_y"], ["x", "y"], ["a_1_b", "c"], ["a", "b_1_c"], ["y", "x"]]) {
      await c.createIndex(fields, { unique: true });
    }
    const names = sent("createIndex").map(([, options]) => (options as { name: string }).name);
    expect(names.slice(0, 2)).toEqual(["x_1_y_1", "x_1_y_1__id_1"]);
    const groups = names.slice(2);
    expect(new Set(groups).size).toBe(4);
    expect(groups.every((name) => /^unique_together_[0-9a-f]{16}$/.test(name))).toBe(true);
  });

  it("a non-unique compound key is refused (a TypeError): nothing is sent", async () => {
    await expect(c.createIndex(["a", "b"])).rejects.toBeInstanceOf(TypeError);
    expect(driver.calls()).toEqual([]);
  });

  it("a project's own {a: 1, b: 1, _id: 1} or plain {a: 1, b: 1} is not the port's: neither listed, nor dropped by index sync", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { createdAt: 1, _id: 1 }, name: "createdAt_1__id_1" },
      { v: 2, key: { status: 1, createdAt: 1, _id: 1 }, name: "my_status_by_date" },
      { v: 2, key: { status: 1, kind: 1 }, name: "my_status_kind" },
    ];
    expect(await c.listIndexes()).toEqual([{ fields: ["createdAt"], unique: false }]);
    await syncIndexes(c, parseDefinition({ name: "things", fields: [{ name: "status", type: "string" }] }));
    await c.dropIndex(["status", "createdAt"]);
    await c.dropIndex(["status", "kind"]);
    expect(sent("dropIndex")).toEqual([]);
  });

  it("a project's own unique compound index partial on $exists, under a name of its own, is not dropped by index sync", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { createdAt: 1, _id: 1 }, name: "createdAt_1__id_1" },
      {
        v: 2,
        key: { tenant: 1, email: 1 },
        name: "tenant_email_unique",
        unique: true,
        partialFilterExpression: { tenant: { $exists: true }, email: { $exists: true } },
      },
    ];
    await syncIndexes(c, parseDefinition({ name: "things", fields: [{ name: "status", type: "string" }] }));
    expect(sent("dropIndex")).toEqual([]);
  });

  it("a compound port index is listed with its fields in order and dropped alone, not the single-field ones it starts with", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      {
        v: 2,
        key: { listingId: 1, buyerId: 1 },
        name: GROUP_NAME,
        unique: true,
        partialFilterExpression: { listingId: { $exists: true }, buyerId: { $exists: true } },
      },
      { v: 2, key: { listingId: 1, _id: 1 }, name: "listingId_1__id_1" },
      { v: 2, key: { buyerId: 1, listingId: 1 }, name: "buyerId_1_listingId_1", unique: true },
    ];
    expect(await c.listIndexes()).toEqual([
      { fields: ["listingId", "buyerId"], unique: true },
      { fields: ["listingId"], unique: false },
      { fields: ["buyerId", "listingId"], unique: true },
    ]);
    await c.dropIndex(["listingId", "buyerId"]);
    await c.dropIndex(["buyerId", "listingId"]); // the database's own (not partial): kept
    expect(sent("dropIndex")).toEqual([[GROUP_NAME]]);
  });

  it("a duplicate on a compound index names its fields: from keyPattern, or from the key of the index a bulk error names", async () => {
    driver.answers.insertOne = async () => {
      throw new mongo.MongoServerError({
        code: 11000,
        errmsg:
          'E11000 duplicate key error collection: t_platform.things index: unique_together_0123456789abcdef dup key: { listingId: "l", buyerId: "b" }',
        keyPattern: { listingId: 1, buyerId: 1 },
        keyValue: { listingId: "l", buyerId: "b" },
      });
    };
    const one = await c.insertOne({ listingId: "l", buyerId: "b" }).catch((e: unknown) => e);
    expect([one instanceof DuplicateKeyError, (one as DuplicateKeyError).fields]).toEqual([
      true,
      ["listingId", "buyerId"],
    ]);
    expect((one as Error).message).toBe('Duplicate value for unique fields "listingId", "buyerId"');
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { "meta.a": 1, "first name": 1, c: 1 }, name: "unique_together_0123456789abcdef", unique: true },
      { v: 2, key: { address_1: 1, zip: 1 }, name: "unique_together_fedcba9876543210", unique: true },
    ];
    for (const [index, fields] of [
      ["unique_together_0123456789abcdef", ["meta.a", "first name", "c"]],
      ["unique_together_fedcba9876543210", ["address_1", "zip"]],
    ] as const) {
      driver.answers.insertMany = async () => {
        throw new mongo.MongoBulkWriteError(
          // As the driver builds it from the server's write errors: no keyPattern.
          {
            message: `E11000 duplicate key error collection: t_platform.things index: ${index} dup key: { : "x" }`,
            code: 11000,
            writeErrors: [{ index: 0, code: 11000, errmsg: "E11000" }],
          } as never,
          {} as never,
        );
      };
      const bulk = await c.insertMany([{ a: 1 }]).catch((e: unknown) => e);
      expect([bulk instanceof DuplicateKeyError, (bulk as DuplicateKeyError).fields]).toEqual([true, fields]);
    }
  });

  it("a unique compound index over duplicates is DuplicateKeyError naming its fields", async () => {
    driver.answers.createIndex = async () => {
      throw new mongo.MongoServerError({
        code: 11000,
        errmsg:
          "Index build failed: E11000 duplicate key error collection: t_platform.things index: a_1_b_1 dup key: { a: 1, b: 2 }",
        keyPattern: { a: 1, b: 1 },
      });
    };
    const error = await c.createIndex(["a", "b"], { unique: true }).catch((e: unknown) => e);
    expect([error instanceof DuplicateKeyError, (error as DuplicateKeyError).fields]).toEqual([true, ["a", "b"]]);
    expect(sent("createIndex")).toHaveLength(1);
  });

  it("a port index is {f: 1, _id: 1} (sortable with the _id tie-break); a unique one first adds a partial unique {f: 1}", async () => {
    await c.createIndex(["email"], { unique: true });
    await c.createIndex(["status"]);
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
      { fields: ["email"], unique: true },
      { fields: ["status"], unique: false },
    ]);
    await c.dropIndex(["email"]);
    await c.dropIndex(["old"]);
    expect(sent("dropIndex")).toEqual([["email_1"], ["email_1__id_1"]]);
  });

  it("a unique {f: 1} that is not partial (a project's own database's) is listed as unique but never dropped", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { sku: 1 }, name: "sku_1", unique: true },
      { v: 2, key: { sku: 1, _id: 1 }, name: "sku_1__id_1" },
    ];
    expect(await c.listIndexes()).toEqual([{ fields: ["sku"], unique: true }]);
    await c.dropIndex(["sku"]);
    expect(sent("dropIndex")).toEqual([["sku_1__id_1"]]);
  });

  it("a non-unique index made where an older non-unique {f: 1} is drops that one once {f: 1, _id: 1} is made (a unique one stays)", async () => {
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { status: 1 }, name: "status_1" },
      { v: 2, key: { status: 1, _id: 1 }, name: "status_1__id_1" },
      { v: 2, key: { email: 1 }, name: "email_1", unique: true },
    ];
    await c.createIndex(["status"]);
    await c.createIndex(["email"]);
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
    await expect(c.dropIndex(["status"])).resolves.toBeUndefined();
  });

  it("a unique index over duplicates is DuplicateKeyError, and no other index is made", async () => {
    driver.answers.createIndex = async () => {
      throw new mongo.MongoServerError({
        code: 11000,
        errmsg:
          'Index build failed: E11000 duplicate key error collection: t_platform.things index: email_1 dup key: { email: "d" }',
      });
    };
    const error = await c.createIndex(["email"], { unique: true }).catch((e: unknown) => e);
    expect([error instanceof DuplicateKeyError, (error as DuplicateKeyError).fields]).toEqual([true, ["email"]]);
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
    await expect(c.createIndex(["email"], { unique: true })).rejects.toBeInstanceOf(StoreUnavailableError); // no {email: 1, _id: 1}
    driver.answers.indexes = async () => [
      ID_INDEX,
      { v: 2, key: { email: 1 }, name: "email_1", unique: true },
      { v: 2, key: { email: 1, _id: 1 }, name: "by_email" },
    ];
    await expect(c.createIndex(["email"], { unique: true })).resolves.toBeUndefined();
    driver.answers.createIndex = conflict(85);
    await expect(c.createIndex(["email"], { unique: true })).resolves.toBeUndefined();
    expect(await c.listIndexes()).toEqual([{ fields: ["email"], unique: true }]);
  });

  it("any other index in the way is StoreUnavailableError (503) naming the index asked for; other errors pass through", async () => {
    driver.answers.createIndex = conflict(85);
    driver.answers.indexes = async () => [ID_INDEX, { v: 2, key: { email: 1 }, name: "email_1" }];
    const error = await c.createIndex(["email"], { unique: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('things has an index in the way of email_1 {"email":1} (unique)');
    driver.answers.indexes = async () => [ID_INDEX, { v: 2, key: { email: 1, _id: 1 }, name: "x", unique: true }];
    await expect(c.createIndex(["email"])).rejects.toBeInstanceOf(StoreUnavailableError);
    driver.answers.createIndex = async () => {
      throw new mongo.MongoServerError({ code: 67, codeName: "CannotCreateIndex", errmsg: "no" });
    };
    await expect(c.createIndex(["email"])).rejects.toMatchObject({ code: 67 });
  });
});
