/**
 * The Node serverless entries: each Lambda handler invoked with API Gateway HTTP API (payload v2)
 * events, and the Vercel handlers with the URLs vercel.json's rewrites produce. One process is one
 * instance, so all entries share the instance's deps (here: an in-memory embedded store).
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as vercelAdmin from "../api/admin.js";
import * as vercelData from "../api/data.js";
import { handler as adminHandler } from "../platforms/lambda/admin.js";
import { handler as authHandler } from "../platforms/lambda/auth.js";
import { handler as dataHandler } from "../platforms/lambda/data.js";
import { handler as storageHandler } from "../platforms/lambda/storage.js";
import { CONFIG_VARIABLES, loadConfig } from "../shared/config.js";
import { event, restEvent } from "./lambda-event.js";
import { PNG } from "./png.js";

const ADMIN_TOKEN = "lambda-admin-token-0123456789";
const run = promisify(execFile);

beforeAll(() => {
  vi.stubEnv("NODE_ENV", "development");
  vi.stubEnv("ADMIN_TOKEN", ADMIN_TOKEN);
  vi.stubEnv("MONGODB_URI", "");
  vi.stubEnv("DATA_DIR", "");
});

/** An answer's body as text (API Gateway decodes base64 answers before they reach the client). */
const textOf = (res: { body: string; isBase64Encoded?: boolean }) =>
  res.isBase64Encoded ? Buffer.from(res.body, "base64").toString("utf8") : res.body;

type Handler = (
  e: never,
  c: never,
) => Promise<{
  statusCode: number;
  body: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, string[]>;
}>;
async function invoke(handler: Handler, ...args: Parameters<typeof event>) {
  const res = await handler(event(...args) as never, {} as never);
  return { status: res.statusCode, json: JSON.parse(textOf(res)), headers: res.headers ?? {} };
}

/** Like invoke, from a client whose address API Gateway saw as `sourceIp`, in an HTTP API (v2) or REST API (v1) event. */
async function invokeFrom(sourceIp: string, shape: "v2" | "v1", handler: Handler, ...args: Parameters<typeof event>) {
  const e = event(...args);
  e.requestContext.http.sourceIp = sourceIp;
  const res = await handler((shape === "v2" ? e : restEvent(e)) as never, {} as never);
  const multi = Object.entries(res.multiValueHeaders ?? {}).map(([name, values]) => [name, values.join(", ")]);
  return { status: res.statusCode, headers: { ...res.headers, ...Object.fromEntries(multi) } };
}

/** A project whose publishable key may make 2 requests a minute per client (the pk rule of API.md §8). */
const LIMITED = { name: "limited", settings: { rateLimits: { pk: "2/1m" } } };

