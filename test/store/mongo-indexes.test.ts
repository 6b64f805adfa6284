/**
 * The mongo adapter's index calls, with the driver's collection calls intercepted
 * (mongo-intercept.ts): which indexes it asks for, which it takes for the port's, what it drops. No
 * server runs; what MongoDB makes of them is the contract suite's job (MONGODB_URI).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Collection } from "../../shared/store/types.js";
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
});
