/**
 * Settling a direct upload on S3 reads the file's signature with a ranged GET, across however many
 * chunks the body arrives in: against a stand-in bucket that sends 4 bytes, then the rest.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorageApp } from "../functions/storage/app.js";
import type { Deps } from "../shared/deps.js";
import { stagingKey } from "../shared/storage/paths.js";
import { SIGNATURE_BYTES } from "../shared/storage/policy.js";
import { testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { testBucket } from "./s3-server.js";

/** What the stand-in bucket was asked: method (COPY for a PUT copying an object), and the Range header of GETs. */
const seen: string[] = [];
/** The keys the stand-in bucket was asked to delete. */
const deleted: string[] = [];
const bucket = createServer((req, res) => {
  req.resume();
  const copy = req.method === "PUT" && req.headers["x-amz-copy-source"];
  seen.push(`${copy ? "COPY" : req.method}${req.headers.range ? ` ${req.headers.range}` : ""}`);
  if (req.method === "DELETE") deleted.push(decodeURIComponent((req.url ?? "").replace(/^\/files\//, "")));
  if (copy) {
    res.writeHead(200, { "content-type": "application/xml" });
    res.end("<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>");
    return;
  }
  if (req.method === "GET") {
    const [, first, last] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "") ?? [];
    const body = first === undefined ? PNG : PNG.subarray(Number(first), Number(last) + 1);
    res.writeHead(first === undefined ? 200 : 206, {
      "content-length": String(body.length),
      "content-type": "image/png",
    });
    res.write(body.subarray(0, 4)); // a signature cut short in the first chunk
    setTimeout(() => res.end(body.subarray(4)), 20);
    return;
  }
  res.writeHead(200, { "content-length": String(PNG.length), "content-type": "image/png" });
  res.end();
});
let deps: Deps;
let app: ReturnType<typeof createStorageApp>;

beforeAll(async () => {
  await new Promise<void>((resolve) => bucket.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(bucket.address() as AddressInfo).port}`;
  deps = await testDeps();
  const blobs = testBucket(endpoint);
  app = createStorageApp(deps, { blobs });
});
afterAll(async () => {
  await deps.store.close();
  bucket.close();
});

describe("settling an S3 direct upload", () => {
  it("reads the first bytes with a ranged GET, across chunks: a valid PNG cut 4 + rest is confirmed", async () => {
    const { keys } = await deps.projects.create({ name: "chunks" });
    const post = (route: string, body: unknown) =>
      app.request(`/api/storage/${route}`, {
        method: "POST",
        headers: { "x-api-key": keys.secret, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const issued = await post("upload-request", { filename: "p.png", contentType: "image/png", size: PNG.length });
    const { filePath } = (await issued.json()).data;
    const confirmed = await post("upload-confirm", { filePath, size: PNG.length });
    expect(confirmed.status).toBe(200);
    expect(seen).toContain(`GET bytes=0-${SIGNATURE_BYTES - 1}`);
    expect(deleted).toEqual([stagingKey(filePath)]); // the file kept, only what was copied from gone
  });
});

describe("an S3 upload URL", () => {
  it.each([
    ["another script", "image/png; name=日本"],
    ["CR/LF", "image/png;\r\nx-amz-acl: public-read"],
  ])("for a declared type that is no header value (%s) is 400 and reserves nothing", async (_, contentType) => {
    const { project, keys } = await deps.projects.create({
      name: "types",
      settings: { storage: { quotaBytes: 1000 } },
    });
    const post = (type: string) =>
      app.request("/api/storage/upload-url", {
        method: "POST",
        headers: { "x-api-key": keys.secret, "content-type": "application/json" },
        body: JSON.stringify({ filename: "a.png", contentType: type, size: 900 }),
      });
    const refused = await post(contentType);
    expect([refused.status, (await refused.json()).code]).toEqual([400, "VALIDATION_FAILED"]);
    const usage = await deps.store.platform().collection("storage_usage").findOne({ _id: project.id });
    expect(usage?.bytes ?? 0).toBe(0);
    expect((await post("image/png")).status).toBe(200); // the quota is whole
  });
});
