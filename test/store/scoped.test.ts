import { describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../../shared/store/embedded/index.js";
import { scopedStore } from "../../shared/store/scoped.js";

describe("request-scoped store (Workers: one MongoDB client per request)", () => {
  it("sends each request's calls to that request's store, even when requests interleave", async () => {
    const scoped = scopedStore("embedded");
    const [a, b] = await Promise.all([openEmbeddedStore({ dataDir: null }), openEmbeddedStore({ dataDir: null })]);
    // Handles taken once (as caches keep them) still resolve to the store of the request using them.
    const things = scoped.tenant({ projectId: "p" }).collection("things");
    const slowly = async (label: string) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await things.insertOne({ label });
      return things.find({});
    };
    const [seenByA, seenByB] = await Promise.all([scoped.run(a, () => slowly("a")), scoped.run(b, () => slowly("b"))]);
    expect(seenByA.map((d) => d.label)).toEqual(["a"]);
    expect(seenByB.map((d) => d.label)).toEqual(["b"]);
    expect(await a.tenant({ projectId: "p" }).collection("things").count()).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses calls made outside a request", async () => {
    const scoped = scopedStore("embedded");
    await expect(async () => scoped.platform().collection("x").find({})).rejects.toThrow(/inside run/);
  });
});
