/**
 * Bounds of a collection definition over HTTP (/api/schemas): at most 1000 fields in all levels,
 * 64 KiB of JSON, 10 000 RE2 instructions of patterns; each refused with 400 VALIDATION_FAILED and
 * a detail naming the limit. The `users` definition (profile fields) goes through the same checks.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_DEFINITION_BYTES, MAX_PATTERN_PROGRAM, MAX_TOTAL_FIELDS } from "../shared/schema/definition.js";
import { type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
});
afterEach(() => env.close());

const strings = (count: number, prefix = "s") =>
  Array.from({ length: count }, (_, i) => ({ name: `${prefix}${i}`, type: "string" }));

/** `objects` object fields of `each` string fields: objects × (each + 1) fields in all. */
const nested = (objects: number, each: number) =>
  Array.from({ length: objects }, (_, i) => ({ name: `o${i}`, type: "object", fields: strings(each) }));

const messages = (res: { json: { details?: Array<{ path: string; message: string }> } }) =>
  (res.json.details ?? []).map((d) => `${d.path}: ${d.message}`).join("\n");

describe("definition bounds", () => {
  it("at most 1000 fields in all levels together (array items count)", async () => {
    const exactly = await env.sk("POST", "/api/schemas", { name: "wide", fields: nested(5, 199) });
    expect(exactly.status, exactly.text).toBe(201);
    for (const fields of [
      [...nested(5, 199), { name: "extra", type: "string" }],
      [...nested(5, 198), { name: "list", type: "array", items: { type: "object", fields: strings(4) } }],
    ]) {
      const res = await env.sk("POST", "/api/schemas", { name: "wider", fields });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe("VALIDATION_FAILED");
      expect(messages(res)).toContain(`fields: At most ${MAX_TOTAL_FIELDS} fields`);
    }
    const model = await env.sk("POST", "/api/schemas", { name: "wider", model: nested(6, 199) });
    expect(messages(model)).toContain(`model: At most ${MAX_TOTAL_FIELDS} fields`);
    expect((await env.sk("GET", "/api/schemas/wider")).status).toBe(404);
  });

  it("the audit's definition (200 objects × 75 patterned strings, 786 KB) is refused before it compiles", async () => {
    const fields = Array.from({ length: 200 }, (_, i) => ({
      name: `f${i}`,
      type: "object",
      fields: Array.from({ length: 75 }, (_, j) => ({ name: `s${j}`, type: "string", pattern: `^[a-z]{${j + 1}}$` })),
    }));
    const res = await env.sk("POST", "/api/schemas", { name: "big", fields });
    expect(res.status).toBe(400);
    expect(messages(res)).toMatch(/At most 1000 fields|more than 10000 RE2 instructions/);
  });

  it("at most 64 KiB of JSON, on create and when a PATCH or PUT would grow it past", async () => {
    const long = (i: number) => `${"v".repeat(90)}${i}`;
    const big = {
      name: "kinds",
      fields: [{ name: "kind", type: "string", enum: Array.from({ length: 800 }, (_, i) => long(i)) }],
    };
    const res = await env.sk("POST", "/api/schemas", big);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("VALIDATION_FAILED");
    expect(messages(res)).toContain(`at most ${MAX_DEFINITION_BYTES} bytes (64 KiB) of JSON`);

    const small = { name: "kinds", fields: [{ name: "kind", type: "string", enum: ["a", "b"] }] };
    expect((await env.sk("POST", "/api/schemas", small)).status).toBe(201);
    for (const method of ["PATCH", "PUT"]) {
      const grown = await env.sk(method, "/api/schemas/kinds", { fields: big.fields });
      expect(grown.status, method).toBe(400);
      expect(messages(grown)).toContain(`at most ${MAX_DEFINITION_BYTES} bytes`);
    }
    expect((await env.sk("GET", "/api/schemas/kinds")).json.data.collection.fields[0].enum).toEqual(["a", "b"]);
  });

  it("patterns compile to at most 10 000 RE2 instructions together", async () => {
    const patterned = (count: number) =>
      Array.from({ length: count }, (_, i) => ({ name: `p${i}`, type: "string", pattern: `^.{${400 + i}}$` }));
    const ok = await env.sk("POST", "/api/schemas", { name: "pats", fields: patterned(20) });
    expect(ok.status, ok.text).toBe(201);
    const res = await env.sk("POST", "/api/schemas", { name: "morepats", fields: patterned(25) });
    expect(res.status).toBe(400);
    expect(messages(res)).toContain(`more than ${MAX_PATTERN_PROGRAM} RE2 instructions`);
    expect((await env.sk("POST", "/api/data/pats", { p0: "x".repeat(400) })).status).toBe(201);
  });

  it("the users definition (profile fields) is bounded the same way and keeps working", async () => {
    const refused = await env.sk("PUT", "/api/schemas/users", { fields: nested(6, 199) });
    expect(refused.status).toBe(400);
    expect(messages(refused)).toContain(`At most ${MAX_TOTAL_FIELDS} fields`);
    const defined = await env.sk("PUT", "/api/schemas/users", {
      fields: [{ name: "bio", type: "string" }, ...nested(4, 199)],
    });
    expect(defined.status, defined.text).toBe(200);
    const patched = await env.sk("PATCH", "/api/schemas/users", {
      fields: [{ name: "bio", type: "string", maxLength: 10 }],
    });
    expect(patched.status, patched.text).toBe(200);
    const fields = patched.json.data.collection.fields;
    expect(fields[0]).toEqual({ name: "bio", type: "string", required: false, maxLength: 10 });
    expect(fields.slice(1)).toEqual(defined.json.data.collection.fields.slice(1)); // the others kept
    const over = await env.sk("PATCH", "/api/schemas/users", {
      fields: [{ name: "more", type: "object", fields: strings(199) }],
    });
    expect(over.status).toBe(400); // 801 kept and 200 more: the merged definition is past the bound
    expect(messages(over)).toContain(`At most ${MAX_TOTAL_FIELDS} fields`);
  });

  // A `model` sent back next to `fields` is compared with the current one before the parser's
  // depth check: JSON.stringify of a model nested 150 000 deep threw, a 500.
  for (const method of ["PUT", "PATCH"]) {
    it(`${method} with a model nested too deep to compare is 400, not 500`, async () => {
      await env.defineCollection({ name: "posts", fields: [{ name: "title", type: "string" }] });
      const deep = `${'{"a":'.repeat(150_000)}1${"}".repeat(150_000)}`;
      const res = await env.sk(
        method,
        "/api/schemas/posts",
        `{"fields":[{"name":"title","type":"string"}],"model":${deep}}`,
      );
      expect([res.status, res.json.success], res.text.slice(0, 200)).toEqual([400, false]);
    });
  }
});
