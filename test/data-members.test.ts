/**
 * Member lists: an owner field declared `array` of user ids (`members`), each of whom owns the
 * document. Through HTTP on the embedded store: the caller matrix of a `private` collection on every
 * read and write path, inserts naming or leaving out the list, the list immutable for pk callers,
 * `public-read` with `publicWhen`, per-channel messages holding a copy of the channel's list, and
 * paging a few hundred documents by a member (arrays are irregular index entries).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { type CallResult, call, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { answerChecker, bodyChecker, openApiProblems } from "./openapi-helpers.js";

let env: DataTestEnv;
let alice: string;
let bob: string;
let carol: string;
/** alice's channel with bob, alice's own channel (no list sent), carol's channel. */
let ids: { shared: string; aliceOnly: string; carols: string };

const CHANNELS = {
  name: "channels",
  fields: [
    { name: "name", type: "string" },
    { name: "members", type: "array", items: { type: "ref", ref: "users" } },
  ],
  rls: { enabled: true, mode: "private", ownerField: "members" },
};

type Caller = "no key" | "bad key" | "guest" | "alice" | "bob" | "carol" | "sk";
const CALLERS: Caller[] = ["no key", "bad key", "guest", "alice", "bob", "carol", "sk"];

async function as(caller: Caller, method: string, path: string, body?: unknown): Promise<CallResult> {
  const { project } = env;
  const keys: Record<string, string | null> = {
    "no key": null,
    "bad key": `${project.pk.slice(0, -4)}zzzz`,
    sk: project.sk,
  };
  const users: Record<string, string> = { alice, bob, carol };
  const user = users[caller];
  const token = user ? await env.token(user) : null;
  return call(env.app, method, path, { key: caller in keys ? keys[caller] : project.pk, token, body });
}

/** What each caller may read of the three channels (null: refused, 401). */
const SEES: Record<Caller, Array<keyof typeof ids> | null> = {
  "no key": null,
  "bad key": null,
  guest: null,
  alice: ["shared", "aliceOnly"],
  bob: ["shared"],
  carol: ["carols"],
  sk: ["shared", "aliceOnly", "carols"],
};
const seen = (caller: Caller) => (SEES[caller] ?? []).map((name) => ids[name]).sort();
const idsOf = (items: Array<{ _id: string }>) => items.map((item) => item._id).sort();

async function insertAs(caller: Caller, path: string, body: unknown): Promise<string> {
  const res = await as(caller, "POST", path, body);
  expect(res.status, res.text).toBe(201);
  return res.json.data._id as string;
}

beforeEach(async () => {
  env = await dataTestEnv({ settings: { data: { publishableAggregate: true } } });
  [alice, bob, carol] = [newUserId(), newUserId(), newUserId()];
  await env.defineCollection(CHANNELS);
  await env.defineCollection({ name: "pins", fields: [{ name: "channel", type: "ref", ref: "channels" }] });
  ids = {
    shared: await insertAs("alice", "/api/data/channels", { name: "ours", members: [alice, bob] }),
    aliceOnly: await insertAs("alice", "/api/data/channels", { name: "mine" }),
    carols: await insertAs("carol", "/api/data/channels", { name: "carol's" }),
  };
});

