/**
 * The Node serverless entries: each Lambda handler invoked with API Gateway HTTP API (payload v2)
 * events, and the Vercel handlers with the URLs vercel.json's rewrites produce. One process is one
 * instance, so all entries share the instance's deps (here: an in-memory embedded store).
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as vercelAdmin from "../api/admin";
import * as vercelData from "../api/data";
import { handler as adminHandler } from "../platforms/lambda/admin";
import { handler as authHandler } from "../platforms/lambda/auth";
import { handler as dataHandler } from "../platforms/lambda/data";
import { handler as storageHandler } from "../platforms/lambda/storage";

const ADMIN_TOKEN = "lambda-admin-token-0123456789";

beforeAll(() => {
  vi.stubEnv("NODE_ENV", "development");
  vi.stubEnv("ADMIN_TOKEN", ADMIN_TOKEN);
  vi.stubEnv("MONGODB_URI", "");
  vi.stubEnv("DATA_DIR", "");
});

/** An API Gateway HTTP API v2 event. */
function event(
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: unknown,
  rawQueryString = "",
) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: { "content-type": "application/json", host: "api.example.com", ...headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.com",
      domainPrefix: "api",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "test" },
      requestId: "req",
      routeKey: "$default",
      stage: "$default",
      time: "22/Nov/2026:00:00:00 +0000",
      timeEpoch: 0,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

type Handler = (e: never, c: never) => Promise<{ statusCode: number; body: string }>;
async function invoke(handler: Handler, ...args: Parameters<typeof event>) {
  const res = await handler(event(...args) as never, {} as never);
  return { status: res.statusCode, json: JSON.parse(res.body) };
}

describe("AWS Lambda handlers (API Gateway v2 events)", () => {
  it.each([
    ["auth", authHandler],
    ["data", dataHandler],
    ["storage", storageHandler],
    ["admin", adminHandler],
  ])("%s answers health", async (_name, handler) => {
    const res = await invoke(handler as Handler, "GET", "/api/health");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, data: { status: "ok" } });
  });

  it("admin and data share the instance: create a project, then use its keys", async () => {
    expect((await invoke(adminHandler as Handler, "GET", "/api/admin/projects")).status).toBe(401);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await invoke(adminHandler as Handler, "POST", "/api/admin/projects", admin, { name: "lambda" });
    expect(created.status).toBe(201);
    const sk = { "x-api-key": created.json.data.keys.secret };
    const pk = { "x-api-key": created.json.data.keys.publishable };
    expect((await invoke(dataHandler as Handler, "POST", "/api/data/notes", sk, { text: "hi" })).status).toBe(201);
    expect((await invoke(dataHandler as Handler, "POST", "/api/data/notes", pk, { text: "no" })).json.code).toBe(
      "WRITE_BLOCKED",
    );
    const list = await invoke(dataHandler as Handler, "GET", "/api/data/notes", pk, undefined, "text=hi&limit=5");
    expect(list.json.data.items.map((d: { text: string }) => d.text)).toEqual(["hi"]);
    expect((await invoke(dataHandler as Handler, "GET", "/api/data/notes")).json.code).toBe("API_KEY_MISSING");
  });
});

describe("Vercel handlers (rewritten URLs)", () => {
  it("serves the client's path and drops the rewrite's own query parameter", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
    const created = await vercelAdmin.POST(
      new Request("https://edgeback.vercel.app/api/admin/projects?__ebpath=projects", {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ name: "vercel" }),
      }),
    );
    expect(created.status).toBe(201);
    const { keys } = ((await created.json()) as { data: { keys: { secret: string } } }).data;
    const headers = { "x-api-key": keys.secret, "content-type": "application/json" };
    const url = "https://edgeback.vercel.app/api/data/notes";
    await vercelData.POST(new Request(url, { method: "POST", headers, body: JSON.stringify({ text: "v" }) }));
    // Without stripping, __ebpath=notes would be read as a filter on a field "__ebpath" and match nothing.
    const list = await vercelData.GET(new Request(`${url}?text=v&__ebpath=notes`, { headers }));
    expect(((await list.json()) as { data: { total: number } }).data.total).toBe(1);
  });
});
