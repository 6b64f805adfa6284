/**
 * The real state read back (file records, byte counters, stored bytes, the files on disk) and compared
 * with the model's: after every step, and for each serial order tried for a group, against one
 * snapshot taken once the group has answered.
 */
import { check, fail } from "../model/operations.js";
import { blobFiles, counter, type Real, records, storageBytesUsage } from "./harness.js";
import { equalBytes, type Model, type ProjectName } from "./model.js";

const PROJECTS = ["P", "Q"] as const;

export interface Snapshot {
  /** Each counter as stored; undefined when it has none (its next use counts the records). */
  counters: Record<ProjectName, number | undefined>;
  records: Record<ProjectName, Map<string, Record<string, unknown>>>;
  /** What is stored at each path looked at (null: nothing). */
  blobs: Map<string, { size: number; contentType: string; bytes: Uint8Array } | null>;
  /** fs: the files under the store's root (type files of stored files apart) and temporaries. */
  disk: { files: string[]; other: string[] } | null;
}

async function readAll(r: Real, path: string): Promise<Uint8Array | null> {
  const blob = await r.blobs.get(path);
  return blob && new Uint8Array(await new Response(blob.body).arrayBuffer());
}

/** Reads the real state: records and counters of both projects, the bytes at the model's paths and the records'. */
export async function snapshot(r: Real, m: Model): Promise<Snapshot> {
  const snap: Snapshot = {
    counters: { P: await counter(r, r.P), Q: await counter(r, r.Q) },
    records: { P: new Map(), Q: new Map() },
    blobs: new Map(),
    disk: r.dataDir ? await blobFiles(r) : null,
  };
  for (const p of PROJECTS) for (const rec of await records(r, r[p])) snap.records[p].set(rec._id as string, rec);
  const paths = new Set([...Object.keys(m.s.files), ...Object.keys(m.s.gone)]);
  for (const p of PROJECTS) for (const path of snap.records[p].keys()) paths.add(path);
  for (const path of paths) {
    const head = await r.blobs.head(path);
    const bytes = head && (await readAll(r, path));
    snap.blobs.set(path, head && bytes && { ...head, bytes });
  }
  return snap;
}

/** The project's counter as its next reservation sees it: as stored, or counted afresh from the records. */
export const countOf = (snap: Snapshot, p: ProjectName) =>
  snap.counters[p] ?? [...snap.records[p].values()].reduce((n, rec) => n + (rec.size as number), 0);

/**
 * Why the real state is not the model's (empty when it is). `surplus`: the counters may count more than
 * the model's (a recount overtook a release), never less.
 */
export function mismatches(m: Model, snap: Snapshot, surplus = false): string[] {
  const problems: string[] = [];
  for (const p of PROJECTS) {
    const count = countOf(snap, p);
    if (surplus ? count < m.counter(p) : count !== m.counter(p))
      problems.push(`${p} counter ${count}, model ${m.counter(p)}${surplus ? " or more" : ""}`);
    const got = new Map(snap.records[p]);
    for (const f of m.filesOf(p)) {
      const rec = got.get(f.path);
      got.delete(f.path);
      if (!rec) {
        problems.push(`${p} ${f.path}: no record (model: ${f.status})`);
        continue;
      }
      const real = [rec.status, rec.size, rec.ownerId, rec.contentType];
      const model = [f.status, f.size, f.owner === "sk" ? null : m.ids.uid[f.owner], f.type];
      if (JSON.stringify(real) !== JSON.stringify(model))
        problems.push(`${f.path}: record ${JSON.stringify(real)}, model ${JSON.stringify(model)}`);
    }
    for (const [id, rec] of got) problems.push(`${p} ${id}: record ${rec.status} the model does not have`);
  }
  for (const f of Object.values(m.s.files)) {
    const stored = snap.blobs.get(f.path);
    if (!m.stored(f)) {
      if (stored) problems.push(`${f.path}: pending with bytes stored`);
    } else if (!stored) problems.push(`${f.path}: ${f.status} without bytes`);
    else if (stored.size !== f.size || stored.contentType !== f.type || !equalBytes(stored.bytes, f.bytes!))
      problems.push(
        `${f.path}: stored ${stored.size} bytes of ${stored.contentType}, not the model's ${f.size} of ${f.type}`,
      );
  }
  for (const f of Object.values(m.s.gone)) {
    if (!m.s.orphans.includes(f.path) && snap.blobs.get(f.path)) problems.push(`${f.path}: gone, bytes still stored`);
  }
  if (snap.disk) {
    const stored = Object.values(m.s.files).filter((f) => m.stored(f));
    const want = new Set([...stored.map((f) => f.path), ...m.s.orphans]);
    const files = new Set(snap.disk.files);
    for (const path of want) if (!files.has(path)) problems.push(`disk: ${path} missing`);
    for (const path of files) if (!want.has(path)) problems.push(`disk: ${path} stored without a ready record`);
    if (snap.disk.other.length) problems.push(`disk: leftover temporary files ${snap.disk.other.join(", ")}`);
  }
  return problems;
}

export async function checkState(m: Model, r: Real, what: string) {
  const problems = mismatches(m, await snapshot(r, m));
  if (problems.length) fail(r, `after ${what}: real state is not the model's:\n${problems.join("\n")}`);
}

/** The usage's storageBytes is the net change of ready bytes (unknown once a close lost a buffer). */
export async function checkUsage(m: Model, r: Real) {
  if (!m.s.usageKnown) return;
  await r.deps.usage.flush();
  const net = await storageBytesUsage(r);
  check(r, net === m.readyBytes(), `usage storageBytes ${net}, model's ready bytes ${m.readyBytes()}`);
}
