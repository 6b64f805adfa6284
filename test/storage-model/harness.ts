/**
 * The real side of the storage model fuzz: a storage app (and an admin app, for usage) over the
 * embedded store, in memory or on disk (then the fs blob store under <dataDir>/files, so the app can be
 * restarted, or closed mid-flight and opened again on the same data), project P under test and project
 * Q (the intruder), end users A and B of P. `faults.releases` makes the platform store refuse that many
 * of the next releases of storage bytes, as a failing database would.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createAdminApp } from "../../functions/admin/app.js";
import { createStorageApp } from "../../functions/storage/app.js";
import { fileRecords } from "../../shared/storage/files.js";
import { fsBlobStore } from "../../shared/storage/fs.js";
import { memoryBlobStore } from "../../shared/storage/memory.js";
import type { BlobStore } from "../../shared/storage/types.js";
import { StoreUnavailableError } from "../../shared/store/types.js";
import { signAccessToken } from "../../shared/tokens.js";
import { ADMIN_TOKEN, aroundPlatform, fakeClock, testDeps } from "../helpers.js";
import { isStorageRelease } from "../storage-helpers.js";

export type User = "A" | "B";
/**
 * Who sends a request: P's secret key, an end user of P (pk + token), P's pk alone (guest), P's pk with
 * a token of project Q (badToken), no key at all (none), Q's secret key (Qsk), Q's publishable key (Qpk).
 */
export type Caller = "sk" | User | "guest" | "badToken" | "none" | "Qsk" | "Qpk";

export interface RealOptions {
  onDisk: boolean;
  quota?: number;
  public?: boolean;
  maxFileSize?: number;
}

type Instance = Awaited<ReturnType<typeof testDeps>>;
export interface Proj {
  id: string;
  pk: string;
  sk: string;
  jwtSecret: string;
}

export interface Real {
  options: RealOptions;
  clock: ReturnType<typeof fakeClock>;
  deps: Instance;
  app: ReturnType<typeof createStorageApp>;
  admin: ReturnType<typeof createAdminApp>;
  blobs: BlobStore;
  P: Proj;
  Q: Proj;
  uid: Record<User, string>;
  token: Record<User, string>;
  qToken: string;
  dataDir: string | null;
  faults: { releases: number };
  trace: string[];
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  bytes: Uint8Array;
  // biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
  json: any;
}

const TRACE_LINES = 20;
const DAY = 86_400;

async function project(deps: Instance, name: string, settings: Record<string, unknown>): Promise<Proj> {
  const { project, keys } = await deps.projects.create({ name, settings });
  const resolved = (await deps.projects.resolveKey(keys.secret))!.project;
  return { id: project.id, pk: keys.publishable, sk: keys.secret, jwtSecret: resolved.jwtSecret };
}

/**
 * Sanity mutants of the blob store (STORAGE_MODEL_MUTANT=nodelete: deletes nothing; rangeoff: serves
 * one byte short of a range): with either, the fuzz must fail, which shows its checks bite.
 */
function mutant(store: BlobStore): BlobStore {
  switch (process.env.STORAGE_MODEL_MUTANT) {
    case "nodelete":
      return { ...store, delete: async () => {} };
    case "rangeoff":
      return {
        ...store,
        get: (path, range) => store.get(path, range && { ...range, length: Math.max(0, range.length - 1) }),
      };
    default:
      return store;
  }
}

function instance(deps: Instance, dataDir: string | null, faults: Real["faults"]) {
  aroundPlatform(deps, (call, run) => {
    if (faults.releases === 0 || !isStorageRelease(call)) return run();
    faults.releases--;
    return Promise.reject(new StoreUnavailableError("release refused by the fuzz"));
  });
  const blobs = mutant(dataDir ? fsBlobStore(join(dataDir, "files")) : memoryBlobStore());
  return { deps, blobs, app: createStorageApp(deps, { blobs }), admin: createAdminApp(deps) };
}

export async function openReal(options: RealOptions): Promise<Real> {
  const dataDir = options.onDisk ? await mkdtemp(join(tmpdir(), "edgeback-storage-model-")) : null;
  const clock = fakeClock(Date.parse("2026-03-01T00:00:00Z"));
  const deps = await testDeps({ clock, dataDir });
  const storage: Record<string, unknown> = { allowUserUploads: true, maxFileSize: options.maxFileSize ?? 48 };
  if (options.quota !== undefined) storage.quotaBytes = options.quota;
  if (options.public) storage.public = true;
  const P = await project(deps, "p", { storage });
  const Q = await project(deps, "q", { storage: { maxFileSize: 48 } });
  const uid = { A: "a".repeat(24), B: "b".repeat(24) };
  const sign = async (p: Proj, user: string) =>
    (await signAccessToken(p, user, { now: clock.now(), ttlSeconds: 30 * DAY })).token;
  const token = { A: await sign(P, uid.A), B: await sign(P, uid.B) };
  const qToken = await sign(Q, uid.A);
  const faults = { releases: 0 };
  return { options, clock, P, Q, uid, token, qToken, dataDir, faults, trace: [], ...instance(deps, dataDir, faults) };
}

