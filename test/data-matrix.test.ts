/**
 * The key-behaviour matrix of API.md §4.2 as one table: every caller × every rule setup × every
 * operation, with the exact status, code and fixed message, and what the store holds afterwards.
 * Bulk inserts are all or nothing; aggregates answer only what the caller may list (a publishable
 * key needs `aggregate.publishable`: each setup has an `<setup>Agg` twin that allows it).
 * Plus /api/data/users* (blocked for every key) and lookalike keys (rejected, never normalised).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode } from "../shared/errors.js";
import type { ResolvedProject } from "../shared/principal.js";
import type { AccessRule, Operation } from "../shared/schema/definition.js";
import type { Collection } from "../shared/store/types.js";
import { signAccessToken } from "../shared/tokens.js";
import { type CallOptions, call, createTestProject, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";

let env: DataTestEnv;
let tenant: ResolvedProject;
let foreign: { id: string; jwtSecret: string };

/** The rule setups: a collection definition each, and the rule of each operation it should yield (§4.2 table). */
const SETUPS = {
  open: { def: {}, rules: ["guest", "guest", "secret", "secret", "secret"] },
  publicRead: {
    def: { rls: { enabled: true, mode: "public-read" } },
    rules: ["guest", "guest", "owner", "owner", "owner"],
  },
  ownerWriteOnly: {
    def: { rls: { enabled: true, mode: "owner-write-only" } },
    rules: ["guest", "guest", "owner", "owner", "owner"],
  },
  private: { def: { rls: { enabled: true, mode: "private" } }, rules: ["owner", "owner", "owner", "owner", "owner"] },
  createUser: { def: { permissions: { create: "user" } }, rules: ["guest", "guest", "user", "secret", "secret"] },
  ownerRulesNoRls: {
    def: { permissions: { create: "owner", update: "owner", delete: "owner" } },
    rules: ["guest", "guest", "owner", "owner", "owner"],
  },
  privateGuestRead: {
    def: { rls: { enabled: true, mode: "private" }, permissions: { read: "guest" } },
    rules: ["owner", "guest", "owner", "owner", "owner"],
  },
  guestWrites: {
    def: { rls: { enabled: true }, permissions: { create: "guest", update: "guest", delete: "guest" } },
    rules: ["guest", "guest", "guest", "guest", "guest"],
  },
  userWrites: {
    def: { rls: { enabled: true }, permissions: { create: "user", update: "user", delete: "user" } },
    rules: ["guest", "guest", "user", "user", "user"],
  },
  secretReads: {
    def: { rls: { enabled: true }, permissions: { list: "secret", read: "secret" } },
    rules: ["secret", "secret", "owner", "owner", "owner"],
  },
  secretReadsUserWrites: {
    def: { rls: { enabled: true }, permissions: { list: "secret", read: "secret", update: "user", delete: "user" } },
    rules: ["secret", "secret", "owner", "user", "user"],
  },
  privateGuestWrites: {
    def: { rls: { enabled: true, mode: "private" }, permissions: { update: "guest", delete: "guest" } },
    rules: ["owner", "owner", "owner", "guest", "guest"],
  },
  idOwner: {
    def: { rls: { enabled: true, mode: "public-read", ownerField: "_id" } },
    rules: ["guest", "guest", "owner", "owner", "owner"],
  },
} as const satisfies Record<string, { def: Record<string, unknown>; rules: readonly AccessRule[] }>;
type Setup = keyof typeof SETUPS;

const CALLERS = [
  "no key",
  "bad key",
  "pk",
  "pk+owner",
  "pk+other user",
  "pk+foreign token",
  "pk+expired",
  "sk",
  "sk+user token",
] as const;
type CallerName = (typeof CALLERS)[number];

const OPS = [
  "list",
  "get own",
  "get other's",
  "insert",
  "insert as self",
  "insert as other",
  "PUT own",
  "PUT other's",
  "PATCH own",
  "PATCH other's",
  "DELETE own",
  "DELETE other's",
  "PATCH owner change",
  "PUT owner change",
  "bulk",
  "bulk as self",
  "bulk as other",
  "aggregate",
  "aggregate (allowed)",
] as const;
type Op = (typeof OPS)[number];

const operationOf = (op: Op): Operation =>
  op === "list" || op.startsWith("aggregate")
    ? "list"
    : op.startsWith("get")
      ? "read"
      : op.startsWith("insert") || op.startsWith("bulk")
        ? "create"
        : op.startsWith("DELETE")
          ? "delete"
          : "update";

