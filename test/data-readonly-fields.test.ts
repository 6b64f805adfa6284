/**
 * Readonly fields (`readonly: true`, API.md §4.1): only the secret key changes them, at any depth. A
 * publishable-key insert, PUT, PATCH or bulk insert that would change one (`null` too) is 400 and
 * writes nothing; one that carries it unchanged (the stored value, the default on an insert or a new
 * array item) passes, so a document read can be written back whole; without naming it, its default
 * applies on insert and a PUT or PATCH keeps the stored value. The definition shows the flag and keeps
 * it through a GET → PUT round trip; the pk OpenAPI document marks it `readOnly` and leaves it out of
 * the pk bodies.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { bodyChecker } from "./openapi-helpers.js";

const READONLY = "is readonly: only the secret key can set it";
const OWNER = "65f0a1b2c3d4e5f601234567";

/** The marketplace's orders: the server marks an order paid, references the payment and prices the lines. */
const ORDERS = {
  name: "orders",
  fields: [
    { name: "listing", type: "string", required: true },
    { name: "status", type: "string", enum: ["pending", "paid"], default: "pending", readonly: true },
    {
      name: "payment",
      type: "object",
      fields: [
        { name: "method", type: "string" },
        { name: "reference", type: "string", readonly: true },
      ],
    },
    {
      name: "lines",
      type: "array",
      items: {
        type: "object",
        fields: [
          { name: "sku", type: "string" },
          { name: "price", type: "number", readonly: true, default: 0 },
        ],
      },
    },
    { name: "fraudScore", type: "number", readonly: true, private: true },
  ],
  rls: { enabled: true, mode: "private" },
};

/** As the sk stores it: every readonly value set. */
const PAID = {
  listing: "bike",
  status: "paid",
  payment: { method: "card", reference: "pi_123" },
  lines: [
    { sku: "a", price: 10 },
    { sku: "b", price: 20 },
  ],
  fraudScore: 3,
};

let env: DataTestEnv;
let token: string;
beforeEach(async () => {
  env = await dataTestEnv();
  token = await env.token(OWNER);
  await env.defineCollection(ORDERS);
});
afterEach(() => env.close());

const refused = (...paths: string[]) => ({
  code: "VALIDATION_FAILED",
  details: paths.map((path) => ({ path, message: READONLY })),
});
const skStored = async (id: string) => (await env.sk("GET", `/api/data/orders/${id}`)).json.data;
const skCount = async () => (await env.sk("GET", "/api/data/orders?count=true")).json.data.count;
const pkWrite = (method: string, path: string, body: unknown) =>
  env.pk(method, `/api/data/orders${path}`, { token, body });

/** PAID as its owner reads it: without the private fraudScore. */
const { fraudScore: _, ...AS_READ } = PAID;

/** An order stored by the sk for OWNER, every readonly value set. */
async function paidOrder(): Promise<string> {
  const res = await env.sk("POST", "/api/data/orders", { ...PAID, userId: OWNER });
  expect(res.status, res.text).toBe(201);
  return res.json.data._id;
}

