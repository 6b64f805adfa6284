/**
 * Proof in workerd: each function's Worker bundle (built by wrangler exactly as `npm run build` and a
 * deploy build it) runs in Miniflare. Each Worker keeps its own in-memory store, so the round trip
 * across admin and data runs in the all-in-one local Worker (platforms/workers/local.ts).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3BlobStore } from "../shared/storage/s3.js";
import { startRedis } from "./redis-harness.js";
import { S3RVER_KEYS, startS3rver } from "./s3-server.js";
import { startUpstashShim } from "./upstash-shim.js";

const run = promisify(execFile);
const ADMIN_TOKEN = "workerd-admin-token-0123456789";
const FUNCTIONS = ["auth", "data", "storage", "admin"] as const;
type Worker = (typeof FUNCTIONS)[number] | "local";

let outdir: string;
const workers = new Map<Worker, Miniflare>();

const bundles = new Map<Worker, Promise<unknown>>();

/** Bundles one Worker with wrangler (as a deploy would; once per run) and starts it in workerd. */
async function start(worker: Worker, bindings: Record<string, string> = {}): Promise<Miniflare> {
  const dir = join(outdir, worker);
  const target = worker === "local" ? ["platforms/workers/local.ts"] : ["--env", worker];
  if (!bundles.has(worker)) {
    bundles.set(
      worker,
      run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dir, ...target], {
        env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      }),
    );
  }
  await bundles.get(worker);
  return new Miniflare({
    modules: true,
    scriptPath: join(dir, `${worker}.js`),
    modulesRoot: dir,
    cf: false,
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { NODE_ENV: "development", ADMIN_TOKEN, BCRYPT_COST: "6", ...bindings },
  });
}

