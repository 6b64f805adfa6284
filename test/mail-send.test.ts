/**
 * POST /api/mail/send (urBackend's `mail.send`): the caller matrix, the payload checks, the
 * monthly allowance (atomic, per project, per calendar month), provider failures, and the
 * urBackend SDK over real HTTP.
 */
import urBackend, { RateLimitError } from "@urbackend/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { MAX_RECIPIENTS } from "../functions/auth/mail.js";
import { DEFAULT_MAILS_PER_MONTH } from "../shared/mail/allowance.js";
import { type Mail, MailError, type Mailer } from "../shared/mail/types.js";
import { type AuthTestEnv, authTestEnv } from "./auth-helpers.js";
import { type CallOptions, call, createTestProject, newUserId, userToken } from "./data-helpers.js";
import { ADMIN_TOKEN } from "./helpers.js";
import { serveLocalApp } from "./serve.js";

let env: AuthTestEnv;
beforeEach(async () => {
  env = await authTestEnv();
});
afterEach(() => env.close());

const send = (body: unknown, opts: CallOptions = {}) =>
  call(env.app, "POST", "/api/mail/send", { key: env.project.sk, body, ...opts });
const outbox = (projectId = env.project.id) => env.deps.mailer.outbox?.(projectId) ?? [];
const hello = { to: "ada@example.com", subject: "Hello", text: "Hi Ada" };

describe("callers", () => {
  it("only the secret key sends; every other caller is refused and sends nothing", async () => {
    const user = newUserId();
    const token = await userToken(env.deps, { id: env.project.id, jwtSecret: env.project.jwtSecret }, user);
    const other = await createTestProject(env.deps, "other");
    const otherToken = await userToken(env.deps, other, newUserId());
    const refused: Array<[CallOptions, number, string]> = [
      [{ key: null }, 401, "API_KEY_MISSING"],
      [{ key: "sk_live_not-a-real-key" }, 401, "API_KEY_INVALID"],
      [{ key: env.project.pk }, 403, "WRITE_BLOCKED"],
      [{ key: env.project.pk, token }, 403, "WRITE_BLOCKED"],
      [{ key: env.project.pk, token: otherToken }, 403, "WRITE_BLOCKED"],
      [{ key: env.project.sk.slice(0, -1) }, 401, "API_KEY_INVALID"],
    ];
    for (const [opts, status, code] of refused) {
      const res = await send(hello, opts);
      expect([res.status, res.json.code]).toEqual([status, code]);
    }
    // A secret key in the URL is refused like any secret there.
    const inUrl = await call(env.app, "POST", `/api/mail/send?key=${env.project.sk}`, { key: null, body: hello });
    expect([inUrl.status, inUrl.json.code]).toEqual([401, "API_KEY_INVALID"]);
    expect(outbox()).toEqual([]);

    const res = await send(hello, { token });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      success: true,
      data: { id: null, provider: "default", monthlyUsage: 1, monthlyLimit: DEFAULT_MAILS_PER_MONTH },
      message: "Mail sent",
    });
    expect(outbox()).toMatchObject([{ to: "ada@example.com", subject: "Hello", text: "Hi Ada", html: null }]);

    // Another project's secret key sends as that project: its own outbox and its own count.
    const theirs = await send(hello, { key: other.sk });
    expect(theirs.json.data.monthlyUsage).toBe(1);
    expect(outbox(other.id)).toHaveLength(1);
    expect(outbox()).toHaveLength(1);
  });
});