describe("a publishable-key write changing a readonly value is 400 and writes nothing", () => {
  it.each([
    [{ status: "paid" }, ["status"]],
    [{ status: null }, ["status"]],
    [{ payment: { method: "card", reference: "forged" } }, ["payment.reference"]],
    [{ lines: [{ sku: "a" }, { sku: "b", price: 1 }] }, ["lines.price"]],
    [{ lines: [{ sku: "a", price: null }] }, ["lines.price"]],
    // No default: nothing is what the server would set.
    [{ payment: { method: "card", reference: "" } }, ["payment.reference"]],
    [{ fraudScore: 0 }, ["fraudScore"]],
    [
      { status: "paid", payment: { reference: null }, lines: [{ price: 1 }] },
      ["status", "payment.reference", "lines.price"],
    ],
  ])("insert %j", async (extra, paths) => {
    const res = await pkWrite("POST", "", { listing: "bike", ...extra });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toMatchObject(refused(...paths));
    expect(await skCount()).toBe(0);
  });

  it("bulk insert: the item naming one is reported by its index; nothing is inserted", async () => {
    const res = await pkWrite("POST", "/bulk", [{ listing: "a" }, { listing: "b", status: "paid" }]);
    expect(res.status, res.text).toBe(400);
    expect(res.json).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "1.status", message: READONLY, index: 1 }],
    });
    expect(await skCount()).toBe(0);
  });

  it("PUT and PATCH, `null` too; the stored document does not change", async () => {
    const id = await paidOrder();
    for (const [method, body, paths] of [
      ["PATCH", { status: "pending" }, ["status"]],
      ["PATCH", { status: null }, ["status"]],
      ["PATCH", { payment: { method: "cash", reference: null } }, ["payment.reference"]],
      ["PATCH", { lines: [{ sku: "a", price: 5 }] }, ["lines.price"]],
      ["PUT", { ...AS_READ, status: "pending" }, ["status"]],
      ["PUT", { ...AS_READ, fraudScore: null }, ["fraudScore"]],
    ] as const) {
      const res = await pkWrite(method, `/${id}`, body);
      expect(res.status, `${method} ${JSON.stringify(body)} ${res.text}`).toBe(400);
      expect(res.json).toMatchObject(refused(...paths));
    }
    expect(await skStored(id)).toMatchObject(PAID);
  });

  it("whatever the rule: a pk caller without a user token (create: guest) is refused the same", async () => {
    await env.defineCollection({
      name: "tips",
      fields: [
        { name: "text", type: "string" },
        { name: "approved", type: "boolean", readonly: true, default: false },
      ],
      permissions: { create: "guest", read: "guest", list: "guest" },
    });
    const named = await env.pk("POST", "/api/data/tips", { body: { text: "hi", approved: true } });
    expect(named.status, named.text).toBe(400);
    expect(named.json).toMatchObject(refused("approved"));
    const plain = await env.pk("POST", "/api/data/tips", { body: { text: "hi" } });
    expect(plain.status, plain.text).toBe(201);
    expect(plain.json.data).toMatchObject({ text: "hi", approved: false });
    const other = await env.pk("POST", "/api/data/tips", {
      token: await env.token(newUserId()),
      body: { approved: true },
    });
    expect(other.status).toBe(400);
  });
});

describe("a publishable-key write that does not name them", () => {
  it("insert (one or bulk): the defaults apply", async () => {
    const res = await pkWrite("POST", "", { listing: "bike", payment: { method: "card" }, lines: [{ sku: "a" }] });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data).toMatchObject({
      status: "pending",
      payment: { method: "card" },
      lines: [{ sku: "a", price: 0 }],
    });
    expect(res.json.data.payment).not.toHaveProperty("reference");
    const bulk = await pkWrite("POST", "/bulk", [{ listing: "a" }, { listing: "b" }]);
    expect(bulk.status, bulk.text).toBe(201);
    expect(bulk.json.data.items.map((item: { status: string }) => item.status)).toEqual(["pending", "pending"]);
  });

  it("PUT keeps every stored readonly value, private ones too, nested ones and array items'", async () => {
    const id = await paidOrder();
    const seen = (await pkWrite("GET", `/${id}`, undefined)).json.data;
    expect(seen).not.toHaveProperty("fraudScore");
    // The pk sends the document back without what it may not write (the readonly values it sees).
    const body = { listing: "scooter", payment: { method: "cash" }, lines: [{ sku: "b" }, { sku: "c" }] };
    const res = await pkWrite("PUT", `/${id}`, body);
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).not.toHaveProperty("fraudScore");
    expect(await skStored(id)).toMatchObject({
      listing: "scooter",
      status: "paid",
      payment: { method: "cash", reference: "pi_123" },
      // `b` equals a stored item without its readonly value: that item; `c` is new, priced by default.
      lines: [
        { sku: "b", price: 20 },
        { sku: "c", price: 0 },
      ],
      fraudScore: 3,
    });
  });

  it("PATCH keeps them too, inside an object it replaces", async () => {
    const id = await paidOrder();
    const res = await pkWrite("PATCH", `/${id}`, { listing: "car", payment: { method: "wire" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).toMatchObject({
      listing: "car",
      status: "paid",
      payment: { method: "wire", reference: "pi_123" },
    });
    expect(await skStored(id)).toMatchObject({
      ...PAID,
      listing: "car",
      payment: { method: "wire", reference: "pi_123" },
    });
  });

  it("removing an object that holds readonly values is 400; the sk may", async () => {
    const id = await paidOrder();
    const res = await pkWrite("PATCH", `/${id}`, { payment: null });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "payment", message: "holds readonly values: only the secret key can remove it" }],
    });
    expect((await env.sk("PATCH", `/api/data/orders/${id}`, { payment: null })).status).toBe(200);
    expect(await skStored(id)).not.toHaveProperty("payment");
  });
});

