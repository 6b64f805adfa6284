/**
 * The mongo adapter over intercepted driver calls, for tests of the adapter's own translation:
 * which driver calls and options it makes, and how it maps the errors the driver documents. The
 * driver's Collection methods are replaced (vi.spyOn on its prototype) by ones that record their
 * arguments and answer what a test sets. No server runs and none is faked: what MongoDB itself does
 * is the contract suite's job (test/store/mongo.test.ts, with MONGODB_URI).
 */
import * as mongo from "mongodb";
import { afterAll, beforeAll, beforeEach, vi } from "vitest";
import { openMongoStore } from "../../shared/store/mongo.js";
import type { DocumentStore } from "../../shared/store/types.js";

const METHODS = [
  "find",
  "findOne",
  "countDocuments",
  "estimatedDocumentCount",
  "insertOne",
  "insertMany",
  "findOneAndUpdate",
  "findOneAndReplace",
  "findOneAndDelete",
  "deleteMany",
  "aggregate",
  "createIndex",
  "dropIndex",
  "indexes",
];

/** What a method answers when a test set nothing: no documents, no indexes, an empty result. */
function defaultAnswer(method: string): unknown {
  if (method === "find") return { toArray: async () => [] };
  if (method === "aggregate") return (async function* () {})();
  if (method === "indexes") return Promise.resolve([{ v: 2, key: { _id: 1 }, name: "_id_" }]);
  if (method.endsWith("Count") || method === "countDocuments") return Promise.resolve(0);
  return Promise.resolve(method.startsWith("findOne") ? null : {});
}

/** Installs the interception around the calling test file's tests; the store opens before them. */
export function interceptDriver() {
  let calls: Array<[method: string, args: unknown[]]> = [];
  const driver = {
    /** Answers by method name for the current test (reset before each test). */
    answers: {} as Record<string, (...args: unknown[]) => unknown>,
    /** The store over the intercepted driver (platform database `t_platform`). */
    store: undefined as unknown as DocumentStore,
    /** The client each intercepted call went through, in order. */
    usedClients: [] as mongo.MongoClient[],
    /** Clients closed so far. */
    closed: new Set<mongo.MongoClient>(),
    /** The arguments of each call of `method` made in the current test. */
    sent: (method: string) => calls.filter(([m]) => m === method).map(([, args]) => args),
    /** Every intercepted call of the current test, as [method, arguments]. */
    calls: () => calls,
  };
  beforeAll(async () => {
    vi.spyOn(mongo.MongoClient.prototype, "connect").mockImplementation(async function (this: mongo.MongoClient) {
      return this;
    });
    vi.spyOn(mongo.MongoClient.prototype, "close").mockImplementation(async function (this: mongo.MongoClient) {
      driver.closed.add(this);
    });
    const proto = mongo.Collection.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of METHODS) {
      vi.spyOn(proto, method).mockImplementation(function (this: mongo.Collection, ...args: unknown[]) {
        calls.push([method, args]);
        driver.usedClients.push((this as unknown as { client: mongo.MongoClient }).client);
        const answer = driver.answers[method];
        return answer ? answer(...args) : defaultAnswer(method);
      });
    }
    driver.store = await openMongoStore({ uri: "mongodb://127.0.0.1:1/x", dbPrefix: "t" });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });
  beforeEach(() => {
    calls = [];
    driver.answers = {};
  });
  return driver;
}
