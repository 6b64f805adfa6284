/** The storage function (API.md §7) through HTTP with the memory and fs blob stores. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStorageApp } from "../functions/storage/app";
import type { Deps } from "../shared/deps";
import { fsBlobStore } from "../shared/storage/fs";
import type { BlobStore } from "../shared/storage/types";
import { signAccessToken } from "../shared/tokens";
import { fakeClock, testDeps } from "./helpers";
import { PNG } from "./png";

let clock: ReturnType<typeof fakeClock>;
let deps: Deps;
let app: ReturnType<typeof createStorageApp>;
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

async function setup(blobs?: BlobStore) {
  clock = fakeClock(Date.now());
  deps = await testDeps({ clock });
  app = createStorageApp(deps, blobs ? { blobs } : {});
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
/** Follows the storage function's own redirect (signed blob URL) and returns the final response. */
async function fetchFile(path: string, headers: Record<string, string> = {}) {
  const first = await app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, { headers });
  if (first.status !== 302) return first;
  const location = new URL(first.headers.get("location")!);
  return app.request(`${location.pathname}${location.search}`);
}

describe.each([
  ["memory", false],
  ["fs", true],
])("storage with the %s blob store", (_name, onDisk) => {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = onDisk ? await mkdtemp(join(tmpdir(), "edgeback-files-")) : undefined;
    await setup(dir ? fsBlobStore(dir) : undefined);
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
    const blocked = await upload(auth(a.pk, await token(a, USER)), png());
    expect(blocked.status).toBe(403);
    expect((await json(blocked)).code).toBe("WRITE_BLOCKED");
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

  it("reads: private files through a short-lived signed URL, public ones by anyone", async () => {
    const path = (await json(await upload(auth(a.sk), png()))).data.path;
    expect((await fetchFile(path)).status).toBe(401);
    expect((await fetchFile(path, auth(b.sk))).status).toBe(403);
    const res = await fetchFile(path, auth(a.pk));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-length")).toBe(String(PNG.length));
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-disposition")).toMatch(/^inline/);

    const first = await app.request(`/api/storage/file?path=${encodeURIComponent(path)}`, { headers: auth(a.sk) });
    const signed = new URL(first.headers.get("location")!);
    clock.advance(10 * 60_000);
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(403); // expired
    signed.searchParams.set("path", `${a.id}/uploads/other.png`);
    expect((await app.request(`${signed.pathname}${signed.search}`)).status).toBe(403); // tampered

    await deps.projects.update(a.id, { settings: { storage: { public: true } } });
    expect((await fetchFile(path)).status).toBe(200);
  });

  it("non-media files download as attachments", async () => {
    const csv = new Blob(["a,b\n1,2\n"], { type: "text/csv" });
    const path = (await json(await upload(auth(a.sk), csv, "data.csv"))).data.path;
    const res = await fetchFile(path, auth(a.sk));
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="[0-9a-f]{24}-data\.csv"$/);
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

  it("paths: no traversal, no absolute paths, no control characters, no other project", async () => {
    for (const path of [
      `${a.id}/../${b.id}/x.png`,
      "/etc/passwd",
      `${a.id}/uploads/x\u0000.png`,
      `${a.id}//x.png`,
      "",
      `${a.id}/x`,
    ]) {
      const res = await del(auth(a.sk), path);
      expect(res.status, JSON.stringify(path)).toBe(400);
    }
    expect((await del(auth(a.sk), `${b.id}/uploads/x.png`)).status).toBe(403);
    const named = await upload(auth(a.sk), png(), "../../etc/pass wd.png", "docs/2026");
    expect((await json(named)).data.path).toMatch(new RegExp(`^${a.id}/docs/2026/[0-9a-f]{24}-pass-wd\\.png$`));
    expect((await upload(auth(a.sk), png(), "x.png", "../up")).status).toBe(400);
    expect((await upload(auth(a.sk), png(), "x.png", "users")).status).toBe(400);
  });

  it("quota: reserved before the write, refused past it, given back on delete", async () => {
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

  it("direct uploads: the URL binds path, type and size, works once, and expires", async () => {
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

  it("the fs store keeps files inside its root", async () => {
    if (!dir) return;
    await upload(auth(a.sk), png());
    expect(await readdir(join(dir, a.id, "uploads"))).toHaveLength(2); // the file and its .type
  });
});