describe("a readonly value the stored document lacks stays lacking on a pk PUT or PATCH (no default)", () => {
  it("top level (the sk unset it), in a kept object and in a stored array item; new items take the default", async () => {
    const tips = (box: unknown[], item: unknown[]) => ({
      name: "tips",
      fields: [
        { name: "text", type: "string" },
        { name: "tier", type: "string", readonly: true, default: "free" },
        { name: "box", type: "object", fields: [{ name: "note", type: "string" }, ...box] },
        { name: "items", type: "array", items: { type: "object", fields: [{ name: "sku", type: "string" }, ...item] } },
      ],
      rls: { enabled: true, mode: "private" },
    });
    await env.defineCollection(tips([], []));
    const body = { text: "a", tier: "gold", box: { note: "n" }, items: [{ sku: "a" }], userId: OWNER };
    const id = (await env.sk("POST", "/api/data/tips", body)).json.data._id;
    expect((await env.sk("PATCH", `/api/data/tips/${id}`, { tier: null })).status).toBe(200);
    // Added later: the stored object and item lack them.
    const level = { name: "level", type: "integer", readonly: true, default: 1 };
    const price = { name: "price", type: "number", readonly: true, default: 0 };
    const { name: _name, ...later } = tips([level], [price]);
    expect((await env.sk("PUT", "/api/schemas/tips", later)).status).toBe(200);
    const put = await env.pk("PUT", `/api/data/tips/${id}`, {
      token,
      body: { text: "b", box: { note: "m" }, items: [{ sku: "a" }, { sku: "new" }] },
    });
    expect(put.status, put.text).toBe(200);
    const stored = (await env.sk("GET", `/api/data/tips/${id}`)).json.data;
    expect(stored).not.toHaveProperty("tier");
    expect(stored.box).toEqual({ note: "m" });
    expect(stored.items).toEqual([{ sku: "a" }, { sku: "new", price: 0 }]);
    const patch = await env.pk("PATCH", `/api/data/tips/${id}`, { token, body: { box: { note: "p" } } });
    expect(patch.status, patch.text).toBe(200);
    expect((await env.sk("GET", `/api/data/tips/${id}`)).json.data.box).toEqual({ note: "p" });
  });
});