async function call(
  worker: Worker,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  const mf = workers.get(worker)!;
  const res = await mf.dispatchFetch(`http://edgeback.test${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response envelopes of our own API
  return { status: res.status, json: (await res.json()) as any };
}

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), "edgeback-workerd-"));
  for (const worker of [...FUNCTIONS, "local"] as const) workers.set(worker, await start(worker));
}, 120_000);
afterAll(async () => {
  await Promise.all([...workers.values()].map((mf) => mf.dispose()));
  await rm(outdir, { recursive: true, force: true });
});

describe("each function as its own Worker in workerd", () => {
  it.each(FUNCTIONS)("%s answers health with the in-memory embedded store", async (fn) => {
    const res = await call(fn, "GET", "/api/health");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, data: { status: "ok", store: "embedded" } });
  });

  it("admin: the token is checked; a project is created with its keys", async () => {
    expect((await call("admin", "GET", "/api/admin/projects")).status).toBe(401);
    const created = await call(
      "admin",
      "POST",
      "/api/admin/projects",
      { authorization: `Bearer ${ADMIN_TOKEN}` },
      { name: "w" },
    );
    expect(created.status).toBe(201);
    expect(created.json.data.keys.publishable).toMatch(/^pk_live_/);
  });

  it("data: key checks", async () => {
    expect((await call("data", "GET", "/api/data/posts")).json.code).toBe("API_KEY_MISSING");
    const unknown = await call("data", "GET", "/api/data/posts", { "x-api-key": `sk_live_${"x".repeat(43)}` });
    expect(unknown.status).toBe(401);
    expect(unknown.json.code).toBe("API_KEY_INVALID");
  });
});

describe("a data round trip with rules in workerd (all functions in one Worker)", () => {
  it("creates a project, a collection, and enforces its rules for pk and sk", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const { keys } = (await call("local", "POST", "/api/admin/projects", admin, { name: "rt" })).json.data;
    const sk = { "x-api-key": keys.secret };
    const pk = { "x-api-key": keys.publishable };
    const schema = { name: "posts", fields: [{ name: "title", type: "string", required: true }] };
    expect((await call("local", "POST", "/api/schemas", sk, schema)).status).toBe(201);

    const denied = await call("local", "POST", "/api/data/posts", pk, { title: "from a browser" });
    expect(denied.status).toBe(403);
    expect(denied.json.code).toBe("WRITE_BLOCKED");
    const invalid = await call("local", "POST", "/api/data/posts", sk, { title: 42 });
    expect(invalid.json.code).toBe("VALIDATION_FAILED");

    const created = await call("local", "POST", "/api/data/posts", sk, { title: "hello" });
    expect(created.status).toBe(201);
    const list = await call("local", "GET", "/api/data/posts", pk);
    expect(list.json.data.items.map((d: { title: string }) => d.title)).toEqual(["hello"]);
    const one = await call("local", "GET", `/api/data/posts/${created.json.data._id}`, pk);
    expect(one.json.data.title).toBe("hello");
    // No worker threads in workerd: the preview store runs the pipeline in the request's own thread.
    const counted = await call("local", "POST", "/api/data/posts/aggregate", sk, { pipeline: [{ $count: "n" }] });
    expect([counted.status, counted.json.data?.items]).toEqual([200, [{ n: 1 }]]);
    expect((await call("local", "DELETE", `/api/data/posts/${created.json.data._id}`, sk)).json.data.deleted).toBe(
      true,
    );
  });
});

describe("auth and storage inside workerd (all functions in one Worker)", () => {
  it("signup, login and me: bcrypt runs in workerd", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const { keys } = (await call("local", "POST", "/api/admin/projects", admin, { name: "auth" })).json.data;
    const pk = { "x-api-key": keys.publishable };
    const account = { email: "Ada@Example.com", password: "correct-horse-1" };
    const signup = await call("local", "POST", "/api/userAuth/signup", pk, account);
    expect(signup.status).toBe(201);
    expect(signup.json.data.user.email).toBe("ada@example.com");
    const login = await call("local", "POST", "/api/userAuth/login", pk, account);
    expect(login.status).toBe(200);
    const me = await call("local", "GET", "/api/userAuth/me", {
      ...pk,
      authorization: `Bearer ${login.json.data.accessToken}`,
    });
    expect(me.json.data).toMatchObject({ email: "ada@example.com" });
    expect(JSON.stringify(me.json)).not.toMatch(/password|hash/i);
    expect(
      (await call("local", "POST", "/api/userAuth/login", pk, { ...account, password: "wrong-password-1" })).status,
    ).toBe(401);
    // The isolate's first request is long over: an unknown email waits on nothing another request started.
    const unknown = await call("local", "POST", "/api/userAuth/login", pk, { ...account, email: "nobody@example.com" });
    expect([unknown.status, unknown.json.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  });

  it("app mail and the start of a social sign-in run in workerd", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const social = { redirectUrl: "https://app.example.com/cb", github: { clientId: "id", clientSecret: "secret" } };
    const created = await call("local", "POST", "/api/admin/projects", admin, { name: "extras", settings: { social } });
    const { keys } = created.json.data;
    const mail = await call(
      "local",
      "POST",
      "/api/mail/send",
      { "x-api-key": keys.secret },
      {
        to: "ada@example.com",
        subject: "Hi",
        text: "Hello",
      },
    );
    expect([mail.status, mail.json.data.monthlyUsage]).toEqual([200, 1]);
    const mf = workers.get("local")!;
    const start = await mf.dispatchFetch(
      `https://edgeback.test/api/userAuth/social/github/start?key=${keys.publishable}`,
      { redirect: "manual" },
    );
    expect(start.status).toBe(302);
    expect(start.headers.get("location")).toMatch(/^https:\/\/github\.com\/login\/oauth\/authorize\?client_id=id&/);
    expect(start.headers.get("set-cookie")).toMatch(/^__Host-socialState=/);
  });

  it("a storage upload with the in-memory blob store, read back through its signed URL", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const { keys } = (await call("local", "POST", "/api/admin/projects", admin, { name: "files" })).json.data;
    const mf = workers.get("local")!;
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const boundary = "edgeback-boundary";
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="w.png"\r\ncontent-type: image/png\r\n\r\n`;
    const body = new Uint8Array([
      ...new TextEncoder().encode(head),
      ...png,
      ...new TextEncoder().encode(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await mf.dispatchFetch("http://edgeback.test/api/storage/upload", {
      method: "POST",
      headers: { "x-api-key": keys.secret, "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(res.status).toBe(201);
    const { path } = ((await res.json()) as { data: { path: string } }).data;
    const redirect = await mf.dispatchFetch(`http://edgeback.test/api/storage/file?path=${encodeURIComponent(path)}`, {
      headers: { "x-api-key": keys.secret },
      redirect: "manual",
    });
    expect(redirect.status).toBe(302);
    const file = await mf.dispatchFetch(redirect.headers.get("location")!);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png);
    expect(file.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

/**
 * Rate limits count a publishable key per client address. On Workers the address is `cf-connecting-ip`
 * (Cloudflare sets it on every request from the internet) without any configuration: clients do not
 * share a bucket, and a client-sent `x-forwarded-for` cannot pick one. TRUSTED_PROXY set by the
 * operator still wins.
 */
describe("client addresses for rate limits in workerd", () => {
  /** A project whose publishable key may make 2 requests a minute per client; `list` reads as a client. */
  async function limited(mf: Miniflare) {
    const created = await mf.dispatchFetch("http://edgeback.test/api/admin/projects", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "limited", settings: { rateLimits: { pk: "2/1m" } } }),
    });
    const { keys } = ((await created.json()) as { data: { keys: { publishable: string } } }).data;
    return (headers: Record<string, string>) =>
      mf.dispatchFetch("http://edgeback.test/api/data/notes", {
        headers: { "x-api-key": keys.publishable, ...headers },
      });
  }

  it("by default each cf-connecting-ip has its own bucket; x-forwarded-for changes nothing", async () => {
    const list = await limited(workers.get("local")!);
    const first = [];
    for (const forwarded of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
      first.push((await list({ "cf-connecting-ip": "203.0.113.30", "x-forwarded-for": forwarded })).status);
    }
    expect(first.slice(0, 2)).not.toContain(429);
    expect(first[2]).toBe(429);
    const other = await list({ "cf-connecting-ip": "203.0.113.31", "x-forwarded-for": "192.0.2.1" });
    expect(other.status).not.toBe(429);
    expect(other.headers.get("ratelimit-remaining")).toBe("1");
  });

  it("an explicit TRUSTED_PROXY wins over the Workers default", async () => {
    const mf = await start("local", { TRUSTED_PROXY: "xff" });
    try {
      const list = await limited(mf);
      const first = [];
      for (const ip of ["203.0.113.40", "203.0.113.41", "203.0.113.42"]) {
        first.push((await list({ "cf-connecting-ip": ip, "x-forwarded-for": "198.51.100.1" })).status);
      }
      expect(first.slice(0, 2)).not.toContain(429);
      expect(first[2]).toBe(429);
      const other = await list({ "cf-connecting-ip": "203.0.113.40", "x-forwarded-for": "198.51.100.2" });
      expect(other.headers.get("ratelimit-remaining")).toBe("1");
    } finally {
      await mf.dispose();
    }
  }, 60_000);
});

