/**
 * S3 direct uploads store at a staging key and are copied to the file's path when settled. Real
 * s3rver behind the signature gateway, as test/storage-s3.test.ts uses; a stand-in bucket where S3's
 * own timing is the point.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createStorageApp } from "../functions/storage/app.js";
import { UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import type { Deps } from "../shared/deps.js";
import { stagingKey } from "../shared/storage/paths.js";
import { s3BlobStore } from "../shared/storage/s3.js";
import type { BlobStore } from "../shared/storage/types.js";
import { fakeClock, testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { S3RVER_KEYS, startSignedS3 } from "./s3-server.js";

// biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
const json = async (res: Response) => (await res.json()) as any;

describe("against s3rver", () => {
  let s3: Awaited<ReturnType<typeof startSignedS3>>;
  let blobs: BlobStore;
  let deps: Deps;
  const clock = fakeClock(Date.now());
  let app: ReturnType<typeof createStorageApp>;

  beforeAll(async () => {
    s3 = await startSignedS3();
    blobs = s3BlobStore({
      bucket: "files",
      region: "us-east-1",
      endpoint: s3.endpoint,
      forcePathStyle: true,
      ...S3RVER_KEYS,
    });
    deps = await testDeps({ clock });
    app = createStorageApp(deps, { blobs });
  });
  afterAll(async () => {
    await deps.store.close();
    await s3.close();
  });

  async function project() {
    const { project, keys } = await deps.projects.create({ name: "review-s" });
    const key = keys.secret;
    const post = (route: string, body: unknown, on = app) =>
      on.request(`/api/storage/${route}`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const request = async () =>
      (await json(await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length })))
        .data as { signedUrl: string; filePath: string };
    const putTo = (url: string, body: Uint8Array) =>
      fetch(url, { method: "PUT", headers: { "content-type": "image/png" }, body: body as Uint8Array<ArrayBuffer> });
    const reserved = async () =>
      (await deps.store.platform().collection("storage_usage").findOne({ _id: project.id }))?.bytes;
    return { project, key, post, request, putTo, reserved };
  }

  const junk = new Uint8Array(PNG.length).fill(0x41);

  it("a refused direct upload (415) leaves a tombstone: what its URL stores meanwhile is deleted when it expires", async () => {
    const p = await project();
    const { signedUrl, filePath } = await p.request();
    expect((await p.putTo(signedUrl, junk)).status).toBe(200);
    expect((await p.post("upload-confirm", { filePath, size: PNG.length })).status).toBe(415);
    expect(await blobs.head(stagingKey(filePath))).toBeNull(); // removed with the refused bytes
    // The URL still works for 15 minutes: what it stores meanwhile is the tombstone's to delete.
    expect((await p.putTo(signedUrl, junk)).status).toBe(200);
    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    await p.request(); // the quota sweep once the URL has expired
    expect(await p.reserved()).toBe(PNG.length); // only the new request: the tombstone's reservation ended…
    expect(await blobs.head(stagingKey(filePath))).toBeNull(); // …after deleting what the URL stored
  });

  it("a confirm with the wrong size leaves a tombstone while the URL works: what it stores is counted, then removed", async () => {
    const p = await project();
    const { signedUrl, filePath } = await p.request();
    const confirm = await p.post("upload-confirm", { filePath, size: PNG.length + 1 });
    expect(confirm.status).toBe(400);
    expect(await p.reserved()).toBe(PNG.length); // held by the tombstone
    expect((await p.putTo(signedUrl, PNG)).status).toBe(200); // the URL still works
    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    await p.request(); // the sweep, once the URL has expired
    expect(await p.reserved()).toBe(PNG.length); // the new request's only
    expect(await blobs.head(stagingKey(filePath))).toBeNull();
  });

  it("a copy landing after a deletion, of bytes the check refuses, is deleted by the look that made it", async () => {
    const p = await project();
    const { signedUrl, filePath } = await p.request();
    expect((await p.putTo(signedUrl, junk)).status).toBe(200); // bytes of no PNG, at the staging key
    clock.advance((UPLOAD_URL_TTL + 1) * 1000); // the URL has expired: a DELETE removes the record at once

    // A read's copy reads the staging object, then lands at the file's path later (S3 copies server-side;
    // a DELETE of the destination meanwhile does not stop it).
    let copying!: () => void;
    const atCopy = new Promise<void>((resolve) => {
      copying = resolve;
    });
    let land!: () => void;
    const landed = new Promise<void>((resolve) => {
      land = resolve;
    });
    const slowCopy: BlobStore = {
      ...blobs,
      copy: async (from, to) => {
        const hold = `hold/${to}`;
        const found = await blobs.copy(from, hold);
        copying();
        await landed;
        if (found) {
          await blobs.copy(hold, to);
          await blobs.delete(hold);
        }
        return found;
      },
    };
    const read = createStorageApp(deps, { blobs: slowCopy }).request(
      `/api/storage/file?path=${encodeURIComponent(filePath)}`,
      { headers: { "x-api-key": p.key } },
    );
    await atCopy;
    const del = await app.request("/api/storage/file", {
      method: "DELETE",
      headers: { "x-api-key": p.key, "content-type": "application/json" },
      body: JSON.stringify({ path: filePath }),
    });
    expect(del.status).toBe(200);
    land();
    expect((await read).status).toBe(415);
    // The DELETE came while the read held its lock: a tombstone until the lock lapses (a copy could land).
    expect((await deps.store.platform().collection("files").findOne({ _id: filePath }))?.status).toBe("deleted");
    expect(await p.reserved()).toBe(PNG.length);
    expect(await blobs.head(filePath)).toBeNull(); // the read deleted what its copy put there
    clock.advance(3 * 60_000);
    await p.request(); // the sweep ends the tombstone
    expect(await deps.store.platform().collection("files").findOne({ _id: filePath })).toBeNull();
    expect(await p.reserved()).toBe(PNG.length); // the new request's only
  });
});

describe("against a bucket whose copy answers 200 and then takes its time (S3 sends the headers at once)", () => {
  const TIMEOUT_MS = 150;
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function slowCopyBucket() {
    const sockets = new Set<Socket>();
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      req.resume();
      const copy = req.method === "PUT" && req.headers["x-amz-copy-source"];
      seen.push(copy ? "COPY" : (req.method ?? ""));
      if (copy) {
        // As S3 does for a long copy: 200 at once, whitespace while it copies, the result (or an <Error>) at the end.
        res.writeHead(200, { "content-type": "application/xml" });
        res.write(" ");
        return; // …never finished within the call's time
      }
      res.writeHead(404);
      res.end();
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  async function storageAt(endpoint: string) {
    const clock = fakeClock(Date.now());
    const deps = await testDeps({ clock });
    closers.push(() => deps.store.close());
    const blobs = s3BlobStore(
      { bucket: "files", region: "us-east-1", endpoint, forcePathStyle: true, ...S3RVER_KEYS },
      { timeoutMs: TIMEOUT_MS },
    );
    const app = createStorageApp(deps, { blobs });
    const { keys } = await deps.projects.create({ name: "slow-copy" });
    const post = (route: string, body: unknown) =>
      app.request(`/api/storage/${route}`, {
        method: "POST",
        headers: { "x-api-key": keys.secret, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    return { clock, post };
  }

  const request = { filename: "p.png", contentType: "image/png", size: PNG.length };

  it("confirm: a copy whose answer times out after its headers is 503 SERVICE_UNAVAILABLE", async () => {
    const bucket = await slowCopyBucket();
    const s3 = await storageAt(bucket.endpoint);
    const { filePath } = (await json(await s3.post("upload-request", request))).data;
    const confirm = await s3.post("upload-confirm", { filePath, size: PNG.length });
    expect(bucket.seen).toContain("COPY");
    expect([confirm.status, (await json(confirm)).code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
  });

  it("the quota sweep stops at such a copy instead of waiting on it once per expired file", async () => {
    const bucket = await slowCopyBucket();
    const s3 = await storageAt(bucket.endpoint);
    for (let i = 0; i < 3; i++) expect((await s3.post("upload-request", request)).status).toBe(200);
    s3.clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    bucket.seen.length = 0;
    const started = Date.now();
    const next = await s3.post("upload-request", request);
    const ms = Date.now() - started;
    expect(bucket.seen).toEqual(["COPY"]); // stopped at the first failure, as a 5xx or a silent bucket does
    expect(next.status).toBe(503);
    expect(ms).toBeLessThan(TIMEOUT_MS * 4 * 2);
  });
});
