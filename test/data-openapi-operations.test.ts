/**
 * GET /api/schemas/openapi.json offers each data operation as the collection's rules let the key
 * perform it (API.md §4.1): the pk document leaves out what no pk caller ever may, and says which
 * operations need an end user's token beside the key; the sk document offers every one. Checked
 * against what the routes answer, operation by operation.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { openApiProblems } from "./openapi-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const OPENAPI = "/api/schemas/openapi.json";
const USER_ONLY = [{ apiKey: [], bearerAuth: [] }];
const METHODS = ["get", "post", "put", "patch", "delete"];

const fields = [
  { name: "title", type: "string" },
  { name: "userId", type: "string" },
];
const collection = (name: string, rest: Record<string, unknown>) => ({
  name,
  fields,
  aggregate: { publishable: true },
  ...rest,
});
/** Each end user's own; updating and deleting one is the secret key's. */
const orders = collection("orders", {
  rls: { enabled: true, mode: "private", ownerField: "userId" },
  permissions: { create: "user", update: "secret", delete: "secret" },
});
/** Anyone reads, owners change theirs, only the secret key inserts. */
const catalog = collection("catalog", {
  rls: { enabled: true, mode: "public-read", ownerField: "userId" },
  permissions: { create: "secret" },
});
/** The secret key's alone. */
const ledger = collection("ledger", { permissions: { list: "secret", read: "secret" } });

// biome-ignore lint/suspicious/noExplicitAny: tests read the document's arbitrary shape
type Doc = any;

/** The data operations of a document, as `METHOD path` → the operation. */
function dataOperations(doc: Doc): Map<string, Doc> {
  const found = new Map<string, Doc>();
  for (const [path, item] of Object.entries<Doc>(doc.paths)) {
    if (!path.startsWith("/api/data/")) continue;
    for (const method of METHODS) if (item[method]) found.set(`${method.toUpperCase()} ${path}`, item[method]);
  }
  return found;
}