/** What a row expects: an error code, or success with what the store should hold. */
type Expected =
  | { code: ErrorCode }
  | { status: 200 | 201; listed?: Array<"alice" | "bob">; owner?: "alice" | "bob" | "caller" | "none" };

const ownsDocuments = (setup: Setup) => {
  const def = SETUPS[setup].def as { rls?: { enabled?: boolean }; permissions?: Record<string, string> };
  return def.rls?.enabled === true || Object.values(def.permissions ?? {}).includes("owner");
};
const ownerFieldOf = (setup: Setup) => (setup === "idOwner" ? "_id" : "userId");

/**
 * The `userId` a successful update leaves: changed to bob by the owner-change ops; kept by PATCH
 * and by PUT (which keeps the owner field), except where the owner field is `_id` and `userId`
 * is a plain field that a PUT without it drops.
 */
function updatedOwner(setup: Setup, op: Op, docOwner: "alice" | "bob"): "alice" | "bob" | "none" {
  if (op.endsWith("owner change")) return "bob";
  return setup === "idOwner" && op.startsWith("PUT") ? "none" : docOwner;
}

/** The §4.2 contract, written out as a decision per (caller, setup, operation). */
function expected(caller: CallerName, setup: Setup, op: Op): Expected {
  if (caller === "no key") return { code: "API_KEY_MISSING" };
  if (caller === "bad key") return { code: "API_KEY_INVALID" };
  // The secret key never carries an end-user identity: a Bearer token sent with it changes nothing.
  if (caller === "sk+user token") return expected("sk", setup, op);
  // A bulk item is decided as a single insert; its second item is the one that may name an owner.
  if (op.startsWith("bulk")) return expected(caller, setup, op.replace("bulk", "insert") as Op);
  // Aggregating is listing, once the key may aggregate at all (§5: pk only where allowed).
  if (op === "aggregate" && caller !== "sk") return { code: "READ_BLOCKED" };
  if (op.startsWith("aggregate")) return expected(caller, setup, "list");
  const operation = operationOf(op);
  const ownerChange = op.endsWith("owner change");
  const isOwn = op.includes("own") && !op.includes("other");
  const given = op === "insert as other" ? "bob" : op === "insert as self" ? "alice" : "none";
  if (caller === "sk") {
    if (operation === "list") return { status: 200, listed: ["alice", "bob"] };
    if (operation === "read") return { status: 200 };
    if (operation === "create") return { status: 201, owner: given };
    return { status: 200, owner: updatedOwner(setup, op, isOwn ? "alice" : "bob") };
  }
  const rules = SETUPS[setup].rules;
  const rule = rules[["list", "read", "create", "update", "delete"].indexOf(operation)] as AccessRule;
  if (rule === "secret")
    return { code: operation === "list" || operation === "read" ? "READ_BLOCKED" : "WRITE_BLOCKED" };
  if (caller === "pk+foreign token") return { code: "TOKEN_INVALID" };
  if (caller === "pk+expired") return { code: "TOKEN_EXPIRED" };
  const user = caller === "pk+owner" ? "alice" : caller === "pk+other user" ? "bob" : null;
  if (rule !== "guest" && user === null) return { code: "AUTH_REQUIRED" };
  const owns = ownsDocuments(setup);
  switch (operation) {
    case "list":
      return { status: 200, listed: rule === "owner" ? [user as "alice" | "bob"] : ["alice", "bob"] };
    case "read": {
      const docOwner = isOwn ? "alice" : "bob";
      return rule === "owner" && docOwner !== user ? { code: "DOCUMENT_NOT_FOUND" } : { status: 200 };
    }
    case "create": {
      if (user === null && owns && given !== "none") return { code: "OWNER_MISMATCH" }; // a guest is no one
      if (user === null || !owns) return { status: 201, owner: given };
      if (ownerFieldOf(setup) === "_id") return { code: "INSERT_DENIED" };
      if (op === "insert as other" && user !== "bob") return { code: "OWNER_MISMATCH" };
      if (op === "insert as self" && user !== "alice") return { code: "OWNER_MISMATCH" };
      return { status: 201, owner: "caller" };
    }
    default: {
      const docOwner = isOwn || ownerChange ? "alice" : "bob";
      const readRule = rules[1] as AccessRule;
      // A write reaches what the read rule shows: nothing to a guest under an owner or user read rule.
      if (user === null && (readRule === "owner" || readRule === "user")) return { code: "DOCUMENT_NOT_FOUND" };
      // Under a secret read rule (no pk reads at all) the write rule alone confines the write.
      const confinedBy = readRule === "secret" ? rule : readRule;
      if (confinedBy === "owner" && docOwner !== user) return { code: "DOCUMENT_NOT_FOUND" };
      if (rule === "owner" && docOwner !== user) return { code: "OWNER_MISMATCH" };
      if (ownerChange && owns && ownerFieldOf(setup) !== "_id") return { code: "OWNER_IMMUTABLE" };
      return { status: 200, owner: updatedOwner(setup, op, docOwner) };
    }
  }
}

