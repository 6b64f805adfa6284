import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STARTUP_MS = 20_000;
const exec = promisify(execFile);

/** Runs a printed command line the way a user pasting it would (needs curl on PATH). */
const paste = (line: string) => exec("sh", ["-c", line], { timeout: 10_000 });

interface Running {
  child: ChildProcess;
  url: string;
  token: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "edgeback-server-"));
  tempDirs.push(dir);
  return join(dir, "data");
}

/** Starts `server.ts` on a free port (PORT=0) and waits for its banner; `preload` is a module it imports first. */
async function startServer(
  dataDir: string,
  more: { env?: Record<string, string>; preload?: string; wrap?: string[] } = {},
): Promise<Running> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: "development",
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: "0",
    ...more.env,
  };
  const preload = more.preload ? ["--import", more.preload] : [];
  const args = [...preload, "--import", "tsx", "server.ts"];
  const argv = [...(more.wrap ?? []), process.execPath, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { cwd: ROOT, env, stdio: "pipe" });
  running.add(child);
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );

  const deadline = Date.now() + STARTUP_MS;
  while (!output.includes("Ctrl-C stops the server")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = /running at (http:\/\/\S+)/.exec(output)?.[1];
  const token = /Authorization: Bearer ([^']+)'/.exec(output)?.[1];
  if (!url || !token) throw new Error(`banner without URL or admin token:\n${output}`);
  return { child, url, token, output: () => output, exited };
}

/** Starts `server.ts` (run by `wrap`, if given) where it should refuse to start: its exit code and stderr. */
async function refusedStart(
  dataDir: string,
  { wrap = [], port = "0" }: { wrap?: string[]; port?: string } = {},
): Promise<{ code: unknown; refused: string }> {
  const argv = [...wrap, process.execPath, "--import", "tsx", "server.ts"];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: port },
    stdio: "pipe",
  });
  running.add(child);
  let refused = "";
  child.stderr?.on("data", (chunk) => {
    refused += chunk;
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  return { code, refused };
}

/** Sends SIGTERM and returns how the process ended; fails after `ms` (less than Node's 5 s keep-alive timeout). */
async function stopServer(server: Running, ms = 4_000) {
  server.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit ${ms} ms after SIGTERM:\n${server.output()}`)), ms);
  });
  return Promise.race([server.exited, timeout]).finally(() => clearTimeout(timer));
}

const adminHeaders = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

async function listProjectNames(server: Running): Promise<string[]> {
  const res = await fetch(`${server.url}/api/admin/projects`, { headers: adminHeaders(server.token) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: Array<{ name: string }> };
  return body.data.map((project) => project.name);
}

/** A streamed request body: `head` goes out at once, `tail` only after `finish()`. */
function gatedBody(head: string, tail: string) {
  let finish = () => {};
  const gate = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const encoder = new TextEncoder();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent++ === 0) return controller.enqueue(encoder.encode(head));
      await gate;
      controller.enqueue(encoder.encode(tail));
      controller.close();
    },
  });
  return { body, finish };
}

/** The printed lines that start with `curl`, as a user would paste them. */
const curlLines = (output: string) =>
  output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("curl "));

/** How many descriptors process `pid` holds open on files under `dir` (Linux: /proc). */
async function openFilesUnder(pid: number, dir: string): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")));
  return targets.filter((target) => target.startsWith(`${dir}/`)).length;
}

/** Opens a connection to `url`'s port and writes `requests` (raw HTTP/1.1) at once, pipelined. */
function pipeline(url: string, requests: string[]) {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  socket.on("error", () => undefined); // a connection the test cuts
  socket.write(requests.join(""));
  return socket;
}

/** The status and body length of each answer in `raw`, the bytes of answers with a content-length. */
function answersIn(raw: Buffer): Array<{ status: number; bodyBytes: number }> {
  const answers: Array<{ status: number; bodyBytes: number }> = [];
  for (let at = 0; at < raw.length; ) {
    const headEnd = raw.indexOf("\r\n\r\n", at);
    const head = raw.subarray(at, headEnd).toString("latin1");
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
    const bodyBytes = Math.min(length, raw.length - headEnd - 4);
    answers.push({ status: Number(head.split(" ")[1]), bodyBytes });
    at = headEnd + 4 + bodyBytes;
  }
  return answers;
}

describe("local server (npm start)", () => {
  it(
    "starts, prints working curls, serves health and admin, and exits 0 on SIGTERM",
    async () => {
      const dataDir = await tempDataDir();
      const server = await startServer(dataDir);
      const output = server.output();
      expect(output).toMatch(/pk_live_\S+/);
      expect(output).toMatch(/sk_live_\S+/);
      expect(output).toContain(server.token);
      // The limits a developer may meet, and how to turn them off (the defaults of API.md §8).
      expect(output).toContain(
        "Rate limits:  pk 100 per 15 min, auth 20 per 15 min (per IP); sk 1000 per 1 min (per key); RATE_LIMIT_PK / _AUTH / _SK=off turn them off",
      );
      expect((await stat(join(dataDir, "admin-token"))).mode & 0o777).toBe(0o600);

      const health = await fetch(`${server.url}/api/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ success: true, data: { status: "ok" } });
      expect(await listProjectNames(server)).toEqual(["demo"]);
      const denied = await fetch(`${server.url}/api/admin/projects`, {
        headers: adminHeaders("wrong-token-0123456789"),
      });
      expect(denied.status).toBe(401);

      const curls = curlLines(output);
      expect(curls.length).toBeGreaterThanOrEqual(3);
      expect(curls.filter((line) => line.includes("/outbox"))).toHaveLength(1); // where a developer reads the codes
      for (const line of curls) {
        const { stdout } = await paste(line);
        expect(JSON.parse(stdout)).toMatchObject({ success: true });
      }

      expect(await stopServer(server)).toEqual({ code: 0, signal: null });
      expect(server.output()).toContain("Stopped.");
    },
    STARTUP_MS + 20_000,
  );

  it(
    "finishes an in-flight request on SIGTERM, keeps it and the admin token across a restart, no second demo",
    async () => {
      const dataDir = await tempDataDir();
      const first = await startServer(dataDir);
      // A request still in flight when SIGTERM arrives: its body is only half sent.
      const { body, finish } = gatedBody('{"name":', '"durable"}');
      const created = fetch(`${first.url}/api/admin/projects`, {
        method: "POST",
        headers: adminHeaders(first.token),
        body,
        duplex: "half",
      } as RequestInit);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stopped = stopServer(first);
      await new Promise((resolve) => setTimeout(resolve, 300));
      finish();
      expect((await created).status).toBe(201);
      expect(await stopped).toEqual({ code: 0, signal: null });

      const second = await startServer(dataDir);
      expect(second.token).toBe(first.token);
      // A third on the same data directory says why in one line, and exits.
      const { code, refused } = await refusedStart(dataDir);
      expect(code).toBe(1);
      expect(refused.trim()).toMatch(
        /^DATA_DIR .* is in use by process \d+ \(one Edgeback process per data directory\)/,
      );
      expect(refused).not.toMatch(/\n\s+at /); // no stack
      expect(second.output()).not.toMatch(/pk_live_|sk_live_/);
      expect(second.output()).toMatch(/Demo project: \w+ \(exists/);
      expect((await listProjectNames(second)).sort()).toEqual(["demo", "durable"]);

      const rotate = curlLines(second.output()).find((line) => line.includes("/keys/rotate"));
      expect(rotate).toBeDefined();
      const { stdout } = await paste(rotate as string);
      const rotated = JSON.parse(stdout);
      expect(rotated.success).toBe(true);
      expect(JSON.stringify(rotated.data)).toMatch(/pk_live_.*sk_live_|sk_live_.*pk_live_/);

      expect(await stopServer(second)).toEqual({ code: 0, signal: null });
    },
    2 * STARTUP_MS + 20_000,
  );

  // SIGTERM drains in-flight requests; SIGKILL (a crash) leaves no time at all: a write is
  // acknowledged only once committed to disk, so none that was acknowledged may be missing.
  const stops = {
    SIGTERM: { stop: (server: Running) => stopServer(server, 10_000), ended: { code: 0, signal: null } },
    SIGKILL: {
      stop: (server: Running) => {
        server.child.kill("SIGKILL");
        return server.exited;
      },
      ended: { code: null, signal: "SIGKILL" },
    },
  };
  for (const [signal, { stop, ended }] of Object.entries(stops)) {
    it(
      `loses no acknowledged insert when ${signal} arrives during load`,
      async () => {
        const dataDir = await tempDataDir();
        const first = await startServer(dataDir);
        const post = (path: string, headers: Record<string, string>, body: unknown) =>
          fetch(`${first.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
        const created = await (await post("/api/admin/projects", adminHeaders(first.token), { name: "load" })).json();
        const sk = { "x-api-key": created.data.keys.secret as string, "content-type": "application/json" };

        // 400 inserts in flight; the signal once the first 50 are acknowledged.
        let acknowledged = 0;
        let stopped: ReturnType<typeof stop> | undefined;
        const results = await Promise.all(
          Array.from({ length: 400 }, async (_, n) => {
            try {
              const res = await post("/api/data/events", sk, { n });
              if (res.status !== 201) return null;
              const id = ((await res.json()) as { data: { _id: string } }).data._id;
              if (++acknowledged === 50) stopped = stop(first);
              return id;
            } catch {
              return null; // refused or cut off by the stop: never acknowledged
            }
          }),
        );
        expect(await stopped).toEqual(ended);
        const ids = results.filter((id): id is string => id !== null);
        expect(ids.length).toBeGreaterThanOrEqual(50);

        const second = await startServer(dataDir);
        const res = await fetch(`${second.url}/api/data/events?limit=100&count=true`, { headers: sk });
        // A write whose response the stop cut off may exist too; every acknowledged one must.
        expect(((await res.json()) as { data: { count: number } }).data.count).toBeGreaterThanOrEqual(ids.length);
        for (const id of ids) {
          expect((await fetch(`${second.url}/api/data/events/${id}`, { headers: sk })).status).toBe(200);
        }
        expect(await stopServer(second)).toEqual({ code: 0, signal: null });
      },
      2 * STARTUP_MS + 30_000,
    );
  }

  it(
    "after a crash, drops the quota counters at start (each is recounted at its next use); after a clean stop keeps them",
    async () => {
      const dataDir = await tempDataDir();
      /** The counters' documents, read with the server stopped. */
      const counters = async (seed?: boolean) => {
        const store = await openEmbeddedStore({ dataDir });
        const platform = store.platform();
        if (seed) {
          await platform.collection("quota_usage").insertOne({ _id: "p1", users: 99 });
          await platform.collection("storage_usage").insertOne({ _id: "p1", bytes: 99 });
        }
        const counted = [
          ...(await platform.collection("quota_usage").find({})),
          ...(await platform.collection("storage_usage").find({})),
        ].length;
        await store.close();
        return counted;
      };
      expect(await counters(true)).toBe(2);
      const clean = await startServer(dataDir);
      expect(await stopServer(clean)).toEqual({ code: 0, signal: null });
      expect(clean.output()).not.toMatch(/did not stop cleanly/);
      expect(await counters()).toBe(2);

      const killed = await startServer(dataDir);
      killed.child.kill("SIGKILL");
      await killed.exited;
      const after = await startServer(dataDir);
      expect(await stopServer(after)).toEqual({ code: 0, signal: null });
      expect(after.output()).toMatch(/did not stop cleanly: quota counters are recounted/);
      expect(await counters()).toBe(0);
    },
    3 * STARTUP_MS,
  );

  // Root writes anywhere: as root, the server runs without CAP_DAC_OVERRIDE, as a non-root user would.
  const asUser =
    process.getuid?.() === 0
      ? ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search", "--"]
      : [];
  it.skipIf(asUser.length > 0 && spawnSync("setpriv", ["--version"]).status !== 0)(
    "a DATA_DIR made read-only: SIGTERM still stops cleanly (exit 0), and a restart says why in one line",
    async () => {
      const dataDir = await tempDataDir();
      const server = await startServer(dataDir, { wrap: asUser });
      await chmod(dataDir, 0o555);
      try {
        expect(await stopServer(server)).toEqual({ code: 0, signal: null });
        const { code, refused } = await refusedStart(dataDir, { wrap: asUser });
        expect(code).toBe(1);
        expect(refused.trim()).toMatch(/^DATA_DIR .* is not writable \(EACCES\): give this process write access to it/);
        expect(refused.trim().split("\n")).toHaveLength(1);
      } finally {
        await chmod(dataDir, 0o755);
      }
    },
    2 * STARTUP_MS,
  );

  /**
   * A server (slow-cut-requests.mjs: a 300 ms grace, a cut handler that outlives its connection by
   * `cutHandlerMs`) holding a direct upload's PUT whose body stops half-way, stopped with SIGTERM.
   */
  async function stopDuringStalledPut(dataDir: string, cutHandlerMs: number) {
    const preload = new URL("./slow-cut-requests.mjs", import.meta.url).href;
    const first = await startServer(dataDir, { preload, env: { CUT_HANDLER_MS: String(cutHandlerMs) } });
    const created = await fetch(`${first.url}/api/admin/projects`, {
      method: "POST",
      headers: adminHeaders(first.token),
      body: JSON.stringify({ name: "put" }),
    });
    const sk = ((await created.json()) as { data: { keys: { secret: string } } }).data.keys.secret;
    const issued = await fetch(`${first.url}/api/storage/upload-url`, {
      method: "POST",
      headers: { "x-api-key": sk, "content-type": "application/json" },
      body: JSON.stringify({ filename: "a.txt", contentType: "text/plain", size: 10 }),
    });
    const { uploadUrl, path } = ((await issued.json()) as { data: { uploadUrl: string; path: string } }).data;
    // The upload URL, sent to `server` (each start has its own port).
    const { pathname, search } = new URL(uploadUrl);
    const put = (body: BodyInit, server = first, length?: number) =>
      fetch(`${server.url}${pathname}${search}`, {
        method: "PUT",
        headers: { "content-type": "text/plain", ...(length ? { "content-length": String(length) } : {}) },
        body,
        duplex: "half",
      } as RequestInit);
    // A PUT whose body stops half-way (its length announced, as clients send it): still in flight when the grace is over.
    const cut = put(gatedBody("12345", "67890").body, first, 10).catch(() => null);
    // It holds its claim once a probe is refused for it (a probe that came first is refused for its size, and lets go).
    for (let tries = 0; ; tries++) {
      const probe = await put("x");
      if (probe.status === 403) break;
      expect([probe.status, tries < 50]).toEqual([400, true]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The grace, up to 2 s for running handlers, then the store's close: on a busy machine, more than the usual 4 s.
    expect(await stopServer(first, 12_000)).toEqual({ code: 0, signal: null });
    await cut;
    return { first, sk, path, put };
  }

  it(
    "on SIGTERM, a direct upload's PUT cut once the grace is over lets go of its URL before the store closes",
    async () => {
      const dataDir = await tempDataDir();
      const { first, sk, path, put } = await stopDuringStalledPut(dataDir, 200);
      expect(first.output()).not.toContain("store is closed");

      const second = await startServer(dataDir);
      expect((await put("1234567890", second)).status).toBe(200);
      const read = await fetch(`${second.url}/api/storage/file?path=${encodeURIComponent(path)}`, {
        headers: { "x-api-key": sk },
      });
      expect(read.status).toBe(200); // the redirect to its signed URL, followed
      expect(await read.text()).toBe("1234567890");
      expect(await stopServer(second)).toEqual({ code: 0, signal: null });
    },
    2 * STARTUP_MS + 10_000,
  );

  it(
    "on SIGTERM, a handler still running when the store closes leaves the quota counters to be recounted",
    async () => {
      const dataDir = await tempDataDir();
      // The cut PUT's handler outlives the 2 s its cleanup is given: what it held is not given back.
      const { first } = await stopDuringStalledPut(dataDir, 3000);
      expect(first.output()).toMatch(/requests still running .*: quota counters are recounted at next use/);
      const store = await openEmbeddedStore({ dataDir });
      expect(await store.platform().collection("storage_usage").count({})).toBe(0);
      await store.close();
    },
    STARTUP_MS + 15_000,
  );

  it(
    "waits on SIGTERM for a code mail still on its way after the answer",
    async () => {
      const server = await startServer(await tempDataDir(), {
        env: { MAIL_PROVIDER: "resend", RESEND_API_KEY: "re_test_key", MAIL_FROM: "Edgeback <no-reply@example.com>" },
        preload: new URL("./slow-resend.mjs", import.meta.url).href,
      });
      const headers = adminHeaders(server.token);
      const created = await fetch(`${server.url}/api/admin/projects`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name: "mail" }),
      });
      const pk = ((await created.json()) as { data: { keys: { publishable: string } } }).data.keys.publishable;
      const signup = await fetch(`${server.url}/api/userAuth/signup`, {
        method: "POST",
        headers: { "x-api-key": pk, "content-type": "application/json" },
        body: JSON.stringify({ email: "ann@example.com", password: "correct horse battery" }),
      });
      expect(signup.status).toBe(201);
      expect(server.output()).not.toContain("DELIVERED"); // the mail is still on its way
      expect(await stopServer(server)).toEqual({ code: 0, signal: null });
      expect(server.output()).toContain("DELIVERED ann@example.com");
    },
    STARTUP_MS + 20_000,
  );

  it(
    "removes at startup the temporary files of writes a crash cut short, and nothing else",
    async () => {
      const dataDir = await tempDataDir();
      const killed = await startServer(dataDir);
      killed.child.kill("SIGKILL");
      await killed.exited;
      const folder = join(dataDir, "files", "a".repeat(24), "uploads");
      await mkdir(folder, { recursive: true });
      const kept = ["0123-note.txt", "0123-note.txt.type", ".not-ours.tmp"];
      const left = [
        ".0123-note.txt.type.6f1c1a3e-4a8b-4c3e-9a55-0d5f8e8d1b2a.tmp",
        ".0123-b.png.00000000-0000-4000-8000-000000000000.tmp",
      ];
      for (const name of [...kept, ...left]) await writeFile(join(folder, name), "x");
      const server = await startServer(dataDir);
      expect((await readdir(folder)).sort()).toEqual([...kept].sort());
      expect(await stopServer(server)).toEqual({ code: 0, signal: null });
    },
    2 * STARTUP_MS + 10_000,
  );

  it.skipIf(process.platform !== "linux")(
    "closes the files of pipelined reads whose connection closed before their turn (Linux: counts /proc fds)",
    async () => {
      const dataDir = await tempDataDir();
      const server = await startServer(dataDir);
      const created = await fetch(`${server.url}/api/admin/projects`, {
        method: "POST",
        headers: adminHeaders(server.token),
        body: JSON.stringify({ name: "files" }),
      });
      const sk = ((await created.json()) as { data: { keys: { secret: string } } }).data.keys.secret;
      const size = 1 << 20; // far more than a socket takes at once: a queued answer waits for its turn
      const form = new FormData();
      form.append("file", new Blob(["x".repeat(size)], { type: "text/plain" }), "big.txt");
      const uploaded = await fetch(`${server.url}/api/storage/upload`, {
        method: "POST",
        headers: { "x-api-key": sk },
        body: form,
      });
      const { path } = ((await uploaded.json()) as { data: { path: string } }).data;
      const read = await fetch(`${server.url}/api/storage/file?path=${encodeURIComponent(path)}`, {
        headers: { "x-api-key": sk },
        redirect: "manual",
      });
      // The signed blob URL the read redirects to: the fs store's bytes, with no key to send.
      const blob = new URL(read.headers.get("location") as string);
      const get = (more = "") => `GET ${blob.pathname}${blob.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n${more}\r\n`;
      const pid = server.child.pid as number;
      const files = join(dataDir, "files");
      const before = await openFilesUnder(pid, files);

      // Pipelined reads on a connection that stays: each answered whole, in order (a range too).
      const kept = pipeline(server.url, [get(), get("Range: bytes=0-9\r\n"), get("Connection: close\r\n")]);
      const chunks: Buffer[] = [];
      kept.on("data", (chunk: Buffer) => chunks.push(chunk));
      await new Promise((resolve) => kept.once("close", resolve));
      expect(answersIn(Buffer.concat(chunks))).toEqual([
        { status: 200, bodyBytes: size },
        { status: 206, bodyBytes: 10 },
        { status: 200, bodyBytes: size },
      ]);

      // 60 connections of 4 reads each, closed once the first read is answering (3 answers queued behind
      // it), or as soon as the reads are sent (their handlers still running).
      await Promise.all(
        Array.from({ length: 60 }, async (_, n) => {
          const cut = pipeline(server.url, [get(), get(), get(), get()]);
          await new Promise((resolve) => (n % 2 ? cut.once("data", resolve) : cut.write("", resolve)));
          cut.destroy();
        }),
      );
      let open = await openFilesUnder(pid, files);
      for (let waited = 0; open > before && waited < 3_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        open = await openFilesUnder(pid, files);
      }
      expect(open).toBe(before);
      expect(server.output()).not.toMatch(/Error/);
      expect(await stopServer(server)).toEqual({ code: 0, signal: null });
    },
    STARTUP_MS + 15_000,
  );

  it(
    "refuses an invalid PORT with a config error naming it",
    async () => {
      const { code, refused } = await refusedStart(await tempDataDir(), { port: "http" });
      expect(code).toBe(1);
      expect(refused).toContain("PORT");
    },
    STARTUP_MS,
  );
});
