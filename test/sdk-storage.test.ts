/**
 * urBackend's own JS SDK (`@urbackend/sdk`), unchanged, against the local app over real HTTP: its
 * `storage` module uploads through upload-request → PUT signedUrl → upload-confirm, then deletes;
 * with the memory blob store, and with a bucket (s3rver behind a signature-checking gateway).
 */
import urBackend from "@urbackend/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../shared/deps.js";
import { signAccessToken } from "../shared/tokens.js";
import { testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { S3RVER_KEYS, startSignedS3 } from "./s3-server.js";
import { serveLocalApp } from "./serve.js";

let deps: Deps;
let server: Awaited<ReturnType<typeof serveLocalApp>>;
let baseUrl: string;
let keys: { publishable: string; secret: string };
let jwtSecret: string;
let projectId: string;

beforeAll(async () => {
  deps = await testDeps();
  const created = await deps.projects.create({
    name: "sdk-storage",
    settings: { storage: { allowUserUploads: true } },
  });
  keys = created.keys;
  projectId = created.project.id;
  jwtSecret = (await deps.projects.resolveKey(keys.secret))!.project.jwtSecret;
  server = await serveLocalApp(deps);
  baseUrl = server.baseUrl;
});
afterAll(async () => {
  await server.close();
  await deps.store.close();
});

describe("@urbackend/sdk storage module", () => {
  it("uploads a Blob with the secret key, reads it back, and deletes it", async () => {
    const { storage } = urBackend({ apiKey: keys.secret, baseUrl });
    const uploaded = (await storage.upload(new Blob([PNG], { type: "image/png" }), "logo.png")) as unknown as {
      path: string;
      url: string;
      size: number;
      contentType: string;
    };
    expect(uploaded.path).toMatch(new RegExp(`^${projectId}/uploads/[0-9a-f]{24}-logo\\.png$`));
    expect(uploaded).toMatchObject({ size: PNG.length, contentType: "image/png", provider: "internal" });
    const read = await fetch(uploaded.url, { headers: { "x-api-key": keys.secret } });
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(PNG);

    expect(await storage.deleteFile(uploaded.path)).toMatchObject({ path: uploaded.path, deleted: true });
    expect((await fetch(uploaded.url, { headers: { "x-api-key": keys.secret }, redirect: "manual" })).status).toBe(404);
  });

  it("uploads an empty text file (as POST /upload takes one) and reads it back empty", async () => {
    const { storage } = urBackend({ apiKey: keys.secret, baseUrl });
    const uploaded = (await storage.upload(new Blob([], { type: "text/plain" }), "empty.txt")) as unknown as {
      path: string;
      url: string;
      size: number;
    };
    expect(uploaded.size).toBe(0);
    const read = await fetch(uploaded.url, { headers: { "x-api-key": keys.secret } });
    expect([read.status, await read.text()]).toEqual([200, ""]);
  });

  it("a signed-in end user uploads with the publishable key into their own folder", async () => {
    const userId = "c".repeat(24);
    const client = urBackend({ apiKey: keys.publishable, baseUrl });
    client.auth.setToken(
      (await signAccessToken({ id: projectId, jwtSecret }, userId, { now: Date.now(), ttlSeconds: 900 })).token,
    );
    const uploaded = (await client.storage.upload(new Blob([PNG], { type: "image/png" }), "me.png")) as {
      path: string;
    };
    expect(uploaded.path.startsWith(`${projectId}/users/${userId}/`)).toBe(true);
    await expect(client.storage.deleteFile(uploaded.path)).resolves.toMatchObject({ deleted: true });
  });

  it("uploads a Buffer (declared application/octet-stream by the SDK) as the type its name says", async () => {
    const { storage } = urBackend({ apiKey: keys.secret, baseUrl });
    const uploaded = (await storage.upload(Buffer.from(PNG), "image.png")) as unknown as {
      path: string;
      url: string;
      contentType: string;
    };
    expect(uploaded.contentType).toBe("image/png");
    const read = await fetch(uploaded.url, { headers: { "x-api-key": keys.secret } });
    expect(read.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(PNG);
    // A name the project's types do not cover, or bytes that are not what the name says: refused.
    await expect(storage.upload(Buffer.from(PNG), "image.exe")).rejects.toThrow(/application\/octet-stream/);
    // No name at all (the SDK README's `upload(file)`): the message says what to send.
    await expect(storage.upload(Buffer.from(PNG))).rejects.toThrow(
      'Files of type "application/octet-stream" are not accepted: send the file\'s type, or a file name with its extension (photo.png)',
    );
    // Bytes that are not what the name says: the SDK shows the confirm's reason (a PUT's, never).
    await expect(storage.upload(Buffer.from("<html>"), "page.png")).rejects.toThrow(
      "The file's content is not image/png",
    );
  });

  it("refusals reach the SDK as errors (a type the project does not accept)", async () => {
    const { storage } = urBackend({ apiKey: keys.secret, baseUrl });
    await expect(storage.upload(new Blob(["<svg/>"], { type: "image/svg+xml" }), "x.svg")).rejects.toThrow();
  });
});

describe("@urbackend/sdk storage module on S3", () => {
  let s3: Awaited<ReturnType<typeof startSignedS3>>;
  let s3Deps: Deps;
  let s3Server: Awaited<ReturnType<typeof serveLocalApp>>;
  beforeAll(async () => {
    s3 = await startSignedS3();
    s3Deps = await testDeps({
      env: {
        S3_BUCKET: "files",
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: "us-east-1",
        S3_FORCE_PATH_STYLE: "true",
        S3_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
        S3_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
      },
    });
    s3Server = await serveLocalApp(s3Deps);
  });
  afterAll(async () => {
    await s3Server.close();
    await s3Deps.store.close();
    await s3.close();
  });

  it("uploads a Blob whose type carries parameters (text/plain;charset=utf-8): signed as the SDK sends it", async () => {
    const { keys } = await s3Deps.projects.create({ name: "sdk-s3" });
    const { storage } = urBackend({ apiKey: keys.secret, baseUrl: s3Server.baseUrl });
    const uploaded = (await storage.upload(new Blob(["hello"], { type: "text/plain;charset=utf-8" }), "hello.txt")) as {
      path: string;
      url: string;
      contentType: string;
      provider: string;
    };
    expect(uploaded).toMatchObject({ contentType: "text/plain", provider: "external" });
    const read = await fetch(uploaded.url, { headers: { "x-api-key": keys.secret } });
    expect(await read.text()).toBe("hello");
    await expect(storage.deleteFile(uploaded.path)).resolves.toMatchObject({ deleted: true });

    const issued = await fetch(`${s3Server.baseUrl}/api/storage/upload-url`, {
      method: "POST",
      headers: { "x-api-key": keys.secret, "content-type": "application/json" },
      body: JSON.stringify({ filename: "a.json", contentType: " application/json; charset=utf-8 ", size: 2 }),
    });
    expect((await issued.json()).data.headers["content-type"]).toBe("application/json; charset=utf-8");
  });
});
