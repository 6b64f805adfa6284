/**
 * npm run bench: the local server (embedded store, in-memory limiter, limits off) against a bare Hono
 * baseline in the same run, measured before and after the endpoints (the ceiling is their mean). autocannon, 32 connections, a warm-up before each fixed-duration run.
 * Prints a table (with the server CPU time per request, read from /proc) and writes
 * bench/results/<time>.json (and latest.json).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { type Served, startServer } from "./servers.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = 32;
/** The calibration row's fixed work per request, about what a list of 20 costs in our handlers. */
const BUSY_MICROS = 40;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";

// biome-ignore lint/suspicious/noExplicitAny: our own API's JSON, read by known shape in a script
type Json = Record<string, any>;
type Target = Omit<autocannon.Options, "url" | "connections" | "duration"> & { path: string };
interface Row {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Server CPU time (user + system) per request during the measured run, in µs. */
  cpuMicrosPerRequest: number | null;
  ofBaseline?: number;
  /** The baseline's CPU per request over this row's: the comparison seen from the server's side. */
  cpuOfBaseline?: number | null;
}

async function call(base: string, method: string, path: string, headers: Json, body?: unknown): Promise<Json> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Json;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

async function measure(served: Served, name: string, target: Target): Promise<Row> {
  const { path, ...options } = target;
  const run = (duration: number) =>
    autocannon({ url: `${served.url}${path}`, connections: CONNECTIONS, duration, ...options });
  await run(WARMUP);
  const cpuBefore = await served.cpuMicros();
  const result = await run(DURATION);
  const cpuAfter = await served.cpuMicros();
  const row = {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMicrosPerRequest:
      cpuBefore === null || cpuAfter === null || result.requests.total === 0
        ? null
        : Math.round((cpuAfter - cpuBefore) / result.requests.total),
  };
  console.error(`  ${name}: ${row.requestsPerSecond} req/s`);
  return row;
}

/** Creates the benchmark project: collections of 100 and 10 000 documents, an RLS collection, users. */
async function seed(base: string) {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const { keys } = await call(base, "POST", "/api/admin/projects", admin, { name: "bench" });
  const sk = { "x-api-key": keys.secret };
  const pk = { "x-api-key": keys.publishable };
  const fields = [
    { name: "title", type: "string", required: true },
    { name: "status", type: "string", index: true },
    { name: "score", type: "number", index: true },
  ];
  for (const name of ["small", "large", "inserts"]) await call(base, "POST", "/api/schemas", sk, { name, fields });
  await call(base, "POST", "/api/schemas", sk, {
    name: "notes",
    fields: [
      { name: "text", type: "string", required: true },
      { name: "userId", type: "string" },
    ],
    rls: { enabled: true, mode: "public-read", ownerField: "userId" },
  });
  const doc = (i: number) => ({
    title: `Document ${i}`,
    status: ["active", "inactive", "pending"][i % 3],
    score: (i * 7919) % 1000,
  });
  const small = await call(
    base,
    "POST",
    "/api/data/small/bulk",
    sk,
    Array.from({ length: 100 }, (_, i) => doc(i)),
  );
  for (let at = 0; at < 10_000; at += 500) {
    await call(
      base,
      "POST",
      "/api/data/large/bulk",
      sk,
      Array.from({ length: 500 }, (_, i) => doc(at + i)),
    );
  }
  const user = { email: "bench@example.com", password: "bench-password-1" };
  const session = await call(base, "POST", "/api/userAuth/signup", pk, user).catch(() => null);
  return { pk, sk, user, session, firstId: small.items[0]._id as string };
}

