/**
 * The mongo adapter's own translation (filters, options, errors, ids), with the driver's collection
 * calls intercepted (mongo-intercept.ts): no server runs. What MongoDB itself does is the contract
 * suite's job (test/store/mongo.test.ts, with MONGODB_URI).
 */
import * as mongo from "mongodb";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createCollectionRegistry } from "../../shared/collections.js";
import { consoleLogger } from "../../shared/deps.js";
import type { ResolvedProject } from "../../shared/principal.js";
import { openMongoStore } from "../../shared/store/mongo.js";
import {
  type Collection,
  DuplicateKeyError,
  QueryTimeoutError,
  StoreUnavailableError,
} from "../../shared/store/types.js";
import { interceptDriver } from "./mongo-intercept.js";

const ID = "0123456789abcdef01234567";
const driver = interceptDriver();
const { sent } = driver;
let c: Collection;
beforeAll(() => {
  c = driver.store.platform().collection("things");
});

describe("mongo adapter translation (driver calls intercepted, no server)", () => {
  it("a projection of _id alone is sent as such (an empty one would mean every field)", async () => {
    await c.find({}, { projection: { _id: 1 } });
    await c.find({}, { projection: { _id: 0, a: 1 } });
    await c.find({}, { projection: { _id: 0 } });
    expect(sent("find").map((call) => (call[1] as { projection?: unknown }).projection)).toEqual([
      { _id: 1 },
      { a: 1 },
      {},
    ]);
  });

  it("an insertMany cut off by an outage is 503, and what may have gone in is taken out again", async () => {
    driver.answers.insertMany = async () => {
      const lost = new mongo.MongoServerSelectionError("Server selection timed out", {} as never);
      throw new mongo.MongoBulkWriteError(lost as never, {} as never);
    };
    await expect(c.insertMany([{ a: 1 }, { _id: "0123456789abcdef01234567", a: 2 }])).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    // Each matched whole: a document another call stored under a caller's own `_id` stays.
    const [[filter]] = sent("deleteMany") as [[{ $or: Array<Record<string, unknown>> }]];
    expect(filter.$or.map(({ _id, ...rest }) => [String(_id).length, rest])).toEqual([
      [24, { a: 1 }],
      [24, { a: 2 }],
    ]);
    expect(String(filter.$or[1]?._id)).toBe("0123456789abcdef01234567");
  });

  it("after a lost connection, a large batch is matched whole in filters MongoDB takes (each under 16 MiB)", async () => {
    driver.answers.insertMany = async () => {
      throw new mongo.MongoNetworkError("connection reset");
    };
    const big = Array.from({ length: 6 }, (_, n) => ({ n, text: "x".repeat(3 * 1024 * 1024) }));
    await expect(c.insertMany(big)).rejects.toBeInstanceOf(StoreUnavailableError);
    const filters = sent("deleteMany").map(([filter]) => filter as { $or: Array<{ n: number }> });
    expect(filters.map((filter) => filter.$or.map((doc) => doc.n))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    for (const filter of filters) expect(mongo.BSON.calculateObjectSize(filter)).toBeLessThan(16 * 1024 * 1024);
  });

  it("a duplicate in a batch is 409 naming the field; the documents before it are taken out, even if that fails", async () => {
    driver.answers.insertMany = async () => {
      throw new mongo.MongoBulkWriteError(
        // As the driver builds it from the server's write errors: the field is named in the message.
        {
          message: 'E11000 duplicate key error collection: t_platform.things index: slug_1 dup key: { slug: "x" }',
          code: 11000,
          writeErrors: [{ index: 1, code: 11000, errmsg: "E11000" }],
        } as never,
        {} as never,
      );
    };
    driver.answers.deleteMany = async () => {
      throw new mongo.MongoNetworkError("connection reset");
    };
    driver.answers.indexes = async () => [{ v: 2, key: { slug: 1 }, name: "slug_1", unique: true }];
    const error = await c.insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect((error as DuplicateKeyError).fields).toEqual(["slug"]);
    expect((error as DuplicateKeyError).index).toBe(1);
    // Before the failing document each went in by this call: taken out by `_id`.
    const [[filter]] = sent("deleteMany") as [[{ _id: { $in: mongo.ObjectId[] } }]];
    expect(filter._id.$in).toHaveLength(1);
  });

  it("a duplicate in a batch names the fields of the index its message names, looked up among the collection's (a name is never read back into fields)", async () => {
    driver.answers.indexes = async () => [
      { v: 2, key: { _id: 1 }, name: "_id_" },
      { v: 2, key: { "first name": 1 }, name: "first name_1", unique: true },
      { v: 2, key: { "profile.handle": 1 }, name: "profile.handle_1", unique: true },
      { v: 2, key: { x_1_y: 1 }, name: "x_1_y_1", unique: true },
    ];
    for (const [index, field] of [
      ["first name_1", "first name"],
      ["profile.handle_1", "profile.handle"],
      ["_id_", "_id"],
      ["x_1_y_1", "x_1_y"], // a field's name may hold `_1_`
      ["dropped_meanwhile_1", "unknown"],
    ]) {
      driver.answers.insertMany = async () => {
        throw new mongo.MongoBulkWriteError(
          // As the driver builds it from the server's write errors: no keyPattern.
          {
            message: `E11000 duplicate key error collection: t_platform.things index: ${index} dup key: { ${field}: "x" }`,
            code: 11000,
            writeErrors: [{ index: 0, code: 11000, errmsg: "E11000" }],
          } as never,
          {} as never,
        );
      };
      const error = await c.insertMany([{ [field as string]: "x" }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect((error as DuplicateKeyError).fields).toEqual([field]);
    }
  });

  it("server answers that mean 'not now' (an election, a shutdown) are 503", async () => {
    for (const code of [10107, 189, 91, 11602]) {
      driver.answers.insertOne = async () => {
        throw new mongo.MongoServerError({ code, errmsg: "not now" });
      };
      await expect(c.insertOne({ a: 1 })).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    driver.answers.insertOne = async () => {
      throw new mongo.MongoServerError({ code: 2, errmsg: "BadValue" });
    };
    await expect(c.insertOne({ a: 1 })).rejects.not.toBeInstanceOf(StoreUnavailableError);
  });

  it("a mongodb+srv host whose DNS lookup fails, or whose SRV record names no host, is 503, when opening and on a project's database", async () => {
    /** What Node's dns.promises.resolveSrv/resolveTxt throw; the driver passes them on unwrapped. */
    const dnsError = (syscall: string, code: string) =>
      Object.assign(new Error(`${syscall} ${code} _mongodb._tcp.cluster0.nowhere.example`), { code, syscall });
    const failures = [
      dnsError("querySrv", "ENOTFOUND"),
      dnsError("querySrv", "EAI_AGAIN"),
      dnsError("querySrv", "ECONNREFUSED"),
      dnsError("queryTxt", "ETIMEOUT"),
      new mongo.MongoAPIError("No addresses found at host"),
    ];
    const byo = driver.store.tenant({ projectId: ID, uri: "mongodb+srv://u:p@cluster0.nowhere.example/app" });
    for (const failure of failures) {
      driver.answers.find = () => ({ toArray: () => Promise.reject(failure) });
      await expect(byo.collection("notes").find({})).rejects.toBeInstanceOf(StoreUnavailableError);
      vi.mocked(mongo.MongoClient.prototype.connect).mockRejectedValueOnce(failure);
      const opening = openMongoStore({ uri: "mongodb+srv://cluster0.nowhere.example/x", dbPrefix: "t" });
      await expect(opening).rejects.toBeInstanceOf(StoreUnavailableError);
    }
    driver.answers.find = () => ({ toArray: () => Promise.reject(new Error("a bug of ours")) });
    await expect(byo.collection("notes").find({})).rejects.not.toBeInstanceOf(StoreUnavailableError);
  });

  /** The stage the adapter adds: `_id` as a hex string wherever it is an ObjectId. */
  const STRING_IDS = {
    $addFields: { _id: { $cond: [{ $eq: [{ $type: "$_id" }, "objectId"] }, { $toString: "$_id" }, "$_id"] } },
  };

  it("aggregate: the leading stages that evaluate nothing see ObjectIds; _id is a string for every stage after; every ObjectId out is a string", async () => {
    driver.answers.aggregate = () =>
      (async function* () {
        yield { _id: ID, made: new mongo.ObjectId(ID) };
      })();
    const items = await c.aggregate([
      { $match: { _id: ID } },
      { $sort: { n: 1 } },
      { $group: { _id: "$owner", ids: { $push: "$_id" } } },
      { $match: { _id: ID } },
    ]);
    expect(items).toEqual([{ _id: ID, made: ID }]);
    expect(sent("aggregate")[0]?.[0]).toEqual([
      { $match: { _id: new mongo.ObjectId(ID) } },
      { $sort: { n: 1 } },
      STRING_IDS,
      { $group: { _id: "$owner", ids: { $push: "$_id" } } },
      { $match: { _id: ID } },
    ]);
  });

  it("aggregate: _id becomes a string before the first stage that evaluates an expression, after a hiding $project, at the end at the latest", async () => {
    const idsAt = async (pipeline: Array<Record<string, unknown>>) => {
      await c.aggregate(pipeline);
      const [stages] = sent("aggregate").at(-1) as [Array<Record<string, unknown>>];
      return stages.findIndex((stage) => JSON.stringify(stage) === JSON.stringify(STRING_IDS));
    };
    const hide = { $project: { secret: 0, "meta.pin": 0 } };
    expect(await idsAt([{ $match: { a: 1 } }, hide, { $sort: { b: -1 } }, { $limit: 2 }, { $count: "n" }])).toBe(4);
    expect(await idsAt([{ $match: { a: 1 } }, { $skip: 1 }])).toBe(2);
    for (const stage of [
      { $unwind: "$tags" },
      { $addFields: { n: 1 } },
      { $project: { n: 1 } },
      { $project: { _id: 0 } },
      { $project: { tag: { $concat: ["$_id", "-x"] } } },
      { $group: { _id: "$owner" } },
      { $count: "n" },
    ]) {
      expect(await idsAt([{ $match: { a: 1 } }, stage])).toBe(1);
    }
  });

  it("count with an empty filter is estimatedDocumentCount (collection metadata, with maxTimeMS); with a filter countDocuments", async () => {
    driver.answers.estimatedDocumentCount = async () => 7;
    driver.answers.countDocuments = async () => 2;
    expect(await c.count({}, { maxTimeMs: 1000 })).toBe(7);
    expect(await c.count()).toBe(7);
    expect(await c.count({ a: 1 }, { maxTimeMs: 1000 })).toBe(2);
    expect(sent("estimatedDocumentCount")).toEqual([[{ maxTimeMS: 1000 }], [{}]]);
    expect(sent("countDocuments")).toEqual([[{ a: 1 }, { maxTimeMS: 1000 }]]);
    driver.answers.estimatedDocumentCount = async () => {
      throw new mongo.MongoServerError({ code: 50, errmsg: "operation exceeded time limit" });
    };
    await expect(c.count({}, { maxTimeMs: 1 })).rejects.toBeInstanceOf(QueryTimeoutError);
  });

  it("a filter holding undefined never reaches the driver (with ignoreUndefined it would be {}: every document)", async () => {
    await expect(c.deleteMany({ userId: undefined })).rejects.toThrow(TypeError);
    await expect(c.count({ $or: [{ a: 1 }, { b: [undefined] }] })).rejects.toThrow(TypeError);
    await expect(c.aggregate([{ $group: { _id: "$a" } }, { $match: { _id: undefined } }])).rejects.toThrow(TypeError);
    expect(driver.calls()).toEqual([]);
  });

  it("inserts return deep copies: changing the input afterwards changes neither what was sent nor what was returned", async () => {
    const input = { meta: { lang: "en" }, tags: ["a"] };
    const one = await c.insertOne(input);
    const [many] = await c.insertMany([input]);
    input.meta.lang = "zz";
    input.tags.push("z");
    const [[sentOne], [[sentMany]]] = [sent("insertOne")[0] ?? [], sent("insertMany")[0] ?? [[]]] as [
      [unknown],
      [[unknown]],
    ];
    for (const doc of [one, many, sentOne, sentMany]) {
      expect(doc).toMatchObject({ meta: { lang: "en" }, tags: ["a"] });
    }
  });

  it("definitions: the unique name index is made once per project, though each tenant() is a new database object", async () => {
    const registry = createCollectionRegistry({
      store: driver.store,
      clock: { now: () => Date.now() },
      ttlMs: 0,
      log: consoleLogger,
    });
    const project = { id: ID, databaseUri: undefined } as ResolvedProject;
    expect(driver.store.tenant({ projectId: ID })).not.toBe(driver.store.tenant({ projectId: ID }));
    for (const name of ["a", "b", "c"]) await registry.get(project, name);
    expect(sent("findOne")).toHaveLength(3);
    expect(sent("createIndex").map(([key]) => key)).toEqual([{ name: 1 }, { name: 1, _id: 1 }]);
  });

  it("a project database handle taken before its client was evicted goes on with a live client", async () => {
    const byo = (n: number) => driver.store.tenant({ projectId: ID, uri: `mongodb://127.0.0.1:1/p${n}` });
    const first = byo(0).collection("notes");
    await first.find({});
    const before = driver.usedClients.at(-1)!;
    for (let n = 1; n <= 8; n++) await byo(n).collection("notes").find({}); // 8 clients at most: p0's is evicted
    await vi.waitFor(() => expect(driver.closed.has(before)).toBe(true));
    await first.find({});
    expect(driver.closed.has(driver.usedClients.at(-1)!)).toBe(false);
  });
});
