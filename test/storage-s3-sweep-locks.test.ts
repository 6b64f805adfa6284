/**
 * The quota sweep leaves out the records whose settle lock is held (or kept after a copy the bucket
 * did not confirm): once the bucket is healthy again, an upload request does not wait on each.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createStorageApp } from "../functions/storage/app.js";
import { UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import { s3BlobStore } from "../shared/storage/s3.js";
import { fakeClock, testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { S3RVER_KEYS } from "./s3-server.js";

const TIMEOUT_MS = 50;
let stalling = true;
const sockets = new Set<Socket>();
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const copy = req.method === "PUT" && req.headers["x-amz-copy-source"];
    if (copy && stalling) {
      res.writeHead(200, { "content-type": "application/xml" });
      res.write(" ");
      return; // S3 copying slowly: the answer never ends within the call's time
    }
    res.writeHead(404);
    res.end(); // no objects: a copy finds no staging object, a HEAD no bytes
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

it("once the bucket is healthy again, an upload request does not wait on the settle locks its bad spell left", async () => {
  const clock = fakeClock(Date.now());
  const deps = await testDeps({ clock });
  const blobs = s3BlobStore(
    { bucket: "files", region: "us-east-1", endpoint, forcePathStyle: true, ...S3RVER_KEYS },
    { timeoutMs: TIMEOUT_MS },
  );
  const app = createStorageApp(deps, { blobs });
  const { keys } = await deps.projects.create({ name: "sweep-locks" });
  const request = () =>
    app.request("/api/storage/upload-request", {
      method: "POST",
      headers: { "x-api-key": keys.secret, "content-type": "application/json" },
      body: JSON.stringify({ filename: "p.png", contentType: "image/png", size: PNG.length }),
    });
  const N = 8;
  for (let i = 0; i < N; i++) expect((await request()).status).toBe(200);
  clock.advance((UPLOAD_URL_TTL + 1) * 1000); // all N are due

  // The bucket's bad spell: each request's sweep stops at (and keeps the lock of) one more expired file.
  for (let i = 0; i < N; i++) expect((await request()).status).toBe(503);
  const locked = await deps.store
    .platform()
    .collection("files")
    .count({ settlingUntil: { $exists: true } });
  expect(locked).toBe(N);

  stalling = false; // healthy again
  clock.advance(10_000); // well within the 2-minute lock
  const started = Date.now();
  const next = await request();
  const ms = Date.now() - started;
  expect(next.status).toBe(200);
  // One upload request should not wait on locks of files it cannot settle (each costs ~0.6 s here).
  expect(ms).toBeLessThan(1_000);
  await deps.store.close();
});
