/**
 * The real side of the model-based test of the data API: a data app over the embedded store (in
 * memory, or on disk so that it can be closed and opened again), one project with one collection
 * (`items`) whose definition the run may change, and two end users A and B.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdminApp } from "../../functions/admin/app.js";
import { createDataApp } from "../../functions/data/app.js";
import { type CallResult, call, dataTestEnv, newUserId, type TestProject } from "../data-helpers.js";
import { ADMIN_TOKEN, type fakeClock, testDeps } from "../helpers.js";

export type Mode = "public-read" | "private";
export type User = "A" | "B";
/** Who sends a request: the secret key, an end user (publishable key and token) or a guest (publishable key alone). */
export type Caller = "sk" | User | "guest";

export const COLL = "items";
export const FIELDS = ["title", "n", "tag", "slug", "flag", "userId"] as const;

/** Which fields are indexed (and whether slug is unique): the part of the definition that changes. */
export interface Shape {
  title: boolean;
  n: boolean;
  tag: boolean;
  flag: boolean;
  slug: "unique" | "index" | "none";
}
export const INITIAL_SHAPE: Shape = { title: false, n: true, tag: false, flag: false, slug: "unique" };

export function definition(mode: Mode, shape: Shape) {
  const indexed = (on: boolean) => (on ? { index: true } : {});
  const slug = shape.slug === "unique" ? { unique: true } : indexed(shape.slug === "index");
  return {
    name: COLL,
    fields: [
      { name: "title", type: "string", required: true, maxLength: 8, ...indexed(shape.title) },
      { name: "n", type: "number", ...indexed(shape.n) },
      { name: "tag", type: "string", ...indexed(shape.tag) },
      { name: "slug", type: "string", ...slug },
      { name: "flag", type: "boolean", ...indexed(shape.flag) },
      { name: "userId", type: "string" },
    ],
    rls: { enabled: true, mode, ownerField: "userId" },
  };
}

type Instance = Awaited<ReturnType<typeof testDeps>>;

export interface Real {
  mode: Mode;
  /** The project's documentsBytes quota, when it has one. */
  quota: number | undefined;
  clock: ReturnType<typeof fakeClock>;
  /** The running instance: replaced when the store is opened again. */
  deps: Instance;
  app: ReturnType<typeof createDataApp>;
  admin: ReturnType<typeof createAdminApp>;
  project: TestProject;
  uid: Record<User, string>;
  token: Record<User, string>;
  dataDir: string | null;
  /** The last requests and answers, printed with a failure. */
  trace: string[];
}

const TRACE_LINES = 12;

export interface RealOptions {
  mode: Mode;
  quota?: number;
  onDisk?: boolean;
}

export async function openReal(options: RealOptions): Promise<Real> {
  const dataDir = options.onDisk ? await mkdtemp(join(tmpdir(), "edgeback-model-")) : null;
  const settings = options.quota === undefined ? undefined : { quotas: { documentsBytes: options.quota } };
  const env = await dataTestEnv({ dataDir, ...(settings ? { settings } : {}) });
  await env.defineCollection(definition(options.mode, INITIAL_SHAPE));
  const uid = { A: newUserId(), B: newUserId() };
  const day = 86_400;
  const token = { A: await env.token(uid.A, day), B: await env.token(uid.B, day) };
  const { mode, quota } = options;
  return { mode, quota, clock: env.clock, project: env.project, uid, token, dataDir, trace: [], ...apps(env.deps) };
}

function apps(deps: Instance) {
  return { deps, app: createDataApp(deps), admin: createAdminApp(deps) };
}

/** Cleans up after a run: a failing flush must not hide the run's own outcome. */
export async function closeReal(r: Real): Promise<void> {
  await r.deps.usage.flush().catch(() => {});
  await r.deps.store.close();
  if (r.dataDir) await rm(r.dataDir, { recursive: true, force: true });
}

/** Opens the store again from disk, in a new instance (its caches and usage buffer empty). */
export async function openAgain(r: Real): Promise<void> {
  if (!r.dataDir) throw new Error("the store is not on disk");
  Object.assign(r, apps(await testDeps({ clock: r.clock, dataDir: r.dataDir })));
  r.trace.push("-- opened again --");
}

/** Closes the store as the server does (usage flushed first) and opens it again. */
export async function restart(r: Real): Promise<void> {
  await r.deps.usage.flush();
  await r.deps.store.close();
  await openAgain(r);
}

/** One request to the data app as `caller`; the exchange goes into the trace. */
export async function req(
  r: Real,
  caller: Caller,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<CallResult> {
  const key = caller === "sk" ? r.project.sk : r.project.pk;
  const token = caller === "A" || caller === "B" ? r.token[caller] : null;
  const res = await call(r.app, method, path, { key, token, body, headers });
  const sent = `${body === undefined ? "" : JSON.stringify(body)} ${JSON.stringify(headers)}`;
  r.trace.push(`${caller} ${method} ${path} ${sent} -> ${res.status} ${res.text.slice(0, 300)}`);
  if (r.trace.length > TRACE_LINES) r.trace.shift();
  return res;
}

/** The project's documentsBytes counter as stored (undefined: not made, or dropped). */
export async function quotaCounter(r: Real): Promise<number | undefined> {
  const counter = await r.deps.store.platform().collection("quota_usage").findOne({ _id: r.project.id });
  return counter?.documentsBytes as number | undefined;
}

/** How many times the running instance logged a quota release it could not write. */
export const releaseFailures = (r: Real) =>
  r.deps.log.lines.filter((line) => line.message.startsWith("quota release failed")).length;

/** documentsWritten summed over the usage days, as the admin API reports it. */
export async function documentsWritten(r: Real): Promise<number> {
  const res = await call(r.admin, "GET", `/api/admin/projects/${r.project.id}/usage?days=30`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (res.status !== 200) throw new Error(`usage: ${res.text}`);
  return (res.json.data.usage as Array<{ documentsWritten?: number }>).reduce(
    (n, d) => n + (d.documentsWritten ?? 0),
    0,
  );
}
