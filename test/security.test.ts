/**
 * Security suite (data and admin functions): forged tokens, cross-tenant access through every data
 * route, hostile queries and bodies, bounded regex work, and constant-time comparison of secrets by
 * code path (admin token, one-time codes, signed storage URLs; keys, refresh tokens and verified
 * access tokens are looked up by hash).
 */
import { base64url, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createStorageApp } from "../functions/storage/app.js";
import * as crypto from "../shared/crypto.js";
import { linearRegExp, MAX_MATCH_WORK, metered, RegexWorkError } from "../shared/linear-regexp.js";
import { signAccessToken, TOKEN_ISSUER, tokenAudience } from "../shared/tokens.js";
import { authTestEnv } from "./auth-helpers.js";
import { call, createTestProject, type DataTestEnv, dataTestEnv, newUserId } from "./data-helpers.js";
import { ADMIN_TOKEN } from "./helpers.js";

vi.mock("../shared/crypto.js", async (original) => {
  const actual = await original<typeof import("../shared/crypto.js")>();
  return {
    ...actual,
    secretsEqual: vi.fn(actual.secretsEqual),
    sha256Hex: vi.fn(actual.sha256Hex),
    timingSafeEqual: vi.fn(actual.timingSafeEqual),
  };
});

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
  await env.defineCollection({
    name: "notes",
    fields: [
      { name: "text", type: "string" },
      { name: "userId", type: "string" },
    ],
    rls: { enabled: true, mode: "private", ownerField: "userId" },
  });
});
afterEach(() => env.close());

const encoder = new TextEncoder();
const json = (value: unknown) => base64url.encode(JSON.stringify(value));

describe("forged access tokens", () => {
  const user = newUserId();

  /** Claims a genuine token of the test project carries. */
  const claims = () => {
    const iat = Math.floor(env.clock.now() / 1000);
    return {
      sub: user,
      userId: user,
      pid: env.project.id,
      iss: TOKEN_ISSUER,
      aud: tokenAudience(env.project.id),
      iat,
      exp: iat + 900,
    };
  };

  /** `payload` signed as a genuine token is: HS256 with the project's own secret. */
  const signed = (payload: Record<string, unknown>) =>
    new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(env.project.jwtSecret));

  const forgeries: Array<[string, () => Promise<string>, string]> = [
    ["alg none", async () => `${json({ alg: "none", typ: "JWT" })}.${json(claims())}.`, "TOKEN_INVALID"],
    [
      "HS256 signed with the publishable key",
      () => new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(env.project.pk)),
      "TOKEN_INVALID",
    ],
    [
      "HS512 with the right secret (wrong algorithm)",
      () => new SignJWT(claims()).setProtectedHeader({ alg: "HS512" }).sign(encoder.encode(env.project.jwtSecret)),
      "TOKEN_INVALID",
    ],
    [
      "tampered payload (another user), original signature",
      async () => {
        const [header, , signature] = (await env.token(user)).split(".");
        return `${header}.${json({ ...claims(), sub: "f".repeat(24), userId: "f".repeat(24) })}.${signature}`;
      },
      "TOKEN_INVALID",
    ],
    [
      "expired",
      async () =>
        (await signAccessToken(env.project, user, { now: env.clock.now() - 3_600_000, ttlSeconds: 60 })).token,
      "TOKEN_EXPIRED",
    ],
    ["not valid yet (nbf in the future)", () => signed({ ...claims(), nbf: claims().iat + 600 }), "TOKEN_INVALID"],
    // Signed with the project's secret, yet not a token the project issues:
    ["without exp (it would never expire)", () => signed({ ...claims(), exp: undefined }), "TOKEN_INVALID"],
    [
      "a userId claim naming another user than sub",
      () => signed({ ...claims(), userId: newUserId() }),
      "TOKEN_INVALID",
    ],
    [
      "another project's token",
      async () => {
        const other = await createTestProject(env.deps, "other");
        return (await signAccessToken(other, user, { now: env.clock.now(), ttlSeconds: 900 })).token;
      },
      "TOKEN_INVALID",
    ],
    [
      "this project's secret but another project's audience",
      () => signed({ ...claims(), aud: tokenAudience("0".repeat(24)) }),
      "TOKEN_INVALID",
    ],
    ["garbage", async () => "not.a.jwt", "TOKEN_INVALID"],
  ];

  it.each(forgeries)("%s → 401 on read and write, nothing written", async (_name, forge, code) => {
    const token = await forge();
    const write = await env.pk("POST", "/api/data/notes", { token, body: { text: "x" } });
    expect(write.status).toBe(401);
    expect(write.json).toMatchObject({ success: false, code });
    const read = await env.pk("GET", "/api/data/notes", { token });
    expect(read.status).toBe(401);
    expect(read.json.code).toBe(code);
    expect((await env.sk("GET", "/api/data/notes?count=true")).json.data.count).toBe(0);
  });

  it("the genuine token works (the forgeries fail for their flaw alone)", async () => {
    const token = await env.token(user);
    expect((await env.pk("POST", "/api/data/notes", { token, body: { text: "x" } })).status).toBe(201);
    expect((await env.pk("GET", "/api/data/notes", { token })).json.data.total).toBe(1);
  });
});

