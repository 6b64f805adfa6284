/**
 * The mailer port and its adapters (API.md §6 "Mail", §10): console, memory (bounded outbox per
 * project), resend (a real HTTP request to a local stand-in for Resend's API), the choice by
 * MAIL_PROVIDER, and a failing provider never failing or slowing the request that sends.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createAuthApp } from "../functions/auth/app.js";
import { ConfigError, loadConfig } from "../shared/config.js";
import { createDeps } from "../shared/deps.js";
import { createConsoleMailer } from "../shared/mail/console.js";
import { createMailer } from "../shared/mail/index.js";
import { createOutbox, OUTBOX_SIZE } from "../shared/mail/memory.js";
import { createResendMailer, RESEND_ENDPOINT } from "../shared/mail/resend.js";
import { MailError } from "../shared/mail/types.js";
import { openEmbeddedStore } from "../shared/store/embedded/index.js";
import { PASSWORD } from "./auth-helpers.js";
import { call, createTestProject } from "./data-helpers.js";
import { fakeClock, memoryLogger, testConfig, testDeps } from "./helpers.js";

const mail = (n: number, projectId = "p1") => ({ projectId, to: `u${n}@example.com`, subject: `s${n}`, text: `t${n}` });

/** A local stand-in for Resend's API: records requests, answers with `status`. */
async function fakeResend(status = 200) {
  const requests: Array<{ method?: string; url?: string; headers: IncomingMessage["headers"]; body: unknown }> = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(text) });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status === 200 ? '{"id":"email_1"}' : '{"message":"invalid api key"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/emails`;
  servers.push(server);
  return { url, requests };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

describe("adapters", () => {
  it("memory: keeps the last mails per project, newest first, stamped with the clock", () => {
    const clock = fakeClock();
    const outbox = createOutbox(clock);
    for (let i = 0; i < OUTBOX_SIZE + 5; i++) outbox.add(mail(i));
    outbox.add({ ...mail(999, "p2"), otp: "123456" });
    const kept = outbox.list("p1");
    expect(kept).toHaveLength(OUTBOX_SIZE);
    expect(kept[0]).toEqual({
      to: "u54@example.com",
      subject: "s54",
      text: "t54",
      html: null,
      otp: null,
      sentAt: "2026-01-01T00:00:00.000Z",
    });
    expect(kept.at(-1)?.to).toBe("u5@example.com");
    expect(outbox.list("p2")).toEqual([expect.objectContaining({ to: "u999@example.com", otp: "123456" })]);
    expect(outbox.list("nobody")).toEqual([]);
  });

  it("console: writes the mail to the log", async () => {
    const log = memoryLogger();
    await createConsoleMailer(log).send(mail(1));
    expect(log.lines).toEqual([
      {
        level: "info",
        message: "mail (console provider: not sent)",
        fields: { projectId: "p1", to: "u1@example.com", subject: "s1", text: "t1" },
      },
    ]);
  });

  it("resend: POSTs {from, to, subject, text} with the API key; the code is not sent on its own", async () => {
    const fake = await fakeResend();
    const mailer = createResendMailer({
      apiKey: "re_test_key",
      from: "App <no-reply@example.com>",
      endpoint: fake.url,
    });
    await mailer.send({ ...mail(1), otp: "123456" });
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req?.method).toBe("POST");
    expect(req?.headers.authorization).toBe("Bearer re_test_key");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.body).toEqual({
      from: "App <no-reply@example.com>",
      to: ["u1@example.com"],
      subject: "s1",
      text: "t1",
    });
    // An app mail (POST /api/mail/send) may carry html, with or without text.
    await mailer.send({ ...mail(2), text: "", html: "<p>h</p>" });
    await mailer.send({ ...mail(3), html: "<p>h</p>" });
    expect(fake.requests.slice(1).map((r) => r.body)).toEqual([
      { from: "App <no-reply@example.com>", to: ["u2@example.com"], subject: "s2", html: "<p>h</p>" },
      { from: "App <no-reply@example.com>", to: ["u3@example.com"], subject: "s3", text: "t3", html: "<p>h</p>" },
    ]);
  });

  it("resend: a batch is one POST to /emails/batch with every mail", async () => {
    const fake = await fakeResend();
    const mailer = createResendMailer({ apiKey: "re_test_key", from: "a@example.com", endpoint: fake.url });
    await mailer.sendBatch([mail(1), { ...mail(2), text: "", html: "<p>h</p>" }]);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.url).toBe("/emails/batch");
    expect(fake.requests[0]?.body).toEqual([
      { from: "a@example.com", to: ["u1@example.com"], subject: "s1", text: "t1" },
      { from: "a@example.com", to: ["u2@example.com"], subject: "s2", html: "<p>h</p>" },
    ]);
    const refused = createResendMailer({ apiKey: "k", from: "a@example.com", endpoint: (await fakeResend(422)).url });
    await expect(refused.sendBatch([mail(1)])).rejects.toThrow(MailError);
  });

  it("resend: a refusal or an unreachable API is a MailError", async () => {
    const fake = await fakeResend(401);
    const refused = createResendMailer({ apiKey: "bad", from: "a@example.com", endpoint: fake.url });
    await expect(refused.send(mail(1))).rejects.toThrow(MailError);
    await expect(refused.send(mail(1))).rejects.toThrow(/401/);
    const unreachable = createResendMailer({
      apiKey: "k",
      from: "a@example.com",
      endpoint: "http://127.0.0.1:1/emails",
    });
    await expect(unreachable.send(mail(1))).rejects.toThrow(MailError);
  });
});

