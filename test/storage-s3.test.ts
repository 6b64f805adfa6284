/**
 * The s3 blob store against a real S3-compatible server started here: s3rver behind a gateway that
 * checks presigned signatures as S3 does (see startSignedS3) — that is what refuses an oversized or
 * wrong-type PUT.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorageApp } from "../functions/storage/app.js";
import { UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import type { Deps } from "../shared/deps.js";
import { stagingKey } from "../shared/storage/paths.js";
import type { BlobStore } from "../shared/storage/types.js";
import { deferred, fakeClock, testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { startSignedS3, testBucket } from "./s3-server.js";

let s3: Awaited<ReturnType<typeof startSignedS3>>;
let blobs: BlobStore;
let deps: Deps;
/** Moves the storage function's time (expiry of pending uploads); S3 checks its own signatures by real time. */
const clock = fakeClock(Date.now());
let app: ReturnType<typeof createStorageApp>;
let sk: string;
let projectId: string;

beforeAll(async () => {
  s3 = await startSignedS3();
  blobs = testBucket(s3.endpoint);
  deps = await testDeps({ clock });
  app = createStorageApp(deps, { blobs });
  const { project, keys } = await deps.projects.create({
    name: "s3",
    settings: { storage: { quotaBytes: PNG.length * 3 } },
  });
  sk = keys.secret;
  projectId = project.id;
});
afterAll(async () => {
  await deps.store.close();
  await s3.close();
});

// biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
const json = async (res: Response) => (await res.json()) as any;
const post = (path: string, body: unknown, key = sk) =>
  app.request(`/api/storage/${path}`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("s3 blob store (s3rver)", () => {
  it("uploads, serves through a presigned GET, deletes, and accounts the quota", async () => {
    const form = new FormData();
    form.append("file", new Blob([PNG], { type: "image/png" }), "a.png");
    const uploaded = await json(
      await app.request("/api/storage/upload", { method: "POST", headers: { "x-api-key": sk }, body: form }),
    );
    const path = uploaded.data.path as string;
    expect(path.startsWith(`${projectId}/uploads/`)).toBe(true);
    expect(await blobs.head(path)).toEqual({ size: PNG.length, contentType: "image/png" });

    const redirect = await app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, {
      headers: { "x-api-key": sk },
    });
    expect(redirect.status).toBe(302);
    const download = await fetch(redirect.headers.get("location")!);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(PNG);
    expect(download.headers.get("content-disposition")).toBe(`inline;filename="${path.split("/").pop()}"`);
    // Signed per 5-minute window: the same URL a second later (in the same window), which browsers may keep.
    const window = () => Math.floor(clock.now() / 300_000);
    const before = window();
    clock.advance(1000);
    const again = await app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, {
      headers: { "x-api-key": sk },
    });
    if (window() === before) expect(again.headers.get("location")).toBe(redirect.headers.get("location"));
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(again.headers.get("cache-control") ?? "")?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(240);
    expect(maxAge).toBeLessThanOrEqual(540);

    const del = await app.request("/api/storage/file", {
      method: "DELETE",
      headers: { "x-api-key": sk, "content-type": "application/json" },
      body: JSON.stringify({ path }),
    });
    expect(del.status).toBe(200);
    expect(await blobs.head(path)).toBeNull();
    const usage = await deps.store.platform().collection("storage_usage").findOne({ _id: projectId });
    expect(usage?.bytes).toBe(0);
  });

  it("an allowed SVG is a download from the bucket too (its script never runs on the bucket's origin)", async () => {
    const { keys } = await deps.projects.create({
      name: "svg",
      settings: { storage: { allowedContentTypes: ["image/svg+xml"] } },
    });
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>';
    const form = new FormData();
    form.append("file", new Blob([svg], { type: "image/svg+xml" }), "x.svg");
    const headers = { "x-api-key": keys.secret };
    const path = (await json(await app.request("/api/storage/upload", { method: "POST", headers, body: form }))).data
      .path as string;
    const redirect = await app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, { headers });
    const served = await fetch(redirect.headers.get("location")!);
    expect(await served.text()).toBe(svg);
    expect(served.headers.get("content-type")).toBe("image/svg+xml");
    expect(served.headers.get("content-disposition")).toBe(`attachment;filename="${path.split("/").pop()}"`);
  });

  it("presigned PUT: the signature binds type and size; the SDK flow confirms against the bucket", async () => {
    const { uploadUrl, path, headers } = (
      await json(await post("upload-url", { filename: "p.png", contentType: "image/png", size: PNG.length }))
    ).data;
    expect(uploadUrl).toMatch(/X-Amz-Signature=/);
    const put = (type: string, body: Uint8Array) =>
      fetch(uploadUrl, { method: "PUT", headers: { "content-type": type }, body: body as Uint8Array<ArrayBuffer> });
    expect((await put("text/html", PNG)).status).toBe(403);
    expect((await put("image/png", new Uint8Array([...PNG, ...PNG]))).status).toBe(403);
    expect(await blobs.head(stagingKey(path))).toBeNull();
    expect(headers["content-type"]).toBe("image/png");
    expect((await put("image/png", PNG)).status).toBe(200);
    // The URL stores at the staging key; the file's path gets the bytes when they are checked.
    expect(await blobs.head(stagingKey(path))).toEqual({ size: PNG.length, contentType: "image/png" });
    expect(await blobs.head(path)).toBeNull();

    const request = (
      await json(await post("upload-request", { filename: "q.png", contentType: "image/png", size: PNG.length }))
    ).data;
    await fetch(request.signedUrl, { method: "PUT", headers: { "content-type": "image/png" }, body: PNG });
    const confirmed = await json(await post("upload-confirm", { filePath: request.filePath, size: PNG.length }));
    expect(confirmed.data).toMatchObject({ path: request.filePath, size: PNG.length, contentType: "image/png" });

    // The quota (3 files) counts both direct uploads: the next reservation is refused.
    await post("upload-url", { filename: "r.png", contentType: "image/png", size: PNG.length });
    const over = await post("upload-url", { filename: "s.png", contentType: "image/png", size: PNG.length });
    expect((await json(over)).code).toBe("QUOTA_EXCEEDED");
  });

  it("a Buffer the SDK declares as octet-stream: the PUT carries that, the file keeps its name's type", async () => {
    await deps.projects.update(projectId, { settings: { storage: { quotaBytes: null } } });
    const request = (
      await json(
        await post("upload-request", { filename: "b.png", contentType: "application/octet-stream", size: PNG.length }),
      )
    ).data;
    const put = (type: string) =>
      fetch(request.signedUrl, { method: "PUT", headers: { "content-type": type }, body: PNG });
    expect((await put("image/png")).status).toBe(403); // signed for what the client said it sends
    expect((await put("application/octet-stream")).status).toBe(200);
    const confirmed = await json(await post("upload-confirm", { filePath: request.filePath, size: PNG.length }));
    expect(confirmed.data).toMatchObject({ contentType: "image/png" });
    const redirect = await app.request(`/api/storage/file?path=${encodeURIComponent(request.filePath)}`, {
      headers: { "x-api-key": sk },
    });
    const download = await fetch(redirect.headers.get("location")!);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(PNG);
  });

  it("a direct upload whose bytes contradict its type is removed at confirm (415)", async () => {
    const junk = new TextEncoder().encode("this is not a png at all");
    await deps.projects.update(projectId, { settings: { storage: { quotaBytes: null } } });
    const request = (
      await json(await post("upload-request", { filename: "x.png", contentType: "image/png", size: junk.length }))
    ).data;
    await fetch(request.signedUrl, { method: "PUT", headers: { "content-type": "image/png" }, body: junk });
    const res = await post("upload-confirm", { filePath: request.filePath, size: junk.length });
    expect(res.status).toBe(415);
    expect(await blobs.head(request.filePath)).toBeNull();
  });

  it("pending direct uploads: bytes in the bucket keep their file, confirmed or not; absent ones are released", async () => {
    const { project, keys } = await deps.projects.create({
      name: "s3-pending",
      settings: { storage: { quotaBytes: PNG.length * 4 } },
    });
    const key = keys.secret;
    const request = async (name: string, size = PNG.length) =>
      (await json(await post("upload-request", { filename: name, contentType: "image/png", size }, key))).data as {
        signedUrl: string;
        filePath: string;
      };
    const putTo = (url: string, body: Uint8Array) =>
      fetch(url, { method: "PUT", headers: { "content-type": "image/png" }, body: body as Uint8Array<ArrayBuffer> });
    const reserved = async () =>
      (await deps.store.platform().collection("storage_usage").findOne({ _id: project.id }))?.bytes;

    const uploaded = await request("kept.png"); // PUT to the bucket, never confirmed
    expect((await putTo(uploaded.signedUrl, PNG)).status).toBe(200);
    const junk = new Uint8Array(PNG.length).fill(0x41);
    const fake = await request("fake.png"); // bytes in the bucket that are not the declared type
    expect((await putTo(fake.signedUrl, junk)).status).toBe(200);
    const abandoned = await request("never.png"); // no PUT at all
    const deleted = await request("deleted.png"); // PUT, then deleted before any confirm
    expect((await putTo(deleted.signedUrl, PNG)).status).toBe(200);
    expect(
      (await json(await post("upload-request", { filename: "x.png", contentType: "image/png", size: 1 }, key))).code,
    ).toBe("QUOTA_EXCEEDED");

    const del = await app.request("/api/storage/file", {
      method: "DELETE",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ path: deleted.filePath }),
    });
    expect(await json(del)).toMatchObject({ success: true, data: { path: deleted.filePath, deleted: true } });
    expect(await blobs.head(deleted.filePath)).toBeNull();
    expect(await reserved()).toBe(PNG.length * 4); // its URL still works: held until it expires

    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    await request("next.png"); // the quota check settles the expired ones
    expect(await reserved()).toBe(PNG.length * 2); // kept.png and next.png
    expect(await blobs.head(fake.filePath)).toBeNull();
    const read = await app.request(`/api/storage/file?path=${encodeURIComponent(uploaded.filePath)}`, {
      headers: { "x-api-key": key },
    });
    expect(new Uint8Array(await (await fetch(read.headers.get("location")!)).arrayBuffer())).toEqual(PNG);
    const late = await post("upload-confirm", { filePath: uploaded.filePath, size: PNG.length }, key);
    expect((await json(late)).data).toMatchObject({ path: uploaded.filePath, size: PNG.length });
    for (const gone of [abandoned, fake]) {
      expect((await post("upload-confirm", { filePath: gone.filePath, size: PNG.length }, key)).status).toBe(404);
    }
  });

  it("reads of a pending upload count under the pk rule: past it, no settle's COPY or HEAD reaches the bucket", async () => {
    const { keys } = await deps.projects.create({ name: "s3-limited", settings: { rateLimits: { pk: "2/15m" } } });
    const calls: string[] = [];
    const counted = createStorageApp(deps, {
      blobs: {
        ...blobs,
        copy: (from, to) => {
          calls.push("copy");
          return blobs.copy(from, to);
        },
        head: (path) => {
          calls.push("head");
          return blobs.head(path);
        },
      },
    });
    const { filePath } = (
      await json(await post("upload-request", { filename: "p.png", contentType: "image/png", size: 9 }, keys.secret))
    ).data;
    const read = () =>
      counted.request(`/api/storage/file?path=${encodeURIComponent(filePath)}&key=${keys.publishable}`, {
        headers: { origin: "http://localhost:3000" },
      });
    expect([(await read()).status, (await read()).status]).toEqual([404, 404]); // no bytes yet: still pending
    expect(calls).toEqual(["copy", "head", "copy", "head"]);
    expect((await read()).status).toBe(429);
    expect(calls).toHaveLength(4);
  });

  it("a file deleted while its upload URL works leaves a tombstone: what the URL stores is counted, then deleted", async () => {
    const { project, keys } = await deps.projects.create({
      name: "s3-tombstones",
      settings: { storage: { quotaBytes: PNG.length * 2 } },
    });
    const key = keys.secret;
    const reserved = async () =>
      (await deps.store.platform().collection("storage_usage").findOne({ _id: project.id }))?.bytes;
    const putTo = (url: string) => fetch(url, { method: "PUT", headers: { "content-type": "image/png" }, body: PNG });
    const remove = (path: string) =>
      app.request("/api/storage/file", {
        method: "DELETE",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ path }),
      });
    const request = async () =>
      (await json(await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length }, key)))
        .data as { signedUrl: string; filePath: string };

    const pending = await request(); // deleted before its bytes came
    expect((await remove(pending.filePath)).status).toBe(200);
    expect((await putTo(pending.signedUrl)).status).toBe(200); // S3 takes it: the URL is valid

    const confirmed = await request(); // uploaded, confirmed, deleted, then uploaded again
    expect((await putTo(confirmed.signedUrl)).status).toBe(200);
    expect((await post("upload-confirm", { filePath: confirmed.filePath, size: PNG.length }, key)).status).toBe(200);
    expect((await remove(confirmed.filePath)).status).toBe(200);
    expect(await blobs.head(confirmed.filePath)).toBeNull();
    expect((await putTo(confirmed.signedUrl)).status).toBe(200);

    // Both objects are counted: the quota (2 files) refuses a third, so deleting never frees room for more.
    expect(await reserved()).toBe(PNG.length * 2);
    expect(
      (await json(await post("upload-request", { filename: "x.png", contentType: "image/png", size: 1 }, key))).code,
    ).toBe("QUOTA_EXCEEDED");
    for (const { filePath } of [pending, confirmed]) {
      expect(await blobs.head(stagingKey(filePath))).not.toBeNull();
      expect(await blobs.head(filePath)).toBeNull();
      expect((await remove(filePath)).status).toBe(404); // a tombstone is no file
      expect((await post("upload-confirm", { filePath, size: PNG.length }, key)).status).toBe(404);
      expect((await post("upload-confirm", { filePath, size: PNG.length + 1 }, key)).status).toBe(404);
      const read = await app.request(`/api/storage/file?path=${encodeURIComponent(filePath)}`, {
        headers: { "x-api-key": key },
      });
      expect(read.status).toBe(404);
    }

    clock.advance((UPLOAD_URL_TTL + 1) * 1000); // the URLs have expired: the next quota check ends the tombstones
    await request();
    expect(await reserved()).toBe(PNG.length);
    for (const { filePath } of [pending, confirmed]) {
      expect(await blobs.head(filePath)).toBeNull();
      expect(await blobs.head(stagingKey(filePath))).toBeNull();
      expect(await deps.store.platform().collection("files").findOne({ _id: filePath })).toBeNull();
    }
  });
});

