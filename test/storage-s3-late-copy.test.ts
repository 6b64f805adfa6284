/**
 * Copies that outlive their look: S3 goes on copying server-side when the client gives up (an abort
 * does not stop a CopyObject, which answers 200 at once and its result at the end). The look keeps
 * the settle lock until it lapses, so no other look copies and checks other bytes that the first copy
 * could then replace; a DELETE meanwhile leaves a tombstone, and the quota sweep leaves locked
 * records out rather than wait on each.
 *
 * The bucket here is an in-memory stand-in speaking S3's REST for PUT, COPY, HEAD, ranged GET and
 * DELETE (no signature checks); its copy reads the source when it starts, as S3 does, and writes the
 * destination `copyMs` later whether or not the client is still there.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createStorageApp } from "../functions/storage/app.js";
import { UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import { fakeClock, testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { testBucket } from "./s3-server.js";

const TIMEOUT_MS = 100; // each call's bound here; a copy gets 4 of them (400 ms)
let copyMs = 0;
const objects = new Map<string, { bytes: Buffer; type: string }>();
const sockets = new Set<Socket>();
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://bucket");
    const key = decodeURIComponent(url.pathname.replace(/^\/files\//, ""));
    const source = req.headers["x-amz-copy-source"];
    if (req.method === "PUT" && typeof source === "string") {
      const from = objects.get(decodeURIComponent(source.replace(/^\/files\//, "")));
      if (!from) {
        res.writeHead(404, { "content-type": "application/xml" });
        return res.end("<Error><Code>NoSuchKey</Code></Error>");
      }
      res.writeHead(200, { "content-type": "application/xml" });
      res.write(" ");
      setTimeout(() => {
        objects.set(key, from); // the bytes the source held when the copy began
        res.end("<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>");
      }, copyMs);
      return;
    }
    if (req.method === "PUT") {
      objects.set(key, { bytes: Buffer.concat(chunks), type: String(req.headers["content-type"]) });
      res.writeHead(200);
      return res.end();
    }
    if (req.method === "DELETE") {
      objects.delete(key);
      res.writeHead(204);
      return res.end();
    }
    const found = objects.get(key);
    if (!found) {
      res.writeHead(404);
      return res.end();
    }
    const [, first, last] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "") ?? [];
    const body = first === undefined ? found.bytes : found.bytes.subarray(Number(first), Number(last) + 1);
    res.writeHead(first === undefined ? 200 : 206, { "content-type": found.type, "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** A storage function over the stand-in bucket, with its own store, clock and project. */
async function storage(name: string) {
  const clock = fakeClock(Date.now());
  const deps = await testDeps({ clock });
  const blobs = testBucket(endpoint, { timeoutMs: TIMEOUT_MS });
  const app = createStorageApp(deps, { blobs });
  const { keys } = await deps.projects.create({ name });
  return { clock, deps, app, keys };
}

