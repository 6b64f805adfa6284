import { describe, expect, it } from "vitest";
import { MAX_DETAIL_CHARS, MAX_DETAILS } from "../shared/errors.js";
import {
  assertNoLookalikes,
  assertSafeBody,
  foldName,
  hasInvisibleChars,
  isPlainObject,
  MAX_BODY_DEPTH,
} from "../shared/sanitize.js";
import { detailPaths as paths, thrown } from "./helpers.js";

/** `levels` nested objects: {a: {a: ... {}}}. */
function nested(levels: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

describe("isPlainObject", () => {
  it.each([
    [{}, true],
    [{ a: 1 }, true],
    [Object.create(null), true],
    [JSON.parse('{"__proto__": {"x": 1}}'), true],
    [[], false],
    [null, false],
    [new Date(), false],
    ["x", false],
    [1, false],
    [new (class Thing {})(), false],
  ])("%j → %s", (value, expected) => {
    expect(isPlainObject(value)).toBe(expected);
  });
});

describe("assertSafeBody", () => {
  const bad: Array<[string, unknown, string]> = [
    ["$ key at depth 1", { $set: { a: 1 } }, "$set"],
    ["dotted key at depth 1", { "a.b": 1 }, "a.b"],
    ["NUL at depth 1", { "a\u0000b": 1 }, "a\u0000b"],
    ["__proto__ from JSON.parse", JSON.parse('{"__proto__": {"x": 1}}'), "__proto__"],
    ["constructor at depth 1", { constructor: 1 }, "constructor"],
    ["prototype at depth 1", { prototype: {} }, "prototype"],
    ["$ key at depth 3", { a: { b: { $where: "1" } } }, "a.b.$where"],
    ["dotted key at depth 3", { a: { b: { "c.d": 1 } } }, "a.b.c.d"],
    ["NUL at depth 3", { a: { b: { "\u0000": 1 } } }, "a.b.\u0000"],
    ["__proto__ at depth 3", JSON.parse('{"a": {"b": {"__proto__": {"polluted": true}}}}'), "a.b.__proto__"],
    ["constructor at depth 3", { a: { b: { constructor: { prototype: 1 } } } }, "a.b.constructor"],
    ["prototype at depth 3", { a: { b: { prototype: 1 } } }, "a.b.prototype"],
    ["$ key inside an array", { list: [{ ok: 1 }, { $gt: 1 }] }, "list.1.$gt"],
    ["dotted key inside nested arrays", { m: [[{ "x.y": 1 }]] }, "m.0.0.x.y"],
    ["__proto__ inside an array", JSON.parse('{"tags": [{"__proto__": {"x": 1}}]}'), "tags.0.__proto__"],
    ["constructor inside an array", { items: [{ constructor: 1 }] }, "items.0.constructor"],
    ["top-level array body", [{}, { $x: 1 }], "1.$x"],
  ];

  it.each(bad)("rejects a %s", (_label, body, path) => {
    const error = thrown(() => assertSafeBody(body));
    expect(error.code).toBe("INVALID_FIELD_NAME");
    expect(error.status).toBe(400);
    expect(paths(error.details)).toEqual([path]);
    expect(error.details?.[0]?.message).toEqual(expect.any(String));
  });

  it("does not stop at a prototype key: nothing is polluted and the key is reported", () => {
    const body = JSON.parse('{"__proto__": {"isAdmin": true}}');
    expect(Object.keys(body)).toEqual(["__proto__"]);
    thrown(() => assertSafeBody(body));
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("lists every offending key in one error", () => {
    const error = thrown(() => assertSafeBody({ $a: 1, ok: { "b.c": 1, fine: [{ $d: 1 }] }, constructor: 1 }));
    expect(paths(error.details)).toEqual(["$a", "ok.b.c", "ok.fine.0.$d", "constructor"]);
  });

  it("bounds what it lists: 100 keys, paths cut to 200 characters, the rest counted", () => {
    const long = "k".repeat(200_000);
    const inner = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`$${i}`, 1]));
    const error = thrown(() => assertSafeBody({ [long]: inner }));
    expect(error.details).toHaveLength(MAX_DETAILS + 1);
    for (const detail of error.details ?? []) expect(detail.path.length).toBeLessThanOrEqual(MAX_DETAIL_CHARS);
    expect(error.details?.[0]?.path).toBe(`${long.slice(0, MAX_DETAIL_CHARS - 1)}…`);
    expect(error.details?.at(-1)).toEqual({ path: "", message: "50 more not listed", omitted: 50 });
    expect(error.message.length).toBeLessThanOrEqual(500);
  });

  it.each([
    ["plain values", { title: "x", n: 1, b: true, z: null }],
    ["$ and dots in values", { price: "$5", host: "a.b.c", list: ["$x", "y.z"] }],
    ["keys merely containing $ or proto words", { a$: 1, proto: 1, __proto: 1, Constructor: 1, prototypes: 1 }],
    ["empty containers", { a: {}, b: [] }],
    ["scalars and null", null],
  ])("accepts %s", (_label, body) => {
    expect(() => assertSafeBody(body)).not.toThrow();
  });

  it(`accepts ${MAX_BODY_DEPTH} levels of nesting and rejects one more`, () => {
    expect(() => assertSafeBody(nested(MAX_BODY_DEPTH))).not.toThrow();
    const error = thrown(() => assertSafeBody(nested(MAX_BODY_DEPTH + 1)));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.status).toBe(400);
    expect(error.details?.[0]?.message).toMatch(/too deeply nested/);
  });

  it("refuses numbers that are not finite (1e400 parses to Infinity), at any depth", () => {
    for (const body of [JSON.parse('{"n":1e400}'), JSON.parse('{"a":[{"b":-1e400}]}')]) {
      const error = thrown(() => assertSafeBody(body));
      expect(error.code).toBe("VALIDATION_FAILED");
      expect(error.details?.[0]?.message).toBe("numbers must be finite");
    }
    expect(thrown(() => assertSafeBody(JSON.parse('{"a":[{"b":-1e400}]}'))).details?.[0]?.path).toBe("a.0.b");
    expect(() => assertSafeBody({ n: 1.7976931348623157e308, m: -0, k: 5e-324 })).not.toThrow();
  });

  it("counts arrays as nesting levels too", () => {
    let value: unknown = [];
    for (let i = 1; i <= MAX_BODY_DEPTH; i++) value = [value];
    expect(thrown(() => assertSafeBody(value)).code).toBe("VALIDATION_FAILED");
  });

  it("survives very deep input without a stack overflow", () => {
    expect(thrown(() => assertSafeBody(nested(100_000))).code).toBe("VALIDATION_FAILED");
  });
});