/** Codes whose message API.md §2 fixes. */
const FIXED_MESSAGES: Partial<Record<ErrorCode, string>> = {
  AUTH_REQUIRED: "Authentication required",
  WRITE_BLOCKED: "Write blocked for publishable key",
  OWNER_MISMATCH: "RLS owner mismatch",
  INSERT_DENIED: "Insert denied",
  OWNER_IMMUTABLE: "Owner field immutable",
};

beforeAll(async () => {
  env = await dataTestEnv();
  const principal = await env.deps.projects.resolveKey(env.project.sk);
  tenant = principal!.project;
  const other = await createTestProject(env.deps, "other");
  foreign = { id: other.id, jwtSecret: other.jwtSecret };
  for (const [name, { def }] of Object.entries(SETUPS)) {
    for (const twin of [{ name }, { name: `${name}Agg`, aggregate: { publishable: true } }]) {
      await env.defineCollection({
        fields: [
          { name: "title", type: "string" },
          { name: "tag", type: "string", index: true },
          { name: "userId", type: "string" },
        ],
        ...def,
        ...twin,
      });
    }
  }
});
afterAll(() => env.close());

const store = (name: string): Collection => env.deps.collections.database(tenant).collection(name);

/** Seeds one row's documents straight into the store (`name`: the setup's collection or its twin). */
async function seed(setup: Setup, tag: string, alice: string, bob: string, name: string = setup) {
  const time = new Date(env.clock.now()).toISOString();
  const doc = (owner: string) => ({
    ...(setup === "idOwner" ? { _id: owner } : {}),
    title: "old",
    tag,
    userId: owner,
    createdAt: time,
    updatedAt: time,
  });
  const [aliceDoc, bobDoc] = await store(name).insertMany([doc(alice), doc(bob)]);
  return { aliceDoc: aliceDoc!, bobDoc: bobDoc! };
}

const table = Object.keys(SETUPS).flatMap((setup) =>
  CALLERS.flatMap((caller) => OPS.map((op) => ({ setup: setup as Setup, caller, op }))),
);