describe("a publishable-key write carrying a readonly value unchanged passes and changes nothing by it", () => {
  /** The order as its owner reads it (no fraudScore: private). */
  const read = async (id: string) => {
    const res = await pkWrite("GET", `/${id}`, undefined);
    expect(res.status, res.text).toBe(200);
    return res.json.data;
  };
  const withoutVersion = ({ updatedAt: _, ...doc }: Record<string, unknown>) => doc;

  it("PUT of the document exactly as read: 200, nothing but the version changes", async () => {
    const id = await paidOrder();
    const before = await skStored(id);
    const res = await pkWrite("PUT", `/${id}`, await read(id));
    expect(res.status, res.text).toBe(200);
    expect(withoutVersion(await skStored(id))).toEqual(withoutVersion(before));
  });

  it("PATCH with the same readonly values (nested, key order aside) and another field: 200", async () => {
    const id = await paidOrder();
    const body = { listing: "car", status: "paid", payment: { reference: "pi_123", method: "cash" } };
    const res = await pkWrite("PATCH", `/${id}`, body);
    expect(res.status, res.text).toBe(200);
    expect(await skStored(id)).toMatchObject({
      ...PAID,
      listing: "car",
      payment: { method: "cash", reference: "pi_123" },
    });
  });

  it("PATCH with a different value, or one where none is stored: 400, as before", async () => {
    const id = await paidOrder();
    for (const [body, path] of [
      [{ listing: "car", status: "pending" }, "status"],
      [{ payment: { method: "card", reference: "pi_124" } }, "payment.reference"],
    ] as const) {
      const res = await pkWrite("PATCH", `/${id}`, body);
      expect(res.status, res.text).toBe(400);
      expect(res.json).toMatchObject(refused(path));
    }
    const bare = await pkWrite("POST", "", { listing: "bike" });
    const none = await pkWrite("PATCH", `/${bare.json.data._id}`, { payment: { method: "card", reference: "pi_1" } });
    expect(none.status, none.text).toBe(400);
    expect(none.json).toMatchObject(refused("payment.reference"));
    expect(await skStored(id)).toMatchObject(PAID);
  });

  it("insert naming the defaults (an array item's too): 201", async () => {
    const res = await pkWrite("POST", "", { listing: "bike", status: "pending", lines: [{ sku: "a", price: 0 }] });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data).toMatchObject({ status: "pending", lines: [{ sku: "a", price: 0 }] });
    const bulk = await pkWrite("POST", "/bulk", [{ listing: "a", status: "pending" }, { listing: "b" }]);
    expect(bulk.status, bulk.text).toBe(201);
  });

  it("array items: one sent back as read is that item; a new one may name the default; an edited price is 400", async () => {
    const id = await paidOrder();
    const { lines } = await read(id);
    // Reordered, plus a new item at the default price.
    const ok = await pkWrite("PATCH", `/${id}`, { lines: [lines[1], lines[0], { sku: "c", price: 0 }] });
    expect(ok.status, ok.text).toBe(200);
    expect((await skStored(id)).lines).toEqual([
      { sku: "b", price: 20 },
      { sku: "a", price: 10 },
      { sku: "c", price: 0 },
    ]);
    const edited = await pkWrite("PATCH", `/${id}`, { lines: [{ sku: "b", price: 25 }, lines[0]] });
    expect(edited.status, edited.text).toBe(400);
    expect(edited.json).toMatchObject(refused("lines.price"));
    // An item is its content: one edited (or priced at the default) is a new item, as one left out and added again.
    const renewed = await pkWrite("PATCH", `/${id}`, { lines: [{ sku: "b", price: 0 }] });
    expect(renewed.status, renewed.text).toBe(200);
    expect((await skStored(id)).lines).toEqual([{ sku: "b", price: 0 }]);
  });

  it("array items alike but for a readonly value: one as read and one without it are each a stored item, in any order", async () => {
    const id = await paidOrder();
    expect(
      (
        await env.sk("PATCH", `/api/data/orders/${id}`, {
          lines: [
            { sku: "a", price: 10 },
            { sku: "a", price: 0 },
          ],
        })
      ).status,
    ).toBe(200);
    // The bare item first: matched greedily it took the priced one, leaving the other item's 10 a change (400).
    const res = await pkWrite("PATCH", `/${id}`, { lines: [{ sku: "a" }, { sku: "a", price: 10 }] });
    expect(res.status, res.text).toBe(200);
    expect((await skStored(id)).lines).toEqual([
      { sku: "a", price: 0 },
      { sku: "a", price: 10 },
    ]);
  });

  it("readonly and private: never compared (the match would tell the value), so any value is 400", async () => {
    const id = await paidOrder();
    for (const fraudScore of [3, 4]) {
      const res = await pkWrite("PATCH", `/${id}`, { fraudScore });
      expect(res.status, res.text).toBe(400);
      expect(res.json).toMatchObject(refused("fraudScore"));
    }
    // Private rules hold: a PUT of the document as read keeps it.
    expect((await pkWrite("PUT", `/${id}`, await read(id))).status).toBe(200);
    expect(await skStored(id)).toMatchObject({ fraudScore: 3 });
  });

  it("under a private field (an array, an object), an item naming one is 400 whatever its value: no oracle", async () => {
    const approved = { name: "approved", type: "boolean", readonly: true, default: false };
    const flag = { type: "object", fields: [{ name: "kind", type: "string" }, approved] };
    await env.defineCollection({
      name: "accounts",
      fields: [
        { name: "label", type: "string" },
        { name: "flags", type: "array", private: true, items: flag },
        { name: "review", type: "object", private: true, fields: [{ name: "steps", type: "array", items: flag }] },
      ],
      rls: { enabled: true, mode: "private" },
    });
    const stored = { flags: [{ kind: "kyc", approved: true }], review: { steps: [{ kind: "id", approved: true }] } };
    const ins = await env.sk("POST", "/api/data/accounts", { label: "x", ...stored, userId: OWNER });
    const id = ins.json.data._id;
    const patch = (body: unknown) => env.pk("PATCH", `/api/data/accounts/${id}`, { token, body });
    // The stored item and a wrong guess get the same answer: whether it matched would tell the value.
    for (const guess of [true, false]) {
      const flags = await patch({ flags: [{ kind: "kyc", approved: guess }] });
      expect(flags.status, flags.text).toBe(400);
      expect(flags.json).toMatchObject(refused("flags.approved"));
      const steps = await patch({ review: { steps: [{ kind: "id", approved: guess }] } });
      expect(steps.status, steps.text).toBe(400);
      expect(steps.json).toMatchObject(refused("review.steps.approved"));
    }
    // Without it, the item is the stored one (its value kept), as a blind write's.
    const kept = await patch({ flags: [{ kind: "kyc" }], review: { steps: [{ kind: "id" }] } });
    expect(kept.status, kept.text).toBe(200);
    expect((await env.sk("GET", `/api/data/accounts/${id}`)).json.data).toMatchObject(stored);
  });

  it("a blind writer (read rule secret) is never compared either: the stored value is 400 too", async () => {
    await env.defineCollection({
      name: "votes",
      fields: [
        { name: "choice", type: "string" },
        { name: "weight", type: "number", readonly: true, default: 1 },
      ],
      permissions: { read: "secret", list: "secret", create: "guest", update: "guest" },
    });
    const id = (await env.sk("POST", "/api/data/votes", { choice: "a", weight: 5 })).json.data._id;
    for (const weight of [5, 6]) {
      const res = await env.pk("PATCH", `/api/data/votes/${id}`, { body: { choice: "b", weight } });
      expect(res.status, res.text).toBe(400);
      expect(res.json).toMatchObject(refused("weight"));
    }
    expect((await env.pk("POST", "/api/data/votes", { body: { choice: "c", weight: 1 } })).status).toBe(201);
  });

  it("as private values are: 404 for a missing document and 412 for a stale If-Match come first", async () => {
    const id = await paidOrder();
    const missing = await pkWrite("PATCH", "/65f0a1b2c3d4e5f6012345ff", { status: "pending" });
    expect(missing.status, missing.text).toBe(404);
    const stale = await env.pk("PUT", `/api/data/orders/${id}`, {
      token,
      body: { listing: "bike", status: "pending" },
      headers: { "if-match": '"stale"' },
    });
    expect(stale.status, stale.text).toBe(412);
  });
});

