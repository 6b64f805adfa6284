/** setupOnce: idempotent set-up remembered once it succeeded, never shared while pending. */
import { describe, expect, it } from "vitest";
import { setupOnce } from "../shared/setup-once.js";

describe("setupOnce", () => {
  it("runs the set-up until it succeeds once per key, then never again", async () => {
    const once = setupOnce();
    let runs = 0;
    const failing = async () => {
      runs++;
      throw new Error("down");
    };
    await expect(once("a", failing)).rejects.toThrow("down");
    await once("a", async () => runs++);
    await once("a", async () => runs++);
    await once("b", async () => runs++);
    expect(runs).toBe(3);
  });

  it("never makes a caller wait on another caller's pending set-up (it runs its own)", async () => {
    const once = setupOnce();
    const stalled = once("a", () => new Promise(() => {})); // a set-up whose request ended mid-way
    let second = false;
    await once("a", async () => {
      second = true;
    });
    expect(second).toBe(true);
    void stalled;
  });

  it("forgets everything past maxKeys, so it stays bounded", async () => {
    const once = setupOnce(2);
    let runs = 0;
    for (const key of ["a", "b", "c", "a"]) await once(key, async () => runs++);
    expect(runs).toBe(4);
  });
});
