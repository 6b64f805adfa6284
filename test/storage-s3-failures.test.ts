/**
 * The s3 blob store when the bucket fails: unreachable, answering 5xx, or never answering. Every
 * storage route that reaches it answers 503 SERVICE_UNAVAILABLE in the envelope, promptly (one retry,
 * a bounded wait), and gives back what it reserved. A bucket that refuses (credentials without
 * s3:ListBucket) is a 500 whose log names the permission, and the quota sweep passes over what it
 * cannot settle.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createStorageApp } from "../functions/storage/app.js";
import { SWEEP_LIMIT, UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import { fakeClock, testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { startS3WithoutListBucket, testBucket } from "./s3-server.js";

/** Timeout of each S3 call in these tests (production waits 5 s). */
const TIMEOUT_MS = 200;

/**
 * An "S3" that answers every request with `status` (503 SlowDown…), or never answers (`"hang"`), or
 * answers a copy as S3 answers a long one, 200 and whitespace at once, and then nothing more
 * (`"stall-copy"`: other requests find no object); `seen` has each request's method (COPY for a PUT
 * copying an object).
 */
async function failingS3(answer: number | "hang" | "stall-copy") {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const copy = req.headers["x-amz-copy-source"] !== undefined;
    seen.push(copy ? "COPY" : (req.method ?? ""));
    req.resume();
    if (answer === "hang") return;
    if (answer === "stall-copy") {
      res.writeHead(copy ? 200 : 404, { "content-type": "application/xml" });
      if (copy) res.write(" ");
      else res.end();
      return;
    }
    res.writeHead(answer, { "content-type": "application/xml" });
    res.end("<Error><Code>SlowDown</Code><Message>secret internal detail</Message></Error>");
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { endpoint, seen };
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function storageAt(endpoint: string, storage: Record<string, unknown> = {}) {
  const clock = fakeClock(Date.now());
  const deps = await testDeps({ clock });
  closers.push(() => deps.store.close());
  const blobs = testBucket(endpoint, { timeoutMs: TIMEOUT_MS });
  const app = createStorageApp(deps, { blobs });
  const { project, keys } = await deps.projects.create({ name: "s3-down", settings: { storage } });
  const headers = { "x-api-key": keys.secret };
  const reserved = async () =>
    (await deps.store.platform().collection("storage_usage").findOne({ _id: project.id }))?.bytes;
  const upload = async () => {
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "a.png");
    const started = Date.now();
    const res = await app.request("/api/storage/upload", { method: "POST", headers, body: form });
    return { status: res.status, body: await res.json(), ms: Date.now() - started };
  };
  const post = (route: string, body: unknown) =>
    app.request(`/api/storage/${route}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const del = (path: string) =>
    app.request("/api/storage/file", {
      method: "DELETE",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ path }),
    });
  const record = (path: string) => deps.store.platform().collection("files").findOne({ _id: path });
  return { clock, upload, post, del, reserved, record, log: deps.log };
}

const unavailable = { success: false, code: "SERVICE_UNAVAILABLE" };

describe("s3 blob store failures", () => {
  it("an unreachable bucket: 503 SERVICE_UNAVAILABLE, the reservation given back", async () => {
    const s3 = await storageAt("http://127.0.0.1:9"); // nothing listens there
    const answer = await s3.upload();
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject(unavailable);
    expect(JSON.stringify(answer.body)).not.toMatch(/S3|fetch|ECONN/);
    expect(await s3.reserved()).toBe(0);
  });

  it("a bucket answering 503 SlowDown: 503 after one retry, nothing of its answer leaked", async () => {
    const bucket = await failingS3(503);
    const s3 = await storageAt(bucket.endpoint);
    const answer = await s3.upload();
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject(unavailable);
    expect(JSON.stringify(answer.body)).not.toMatch(/secret internal detail|SlowDown/);
    expect(bucket.seen).toEqual(["PUT", "PUT"]);
    expect(answer.ms).toBeLessThan(2_000);
  });

  it("a bucket that never answers: 503 once the call's time is up", async () => {
    const bucket = await failingS3("hang");
    const s3 = await storageAt(bucket.endpoint);
    const answer = await s3.upload();
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject(unavailable);
    expect(answer.ms).toBeLessThan(TIMEOUT_MS + 2_000);
    expect(await s3.reserved()).toBe(0);
  });

  it("confirm and the quota sweep: 503, the sweep stopping at its first failure", async () => {
    const bucket = await failingS3(500);
    const s3 = await storageAt(bucket.endpoint);
    const request = { filename: "p.png", contentType: "image/png", size: PNG.length };
    const paths: string[] = [];
    for (let i = 0; i < 3; i++) {
      const issued = await s3.post("upload-request", request); // signing needs no call to the bucket
      expect(issued.status).toBe(200);
      paths.push((await issued.json()).data.filePath);
    }
    expect(bucket.seen).toEqual([]);
    const confirm = await s3.post("upload-confirm", { filePath: paths[0], size: PNG.length });
    expect([confirm.status, await confirm.json()]).toEqual([503, expect.objectContaining(unavailable)]);
    // Kept until it lapses: a copy S3 did not confirm may still land, and no other look may check meanwhile.
    expect(await s3.record(paths[0]!)).toHaveProperty("settlingUntil");
    bucket.seen.length = 0;

    s3.clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    const next = await s3.post("upload-request", request); // the sweep looks at the 3 expired ones
    expect([next.status, await next.json()]).toEqual([503, expect.objectContaining(unavailable)]);
    // The first one's copy from its staging key, retried once; then the sweep stopped.
    expect(bucket.seen).toEqual(["COPY", "COPY"]);
    expect(await s3.reserved()).toBe(PNG.length * 3); // nothing released that S3 could not confirm
  });

  it("a copy answered 200 that then stalls: confirm is 503, and the sweep stops at it", async () => {
    const bucket = await failingS3("stall-copy");
    const s3 = await storageAt(bucket.endpoint);
    const request = { filename: "p.png", contentType: "image/png", size: PNG.length };
    const { filePath } = (await (await s3.post("upload-request", request)).json()).data;
    const confirm = await s3.post("upload-confirm", { filePath, size: PNG.length });
    expect(bucket.seen).toContain("COPY");
    expect([confirm.status, await confirm.json()]).toEqual([503, expect.objectContaining(unavailable)]);

    for (let i = 0; i < 2; i++) expect((await s3.post("upload-request", request)).status).toBe(200);
    s3.clock.advance((UPLOAD_URL_TTL + 1) * 1000); // the locks of the first look lapse too
    bucket.seen.length = 0;
    const started = Date.now();
    const next = await s3.post("upload-request", request);
    expect(bucket.seen).toEqual(["COPY"]); // stopped at the first, as at a 5xx or a silent bucket
    expect(next.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 4 * 2);
  });
});

describe("credentials without s3:ListBucket (AWS answers 403 for a missing key)", () => {
  const mentions = (lines: Array<{ fields?: unknown }>, text: string) =>
    lines.filter((line) =>
      JSON.stringify(line.fields ?? {}, (_, v) => (v instanceof Error ? v.message : v)).includes(text),
    );

  it("a confirm of a file not uploaded is a 500 whose log names the missing permission", async () => {
    const bucket = await startS3WithoutListBucket();
    closers.push(() => bucket.close());
    const s3 = await storageAt(bucket.endpoint);
    const issued = await s3.post("upload-request", { filename: "n.txt", contentType: "text/plain", size: 5 });
    const confirm = await s3.post("upload-confirm", { filePath: (await issued.json()).data.filePath, size: 5 });
    expect([confirm.status, (await confirm.json()).code]).toEqual([500, "INTERNAL_ERROR"]);
    expect(mentions(s3.log.lines, "s3:ListBucket")).toHaveLength(1);
    expect(await s3.reserved()).toBe(5); // kept: a refusal does not make an upload absent
  });

  it("the quota sweep passes over records it cannot settle, logging each, and settles the others", async () => {
    const bucket = await startS3WithoutListBucket();
    closers.push(() => bucket.close());
    const s3 = await storageAt(bucket.endpoint, { quotaBytes: SWEEP_LIMIT + 100 });
    const request = (size: number) => ({ filename: "n.txt", contentType: "text/plain", size });
    for (let i = 0; i < SWEEP_LIMIT; i++) {
      expect((await s3.post("upload-url", request(1))).status).toBe(200); // never uploaded: unsettleable
      s3.clock.advance(1000); // due one after the other, oldest first
    }
    const deleted = (await (await s3.post("upload-url", request(100))).json()).data.path;
    expect((await s3.del(deleted)).status).toBe(200); // its URL still works: a tombstone keeps its 100 bytes
    s3.clock.advance((UPLOAD_URL_TTL + 1) * 1000);

    // The first sweep finds the SWEEP_LIMIT oldest due records, and the bucket refuses each.
    const first = await s3.post("upload-url", request(100));
    expect([first.status, (await first.json()).code]).toEqual([403, "QUOTA_EXCEEDED"]);
    expect(mentions(s3.log.lines, "s3:ListBucket")).toHaveLength(SWEEP_LIMIT);
    // The next passes over them (until a later sweep tries them again) and ends the tombstone.
    expect((await s3.post("upload-url", request(100))).status).toBe(200);
    expect(mentions(s3.log.lines, "s3:ListBucket")).toHaveLength(SWEEP_LIMIT);
    expect(await s3.reserved()).toBe(SWEEP_LIMIT + 100); // the refused records keep theirs
  });
});