describe("payload", () => {
  it("sends one mail per distinct recipient (trimmed, lower-cased), html and text as given", async () => {
    const to = [" Ada@Example.com", "bob@example.com", "ada@example.com"];
    const res = await send({ to, subject: "  News  ", html: "<p>Hi</p>" });
    expect(res.status).toBe(200);
    expect(res.json.data.monthlyUsage).toBe(2);
    const sent = outbox().map((m) => [m.to, m.subject, m.text, m.html]);
    expect(sent.sort()).toEqual([
      ["ada@example.com", "News", "", "<p>Hi</p>"],
      ["bob@example.com", "News", "", "<p>Hi</p>"],
    ]);
    expect((await send({ ...hello, html: "<b>Hi</b>" })).json.data.monthlyUsage).toBe(3);
    expect(outbox()[0]).toMatchObject({ text: "Hi Ada", html: "<b>Hi</b>" });
  });

  it.each([
    ["no recipient", { subject: "s", text: "t" }, "to"],
    ["a bad address", { to: ["ok@example.com", "nope"], subject: "s", text: "t" }, "to.1"],
    ["no recipients", { to: [], subject: "s", text: "t" }, "to"],
    [
      "too many recipients",
      { to: Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => `u${i}@example.com`), subject: "s", text: "t" },
      "to",
    ],
    ["no subject", { to: "a@example.com", text: "t" }, "subject"],
    ["a blank subject", { to: "a@example.com", subject: "  ", text: "t" }, "subject"],
    ["a subject of two lines", { to: "a@example.com", subject: "a\r\nBcc: x@example.com", text: "t" }, "subject"],
    ["no text or html", { to: "a@example.com", subject: "s" }, "text"],
    ["a text that is not a string", { to: "a@example.com", subject: "s", text: 5 }, "text"],
    ["a text over 256 KiB", { to: "a@example.com", subject: "s", text: "x".repeat(256 * 1024 + 1) }, "text"],
    ["an unknown field", { ...hello, priority: "high" }, ""],
    ["a template", { to: "a@example.com", templateName: "welcome", variables: { name: "Ada" } }, "templateName"],
    ["a sender", { ...hello, from: "ceo@example.com" }, "from"],
    ["cc", { ...hello, cc: ["b@example.com"] }, "cc"],
    ["bcc", { ...hello, bcc: ["b@example.com"] }, "bcc"],
  ])("%s → 400 VALIDATION_FAILED naming the field; nothing sent or counted", async (_name, body, path) => {
    const res = await send(body);
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.json.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(outbox()).toEqual([]);
    expect((await send(hello)).json.data.monthlyUsage).toBe(1);
  });

  it("malformed JSON, a non-object body and $-keys are refused in the envelope", async () => {
    const cases: Array<[unknown, number, string]> = [
      ["{not json", 400, "INVALID_JSON"],
      [[hello], 400, "VALIDATION_FAILED"],
      [{ ...hello, $where: "1" }, 400, "INVALID_FIELD_NAME"],
      [JSON.parse('{"to":"a@example.com","subject":"s","text":"t","__proto__":{"x":1}}'), 400, "INVALID_FIELD_NAME"],
    ];
    for (const [body, status, code] of cases) {
      const res = await send(body);
      expect([res.status, res.json.code]).toEqual([status, code]);
    }
    expect(outbox()).toEqual([]);
  });
});

