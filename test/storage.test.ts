/** The storage function (API.md §7) through HTTP with the memory and fs blob stores. */
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createStorageApp } from "../functions/storage/app.js";
import { MAX_MULTIPART_PARTS } from "../functions/storage/body.js";
import { UPLOAD_URL_TTL } from "../functions/storage/pending.js";
import type { Deps } from "../shared/deps.js";
import { fileRecords } from "../shared/storage/files.js";
import { fsBlobStore } from "../shared/storage/fs.js";
import { memoryBlobStore } from "../shared/storage/memory.js";
import type { BlobStore } from "../shared/storage/types.js";
import { signAccessToken } from "../shared/tokens.js";
import { ADMIN_TOKEN, aroundPlatform, deferred, fakeClock, testDeps } from "./helpers.js";
import { PNG } from "./png.js";

let clock: ReturnType<typeof fakeClock>;
let deps: Deps;
let app: ReturnType<typeof createStorageApp>;
let blobs: BlobStore;
let a: { id: string; pk: string; sk: string; jwtSecret: string };
let b: typeof a;

async function project(name: string, settings: Record<string, unknown> = {}) {
  const { project, keys } = await deps.projects.create({ name, settings });
  const resolved = (await deps.projects.resolveKey(keys.secret))!.project;
  return { id: project.id, pk: keys.publishable, sk: keys.secret, jwtSecret: resolved.jwtSecret };
}
const token = async (p: typeof a, userId: string) =>
  (await signAccessToken(p, userId, { now: clock.now(), ttlSeconds: 900 })).token;
const USER = "a".repeat(24);
const OTHER = "b".repeat(24);

async function setup(store: BlobStore) {
  clock = fakeClock(Date.now());
  deps = await testDeps({ clock });
  blobs = store;
  app = createStorageApp(deps, { blobs });
  a = await project("a", { storage: { allowUserUploads: true } });
  b = await project("b", { storage: { allowUserUploads: true } });
}

/** A multipart upload. */
function upload(headers: Record<string, string>, file: Blob, name = "photo.png", folder?: string) {
  const form = new FormData();
  form.append("file", file, name);
  if (folder !== undefined) form.append("folder", folder);
  return app.request("/api/storage/upload", { method: "POST", headers, body: form });
}
const png = () => new Blob([PNG], { type: "image/png" });
const auth = (key: string, bearer?: string) => ({
  "x-api-key": key,
  ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
});
async function json(res: Response) {
  // biome-ignore lint/suspicious/noExplicitAny: envelopes of our own API
  return (await res.json()) as any;
}
function del(headers: Record<string, string>, path: string) {
  return app.request("/api/storage/file", {
    method: "DELETE",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ path }),
  });
}
/** GET /file?path= as sent: a public file's bytes, or a private file's redirect to its signed URL. */
const fileRoute = (path: string, headers: Record<string, string> = {}) =>
  app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, { headers });
/** Follows the storage function's own redirect (signed blob URL) and returns the final response. */
async function fetchFile(path: string, headers: Record<string, string> = {}) {
  const first = await fileRoute(path, headers);
  if (first.status !== 302) return first;
  const location = new URL(first.headers.get("location")!);
  return app.request(`${location.pathname}${location.search}`);
}