describe("§4.2 key-behaviour matrix", () => {
  it.each(table)("$setup · $caller · $op", async ({ setup, caller, op }) => {
    const alice = newUserId();
    const bob = newUserId();
    const tag = newUserId();
    const collection = op === "aggregate (allowed)" ? `${setup}Agg` : setup;
    const { aliceDoc, bobDoc } = await seed(setup, tag, alice, bob, collection);
    const seeded = [aliceDoc, bobDoc].sort((a, b) => (a._id < b._id ? -1 : 1));
    const name = (who: "alice" | "bob") => (who === "alice" ? alice : bob);

    const options: CallOptions = {};
    if (caller === "bad key") options.key = `${env.project.pk.slice(0, -4)}AAAA`;
    else if (caller.startsWith("sk")) options.key = env.project.sk;
    else if (caller !== "no key") options.key = env.project.pk;
    const now = env.clock.now();
    if (caller === "pk+owner" || caller === "sk+user token") options.token = await env.token(alice);
    if (caller === "pk+other user") options.token = await env.token(bob);
    if (caller === "pk+foreign token")
      options.token = (await signAccessToken(foreign, alice, { now, ttlSeconds: 900 })).token;
    if (caller === "pk+expired")
      options.token = (await signAccessToken(env.project, alice, { now: now - 3_600_000, ttlSeconds: 900 })).token;

    const base = `/api/data/${collection}`;
    const own = `${base}/${aliceDoc._id}`;
    const others = `${base}/${bobDoc._id}`;
    const item = { title: "new", tag };
    // The group sees every document the leading read-rule $match lets through: only those may count.
    const pipeline = [{ $match: { tag } }, { $group: { _id: "$tag", ids: { $push: "$_id" }, n: { $sum: 1 } } }];
    const requests: Record<Op, [string, string, unknown?]> = {
      list: ["GET", `${base}?tag=${tag}&sort=title,userId`],
      "get own": ["GET", own],
      "get other's": ["GET", others],
      insert: ["POST", base, { title: "new", tag }],
      "insert as self": ["POST", base, { title: "new", tag, userId: alice }],
      "insert as other": ["POST", base, { title: "new", tag, userId: bob }],
      "PUT own": ["PUT", own, { title: "new", tag }],
      "PUT other's": ["PUT", others, { title: "new", tag }],
      "PATCH own": ["PATCH", own, { title: "new" }],
      "PATCH other's": ["PATCH", others, { title: "new" }],
      "DELETE own": ["DELETE", own],
      "DELETE other's": ["DELETE", others],
      "PATCH owner change": ["PATCH", own, { title: "new", userId: bob }],
      "PUT owner change": ["PUT", own, { title: "new", tag, userId: bob }],
      bulk: ["POST", `${base}/bulk`, [item, item]],
      "bulk as self": ["POST", `${base}/bulk`, [item, { ...item, userId: alice }]],
      "bulk as other": ["POST", `${base}/bulk`, [item, { ...item, userId: bob }]],
      aggregate: ["POST", `${base}/aggregate`, { pipeline }],
      "aggregate (allowed)": ["POST", `${base}/aggregate`, { pipeline }],
    };
    const [method, path, body] = requests[op];
    const res = await call(env.app, method, path, { ...options, ...(body === undefined ? {} : { body }) });
    const want = expected(caller, setup, op);
    const stored = await store(collection).find({ tag }, { sort: { _id: 1 } });

    if ("code" in want) {
      expect({ status: res.status, code: res.json?.code }).toEqual({
        status: ERROR_CODES[want.code][0],
        code: want.code,
      });
      expect(res.json.success).toBe(false);
      const fixed = FIXED_MESSAGES[want.code];
      if (fixed) expect(res.json.message).toBe(fixed);
      // A bulk refused for one item names it (the second, or the first when every insert is denied).
      const itemCode = op.startsWith("bulk") && (want.code === "OWNER_MISMATCH" || want.code === "INSERT_DENIED");
      // AUTH_REQUIRED's details say what to send (its message is fixed).
      if (want.code === "AUTH_REQUIRED") {
        expect(res.json.details).toEqual([{ path: "authorization", message: expect.stringContaining("Bearer") }]);
      } else {
        expect(res.json.details?.map((d: { index: number }) => d.index)).toEqual(
          itemCode ? [want.code === "INSERT_DENIED" ? 0 : 1] : undefined,
        );
      }
      // Nothing changed, and nothing stored was shown.
      expect(stored).toEqual(seeded);
      for (const doc of seeded) expect(res.text).not.toContain(doc._id);
      return;
    }
    expect({ status: res.status, code: res.json?.code }).toEqual({ status: want.status, code: undefined });
    const data = res.json.data;
    const operation = operationOf(op);
    const userId = caller === "pk+owner" ? alice : caller === "pk+other user" ? bob : undefined;
    const ownerOf = (w: Expected) =>
      "code" in w || w.owner === "caller" ? userId : w.owner === "none" ? undefined : name(w.owner as "alice" | "bob");
    if (op.startsWith("aggregate")) {
      const ids = want.listed!.map((who) => (who === "alice" ? aliceDoc._id : bobDoc._id)).sort();
      expect(data.items).toHaveLength(1);
      expect(data.items[0]._id).toBe(tag);
      expect([...data.items[0].ids].sort()).toEqual(ids);
      expect(data.items[0].n).toBe(ids.length);
      expect(stored).toEqual(seeded);
    } else if (op.startsWith("bulk")) {
      // All or nothing passed: both items stored, the first as a plain insert, the second as the row's insert.
      expect(stored).toHaveLength(4);
      expect(data.insertedCount).toBe(2);
      const owners = [ownerOf(expected(caller, setup, "insert")), ownerOf(want)];
      expect(data.items.map((d: { userId?: string }) => d.userId)).toEqual(owners);
      for (const item of data.items) {
        expect(item.createdBy).toBe(userId);
        expect(stored.find((d) => d._id === item._id)).toMatchObject({ title: "new", tag });
        expect(stored.find((d) => d._id === item._id)?.userId).toBe(item.userId);
      }
    } else if (operation === "list") {
      const ids = want.listed!.map((who) => (who === "alice" ? aliceDoc._id : bobDoc._id)).sort();
      expect(data.items.map((d: { _id: string }) => d._id).sort()).toEqual(ids);
      expect(data.total).toBe(ids.length);
    } else if (operation === "read") {
      expect(data._id).toBe(op === "get own" ? aliceDoc._id : bobDoc._id);
    } else if (operation === "create") {
      expect(stored).toHaveLength(3);
      expect(data.userId).toBe(ownerOf(want));
      expect(data.createdBy).toBe(userId);
      expect(stored.find((d) => d._id === data._id)).toMatchObject({ title: "new", tag });
    } else if (operation === "delete") {
      expect(data).toEqual({ _id: data.id, id: op === "DELETE own" ? aliceDoc._id : bobDoc._id, deleted: true });
      expect(stored.map((d) => d._id)).toEqual([op === "DELETE own" ? bobDoc._id : aliceDoc._id]);
    } else {
      const target = op.includes("other's") ? bobDoc : aliceDoc;
      const after = stored.find((d) => d._id === target._id)!;
      expect(after).toMatchObject({ title: "new", tag });
      expect(after.userId).toBe(want.owner === "none" ? undefined : name(want.owner as "alice" | "bob"));
      expect(res.headers.get("etag")).toBe(`"${Date.parse(after.updatedAt as string).toString(36)}"`);
      if (!caller.startsWith("sk") && SETUPS[setup].rules[1] === "secret") {
        // A caller that may not read wrote blind: the answer shows no field of the document.
        expect(data).toEqual({ _id: target._id, id: target._id, updatedAt: after.updatedAt });
        return;
      }
      expect(data).toMatchObject({ _id: target._id, title: "new", createdAt: target.createdAt });
      expect(data.userId).toBe(after.userId);
    }
  });
});