describe("data operations the rules allow", () => {
  it("the pk document leaves out what no pk caller may do; the sk document offers all", async () => {
    for (const def of [orders, catalog, ledger]) await env.defineCollection(def);
    const pk: Doc = (await env.pk("GET", OPENAPI)).json;
    const sk: Doc = (await env.sk("GET", OPENAPI)).json;
    for (const doc of [pk, sk]) expect(await openApiProblems(doc)).toBe("");

    const offered = (doc: Doc) => [...dataOperations(doc).keys()].sort();
    const every = (name: string) => [
      `GET /api/data/${name}`,
      `POST /api/data/${name}`,
      `POST /api/data/${name}/bulk`,
      `POST /api/data/${name}/aggregate`,
      `GET /api/data/${name}/{id}`,
      `PUT /api/data/${name}/{id}`,
      `PATCH /api/data/${name}/{id}`,
      `DELETE /api/data/${name}/{id}`,
    ];
    expect(offered(sk)).toEqual(["catalog", "ledger", "orders"].flatMap(every).sort());
    expect(offered(pk)).toEqual(
      [
        // sk-only update and delete
        "GET /api/data/orders",
        "POST /api/data/orders",
        "POST /api/data/orders/bulk",
        "POST /api/data/orders/aggregate",
        "GET /api/data/orders/{id}",
        // sk-only create
        "GET /api/data/catalog",
        "POST /api/data/catalog/aggregate",
        "GET /api/data/catalog/{id}",
        "PUT /api/data/catalog/{id}",
        "PATCH /api/data/catalog/{id}",
        "DELETE /api/data/catalog/{id}",
      ].sort(),
    );
    // A path with no operation left goes too.
    expect(Object.keys(pk.paths).filter((path) => /\/(ledger|catalog\/bulk)/.test(path))).toEqual([]);

    // Operations needing a signed-in user or an owner ask for the bearer token; guests' take the key alone.
    const security = (doc: Doc) => Object.fromEntries([...dataOperations(doc)].map(([at, op]) => [at, op.security]));
    expect(security(pk)).toEqual({
      "GET /api/data/orders": USER_ONLY,
      "POST /api/data/orders": USER_ONLY,
      "POST /api/data/orders/bulk": USER_ONLY,
      "POST /api/data/orders/aggregate": USER_ONLY,
      "GET /api/data/orders/{id}": USER_ONLY,
      "GET /api/data/catalog": undefined,
      "POST /api/data/catalog/aggregate": undefined,
      "GET /api/data/catalog/{id}": undefined,
      "PUT /api/data/catalog/{id}": USER_ONLY,
      "PATCH /api/data/catalog/{id}": USER_ONLY,
      "DELETE /api/data/catalog/{id}": USER_ONLY,
    });
    expect(Object.values(security(sk)).every((value) => value === undefined)).toBe(true);
    // The document-wide requirement still lets either kind of caller use the others.
    expect(pk.security).toEqual([{ apiKey: [] }, { apiKey: [], bearerAuth: [] }]);
  });

  it("says what the routes answer a pk guest and a pk user, operation by operation", async () => {
    for (const def of [orders, catalog, ledger]) await env.defineCollection(def);
    const userId = newUserId();
    const token = await env.token(userId);
    const pk: Doc = (await env.pk("GET", OPENAPI)).json;
    const inPk = dataOperations(pk);
    const mine = { title: "t", userId };
    const body: Record<string, unknown> = { POST: mine, PUT: mine, PATCH: { title: "u" } };
    const bodyOf = (method: string, path: string) =>
      path.endsWith("/bulk") ? [mine] : path.endsWith("/aggregate") ? { pipeline: [{ $count: "n" }] } : body[method];

    const checked: string[] = [];
    // The sk document offers every operation, a document's DELETE last.
    const every = [...dataOperations((await env.sk("GET", OPENAPI)).json).keys()];
    for (const name of ["orders", "catalog", "ledger"]) {
      const id = (await env.sk("POST", `/api/data/${name}`, mine)).json.data._id;
      for (const at of every.filter((operation) => operation.includes(`/${name}`))) {
        const [method, path] = at.split(" ") as [string, string];
        const url = path.replace("{id}", id);
        const guest = await env.pk(method, url, { body: bodyOf(method, path) });
        const user = await env.pk(method, url, { token, body: bodyOf(method, path) });
        const op = inPk.get(at);
        if (!op) {
          const blocked = expect.stringMatching(/^(READ|WRITE)_BLOCKED$/);
          expect([at, guest.status, guest.json.code, user.json.code]).toEqual([at, 403, blocked, guest.json.code]);
        } else if (op.security) {
          expect([at, guest.status, guest.json.code, user.status < 300]).toEqual([at, 401, "AUTH_REQUIRED", true]);
        } else {
          expect([at, guest.status < 300]).toEqual([at, true]);
        }
        checked.push(at);
      }
    }
    expect(checked).toHaveLength(24);
  });
});

describe("a write reaches only what the read rule shows", () => {
  it.each([
    ["private mode", { rls: { enabled: true, mode: "private", ownerField: "userId" } }],
    ["a user read rule", { permissions: { list: "user", read: "user" } }],
  ])("%s with guest update and delete: those need the token, as a guest addresses nothing", async (_label, rules) => {
    const { permissions = {}, ...rest } = rules as { permissions?: Record<string, string> };
    await env.defineCollection(
      collection("notes", { ...rest, permissions: { ...permissions, update: "guest", delete: "guest" } }),
    );
    const userId = newUserId();
    const token = await env.token(userId);
    const id = (await env.sk("POST", "/api/data/notes", { title: "t", userId })).json.data._id;
    const guest = await env.pk("PATCH", `/api/data/notes/${id}`, { body: { title: "g" } });
    const user = await env.pk("PATCH", `/api/data/notes/${id}`, { token, body: { title: "u" } });
    expect([guest.status, user.status]).toEqual([404, 200]);
    const item = (await env.pk("GET", OPENAPI)).json.paths["/api/data/notes/{id}"];
    for (const method of ["put", "patch", "delete"]) expect(item[method].security, method).toEqual(USER_ONLY);
  });
});

describe("storage operations", () => {
  it("take an end user's token beside a publishable key, the secret key alone", async () => {
    const [pk, sk] = [(await env.pk("GET", OPENAPI)).json, (await env.sk("GET", OPENAPI)).json];
    for (const [path, method] of [
      ["/api/storage/files", "get"],
      ["/api/storage/upload", "post"],
      ["/api/storage/file", "delete"],
    ] as const) {
      expect(pk.paths[path][method].security, path).toEqual(USER_ONLY);
      expect(sk.paths[path][method].security, path).toEqual([{ apiKey: [] }]);
    }
  });
});
