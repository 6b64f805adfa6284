import { beforeAll, describe, expect, it } from "vitest";
import { functionFor } from "../shared/functions.js";
import { createLocalApp } from "../shared/local-app.js";
import { ADMIN_TOKEN, testDeps } from "./helpers.js";

describe("functionFor", () => {
  it.each([
    ["/api/userAuth/login", "auth"],
    ["/api/userAuth", "auth"],
    ["/api/data/posts", "data"],
    ["/api/data", "data"],
    ["/api/schemas", "data"],
    ["/api/schemas/posts", "data"],
    ["/api/storage/upload", "storage"],
    ["/api/storage", "storage"],
    ["/api/admin/projects", "admin"],
    ["/api/admin", "admin"],
    ["/api/admin/", "admin"],
    ["/api/health", "data"],
    ["/", "data"],
    ["/api/adminx", "data"],
    ["/api/admin-tools/x", "data"],
    ["/api/userAuthx/login", "data"],
    ["/api/storagefoo", "data"],
    ["/x/api/admin/projects", "data"],
  ] as const)("%s → %s", (path, name) => {
    expect(functionFor(path)).toBe(name);
  });
});

describe("createLocalApp", () => {
  let app: ReturnType<typeof createLocalApp>;
  const call = (path: string, init?: RequestInit) => app.fetch(new Request(`http://localhost${path}`, init));
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

  beforeAll(async () => {
    app = createLocalApp(await testDeps());
  });

  it("answers health", async () => {
    const res = await call("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, data: { status: "ok" } });
  });

  it("sends /api/admin to the admin app, which wants the admin token", async () => {
    const res = await call("/api/admin/projects");
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe("ADMIN_TOKEN_INVALID");
    expect((await call("/api/admin/projects", { headers: admin })).status).toBe(200);
  });

  it("does not treat /api/adminx as admin", async () => {
    const res = await call("/api/adminx/projects");
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(body.code).toBe("NOT_FOUND");
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
  });

  it.each(["/api/data/posts", "/api/schemas", "/api/userAuth/me", "/api/storage/file"])(
    "answers %s from a function app, not admin",
    async (path) => {
      const res = await call(path);
      const body = await res.json();
      expect(body.success).toBe(false);
      expect(body.code).not.toBe("ADMIN_TOKEN_INVALID");
      expect(["NOT_FOUND", "API_KEY_MISSING"]).toContain(body.code);
    },
  );

  it("chooses the app by the path the app routes on (percent-decoded, without the query)", async () => {
    const res = await call("/api/%61dmin/projects?x=/api/data");
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe("ADMIN_TOKEN_INVALID");
  });

  it("runs one app's middleware per request (one request id, echoed once)", async () => {
    const res = await call("/api/admin/projects", { headers: { ...admin, "x-request-id": "local-1" } });
    expect(res.headers.get("x-request-id")).toBe("local-1");
    const origin = "https://app.example.com";
    const preflight = await call("/api/admin/projects", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
  });

  it("serves admin routes end to end: a created project is listed", async () => {
    const created = await call("/api/admin/projects", {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "shared-deps" }),
    });
    expect(created.status).toBe(201);
    const list = await (await call("/api/admin/projects", { headers: admin })).json();
    expect(JSON.stringify(list.data)).toContain("shared-deps");
  });
});