describe("assertNoLookalikes", () => {
  const declared = ["userId", "title"];

  it.each([
    [" userId"],
    ["userId "],
    ["userid"],
    ["USERID"],
    ["user\u200bId"],
    ["user\u200cId"],
    ["user\u200dId"],
    ["user\u2060Id"],
    ["userId\ufeff"],
    ["\ufeffuserId"],
    ["user\u00adId"],
    ["user Id"],
    ["user\tId"],
    ["ｕｓｅｒＩｄ"],
    [" Title"],
  ])("rejects %j", (key) => {
    const error = thrown(() => assertNoLookalikes({ [key]: "someone-else" }, declared));
    expect(error.code).toBe("INVALID_FIELD_NAME");
    expect(error.status).toBe(400);
    expect(error.details).toEqual([{ path: key, message: expect.stringContaining(JSON.stringify(key)) }]);
  });

  it("accepts the exact declared names and unrelated keys", () => {
    expect(() => assertNoLookalikes({ userId: "u1", title: "x", user_id: 1, owner: 2 }, declared)).not.toThrow();
  });

  it("rejects a lookalike even when the exact field is also present, naming every lookalike", () => {
    const error = thrown(() => assertNoLookalikes({ userId: "me", userid: "other", "user\u200bId": "x" }, declared));
    expect(paths(error.details)).toEqual(["userid", "user\u200bId"]);
  });

  it("checks top-level keys only", () => {
    expect(() => assertNoLookalikes({ meta: { userid: 1 } }, declared)).not.toThrow();
  });
});

describe("foldName and hasInvisibleChars", () => {
  it("folds whitespace, invisible characters, case and compatibility forms", () => {
    expect(foldName(" User\u200bI\u00add\ufeff")).toBe("userid");
    expect(foldName("ｕｓｅｒＩｄ")).toBe("userid");
    expect(foldName("user_id")).toBe("user_id");
  });

  it.each([
    ["plain", false],
    ["with\u200bzwsp", true],
    ["\ufeffbom", true],
    ["soft\u00adhyphen", true],
    ["tab\there", true],
    ["space here", true],
  ])("%j → %s", (name, expected) => {
    expect(hasInvisibleChars(name)).toBe(expected);
  });
});
