/**
 * What a request cancelled mid-way leaves behind on an instance. On Workers a cancelled request (a
 * client that went away, or the runtime taking a wait on another request's promise for a hang) stops
 * at its pending I/O and never runs its `finally` blocks, so what it holds is never let go. Here such
 * a request is a task that never settles: the others must go on after the lease, and in workerd a
 * wait on another request's work must keep a timer of its own pending.
 */
import { readFile } from "node:fs/promises";
import { Miniflare } from "miniflare";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { oneAtATime } from "../shared/one-at-a-time.js";
import type { ResolvedProject } from "../shared/principal.js";
import { writeFence } from "../shared/write-fence.js";

const never = () => new Promise<never>(() => {});
const project = { id: "a".repeat(24) } as ResolvedProject;
const elapsed = async (work: Promise<unknown>) => {
  const start = Date.now();
  await work;
  return Date.now() - start;
};

describe("oneAtATime", () => {
  it("runs a key's tasks in turn, and the next one after the lease when a task never settles", async () => {
    const inTurn = oneAtATime(100);
    const order: string[] = [];
    const first = inTurn("k", async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push("first");
    });
    const second = inTurn("k", async () => order.push("second"));
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);

    void inTurn("k", never); // a cancelled request's task
    expect(await elapsed(inTurn("k", async () => "after"))).toBeGreaterThanOrEqual(90);
    expect(await elapsed(inTurn("k", async () => "and on"))).toBeLessThan(50); // the chain goes on
  });
});

describe("in turn, also past a lease (found by the review of the late fixes)", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Tasks that count how many of them run at once. */
  function tracker() {
    let running = 0;
    let most = 0;
    const run = (ms: number) => async () => {
      running++;
      most = Math.max(most, running);
      await sleep(ms);
      running--;
    };
    return { run, most: () => most };
  }

  it("tasks queued behind one that never settles run in turn, one after another", async () => {
    const inTurn = oneAtATime(100);
    const t = tracker();
    void inTurn("k", never);
    await Promise.all([inTurn("k", t.run(60)), inTurn("k", t.run(60)), inTurn("k", t.run(60))]);
    expect(t.most()).toBe(1);
  });

  it("a queue longer than one lease runs in turn: each task's lease starts at its turn", async () => {
    const inTurn = oneAtATime(100);
    const t = tracker();
    await Promise.all([1, 2, 3, 4].map(() => inTurn("k", t.run(45))));
    expect(t.most()).toBe(1);
  });
});

describe("write fence", () => {
  const leases = { writes: 100, change: 200 };

  it("a change waits for the writes inside, then for a write never leaving (cancelled) only its lease", async () => {
    const fence = writeFence(leases);
    const write = fence.enter(fence.stamp, project, "posts");
    expect(write).not.toBeNull();
    let changed = false;
    const change = fence.hold(project, "posts", async () => {
      changed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changed).toBe(false); // waits for the write inside
    // The write never leaves: the change goes on after the lease, and the next one does not wait again.
    expect(await elapsed(change)).toBeGreaterThanOrEqual(70);
    expect(await elapsed(fence.hold(project, "posts", async () => {}))).toBeLessThan(50);
  });

  it("writes wait for a change of their collection, and one that never ends (cancelled) only its lease", async () => {
    const fence = writeFence(leases);
    void fence.hold(project, "posts", never);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fence.busy).toBe(true);
    expect(fence.enter(fence.stamp, project, "posts")).toBeNull();
    expect(fence.enter(fence.stamp, project, "other")).not.toBeNull(); // another collection goes on
    expect(await elapsed(fence.settled(project, "posts"))).toBeGreaterThanOrEqual(150);
    expect(fence.enter(fence.stamp, project, "posts")).not.toBeNull();
    expect(fence.busy).toBe(false); // definitions are cached again
  });
});

describe("waitAtMost in workerd", () => {
  it("a request waiting on another request's work answers, where a bare await is cancelled as hung", async () => {
    // The module itself, compiled as is (it imports nothing), next to a Worker that uses it.
    const source = await readFile("shared/wait-at-most.ts", "utf8");
    const compiled = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const worker = `
      import { waitAtMost } from "./wait-at-most.mjs";
      let release;
      const work = () => new Promise((resolve) => (release = resolve));
      export default {
        async fetch(request) {
          const path = new URL(request.url).pathname;
          if (path === "/work") {
            await new Promise((resolve) => setTimeout(resolve, 300));
            release?.();
            return new Response("done");
          }
          if (path === "/bare") return new Response(String(await work()));
          return new Response(String(await waitAtMost(work(), 5000)));
        },
      };`;
    const mf = new Miniflare({
      modules: [
        { type: "ESModule", path: "worker.mjs", contents: worker },
        { type: "ESModule", path: "wait-at-most.mjs", contents: compiled.outputText },
      ],
      compatibilityDate: "2026-04-20",
    });
    try {
      const answer = async (path: string) => {
        const work = mf.dispatchFetch("http://w/work");
        await new Promise((resolve) => setTimeout(resolve, 50));
        const res = await mf.dispatchFetch(`http://w${path}`);
        await work;
        return [res.status, (await res.text()).slice(0, 60)];
      };
      expect(await answer("/bare")).toEqual([500, expect.stringContaining("canceled")]);
      expect(await answer("/wait")).toEqual([200, "true"]);
    } finally {
      await mf.dispose();
    }
  });
});
