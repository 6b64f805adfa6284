/**
 * npm run build: bundles every function as its own Cloudflare Worker (wrangler deploy --dry-run) into
 * dist/workers/<function>, prints each bundle's size minified and gzipped, and fails when a bundle is
 * over budget or carries what it must not (the S3 client in auth or data, SQLite anywhere; admin
 * deletes a removed project's files, so it carries the S3 client as storage does).
 */
import { execFile } from "node:child_process";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

const FUNCTIONS = ["auth", "data", "storage", "admin"] as const;
const BUDGET_GZIP_BYTES = 1024 * 1024;
/** Markers of code a bundle must not carry (the MongoDB driver merely names @aws-sdk/credential-providers). */
const S3_CLIENT: Array<[string, string]> = [
  ["AwsV4Signer", "the S3 client (aws4fetch)"],
  ["@aws-sdk/client-s3", "the S3 client (AWS SDK)"],
];
const SQLITE: [string, string] = ["@libsql", "SQLite"];
const FORBIDDEN: Record<string, Array<[string, string]>> = {
  auth: [...S3_CLIENT, SQLITE],
  data: [...S3_CLIENT, SQLITE],
  storage: [SQLITE],
  admin: [SQLITE],
};

const run = promisify(execFile);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function bundle(fn: string): Promise<{ fn: string; bytes: number; gzipBytes: number; problems: string[] }> {
  const outdir = join("dist", "workers", fn);
  await rm(outdir, { recursive: true, force: true });
  await run("npx", ["wrangler", "deploy", "--dry-run", "--minify", "--outdir", outdir, "--env", fn], {
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    maxBuffer: 16 * 1024 * 1024,
  });
  const files = (await readdir(outdir)).filter((f) => f.endsWith(".js") || f.endsWith(".mjs"));
  const code = Buffer.concat(await Promise.all(files.map((f) => readFile(join(outdir, f)))));
  const text = code.toString("utf8");
  const problems = (FORBIDDEN[fn] ?? [])
    .filter(([marker]) => text.includes(marker))
    .map(([, what]) => `carries ${what}`);
  const gzipBytes = gzipSync(code).length;
  if (gzipBytes > BUDGET_GZIP_BYTES) problems.push(`over the ${kib(BUDGET_GZIP_BYTES)} gzip budget`);
  return { fn, bytes: code.length, gzipBytes, problems };
}

const results = [];
for (const fn of FUNCTIONS) results.push(await bundle(fn));
console.log(`\n${"function".padEnd(10)}${"minified".padStart(14)}${"gzipped".padStart(14)}`);
for (const r of results) console.log(`${r.fn.padEnd(10)}${kib(r.bytes).padStart(14)}${kib(r.gzipBytes).padStart(14)}`);
const failed = results.filter((r) => r.problems.length > 0);
for (const r of failed) console.error(`${r.fn}: ${r.problems.join(", ")}`);
process.exit(failed.length > 0 ? 1 : 0);