describe("AWS Lambda handlers (API Gateway v2 events)", () => {
  it.each([
    ["auth", authHandler],
    ["data", dataHandler],
    ["storage", storageHandler],
    ["admin", adminHandler],
  ])("%s answers health", async (_name, handler) => {
    const res = await invoke(handler as Handler, "GET", "/api/health");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, data: { status: "ok" } });
  });

  it("admin and data share the instance: create a project, then use its keys", async () => {
    expect((await invoke(adminHandler as Handler, "GET", "/api/admin/projects")).status).toBe(401);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await invoke(adminHandler as Handler, "POST", "/api/admin/projects", admin, { name: "lambda" });
    expect(created.status).toBe(201);
    const sk = { "x-api-key": created.json.data.keys.secret };
    const pk = { "x-api-key": created.json.data.keys.publishable };
    expect((await invoke(dataHandler as Handler, "POST", "/api/data/notes", sk, { text: "hi" })).status).toBe(201);
    expect((await invoke(dataHandler as Handler, "POST", "/api/data/notes", pk, { text: "no" })).json.code).toBe(
      "WRITE_BLOCKED",
    );
    const list = await invoke(dataHandler as Handler, "GET", "/api/data/notes", pk, undefined, "text=hi&limit=5");
    expect(list.json.data.items.map((d: { text: string }) => d.text)).toEqual(["hi"]);
    expect((await invoke(dataHandler as Handler, "GET", "/api/data/notes")).json.code).toBe("API_KEY_MISSING");
  });

  it("an answer Lambda would refuse (over 6 MB) is the API's envelope with CORS, in v2 and v1 events; a GET's body is ignored", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await invoke(adminHandler as Handler, "POST", "/api/admin/projects", admin, { name: "big" });
    const sk = { "x-api-key": created.json.data.keys.secret };
    const text = "x".repeat(1000 * 1000); // each document about 1 MB, under MAX_JSON_BYTES
    for (let i = 0; i < 7; i++) {
      expect((await invoke(dataHandler as Handler, "POST", "/api/data/big", sk, { i, text })).status).toBe(201);
    }
    const page = { ...sk, origin: "https://app.example.com" };
    for (const shape of ["v2", "v1"] as const) {
      const e = event("GET", "/api/data/big", page, undefined, "limit=7");
      const res = await (dataHandler as Handler)((shape === "v2" ? e : restEvent(e)) as never, {} as never);
      const headers = {
        ...res.headers,
        ...Object.fromEntries(Object.entries(res.multiValueHeaders ?? {}).map(([n, v]) => [n, v[0]])),
      };
      expect([res.statusCode, JSON.parse(res.body).code, headers["access-control-allow-origin"]], shape).toEqual([
        400,
        "INVALID_QUERY",
        "https://app.example.com",
      ]);
      expect(JSON.parse(res.body).requestId, shape).toBe(headers["x-request-id"]);
    }
    const fits = await invoke(dataHandler as Handler, "GET", "/api/data/big", sk, undefined, "limit=5");
    expect(fits.json.data.items).toHaveLength(5);
    // API Gateway passes a GET's body along; hono's adapter would answer its own bare 400 for it.
    const withBody = await invoke(dataHandler as Handler, "GET", "/api/data/big", page, {}, "limit=1&fields=i");
    expect([withBody.status, withBody.headers["access-control-allow-origin"]]).toEqual([
      200,
      "https://app.example.com",
    ]);
  });

  it("storage: files of any type come back byte for byte (text that is not UTF-8 too)", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const settings = { storage: { allowedContentTypes: ["text/plain", "application/json", "image/png"] } };
    const created = await invoke(adminHandler as Handler, "POST", "/api/admin/projects", admin, {
      name: "f",
      settings,
    });
    const sk = { "x-api-key": created.json.data.keys.secret };
    const storage = storageHandler as unknown as (e: unknown, c: unknown) => Promise<LambdaAnswer>;
    for (const [bytes, type] of [
      [new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]), "text/plain"], // "café\n" in ISO-8859-1
      [new Uint8Array([0x22, 0xe9, 0x22]), "application/json"], // a stored "JSON" file is still just bytes
      [PNG, "image/png"],
    ] as const) {
      const form = new Request("http://x/", { method: "POST", body: formWith(bytes, type) });
      const upload = event("POST", "/api/storage/upload", { ...sk, "content-type": form.headers.get("content-type")! });
      const uploaded = await storage(
        { ...upload, body: bytesToBase64(await form.arrayBuffer()), isBase64Encoded: true },
        {},
      );
      expect(uploaded.statusCode, textOf(uploaded)).toBe(201);
      const path = JSON.parse(textOf(uploaded)).data.path as string;
      const query = `path=${encodeURIComponent(path)}`;
      const redirect = await storage(event("GET", "/api/storage/file", sk, undefined, query), {});
      const signed = new URL(String(redirect.headers?.location));
      const file = await storage(event("GET", signed.pathname, {}, undefined, signed.search.slice(1)), {});
      expect(file.statusCode).toBe(200);
      expect(file.isBase64Encoded).toBe(true);
      expect([...Buffer.from(file.body, "base64")]).toEqual([...bytes]);
    }
    // Other functions answer only JSON, sent as text.
    const json = await (dataHandler as unknown as typeof storage)(event("GET", "/api/health"), {});
    expect(json.isBase64Encoded).toBe(false);
    expect(JSON.parse(json.body).success).toBe(true);
  });
});

type LambdaAnswer = { statusCode: number; body: string; isBase64Encoded: boolean; headers?: Record<string, unknown> };
const bytesToBase64 = (bytes: ArrayBuffer) => Buffer.from(bytes).toString("base64");
function formWith(bytes: Uint8Array, type: string): FormData {
  const form = new FormData();
  form.append("file", new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), "file");
  return form;
}

describe("Vercel handlers (rewritten URLs)", () => {
  it("serves the client's path and drops the rewrite's own query parameter", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    const created = await vercelAdmin.POST(
      new Request("https://edgeback.vercel.app/api/admin/projects?__ebpath=projects", {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "vercel" }),
      }),
    );
    expect(created.status).toBe(201);
    const { keys } = ((await created.json()) as { data: { keys: { secret: string } } }).data;
    const headers = { "x-api-key": keys.secret, "content-type": "application/json" };
    const url = "https://edgeback.vercel.app/api/data/notes";
    await vercelData.POST(new Request(url, { method: "POST", headers, body: JSON.stringify({ text: "v" }) }));
    // Without stripping, __ebpath=notes would be read as a filter on a field "__ebpath" and match nothing.
    const list = await vercelData.GET(new Request(`${url}?text=v&__ebpath=notes`, { headers }));
    expect(((await list.json()) as { data: { total: number } }).data.total).toBe(1);
  });
});

