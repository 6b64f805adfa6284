/**
 * Store micro-benchmark (npm run bench:store): the embedded store's cost per query on a 10 000-document
 * collection with indexed fields, in memory and on disk. Prints microseconds per operation.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import type { Collection } from "../shared/store/types.js";

const DOCS = 10_000;
const STATUSES = ["active", "inactive", "pending"];

async function seed(c: Collection): Promise<string[]> {
  await c.createIndex(["status"]);
  await c.createIndex(["score"]);
  await c.createIndex(["createdAt"]);
  const ids: string[] = [];
  for (let at = 0; at < DOCS; at += 1000) {
    const batch = Array.from({ length: 1000 }, (_, j) => {
      const i = at + j;
      return {
        title: `Document ${i}`,
        status: STATUSES[i % 3],
        score: (i * 7919) % 1000,
        createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      };
    });
    ids.push(...(await c.insertMany(batch)).map((d) => d._id));
  }
  return ids;
}

/** Mean microseconds per call over `runs` calls after a warm-up. */
async function measure(run: (i: number) => Promise<unknown>, runs = 2000): Promise<number> {
  for (let i = 0; i < 200; i++) await run(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await run(i);
  return Number(process.hrtime.bigint() - start) / 1000 / runs;
}

async function bench(label: string, dataDir: string | null): Promise<void> {
  const store = await openEmbeddedStore({ dataDir });
  try {
    const c = store.tenant({ projectId: "bench" }).collection("docs");
    const ids = await seed(c);
    const rows: Array<[string, number]> = [
      [
        "filter + sort + limit 20 (indexed)",
        await measure((i) =>
          c.find({ status: "active", score: { $gte: i % 500 } }, { sort: { score: -1, _id: -1 }, limit: 20 }),
        ),
      ],
      [
        "default list: sort -createdAt, limit 20",
        await measure(() => c.find({}, { sort: { createdAt: -1, _id: -1 }, limit: 20 })),
      ],
      ["count with an indexed filter", await measure((i) => c.count({ score: { $lt: i % 1000 } }))],
      ["get by _id", await measure((i) => c.findOne({ _id: ids[i % ids.length] }))],
      [
        "filter on an unindexed field (scan)",
        await measure((i) => c.find({ title: `Document ${i}` }, { limit: 1 }), 200),
      ],
    ];
    console.log(`\nembedded store, ${label}, ${DOCS} documents`);
    for (const [name, micros] of rows) console.log(`  ${name.padEnd(42)} ${micros.toFixed(1).padStart(8)} µs`);
  } finally {
    await store.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), "edgeback-bench-"));
try {
  await bench("in memory", null);
  await bench("on disk", dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
