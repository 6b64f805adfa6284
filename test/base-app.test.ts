import type { Context } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createBaseApp } from "../shared/app.js";
import { jsonBody, ok, queryParams } from "../shared/http.js";
import { testDeps } from "./helpers.js";

const SECRET = "db password is hunter2";
const MiB = 1024 * 1024;

let deps: Awaited<ReturnType<typeof testDeps>>;
let app: ReturnType<typeof createBaseApp>;

beforeAll(async () => {
  deps = await testDeps();
  app = createBaseApp(deps);
  app.get("/test/boom", () => {
    throw new Error(SECRET);
  });
  app.post(
    "/test/items",
    jsonBody(z.object({ title: z.string().min(1), count: z.number().int(), meta: z.object({ lang: z.string() }) })),
    (c) => ok(c, c.get("body"), 201),
  );
  app.get("/test/query", (c) => ok(c, [...queryParams(c)]));
});

/** A JSON text of about `bytes` bytes. */
const bigJson = (bytes: number) => JSON.stringify({ title: "x".repeat(bytes), count: 1, meta: { lang: "en" } });

/** A request body streamed in 64 KiB chunks, so no content-length is sent. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + 65536));
      offset += 65536;
    },
  });
}

/** Asserts the error envelope and returns its body. */
async function expectError(res: Response, status: number, code: string) {
  const body = await res.json();
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  expect(body.success).toBe(false);
  expect(typeof body.message).toBe("string");
  expect(body.requestId).toBeTruthy();
  expect(body.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

describe("queryParams", () => {
  it.each(["", "?", "?a=1&a=2&b=x+y", "?c=%20%zz%2&d=%C3%A9&e&=f&g==h", "?s=é ü&t=<\"'>&u=/api/data?x=1"])(
    "reads %s as the URL parser would",
    async (search) => {
      const url = `http://localhost/test/query${search}`;
      const res = await app.request(url);
      expect((await res.json()).data).toEqual([...new URL(url).searchParams]);
    },
  );

  it("ignores a fragment", () => {
    const c = { req: { url: "http://localhost/p?a=1&b=2#c=3" } } as Context;
    expect([...queryParams(c)]).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });
});

describe("base app", () => {
  it("answers health with the success envelope", async () => {
    const res = await app.request("/api/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toMatchObject({ success: true, data: { status: "ok", store: "embedded" } });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("answers unknown routes with 404 NOT_FOUND", async () => {
    const body = await expectError(await app.request("/api/nope"), 404, "NOT_FOUND");
    expect(Object.keys(body).sort()).toEqual(["code", "message", "requestId", "success"]);
  });

  it("turns an unexpected error into a bare 500 and logs the cause", async () => {
    const res = await app.request("/test/boom");
    const text = await res.clone().text();
    const body = await expectError(res, 500, "INTERNAL_ERROR");
    expect(body.message).toBe("Internal server error");
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("hunter2");
    expect(text).not.toMatch(/Error|stack|at .*\.ts/);
    expect(deps.log.lines.some((line) => JSON.stringify(line.fields ?? {}).includes(body.requestId))).toBe(true);
  });

  it("accepts a valid JSON body", async () => {
    const item = { title: "hello", count: 2, meta: { lang: "en" } };
    const res = await app.request("/test/items", { method: "POST", body: JSON.stringify(item) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ success: true, data: item });
  });

  it.each(["{", '{"title": "x",}', "not json", "[1, 2"])(
    "rejects malformed JSON %j with 400 INVALID_JSON",
    async (text) => {
      await expectError(await app.request("/test/items", { method: "POST", body: text }), 400, "INVALID_JSON");
    },
  );

  it("lists every failing field with 400 VALIDATION_FAILED", async () => {
    const res = await app.request("/test/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: 42, count: "two", meta: { lang: false } }),
    });
    const body = await expectError(res, 400, "VALIDATION_FAILED");
    expect(body.details.map((d: { path: string }) => d.path).sort()).toEqual(["count", "meta.lang", "title"]);
    for (const detail of body.details) expect(detail.message).toEqual(expect.any(String));
  });

  it("rejects a body over 1 MiB with 413 PAYLOAD_TOO_LARGE (content-length)", async () => {
    const text = bigJson(MiB + 10);
    const res = await app.request("/test/items", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(text.length) },
      body: text,
    });
    await expectError(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("rejects a streamed body over 1 MiB with 413 PAYLOAD_TOO_LARGE (no content-length)", async () => {
    const request = new Request("http://localhost/test/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: streamOf(bigJson(MiB + 10)),
      duplex: "half",
    } as RequestInit);
    expect(request.headers.has("content-length")).toBe(false);
    await expectError(await app.request(request), 413, "PAYLOAD_TOO_LARGE");
  });

  it("accepts a streamed body under the limit", async () => {
    const request = new Request("http://localhost/test/items", {
      method: "POST",
      body: streamOf(bigJson(MiB - 1024)),
      duplex: "half",
    } as RequestInit);
    expect((await app.request(request)).status).toBe(201);
  });

  it("echoes a valid x-request-id", async () => {
    const id = "req_abc-123=";
    const res = await app.request("/api/nope", { headers: { "x-request-id": id } });
    expect(res.headers.get("x-request-id")).toBe(id);
    expect((await res.json()).requestId).toBe(id);
  });

  it.each([
    ["spaces", "has spaces in it"],
    ["300 characters", "a".repeat(300)],
    ["a header-injection attempt", "abc;\tx"],
  ])("regenerates an x-request-id with %s", async (_label, id) => {
    const res = await app.request("/api/health", { headers: { "x-request-id": id } });
    const echoed = res.headers.get("x-request-id");
    expect(echoed).toBeTruthy();
    expect(echoed).not.toBe(id);
    expect(echoed).toMatch(/^[\w=-]{1,255}$/);
  });

  it("generates a different request id per request", async () => {
    const [a, b] = await Promise.all([app.request("/api/health"), app.request("/api/health")]);
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });

  it("answers a CORS preflight with 204 and the allowed headers", async () => {
    const origin = "https://app.example.com";
    const res = await app.request("/api/data/posts", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-api-key",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/);
    for (const header of [
      "content-type",
      "authorization",
      "x-api-key",
      "x-refresh-token-mode",
      "if-match",
      "idempotency-key",
      "user-agent", // urBackend's SDK sets it; Firefox lets it and preflights it
    ]) {
      expect(allowed).toContain(header);
    }
    expect((res.headers.get("access-control-allow-methods") ?? "").split(",")).toEqual(
      expect.arrayContaining(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    );
    expect(res.headers.get("vary")?.toLowerCase()).toContain("origin");
  });

  it("exposes x-request-id, etag and retry-after on normal responses", async () => {
    const origin = "http://localhost:5173";
    const res = await app.request("/api/health", { headers: { origin } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/\s*,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(["x-request-id", "etag", "retry-after"]));
  });

  it("asks caches not to keep any answer (no-store), success and error alike", async () => {
    for (const path of ["/api/health", "/api/nowhere", "/test/boom"]) {
      const res = await app.request(path);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
  });

  it("sends no allow-origin header without an Origin", async () => {
    const res = await app.request("/api/health");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers 503 SERVICE_UNAVAILABLE on health when the store is down", async () => {
    const down = await testDeps();
    await down.store.close();
    const res = await createBaseApp(down).request("/api/health");
    const body = await expectError(res, 503, "SERVICE_UNAVAILABLE");
    expect(body.details).toEqual([{ path: "store", message: expect.any(String) }]);
  });
});