/**
 * Rate limits count a publishable key per client address: each platform entry knows where the address
 * is without configuration (an explicit TRUSTED_PROXY still wins), so one client cannot spend
 * everyone's requests.
 */
describe("client addresses for rate limits, by default", () => {
  it.each(["v2", "v1"] as const)(
    "Lambda (%s events): the source IP API Gateway saw picks the bucket; a client-sent x-forwarded-for does not",
    async (shape) => {
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const created = await invoke(adminHandler as Handler, "POST", "/api/admin/projects", admin, LIMITED);
      const pk = { "x-api-key": created.json.data.keys.publishable };
      const list = (ip: string, forwarded: string) =>
        invokeFrom(ip, shape, dataHandler as Handler, "GET", "/api/data/notes", {
          ...pk,
          "x-forwarded-for": forwarded,
        });
      const first = [];
      for (const forwarded of ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        first.push((await list("203.0.113.10", forwarded)).status);
      expect(first.slice(0, 2)).not.toContain(429);
      expect(first[2]).toBe(429);
      const other = await list("203.0.113.11", "192.0.2.1");
      expect(other.status).not.toBe(429);
      expect(other.headers["ratelimit-remaining"]).toBe("1");
    },
  );

  it("Vercel: each x-forwarded-for address (Vercel's edge sets it) has its own bucket", async () => {
    const created = await vercelAdmin.POST(
      new Request("https://edgeback.vercel.app/api/admin/projects", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(LIMITED),
      }),
    );
    const { keys } = ((await created.json()) as { data: { keys: { publishable: string } } }).data;
    const list = (ip: string) =>
      vercelData.GET(
        new Request("https://edgeback.vercel.app/api/data/notes", {
          headers: { "x-api-key": keys.publishable, "x-forwarded-for": ip },
        }),
      );
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await list("203.0.113.20")).status);
    expect(first.slice(0, 2)).not.toContain(429);
    expect(first[2]).toBe(429);
    const other = await list("203.0.113.21");
    expect(other.status).not.toBe(429);
    expect(other.headers.get("ratelimit-remaining")).toBe("1");
  });
});

/** provider.environment of serverless.yml: variable → value as written. */
function serverlessEnvironment(): Map<string, string> {
  const lines = readFileSync(new URL("../serverless.yml", import.meta.url), "utf8").split("\n");
  const start = lines.indexOf("  environment:");
  expect(start).toBeGreaterThan(0);
  const environment = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    const entry = /^ {4}([A-Z0-9_]+): (.*)$/.exec(line);
    if (!entry) break;
    environment.set(entry[1]!, entry[2]!);
  }
  return environment;
}

describe("serverless.yml", () => {
  /** Lambda has no lasting disk: documents live in MongoDB, so the on-disk store's directory is not passed. */
  const NOT_ON_LAMBDA = ["DATA_DIR"];
  const REQUIRED = ["MONGODB_URI", "ENCRYPTION_KEY", "ADMIN_TOKEN"];

  it("passes every variable the configuration reads to the functions (a variable left out never reaches Lambda)", () => {
    const environment = serverlessEnvironment();
    const expected = CONFIG_VARIABLES.filter((name) => !NOT_ON_LAMBDA.includes(name));
    expect(expected).toEqual(expect.arrayContaining(["S3_BUCKET", "UPSTASH_REDIS_REST_URL", "MAIL_PROVIDER"]));
    expect([...environment.keys()].sort()).toEqual([...expected].sort());
  });

  it("takes each from the deploying shell under its own name; optional ones default to empty (= unset)", () => {
    for (const [name, value] of serverlessEnvironment()) {
      if (name === "NODE_ENV") expect(value).toBe("production");
      else if (REQUIRED.includes(name)) expect(value, name).toBe(`\${env:${name}}`);
      else expect(value, name).toBe(`\${env:${name}, ''}`);
    }
  });

  it("deployed with only the required variables exported, the empty ones mean defaults", () => {
    const exported: Record<string, string> = {
      MONGODB_URI: "mongodb://db.example.com:27017",
      ENCRYPTION_KEY: "ab".repeat(32),
      ADMIN_TOKEN,
    };
    const env = Object.fromEntries(
      [...serverlessEnvironment()].map(([name, value]) => [
        name,
        value === "production" ? value : (exported[name] ?? ""),
      ]),
    );
    expect(loadConfig(env, { required: ["ADMIN_TOKEN"] })).toEqual(loadConfig({ ...exported, NODE_ENV: "production" }));
  });
});

/**
 * The Lambda bundles as serverless.yml's esbuild options build them (ESM, @libsql/client external).
 * The on-disk store's SQLite client is a native addon that a deploy may ship for the wrong platform:
 * a bundle may load it only when an on-disk store is opened, never when the function starts.
 */