describe("/api/data/users* is closed to every key", () => {
  const paths = [
    "/api/data/users",
    "/api/data/USERS",
    "/api/data/Users/x",
    "/api/data/uSeRs/507f1f77bcf86cd799439011",
    "/api/data/users/bulk",
    "/api/data/users/aggregate",
    "/api/data/users?limit=1",
    "/api/data/users%2Fx",
    "/api/data/%75sers",
    "/api/data/%55SERS/x",
  ];
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
  const keys = ["pk", "pk+token", "sk"] as const;
  const table = paths.flatMap((path) => methods.flatMap((method) => keys.map((key) => ({ path, method, key }))));

  beforeAll(async () => {
    // Even a defined `users` collection (extra profile fields) is unreachable here.
    await env.sk("POST", "/api/schemas", { name: "users", fields: [{ name: "bio", type: "string" }] });
  });

  it.each(table)("$method $path with $key → 403 USERS_COLLECTION_BLOCKED", async ({ path, method, key }) => {
    const options: CallOptions = { key: key === "sk" ? env.project.sk : env.project.pk };
    if (key === "pk+token") options.token = await env.token(newUserId());
    if (method !== "GET" && method !== "DELETE") options.body = { bio: "x" };
    const res = await call(env.app, method, path, options);
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ success: false, code: "USERS_COLLECTION_BLOCKED" });
  });

  it("still asks for a key first", async () => {
    const res = await call(env.app, "GET", "/api/data/users");
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("API_KEY_MISSING");
  });

  it("does not block collections that merely start with users", async () => {
    const res = await env.sk("POST", "/api/data/usersArchive", { a: 1 });
    expect(res.status).toBe(201);
  });
});

describe("lookalike keys are rejected, never normalised into the owner field", () => {
  const lookalikes = [
    " userId",
    "userId ",
    "userid",
    "USERID",
    "user\u200bId",
    "user\u00a0Id",
    "\uff55serId",
    "userI\u0064\u200d",
  ];
  const table = lookalikes.flatMap((key) =>
    (["POST", "PUT", "PATCH"] as const).flatMap((method) =>
      (["pk+owner", "sk"] as const).map((caller) => ({ key, method, caller })),
    ),
  );

  it.each(table)("$method with key $key as $caller → 400 INVALID_FIELD_NAME", async ({ key, method, caller }) => {
    const alice = newUserId();
    const bob = newUserId();
    const tag = newUserId();
    const { aliceDoc, bobDoc } = await seed("publicRead", tag, alice, bob);
    const options: CallOptions =
      caller === "sk" ? { key: env.project.sk } : { key: env.project.pk, token: await env.token(alice) };
    const path = method === "POST" ? "/api/data/publicRead" : `/api/data/publicRead/${aliceDoc._id}`;
    // A raw JSON body, so the key reaches the server exactly as written.
    const body = `{"title":"new","tag":"${tag}",${JSON.stringify(key)}:"${bob}"}`;
    const res = await call(env.app, method, path, { ...options, body });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("INVALID_FIELD_NAME");
    expect(res.json.details[0].path).toBe(key);
    const stored = await store("publicRead").find({ tag }, { sort: { _id: 1 } });
    expect(stored).toEqual([aliceDoc, bobDoc].sort((a, b) => (a._id < b._id ? -1 : 1)));
  });
});
