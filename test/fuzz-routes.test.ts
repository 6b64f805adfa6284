/**
 * Route fuzzing (fast-check, bounded runs): arbitrary JSON bodies and query strings against every
 * data, auth, storage and admin route never produce a 500, always answer the envelope, and never let a
 * `$`-key, prototype key or disallowed operator reach the store (checked by a recording store wrapper).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeps, type Deps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";
import { RESERVED_PARAMS } from "../shared/query/params-filter.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import { ADMIN_TOKEN, memoryLogger, testConfig } from "./helpers.js";
import { SPEC_FILTER_OPERATORS } from "./spec.js";
import { guardedStore } from "./store-guard.js";

let deps: Deps;
let store: ReturnType<typeof guardedStore>;
let app: ReturnType<typeof createLocalApp>;
let keys: { pk: string; sk: string; token: string; projectId: string; docId: string };
const FUZZ_EMAIL = "fuzz@example.com";
const FUZZ_PASSWORD = "correct horse battery";

beforeAll(async () => {
  store = guardedStore(await openEmbeddedStore({ dataDir: null }));
  deps = await createDeps(testConfig({ BCRYPT_COST: "4", MAIL_PROVIDER: "memory" }), { store, log: memoryLogger() });
  app = createLocalApp(deps);
  const { project, keys: issued } = await deps.projects.create({ name: "fuzz" });
  const sk = { "x-api-key": issued.secret, "content-type": "application/json" };
  // A real end user, so authenticated auth routes (me, update-profile, sessions) get past the token check.
  const signup = await app.fetch(
    new Request("http://x/api/userAuth/signup", {
      method: "POST",
      headers: { "x-api-key": issued.publishable, "content-type": "application/json" },
      body: JSON.stringify({ email: FUZZ_EMAIL, password: FUZZ_PASSWORD, username: "fuzzer" }),
    }),
  );
  const token = ((await signup.json()) as { data: { accessToken: string } }).data.accessToken;
  const schema = {
    name: "posts",
    fields: [
      { name: "title", type: "string", maxLength: 50 },
      { name: "views", type: "number", index: true },
      { name: "tags", type: "array", items: { type: "string" } },
      { name: "meta", type: "object", fields: [{ name: "lang", type: "string" }] },
      { name: "secret", type: "string", private: true },
      { name: "userId", type: "string" },
      { name: "published", type: "boolean" },
    ],
    // Drafts hidden: every pk read runs the fuzzed filter under the publicWhen rule's $or.
    rls: { enabled: true, mode: "public-read", ownerField: "userId", publicWhen: { published: true } },
  };
  const defined = await app.fetch(
    new Request("http://x/api/schemas", { method: "POST", headers: sk, body: JSON.stringify(schema) }),
  );
  expect(defined.status).toBe(201);
  const created = await app.fetch(
    new Request("http://x/api/data/posts", {
      method: "POST",
      headers: sk,
      body: JSON.stringify({ title: "t", views: 1, published: true }),
    }),
  );
  const docId = ((await created.json()) as { data: { _id: string } }).data._id;
  keys = { pk: issued.publishable, sk: issued.secret, token, projectId: project.id, docId };
});
afterAll(() => deps.store.close());

/** Hostile keys, and the field names of the test schema and of auth bodies (to get past validation). */
const KEYS = [
  "$where",
  "$gt",
  "$set",
  "__proto__",
  "constructor",
  "prototype",
  "a.b",
  "x\u0000",
  "title",
  "views",
  "email",
  "password",
  "username",
  "name",
  "otp",
  "currentPassword",
  "newPassword",
];
const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 }));

/** JSON text that may hold dangerous keys at any depth (written as text so `__proto__` stays a real key). */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    fc
      .array(fc.tuple(key, tie("value")), { maxLength: 4 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
    fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
  ),
})).value;

/** Auth fields that pass validation, so the hostile entries next to them get as far as they can. */
const AUTH_FIELDS = [
  fc.constantFrom(FUZZ_EMAIL, "new@example.com").map((email) => `"email":"${email}"`),
  fc.constant(`"password":"${FUZZ_PASSWORD}"`),
  fc.constant(`"currentPassword":"${FUZZ_PASSWORD}"`),
  fc.constant(`"newPassword":"${FUZZ_PASSWORD}"`),
  fc.constant(`"username":"fuzzer"`),
  fc.constant(`"name":"Fuzz"`),
];
const authObject = fc
  .tuple(fc.tuple(...AUTH_FIELDS.map((field) => fc.option(field))), fc.array(fc.tuple(key, jsonText), { maxLength: 3 }))
  .map(([fields, hostile]) => {
    const entries = [...fields.filter((f) => f !== null), ...hostile.map(([k, v]) => `${JSON.stringify(k)}:${v}`)];
    return `{${entries.join(",")}}`;
  });