describe("Lambda bundles (serverless.yml's esbuild options)", () => {
  const FUNCTIONS = ["auth", "data", "storage", "admin"];
  let outdir: string;

  beforeAll(async () => {
    const yml = readFileSync(new URL("../serverless.yml", import.meta.url), "utf8");
    const options = yml.slice(yml.indexOf("  esbuild:\n"), yml.indexOf("\nfunctions:"));
    expect(options).toMatch(/^ {4}format: esm$/m);
    expect(options).toMatch(/^ {4}target: node22$/m);
    expect(yml).toMatch(/^ {2}runtime: nodejs22\.x$/m); // the runtime the bundle is built for
    expect(options).toMatch(/^ {4}external:\n {6}- "@libsql\/client"$/m);
    const banner = /^ {4}banner:\n {6}js: (".*")$/m.exec(options)?.[1];
    // Outside the repository, so no node_modules can provide @libsql/client.
    outdir = await mkdtemp(join(tmpdir(), "edgeback-lambda-bundle-"));
    await build({
      entryPoints: FUNCTIONS.map((fn) => `platforms/lambda/${fn}.ts`),
      outdir,
      bundle: true,
      minify: true,
      target: "node22",
      format: "esm",
      platform: "node",
      external: ["@libsql/client"],
      outExtension: { ".js": ".mjs" },
      ...(banner ? { banner: { js: JSON.parse(banner) as string } } : {}),
      logLevel: "silent",
    });
  }, 60_000);
  afterAll(() => rm(outdir, { recursive: true, force: true }));

  it.each(FUNCTIONS)("%s imports @libsql/client only where the on-disk store is opened, not at its top", async (fn) => {
    const code = await readFile(join(outdir, `${fn}.mjs`), "utf8");
    const dynamic = /import\(\s*["']@libsql\/client["']\s*\)/g;
    expect(dynamic.test(code), "a dynamic import()").toBe(true);
    expect(code.replace(dynamic, "").includes("@libsql/client"), "any other reference (a static import)").toBe(false);
  });

  it.each(FUNCTIONS)("%s starts as Lambda starts it (an ES module, no require) and answers", async (fn) => {
    const health = event("GET", "/api/health");
    const script = [
      `const { handler } = await import(${JSON.stringify(pathToFileURL(join(outdir, `${fn}.mjs`)).href)});`,
      `const res = await handler(${JSON.stringify(health)}, {});`,
      "console.log(res.statusCode);",
    ].join("\n");
    const env = { PATH: process.env.PATH ?? "", NODE_ENV: "development", ADMIN_TOKEN };
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: outdir, env }).catch(
      (error: { stderr?: string }) => {
        // The error line only: the rest of stderr is the minified bundle line where it was thrown.
        const reason = (error.stderr ?? "").split("\n").find((line) => /^\w*Error\b/.test(line));
        throw new Error(`the ${fn} bundle did not start: ${reason ?? "(no error line)"}`);
      },
    );
    expect(stdout.trim()).toBe("200");
  });
});

/**
 * Vercel compiles each TypeScript file of a function on its own and leaves its imports as written,
 * then Node loads them as ES modules, which need the file extension on relative imports (biome's
 * useImportExtensions keeps them). Here every file is transpiled alone, as Vercel does, and loaded
 * by plain Node.
 */
describe("Vercel functions, each file compiled on its own", () => {
  const FUNCTIONS = ["auth", "data", "storage", "admin"];
  let outdir: string;

  beforeAll(async () => {
    const sources = ["api", "functions", "shared", "platforms"].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".ts"))
        .map((file) => join(dir, file)),
    );
    // Inside the repository, so the functions' packages resolve from its node_modules.
    await mkdir("node_modules/.cache", { recursive: true });
    outdir = await mkdtemp("node_modules/.cache/edgeback-vercel-");
    await build({ entryPoints: sources, outdir, outbase: ".", format: "esm", platform: "node", logLevel: "silent" });
  }, 60_000);
  afterAll(() => rm(outdir, { recursive: true, force: true }));

  it.each(FUNCTIONS)("%s loads under plain Node and answers", async (fn) => {
    const script = [
      `const { GET } = await import(${JSON.stringify(pathToFileURL(join(outdir, "api", `${fn}.js`)).href)});`,
      `const res = await GET(new Request("http://localhost/api/health"));`,
      "console.log(res.status);",
    ].join("\n");
    const env = { PATH: process.env.PATH ?? "", NODE_ENV: "development", ADMIN_TOKEN, DATA_DIR: join(outdir, "data") };
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { env }).catch(
      (error: { stderr?: string }) => {
        const reason = (error.stderr ?? "").split("\n").find((line) => /^\w*Error\b/.test(line));
        throw new Error(`the ${fn} function did not load: ${reason ?? "(no error line)"}`);
      },
    );
    expect(stdout.trim().split("\n").at(-1)).toBe("200");
  });
});
