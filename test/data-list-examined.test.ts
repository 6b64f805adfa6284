/**
 * How many documents a list examines on the embedded store (index entries walked, plus every
 * document of a scan): a page costs about a page, however deep it is and however many documents
 * other owners hold. Counted, not timed, so the bounds are deterministic.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { newId } from "../shared/ids.js";
import { EmbeddedCollection } from "../shared/store/embedded/collection.js";
import type { Plan } from "../shared/store/embedded/planner.js";
import { SortedIndex } from "../shared/store/embedded/sorted-index.js";
import type { Doc } from "../shared/store/types.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

const N = 5000;
const hex = (i: number) => i.toString(16).padStart(24, "0");
const at = (i: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + i * 1000).toISOString();

/** Runs `work`, counting the index entries walked and the documents scanned meanwhile. */
async function examined<T>(work: () => Promise<T>): Promise<{ result: T; examined: number }> {
  let count = 0;
  const walk = SortedIndex.prototype.walk;
  const walked = vi.spyOn(SortedIndex.prototype, "walk").mockImplementation(function (
    this: SortedIndex,
    direction,
    range,
    visit,
  ) {
    walk.call(this, direction, range, (id) => {
      count++;
      return visit(id);
    });
  });
  // `candidates` is private: what a plan hands to mingo, every document for a scan.
  const proto = EmbeddedCollection.prototype as unknown as { candidates(plan: Plan): Doc[] };
  const candidates = proto.candidates;
  const scanned = vi.spyOn(proto, "candidates").mockImplementation(function (this: unknown, plan: Plan) {
    const docs = candidates.call(this, plan);
    if (plan.kind === "scan") count += docs.length;
    return docs;
  });
  try {
    return { result: await work(), examined: count };
  } finally {
    walked.mockRestore();
    scanned.mockRestore();
  }
}

let env: DataTestEnv;
beforeAll(async () => {
  env = await dataTestEnv();
});
afterAll(() => env.close());

describe("a keyset-cursor page walks the sort index from the cursor", () => {
  beforeAll(async () => {
    await env.defineCollection({ name: "posts", fields: [{ name: "n", type: "number", index: true }] });
    const posts = env.deps.store.tenant({ projectId: env.project.id }).collection("posts");
    await posts.insertMany(
      Array.from({ length: N }, (_, i) => ({ _id: hex(i), n: i, createdAt: at(i), updatedAt: at(i) })),
    );
  });

  it.each([
    ["the default sort (-createdAt)", ""],
    ["sort=createdAt", "sort=createdAt"],
    ["sort=n", "sort=n"],
    ["sort=-n", "sort=-n"],
  ])("%s: a page deep in the list examines about a page", async (_, sort) => {
    const deep = await env.pk("GET", `/api/data/posts?${sort}&limit=100&page=20`);
    expect(deep.status).toBe(200);
    const cursor = deep.json.data.nextCursor as string;
    const { result, examined: n } = await examined(() =>
      env.pk("GET", `/api/data/posts?${sort}&limit=20&cursor=${cursor}`),
    );
    expect(result.status).toBe(200);
    const items = result.json.data.items as Array<{ n: number }>;
    const descending = sort === "" || sort.startsWith("sort=-");
    expect(items.map((item) => item.n)).toEqual(
      Array.from({ length: 20 }, (_, i) => (descending ? N - 2001 - i : 2000 + i)),
    );
    // The cursor's own document (the walk starts at its key), a page, and the one telling whether
    // there is a next: 22. The total (no filter) reads none.
    expect(n).toBe(22);
  });
});

describe("an owner's list in an RLS collection reads the owner's documents", () => {
  const me = newId();
  beforeAll(async () => {
    await env.defineCollection({
      name: "notes",
      fields: [{ name: "text", type: "string" }],
      rls: { enabled: true, mode: "private" },
    });
    const notes = env.deps.store.tenant({ projectId: env.project.id }).collection("notes");
    const others = Array.from({ length: 100 }, () => newId());
    await notes.insertMany(
      Array.from({ length: N }, (_, i) => ({
        text: `n${i}`,
        userId: i < 3 ? me : others[i % 100],
        createdAt: at(i),
        updatedAt: at(i),
      })),
    );
  });

  it("a user's 3 notes among 5000 examine those 3 (page and total)", async () => {
    const token = await env.token(me);
    const { result, examined: n } = await examined(() => env.pk("GET", "/api/data/notes", { token }));
    expect(result.status).toBe(200);
    expect(result.json.data.total).toBe(3);
    expect(result.json.data.items.map((note: { text: string }) => note.text)).toEqual(["n2", "n1", "n0"]);
    expect(n).toBeLessThanOrEqual(3);
  });
});
