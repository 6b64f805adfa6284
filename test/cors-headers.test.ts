/**
 * CORS lists against what the API reads and answers: a page may send the `x-request-id` the API
 * echoes (API.md §2) and a `Range` that is not CORS-safelisted (`bytes=-n`), and may read a served
 * file's `Content-Range`, `Content-Disposition` and `Accept-Ranges`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Deps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";
import { testDeps } from "./helpers.js";

let deps: Deps;
let app: ReturnType<typeof createLocalApp>;
let keys: { publishable: string; secret: string };
let projectId: string;
beforeEach(async () => {
  deps = await testDeps();
  app = createLocalApp(deps);
  const created = await deps.projects.create({ name: "web", allowedOrigins: ["https://app.example.com"] });
  keys = created.keys;
  projectId = created.project.id;
});
afterEach(() => deps.store.close());

const send = (method: string, path: string, headers: Record<string, string>, body?: BodyInit) =>
  app.fetch(new Request(`http://localhost${path}`, { method, headers, body }));

describe("CORS and the request id", () => {
  it("a page may send the x-request-id the API echoes", async () => {
    const direct = await send("GET", "/api/health", { "x-request-id": "trace-123" });
    expect(direct.headers.get("x-request-id")).toBe("trace-123");
    const preflight = await send("OPTIONS", "/api/data/items", {
      origin: "https://app.example.com",
      "access-control-request-method": "GET",
      "access-control-request-headers": "x-api-key,x-request-id",
    });
    expect(preflight.status).toBe(204);
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").split(",");
    expect(allowed).toContain("x-request-id");
  });
});

describe("CORS and ranges", () => {
  it("a page may ask for the last bytes of a file (Range: bytes=-n is not CORS-safelisted)", async () => {
    const preflight = await send("OPTIONS", "/api/storage/blob", {
      origin: "https://app.example.com",
      "access-control-request-method": "GET",
      "access-control-request-headers": "range",
    });
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").split(",");
    expect(allowed).toContain("range");
  });
});

describe("CORS and served files", () => {
  it("a page can read Content-Range, Content-Disposition and Accept-Ranges of a file it fetched", async () => {
    const form = new FormData();
    form.set("file", new File(["hello world"], "notes.txt", { type: "text/plain" }));
    const up = await send("POST", "/api/storage/upload", { "x-api-key": keys.secret }, form);
    expect(up.status).toBe(201);
    const { path } = (await up.json()).data;
    expect(path.startsWith(`${projectId}/`)).toBe(true);
    const redirect = await send("GET", `/api/storage/file?path=${encodeURIComponent(path)}`, {
      "x-api-key": keys.publishable,
      origin: "https://app.example.com",
    });
    expect(redirect.status).toBe(302);
    const blobUrl = new URL(redirect.headers.get("location")!);
    const file = await send("GET", `${blobUrl.pathname}${blobUrl.search}`, {
      origin: "https://app.example.com",
      range: "bytes=0-4",
    });
    expect(file.status).toBe(206);
    expect(file.headers.get("content-range")).toBe("bytes 0-4/11");
    expect(file.headers.get("content-disposition")).toMatch(/^attachment; filename=/);
    expect(file.headers.get("accept-ranges")).toBe("bytes");
    const exposed = (file.headers.get("access-control-expose-headers") ?? "").split(",");
    expect(exposed).toEqual(expect.arrayContaining(["content-range", "content-disposition", "accept-ranges"]));
  });
});