/** Refresh tokens for the refresh run: each request spends one and puts the rotated one back. */
async function refreshPool(base: string, pk: Json, user: Json, size: number): Promise<string[]> {
  const mode = { ...pk, "x-refresh-token-mode": "header" };
  const logins = Array.from({ length: size }, () => call(base, "POST", "/api/userAuth/login", mode, user));
  return (await Promise.all(logins)).map((s) => s.refreshToken as string);
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "edgeback-bench-"));
  const server = await startServer(
    "server.ts",
    [],
    {
      NODE_ENV: "development",
      PORT: "0",
      DATA_DIR: dataDir,
      ADMIN_TOKEN,
      MAIL_PROVIDER: "memory",
      RATE_LIMIT_PK: "off",
      RATE_LIMIT_AUTH: "off",
      RATE_LIMIT_SK: "off",
    },
    /running at (http:\/\/[^\s]+)/,
    // BENCH_CPU_PROF=<dir> writes a CPU profile of the server (open it in Chrome DevTools).
    process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  );
  const rows: Row[] = [];
  let baseline: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const base = server.url;
    console.error(`seeding ${base} …`);
    const { pk, sk, user, session, firstId } = await seed(base);
    const listBody = await (await fetch(`${base}/api/data/small?limit=20`, { headers: pk })).text();
    const bodyFile = join(dataDir, "baseline-body.json");
    await writeFile(bodyFile, listBody);
    baseline = await startServer("bench/baseline.ts", [bodyFile], {}, /port (\d+)/);

    const readsBefore = (await call(base, "GET", "/api/admin/stats", { authorization: `Bearer ${ADMIN_TOKEN}` }))
      .keyResolution.storeReads as number;
    const json = { "content-type": "application/json" };
    const targets: Array<[string, Target]> = [
      ["health", { path: "/api/health" }],
      ["pk list 20 of 100 docs", { path: "/api/data/small?limit=20", headers: pk }],
      [
        "pk list 20 of 10k, filter+sort",
        { path: "/api/data/large?status=active&score_gte=200&sort=-score&limit=20", headers: pk },
      ],
      ["pk get by id", { path: `/api/data/small/${firstId}`, headers: pk }],
      [
        "sk insert (schema)",
        {
          path: "/api/data/inserts",
          method: "POST",
          headers: { ...sk, ...json },
          body: JSON.stringify({ title: "x", status: "active", score: 1 }),
        },
      ],
    ];
    if (session) {
      const bearer = { ...pk, ...json, authorization: `Bearer ${session.accessToken}` };
      targets.push(
        [
          "pk+JWT insert under RLS",
          { path: "/api/data/notes", method: "POST", headers: bearer, body: JSON.stringify({ text: "hello" }) },
        ],
        [
          "login (bcrypt)",
          { path: "/api/userAuth/login", method: "POST", headers: { ...pk, ...json }, body: JSON.stringify(user) },
        ],
      );
    }
    rows.push(await measure(baseline, "baseline: bare Hono, same body", { path: "/list" }));
    const calibration = await measure(baseline, `bare Hono + ${BUSY_MICROS} µs busy work`, {
      path: `/list/busy/${BUSY_MICROS}`,
    });
    rows.push(calibration);
    for (const [name, target] of targets) rows.push(await measure(server, name, target));
    if (session) {
      const pool = await refreshPool(base, pk, user, CONNECTIONS * 2);
      rows.push(
        await measure(server, "refresh (rotation)", {
          path: "/api/userAuth/refresh-token",
          method: "POST",
          requests: [
            {
              setupRequest: (req: Json) => ({
                ...req,
                headers: { ...pk, "x-refresh-token-mode": "header", "x-refresh-token": pool.shift() ?? "spent" },
              }),
              onResponse: (status: number, body: string) => {
                if (status === 200) pool.push(JSON.parse(body).data.refreshToken);
              },
            },
          ],
        }),
      );
    }
    // The machine's speed drifts during a run: the ceiling is the mean of a baseline run before and after.
    rows.push(await measure(baseline, "baseline again, after the runs", { path: "/list" }));
    const baselines = rows.filter((r) => r.name.startsWith("baseline"));
    const served = rows
      .filter((r) => !baselines.includes(r) && r !== calibration)
      .reduce((n, r) => n + r.requestsPerSecond * DURATION, 0);
    const readsAfter = (await call(base, "GET", "/api/admin/stats", { authorization: `Bearer ${ADMIN_TOKEN}` }))
      .keyResolution.storeReads as number;
    const ceiling = mean(baselines.map((r) => r.requestsPerSecond)) as number;
    const baselineCpu = mean(baselines.map((r) => r.cpuMicrosPerRequest));
    for (const row of rows) {
      row.ofBaseline = round2(row.requestsPerSecond / ceiling);
      row.cpuOfBaseline = baselineCpu && row.cpuMicrosPerRequest ? round2(baselineCpu / row.cpuMicrosPerRequest) : null;
    }
    const report = {
      time: new Date().toISOString(),
      node: process.version,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      rows,
      keyResolutionStoreReadsPerRequest: (readsAfter - readsBefore) / Math.max(served, 1),
      keyResolutionStoreReadsDuringRun: readsAfter - readsBefore,
      serverPeakRssMiB: await server.peakRssMiB(),
      notes: session ? [] : ["auth is not available: RLS insert, login and refresh were not measured"],
    };
    print(report);
    await mkdir("bench/results", { recursive: true });
    const file = `bench/results/${report.time.replace(/[:.]/g, "-")}.json`;
    for (const path of [file, "bench/results/latest.json"])
      await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten to ${file}`);
  } finally {
    await baseline?.stop();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The mean of the values, or null when one is missing. */
function mean(values: Array<number | null>): number | null {
  if (values.some((v) => v === null)) return null;
  return (values as number[]).reduce((sum, v) => sum + v, 0) / values.length;
}

function print(report: {
  rows: Row[];
  keyResolutionStoreReadsDuringRun: number;
  keyResolutionStoreReadsPerRequest: number;
  serverPeakRssMiB: number | null;
  notes: string[];
}) {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `\n${"endpoint".padEnd(34)}${pad("req/s", 9)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("× base", 9)}` +
      `${pad("CPU µs", 9)}${pad("CPU × base", 12)}${pad("non-2xx", 9)}${pad("errors", 8)}`,
  );
  for (const r of report.rows) {
    console.log(
      `${r.name.padEnd(34)}${pad(r.requestsPerSecond, 9)}${pad(r.p50, 9)}${pad(r.p99, 9)}${pad((r.ofBaseline ?? 0).toFixed(2), 9)}` +
        `${pad(r.cpuMicrosPerRequest ?? "?", 9)}${pad(r.cpuOfBaseline?.toFixed(2) ?? "?", 12)}${pad(r.non2xx, 9)}${pad(r.errors, 8)}`,
    );
  }
  console.log(
    "\n× base: req/s over the baseline's. CPU µs: the server's CPU time (user + system) per request; " +
      "CPU × base: the baseline's CPU per request over this row's. errors: requests the load generator " +
      "gave up on (no answer within its 10 s timeout) or could not send.",
  );
  console.log(
    `\nkey resolution store reads during the measured runs: ${report.keyResolutionStoreReadsDuringRun} ` +
      `(${report.keyResolutionStoreReadsPerRequest.toExponential(1)} per request: one refresh per key per cache TTL)`,
  );
  console.log(`server peak RSS: ${report.serverPeakRssMiB ?? "?"} MiB`);
  for (const note of report.notes) console.log(`note: ${note}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