describe("tenant isolation through every data route", () => {
  it("project A's keys never reach project B's documents", async () => {
    const b = await createTestProject(env.deps, "b");
    const asB = (method: string, path: string, body?: unknown) => call(env.app, method, path, { key: b.sk, body });
    expect(
      (await asB("POST", "/api/schemas", { name: "secrets", fields: [{ name: "v", type: "string" }] })).status,
    ).toBe(201);
    const secret = (await asB("POST", "/api/data/secrets", { v: "b-only" })).json.data;

    // A has no "secrets" collection: every route says so, for both keys.
    for (const key of [env.project.sk, env.project.pk]) {
      const asA = (method: string, path: string, body?: unknown) => call(env.app, method, path, { key, body });
      for (const [method, path, body] of [
        ["GET", "/api/data/secrets", undefined],
        ["GET", `/api/data/secrets/${secret._id}`, undefined],
        ["PUT", `/api/data/secrets/${secret._id}`, { v: "x" }],
        ["PATCH", `/api/data/secrets/${secret._id}`, { v: "x" }],
        ["DELETE", `/api/data/secrets/${secret._id}`, undefined],
        ["POST", "/api/data/secrets/aggregate", { pipeline: [{ $match: {} }] }],
        ["GET", "/api/schemas/secrets", undefined],
      ] as const) {
        const res = await asA(method, path, body);
        expect([403, 404], `${method} ${path}`).toContain(res.status);
        expect(res.text).not.toContain("b-only");
      }
    }

    // A creates its own "secrets": B's document id still does not resolve, aggregate and bulk stay in A.
    await env.sk("POST", "/api/data/secrets", { v: "a-own" });
    expect((await env.sk("GET", `/api/data/secrets/${secret._id}`)).status).toBe(404);
    expect((await env.sk("PATCH", `/api/data/secrets/${secret._id}`, { v: "x" })).status).toBe(404);
    expect((await env.sk("DELETE", `/api/data/secrets/${secret._id}`)).status).toBe(404);
    const aggregated = await env.sk("POST", "/api/data/secrets/aggregate", { pipeline: [{ $match: {} }] });
    expect(aggregated.json.data.items.map((d: { v: string }) => d.v)).toEqual(["a-own"]);
    expect((await env.sk("POST", "/api/data/secrets/bulk", [{ v: "a2" }])).status).toBe(201);
    expect((await env.sk("GET", "/api/data/secrets")).json.data.items.map((d: { v: string }) => d.v).sort()).toEqual([
      "a-own",
      "a2",
    ]);
    expect((await asB("GET", "/api/data/secrets")).json.data.items.map((d: { v: string }) => d.v)).toEqual(["b-only"]);
  });
});