describe("the secret key writes them", () => {
  it("on insert, PATCH and PUT", async () => {
    const created = await env.sk("POST", "/api/data/orders", { listing: "bike", userId: OWNER });
    expect(created.json.data.status).toBe("pending");
    const id = created.json.data._id;
    const paid = await env.sk("PATCH", `/api/data/orders/${id}`, { status: "paid", payment: { reference: "pi_9" } });
    expect(paid.status, paid.text).toBe(200);
    expect(paid.json.data).toMatchObject({ status: "paid", payment: { reference: "pi_9" } });
    const replaced = await env.sk("PUT", `/api/data/orders/${id}`, { ...PAID, status: "pending", userId: OWNER });
    expect(replaced.status, replaced.text).toBe(200);
    expect(await skStored(id)).toMatchObject({ ...PAID, status: "pending" });
    // The owner reads what the server wrote.
    expect((await pkWrite("GET", `/${id}`, undefined)).json.data).toMatchObject({
      status: "pending",
      lines: PAID.lines,
    });
  });
});

describe("the definition", () => {
  it("shows the flag (to the pk too, private fields aside) and keeps it through GET → PUT and PATCH", async () => {
    const fieldsOf = async (key: "pk" | "sk") => {
      const res =
        key === "sk" ? await env.sk("GET", "/api/schemas/orders") : await env.pk("GET", "/api/schemas/orders");
      return res.json.data.collection;
    };
    const answer = await fieldsOf("sk");
    const flagged = (fields: Array<{ name: string; readonly?: boolean }>) =>
      fields.filter((field) => field.readonly).map((field) => field.name);
    expect(flagged(answer.fields)).toEqual(["status", "fraudScore"]);
    expect(answer.fields[2].fields[1]).toEqual({ name: "reference", type: "string", required: false, readonly: true });
    expect(answer.fields[3].items.fields[1]).toMatchObject({ name: "price", readonly: true });
    expect(flagged((await fieldsOf("pk")).fields)).toEqual(["status"]);
    // urBackend's `model` cannot say it; the answer sent back (with its model) keeps it.
    expect(JSON.stringify(answer.model)).not.toContain("readonly");
    const put = await env.sk("PUT", "/api/schemas/orders", answer);
    expect(put.status, put.text).toBe(200);
    expect(put.json.data.collection.fields).toEqual(answer.fields);
    const patch = await env.sk("PATCH", "/api/schemas/orders", { fields: answer.fields, model: answer.model });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.json.data.collection.fields).toEqual(answer.fields);
    // An edited `model` next to the fields would drop the flag: refused, as for the other rules it cannot say.
    const edited = [...answer.model, { key: "note", type: "String", required: false, unique: false }];
    const refusedEdit = await env.sk("PUT", "/api/schemas/orders", { ...answer, model: edited });
    expect(refusedEdit.status).toBe(400);
    expect(refusedEdit.json.details[0].message).toBe("Give fields or model, not both");
    // And the rule still holds after the round trip.
    expect((await pkWrite("POST", "", { listing: "x", status: "paid" })).status).toBe(400);
  });

  it("takes readonly only as a boolean on a named field", async () => {
    for (const fields of [
      [{ name: "a", type: "string", readonly: "yes" }],
      [{ name: "a", type: "array", items: { type: "string", readonly: true } }],
    ]) {
      const res = await env.sk("POST", "/api/schemas", { name: "bad", fields });
      expect(res.status, JSON.stringify(fields)).toBe(400);
    }
  });
});