/** A JSON POST to a storage route. */
function post(route: string, headers: Record<string, string>, body: unknown) {
  return app.request(`/api/storage/${route}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
/** A direct upload of `size` bytes of text through `/upload-url` or `/upload-request`: its path and URL. */
async function presignText(route: "upload-url" | "upload-request", headers: Record<string, string>, size: number) {
  const res = await post(route, headers, { filename: "note.txt", contentType: "text/plain", size });
  expect(res.status).toBe(200);
  const { data } = await json(res);
  return route === "upload-url"
    ? { path: data.path as string, url: data.uploadUrl as string }
    : { path: data.filePath as string, url: data.signedUrl as string };
}
/** A PUT to a URL the storage function signed (fs and memory stores). */
function putTo(url: string, body: BodyInit, type = "text/plain") {
  const u = new URL(url);
  return app.request(`${u.pathname}${u.search}`, {
    method: "PUT",
    headers: { "content-type": type },
    body,
    duplex: "half",
  } as RequestInit);
}
/** A PUT whose body runs `meanwhile` once the route has begun reading it, then sends `text`. */
function putWhile(url: string, text: string, meanwhile: () => unknown) {
  let ran = false;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!ran) {
          ran = true;
          await meanwhile();
        }
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return putTo(url, body);
}
/** Where this process lists its open file descriptors (Linux); tests that count them need it. */
const FDS = "/proc/self/fd";
const text = (size: number) => new Blob(["x".repeat(size)], { type: "text/plain" });
/** A user of project a, with a token minted now (the fake clock moves past token lifetimes). */
const asUser = async (userId: string) => auth(a.pk, await token(a, userId));
/** A URL issued now has expired once this much time has passed. */
const PAST_EXPIRY = (UPLOAD_URL_TTL + 1) * 1000;

/** The project's reserved bytes equal the bytes its file records (pending or ready) hold, and `bytes`. */
async function expectReserved(p: typeof a, bytes: number) {
  const usage = await deps.store.platform().collection("storage_usage").findOne({ _id: p.id });
  const records = await fileRecords(deps).find({ projectId: p.id });
  expect(usage?.bytes ?? 0, "reserved").toBe(bytes);
  expect(
    records.reduce((sum, file) => sum + (file.size as number), 0),
    "recorded",
  ).toBe(bytes);
}

describe.each([
  ["memory", false],
  ["fs", true],
])("storage with the %s blob store", (_name, onDisk) => {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = onDisk ? await mkdtemp(join(tmpdir(), "edgeback-files-")) : undefined;
    await setup(dir ? fsBlobStore(dir) : memoryBlobStore());
  });
  afterEach(async () => {
    await deps.store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("upload caller matrix", async () => {
    const cases: Array<[string, Record<string, string>, number, string?]> = [
      ["no key", {}, 401, "API_KEY_MISSING"],
      ["bad key", auth(`pk_live_${"x".repeat(43)}`), 401, "API_KEY_INVALID"],
      ["pk without a user", auth(a.pk), 401, "AUTH_REQUIRED"],
      ["pk + user", auth(a.pk, await token(a, USER)), 201],
      ["pk + another project's user token", auth(a.pk, await token(b, USER)), 401, "TOKEN_INVALID"],
      ["sk", auth(a.sk), 201],
      ["other project's sk", auth(b.sk), 201],
    ];
    for (const [name, headers, status, code] of cases) {
      const res = await upload(headers, png());
      expect(res.status, name).toBe(status);
      const body = await json(res);
      if (code) expect(body.code, name).toBe(code);
      if (status === 201) {
        const owner = headers.authorization ? `users/${USER}/` : "uploads/";
        const own = headers["x-api-key"] === b.sk ? b.id : a.id;
        expect(body.data.path, name).toMatch(new RegExp(`^${own}/${owner}[0-9a-f]{24}-photo\\.png$`));
        expect(body.data).toMatchObject({ size: PNG.length, contentType: "image/png" });
      }
    }
    await deps.projects.update(a.id, { settings: { storage: { allowUserUploads: false } } });
    const user = auth(a.pk, await token(a, USER));
    const direct = { filename: "a.png", contentType: "image/png", size: PNG.length };
    for (const blocked of [await upload(user, png()), await post("upload-url", user, direct)]) {
      expect([blocked.status, await json(blocked)]).toEqual([
        403,
        expect.objectContaining({
          code: "WRITE_BLOCKED", // API.md's code for a publishable key's blocked write; the message says what allows it
          message: "Uploads with a publishable key need settings.storage.allowUserUploads (or use the secret key)",
        }),
      ]);
    }
  });

  it("an end user's folder lies below their own: /upload, /upload-url and /upload-request alike", async () => {
    const user = await asUser(USER);
    const own = `${a.id}/users/${USER}`;
    const uploaded = (await json(await upload(user, png(), "photo.png", "albums/trips"))).data.path;
    expect(uploaded).toMatch(new RegExp(`^${own}/albums/trips/[0-9a-f]{24}-photo\\.png$`));
    const body = { filename: "note.txt", contentType: "text/plain", size: 5, folder: "albums/trips" };
    const direct = (await json(await post("upload-url", user, body))).data;
    const requested = (await json(await post("upload-request", user, body))).data;
    for (const path of [direct.path, requested.filePath]) {
      expect(path).toMatch(new RegExp(`^${own}/albums/trips/[0-9a-f]{24}-note\\.txt$`));
    }
    expect((await putTo(direct.uploadUrl, "hello")).status).toBe(200);
    expect(await (await fetchFile(direct.path, user)).text()).toBe("hello");
    expect((await del(user, uploaded)).status).toBe(200);
    // No folder: their own; a folder is checked as the secret key's is.
    const plain = (await json(await upload(user, png()))).data.path;
    expect(plain).toMatch(new RegExp(`^${own}/[0-9a-f]{24}-photo\\.png$`));
    for (const folder of ["users", "../x", "a/b/c/d"]) {
      expect((await upload(user, png(), "photo.png", folder)).status, folder).toBe(400);
    }
  });

  it("delete caller matrix: the uploader or the secret key; never another project", async () => {
    const mine = (await json(await upload(auth(a.pk, await token(a, USER)), png()))).data.path;
    const server = (await json(await upload(auth(a.sk), png()))).data.path;
    expect((await del({}, mine)).status).toBe(401);
    expect((await json(await del(auth(a.pk), mine))).code).toBe("AUTH_REQUIRED");
    expect((await del(auth(a.pk, await token(a, OTHER)), mine)).status).toBe(403);
    expect((await del(auth(a.pk, await token(a, USER)), server)).status).toBe(403);
    expect((await del(auth(b.sk), mine)).status).toBe(403);
    expect((await del(auth(a.pk, await token(a, USER)), mine)).status).toBe(200);
    expect((await json(await del(auth(a.sk), mine))).code).toBe("FILE_NOT_FOUND");
    const res = await del(auth(a.sk), server);
    expect(await json(res)).toMatchObject({ success: true, data: { path: server, deleted: true } });
    expect((await fetchFile(server, auth(a.sk))).status).toBe(404);
  });

  it("direct upload caller matrix: upload-url and upload-request as /upload; upload-confirm by the uploader or the sk", async () => {
    const cases: Array<[string, Record<string, string>, number, string?]> = [
      ["no key", {}, 401, "API_KEY_MISSING"],
      ["bad key", auth(`pk_live_${"x".repeat(43)}`), 401, "API_KEY_INVALID"],
      ["pk without a user", auth(a.pk), 401, "AUTH_REQUIRED"],
      ["pk + another project's user token", auth(a.pk, await token(b, USER)), 401, "TOKEN_INVALID"],
      ["pk + user", await asUser(USER), 200],
      ["sk", auth(a.sk), 200],
    ];
    for (const route of ["upload-url", "upload-request"] as const) {
      for (const [name, headers, status, code] of cases) {
        const before = await fileRecords(deps).count({ projectId: a.id });
        const res = await post(route, headers, { filename: "n.txt", contentType: "text/plain", size: 5 });
        expect(res.status, `${route} ${name}`).toBe(status);
        if (code) expect((await json(res)).code, `${route} ${name}`).toBe(code);
        const made = (await fileRecords(deps).count({ projectId: a.id })) - before;
        expect(made, `${route} ${name}: records made`).toBe(status === 200 ? 1 : 0);
      }
    }
    // The uploader's pending file: no one else confirms it, whatever size they name, and nothing changes.
    const mine = await presignText("upload-request", await asUser(USER), 5);
    const record = await fileRecords(deps).findOne({ _id: mine.path });
    const confirm = (headers: Record<string, string>, size: number) =>
      post("upload-confirm", headers, { filePath: mine.path, size });
    const refused: Array<[string, Record<string, string>, number, string]> = [
      ["no key", {}, 401, "API_KEY_MISSING"],
      ["pk without a user", auth(a.pk), 401, "AUTH_REQUIRED"],
      ["pk + another user", await asUser(OTHER), 404, "FILE_NOT_FOUND"],
      ["other project's sk", auth(b.sk), 403, "FORBIDDEN"],
    ];
    for (const [name, headers, status, code] of refused) {
      for (const size of [5, 6]) {
        const res = await confirm(headers, size);
        expect([res.status, (await json(res)).code], `${name}, size ${size}`).toEqual([status, code]);
      }
    }
    expect(await fileRecords(deps).findOne({ _id: mine.path })).toEqual(record);
    expect((await putTo(mine.url, "hello")).status).toBe(200);
    expect((await confirm(await asUser(USER), 5)).status).toBe(200);
    expect((await confirm(auth(a.sk), 5)).status).toBe(200);
  });

  it("reads: private files through a short-lived signed URL, public ones by anyone", async () => {
    const path = (await json(await upload(auth(a.sk), png()))).data.path;
    const keyless = await fetchFile(path);
    expect([keyless.status, (await json(keyless)).message]).toEqual([
      401,
      "This project's files are read with its key: add &key=<publishable key> to the file URL (or the operator sets settings.storage.public)",
    ]);
    expect((await fetchFile(path, auth(b.sk))).status).toBe(403);
    const res = await fetchFile(path, auth(a.pk));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-length")).toBe(String(PNG.length));
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-disposition")).toMatch(/^inline/);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'.*; sandbox$/);
    expect(res.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);

    const first = await app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, { headers: auth(a.sk) });
    const signed = new URL(first.headers.get("location")!);
    clock.advance(10 * 60_000 + 1000); // a download URL works for at most 10 minutes
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(403); // expired
    signed.searchParams.set("path", `${a.id}/uploads/other.png`);
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(403); // tampered

    await deps.projects.update(a.id, { settings: { storage: { public: true } } });
    expect((await fetchFile(path)).status).toBe(200);
  });

  it("HEAD of a served file answers its GET's headers, without a body", async () => {
    const path = (await json(await upload(auth(a.sk), png()))).data.path;
    const signed = new URL((await fileRoute(path, auth(a.sk))).headers.get("location")!);
    const url = `${signed.pathname}${signed.search}`;
    const bodies = vi.spyOn(blobs, "get");
    const head = await app.request(url, { method: "HEAD" });
    expect(bodies).not.toHaveBeenCalled(); // no body is opened only to be dropped
    const get = await app.request(url);
    const served = (res: Response) => {
      const { "x-request-id": _, ...headers } = Object.fromEntries(res.headers);
      return { status: res.status, headers };
    };
    expect(served(head)).toEqual(served(get));
    expect(head.headers.get("content-length")).toBe(String(PNG.length));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(PNG);
    expect((await app.request(url.replace("sig=", "sig=0"), { method: "HEAD" })).status).toBe(403);
    vi.restoreAllMocks();
  });

  it("Range: one range is a 206 with its bytes; past the end, 416; several ranges, other units, a stale If-Range: the whole file", async () => {
    const bytes = "0123456789abcdefghij"; // 20 bytes, each telling its offset
    const path = (await json(await upload(auth(a.sk), new Blob([bytes], { type: "text/plain" }), "a.txt"))).data.path;
    const signed = new URL((await fileRoute(path, auth(a.sk))).headers.get("location")!);
    const read = async (headers: Record<string, string>, method = "GET") => {
      const res = await app.request(`${signed.pathname}${signed.search}`, { method, headers });
      const served = { status: res.status, range: res.headers.get("content-range") };
      if (res.status === 416) return { ...served, code: (await json(res)).code };
      return { ...served, length: res.headers.get("content-length"), body: await res.text() };
    };
    const part = (from: number, to: number) => ({
      status: 206,
      range: `bytes ${from}-${to}/20`,
      length: String(to - from + 1),
      body: bytes.slice(from, to + 1),
    });
    const whole = { status: 200, range: null, length: "20", body: bytes };
    const etag = (await app.request(`${signed.pathname}${signed.search}`)).headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const unsatisfiable = { status: 416, range: "bytes */20", code: "RANGE_NOT_SATISFIABLE" };
    const cases: Array<[string, Record<string, string>, unknown]> = [
      ["first two", { range: "bytes=0-1" }, part(0, 1)],
      ["from an offset", { range: "bytes=15-" }, part(15, 19)],
      ["the last three", { range: "bytes=-3" }, part(17, 19)],
      ["past the end, cut to it", { range: "bytes=18-99999999999999999999" }, part(18, 19)],
      ["a suffix longer than the file", { range: "BYTES=-50" }, part(0, 19)],
      ["starting at the end", { range: "bytes=20-" }, unsatisfiable],
      ["an empty suffix", { range: "bytes=-0" }, unsatisfiable],
      ["several ranges", { range: "bytes=0-1,4-5" }, whole],
      ["another unit", { range: "items=0-1" }, whole],
      ["last before first", { range: "bytes=5-2" }, whole],
      ["no number", { range: "bytes=-" }, whole],
      ["If-Range naming another version", { range: "bytes=0-1", "if-range": '"x"' }, whole],
      [
        "If-Range naming a date (no Last-Modified is sent)",
        { range: "bytes=0-1", "if-range": new Date(0).toUTCString() },
        whole,
      ],
      ["If-Range naming its ETag", { range: "bytes=0-1", "if-range": etag }, part(0, 1)],
      ["none", {}, whole],
    ];
    for (const [name, headers, expected] of cases) expect(await read(headers), name).toEqual(expected);
    expect(await read({ range: "bytes=2-5" }, "HEAD")).toEqual({ ...part(2, 5), body: "" });
    const full = await app.request(`${signed.pathname}${signed.search}`);
    expect(full.headers.get("accept-ranges")).toBe("bytes");
  });

  it("caching: a public file may be kept by any cache for 5 minutes, a private one by the browser as long as the redirect to it; both revalidate by ETag", async () => {
    const path = (await json(await upload(auth(a.sk), png()))).data.path;
    const other = (await json(await upload(auth(a.sk), png()))).data.path;
    clock.advance(Math.ceil(clock.now() / 300_000) * 300_000 + 10_000 - clock.now()); // 10 s into a window
    const redirect = await fileRoute(path, auth(a.sk));
    expect(redirect.headers.get("cache-control")).toBe("private, max-age=530");
    const signed = new URL(redirect.headers.get("location")!);
    const privately = (headers: Record<string, string> = {}) =>
      app.request(`${signed.pathname}${signed.search}`, { headers });
    // The bytes are kept as long as the redirect to them: a minute before the URL stops working.
    const first = await privately();
    const etag = first.headers.get("etag")!;
    expect([first.status, first.headers.get("cache-control"), etag]).toEqual([200, "private, max-age=530", etag]);
    clock.advance(60_000);
    const again = await privately({ "if-none-match": `W/"other", ${etag}` });
    expect([again.status, again.headers.get("etag"), again.headers.get("cache-control"), await again.text()]).toEqual([
      304,
      etag,
      "private, max-age=470",
      "",
    ]);
    expect((await privately({ "if-none-match": '"other"' })).status).toBe(200);
    clock.advance(520_000); // 10 s before the URL stops working: not kept at all
    expect((await privately()).headers.get("cache-control")).toBe("private, max-age=0");

    await deps.projects.update(a.id, { settings: { storage: { public: true } } });
    clock.advance(60_000); // past the key-less project cache
    const open = await fetchFile(path);
    expect([open.status, open.headers.get("cache-control"), open.headers.get("etag")]).toEqual([
      200,
      "public, max-age=300",
      etag,
    ]);
    const revalidated = await fetchFile(path, { "if-none-match": etag });
    expect([revalidated.status, revalidated.headers.get("cache-control")]).toEqual([304, "public, max-age=300"]);
    // Each file has its own tag: another file is never taken for this one.
    const second = await fetchFile(other, { "if-none-match": etag });
    expect(second.status).toBe(200);
    expect(second.headers.get("etag")).not.toBe(etag);
  });

  it("a private file's redirect is the same URL all its 5-minute window, which browsers may keep; reads are not rate-limited", async () => {
    const limited = await project("limited", { rateLimits: { pk: "2/15m" } });
    const path = (await json(await upload(auth(limited.sk), png()))).data.path;
    clock.advance(Math.ceil(clock.now() / 300_000) * 300_000 + 10_000 - clock.now()); // 10 s into a window
    const redirects = [];
    for (let i = 0; i < 5; i++) {
      redirects.push(await fileRoute(path, { "x-api-key": limited.pk, origin: "http://localhost:3000" }));
      clock.advance(60_000);
    }
    expect(redirects.map((res) => res.status)).toEqual([302, 302, 302, 302, 302]);
    const locations = redirects.map((res) => res.headers.get("location"));
    expect(new Set(locations).size).toBe(1);
    // Valid to the end of the next window (590 s from the first), kept until a minute before.
    expect(redirects.map((res) => res.headers.get("cache-control"))).toEqual(
      [530, 470, 410, 350, 290].map((seconds) => `private, max-age=${seconds}`),
    );
    const signed = new URL(locations[0]!);
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(200);
    // The next window signs another URL; the first still works to the end of its own.
    const next = await fileRoute(path, { "x-api-key": limited.pk, origin: "http://localhost:3000" });
    expect(next.headers.get("location")).not.toBe(locations[0]);
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(200);
    clock.advance(291_000); // past the end of the next window
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(403);
    // The project's pk rule still counts its other calls.
    const uploads = [];
    for (let i = 0; i < 3; i++)
      uploads.push((await upload({ "x-api-key": limited.pk, origin: "http://localhost:3000" }, png())).status);
    expect(uploads.at(-1)).toBe(429);
  });

  it("a read that finds no ready file counts under the pk rule, before it settles: misses and pending files", async () => {
    const limited = await project("limited", { rateLimits: { pk: "2/15m" } });
    const pk = { "x-api-key": limited.pk, origin: "http://localhost:3000" };
    const ready = (await json(await upload(auth(limited.sk), png()))).data.path;
    // Bytes that are no PNG: stored, the file pending until a look refuses them (415, removing it).
    const issued = await post("upload-url", auth(limited.sk), {
      filename: "x.png",
      contentType: "image/png",
      size: PNG.length,
    });
    const { uploadUrl, path: pending } = (await json(issued)).data;
    expect((await putTo(uploadUrl, "x".repeat(PNG.length), "image/png")).status).toBe(200);
    const missing = `${limited.id}/uploads/${"0".repeat(24)}-x.png`;
    const reads = [];
    for (let i = 0; i < 3; i++) reads.push((await fileRoute(missing, pk)).status);
    expect(reads).toEqual([404, 404, 429]);
    // Refused before it is settled: the file is still there, pending.
    expect((await fileRoute(pending, pk)).status).toBe(429);
    expect((await fileRecords(deps).findOne({ _id: pending }))?.status).toBe("pending");
    // A ready file reads on.
    for (let i = 0; i < 3; i++) expect((await fileRoute(ready, pk)).status).toBe(302);

    // Key-less reads of a public project: the same rule, per client IP.
    const open = await project("open", { rateLimits: { pk: "2/15m" }, storage: { public: true } });
    const shown = (await json(await upload(auth(open.sk), png()))).data.path;
    const gone = `${open.id}/uploads/${"0".repeat(24)}-x.png`;
    const anyone = [];
    for (let i = 0; i < 3; i++) anyone.push((await fileRoute(gone)).status);
    expect(anyone).toEqual([404, 404, 429]);
    for (let i = 0; i < 3; i++) expect((await fileRoute(shown)).status).toBe(200);
  });

  it("a key-less read finds its project as keys do: cached for the key TTL, an unknown id for a few seconds", async () => {
    await deps.projects.update(a.id, { settings: { storage: { public: true } } });
    const path = (await json(await upload(auth(a.sk), png()))).data.path;
    expect((await fetchFile(path)).status).toBe(200);
    // Changed behind this instance's back (as another instance would): seen once the cache entry ends.
    const projects = deps.store.platform().collection("projects");
    const stored = await projects.findOne({ _id: a.id });
    await projects.deleteOne({ _id: a.id });
    expect((await fetchFile(path)).status).toBe(200);
    clock.advance((deps.config.keyCacheTtlSeconds + 1) * 1000);
    expect((await fetchFile(path)).status).toBe(401); // no such project: a key is asked for
    await projects.insertOne(stored!);
    expect((await fetchFile(path)).status).toBe(401); // unknown, remembered a few seconds
    clock.advance(6_000);
    expect((await fetchFile(path)).status).toBe(200);
  });

  it("deleting a project through the admin API deletes its files, pending ones too, and nothing of another", async () => {
    const admin = createAdminApp(deps, { blobs });
    const mine = (await json(await upload(auth(a.pk, await token(a, USER)), png()))).data.path;
    const server = (await json(await upload(auth(a.sk), png(), "x.png", "docs"))).data.path;
    const pending = await presignText("upload-url", auth(a.sk), 5);
    expect((await putTo(pending.url, "hello")).status).toBe(200);
    const unused = await presignText("upload-request", auth(a.sk), 7);
    const theirs = (await json(await upload(auth(b.sk), png()))).data.path;

    const res = await admin.request(`/api/admin/projects/${a.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    for (const path of [mine, server, pending.path, unused.path]) {
      expect(await blobs.head(path), path).toBeNull();
      expect(await fileRecords(deps).findOne({ _id: path }), path).toBeNull();
    }
    expect(await deps.store.platform().collection("storage_usage").findOne({ _id: a.id })).toBeNull();
    expect(await blobs.head(theirs)).not.toBeNull();
    expect((await fetchFile(theirs, auth(b.sk))).status).toBe(200);
    await expectReserved(b, PNG.length);
  });

  it("an upload under way while its project is deleted leaves nothing behind (record, bytes, counter)", async () => {
    const admin = createAdminApp(deps, { blobs });
    const deleteProject = () =>
      admin.request(`/api/admin/projects/${a.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    // Each upload waits inside the blob store (after its bytes are reserved) until the deletion is done.
    for (const step of ["put", "presignPut"] as const) {
      a = await project("a");
      const { promise: atStep, resolve: reached } = deferred<string>();
      const { promise: released, resolve: release } = deferred();
      const held: BlobStore = {
        ...blobs,
        [step]: async (path: string, ...rest: [never, never, never]) => {
          reached(path);
          await released;
          return (blobs[step] as (...args: unknown[]) => Promise<unknown>)(path, ...rest);
        },
      };
      const storage = createStorageApp(deps, { blobs: held });
      const form = new FormData();
      form.append("file", png(), "photo.png");
      const uploading =
        step === "put"
          ? storage.request("/api/storage/upload", { method: "POST", headers: auth(a.sk), body: form })
          : storage.request("/api/storage/upload-url", {
              method: "POST",
              headers: { ...auth(a.sk), "content-type": "application/json" },
              body: JSON.stringify({ filename: "n.txt", contentType: "text/plain", size: 5 }),
            });
      const path = await atStep;
      expect((await deleteProject()).status, step).toBe(200);
      release();
      const res = await uploading;
      expect([res.status, (await json(res)).code], step).toEqual([401, "API_KEY_INVALID"]);
      expect(await blobs.head(path), step).toBeNull();
      expect(await fileRecords(deps).count({ projectId: a.id }), step).toBe(0);
      expect(await deps.store.platform().collection("storage_usage").findOne({ _id: a.id }), step).toBeNull();
    }
  });

  it("a project deletion that failed half-way leaves the project retired, and a retry finishes it", async () => {
    const path = (await json(await upload(auth(a.sk), png()))).data.path;
    let failures = 1;
    const flaky: BlobStore = {
      ...blobs,
      delete: async (p) => {
        if (failures-- > 0) throw new Error("bucket unreachable");
        return blobs.delete(p);
      },
    };
    const admin = createAdminApp(deps, { blobs: flaky });
    const call = (method: string) =>
      admin.request(`/api/admin/projects/${a.id}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await call("DELETE")).status).toBe(500);
    // Still listed, marked, so the unfinished deletion can be found; nothing else answers for it.
    const shown = await json(await call("GET"));
    expect(shown.data.retiredAt).toEqual(expect.any(String));
    const listed = await json(
      await admin.request("/api/admin/projects", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    );
    expect(listed.data.find((p: { id: string }) => p.id === a.id)?.retiredAt).toBe(shown.data.retiredAt);
    expect((await call("PATCH")).status).toBe(404);
    expect((await upload(auth(a.sk), png())).status).toBe(401);
    expect((await fetchFile(path, auth(a.sk))).status).toBe(401);
    const rotate = await admin.request(`/api/admin/projects/${a.id}/keys/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ which: "both" }),
    });
    expect(rotate.status).toBe(404);
    expect((await call("DELETE")).status).toBe(200);
    expect(await blobs.head(path)).toBeNull();
    expect(await fileRecords(deps).count({ projectId: a.id })).toBe(0);
    expect((await call("DELETE")).status).toBe(404);
  });

  it("a project deletion whose database drop failed is finished by repeating it", async () => {
    const admin = createAdminApp(deps, { blobs });
    const resolved = (await deps.projects.resolveProject(a.id))!;
    await deps.collections.database(resolved).collection("notes").insertOne({ text: "x" });
    const tenant = deps.store.tenant.bind(deps.store);
    let failures = 1;
    vi.spyOn(deps.store, "tenant").mockImplementation((location) => {
      const db = tenant(location);
      return {
        ...db,
        collection: db.collection.bind(db),
        listCollections: db.listCollections.bind(db),
        drop: async () => {
          if (failures-- > 0) throw new Error("network blip");
          return db.drop();
        },
      };
    });
    const call = () =>
      admin.request(`/api/admin/projects/${a.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    expect((await call()).status).toBe(500);
    expect((await call()).status).toBe(200);
    expect(await tenant({ projectId: a.id }).listCollections()).toEqual([]);
    vi.restoreAllMocks();
  });

  it("an upload whose liveness check failed keeps its bytes counted with its file", async () => {
    vi.spyOn(deps.projects, "isLive").mockRejectedValueOnce(new Error("store blip"));
    expect((await upload(auth(a.sk), png())).status).toBe(500);
    await expectReserved(a, (await fileRecords(deps).find({ projectId: a.id })).length * PNG.length);
    vi.restoreAllMocks();
  });

  it("non-media files download as attachments", async () => {
    const csv = new Blob(["a,b\n1,2\n"], { type: "text/csv" });
    const path = (await json(await upload(auth(a.sk), csv, "data.csv"))).data.path;
    const res = await fetchFile(path, auth(a.sk));
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="[0-9a-f]{24}-data\.csv"$/);
  });

  it("an untyped phone photo or video (HEIC, MOV) takes its name's type once the project allows it", async () => {
    const untyped = (name: string) => upload(auth(a.sk), new Blob([new Uint8Array(16)]), name);
    expect((await untyped("IMG_0001.HEIC")).status).toBe(415); // not among the defaults
    await deps.projects.update(a.id, {
      settings: { storage: { allowedContentTypes: ["image/heic", "image/heif", "video/quicktime"] } },
    });
    for (const [name, type] of [
      ["IMG_0001.HEIC", "image/heic"],
      ["IMG_0002.heif", "image/heif"],
      ["clip.MOV", "video/quicktime"],
    ] as const) {
      const res = await untyped(name);
      expect([res.status, (await json(res)).data.contentType], name).toEqual([201, type]);
    }
  });

  it("untyped bytes named for a type the project does not take: 415 naming that type; taken as bytes where the project takes any", async () => {
    const untyped = (name: string) => upload(auth(a.sk), new Blob(["<svg/>"]), name);
    for (const name of ["logo.svg", "notes.md", "bundle.zip"]) {
      const res = await untyped(name);
      expect([res.status, (await json(res)).message], name).toEqual([415, expect.stringContaining("by this project")]);
    }
    await deps.projects.update(a.id, { settings: { storage: { allowedContentTypes: ["application/octet-stream"] } } });
    const res = await untyped("bundle.zip");
    expect([res.status, (await json(res)).data.contentType]).toEqual([201, "application/octet-stream"]);
  });

  it("an SVG the project allows is a sandboxed download, never a page that runs on the API's origin", async () => {
    await deps.projects.update(a.id, { settings: { storage: { allowedContentTypes: ["image/svg+xml"] } } });
    const svg = new Blob(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], {
      type: "image/svg+xml",
    });
    const uploaded = await upload(auth(a.sk), svg, "x.svg");
    expect(uploaded.status).toBe(201);
    const res = await fetchFile((await json(uploaded)).data.path, auth(a.pk));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment/);
    expect(res.headers.get("content-security-policy")).toMatch(/sandbox/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("limits: size (413), type allowlist (415: html, svg, scripts), magic bytes (415)", async () => {
    await deps.projects.update(a.id, { settings: { storage: { maxFileSize: 1024 } } });
    const big = await upload(auth(a.sk), new Blob([new Uint8Array(2048)], { type: "text/plain" }), "big.txt");
    expect(big.status).toBe(413);
    expect((await json(big)).code).toBe("FILE_TOO_LARGE");
    for (const [type, name] of [
      ["text/html", "x.html"],
      ["image/svg+xml", "x.svg"],
      ["application/javascript", "x.js"],
      ["", "x.bin"],
    ]) {
      const res = await upload(auth(a.sk), new Blob(["<script>1</script>"], { type }), name);
      expect(res.status, type).toBe(415);
      expect((await json(res)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
    const fake = await upload(auth(a.sk), new Blob(["<html>not a png</html>"], { type: "image/png" }));
    expect(fake.status).toBe(415);
    // An MP3 without an ID3 tag starts with any valid frame header (MPEG-1 III with CRC, MPEG-2.5 III, II…).
    const frame = (second: number) => new Blob([new Uint8Array([0xff, second, 0x90, 0x64])], { type: "audio/mpeg" });
    for (const second of [0xfb, 0xfa, 0xf3, 0xe3, 0xfd]) {
      expect((await upload(auth(a.sk), frame(second), "song.mp3")).status, second.toString(16)).toBe(201);
    }
    for (const second of [0xeb, 0xf9, 0x7b]) {
      expect((await upload(auth(a.sk), frame(second), "song.mp3")).status, second.toString(16)).toBe(415);
    }
    await deps.projects.update(a.id, { settings: { storage: { allowedContentTypes: ["text/html"] } } });
    expect((await upload(auth(a.sk), new Blob(["<p>ok</p>"], { type: "text/html" }), "page.html")).status).toBe(201);
  });

  it("refuses an oversized streamed body as it arrives, without reading it all", async () => {
    await deps.projects.update(a.id, { settings: { storage: { maxFileSize: 1024 } } });
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++pulled > 1000) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const res = await app.request("/api/storage/upload", {
      method: "POST",
      headers: { ...auth(a.sk), "content-type": "multipart/form-data; boundary=x" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(10);
  });

  it(`a multipart body of more than ${MAX_MULTIPART_PARTS} parts is refused before it is parsed`, async () => {
    const form = new FormData();
    form.append("file", png(), "photo.png");
    for (let i = 0; i < 5000; i++) form.append("file", new Blob(["x"], { type: "text/plain" }), "a.txt");
    const parse = vi.spyOn(Response.prototype, "formData");
    const many = await app.request("/api/storage/upload", { method: "POST", headers: auth(a.sk), body: form });
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
    const body = await json(many);
    expect([many.status, body.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(body.message).toContain(`at most ${MAX_MULTIPART_PARTS} parts`);
    // A look-alike parameter (`xboundary`) cannot hide the boundary the parser uses, nor can a second one.
    const raw = new Uint8Array(await new Response(form).arrayBuffer());
    const boundary = /^--(\S+)/.exec(new TextDecoder().decode(raw.subarray(0, 200)))?.[1];
    // The parser is handed the boundary counted here, so no spelling of it reads differently there.
    for (const type of [
      `multipart/form-data; xboundary=AAA; boundary=${boundary}`,
      `multipart/form-data; boundary=AAA; boundary=${boundary}`,
      `multipart/form-data; boundary="${boundary?.slice(0, 3)}\\${boundary?.slice(3)}"`,
      `multipart/form-data; boundary= ${boundary}`,
      `multipart/form-data; boundary=zzz,${boundary}`,
      `multipart/form-data; boundary="${boundary}"`,
    ]) {
      const parseAgain = vi.spyOn(Response.prototype, "formData");
      const res = await app.request("/api/storage/upload", {
        method: "POST",
        headers: { ...auth(a.sk), "content-type": type },
        body: raw,
      });
      expect(parseAgain, type).not.toHaveBeenCalled();
      parseAgain.mockRestore();
      expect([res.status, (await json(res)).code], type).toEqual([400, "VALIDATION_FAILED"]);
    }
    // The file, the folder and a few fields a client adds are fine.
    const few = new FormData();
    few.append("file", png(), "photo.png");
    few.append("folder", "docs");
    for (const name of ["a", "b", "c"]) few.append(name, "1");
    expect((await app.request("/api/storage/upload", { method: "POST", headers: auth(a.sk), body: few })).status).toBe(
      201,
    );
  });

  it("paths: no traversal, no absolute paths, no control characters, no segment starting with a dot (.staging), no other project; names keep their extension", async () => {
    for (const path of [
      `${a.id}/../${b.id}/x.png`,
      "/etc/passwd",
      `${a.id}/uploads/x\u0000.png`,
      `${a.id}//x.png`,
      "",
      `${a.id}/x`,
      // `.staging/<path>` is where direct uploads land unchecked (S3): no client path may name it.
      `${a.id}/.staging/${a.id}/uploads/abc-a.txt`,
      `${a.id}/.hidden/x.png`,
    ]) {
      const res = await del(auth(a.sk), path);
      expect([res.status, (await json(res)).code], JSON.stringify(path)).toEqual([400, "VALIDATION_FAILED"]);
      const confirm = await post("upload-confirm", auth(a.sk), { filePath: path, size: 2 });
      expect(confirm.status, JSON.stringify(path)).toBe(400);
    }
    expect((await del(auth(a.sk), `${b.id}/uploads/x.png`)).status).toBe(403);
    // A path kept without its project's id (the SDK's README deletes 'uploads/document.pdf') is told so.
    const unprefixed = await json(await del(auth(a.sk), "users/u1/photo.png"));
    expect([unprefixed.code, unprefixed.details]).toEqual([
      "VALIDATION_FAILED",
      [{ path: "path", message: `must start with the project's id, as the path an upload answered: ${a.id}/…` }],
    ]);
    const named = await upload(auth(a.sk), png(), "../../etc/pass wd.png", "docs/2026");
    expect((await json(named)).data.path).toMatch(new RegExp(`^${a.id}/docs/2026/[0-9a-f]{24}-pass-wd\\.png$`));
    for (const [name, stored] of [
      ["日本語.png", "file.png"],
      ["Résumé ünïcode.png", "Resume-unicode.png"],
      ["фото.PNG", "file.PNG"],
    ] as const) {
      const path = (await json(await upload(auth(a.sk), png(), name))).data.path as string;
      expect(path, name).toMatch(new RegExp(`^${a.id}/uploads/[0-9a-f]{24}-${stored.replace(".", "\\.")}$`));
      const served = await fetchFile(path, auth(a.sk));
      expect(served.headers.get("content-disposition")).toBe(`inline; filename="${path.split("/").pop()}"`);
    }
    expect((await upload(auth(a.sk), png(), "x.png", "../up")).status).toBe(400);
    expect((await upload(auth(a.sk), png(), "x.png", "users")).status).toBe(400);
  });

  it("quota: reserved before the write, refused past it (one file larger than the whole quota too), given back on delete", async () => {
    await deps.projects.update(a.id, { settings: { storage: { quotaBytes: PNG.length - 1 } } });
    const tooBig = await upload(auth(a.sk), png());
    expect([tooBig.status, (await json(tooBig)).code]).toEqual([403, "QUOTA_EXCEEDED"]);
    const tooBigDirect = await post("upload-url", auth(a.sk), {
      filename: "a.png",
      contentType: "image/png",
      size: PNG.length,
    });
    expect([tooBigDirect.status, (await json(tooBigDirect)).code]).toEqual([403, "QUOTA_EXCEEDED"]);
    // Two files fit exactly.
    await deps.projects.update(a.id, { settings: { storage: { quotaBytes: PNG.length * 2 } } });
    const first = (await json(await upload(auth(a.sk), png()))).data.path;
    expect((await upload(auth(a.sk), png())).status).toBe(201);
    const over = await upload(auth(a.sk), png());
    expect(over.status).toBe(403);
    expect((await json(over)).code).toBe("QUOTA_EXCEEDED");
    await del(auth(a.sk), first);
    expect((await upload(auth(a.sk), png())).status).toBe(201);
    const parallel = await Promise.all(Array.from({ length: 10 }, () => upload(auth(a.sk), png())));
    expect(parallel.every((r) => r.status === 403)).toBe(true);
  });

  it("direct uploads: the URL binds path, type, size and magic bytes, works once, and expires", async () => {
    const req = (body: unknown, headers = auth(a.sk)) =>
      app.request("/api/storage/upload-url", {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const put = (url: string, type: string, bytes: Uint8Array<ArrayBuffer>) => {
      const u = new URL(url);
      return app.request(`${u.pathname}${u.search}`, { method: "PUT", headers: { "content-type": type }, body: bytes });
    };
    const issued = (await json(await req({ filename: "p.png", contentType: "image/png", size: PNG.length }))).data;
    expect(issued).toMatchObject({ method: "PUT", expiresIn: 900, headers: { "content-type": "image/png" } });
    expect((await put(issued.uploadUrl, "text/plain", PNG)).status).toBe(415);
    // Bytes that are not a PNG are stored, pending, for a confirm or read to refuse (below); the URL
    // still takes the right ones meanwhile.
    expect((await put(issued.uploadUrl, "image/png", new Uint8Array(PNG.length).fill(0x41))).status).toBe(200);
    expect((await put(issued.uploadUrl, "image/png", PNG.slice(0, 10))).status).toBe(400);
    expect((await put(issued.uploadUrl, "image/png", new Uint8Array([...PNG, 1]))).status).toBe(413);
    expect((await put(issued.uploadUrl, "image/png", PNG)).status).toBe(200);
    expect((await put(issued.uploadUrl, "image/png", PNG)).status).toBe(403); // used
    expect((await fetchFile(issued.path, auth(a.sk))).status).toBe(200);

    const late = (await json(await req({ filename: "q.png", contentType: "image/png", size: PNG.length }))).data;
    clock.advance(16 * 60_000);
    expect((await put(late.uploadUrl, "image/png", PNG)).status).toBe(403);
    expect((await req({ filename: "x.svg", contentType: "image/svg+xml", size: 10 })).status).toBe(415);
    expect((await req({ filename: "x.png", contentType: "image/png", size: 20 * 1024 * 1024 })).status).toBe(413);
  });

  it("urBackend's upload-request → PUT → upload-confirm flow, with size checked at confirm", async () => {
    const post = (path: string, body: unknown) =>
      app.request(`/api/storage/${path}`, {
        method: "POST",
        headers: { ...auth(a.sk), "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const { signedUrl, filePath } = (
      await json(await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length }))
    ).data;
    expect(signedUrl).toMatch(/^http:\/\/localhost\/api\/storage\/blob\?/);
    const u = new URL(signedUrl);
    await app.request(`${u.pathname}${u.search}`, {
      method: "PUT",
      headers: { "content-type": "image/png" },
      body: PNG,
    });
    const confirmed = await json(await post("upload-confirm", { filePath, size: PNG.length }));
    expect(confirmed.data).toMatchObject({ path: filePath, size: PNG.length, contentType: "image/png" });
    expect(confirmed.data.url).toContain(encodeURIComponent(filePath));
    const never = (await json(await post("upload-request", { filename: "n.png", contentType: "image/png", size: 5 })))
      .data;
    expect((await post("upload-confirm", { filePath: never.filePath, size: 5 })).status).toBe(400);
    expect((await post("upload-confirm", { filePath: `${b.id}/uploads/x.png`, size: 5 })).status).toBe(403);
  });

  it("bytes that are not the file's type are taken by the PUT and refused by the confirm, which says why", async () => {
    await deps.projects.update(a.id, { settings: { storage: { quotaBytes: 1000 } } });
    const request = async () =>
      (
        await json(
          await post("upload-request", auth(a.sk), { filename: "p.jpg", contentType: "image/jpeg", size: PNG.length }),
        )
      ).data;
    // urBackend's SDK reads a failed PUT's status line only: the reason comes with the confirm.
    const confirmed = await request();
    expect((await putTo(confirmed.signedUrl, PNG, "image/jpeg")).status).toBe(200);
    const refused = await post("upload-confirm", auth(a.sk), { filePath: confirmed.filePath, size: PNG.length });
    expect([refused.status, (await json(refused)).message]).toEqual([415, "The file's content is not image/jpeg"]);
    expect(await blobs.head(confirmed.filePath)).toBeNull();
    await expectReserved(a, 0); // given back at once
    // Never confirmed: the first read refuses it so; nothing looking, its URL's expiry.
    const read = await request();
    expect((await putTo(read.signedUrl, PNG, "image/jpeg")).status).toBe(200);
    expect((await fileRoute(read.filePath, auth(a.sk))).status).toBe(415);
    const unseen = await request();
    expect((await putTo(unseen.signedUrl, PNG, "image/jpeg")).status).toBe(200);
    await expectReserved(a, PNG.length);
    clock.advance(PAST_EXPIRY);
    expect((await upload(auth(a.sk), text(11), "a.txt")).status).toBe(201); // its quota check sweeps
    expect(await blobs.head(unseen.filePath)).toBeNull();
    await expectReserved(a, 11);
  });

  describe("reservations of direct uploads", () => {
    beforeEach(async () => {
      await deps.projects.update(a.id, { settings: { storage: { quotaBytes: 1000, maxFileSize: 500 } } });
    });

    it("an upload never made holds its bytes until its URL expires, then the quota is usable again", async () => {
      const direct = await presignText("upload-url", await asUser(USER), 500);
      const sdk = await presignText("upload-request", await asUser(USER), 500);
      await expectReserved(a, 1000);
      for (const headers of [await asUser(OTHER), auth(a.sk)]) {
        const res = await upload(headers, text(11), "a.txt");
        expect(res.status).toBe(403);
        expect((await json(res)).code).toBe("QUOTA_EXCEEDED");
      }
      clock.advance(PAST_EXPIRY - 2000); // still valid: nothing is released
      expect((await json(await upload(auth(a.sk), text(11), "a.txt"))).code).toBe("QUOTA_EXCEEDED");
      await expectReserved(a, 1000);

      clock.advance(2000); // both URLs have expired
      expect((await upload(await asUser(OTHER), text(11), "a.txt")).status).toBe(201);
      expect((await upload(auth(a.sk), text(11), "b.txt")).status).toBe(201);
      await expectReserved(a, 22);
      expect((await putTo(direct.url, "x".repeat(500))).status).toBe(403);
      expect((await fetchFile(sdk.path, auth(a.sk))).status).toBe(404);
      expect((await del(auth(a.sk), direct.path)).status).toBe(404);
      expect((await post("upload-confirm", await asUser(USER), { filePath: sdk.path, size: 500 })).status).toBe(404);
      await expectReserved(a, 22);
    });

    it("expired reservations are released once, however many requests find them at the same time", async () => {
      const pending = [];
      for (const route of ["upload-url", "upload-request", "upload-url", "upload-request"] as const) {
        pending.push(await presignText(route, auth(a.sk), 200));
      }
      await expectReserved(a, 800);
      clock.advance(PAST_EXPIRY);
      // Slow lookups in the blob store, so that every request is looking at the expired files at once.
      const slowHead = async (path: string) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return blobs.head(path);
      };
      app = createStorageApp(deps, { blobs: { ...blobs, head: slowHead } });
      const [uploads, reads] = await Promise.all([
        Promise.all(Array.from({ length: 8 }, (_, i) => upload(auth(a.sk), text(11), `c${i}.txt`))),
        Promise.all(pending.map((file) => fetchFile(file.path, auth(a.sk)))),
      ]);
      expect(uploads.map((res) => res.status)).toEqual(Array(8).fill(201));
      expect(reads.map((res) => res.status)).toEqual(Array(4).fill(404));
      await expectReserved(a, 88);
    });

    it("an upload completed while its URL is valid keeps its bytes, confirmed late or never", async () => {
      const direct = await presignText("upload-url", await asUser(USER), 500);
      const sdk = await presignText("upload-request", await asUser(USER), 500);
      clock.advance(PAST_EXPIRY - 60_000);
      expect((await putTo(direct.url, "d".repeat(500))).status).toBe(200);
      expect((await putTo(sdk.url, "s".repeat(500))).status).toBe(200);
      clock.advance(10 * 60_000);
      expect((await json(await upload(auth(a.sk), text(11), "a.txt"))).code).toBe("QUOTA_EXCEEDED");
      const confirmed = await post("upload-confirm", await asUser(USER), { filePath: sdk.path, size: 500 });
      expect((await json(confirmed)).data).toMatchObject({ path: sdk.path, size: 500, contentType: "text/plain" });
      expect(await (await fetchFile(direct.path, auth(a.sk))).text()).toBe("d".repeat(500));
      expect(await (await fetchFile(sdk.path, auth(a.sk))).text()).toBe("s".repeat(500));
      await expectReserved(a, 1000);
    });

    it("DELETE of a pending upload releases it: by its owner or the secret key, nobody else", async () => {
      const mine = await presignText("upload-url", await asUser(USER), 500);
      const sdk = await presignText("upload-request", await asUser(USER), 500);
      const refused: Array<[string, Record<string, string>, number, string]> = [
        ["no key", {}, 401, "API_KEY_MISSING"],
        ["pk without a user", auth(a.pk), 401, "AUTH_REQUIRED"],
        ["pk + another user", await asUser(OTHER), 403, "FORBIDDEN"],
        ["pk + another project's token", auth(a.pk, await token(b, USER)), 401, "TOKEN_INVALID"],
        ["other project's sk", auth(b.sk), 403, "FORBIDDEN"],
        ["other project's pk + its user", auth(b.pk, await token(b, USER)), 403, "FORBIDDEN"],
      ];
      for (const [name, headers, status, code] of refused) {
        const res = await del(headers, mine.path);
        expect(res.status, name).toBe(status);
        expect((await json(res)).code, name).toBe(code);
      }
      await expectReserved(a, 1000);

      const byOwner = await del(await asUser(USER), mine.path);
      expect(byOwner.status).toBe(200);
      expect(await json(byOwner)).toMatchObject({ success: true, data: { path: mine.path, deleted: true } });
      await expectReserved(a, 500);
      expect((await upload(await asUser(OTHER), text(500), "o.txt")).status).toBe(201);
      const bySk = await del(auth(a.sk), sdk.path);
      expect(await json(bySk)).toMatchObject({ success: true, data: { path: sdk.path, deleted: true } });
      await expectReserved(a, 500);

      expect((await putTo(mine.url, "x".repeat(500))).status).toBe(403);
      expect(await blobs.head(mine.path)).toBeNull();
      expect((await json(await del(auth(a.sk), mine.path))).code).toBe("FILE_NOT_FOUND");
      expect((await post("upload-confirm", auth(a.sk), { filePath: sdk.path, size: 500 })).status).toBe(404);
      expect((await fetchFile(sdk.path, auth(a.sk))).status).toBe(404);
      await expectReserved(a, 500);
    });

    it("DELETE of a direct upload whose URL expired without its bytes, nothing having looked at it since: 404", async () => {
      const mine = await presignText("upload-url", await asUser(USER), 500);
      clock.advance(PAST_EXPIRY);
      for (const headers of [await asUser(OTHER), await asUser(USER), auth(a.sk)]) {
        const res = await del(headers, mine.path);
        expect([res.status, (await json(res)).code]).toEqual([404, "FILE_NOT_FOUND"]);
      }
      await expectReserved(a, 0);
    });

    it("two PUTs in flight to one upload URL: the first claims it, the other is refused and writes nothing", async () => {
      const issued = await presignText("upload-request", auth(a.sk), 5);
      let second: Response | undefined;
      const first = await putWhile(issued.url, "first", async () => {
        second = await putTo(issued.url, "other");
        const confirm = await post("upload-confirm", auth(a.sk), { filePath: issued.path, size: 5 });
        expect((await json(confirm)).details).toEqual([{ path: "filePath", message: "the file was not uploaded" }]);
      });
      expect(first.status).toBe(200);
      expect([second?.status, (await json(second as Response)).message]).toEqual([
        403,
        "This upload URL was used already",
      ]);
      expect((await post("upload-confirm", auth(a.sk), { filePath: issued.path, size: 5 })).status).toBe(200);
      expect(await (await fetchFile(issued.path, auth(a.sk))).text()).toBe("first");
      expect((await putTo(issued.url, "later")).status).toBe(403);
      await expectReserved(a, 5);
    });

    it("a PUT overtaken once its lease lapsed writes nothing over the file the other PUT made ready", async () => {
      const issued = await presignText("upload-url", auth(a.sk), 5);
      let tag: string | null = null;
      const late = await putWhile(issued.url, "late!", async () => {
        clock.advance(61_000); // its lease lapses while its body comes; the URL still works
        expect((await putTo(issued.url, "first")).status).toBe(200);
        tag = (await fetchFile(issued.path, auth(a.sk))).headers.get("etag");
      });
      expect([late.status, (await json(late)).message]).toEqual([403, "This upload URL was used already"]);
      const served = await fetchFile(issued.path, auth(a.sk));
      expect([await served.text(), served.headers.get("etag")]).toEqual(["first", tag]);
      await expectReserved(a, 5);
    });

    it("a look leaves a file to the PUT that holds it: bytes a PUT before it stored, stalled past its lease, are never served", async () => {
      const issued = await presignText("upload-url", auth(a.sk), 5);
      const [firstStored, firstAnswers, otherWrites, otherGoes] = [deferred(), deferred(), deferred(), deferred()];
      const storage = createStorageApp(deps, {
        blobs: {
          ...blobs,
          put: async (at, bytes, type) => {
            const sent = new TextDecoder().decode(bytes);
            if (sent === "other") otherWrites.resolve();
            if (sent === "other") await otherGoes.promise;
            await blobs.put(at, bytes, type);
            if (sent === "first") firstStored.resolve();
            if (sent === "first") await firstAnswers.promise; // stored, but the store is slow to say so
          },
        },
      });
      const u = new URL(issued.url);
      const put = (body: string) =>
        storage.request(`${u.pathname}${u.search}`, { method: "PUT", headers: { "content-type": "text/plain" }, body });
      const first = put("first");
      await firstStored.promise;
      clock.advance(61_000); // its lease lapses; the URL still works
      const other = put("other"); // takes the file over
      await otherWrites.promise;
      // The first PUT's bytes are there, but the file is the other PUT's to settle: still pending.
      expect((await fileRoute(issued.path, auth(a.sk))).status).toBe(404);
      expect((await post("upload-confirm", auth(a.sk), { filePath: issued.path, size: 5 })).status).toBe(400);
      otherGoes.resolve();
      expect((await other).status).toBe(200);
      const served = await fetchFile(issued.path, auth(a.sk));
      const tag = served.headers.get("etag");
      expect(await served.text()).toBe("other");
      firstAnswers.resolve();
      expect((await first).status).toBe(200); // its URL's file is stored (with the bytes of the PUT that held it)
      const again = await fetchFile(issued.path, auth(a.sk));
      expect([await again.text(), again.headers.get("etag")]).toEqual(["other", tag]);
      await expectReserved(a, 5);
    });

    it("a PUT begun before its URL expired keeps its file while its lease lasts: reads and quota checks wait", async () => {
      const issued = await presignText("upload-url", auth(a.sk), 5);
      clock.advance(PAST_EXPIRY - 30_000); // 30 s before the URL expires
      const looks = vi.spyOn(blobs, "head");
      let swept: unknown[] = [];
      const put = await putWhile(issued.url, "bytes", async () => {
        clock.advance(45_000); // the URL expires while the body comes; the PUT's lease (a minute) lasts
        expect((await fileRoute(issued.path, auth(a.sk))).status).toBe(404); // still pending, not released
        looks.mockClear();
        expect((await upload(auth(a.sk), text(11), "a.txt")).status).toBe(201);
        swept = looks.mock.calls.map(([key]) => key);
      });
      looks.mockRestore();
      // A quota check's sweep passed over it, as over a record under a settle lock: its turns go to others.
      expect(swept).not.toContain(issued.path);
      expect(put.status).toBe(200);
      expect(await (await fetchFile(issued.path, auth(a.sk))).text()).toBe("bytes");
      await expectReserved(a, 16);
    });

    it("a look that read the record before a PUT begun before expiry claimed it leaves the file to that PUT", async () => {
      const issued = await presignText("upload-url", auth(a.sk), 5);
      clock.advance(PAST_EXPIRY - 30_000); // 30 s before the URL expires
      // The PUT's URL is checked; the confirm reads the record (no claim yet); the URL expires; the PUT
      // claims the file; only then does the confirm, which found no bytes, try to release it.
      const [claiming, lookRead, claimed, looked] = [deferred(), deferred(), deferred(), deferred()];
      aroundPlatform(deps, async ({ collection, method, args }, run) => {
        if (collection !== "files") return run();
        const [filter, update] = args as [Record<string, unknown>, { $set?: Record<string, unknown> }];
        if (method === "updateOne" && update?.$set?.uploading && "$or" in filter) {
          claiming.resolve();
          await lookRead.promise;
          clock.advance(45_000); // the URL expires; the PUT's lease (a minute) is live
          const out = await run();
          claimed.resolve();
          return out;
        }
        if (method === "updateOne" && update?.$set?.uploading) await looked.promise; // the PUT's renewal, before it writes
        if (method === "deleteOne" && filter.status === "pending") await claimed.promise;
        const out = await run();
        if (method === "findOne") lookRead.resolve();
        if (method === "deleteOne") looked.resolve();
        return out;
      });
      const put = putTo(issued.url, "bytes");
      await claiming.promise;
      const confirm = await post("upload-confirm", auth(a.sk), { filePath: issued.path, size: 5 });
      // Found as while its URL was valid: pending, not uploaded yet (400), not released (404).
      expect([confirm.status, (await json(confirm)).details]).toEqual([
        400,
        [expect.objectContaining({ message: "the file was not uploaded" })],
      ]);
      expect((await put).status).toBe(200);
      expect(await (await fetchFile(issued.path, auth(a.sk))).text()).toBe("bytes");
      await expectReserved(a, 5);
    });

    it("bytes still streaming in when their pending file is deleted or released are not kept", async () => {
      const deleted = await presignText("upload-url", auth(a.sk), 300);
      const refused = await putWhile(deleted.url, "d".repeat(300), () => del(auth(a.sk), deleted.path));
      expect(refused.status).toBe(403);
      expect((await json(refused)).message).toBe("This upload URL has expired or its file was deleted");
      expect(await blobs.head(deleted.path)).toBeNull();
      await expectReserved(a, 0);

      const late = await presignText("upload-request", auth(a.sk), 300);
      const expired = await putWhile(late.url, "l".repeat(300), async () => {
        clock.advance(PAST_EXPIRY); // the URL expires mid-upload and a quota check releases it
        expect((await upload(auth(a.sk), text(11), "a.txt")).status).toBe(201);
      });
      expect(expired.status).toBe(403);
      expect(await blobs.head(late.path)).toBeNull();
      await expectReserved(a, 11);
    });
  });

  describe("a request cut short (its process dies, or the blob store fails) leaves a file whole or nothing", () => {
    /** The storage function over the blob store with `overrides`: each one "crashes" by throwing, after or before its work. */
    const cutShort = (overrides: Partial<BlobStore>) => createStorageApp(deps, { blobs: { ...blobs, ...overrides } });
    const crash = () => {
      throw new Error("the process died here");
    };

    it("a DELETE cut once the bytes are gone leaves no file without bytes; the next quota check ends it", async () => {
      const path = (await json(await upload(auth(a.sk), png()))).data.path;
      const storage = cutShort({ delete: async (at) => blobs.delete(at).then(crash) });
      const cut = await storage.request("/api/storage/file", {
        method: "DELETE",
        headers: { ...auth(a.sk), "content-type": "application/json" },
        body: JSON.stringify({ path }),
      });
      expect(cut.status).toBe(500);
      expect(await blobs.head(path)).toBeNull();
      // No file is left whose read redirects to bytes that are gone: it is deleted already.
      expect((await fileRoute(path, auth(a.sk))).status).toBe(404);
      expect((await del(auth(a.sk), path)).status).toBe(404);
      expect(await fileRecords(deps).count({ status: "ready" })).toBe(0);
      // Its reservation is held by the tombstone until the next quota check removes it.
      expect((await upload(auth(a.sk), text(11), "a.txt")).status).toBe(201);
      expect(await fileRecords(deps).count({ projectId: a.id })).toBe(1);
      await expectReserved(a, 11);
    });

    it("an upload cut before or after its bytes are written leaves, once due, nothing or a whole file", async () => {
      for (const written of [false, true]) {
        a = await project(`cut ${written}`);
        const { promise: reached, resolve: reach } = deferred<string>();
        const storage = cutShort({
          put: async (at, bytes, type) => {
            if (written) await blobs.put(at, bytes, type);
            reach(at);
            await new Promise(() => {}); // the process died here: nothing after this runs
          },
        });
        const form = new FormData();
        form.append("file", png(), "photo.png");
        void storage.request("/api/storage/upload", { method: "POST", headers: auth(a.sk), body: form });
        const path = await reached;
        clock.advance(PAST_EXPIRY);
        expect((await upload(auth(a.sk), text(11), "a.txt")).status).toBe(201); // its quota check settles it
        const file = await fileRecords(deps).findOne({ _id: path });
        expect([file?.status ?? null, (await fetchFile(path, auth(a.sk))).status], `written: ${written}`).toEqual(
          written ? ["ready", 200] : [null, 404],
        );
        await expectReserved(a, written ? PNG.length + 11 : 11);
      }
    });

    it("a direct upload's PUT cut after its claim holds the URL only for its lease; a retry then stores the file", async () => {
      const issued = await presignText("upload-url", auth(a.sk), 5);
      // Its body stops once the route reads it, never to end: the process died while the bytes came in.
      const { promise: reading, resolve: read } = deferred();
      const stalled = new ReadableStream<Uint8Array>({
        pull: () => {
          read();
          return new Promise(() => {});
        },
      });
      void putTo(issued.url, stalled);
      await reading;
      const early = await putTo(issued.url, "again");
      expect([early.status, (await json(early)).message]).toEqual([403, "This upload URL was used already"]);
      clock.advance(61_000); // a minute, and the time its 5 bytes take at 128 KiB/s
      expect((await putTo(issued.url, "again")).status).toBe(200);
      expect(await (await fetchFile(issued.path, auth(a.sk))).text()).toBe("again");
      await expectReserved(a, 5);
    });
  });
});

describe("the fs blob store", () => {
  let parent: string;
  let root: string;
  beforeEach(async () => {
    parent = await realpath(await mkdtemp(join(tmpdir(), "edgeback-root-")));
    root = join(parent, "files");
    await setup(fsBlobStore(root));
  });
  afterEach(async () => {
    await deps.store.close();
    await rm(parent, { recursive: true, force: true });
  });
  /** How many of this process's file descriptors are open on the stored file at `path` (Linux). */
  const descriptorsOn = (path: string) => {
    const file = join(root, ...path.split("/"));
    const fds = readdirSync(FDS);
    return fds.filter((fd) => {
      try {
        return readlinkSync(join(FDS, fd)) === file;
      } catch {
        return false; // closed since it was listed
      }
    }).length;
  };
  const itCountingDescriptors = it.skipIf(!existsSync(FDS));
  /** Large enough that a read stream stops after its first chunk (64 KiB) and keeps its descriptor. */
  const LARGE = 256 * 1024;

  it("keeps files inside its root, under the project and folder", async () => {
    const { path } = (await json(await upload(auth(a.sk), png(), "../../escape.png", "docs"))).data;
    expect(path).toMatch(new RegExp(`^${a.id}/docs/[0-9a-f]{24}-escape\\.png$`));
    expect(await readdir(join(root, a.id, "docs"))).toHaveLength(2); // the file and its .type
    expect(await readdir(parent)).toEqual(["files"]); // nothing beside the root
  });

  it("an upload into a folder named as a stored file is a 409 in the envelope, not a 500", async () => {
    const stored = (await json(await upload(auth(a.sk), text(2), "notes"))).data.path as string;
    const name = stored.split("/").pop(); // <random>-notes: a valid folder segment
    for (const folder of [`uploads/${name}`, `uploads/${name}/deeper`]) {
      const res = await upload(auth(a.sk), text(2), "x.txt", folder);
      expect([res.status, await json(res)], folder).toEqual([
        409,
        expect.objectContaining({
          code: "DUPLICATE_VALUE",
          details: [{ path: "folder", message: "names a stored file" }],
        }),
      ]);
      const direct = await post("upload-url", auth(a.sk), {
        filename: "x.txt",
        contentType: "text/plain",
        size: 2,
        folder,
      });
      const put = await putTo((await json(direct)).data.uploadUrl, "hi");
      expect([put.status, (await json(put)).code], folder).toEqual([409, "DUPLICATE_VALUE"]);
    }
    await expectReserved(a, 2 + 2 * 2); // the stored file, and both direct uploads until their URLs expire
    expect(await (await fetchFile(stored, auth(a.sk))).text()).toBe("xx");
  });

  it("a file is never seen half-written: reads while a direct upload's PUT writes it do not lose the upload", async () => {
    // A read finds the whole file or none; the file is ready once the PUT settles it (pending until then: 404).
    const size = 16 * 1024 * 1024; // written in many chunks (writeFile: 512 KiB each), each a turn of the event loop
    await deps.projects.update(a.id, { settings: { storage: { maxFileSize: size } } });
    const issued = await presignText("upload-url", auth(a.sk), size);
    const file = join(root, ...issued.path.split("/"));
    let written = false;
    const put = Promise.resolve(putTo(issued.url, new Uint8Array(size).fill(120))).finally(() => {
      written = true;
    });
    const seen: Array<{ bytes: number; read: number }> = [];
    while (!written) {
      const bytes = (await stat(file).catch(() => null))?.size;
      if (bytes !== undefined) seen.push({ bytes, read: (await fetchFile(issued.path, auth(a.sk))).status });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await put).status).toBe(200);
    for (const look of seen) expect([look.bytes, [200, 404].includes(look.read)]).toEqual([size, true]);
    expect(await fileRecords(deps).findOne({ _id: issued.path })).toMatchObject({ status: "ready", size });
    expect((await readdir(dirname(file))).sort()).toEqual([basename(file), `${basename(file)}.type`]);
  });

  itCountingDescriptors("HEADs of served files open no descriptor, public or through a signed URL", async () => {
    await deps.projects.update(a.id, { settings: { storage: { public: true } } });
    const open = (await json(await upload(auth(a.sk), text(LARGE), "big.txt"))).data.path;
    const closed = (await json(await upload(auth(b.sk), text(LARGE), "big.txt"))).data.path;
    const signed = new URL((await fileRoute(closed, auth(b.sk))).headers.get("location")!);
    for (const url of [`/api/storage/file?path=${encodeURIComponent(open)}`, `${signed.pathname}${signed.search}`]) {
      for (let i = 0; i < 20; i++) expect((await app.request(url, { method: "HEAD" })).status).toBe(200);
    }
    expect([descriptorsOn(open), descriptorsOn(closed)]).toEqual([0, 0]);
  });

  itCountingDescriptors(
    "a served file's body holds its descriptor until it is read to the end or cancelled",
    async () => {
      await deps.projects.update(a.id, { settings: { storage: { public: true } } });
      const path = (await json(await upload(auth(a.sk), text(LARGE), "big.txt"))).data.path;
      const cancelled = [];
      for (let i = 0; i < 20; i++) cancelled.push(await fetchFile(path));
      expect(descriptorsOn(path)).toBe(20); // opened by get(), so that a DELETE meanwhile cannot cut the body
      // The local server cancels the body of a response whose client went away.
      for (const res of cancelled) await res.body?.cancel();
      await vi.waitFor(() => expect(descriptorsOn(path)).toBe(0)); // fs.close runs on the thread pool
      const read = await fetchFile(path);
      expect((await read.arrayBuffer()).byteLength).toBe(LARGE);
      await vi.waitFor(() => expect(descriptorsOn(path)).toBe(0));
      expect(cancelled.map((res) => res.status)).toEqual(cancelled.map(() => 200));
    },
  );

  /** Holds the first get() of `path`, once it has returned (found the file), until `release()`. */
  function holdGet(path: string) {
    const got = deferred();
    const released = deferred();
    const get = blobs.get.bind(blobs);
    let held = false;
    vi.spyOn(blobs, "get").mockImplementation(async (at, range) => {
      const out = await get(at, range);
      if (at === path && !held) {
        held = true;
        got.resolve();
        await released.promise;
      }
      return out;
    });
    return { got: got.promise, release: () => released.resolve() };
  }

  // A DELETE that removes the file between a look's or a read's get() and its reading of the body
  // (soak9): the bytes were opened by get(), so it answers as in the order "read, then delete".
  it("a PUT whose settle found its bytes, then a DELETE of the file: 403 expired or deleted (not a 500)", async () => {
    const issued = await presignText("upload-url", auth(a.sk), 8);
    const hold = holdGet(issued.path);
    const put = putTo(issued.url, "12345678");
    await hold.got; // the PUT wrote the bytes and its signature check has them
    expect((await del(auth(a.sk), issued.path)).status).toBe(200);
    hold.release();
    const res = await put;
    expect([res.status, (await json(res)).message]).toEqual([
      403,
      expect.stringMatching(/expired or its file was deleted/),
    ]);
    expect(await fileRecords(deps).findOne({ _id: issued.path })).toBeNull();
  });

  it("a read that found a pending upload's refused bytes, overtaken by a DELETE of it: 404 as after the DELETE (not a 500, nor a 415 for a file the DELETE took)", async () => {
    const res0 = await post("upload-url", auth(a.sk), { filename: "p.png", contentType: "image/png", size: 8 });
    const { path, uploadUrl } = (await json(res0)).data;
    expect((await putTo(uploadUrl, "not-png!", "image/png")).status).toBe(200); // pending: a look refuses it
    const hold = holdGet(path);
    const read = fileRoute(path, auth(a.sk));
    await hold.got;
    expect((await del(auth(a.sk), path)).status).toBe(200);
    hold.release();
    const res = await read;
    expect([res.status, (await json(res)).code]).toEqual([404, "FILE_NOT_FOUND"]);
  });

  it("a signed read of a stored file, then a DELETE of it: 200 with the whole file (not a body failing with ENOENT)", async () => {
    const path = (await json(await upload(auth(a.sk), text(LARGE), "big.txt"))).data.path;
    const location = new URL((await fileRoute(path, auth(a.sk))).headers.get("location")!);
    const hold = holdGet(path);
    const read = app.request(`${location.pathname}${location.search}`);
    await hold.got;
    expect((await del(auth(a.sk), path)).status).toBe(200);
    hold.release();
    const res = await read;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("x".repeat(LARGE));
    expect((await fetchFile(path, auth(a.sk))).status).toBe(404);
  });
});

describe("file paths", () => {
  beforeEach(() => setup(memoryBlobStore()));
  afterEach(async () => {
    vi.restoreAllMocks();
    await deps.store.close();
  });
  const randomPart = (path: string) => (path.split("/").pop() ?? "").slice(0, 24);

  it("the random part of a path is 96 bits drawn from crypto.getRandomValues", async () => {
    const draws: string[] = [];
    const real = crypto.getRandomValues.bind(crypto);
    vi.spyOn(crypto, "getRandomValues").mockImplementation(((array: Uint8Array) => {
      const filled = real(array);
      if (filled instanceof Uint8Array && filled.length === 12) draws.push(Buffer.from(filled).toString("hex"));
      return filled;
    }) as typeof crypto.getRandomValues);
    const uploaded = (await json(await upload(auth(a.sk), png()))).data.path as string;
    const presigned = await presignText("upload-url", await asUser(USER), 10);
    expect(draws).toContain(randomPart(uploaded));
    expect(draws).toContain(randomPart(presigned.path));
  });

  it("1000 paths: all distinct, with no shared clock, process or counter part", async () => {
    const keys: string[] = [];
    for (let i = 0; i < 1000; i++) keys.push(randomPart((await presignText("upload-url", auth(a.sk), 1)).path));
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{24}$/);
    expect(new Set(keys).size).toBe(1000);
    // An ObjectId-like id repeats its first 18 hex digits (seconds, per-process value) and counts in the last 6.
    for (let i = 1; i < keys.length; i++) expect(keys[i]?.slice(0, 8)).not.toBe(keys[i - 1]?.slice(0, 8));
    // Every hex digit appears at every position (for uniform random bits, missing one has odds below 1e-25).
    for (let at = 0; at < 24; at++) expect(new Set(keys.map((key) => key[at])).size, `digit ${at}`).toBe(16);
  });
});