describe("hostile queries", () => {
  it.each([
    ["nested quantifier", "text_regex=(a%2B)%2B%24"],
    ["alternation under a quantifier", "text_regex=(a%7Ca)*b"],
    ["regex over 128 characters", `text_regex=${"a".repeat(129)}`],
    [
      "JSON $regex with a nested quantifier",
      `filter=${encodeURIComponent(JSON.stringify({ text: { $regex: "(x+x+)+y" } }))}`,
    ],
    ["$where", `filter=${encodeURIComponent(JSON.stringify({ $where: "sleep(1000)" }))}`],
    ["$expr", `filter=${encodeURIComponent(JSON.stringify({ $expr: { $eq: [1, 1] } }))}`],
    [
      "$in with 101 values",
      `filter=${encodeURIComponent(JSON.stringify({ text: { $in: Array.from({ length: 101 }, String) } }))}`,
    ],
    [
      "filter nested 8 levels",
      `filter=${encodeURIComponent(JSON.stringify(Array.from({ length: 8 }).reduce((f) => ({ $and: [f] }), { text: "x" })))}`,
    ],
    ["filter that is not JSON", "filter=%7Bnope"],
  ])("%s → 400 INVALID_QUERY, answered at once", async (_name, query) => {
    const started = Date.now();
    const res = await env.sk("GET", `/api/data/notes?${query}`);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("INVALID_QUERY");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("a search term full of regex metacharacters is literal and fast", async () => {
    await env.sk("POST", "/api/data/notes", { text: "price (a+)+$ [x]" });
    await env.sk("POST", "/api/data/notes", { text: `${"a".repeat(40)}!` });
    const res = await env.sk("GET", `/api/data/notes?search=${encodeURIComponent("(a+)+$")}`);
    expect(res.status).toBe(200);
    expect(res.json.data.items.map((d: { text: string }) => d.text)).toEqual(["price (a+)+$ [x]"]);
  });
});

describe("backtracking regular expressions are matched in linear time", () => {
  // Each of these takes seconds to minutes with a backtracking engine on the strings below, and passes
  // the nested-quantifier check: what bounds them is the embedded store's linear-time matching.
  const long = `${"a".repeat(4000)}!`;

  beforeEach(async () => {
    await env.defineCollection({ name: "texts", fields: [{ name: "body", type: "string" }] });
    for (const body of [long, "a".repeat(30), "aaab", "xyz"]) await env.sk("POST", "/api/data/texts", { body });
  });

  it.each([
    [".*.*.*.*.*.*z", ["xyz"]],
    ["^(.?){26}.{26}$", ["a".repeat(30)]],
    ["a*a*a*a*a*a*b", ["aaab"]],
  ])("%s through _regex, a JSON filter and aggregate answers at once, and right", async (pattern, expected) => {
    const started = Date.now();
    const bodies = (res: { json: { data: { items: Array<{ body: string }> } } }) =>
      res.json.data.items.map((d) => d.body).sort();
    const byParams = await env.sk("GET", `/api/data/texts?body_regex=${encodeURIComponent(pattern)}`);
    const filter = encodeURIComponent(JSON.stringify({ body: { $regex: pattern } }));
    const byJson = await env.sk("GET", `/api/data/texts?filter=${filter}`);
    const byAggregate = await env.sk("POST", "/api/data/texts/aggregate", {
      pipeline: [
        { $addFields: { hit: { $regexMatch: { input: "$body", regex: pattern } } } },
        { $match: { hit: true } },
      ],
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(bodies(byParams)).toEqual(expected);
    expect(bodies(byJson)).toEqual(expected);
    expect(bodies(byAggregate)).toEqual(expected);
  });

  it("an aggregate that doubles a value 40 times is refused (400), not run until the heap is gone", async () => {
    const doubling = (initialValue: unknown, op: string) => ({
      pipeline: [
        {
          $project: {
            x: {
              $reduce: {
                input: Array.from({ length: 40 }, (_, i) => i),
                initialValue,
                in: { [op]: ["$$value", "$$value"] },
              },
            },
          },
        },
        { $project: { n: { $size: { $ifNull: [[], []] } } } },
      ],
    });
    for (const body of [doubling("ab", "$concat"), doubling([1], "$concatArrays")]) {
      const res = await env.sk("POST", "/api/data/texts/aggregate", body);
      expect([res.status, res.json.code]).toEqual([400, "INVALID_QUERY"]);
      expect(res.json.message).toContain("size limit");
    }
  });

  it("a schema pattern is matched in linear time too", async () => {
    await env.defineCollection({
      name: "codes",
      fields: [{ name: "code", type: "string", pattern: "^(.?){26}.{26}$" }],
    });
    const started = Date.now();
    const res = await env.sk("POST", "/api/data/codes", { code: "a".repeat(25) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
  });

  it("a match outside any metered run (no route's time budget) is refused past MAX_MATCH_WORK, before it runs", () => {
    const re = linearRegExp("[a-b]{1,100}[cd]"); // about 200 instructions: 1 s over this text if it ran
    const text = "a".repeat(Math.ceil(MAX_MATCH_WORK / 100) + 1);
    const started = Date.now();
    expect(() => re.test(text)).toThrow(RegexWorkError);
    expect(Date.now() - started).toBeLessThan(200);
    // A small match runs; inside a metered run its work is charged to that run's meter instead.
    expect(linearRegExp("^ab+c$").test("abbbc")).toBe(true);
    let charged = 0;
    const hit = metered(
      (work) => {
        charged += work;
      },
      () => linearRegExp("b").test("abc"),
    );
    expect([hit, charged > 0]).toEqual([true, true]);
  });

  it.each([
    ["lookahead", "a(?=b)"],
    ["lookbehind", "(?<=a)b"],
    ["backreference", "(a)\\1"],
  ])("%s is not RE2 syntax: 400 INVALID_QUERY naming it", async (_name, pattern) => {
    for (const query of [
      `body_regex=${encodeURIComponent(pattern)}`,
      `filter=${encodeURIComponent(JSON.stringify({ body: { $regex: pattern } }))}`,
    ]) {
      const res = await env.sk("GET", `/api/data/texts?${query}`);
      expect([res.status, res.json.code], query).toEqual([400, "INVALID_QUERY"]);
      expect(res.json.details[0].message).toContain("RE2");
    }
  });

  it("$options x is applied (whitespace and comments dropped), never a 500", async () => {
    const filter = { body: { $regex: "^ x y z  # the letters", $options: "x" } };
    const res = await env.sk("GET", `/api/data/texts?filter=${encodeURIComponent(JSON.stringify(filter))}`);
    expect(res.status).toBe(200);
    expect(res.json.data.items.map((d: { body: string }) => d.body)).toEqual(["xyz"]);
  });
});

describe("hostile bodies", () => {
  it("a body nested 200 levels deep is refused with 400, never a 500", async () => {
    const deep = `${'{"a":'.repeat(200)}1${"}".repeat(200)}`;
    const res = await env.sk("POST", "/api/data/notes", deep);
    expect(res.status).toBe(400);
    expect(res.json.success).toBe(false);
  });

  it("prototype keys at any depth are refused and pollute nothing", async () => {
    for (const body of [
      '{"text":"x","__proto__":{"polluted":true}}',
      '{"text":"x","meta":{"constructor":{"prototype":{"polluted":true}}}}',
      '[{"text":"x"},{"__proto__":{"polluted":true}}]',
    ]) {
      const path = body.startsWith("[") ? "/api/data/notes/bulk" : "/api/data/notes";
      const res = await env.sk("POST", path, body);
      expect(res.status, body).toBe(400);
      expect(res.json.code).toBe("INVALID_FIELD_NAME");
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await env.sk("GET", "/api/data/notes?count=true")).json.data.count).toBe(0);
  });

  it("bad ids are 400 INVALID_ID on every id route", async () => {
    for (const id of ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", "..%2F..%2Fetc", "%24where"]) {
      for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
        const res = await env.sk(
          method,
          `/api/data/notes/${id}`,
          method === "GET" || method === "DELETE" ? undefined : {},
        );
        expect(res.status, `${method} ${id}`).toBe(400);
        expect(res.json.code).toBe("INVALID_ID");
      }
    }
  });
});

describe("constant-time secret comparison (by code path)", () => {
  it("the admin token is checked with secretsEqual, for right and wrong tokens alike", async () => {
    const admin = createAdminApp(env.deps);
    const spy = vi.mocked(crypto.secretsEqual);
    spy.mockClear();
    for (const token of [ADMIN_TOKEN, "wrong-token-of-another-length", `${ADMIN_TOKEN.slice(0, -1)}x`]) {
      await admin.request("/api/admin/projects", { headers: { authorization: `Bearer ${token}` } });
    }
    expect(spy).toHaveBeenCalledTimes(3);
    expect(spy.mock.results.map((r) => r.value)).toEqual([true, false, false]);
  });

  it("one-time codes are compared as keyed hashes with timingSafeEqual, right and wrong alike", async () => {
    const auth = await authTestEnv();
    await auth.signup("otp@example.com");
    const code = auth.otpFor("otp@example.com");
    const wrong = code === "000000" ? "000001" : "000000";
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    for (const otp of [wrong, code]) {
      await auth.api("POST", "/verify-email", { body: { email: "otp@example.com", otp } });
    }
    expect(spy.mock.results.map((r) => r.value)).toEqual([false, true]);
    for (const args of spy.mock.calls)
      expect(args).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), expect.any(String)]);
    await auth.close();
  });

  it("signed storage URLs are checked with timingSafeEqual: a signature changed, cut, lengthened or empty never matches", async () => {
    const storage = createStorageApp(env.deps);
    const issued = await call(storage, "POST", "/api/storage/upload-url", {
      key: env.project.sk,
      body: { filename: "a.txt", contentType: "text/plain", size: 2 },
    });
    const url = new URL(issued.json.data.uploadUrl);
    const sig = url.searchParams.get("sig")!;
    /** The upload URL as issued, for operation `op` with signature `value`. */
    const signedAs = (op: string, value: string) => {
      const forged = new URL(url);
      forged.searchParams.set("op", op);
      forged.searchParams.set("sig", value);
      return `${forged.pathname}${forged.search}`;
    };
    // One character changed, and signatures of another length (compared as equal lengths, they would match).
    const forged = [`${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`, sig.slice(0, -1), `${sig}0`, ""];
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    const statuses = [];
    for (const path of [...forged.map((value) => signedAs("put", value)), signedAs("put", sig)]) {
      const res = await storage.request(path, { method: "PUT", headers: { "content-type": "text/plain" }, body: "ok" });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([403, 403, 403, 403, 200]);
    expect(spy.mock.results.map((r) => r.value)).toEqual([false, false, false, false, true]);
    // The file now exists: a download URL forged the same ways is refused too.
    for (const value of forged) expect((await storage.request(signedAs("get", value))).status, value).toBe(403);
  });

  it("verified access tokens are remembered by their SHA-256, not looked up by the token itself", async () => {
    const token = await env.token(newUserId());
    const spy = vi.mocked(crypto.sha256Hex);
    for (let i = 0; i < 2; i++) {
      spy.mockClear();
      expect((await env.pk("GET", "/api/data/notes", { token })).status).toBe(200);
      expect(spy.mock.calls.filter(([text]) => text === token)).toHaveLength(1);
    }
  });

  it("API keys are looked up by SHA-256 hash: the plaintext never reaches the store", async () => {
    const stored = JSON.stringify(await env.deps.store.platform().collection("keys").find({}));
    expect(stored).not.toContain(env.project.pk);
    expect(stored).not.toContain(env.project.sk);
    expect(stored).toContain(crypto.sha256Hex(env.project.sk));
  });
});