describe("the staging key of S3 direct uploads", () => {
  /** The same size and type as PNG, other bytes: a PNG too (`image`), or none at all (`junk`). */
  const image = PNG.map((byte, i) => (i === PNG.length - 1 ? byte ^ 0xff : byte));
  const junk = new Uint8Array(PNG.length).fill(0x41);

  async function staged() {
    const { project, keys } = await deps.projects.create({ name: "s3-staging" });
    const key = keys.secret;
    const request = async () =>
      (await json(await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length }, key)))
        .data as { signedUrl: string; filePath: string };
    const putTo = (url: string, body: Uint8Array) =>
      fetch(url, { method: "PUT", headers: { "content-type": "image/png" }, body: body as Uint8Array<ArrayBuffer> });
    const confirm = (filePath: string) => post("upload-confirm", { filePath, size: PNG.length }, key);
    const read = (path: string) =>
      app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, { headers: { "x-api-key": key } });
    /** The bytes a read of the file is served, through the bucket's presigned GET. */
    const served = async (path: string) => {
      const redirect = await read(path);
      expect(redirect.status).toBe(302);
      return new Uint8Array(await (await fetch(redirect.headers.get("location")!)).arrayBuffer());
    };
    const remove = (path: string) =>
      app.request("/api/storage/file", {
        method: "DELETE",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: JSON.stringify({ path }),
      });
    const record = (path: string) => deps.store.platform().collection("files").findOne({ _id: path });
    const reserved = async () =>
      (await deps.store.platform().collection("storage_usage").findOne({ _id: project.id }))?.bytes;
    /** A direct upload of PNG, confirmed. */
    const confirmed = async () => {
      const upload = await request();
      expect((await putTo(upload.signedUrl, PNG)).status).toBe(200);
      expect((await confirm(upload.filePath)).status).toBe(200);
      return upload;
    };
    return { project, key, request, putTo, confirm, read, served, remove, record, reserved, confirmed };
  }

  it("a PUT to the upload URL after confirm does not change the bytes served", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.confirmed();
    expect(await blobs.head(stagingKey(filePath))).toBeNull(); // copied to the file's path, then deleted
    expect((await s.putTo(signedUrl, image)).status).toBe(200); // S3 takes it: the URL is valid
    expect(await s.served(filePath)).toEqual(PNG);
    expect((await json(await s.confirm(filePath))).data).toMatchObject({ path: filePath, size: PNG.length });
    expect(await s.served(filePath)).toEqual(PNG);
  });

  it("a re-PUT after confirm cannot bypass the signature check: bytes of no PNG are never served", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.confirmed();
    expect((await s.putTo(signedUrl, junk)).status).toBe(200);
    expect((await s.confirm(filePath)).status).toBe(200); // the file, as it was checked
    expect(await s.served(filePath)).toEqual(PNG);
    expect(await blobs.head(filePath)).toEqual({ size: PNG.length, contentType: "image/png" });
  });

  it("what the URL stores after confirm is deleted by the first quota check once the URL has expired", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.confirmed();
    expect((await s.putTo(signedUrl, image)).status).toBe(200);
    expect(await blobs.head(stagingKey(filePath))).not.toBeNull();
    await s.request(); // a quota check before the URL expired: it could still store there
    expect(await blobs.head(stagingKey(filePath))).not.toBeNull();

    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    await s.request();
    expect(await blobs.head(stagingKey(filePath))).toBeNull();
    expect(await s.record(filePath)).not.toHaveProperty("expiresAt"); // nothing left for the sweep
    expect(await s.served(filePath)).toEqual(PNG);
  });

  it("deleting a file deletes its staging object: confirmed, or pending", async () => {
    const s = await staged();
    const ready = await s.confirmed();
    expect((await s.putTo(ready.signedUrl, image)).status).toBe(200);
    const pending = await s.request();
    expect((await s.putTo(pending.signedUrl, PNG)).status).toBe(200);
    for (const { filePath } of [ready, pending]) {
      expect((await s.remove(filePath)).status).toBe(200);
      expect(await blobs.head(stagingKey(filePath))).toBeNull();
      expect(await blobs.head(filePath)).toBeNull();
    }
  });

  it("no file path reaches a staging key: reads, confirm and delete refuse it", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    expect((await s.putTo(signedUrl, PNG)).status).toBe(200);
    for (const path of [stagingKey(filePath), `${s.project.id}/${stagingKey(filePath)}`]) {
      expect((await s.read(path)).status, path).toBe(400);
      expect((await s.confirm(path)).status, path).toBe(400);
      expect((await s.remove(path)).status, path).toBe(400);
    }
    // A public project's key-less read: a staging key names no project, so a key is asked for.
    await deps.projects.update(s.project.id, { settings: { storage: { public: true } } });
    const keyless = await app.request(`/api/storage/file?path=${encodeURIComponent(stagingKey(filePath))}`);
    expect(keyless.status).toBe(401);
    expect(await blobs.head(stagingKey(filePath))).not.toBeNull(); // untouched by all of that
  });

  it("a copy whose look ended before the file was ready is settled by the next look, staged or not", async () => {
    const s = await staged();
    for (const stagingLeft of [true, false]) {
      const { signedUrl, filePath } = await s.request();
      expect((await s.putTo(signedUrl, PNG)).status).toBe(200);
      // A look that copied, then died holding the settle lock (it lapses), before marking the file ready.
      expect(await blobs.copy(stagingKey(filePath), filePath)).toBe(true);
      if (!stagingLeft) await blobs.delete(stagingKey(filePath));
      const lapsed = new Date(clock.now()).toISOString();
      await deps.store
        .platform()
        .collection("files")
        .updateOne({ _id: filePath }, { $set: { settlingUntil: lapsed } });
      expect((await s.confirm(filePath)).status, `staging left: ${stagingLeft}`).toBe(200);
      expect(await s.served(filePath)).toEqual(PNG);
      expect(await blobs.head(stagingKey(filePath))).toBeNull();
    }
  });

  it("a settle lock held by a live look keeps others from copying until it lapses", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    expect((await s.putTo(signedUrl, PNG)).status).toBe(200);
    const held = new Date(clock.now() + 60_000).toISOString();
    await deps.store
      .platform()
      .collection("files")
      .updateOne({ _id: filePath }, { $set: { settlingUntil: held } });
    expect((await s.confirm(filePath)).status).toBe(400); // "the file was not uploaded": not by this look
    expect(await blobs.head(filePath)).toBeNull();
    clock.advance(60_000);
    expect((await s.confirm(filePath)).status).toBe(200);
  });

  it("bytes the URL stores while a look checks the file never reach it through another look's copy", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    expect((await s.putTo(signedUrl, PNG)).status).toBe(200);
    // The first look stops once it has copied, as it reads the file's signature.
    const { promise: atCheck, resolve: checking } = deferred();
    const { promise: released, resolve: release } = deferred();
    const held: BlobStore = {
      ...blobs,
      get: async (path, range) => {
        checking();
        await released;
        return blobs.get(path, range);
      },
    };
    const first = createStorageApp(deps, { blobs: held }).request("/api/storage/upload-confirm", {
      method: "POST",
      headers: { "x-api-key": s.key, "content-type": "application/json" },
      body: JSON.stringify({ filePath, size: PNG.length }),
    });
    await atCheck;
    expect((await s.putTo(signedUrl, junk)).status).toBe(200);
    const second = s.confirm(filePath); // waits for the first look's lock rather than copying
    setTimeout(release, 100);
    expect([(await first).status, (await second).status]).toEqual([200, 200]);
    expect(await s.served(filePath)).toEqual(PNG);
  });

  it("looks at one upload together: one copies and checks, the others wait and find it ready", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    expect((await s.putTo(signedUrl, PNG)).status).toBe(200);
    const answers = await Promise.all([s.confirm(filePath), s.read(filePath), s.confirm(filePath)]);
    expect(answers.map((res) => res.status)).toEqual([200, 302, 200]);
    expect(await s.served(filePath)).toEqual(PNG);
  });

  it("DELETE once the URL has expired, nothing having looked since: 404 without bytes or with refused ones", async () => {
    const s = await staged();
    const [never, refused, stored] = [await s.request(), await s.request(), await s.request()];
    expect((await s.putTo(refused.signedUrl, junk)).status).toBe(200);
    expect((await s.putTo(stored.signedUrl, PNG)).status).toBe(200);
    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    for (const gone of [never, refused]) {
      const res = await s.remove(gone.filePath);
      expect([res.status, (await json(res)).code]).toEqual([404, "FILE_NOT_FOUND"]);
      expect(await s.record(gone.filePath)).toBeNull();
    }
    expect((await s.remove(stored.filePath)).status).toBe(200); // its bytes came in time: a file to delete
    expect(await s.reserved()).toBe(0);
    expect(await blobs.head(stagingKey(refused.filePath))).toBeNull();
  });

  it("refused bytes (415) leave a tombstone: what the URL stores meanwhile is deleted when it expires", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    expect((await s.putTo(signedUrl, junk)).status).toBe(200);
    expect((await s.confirm(filePath)).status).toBe(415);
    expect(await blobs.head(stagingKey(filePath))).toBeNull(); // removed with the refused bytes
    // The URL still works for 15 minutes: what it stores meanwhile is the tombstone's to delete.
    expect((await s.putTo(signedUrl, junk)).status).toBe(200);
    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    await s.request(); // the quota sweep once the URL has expired
    expect(await s.reserved()).toBe(PNG.length); // only the new request: the tombstone's reservation ended…
    expect(await blobs.head(stagingKey(filePath))).toBeNull(); // …after deleting what the URL stored
  });

  it("a confirm with the wrong size leaves a tombstone while the URL works: what it stores is counted, then removed", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    const confirm = await post("upload-confirm", { filePath, size: PNG.length + 1 }, s.key);
    expect(confirm.status).toBe(400);
    expect(await s.reserved()).toBe(PNG.length); // held by the tombstone
    expect((await s.putTo(signedUrl, PNG)).status).toBe(200); // the URL still works
    clock.advance((UPLOAD_URL_TTL + 1) * 1000);
    await s.request(); // the sweep, once the URL has expired
    expect(await s.reserved()).toBe(PNG.length); // the new request's only
    expect(await blobs.head(stagingKey(filePath))).toBeNull();
  });

  it("a copy landing after a deletion, of bytes the check refuses, is deleted by the look that made it", async () => {
    const s = await staged();
    const { signedUrl, filePath } = await s.request();
    expect((await s.putTo(signedUrl, junk)).status).toBe(200); // bytes of no PNG, at the staging key
    clock.advance((UPLOAD_URL_TTL + 1) * 1000); // the URL has expired

    // A read's copy reads the staging object, then lands at the file's path later (S3 copies server-side;
    // a DELETE of the destination meanwhile does not stop it).
    const { promise: atCopy, resolve: copying } = deferred();
    const { promise: landed, resolve: land } = deferred();
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
      { headers: { "x-api-key": s.key } },
    );
    await atCopy;
    expect((await s.remove(filePath)).status).toBe(200);
    land();
    expect((await read).status).toBe(404); // as after the DELETE that removed the file first
    // The DELETE came while the read held its lock: a tombstone until the lock lapses (a copy could land).
    expect((await s.record(filePath))?.status).toBe("deleted");
    expect(await s.reserved()).toBe(PNG.length);
    expect(await blobs.head(filePath)).toBeNull(); // the read deleted what its copy put there
    clock.advance(3 * 60_000);
    await s.request(); // the sweep ends the tombstone
    expect(await s.record(filePath)).toBeNull();
    expect(await s.reserved()).toBe(PNG.length); // the new request's only
  });
});
