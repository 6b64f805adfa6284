import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../shared/store/embedded";
import { AggregateTimeoutError } from "../../shared/store/embedded/collection";
import { DOCUMENT_JSON } from "../../shared/store/types";
import { storeContract } from "./contract";

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

describe("embedded aggregate time limit", () => {
  it("stops a pipeline that runs past maxTimeMs, and answers in time otherwise", async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const c = store.platform().collection("heavy");
    await c.insertMany(Array.from({ length: 20_000 }, (_, i) => ({ g: i % 100, text: `t${i}`.repeat(20) })));
    const pipeline = [
      { $addFields: { long: { $concat: ["$text", "$text", "$text"] } } },
      { $group: { _id: "$g", n: { $sum: 1 } } },
    ];
    await expect(c.aggregate(pipeline, { maxTimeMs: 1 })).rejects.toBeInstanceOf(AggregateTimeoutError);
    expect(await c.aggregate(pipeline, { maxTimeMs: 60_000 })).toHaveLength(100);
    await store.close();
  });
});