export async function closeReal(r: Real): Promise<void> {
  await r.deps.usage.flush().catch(() => {});
  await r.deps.store.close().catch(() => {});
  if (r.dataDir) await rm(r.dataDir, { recursive: true, force: true });
}

/** A new instance on the same data dir (caches, usage buffer, blob store object all new). */
export async function openAgain(r: Real): Promise<void> {
  if (!r.dataDir) throw new Error("not on disk");
  Object.assign(r, instance(await testDeps({ clock: r.clock, dataDir: r.dataDir }), r.dataDir, r.faults));
  r.trace.push("-- opened again --");
}

export async function restart(r: Real): Promise<void> {
  await r.deps.usage.flush();
  await r.deps.store.close();
  await openAgain(r);
}

export function headersFor(r: Real, caller: Caller): Record<string, string> {
  switch (caller) {
    case "sk":
      return { "x-api-key": r.P.sk };
    case "A":
    case "B":
      return { "x-api-key": r.P.pk, authorization: `Bearer ${r.token[caller]}` };
    case "guest":
      return { "x-api-key": r.P.pk };
    case "badToken":
      return { "x-api-key": r.P.pk, authorization: `Bearer ${r.qToken}` };
    case "none":
      return {};
    case "Qsk":
      return { "x-api-key": r.Q.sk };
    case "Qpk":
      return { "x-api-key": r.Q.pk };
  }
}

async function toRes(res: Response): Promise<Res> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, bytes, json };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
const short = (text: string) => text.replace(/[\x00-\x08\x0e-\x1f\x7f-\uffff]/g, "?").slice(0, 240);

/** A request to the storage app; the exchange goes into the trace. */
export async function request(
  r: Real,
  label: string,
  method: string,
  url: string,
  init: { headers?: Record<string, string>; body?: BodyInit } = {},
): Promise<Res> {
  const res = await toRes(
    await r.app.request(url, {
      method,
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: init.body }),
    }),
  );
  r.trace.push(`${label} ${method} ${url.slice(0, 160)} -> ${res.status} ${short(res.text)}`);
  if (r.trace.length > TRACE_LINES) r.trace.shift();
  return res;
}

export function json(r: Real, label: string, method: string, route: string, caller: Caller, body: unknown) {
  return request(r, `${label}[${caller}] ${JSON.stringify(body).slice(0, 160)}`, method, `/api/storage/${route}`, {
    headers: { ...headersFor(r, caller), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** The project's byte counter (storage_usage.bytes), undefined when it has none (not made, or dropped). */
export async function counter(r: Real, p: Proj): Promise<number | undefined> {
  const doc = await r.deps.store.platform().collection("storage_usage").findOne({ _id: p.id });
  return doc?.bytes as number | undefined;
}

export async function records(r: Real, p: Proj) {
  return (await fileRecords(r.deps).find({ projectId: p.id })) as Array<Record<string, unknown>>;
}

/** How many times the running instance logged a release of storage bytes it could not write. */
export const releaseFailures = (r: Real) =>
  r.deps.log.lines.filter((line) => line.message.startsWith("storage: release failed")).length;

/** storageBytes summed over the usage days, as the admin API reports it. */
export async function storageBytesUsage(r: Real): Promise<number> {
  const res = await r.admin.request(`/api/admin/projects/${r.P.id}/usage?days=30`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const body = (await res.json()) as { data: { usage: Array<{ storageBytes?: number }> } };
  return body.data.usage.reduce((n, d) => n + (d.storageBytes ?? 0), 0);
}

/** The fs store's files under its root (paths relative to it), type files of stored files apart; `other`: temporaries. */
export async function blobFiles(r: Real): Promise<{ files: string[]; other: string[] }> {
  const out = { files: [] as string[], other: [] as string[] };
  if (!r.dataDir) return out;
  const root = join(r.dataDir, "files");
  async function walk(dir: string) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.name.startsWith(".")) out.other.push(relative(root, full));
      else if (!entry.name.endsWith(".type") || !(await stat(full.slice(0, -5)).catch(() => null))?.isFile())
        out.files.push(relative(root, full));
    }
  }
  await walk(root);
  return out;
}