describe("the definition", () => {
  it("fills in maxLength 100 and shows the list as it is stored", async () => {
    const res = await env.sk("GET", "/api/schemas/channels");
    expect(res.json.data.collection.fields[1]).toEqual({
      name: "members",
      type: "array",
      required: false,
      maxLength: 100,
      items: { type: "ref", ref: "users" },
    });
  });

  it.each([
    ["items of another type", { type: "array", items: { type: "number" } }, "fields.0.items.type"],
    ["no items", { type: "array" }, "fields.0.items.type"],
    ["items with an enum", { type: "array", items: { type: "string", enum: ["a"] } }, "fields.0.items.enum"],
    [
      "items shorter than an id",
      { type: "array", items: { type: "string", maxLength: 10 } },
      "fields.0.items.maxLength",
    ],
    [
      "items longer than an id",
      { type: "array", items: { type: "string", minLength: 30 } },
      "fields.0.items.minLength",
    ],
    ["a list of at least two", { type: "array", minLength: 2, items: { type: "string" } }, "fields.0.minLength"],
    ["more than 100 members", { type: "array", maxLength: 101, items: { type: "string" } }, "fields.0.maxLength"],
    ["a unique list", { type: "array", unique: true, items: { type: "string" } }, "fields.0.unique"],
  ])("refuses a member list with %s (400 at the property)", async (_, field, path) => {
    const res = await env.sk("POST", "/api/schemas", {
      name: "rooms",
      fields: [{ name: "members", ...field }],
      rls: { enabled: true, mode: "private", ownerField: "members" },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it("keeps a declared maxLength up to 100, and a private list", async () => {
    await env.defineCollection({
      name: "rooms",
      fields: [
        { name: "topic", type: "string" },
        { name: "members", type: "array", maxLength: 3, private: true, items: { type: "string" } },
      ],
      rls: { enabled: true, mode: "public-read", ownerField: "members" },
    });
    const stored = (await env.sk("GET", "/api/schemas/rooms")).json.data.collection.fields[1];
    expect(stored).toMatchObject({ maxLength: 3, private: true });
    // Private: a member's reads and writes work without ever showing who is in it.
    const room = await insertAs("alice", "/api/data/rooms", { members: [alice, bob] });
    const got = await as("bob", "PATCH", `/api/data/rooms/${room}`, { topic: "x" });
    expect(got.status, got.text).toBe(200);
    expect(got.text).not.toContain(alice);
    expect((await as("carol", "PATCH", `/api/data/rooms/${room}`, { topic: "y" })).json.code).toBe("OWNER_MISMATCH");
    expect((await as("sk", "GET", `/api/data/rooms/${room}`)).json.data).toMatchObject({ members: [alice, bob] });
    const four = [alice, bob, carol, newUserId()];
    expect((await as("sk", "PATCH", `/api/data/rooms/${room}`, { members: four })).status).toBe(400);
  });
});

describe("the caller matrix of a private collection", () => {
  it.each(CALLERS)("list: %s sees the channels naming them", async (caller) => {
    const res = await as(caller, "GET", "/api/data/channels");
    if (SEES[caller] === null) return expect(res.status).toBe(401);
    expect(res.status, res.text).toBe(200);
    expect(idsOf(res.json.data.items)).toEqual(seen(caller));
    expect(res.json.data.total).toBe(seen(caller).length);
  });

  it.each(CALLERS)("count: %s counts the channels naming them", async (caller) => {
    const res = await as(caller, "GET", "/api/data/channels?count=true");
    if (SEES[caller] === null) return expect(res.status).toBe(401);
    expect(res.json.data).toEqual({ count: seen(caller).length });
  });

  it.each(CALLERS)("get: %s reads a channel only as a member", async (caller) => {
    for (const name of ["shared", "aliceOnly", "carols"] as const) {
      const res = await as(caller, "GET", `/api/data/channels/${ids[name]}`);
      if (SEES[caller] === null) expect(res.status).toBe(401);
      else expect(res.status, `${name}: ${res.text}`).toBe(SEES[caller]?.includes(name) ? 200 : 404);
    }
  });

  it.each(CALLERS)("aggregate: %s's pipeline starts from the channels naming them", async (caller) => {
    const res = await as(caller, "POST", "/api/data/channels/aggregate", { pipeline: [{ $sort: { name: 1 } }] });
    if (SEES[caller] === null) return expect(res.status).toBe(401);
    expect(res.status, res.text).toBe(200);
    expect(idsOf(res.json.data.items)).toEqual(seen(caller));
  });

  it.each(CALLERS)("populate: %s sees a pinned channel only as a member", async (caller) => {
    const pin = await insertAs("sk", "/api/data/pins", { channel: ids.shared });
    const res = await as(caller, "GET", `/api/data/pins/${pin}?populate=channel`);
    if (caller === "no key" || caller === "bad key") return expect(res.status).toBe(401);
    expect(res.status, res.text).toBe(200);
    const member = caller === "alice" || caller === "bob" || caller === "sk";
    expect(res.json.data.channel).toEqual(member ? expect.objectContaining({ _id: ids.shared }) : null);
  });
});

describe("inserts by a member", () => {
  it("without the list, the creator is its one member", async () => {
    const res = await as("bob", "POST", "/api/data/channels", { name: "solo" });
    expect(res.json.data.members).toEqual([bob]);
  });

  it("with a list that names the creator, the list is kept (in bulk too)", async () => {
    const res = await as("bob", "POST", "/api/data/channels", { name: "trio", members: [carol, bob, alice] });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.members).toEqual([carol, bob, alice]);
    const carolSees = await as("carol", "GET", `/api/data/channels/${res.json.data._id}`);
    expect(carolSees.status).toBe(200);
    const bulk = await as("bob", "POST", "/api/data/channels/bulk", [
      { name: "a" },
      { name: "b", members: [bob, carol] },
    ]);
    expect(bulk.status, bulk.text).toBe(201);
    expect(bulk.json.data.items.map((item: { members: string[] }) => item.members)).toEqual([[bob], [bob, carol]]);
  });

  it.each<[string, unknown, number, string]>([
    ["a list without the creator", ["alice"], 403, "OWNER_MISMATCH"],
    ["an empty list", [], 403, "OWNER_MISMATCH"],
    ["one id, not a list", "bob", 400, "VALIDATION_FAILED"],
    ["a list holding something else", ["bob", "not an id"], 400, "VALIDATION_FAILED"],
    ["a list naming the creator twice", ["bob", "bob"], 400, "VALIDATION_FAILED"],
  ])("refuses %s", async (_, members, status, code) => {
    const named = JSON.parse(
      JSON.stringify(members).replaceAll('"bob"', `"${bob}"`).replaceAll('"alice"', `"${alice}"`),
    );
    const res = await as("bob", "POST", "/api/data/channels", { name: "x", members: named });
    expect(res.status, res.text).toBe(status);
    expect(res.json.code).toBe(code);
    const bulk = await as("bob", "POST", "/api/data/channels/bulk", [{ name: "ok" }, { name: "x", members: named }]);
    expect(bulk.status).toBe(status);
    expect((await as("sk", "GET", "/api/data/channels?count=true")).json.data.count).toBe(3);
  });

  it("a guest inserts nothing here (create: owner), and more than 100 members is 400 for every key", async () => {
    expect((await as("guest", "POST", "/api/data/channels", { name: "x" })).status).toBe(401);
    const many = [bob, ...Array.from({ length: 100 }, newUserId)];
    expect((await as("bob", "POST", "/api/data/channels", { members: many })).status).toBe(400);
    expect((await as("sk", "POST", "/api/data/channels", { members: many })).status).toBe(400);
    expect((await as("sk", "POST", "/api/data/channels", { members: many.slice(0, 100) })).status).toBe(201);
  });
});

describe("writes to a channel", () => {
  const path = () => `/api/data/channels/${ids.shared}`;

  it("a member may PATCH and PUT other fields, sending the list unchanged or not at all", async () => {
    expect((await as("bob", "PATCH", path(), { name: "renamed" })).status).toBe(200);
    expect((await as("bob", "PATCH", path(), { name: "again", members: [alice, bob] })).status).toBe(200);
    expect((await as("bob", "PUT", path(), { name: "replaced" })).json.data.members).toEqual([alice, bob]);
    const put = await as("alice", "PUT", path(), { name: "whole", members: [alice, bob] });
    expect(put.status, put.text).toBe(200);
    expect(put.json.data).toMatchObject({ name: "whole", members: [alice, bob] });
  });

  it.each<[string, (a: string, b: string, c: string) => unknown]>([
    ["adds a member", (a, b, c) => [a, b, c]],
    ["removes a member", (a) => [a]],
    ["leaves", (_a, b) => [b]],
    ["reorders it", (a, b) => [b, a]],
    ["empties it", () => []],
    ["sets it to null", () => null],
  ])("a pk update that %s is 403 OWNER_IMMUTABLE (PUT and PATCH)", async (_, next) => {
    const members = next(alice, bob, carol);
    for (const method of ["PATCH", "PUT"]) {
      const res = await as("bob", method, path(), { name: "x", members });
      expect(res.status, res.text).toBe(403);
      expect(res.json.code).toBe("OWNER_IMMUTABLE");
    }
    expect((await as("sk", "GET", path())).json.data).toMatchObject({ name: "ours", members: [alice, bob] });
  });

  it("a non-member's write is 404 (the channel is hidden); the sk changes the list", async () => {
    for (const method of ["PATCH", "PUT", "DELETE"]) {
      const res = await as("carol", method, path(), method === "DELETE" ? undefined : { name: "x" });
      expect(res.status, `${method}: ${res.text}`).toBe(404);
    }
    const added = await as("sk", "PATCH", path(), { members: [alice, bob, carol] });
    expect(added.status).toBe(200);
    expect((await as("carol", "GET", path())).status).toBe(200);
  });

  it("any member may delete it; a guest is 401", async () => {
    expect((await as("guest", "DELETE", path())).status).toBe(401);
    const res = await as("bob", "DELETE", path());
    expect(res.status, res.text).toBe(200);
    expect((await as("alice", "GET", path())).status).toBe(404);
  });
});

describe("public-read with publicWhen", () => {
  beforeEach(async () => {
    await env.defineCollection({
      name: "rooms",
      fields: [
        { name: "name", type: "string" },
        { name: "open", type: "boolean", default: false },
        { name: "members", type: "array", items: { type: "string" } },
      ],
      rls: { enabled: true, mode: "public-read", ownerField: "members", publicWhen: { open: true } },
    });
  });

  it("shows open rooms to everyone and closed ones to their members; writes need membership", async () => {
    const open = await insertAs("alice", "/api/data/rooms", { name: "lobby", open: true });
    const closed = await insertAs("alice", "/api/data/rooms", { name: "back", members: [alice, bob] });
    const names = async (caller: Caller) =>
      (await as(caller, "GET", "/api/data/rooms?sort=name")).json.data.items.map((r: { name: string }) => r.name);
    expect(await names("guest")).toEqual(["lobby"]);
    expect(await names("carol")).toEqual(["lobby"]);
    expect(await names("bob")).toEqual(["back", "lobby"]);
    expect((await as("carol", "GET", `/api/data/rooms/${closed}`)).status).toBe(404);
    expect((await as("bob", "GET", `/api/data/rooms/${closed}`)).status).toBe(200);
    expect((await as("carol", "PATCH", `/api/data/rooms/${open}`, { name: "mine" })).json.code).toBe("OWNER_MISMATCH");
    expect((await as("bob", "PATCH", `/api/data/rooms/${closed}`, { open: true })).status).toBe(200);
    expect(await names("carol")).toEqual(["back", "lobby"]);
  });
});

describe("per-channel messages: the client copies the channel's list", () => {
  it("a message reaches the members its copy names", async () => {
    await env.defineCollection({
      name: "messages",
      fields: [
        { name: "channel", type: "ref", ref: "channels" },
        { name: "text", type: "string" },
        { name: "members", type: "array", items: { type: "ref" } },
      ],
      rls: { enabled: true, mode: "private", ownerField: "members" },
    });
    const channel = (await as("bob", "GET", `/api/data/channels/${ids.shared}`)).json.data;
    const body = { channel: channel._id, text: "hi", members: channel.members };
    await insertAs("bob", "/api/data/messages", body);
    const of = async (caller: Caller) =>
      (await as(caller, "GET", `/api/data/messages?channel=${ids.shared}`)).json.data.items.length;
    expect([await of("alice"), await of("bob"), await of("carol")]).toEqual([1, 1, 0]);
    // A copy must still name its sender: carol cannot post into a list she is not in.
    const res = await as("carol", "POST", "/api/data/messages", { ...body, text: "let me in" });
    expect(res.json.code).toBe("OWNER_MISMATCH");
  });
});

describe("OpenAPI", () => {
  it("shows the list as user ids, and pk bodies as distinct ids that real answers and bodies fit", async () => {
    const doc = (await as("alice", "GET", "/api/schemas/openapi.json")).json;
    expect(await openApiProblems(doc)).toBe("");
    const { schemas } = doc.components;
    expect(schemas["channels.insert"].properties.members).toMatchObject({
      type: ["array", "null"],
      items: { pattern: "^[0-9a-f]{24}$" },
      uniqueItems: true,
      maxItems: 100,
      description: expect.stringMatching(/must name the caller.*only unchanged/),
    });
    expect(schemas["channels.patch"].properties.members).toMatchObject({ uniqueItems: true });
    expect(schemas.channels.properties.members.description).toMatch(/only unchanged/);
    const body = bodyChecker(doc);
    expect(body("/api/data/channels", "post", { name: "x", members: [alice, bob] })).toBeNull();
    expect(body("/api/data/channels", "post", { members: [alice, alice] })).not.toBeNull();
    const got = await as("alice", "GET", `/api/data/channels/${ids.shared}`);
    expect(answerChecker(doc)("/api/data/channels/{id}", "get", 200, got.json)).toBeNull();
    const secret = (await as("sk", "GET", "/api/schemas/openapi.json")).json.components.schemas;
    expect(secret["channels.insert"].properties.members.uniqueItems).toBeUndefined();
  });
});

describe("paging by a member on the embedded store", () => {
  it("a sorted, cursor-paged list of a few hundred channels misses none", async () => {
    const members = (i: number) => [newUserId(), ...(i % 3 === 0 ? [carol] : []), ...(i % 5 === 0 ? [bob] : [])];
    const docs = Array.from({ length: 300 }, (_, i) => ({
      name: `c${String(i).padStart(3, "0")}`,
      members: members(i),
    }));
    for (let at = 0; at < docs.length; at += 100) {
      expect((await as("sk", "POST", "/api/data/channels/bulk", docs.slice(at, at + 100))).status).toBe(201);
    }
    const expected = docs.filter((_, i) => i % 3 === 0).map((doc) => doc.name);
    for (const [sort, order] of [
      ["name", [...expected].sort()],
      ["-name", [...expected].sort().reverse()],
      ["-createdAt", null],
    ] as const) {
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/api/data/channels?sort=${sort}&limit=17${cursor ? `&cursor=${cursor}` : ""}`;
        const res: CallResult = await as("carol", "GET", query);
        expect(res.status, res.text).toBe(200);
        names.push(...res.json.data.items.map((item: { name: string }) => item.name));
        cursor = res.json.data.nextCursor;
      } while (cursor);
      // carol's own channel is in every order too.
      const ownName = "carol's";
      if (order) expect(names.filter((n) => n !== ownName)).toEqual(order);
      expect([...names].sort()).toEqual([...expected, ownName].sort());
    }
    const filtered = await as("sk", "GET", `/api/data/channels?members=${bob}&count=true`);
    expect(filtered.json.data.count).toBe(docs.filter((_, i) => i % 5 === 0).length + 1);
  });
});

describe("what a member list does not tell or change", () => {
  it("a private list cannot be confirmed by a guess: a pk body naming it is refused, right or wrong", async () => {
    await env.defineCollection({
      name: "dms",
      fields: [
        { name: "topic", type: "string" },
        { name: "members", type: "array", private: true, items: { type: "string" } },
      ],
      rls: { enabled: true, mode: "public-read", ownerField: "members" },
      permissions: { update: "user" },
    });
    const id = (await as("alice", "POST", "/api/data/dms", { topic: "t", members: [alice, bob] })).json.data._id;
    expect((await as("carol", "GET", `/api/data/dms/${id}`)).json.data.members).toBeUndefined();
    for (const guess of [
      [alice, carol],
      [alice, bob],
    ]) {
      for (const caller of ["carol", "alice"] as const) {
        const res = await as(caller, "PATCH", `/api/data/dms/${id}`, { members: guess });
        expect([caller, res.status, res.json.code]).toEqual([caller, 403, "OWNER_IMMUTABLE"]);
      }
    }
    // Without the list, a write keeps it.
    expect((await as("alice", "PATCH", `/api/data/dms/${id}`, { topic: "u" })).status).toBe(200);
    expect((await as("sk", "GET", `/api/data/dms/${id}`)).json.data.members).toEqual([alice, bob]);
  });

  it("an owner field that is not a declared list keeps one owner, whatever the secret key stored in it", async () => {
    await env.defineCollection({
      name: "notes",
      fields: [
        { name: "n", type: "string" },
        { name: "userId", type: "any" },
      ],
      rls: { enabled: true, mode: "public-read" },
    });
    const id = (await as("sk", "POST", "/api/data/notes", { n: "x", userId: [alice, bob] })).json.data._id;
    expect((await as("bob", "PUT", `/api/data/notes/${id}`, { n: "bob was here" })).json.code).toBe("OWNER_MISMATCH");
    expect((await as("bob", "DELETE", `/api/data/notes/${id}`)).json.code).toBe("OWNER_MISMATCH");
  });
});

describe("owner fields the caller cannot read, after review", () => {
  it("a pk PUT of the document as read keeps a private or readonly owner it does not send (scalar and list)", async () => {
    for (const [name, owner] of [
      ["scalar", { name: "userId", type: "string", private: true, readonly: true }],
      ["list", { name: "members", type: "array", private: true, readonly: true, items: { type: "string" } }],
    ] as const) {
      await env.defineCollection({
        name,
        fields: [{ name: "topic", type: "string" }, owner],
        rls: { enabled: true, mode: "private", ownerField: owner.name },
      });
      const id = (await as("alice", "POST", `/api/data/${name}`, { topic: "a" })).json.data._id;
      const put = await as("alice", "PUT", `/api/data/${name}/${id}`, { topic: "b" });
      expect([name, put.status, put.json.data?.topic]).toEqual([name, 200, "b"]);
      expect((await as("sk", "GET", `/api/data/${name}/${id}`)).json.data[owner.name]).toEqual(
        owner.type === "array" ? [alice] : alice,
      );
    }
  });

  it("an owner naming their own id in a private scalar owner field passes (only an owner may update: no guess to confirm)", async () => {
    await env.defineCollection({
      name: "notes",
      fields: [
        { name: "topic", type: "string" },
        { name: "userId", type: "string", private: true },
      ],
      rls: { enabled: true, mode: "private", ownerField: "userId" },
    });
    const id = (await as("alice", "POST", "/api/data/notes", { topic: "a", userId: alice })).json.data._id;
    expect((await as("alice", "PATCH", `/api/data/notes/${id}`, { topic: "b", userId: alice })).status).toBe(200);
  });

  it("a pk PATCH of a document whose list the secret key left out (or stored before the field was a list) keeps it", async () => {
    await env.defineCollection({ ...CHANNELS, name: "open", permissions: { update: "user", read: "user" } });
    const id = (await as("sk", "POST", "/api/data/open", { name: "no list" })).json.data._id;
    const patched = await as("bob", "PATCH", `/api/data/open/${id}`, { name: "renamed" });
    expect([patched.status, patched.json.data?.name]).toEqual([200, "renamed"]);
  });

  it("a PUT of a document stored while its owner field held one id makes that id the list (the owner field became a list since)", async () => {
    const notes = (ownerType: Record<string, unknown>) => ({
      name: "notes",
      fields: [
        { name: "title", type: "string" },
        { name: "userId", ...ownerType },
      ],
      rls: { enabled: true, mode: "private", ownerField: "userId" },
    });
    await env.defineCollection(notes({ type: "string" }));
    const [left, asRead, bySk] = await Promise.all(
      [1, 2, 3].map(async () => (await as("alice", "POST", "/api/data/notes", { title: "a" })).json.data._id),
    );
    const change = await as("sk", "PATCH", "/api/schemas/notes", {
      fields: [notes({ type: "array", items: { type: "string" } }).fields[1]],
    });
    expect(change.status).toBe(200);
    const puts = [
      await as("alice", "PUT", `/api/data/notes/${left}`, { title: "b" }), // the SDK's update, owner left out
      await as("alice", "PUT", `/api/data/notes/${asRead}`, { title: "b", userId: alice }), // sent back as read
      await as("sk", "PUT", `/api/data/notes/${bySk}`, { title: "b" }),
    ];
    expect(puts.map((res) => [res.status, res.json.data?.userId])).toEqual(Array(3).fill([200, [alice]]));
    expect((await as("bob", "PUT", `/api/data/notes/${left}`, { title: "c" })).status).toBe(404);
    expect((await as("alice", "PUT", `/api/data/notes/${left}`, { title: "c", userId: [alice, bob] })).json.code).toBe(
      "OWNER_IMMUTABLE",
    );
  });
});
