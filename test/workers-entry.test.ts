/**
 * The Workers entry with MONGODB_URI: each request gets its own client, closed only after the work
 * the request handed to waitUntil (a usage flush) is done. MongoDB itself cannot run here, so the
 * request's client is an embedded store standing in for it; what is tested is the entry's ordering.
 */
import { Hono } from "hono";
import { expect, it, vi } from "vitest";
import type { Deps } from "../shared/deps.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";

const events: string[] = [];
vi.mock("../shared/store/mongo.js", () => ({
  openMongoStore: async () => {
    const store = await openEmbeddedStore({ dataDir: null });
    const close = store.close.bind(store);
    store.close = async () => {
      events.push("closed");
      await close();
    };
    return store;
  },
}));

it("closes the request's client after the work handed to waitUntil, which can still use it", async () => {
  const { workerEntry } = await import("../platforms/workers/entry.js");
  const entry = workerEntry((deps: Deps) =>
    new Hono().get("/late-write", (c) => {
      const late = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await deps.store.platform().collection("t").insertOne({ n: 1 });
        events.push("written");
      })();
      c.executionCtx.waitUntil(late);
      return c.json({ ok: true });
    }),
  );
  const handed: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => handed.push(p), passThroughOnException: () => {}, props: {} };
  const res = await entry.fetch(new Request("http://x/late-write"), { MONGODB_URI: "mongodb://db.invalid/x" }, ctx);
  expect(res.status).toBe(200);
  const settled = await Promise.allSettled(handed);
  expect(settled.every((result) => result.status === "fulfilled")).toBe(true);
  expect(events).toEqual(["written", "closed"]);
});

it("waits also for work handed over after the answer by work handed over before (a mail, then its usage flush)", async () => {
  events.length = 0;
  const { workerEntry } = await import("../platforms/workers/entry.js");
  const entry = workerEntry((deps: Deps) =>
    new Hono().post("/mail", (c) => {
      const write = (label: string) => async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await deps.store.platform().collection("t").insertOne({ label });
        events.push(label);
      };
      const mail = write("mail")().then(() => c.executionCtx.waitUntil(write("flush")()));
      c.executionCtx.waitUntil(mail);
      return c.json({ ok: true });
    }),
  );
  const handed: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => handed.push(p), passThroughOnException: () => {}, props: {} };
  const res = await entry.fetch(
    new Request("http://x/mail", { method: "POST" }),
    { MONGODB_URI: "mongodb://db.invalid/x" },
    ctx,
  );
  expect(res.status).toBe(200);
  for (let seen = -1; seen !== handed.length; ) {
    seen = handed.length;
    const settled = await Promise.allSettled(handed);
    expect(settled.every((result) => result.status === "fulfilled")).toBe(true);
  }
  expect(events).toEqual(["mail", "flush", "closed"]);
});