describe("monthly allowance", () => {
  it("counts every mail, refuses a request that would pass it, and starts again next month", async () => {
    const { sk } = await createTestProject(env.deps, "small", { quotas: { mailsPerMonth: 3 } });
    const to = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@example.com`);
    const sendN = (n: number) => send({ ...hello, to: to(n) }, { key: sk });
    expect((await sendN(2)).json.data).toMatchObject({ monthlyUsage: 2, monthlyLimit: 3 });
    const over = await sendN(2);
    expect([over.status, over.json.code]).toEqual([429, "RATE_LIMITED"]);
    expect(over.json.message).toBe("Monthly mail limit exceeded (3 a month)");
    expect(over.headers.get("retry-after")).toBe(String(31 * 24 * 3600)); // at 2026-02-01T00:00Z
    expect(over.headers.get("ratelimit-limit")).toBe("3");
    expect(over.headers.get("ratelimit-remaining")).toBe("1");
    expect(over.headers.get("ratelimit-reset")).toBe(String(31 * 24 * 3600));
    expect((await sendN(1)).json.data.monthlyUsage).toBe(3);
    expect((await sendN(1)).status).toBe(429);

    env.clock.advance(31 * 24 * 3600 * 1000 - 1000); // 2026-01-31T23:59:59Z: still January
    const last = await sendN(1);
    expect([last.status, last.headers.get("retry-after")]).toEqual([429, "1"]);
    env.clock.advance(1000); // 2026-02-01
    expect((await sendN(3)).json.data.monthlyUsage).toBe(3);
    expect((await sendN(1)).status).toBe(429);
  });

  it("a request stamped with the month before (a clock behind) never sets the new month's count back", async () => {
    const { sk } = await createTestProject(env.deps, "skew", { quotas: { mailsPerMonth: 2 } });
    env.clock.advance(31 * 24 * 3600 * 1000); // 2026-02-01
    expect((await send(hello, { key: sk })).json.data.monthlyUsage).toBe(1);
    env.clock.advance(-1000); // another instance, one second behind: still January
    expect((await send(hello, { key: sk })).status).toBe(429);
    env.clock.advance(1000);
    expect((await send(hello, { key: sk })).json.data.monthlyUsage).toBe(2);
    expect((await send(hello, { key: sk })).status).toBe(429);
  });

  it("holds under parallel requests: exactly the allowance is sent", async () => {
    const { sk, id } = await createTestProject(env.deps, "race", { quotas: { mailsPerMonth: 5 } });
    const results = await Promise.all(Array.from({ length: 12 }, () => send(hello, { key: sk })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
    expect(outbox(id)).toHaveLength(5);
  });

  it("0 turns app mail off; OTP mails of the auth routes are not counted", async () => {
    const { sk, pk } = await createTestProject(env.deps, "quiet", { quotas: { mailsPerMonth: 0 } });
    expect((await send(hello, { key: sk })).status).toBe(429);
    const signup = await call(env.app, "POST", "/api/userAuth/signup", {
      key: pk,
      body: { email: "eve@example.com", password: "correct horse battery" },
    });
    expect(signup.status).toBe(201);
    const { sk: counted } = await createTestProject(env.deps, "counted", { quotas: { mailsPerMonth: 1 } });
    expect((await send(hello, { key: counted })).status).toBe(200);
  });

  it("the setting is checked: a negative or fractional allowance is 400", async () => {
    const admin = createAdminApp(env.deps);
    for (const mailsPerMonth of [-1, 1.5, "10"]) {
      const res = await call(admin, "PATCH", `/api/admin/projects/${env.project.id}`, {
        key: null,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: { settings: { quotas: { mailsPerMonth } } },
      });
      expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
  });

  it("deleting the project drops its count", async () => {
    await send(hello);
    const counters = env.deps.store.platform().collection("mail_usage");
    expect(await counters.findOne({ _id: env.project.id })).toMatchObject({ sent: 1 });
    const res = await call(createAdminApp(env.deps), "DELETE", `/api/admin/projects/${env.project.id}`, {
      key: null,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await counters.findOne({ _id: env.project.id })).toBeNull();
  });
});

describe("provider failures", () => {
  it("503 when the provider refuses the batch: nothing counted, its words only in the log", async () => {
    const batches: Mail[][] = [];
    const refusing: Mailer = {
      kind: "resend",
      send: async () => {},
      async sendBatch(mails) {
        batches.push(mails);
        if (mails.some((m) => m.to.startsWith("bounce"))) throw new MailError("Resend answered 500: internal detail");
      },
    };
    const app = createAuthApp({ ...env.deps, mailer: refusing });
    const res = await call(app, "POST", "/api/mail/send", {
      key: env.project.sk,
      body: { ...hello, to: ["a@example.com", "bounce@example.com"] },
    });
    expect([res.status, res.json.code]).toEqual([503, "SERVICE_UNAVAILABLE"]);
    expect(res.json.message).toContain("nothing was counted");
    expect(res.text).not.toContain("internal detail");
    expect(env.deps.log.lines.some((l) => l.message === "mail failed")).toBe(true);
    // Every recipient went in one batch (one provider request, whatever their number).
    expect(batches.map((b) => b.map((m) => m.to))).toEqual([["a@example.com", "bounce@example.com"]]);
    const next = await call(app, "POST", "/api/mail/send", { key: env.project.sk, body: hello });
    expect(next.json.data.monthlyUsage).toBe(1);
  });
});

describe("urBackend SDK", () => {
  it("mail.send with the secret key sends and answers urBackend's shape; the publishable key is refused", async () => {
    const server = await serveLocalApp(env.deps);
    try {
      const client = urBackend({ apiKey: env.project.sk, baseUrl: server.baseUrl });
      const result = await client.mail.send({ to: "ada@example.com", subject: "Welcome", html: "<h1>Hi</h1>" });
      expect(result).toEqual({
        id: null,
        provider: "default",
        monthlyUsage: 1,
        monthlyLimit: DEFAULT_MAILS_PER_MONTH,
        message: "Mail sent",
      });
      expect(outbox()).toMatchObject([{ to: "ada@example.com", subject: "Welcome", html: "<h1>Hi</h1>" }]);
      const browser = urBackend({ apiKey: env.project.pk, baseUrl: server.baseUrl });
      await expect(browser.mail.send({ to: "ada@example.com", subject: "x", text: "y" })).rejects.toThrow(/secret key/);
      expect(outbox()).toHaveLength(1);
      // Past the monthly allowance the SDK throws its RateLimitError, as against urBackend.
      const small = await createTestProject(env.deps, "small", { quotas: { mailsPerMonth: 1 } });
      const limited = urBackend({ apiKey: small.sk, baseUrl: server.baseUrl });
      await limited.mail.send({ to: "ada@example.com", subject: "1", text: "one" });
      await expect(limited.mail.send({ to: "ada@example.com", subject: "2", text: "two" })).rejects.toBeInstanceOf(
        RateLimitError,
      );
    } finally {
      await server.close();
    }
  });
});
