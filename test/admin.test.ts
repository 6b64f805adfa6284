import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import type { AppEnv } from "../shared/app.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { ADMIN_TOKEN, fakeClock, testConfig, testDeps } from "./helpers.js";

type Keys = { publishable: string; secret: string };

let clock: ReturnType<typeof fakeClock>;
let deps: Deps;
let app: Hono<AppEnv>;

beforeEach(async () => {
  clock = fakeClock();
  deps = await testDeps({ clock, env: { BCRYPT_COST: "4" } });
  app = createAdminApp(deps);
});
afterEach(() => deps.store.close());

/** One admin call with the good token (or `token`, plus `extra` headers), JSON in and out. */
async function admin(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
  extra: Record<string, string> = {},
) {
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await app.request(`/api/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

async function createProject(body: Record<string, unknown> = { name: "app" }) {
  const res = await admin("POST", "/projects", body);
  expect(res.status).toBe(201);
  return res.json.data as { project: { id: string } & Record<string, unknown>; keys: Keys };
}

/** Everything secret the platform database holds for a project, plus its plaintext keys. */
async function secretsOf(id: string, keys: Keys) {
  const principal = await deps.projects.resolveKey(keys.secret);
  const project = await deps.store.platform().collection("projects").findOne({ _id: id });
  const hashes = (await deps.store.platform().collection("keys").find({ projectId: id })).map((k) => String(k.hash));
  const sealedUri = (project?.settings as { database?: { uri?: string } } | undefined)?.database?.uri;
  return [
    keys.publishable,
    keys.secret,
    String(project?.jwtSecret),
    principal?.project.jwtSecret,
    principal?.project.databaseUri,
    sealedUri,
    ...hashes,
  ].filter((s): s is string => typeof s === "string" && s.length > 0);
}

describe("caller matrix", () => {
  // `:id` is an existing project, `:userId` its end user (whose verification mail is in the outbox);
  // the good token gets the route's success status.
  const routes: Array<[string, string, unknown, number]> = [
    ["POST", "/projects", { name: "x" }, 201],
    ["GET", "/projects", undefined, 200],
    ["GET", "/projects/:id", undefined, 200],
    ["PATCH", "/projects/:id", { name: "y" }, 200],
    ["DELETE", "/projects/:id", undefined, 200],
    ["POST", "/projects/:id/keys/rotate", { which: "both" }, 200],
    ["GET", "/stats", undefined, 200],
    ["GET", "/projects/:id/usage", undefined, 200],
    ["GET", "/projects/:id/logs", undefined, 200],
    ["GET", "/projects/:id/users", undefined, 200],
    ["DELETE", "/projects/:id/users/:userId", undefined, 200],
    ["GET", "/projects/:id/outbox", undefined, 200],
    ["POST", "/projects/:id/sessions/revoke", undefined, 200],
  ];
  // The Bearer token (null: none) and other headers of each caller; a project's own keys are no admin token.
  const callers: Array<[string, (keys: Keys) => [string | null, Record<string, string>?]]> = [
    ["no token", () => [null]],
    ["bad token", () => ["x".repeat(ADMIN_TOKEN.length)]],
    ["wrong-length token", () => [`${ADMIN_TOKEN}x`]],
    ["token prefix", () => [ADMIN_TOKEN.slice(0, -1)]],
    ["project pk as token", (keys) => [keys.publishable]],
    ["project sk as token", (keys) => [keys.secret]],
    ["project sk in x-api-key", (keys) => [null, { "x-api-key": keys.secret }]],
    ["project pk in x-api-key", (keys) => [null, { "x-api-key": keys.publishable }]],
    ["good token", () => [ADMIN_TOKEN]],
  ];
  const table = routes.flatMap(([method, path, body, success]) =>
    callers.map(([caller, credentials]) => ({
      method,
      path,
      body,
      caller,
      credentials,
      status: caller === "good token" ? success : 401,
    })),
  );

  it.each(table)("$method $path, $caller → $status", async ({ method, path, body, credentials, status }) => {
    const { project, keys } = await createProject({ name: "existing" });
    const email = "user@example.com";
    const signup = await createAuthApp(deps).request("/api/userAuth/signup", {
      method: "POST",
      headers: { "x-api-key": keys.publishable, "content-type": "application/json" },
      body: JSON.stringify({ email, password: "correct horse battery" }),
    });
    expect(signup.status).toBe(201);
    const userId = ((await signup.json()) as { data: { user: { _id: string } } }).data.user._id;
    const resolved = await deps.projects.resolveProject(project.id);
    const users = deps.collections.database(resolved!).collection("users");
    const otp = deps.mailer.outbox?.(project.id)[0]?.otp;
    expect(otp).toMatch(/^\d{6}$/);

    const [token, headers] = credentials(keys);
    const res = await admin(method, path.replace(":id", project.id).replace(":userId", userId), body, token, headers);
    expect(res.status).toBe(status);
    if (status === 401) {
      expect(res.json).toMatchObject({ success: false, code: "ADMIN_TOKEN_INVALID" });
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      for (const secret of [email, userId, otp!]) expect(res.text).not.toContain(secret);
      // Nothing happened: the project, its name, its keys, its user and its outbox are as they were.
      expect((await deps.projects.list()).map((p) => p.name)).toEqual(["existing"]);
      expect((await deps.projects.resolveKey(keys.secret))?.project.id).toBe(project.id);
      expect(await users.findOne({ _id: userId })).toMatchObject({ email });
      expect(deps.mailer.outbox?.(project.id).map((m) => m.otp)).toEqual([otp]);
      // The refused call came first: the account is still there for the operator to delete.
      if (path.endsWith(":userId")) {
        const deleted = await admin("DELETE", `/projects/${project.id}/users/${userId}`);
        expect([deleted.status, deleted.json.data]).toEqual([200, { _id: userId, id: userId, deleted: true }]);
      }
    } else {
      expect(res.json.success).toBe(true);
      if (path.endsWith("/users")) expect(res.json.data.items.map((u: { _id: string }) => u._id)).toEqual([userId]);
      if (path.endsWith("/outbox")) expect(res.json.data.map((m: { otp: string }) => m.otp)).toEqual([otp]);
      // Deleting the user, or the project with it, removes the account; nothing else does.
      expect(await users.findOne({ _id: userId })).toEqual(method === "DELETE" ? null : expect.anything());
    }
  });

  it("refuses a non-Bearer scheme", async () => {
    const res = await app.request("/api/admin/projects", { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(401);
  });

  it("refuses every call when no admin token is configured", async () => {
    const open = await testDeps({ env: { ADMIN_TOKEN: "" } });
    try {
      expect(open.config.adminToken).toBeUndefined();
      const res = await createAdminApp(open).request("/api/admin/projects", {
        headers: { authorization: "Bearer undefined" },
      });
      expect(res.status).toBe(401);
      expect((await res.json()).code).toBe("ADMIN_TOKEN_INVALID");
    } finally {
      await open.store.close();
    }
  });
});

describe("projects", () => {
  it("creates, lists, gets and deletes a project", async () => {
    const { project, keys } = await createProject({ name: "shop", allowedOrigins: ["https://shop.example.com"] });
    expect(keys.publishable).toMatch(/^pk_live_[A-Za-z0-9_-]{43}$/);
    expect(keys.secret).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/);
    expect(project).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: "shop",
      allowedOrigins: ["https://shop.example.com"],
      settings: {},
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    });

    const second = await createProject({ name: "blog" });
    const list = await admin("GET", "/projects");
    expect(list.status).toBe(200);
    expect(list.json.data.map((p: { name: string }) => p.name)).toEqual(["shop", "blog"]);

    const got = await admin("GET", `/projects/${project.id}`);
    expect(got.status).toBe(200);
    expect(got.json.data).toEqual(project);

    await deps.store.tenant({ projectId: project.id }).collection("posts").insertOne({ title: "hi" });
    const deleted = await admin("DELETE", `/projects/${project.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.json.data).toEqual({ id: project.id, deleted: true });
    expect((await admin("GET", `/projects/${project.id}`)).status).toBe(404);
    expect((await admin("DELETE", `/projects/${project.id}`)).json.code).toBe("PROJECT_NOT_FOUND");
    expect(await deps.store.tenant({ projectId: project.id }).listCollections()).toEqual([]);
    expect(await deps.store.platform().collection("keys").count({ projectId: project.id })).toBe(0);
    expect(await deps.projects.resolveKey(keys.secret)).toBeNull();
    expect((await admin("GET", "/projects")).json.data.map((p: { id: string }) => p.id)).toEqual([second.project.id]);
  });

  it("answers 400 INVALID_ID and 404 PROJECT_NOT_FOUND", async () => {
    const unknown = "0123456789abcdef01234567";
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PATCH", "", { name: "x" }],
      ["DELETE", "", undefined],
      ["POST", "/keys/rotate", { which: "both" }],
      ["POST", "/sessions/revoke", undefined],
    ] as const) {
      const bad = await admin(method, `/projects/not-an-id${suffix}`, body);
      expect([bad.status, bad.json.code]).toEqual([400, "INVALID_ID"]);
      const upper = await admin(method, `/projects/${unknown.toUpperCase()}${suffix}`, body);
      expect([upper.status, upper.json.code]).toEqual([400, "INVALID_ID"]);
      const missing = await admin(method, `/projects/${unknown}${suffix}`, body);
      expect([missing.status, missing.json.code]).toEqual([404, "PROJECT_NOT_FOUND"]);
    }
  });

  it.each([
    ["missing name", {}, "name"],
    ["empty name", { name: "" }, "name"],
    ["long name", { name: "x".repeat(101) }, "name"],
    ["unknown key", { name: "a", owner: "me" }, ""],
    ["origin with path", { name: "a", allowedOrigins: ["https://a.example.com/app"] }, "allowedOrigins.0"],
    ["origin with userinfo", { name: "a", allowedOrigins: ["https://x@a.example.com"] }, "allowedOrigins.0"],
    ["origin with two slashes", { name: "a", allowedOrigins: ["https://a.example.com//"] }, "allowedOrigins.0"],
    [
      "origin with a path and a slash",
      { name: "a", allowedOrigins: ["https://a.example.com/app/"] },
      "allowedOrigins.0",
    ],
    ["bare star", { name: "a", allowedOrigins: ["ok.example.com", "*"] }, "allowedOrigins.1"],
    ["star over a TLD", { name: "a", allowedOrigins: ["ok.example.com", "*.com"] }, "allowedOrigins.1"],
    ["star over a public suffix", { name: "a", allowedOrigins: ["*.CO.UK"] }, "allowedOrigins.0"],
    ["star over a hosting suffix", { name: "a", allowedOrigins: ["*.github.io"] }, "allowedOrigins.0"],
    [
      "too many origins",
      { name: "a", allowedOrigins: Array.from({ length: 101 }, (_, i) => `h${i}.test`) },
      "allowedOrigins",
    ],
    ["settings not an object", { name: "a", settings: [1] }, "settings"],
    ["settings key with $", { name: "a", settings: { auth: { $where: 1 } } }, "settings.auth.$where"],
    ["settings key __proto__", '{"name":"a","settings":{"__proto__":{"x":1}}}', "settings.__proto__"],
    ["bad database uri", { name: "a", settings: { database: { uri: "postgres://x" } } }, "settings.database.uri"],
    [
      "database uri naming no database",
      { name: "a", settings: { database: { uri: "mongodb+srv://u:p@cluster.example.net/?retryWrites=true" } } },
      "settings.database.uri",
    ],
    [
      "database uri the driver refuses",
      { name: "a", settings: { database: { uri: "mongodb+srv://a.example.net,b.example.net/app" } } },
      "settings.database.uri",
    ],
    ["unknown database setting", { name: "a", settings: { database: { host: "x" } } }, "settings.database"],
    ["misspelt settings area", { name: "a", settings: { rateLimit: { pk: "1/1m" } } }, "settings.rateLimit"],
    [
      "aggregate flag not boolean",
      { name: "a", settings: { data: { publishableAggregate: "yes" } } },
      "settings.data.publishableAggregate",
    ],
  ])("rejects %s with VALIDATION_FAILED", async (_name, body, path) => {
    const res = await admin("POST", "/projects", body);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("VALIDATION_FAILED");
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
    expect((await admin("GET", "/projects")).json.data).toEqual([]);
  });

  it("removes a settings area stored before unknown names were refused (null deletes)", async () => {
    const { project } = await createProject({ name: "a" });
    await deps.store
      .platform()
      .collection("projects")
      .updateOne({ _id: project.id }, { $set: { "settings.legacy": { x: 1 } } });
    expect((await admin("GET", `/projects/${project.id}`)).json.data.settings).toEqual({ legacy: { x: 1 } });
    const res = await admin("PATCH", `/projects/${project.id}`, { settings: { legacy: null } });
    expect([res.status, res.json.data.settings]).toEqual([200, {}]);
  });

  it("rejects malformed JSON with INVALID_JSON", async () => {
    const res = await admin("POST", "/projects", "{nope");
    expect([res.status, res.json.code]).toEqual([400, "INVALID_JSON"]);
  });

  it("normalises allowed origins", async () => {
    const { project } = await createProject({
      name: "a",
      allowedOrigins: ["HTTPS://App.Example.com:443", "*.Example.org", "localhost", "localhost"],
    });
    expect(project.allowedOrigins).toEqual(["https://app.example.com", "*.example.org", "localhost"]);
  });

  it("drops the one trailing slash of an origin copied from the address bar, on create and PATCH", async () => {
    const { project } = await createProject({ name: "a", allowedOrigins: ["http://localhost:5173/"] });
    expect(project.allowedOrigins).toEqual(["http://localhost:5173"]);
    const res = await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: ["HTTPS://App.Example.com:443/ "] });
    expect([res.status, res.json.data.allowedOrigins]).toEqual([200, ["https://app.example.com"]]);
  });

  it("refuses a wildcard over a public suffix on PATCH too, and takes one over a site under it or localhost", async () => {
    const { project } = await createProject({ name: "a" });
    const refused = await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: ["*.vercel.app"] });
    expect([refused.status, refused.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(refused.json.details).toEqual([
      { path: "allowedOrigins.0", message: expect.stringContaining("every site") },
    ]);
    const allowed = ["*.my-app.vercel.app", "*.example.co.uk", "*.localhost"];
    const res = await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: allowed });
    expect(res.status).toBe(200);
    expect(res.json.data.allowedOrigins).toEqual(allowed);
  });

  it('refuses the opaque "null" origin in any case, saying why, on create and PATCH', async () => {
    const created = await admin("POST", "/projects", { name: "a", allowedOrigins: ["NULL"] });
    expect([created.status, created.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const { project } = await createProject({ name: "a" });
    const refused = await admin("PATCH", `/projects/${project.id}`, {
      allowedOrigins: ["https://app.example.com", "null"],
    });
    expect([refused.status, refused.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(refused.json.message).toContain('opaque "null" origin');
    expect(refused.json.details).toEqual([
      { path: "allowedOrigins.1", message: expect.stringMatching(/sandboxed iframes, file:.*secret key/) },
    ]);
    expect((await admin("GET", `/projects/${project.id}`)).json.data.allowedOrigins).toEqual([]);
  });

  it("refuses a wildcard over an IP address, which the URL parser would rewrite (*.1 as *.0.0.0.1)", async () => {
    const { project } = await createProject({ name: "a" });
    for (const entry of ["*.1", "*.168.1.1", "*.127.0.0.1", "*.0x7f.1", "*.[::1]"]) {
      const refused = await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: [entry] });
      expect([entry, refused.status, refused.json.details]).toEqual([
        entry,
        400,
        [{ path: "allowedOrigins.0", message: expect.stringContaining("wildcard over an IP address") }],
      ]);
    }
    const res = await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: ["127.0.0.1", "http://[::1]:3000"] });
    expect(res.json.data.allowedOrigins).toEqual(["127.0.0.1", "http://[::1]:3000"]);
  });

  it("refuses a wildcard over a whole unregistered top-level name (*.local) as such, and takes one over a name under it", async () => {
    const { project } = await createProject({ name: "a" });
    for (const entry of ["*.local", "*.test", "*.internal"]) {
      const refused = await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: [entry] });
      expect([entry, refused.status, refused.json.details]).toEqual([
        entry,
        400,
        [{ path: "allowedOrigins.0", message: expect.stringContaining("top-level name") }],
      ]);
      expect(refused.json.details[0].message).not.toContain("public suffix");
    }
    const allowed = ["*.myapp.local", "*.myapp.test"];
    expect(
      (await admin("PATCH", `/projects/${project.id}`, { allowedOrigins: allowed })).json.data.allowedOrigins,
    ).toEqual(allowed);
  });

  it("applies every one of many PATCHes sent together (a script saving fields at once), none 500", async () => {
    const { project } = await createProject({ name: "a" });
    const patches = [
      { settings: { rateLimits: { pk: "1/1m" } } },
      { settings: { rateLimits: { auth: "2/1m" } } },
      { settings: { rateLimits: { sk: "3/1m" } } },
      ...Array.from({ length: 9 }, (_, i) => ({ settings: { storage: { maxFileSize: 1000 + i } } })),
      { name: "renamed" },
    ];
    const answers = await Promise.all(patches.map((body) => admin("PATCH", `/projects/${project.id}`, body)));
    expect(answers.map((res) => res.status)).toEqual(patches.map(() => 200));
    const after = (await admin("GET", `/projects/${project.id}`)).json.data;
    expect(after.name).toBe("renamed");
    expect(after.settings.rateLimits).toEqual({ pk: "1/1m", auth: "2/1m", sk: "3/1m" });
  });

  it("applies PATCHes sent together through two instances over one store", async () => {
    const { project } = await createProject({ name: "a" });
    const other = createAdminApp(await createDeps(testConfig(), { store: deps.store, clock }));
    const limits = ["pk", "auth", "sk"];
    const answers = await Promise.all(
      [app, other].flatMap((instance, i) =>
        limits.map((rule) =>
          instance.request(`/api/admin/projects/${project.id}`, {
            method: "PATCH",
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify({
              settings: { rateLimits: { [rule]: `${i + 1}/1m` }, storage: { maxFileSize: i + 1 } },
            }),
          }),
        ),
      ),
    );
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const after = (await admin("GET", `/projects/${project.id}`)).json.data;
    expect(Object.keys(after.settings.rateLimits).sort()).toEqual(["auth", "pk", "sk"]);
  });

  it("merges settings deeply on PATCH and replaces allowedOrigins", async () => {
    const { project } = await createProject({
      name: "a",
      allowedOrigins: ["a.example.com", "b.example.com"],
      settings: {
        auth: { requireEmailVerification: true, passwordMinLength: 10 },
        storage: { maxFileSize: 1000, allowedContentTypes: ["image/png", "image/jpeg"] },
        rateLimits: { pk: "100/15m" },
      },
    });
    clock.advance(5_000);
    const res = await admin("PATCH", `/projects/${project.id}`, {
      name: "renamed",
      allowedOrigins: ["c.example.com"],
      settings: {
        auth: { passwordMinLength: 12 },
        storage: { allowedContentTypes: ["application/pdf"] },
        rateLimits: null,
        quotas: { users: 10 },
      },
    });
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({
      ...project,
      name: "renamed",
      allowedOrigins: ["c.example.com"],
      settings: {
        auth: { requireEmailVerification: true, passwordMinLength: 12 },
        storage: { maxFileSize: 1000, allowedContentTypes: ["application/pdf"] },
        quotas: { users: 10 },
      },
      updatedAt: "2026-01-01T00:00:05.000Z",
    });
    const nested = await admin("PATCH", `/projects/${project.id}`, { settings: { auth: { passwordMinLength: null } } });
    expect(nested.json.data.settings.auth).toEqual({ requireEmailVerification: true });
    expect(nested.json.data.name).toBe("renamed");
    expect((await admin("GET", `/projects/${project.id}`)).json.data).toEqual(nested.json.data);
  });

  it("rejects bad PATCH bodies", async () => {
    const { project } = await createProject();
    for (const body of [{ name: "" }, { extra: 1 }, { allowedOrigins: ["ftp://"] }, { settings: "x" }]) {
      const res = await admin("PATCH", `/projects/${project.id}`, body);
      expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
  });

  it("a database uri the driver refuses is not quoted back, not even a part of its password", async () => {
    // An unescaped '@' and ':' in the password: the driver's own message quotes what follows the '@'.
    const uri = "mongodb://app:Summer@2026:pw@cluster0.example.net/app";
    const res = await admin("POST", "/projects", { name: "byo", settings: { database: { uri } } });
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details.map((d: { path: string }) => d.path)).toEqual(["settings.database.uri"]);
    for (const part of ["2026", "Summer", "cluster0"]) expect(res.text).not.toContain(part);
  });

  it.each([
    ["tlsCAFile", "mongodb://db.example.net/app?tls=true&tlsCAFile=/etc/ssl/private/operator.pem"],
    ["tlsCertificateKeyFile", "mongodb://db.example.net/app?tls=true&tlscertificatekeyfile=/var/run/secrets/key.pem"],
    ["tlsCRLFile", "mongodb+srv://u:p@cluster0.example.net/app?tlsCRLFile=/etc/passwd"],
    [
      "authMechanism=MONGODB-OIDC",
      "mongodb+srv://cluster0.example.net/app?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s",
    ],
    [
      "authMechanism=MONGODB-OIDC",
      "mongodb://db.example.net/app?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:azure,TOKEN_RESOURCE:x",
    ],
    [
      "authMechanism=MONGODB-AWS",
      "mongodb+srv://cluster0.example.net/app?authSource=%24external&authMechanism=MONGODB-AWS",
    ],
    ["authMechanism=GSSAPI", "mongodb://me%40EXAMPLE.NET@db.example.net/app?authMechanism=GSSAPI"],
    ["proxyHost", "mongodb://db.example.net/app?proxyHost=10.0.0.1&proxyPort=1080"],
    // An @ left unencoded in the password: the driver reads the rest as the host, and its errors quote it.
    ["percent-encode", "mongodb://app:pass@word@db.example.net/app"],
    ['"…_platform"', "mongodb://127.0.0.1:27017/edgeback_platform"],
    ['"…_platform"', "mongodb+srv://u:p@cluster0.example.net/Acme_Platform?retryWrites=true"],
    ['"…_<project id>"', "mongodb://127.0.0.1:27017/edgeback_65f0a1b2c3d4e5f601234567"],
  ])(
    "a database uri that reads the server's files, signs in as the server, goes through a proxy or names one of the deployment's own databases (%s) is refused, naming it",
    async (option, uri) => {
      for (const send of [
        () => admin("POST", "/projects", { name: "byo", settings: { database: { uri } } }),
        async () => {
          const { project } = await createProject({ name: "p" });
          return admin("PATCH", `/projects/${project.id}`, { settings: { database: { uri } } });
        },
      ]) {
        const res = await send();
        expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
        expect(res.json.details).toEqual([{ path: "settings.database.uri", message: expect.stringContaining(option) }]);
      }
    },
  );

  it.each([
    ["w=0", "mongodb+srv://u:p@cluster0.example.net/app?w=0"],
    ["readPreference=secondary", "mongodb://db.example.net/app?readPreference=secondary"],
    ["readPreference=nearest", "mongodb://db.example.net/app?replicaSet=rs0&readPreference=nearest"],
    ["readPreference=primaryPreferred", "mongodb://db.example.net/app?readPreference=primaryPreferred"],
  ])(
    "a database uri whose writes go unacknowledged or whose reads may miss them (%s) is refused",
    async (option, uri) => {
      const res = await admin("POST", "/projects", { name: "byo", settings: { database: { uri } } });
      expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
      expect(res.json.details).toEqual([{ path: "settings.database.uri", message: expect.stringContaining(option) }]);
    },
  );

  it("a database uri with an acknowledged write concern and primary reads is taken", async () => {
    const uri = "mongodb+srv://u:p@cluster0.example.net/app?retryWrites=true&w=majority&readPreference=primary";
    const res = await admin("POST", "/projects", { name: "byo", settings: { database: { uri } } });
    expect(res.status, res.text).toBe(201);
  });

  it("a JSON null body is a bad body, not an empty patch (an empty body is one)", async () => {
    const { project } = await createProject({ name: "a" });
    clock.advance(1000);
    const res = await admin("PATCH", `/projects/${project.id}`, "null");
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect((await admin("GET", `/projects/${project.id}`)).json.data.updatedAt).toBe(project.updatedAt);
    expect((await admin("PATCH", `/projects/${project.id}`)).status).toBe(200);
  });

  it("keeps the database uri sealed and out of every response", async () => {
    const uri = "mongodb+srv://owner:s3cret@cluster.example.net/app";
    const { project, keys } = await createProject({ name: "byo", settings: { database: { uri } } });
    expect(project.settings).toEqual({ database: { configured: true } });
    const principal = await deps.projects.resolveKey(keys.secret);
    expect(principal?.project.databaseUri).toBe(uri);
    const patched = await admin("PATCH", `/projects/${project.id}`, { settings: { auth: { passwordMinLength: 9 } } });
    expect(patched.json.data.settings.database).toEqual({ configured: true });
    expect((await deps.projects.resolveKey(keys.secret))?.project.databaseUri).toBe(uri);
    const cleared = await admin("PATCH", `/projects/${project.id}`, { settings: { database: { uri: null } } });
    expect(cleared.json.data.settings.database).toEqual({ configured: false });
    expect((await deps.projects.resolveKey(keys.secret))?.project.databaseUri).toBeUndefined();
  });

  it("never returns secrets except the plaintext keys at create and rotate", async () => {
    const uri = "mongodb://owner:pw@db.example.net/app";
    const created = await admin("POST", "/projects", { name: "s", settings: { database: { uri } } });
    const { project, keys } = created.json.data as { project: { id: string }; keys: Keys };
    const secrets = await secretsOf(project.id, keys);
    expect(secrets).toContain(uri);
    const createText = created.text;
    for (const secret of secrets) {
      if (secret === keys.publishable || secret === keys.secret) continue;
      expect(createText).not.toContain(secret);
    }
    const responses = [
      await admin("GET", "/projects"),
      await admin("GET", `/projects/${project.id}`),
      await admin("PATCH", `/projects/${project.id}`, { name: "t" }),
    ];
    for (const { text } of responses) for (const secret of secrets) expect(text).not.toContain(secret);

    const rotated = await admin("POST", `/projects/${project.id}/keys/rotate`, { which: "both", graceSeconds: 30 });
    const fresh = rotated.json.data.keys as Keys;
    const after = await secretsOf(project.id, fresh);
    for (const secret of [...secrets, ...after]) {
      if (secret === fresh.publishable || secret === fresh.secret) continue;
      expect(rotated.text).not.toContain(secret);
    }
    const deleted = await admin("DELETE", `/projects/${project.id}`);
    for (const secret of [...secrets, ...after]) expect(deleted.text).not.toContain(secret);
  });
});