const body = fc.oneof(jsonText, fc.string({ maxLength: 30 }), fc.constant(""));

/** Query parameters worth hitting: the reserved ones, the test schema's fields with suffixes, storage's, hostile keys. */
const PARAMS = [
  ...RESERVED_PARAMS,
  "title",
  "views",
  "views_gt",
  "views_in",
  "views_exists",
  "title_regex",
  "meta.lang",
  "secret",
  "path",
  "prefix",
  "op",
  "sig",
  "$where",
  "__proto__",
];
const queryValue = fc.oneof(fc.string({ maxLength: 20 }), jsonText, fc.integer().map(String));
const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 6 })), queryValue), { maxLength: 5 })
  .map((pairs) => new URLSearchParams(pairs).toString());

/** MongoDB-style filters over the test schema: fields, operators, `$and`/`$or` of any (even empty) clauses. */
const filterValue = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.dictionary(fc.constantFrom(...SPEC_FILTER_OPERATORS, "$where"), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
);
const filterClause: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ clause: Record<string, unknown> }>((tie) => ({
  clause: fc.oneof(
    { depthSize: "small" },
    fc.constant({}),
    fc.dictionary(fc.constantFrom("title", "views", "meta.lang", "_id", "userId"), filterValue, { maxKeys: 3 }),
    fc
      .tuple(fc.constantFrom("$and", "$or"), fc.array(tie("clause"), { maxLength: 3 }))
      .map(([op, parts]) => ({ [op]: parts })),
  ),
})).clause;

const collection = fc.constantFrom("posts", "free", "users", "Users", "missing", "_sys", "a.b", "%24where");
const id = fc.oneof(fc.constant("DOC"), fc.constantFrom("0".repeat(24), "zz", "..%2F..", "%00"));
const route = fc.oneof(
  fc.tuple(
    fc.constant("GET"),
    collection.map((c) => `/api/data/${c}`),
  ),
  fc.tuple(
    fc.constantFrom("GET", "PUT", "PATCH", "DELETE"),
    fc.tuple(collection, id).map(([c, i]) => `/api/data/${c}/${i}`),
  ),
  fc.tuple(
    fc.constant("POST"),
    collection.map((c) => `/api/data/${c}`),
  ),
  fc.tuple(
    fc.constant("POST"),
    collection.map((c) => `/api/data/${c}/bulk`),
  ),
  fc.tuple(
    fc.constant("POST"),
    collection.map((c) => `/api/data/${c}/aggregate`),
  ),
  fc.tuple(fc.constantFrom("GET", "POST"), fc.constant("/api/schemas")),
  fc.tuple(
    fc.constantFrom("GET", "PUT", "PATCH", "DELETE"),
    collection.map((c) => `/api/schemas/${c}`),
  ),
  fc.tuple(fc.constantFrom("POST", "PATCH"), fc.constantFrom("/api/admin/projects", "/api/admin/projects/PROJECT")),
  fc.tuple(fc.constant("POST"), fc.constant("/api/admin/projects/PROJECT/keys/rotate")),
  fc.tuple(
    fc.constant("POST"),
    fc.constantFrom("/api/storage/upload-url", "/api/storage/upload-request", "/api/storage/upload-confirm"),
  ),
  fc.tuple(fc.constantFrom("POST", "PUT"), fc.constantFrom("/api/storage/upload", "/api/storage/blob")),
  fc.tuple(fc.constantFrom("GET", "DELETE"), fc.constant("/api/storage/file")),
  fc.tuple(fc.constant("GET"), fc.constantFrom("/api/storage/blob", "/api/storage/files")),
  fc.tuple(
    fc.constant("GET"),
    fc.constantFrom(
      ...["users", "outbox", "usage", "logs"].map((p) => `/api/admin/projects/PROJECT/${p}`),
      "/api/admin/stats",
    ),
  ),
);
const authRoute = fc.oneof(
  fc.tuple(
    fc.constant("POST"),
    fc.constantFrom(
      ...[
        "signup",
        "login",
        "refresh-token",
        "logout",
        "verify-email",
        "resend-verification",
        "request-password-reset",
        "reset-password",
      ]
        .map((p) => `/api/userAuth/${p}`)
        .concat("/api/mail/send", "/api/userAuth/social/exchange"),
    ),
  ),
  fc.tuple(fc.constant("PUT"), fc.constantFrom("/api/userAuth/update-profile", "/api/userAuth/change-password")),
  fc.tuple(
    fc.constant("GET"),
    fc.constantFrom(
      "/api/userAuth/me",
      "/api/userAuth/sessions",
      "/api/userAuth/public/fuzzer",
      "/api/userAuth/social/github/start",
      "/api/userAuth/social/google/callback",
    ),
  ),
  fc.tuple(
    fc.constant("DELETE"),
    id.map((i) => `/api/userAuth/sessions/${i}`),
  ),
);
const caller = fc.oneof(
  { weight: 4, arbitrary: fc.constant("sk") },
  { weight: 2, arbitrary: fc.constant("pk") },
  { weight: 3, arbitrary: fc.constant("pk+token") },
  { weight: 1, arbitrary: fc.constant("none") },
);
/** Auth routes are an end user's: mostly with their token and objects of valid fields plus hostile ones. */
const authCaller = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom("sk", "pk", "none") },
  { weight: 3, arbitrary: fc.constant("pk+token") },
);
const authBody = fc.oneof({ weight: 3, arbitrary: authObject }, { weight: 1, arbitrary: body });