it("a copy that outlives its look keeps the lock, so the bytes served are the bytes checked", async () => {
  const { clock, deps, app, keys } = await storage("late-copy");
  const post = (route: string, body: unknown) =>
    app.request(`/api/storage/${route}`, {
      method: "POST",
      headers: { "x-api-key": keys.secret, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const issued = await (
    await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length })
  ).json();
  const { signedUrl, filePath } = issued.data as { signedUrl: string; filePath: string };
  const putTo = (body: Uint8Array) =>
    fetch(signedUrl, {
      method: "PUT",
      headers: { "content-type": "image/png" },
      body: body as Uint8Array<ArrayBuffer>,
    });
  const junk = new Uint8Array(PNG.length).fill(0x41);

  expect((await putTo(junk)).status).toBe(200); // bytes of no PNG at the staging key
  copyMs = 1_000; // the bucket is slow to copy: longer than the look waits for it
  const first = await post("upload-confirm", { filePath, size: PNG.length });
  expect(first.status).toBeGreaterThanOrEqual(500); // the look gave up on its copy, and kept the lock

  copyMs = 0;
  expect((await putTo(PNG)).status).toBe(200); // the URL still works
  await post("upload-confirm", { filePath, size: PNG.length }); // waits for the lock, then reports "not uploaded"
  await new Promise((resolve) => setTimeout(resolve, 1_200)); // the first copy completes in the bucket

  // Whatever looks come next (after any lock has lapsed), a ready file serves the bytes that were checked.
  clock.advance(3 * 60_000);
  const last = await post("upload-confirm", { filePath, size: PNG.length });
  expect(last.status).toBe(200);
  // What a read of the ready file serves (its presigned GET reads this object).
  expect(new Uint8Array(objects.get(filePath)!.bytes)).toEqual(PNG);
  await deps.store.close();
});

it("a copy that outlives its look and lands after a DELETE is removed when the lock lapses", async () => {
  const { clock, deps, app, keys } = await storage("late-copy-delete");
  const sk = { "x-api-key": keys.secret, "content-type": "application/json" };
  const post = (route: string, body: unknown) =>
    app.request(`/api/storage/${route}`, { method: "POST", headers: sk, body: JSON.stringify(body) });
  const issued = await (
    await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length })
  ).json();
  const { signedUrl, filePath } = issued.data as { signedUrl: string; filePath: string };
  const put = await fetch(signedUrl, {
    method: "PUT",
    headers: { "content-type": "image/png" },
    body: PNG as Uint8Array<ArrayBuffer>,
  });
  expect(put.status).toBe(200); // uploaded while the URL worked
  clock.advance((UPLOAD_URL_TTL + 1) * 1000); // the URL has expired: a DELETE removes the record at once

  // The bucket is slow to copy: longer than the look waits (4 x 100 ms), and than the DELETE below
  // waits for the lock (about 0.6 s) before it deletes the file as it stands.
  copyMs = 2_500;
  const first = await post("upload-confirm", { filePath, size: PNG.length });
  expect(first.status).toBe(503); // the look gave up on its copy and keeps the lock: S3 goes on copying

  const del = await app.request("/api/storage/file", {
    method: "DELETE",
    headers: sk,
    body: JSON.stringify({ path: filePath }),
  });
  expect(del.status).toBe(200); // the lock does not keep the DELETE from deleting…
  const tombstone = await deps.store.platform().collection("files").findOne({ _id: filePath });
  expect(tombstone?.status).toBe("deleted"); // …but leaves a tombstone until the lock lapses
  const reserved = async () => (await deps.store.platform().collection("storage_usage").findOne({}))?.bytes;
  expect(await reserved()).toBe(PNG.length);

  await vi.waitFor(() => expect(objects.has(filePath)).toBe(true), { timeout: 5_000 }); // the copy lands
  copyMs = 0;
  expect(objects.has(filePath)).toBe(true);
  clock.advance(3 * 60_000); // the lock has lapsed: the next quota check ends the tombstone
  await post("upload-request", { filename: "q.png", contentType: "image/png", size: PNG.length });
  expect(objects.has(filePath)).toBe(false);
  expect(await deps.store.platform().collection("files").findOne({ _id: filePath })).toBeNull();
  expect(await reserved()).toBe(PNG.length); // the new request's only
  await deps.store.close();
});

it("once the bucket is healthy again, an upload request does not wait on the settle locks its bad spell left", async () => {
  const { clock, deps, app, keys } = await storage("sweep-locks");
  const request = () =>
    app.request("/api/storage/upload-request", {
      method: "POST",
      headers: { "x-api-key": keys.secret, "content-type": "application/json" },
      body: JSON.stringify({ filename: "p.png", contentType: "image/png", size: PNG.length }),
    });
  const N = 4;
  for (let i = 0; i < N; i++) {
    const { signedUrl } = ((await (await request()).json()) as { data: { signedUrl: string } }).data;
    const put = await fetch(signedUrl, { method: "PUT", headers: { "content-type": "image/png" }, body: PNG });
    expect(put.status).toBe(200);
  }
  clock.advance((UPLOAD_URL_TTL + 1) * 1000); // all N are due
  // A bad spell: each request's sweep stops at one more copy that outlasts its bound, keeping its lock.
  copyMs = 1_000;
  for (let i = 0; i < N; i++) expect((await request()).status).toBe(503);
  expect(
    await deps.store
      .platform()
      .collection("files")
      .count({ settlingUntil: { $exists: true } }),
  ).toBe(N);

  copyMs = 0; // healthy again, well within the 2-minute locks
  clock.advance(10_000);
  const started = Date.now();
  expect((await request()).status).toBe(200);
  expect(Date.now() - started).toBeLessThan(1_000); // it did not wait on each locked record
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // the bad spell's copies land
  await deps.store.close();
});