describe("instance stats", () => {
  it("counts the store reads of key resolution: none once a key is warm", async () => {
    const { keys } = await createProject();
    const reads = async () => (await admin("GET", "/stats")).json.data.keyResolution.storeReads as number;
    const cold = await reads();
    await deps.projects.resolveKey(keys.publishable);
    const warm = await reads();
    expect(warm).toBeGreaterThan(cold);
    await deps.projects.resolveKey(keys.publishable);
    expect(await reads()).toBe(warm);
  });
});

describe("key rotation", () => {
  it("rotates one key, invalidating the old one immediately by default", async () => {
    const { project, keys } = await createProject();
    const res = await admin("POST", `/projects/${project.id}/keys/rotate`, { which: "secret" });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.data.keys)).toEqual(["secret"]);
    expect(res.json.data.keys.secret).toMatch(/^sk_live_/);
    expect(await deps.projects.resolveKey(keys.secret)).toBeNull();
    expect((await deps.projects.resolveKey(res.json.data.keys.secret))?.project.id).toBe(project.id);
    expect((await deps.projects.resolveKey(keys.publishable))?.keyType).toBe("publishable");
  });

  it("rotates both keys with graceSeconds 0", async () => {
    const { project, keys } = await createProject();
    const res = await admin("POST", `/projects/${project.id}/keys/rotate`, { which: "both", graceSeconds: 0 });
    const fresh = res.json.data.keys as Keys;
    expect(fresh.publishable).toMatch(/^pk_live_/);
    expect(fresh.secret).toMatch(/^sk_live_/);
    expect(await deps.projects.resolveKey(keys.publishable)).toBeNull();
    expect(await deps.projects.resolveKey(keys.secret)).toBeNull();
    expect((await deps.projects.resolveKey(fresh.publishable))?.project.id).toBe(project.id);
  });

  it("rotations at the same time run one after the other: one key of the type stays live, the last one issued", async () => {
    const { project, keys } = await createProject();
    const rotate = () => admin("POST", `/projects/${project.id}/keys/rotate`, { which: "publishable" });
    const answers = await Promise.all([rotate(), rotate(), rotate()]);
    const issued = answers.map((res) => {
      expect(res.status, res.text).toBe(200);
      return res.json.data.keys.publishable as string;
    });
    const live = [];
    for (const key of [keys.publishable, ...issued]) if (await deps.projects.resolveKey(key)) live.push(key);
    expect(live).toHaveLength(1);
    expect(issued).toContain(live[0]);
    const stored = await deps.store.platform().collection("keys").find({ projectId: project.id, type: "publishable" });
    expect(stored).toHaveLength(1);
    // The lock is released: a later rotation runs at once, and a project update still works.
    expect((await rotate()).status).toBe(200);
    expect((await admin("PATCH", `/projects/${project.id}`, { name: "renamed" })).status).toBe(200);
  });

  it("keeps the old key for the grace period", async () => {
    const { project, keys } = await createProject();
    const res = await admin("POST", `/projects/${project.id}/keys/rotate`, { which: "publishable", graceSeconds: 120 });
    const fresh = res.json.data.keys as Partial<Keys>;
    expect(Object.keys(fresh)).toEqual(["publishable"]);
    clock.advance(119_000);
    expect((await deps.projects.resolveKey(keys.publishable))?.project.id).toBe(project.id);
    expect((await deps.projects.resolveKey(fresh.publishable as string))?.project.id).toBe(project.id);
    clock.advance(1_000);
    expect(await deps.projects.resolveKey(keys.publishable)).toBeNull();
    expect((await deps.projects.resolveKey(fresh.publishable as string))?.project.id).toBe(project.id);
  });

  it("does not extend a grace period by rotating again", async () => {
    const { project, keys } = await createProject();
    await admin("POST", `/projects/${project.id}/keys/rotate`, { which: "secret", graceSeconds: 60 });
    await admin("POST", `/projects/${project.id}/keys/rotate`, { which: "secret", graceSeconds: 600 });
    clock.advance(60_000);
    expect(await deps.projects.resolveKey(keys.secret)).toBeNull();
  });

  it.each([
    [{}, "which"],
    [{ which: "all" }, "which"],
    [{ which: "both", graceSeconds: -1 }, "graceSeconds"],
    [{ which: "both", graceSeconds: 1.5 }, "graceSeconds"],
    [{ which: "both", extra: true }, ""],
  ])("rejects %j", async (body, path) => {
    const { project, keys } = await createProject();
    const res = await admin("POST", `/projects/${project.id}/keys/rotate`, body);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
    expect((await deps.projects.resolveKey(keys.secret))?.project.id).toBe(project.id);
  });
});