/** One call; fails unless it answers below 500 with the envelope and nothing unsafe reached the store. */
async function expectSafeAnswer(method: string, path: string, search: string, text: string, who: string) {
  store.found.length = 0;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (who === "sk") headers["x-api-key"] = keys.sk;
  if (who.startsWith("pk")) headers["x-api-key"] = keys.pk;
  if (who === "pk+token") headers.authorization = `Bearer ${keys.token}`;
  if (path.startsWith("/api/admin") && who !== "none") headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  // Key rotation would lock the fuzzer out of its own project, and logout would end its user's
  // session: both only with a wrong token.
  if (path.endsWith("/rotate") || path.endsWith("/logout")) headers.authorization = "Bearer wrong-token-0000000000";
  const url = `http://x${path.replace("DOC", keys.docId).replace("PROJECT", keys.projectId)}?${search}`;
  const hasBody = method !== "GET" && (method !== "DELETE" || path.startsWith("/api/storage"));
  const res = await app.fetch(new Request(url, { method, headers, ...(hasBody ? { body: text } : {}) }));
  const raw = await res.text();
  expect(res.status, `${method} ${url} ${text} → ${raw}`).toBeLessThan(500);
  expect(store.found, `${method} ${url} ${text}`).toEqual([]);
  if (res.status === 304 || res.status === 204) return;
  const envelope = JSON.parse(raw);
  expect(typeof envelope.success).toBe("boolean");
  if (!envelope.success) {
    expect(envelope.code).toMatch(/^[A-Z_]+$/);
    expect(typeof envelope.requestId).toBe("string");
  }
}

describe("route fuzzing", () => {
  it("the store guard catches what it must (so the fuzz test can fail)", async () => {
    const c = store.tenant({ projectId: keys.projectId }).collection("guard-check");
    await c.find({ $where: "1" }).catch(() => undefined); // mingo refuses it too; the guard saw it first
    await c.insertOne(JSON.parse('{"ok":1,"nested":{"__proto__":{"x":1},"$set":1}}'));
    expect(store.found).toEqual([
      'operator "$where" at top',
      'prototype key "__proto__" at nested',
      'unsafe stored key "$set" at nested',
    ]);
    store.found.length = 0;
  });

  it("never a 500, always the envelope, nothing unsafe reaches the store", async () => {
    await fc.assert(
      fc.asyncProperty(route, query, body, caller, async ([method, path], search, text, who) =>
        expectSafeAnswer(method, path, search, text, who),
      ),
      { numRuns: 1200 },
    );
  });

  it("every filter on a list, counted or not", async () => {
    const list = fc.tuple(fc.constantFrom("posts", "free"), filterClause, fc.boolean());
    await fc.assert(
      fc.asyncProperty(list, caller, async ([name, filter, count], who) => {
        const search = new URLSearchParams({ filter: JSON.stringify(filter), ...(count ? { count: "true" } : {}) });
        await expectSafeAnswer("GET", `/api/data/${name}`, search.toString(), "", who);
      }),
      { numRuns: 1000 },
    );
  });

  it("the same for every auth route, mostly as a signed-in user", async () => {
    await fc.assert(
      fc.asyncProperty(authRoute, authBody, authCaller, async ([method, path], text, who) =>
        expectSafeAnswer(method, path, "", text, who),
      ),
      { numRuns: 600 },
    );
  });
});