describe("MAIL_PROVIDER", () => {
  it("defaults to console outside tests and memory in tests; resend needs RESEND_API_KEY and MAIL_FROM", () => {
    expect(loadConfig({}).mail.provider).toBe("console");
    expect(testConfig().mail.provider).toBe("memory");
    let error: unknown;
    try {
      loadConfig({ MAIL_PROVIDER: "resend", BCRYPT_COST: "99" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "BCRYPT_COST",
      "MAIL_FROM",
      "RESEND_API_KEY",
    ]);
    expect(() => loadConfig({ MAIL_PROVIDER: "smtp" })).toThrow(/MAIL_PROVIDER/);
  });

  it("memory (it only keeps mail) is refused in production, where mail must go out", () => {
    const production = {
      NODE_ENV: "production",
      ENCRYPTION_KEY: "a".repeat(64),
      DATA_DIR: "/d",
      ADMIN_TOKEN: "t".repeat(32),
    };
    expect(() => loadConfig({ ...production, MAIL_PROVIDER: "memory" })).toThrow(
      "MAIL_PROVIDER: memory only keeps mail (for tests), never sends it: not in production (resend, or console)",
    );
    expect(loadConfig({ ...production, MAIL_PROVIDER: "console" }).mail.provider).toBe("console");
  });

  it("resend sends to Resend's endpoint; outside production it also keeps the outbox, in production it does not", async () => {
    const fake = await fakeResend();
    const toFake: typeof fetch = (input, init) =>
      String(input) === RESEND_ENDPOINT
        ? fetch(fake.url, init)
        : Promise.reject(new Error(`unexpected ${String(input)}`));
    const env = { MAIL_PROVIDER: "resend", RESEND_API_KEY: "re_k", MAIL_FROM: "a@example.com" };
    const log = memoryLogger();
    const dev = createMailer(testConfig(env), { clock: fakeClock(), log, fetch: toFake });
    expect(dev.kind).toBe("resend");
    await dev.send(mail(1));
    expect(fake.requests).toHaveLength(1);
    expect(dev.outbox?.("p1")).toHaveLength(1);

    const prod = testConfig({ ...env, NODE_ENV: "production", ENCRYPTION_KEY: "a".repeat(64), DATA_DIR: "/x" });
    const production = createMailer(prod, { clock: fakeClock(), log, fetch: toFake });
    await production.send(mail(2));
    expect(fake.requests).toHaveLength(2);
    expect(production.outbox).toBeUndefined();
  });
});

describe("the console provider", () => {
  /** Signs a user up through the auth app (which mails a verification code); the log lines after it. */
  async function signupWith(env: Record<string, string>) {
    const log = memoryLogger();
    const store = await openEmbeddedStore({ dataDir: null });
    const config = loadConfig({ BCRYPT_COST: "4", RATE_LIMIT_AUTH: "off", ...env });
    const deps = await createDeps(config, { store, log });
    const project = await createTestProject(deps);
    const res = await call(createAuthApp(deps), "POST", "/api/userAuth/signup", {
      key: project.pk,
      body: { email: "a@example.com", password: PASSWORD },
    });
    expect(res.status).toBe(201);
    return { deps, log, project, store };
  }

  it("in development writes the mail, code included, to the log", async () => {
    const { deps, log, project, store } = await signupWith({ NODE_ENV: "development" });
    expect(deps.mailer.kind).toBe("console");
    await expect.poll(() => log.lines.filter((l) => l.message.startsWith("mail (console"))).toHaveLength(1);
    const code = deps.mailer.outbox?.(project.id)[0]?.otp as string;
    expect(code).toMatch(/^\d{6}$/);
    expect(JSON.stringify(log.lines)).toContain(code);
    await store.close();
  });

  it("in production logs that the mail was not delivered, naming MAIL_PROVIDER, without the mail or its code", async () => {
    const production = { NODE_ENV: "production", ENCRYPTION_KEY: "a".repeat(64), MONGODB_URI: "mongodb://db.invalid" };
    const { deps, log, store } = await signupWith(production);
    expect(deps.mailer.kind).toBe("console");
    await expect.poll(() => log.lines.filter((l) => l.message === "mail failed")).toHaveLength(1);
    const lines = log.lines.map((line) => ({
      ...line,
      fields: { ...(line.fields as object), error: (line.fields as { error?: Error }).error?.message },
    }));
    const failed = lines.find((l) => l.message === "mail failed");
    expect(failed?.fields.error).toMatch(/no mail provider is configured.*MAIL_PROVIDER/);
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/\b\d{6}\b/);
    expect(text).not.toContain("a@example.com");
    expect(lines.filter((l) => l.message.startsWith("mail (console"))).toEqual([]);
    await store.close();
  });
});

describe("a failing provider", () => {
  it("never fails the request: signup is 201, the failure is logged without the code", async () => {
    const fake = await fakeResend(500);
    const deps = await testDeps({ env: { BCRYPT_COST: "4" } });
    deps.mailer = createResendMailer({ apiKey: "k", from: "a@example.com", endpoint: fake.url });
    const project = await createTestProject(deps);
    const res = await call(createAuthApp(deps), "POST", "/api/userAuth/signup", {
      key: project.pk,
      body: { email: "a@example.com", password: PASSWORD },
    });
    expect(res.status).toBe(201);
    await expect.poll(() => deps.log.lines.filter((l) => l.message === "mail failed")).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]?.body as { text: string };
    const code = /\d{6}/.exec(sent.text)?.[0] as string;
    expect(code).toMatch(/^\d{6}$/);
    expect(JSON.stringify(deps.log.lines)).not.toContain(code);
    await deps.store.close();
  });
});