// biome-ignore lint/suspicious/noExplicitAny: tests read the document's arbitrary shape
type Doc = any;

describe("the OpenAPI document", () => {
  it("pk: the document marks them readOnly; the insert and patch bodies leave them out", async () => {
    const doc: Doc = (await env.pk("GET", "/api/schemas/openapi.json")).json;
    const { orders, "orders.insert": insert, "orders.patch": patch } = doc.components.schemas;
    expect(orders.properties.status).toMatchObject({ type: "string", readOnly: true });
    expect(orders.properties.payment.properties.reference).toEqual({ type: "string", readOnly: true });
    expect(orders.properties.lines.items.properties.price).toEqual({ type: "number", readOnly: true });
    expect(orders.properties.listing.readOnly).toBeUndefined();
    expect(orders.properties.fraudScore).toBeUndefined(); // private: never shown to the pk
    for (const body of [insert, patch]) {
      expect(Object.keys(body.properties).sort()).toEqual(["lines", "listing", "payment", "userId"]);
      expect(body.additionalProperties).toBe(false);
    }
    expect(Object.keys(insert.properties.payment.properties)).toEqual(["method"]);
    expect(Object.keys(insert.properties.lines.items.properties)).toEqual(["sku"]);
    // What the document says a pk insert may carry is what the API takes.
    const fits = bodyChecker(doc);
    expect(fits("/api/data/orders", "post", { listing: "bike", lines: [{ sku: "a" }] })).toBeNull();
    expect(fits("/api/data/orders", "post", { listing: "bike", status: "paid" })).not.toBeNull();
    expect(fits("/api/data/orders", "post", { listing: "bike", lines: [{ price: 1 }] })).not.toBeNull();
  });

  it("sk: they are writable, and not readOnly", async () => {
    const doc: Doc = (await env.sk("GET", "/api/schemas/openapi.json")).json;
    const { orders, "orders.insert": insert, "orders.patch": patch } = doc.components.schemas;
    expect(JSON.stringify(orders)).not.toContain("readOnly");
    for (const body of [insert, patch]) {
      expect(JSON.stringify(body.properties.status)).toContain('"enum":["pending","paid"]');
      expect(body.properties.fraudScore).toBeDefined();
      expect(body.properties.payment.properties.reference).toBeDefined();
    }
  });
});