describe("MongoDB inside workerd", () => {
  it("the driver loads and parses MONGODB_URI; an unreachable server is a 503, not a crash", async () => {
    const mf = await start("data", { MONGODB_URI: "mongodb://127.0.0.1:9/edgeback?serverSelectionTimeoutMS=3000" });
    try {
      const res = await mf.dispatchFetch("http://edgeback.test/api/health");
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ success: false, code: "SERVICE_UNAVAILABLE" });
      // A request that needs no data opens no connection: a preflight answers at once, not after
      // the server selection timeout, and a data request's 503 is the app's, with CORS and request id.
      const origin = { origin: "https://app.example" };
      const started = Date.now();
      const preflight = await mf.dispatchFetch("http://edgeback.test/api/data/posts", {
        method: "OPTIONS",
        headers: { ...origin, "access-control-request-method": "GET" },
      });
      expect([preflight.status, Date.now() - started < 1500]).toEqual([204, true]); // well under the 3 s timeout
      const list = await mf.dispatchFetch("http://edgeback.test/api/data/posts", {
        headers: { ...origin, "x-api-key": `pk_live_${"a".repeat(43)}` },
      });
      expect(list.status).toBe(503);
      expect(list.headers.get("x-request-id")).toBeTruthy();
      expect(list.headers.get("vary")).toMatch(/origin/i);
    } finally {
      await mf.dispose();
    }
  }, 60_000);
});

describe("Upstash and S3 adapters inside workerd", () => {
  it("rate limits through Upstash (redis-server behind the REST shim) and files into s3rver", async () => {
    const redis = await startRedis();
    const shim = await startUpstashShim(redis.port);
    const s3 = await startS3rver();
    const s3Config = {
      bucket: "files",
      region: "us-east-1",
      endpoint: s3.endpoint,
      forcePathStyle: true,
      ...S3RVER_KEYS,
    };
    const mf = await start("local", {
      UPSTASH_REDIS_REST_URL: shim.url,
      UPSTASH_REDIS_REST_TOKEN: shim.token,
      RATE_LIMIT_SK: "3/1m",
      S3_BUCKET: s3Config.bucket,
      S3_REGION: s3Config.region,
      S3_ENDPOINT: s3Config.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: s3Config.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3Config.secretAccessKey,
    });
    try {
      const created = await mf.dispatchFetch("http://edgeback.test/api/admin/projects", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "adapters" }),
      });
      const { keys } = ((await created.json()) as { data: { keys: { secret: string } } }).data;
      const boundary = "b";
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9]);
      const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="s.png"\r\ncontent-type: image/png\r\n\r\n`;
      const body = new Uint8Array([
        ...new TextEncoder().encode(head),
        ...png,
        ...new TextEncoder().encode(`\r\n--${boundary}--\r\n`),
      ]);
      const upload = await mf.dispatchFetch("http://edgeback.test/api/storage/upload", {
        method: "POST",
        headers: { "x-api-key": keys.secret, "content-type": `multipart/form-data; boundary=${boundary}` },
        body,
      });
      expect(upload.status).toBe(201);
      expect(upload.headers.get("ratelimit-limit")).toBe("3"); // counted in Redis
      const { path } = ((await upload.json()) as { data: { path: string } }).data;
      expect(await s3BlobStore(s3Config).head(path)).toEqual({ size: png.length, contentType: "image/png" });

      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push(
          (await mf.dispatchFetch("http://edgeback.test/api/data/things", { headers: { "x-api-key": keys.secret } }))
            .status,
        );
      }
      expect(statuses).toEqual([404, 404, 429]);
    } finally {
      await mf.dispose();
      await shim.close();
      await redis.stop();
      await s3.close();
    }
  }, 60_000);
});
