/**
 * Code mails on the Node serverless platforms. AWS Lambda freezes an instance as soon as the handler
 * returns, so a mail still being sent then is lost (or sent when some later request thaws it, past the
 * provider's timeout): there the mail goes out before the answer, and code requests answer no sooner
 * than CODE_ANSWER_FLOOR_MS, so that their time does not tell whether the account exists. Vercel keeps
 * a function alive for what is handed to its waitUntil: the mail goes there, after the answer.
 */
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import * as vercelAdmin from "../api/admin.js";
import * as vercelAuth from "../api/auth.js";
import { CODE_ANSWER_FLOOR_MS } from "../functions/auth/deliver.js";
import { handler as adminHandler } from "../platforms/lambda/admin.js";
import { handler as authHandler } from "../platforms/lambda/auth.js";
import { authTestEnv } from "./auth-helpers.js";
import { slowCollections } from "./helpers.js";
import { event } from "./lambda-event.js";

const ADMIN_TOKEN = "lambda-admin-token-0123456789";
/** Mails Resend has received in full (it answers after 50 ms, as an HTTPS round trip does). */
const delivered: string[] = [];

beforeAll(() => {
  vi.stubEnv("NODE_ENV", "development");
  vi.stubEnv("ADMIN_TOKEN", ADMIN_TOKEN);
  vi.stubEnv("MONGODB_URI", "");
  vi.stubEnv("DATA_DIR", "");
  vi.stubEnv("BCRYPT_COST", "4");
  vi.stubEnv("MAIL_PROVIDER", "resend");
  vi.stubEnv("RESEND_API_KEY", "re_test_key");
  vi.stubEnv("MAIL_FROM", "Edgeback <no-reply@example.com>");
  vi.stubGlobal("fetch", async (input: string | URL | Request, init?: RequestInit) => {
    if (!String(input).startsWith("https://api.resend.com/")) throw new Error(`unexpected fetch ${String(input)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    delivered.push((JSON.parse(String(init?.body)) as { to: string[] }).to.join(","));
    return new Response(JSON.stringify({ id: "mail_1" }), { status: 200 });
  });
});
afterEach(() => {
  delivered.length = 0;
});
afterAll(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

type Handler = (e: never, c: never) => Promise<{ statusCode: number; body: string }>;
const invoke = (handler: unknown, ...args: Parameters<typeof event>) =>
  (handler as Handler)(event(...args) as never, {} as never);

async function lambdaProject(name: string) {
  const created = await invoke(
    adminHandler,
    "POST",
    "/api/admin/projects",
    { authorization: `Bearer ${ADMIN_TOKEN}` },
    { name },
  );
  expect(created.statusCode, created.body).toBe(201);
  const pk = { "x-api-key": JSON.parse(created.body).data.keys.publishable as string };
  return (path: string, body: unknown) => invoke(authHandler, "POST", `/api/userAuth${path}`, pk, body);
}

const timed = async <T>(run: () => Promise<T>) => {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
};

it("Lambda: a signup's verification mail has reached the provider when the handler returns", async () => {
  const auth = await lambdaProject("lambda-signup");
  const signup = await auth("/signup", { email: "ann@example.com", password: "correct horse battery" });
  expect(signup.statusCode, signup.body).toBe(201);
  expect(delivered).toEqual(["ann@example.com"]);
});

it("Lambda: code requests send before answering, in the same time for known and unknown accounts", async () => {
  const auth = await lambdaProject("lambda-reset");
  await auth("/signup", { email: "bob@example.com", password: "correct horse battery" });
  delivered.length = 0;
  const known = await timed(() => auth("/request-password-reset", { email: "bob@example.com" }));
  expect(known.result.statusCode).toBe(200);
  expect(delivered).toEqual(["bob@example.com"]);
  const unknown = await timed(() => auth("/request-password-reset", { email: "nobody@example.com" }));
  expect(unknown.result.statusCode).toBe(200);
  expect(JSON.parse(unknown.result.body).message).toBe(JSON.parse(known.result.body).message);
  expect(delivered).toEqual(["bob@example.com"]);
  const resend = await timed(() => auth("/resend-verification", { email: "nobody-else@example.com" }));
  expect(resend.result.statusCode).toBe(200);
  for (const { ms } of [known, unknown, resend]) {
    expect(ms).toBeGreaterThanOrEqual(CODE_ANSWER_FLOOR_MS - 5);
    expect(ms).toBeLessThan(CODE_ANSWER_FLOOR_MS + 1000);
  }
});

it("Lambda: the floor counts from the handler's start, so a slow store's calls before the mail do not add to it", async () => {
  const env = await authTestEnv();
  try {
    await env.signup("dee@example.com");
    // 100 ms a call, as a distant store answers: the request makes 6 of them before the mail.
    const otps = ["deleteMany", "insertOne", "updateOne", "findOne"];
    slowCollections(env.deps, { users: ["findOne"], _auth_otps: otps }, 100);
    const lambda = { lambdaContext: {} }; // what hono/aws-lambda binds: nothing runs after the answer
    const { result, ms } = await timed(async () =>
      env.app.request(
        "/api/userAuth/request-password-reset",
        {
          method: "POST",
          headers: { "x-api-key": env.project.pk, "content-type": "application/json" },
          body: JSON.stringify({ email: "dee@example.com" }),
        },
        lambda,
      ),
    );
    expect(result.status).toBe(200);
    expect(env.mails("dee@example.com").filter((mail) => mail.subject.includes("reset"))).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(CODE_ANSWER_FLOOR_MS - 5);
    expect(ms).toBeLessThan(CODE_ANSWER_FLOOR_MS + 300);
  } finally {
    vi.restoreAllMocks();
    await env.close();
  }
});

it("Vercel: the code mail is handed to Vercel's waitUntil, and answers do not wait for it", async () => {
  // Vercel's runtime puts its request context here; @vercel/functions' waitUntil hands work to it.
  const handed: Array<Promise<unknown>> = [];
  const context = Symbol.for("@vercel/request-context");
  vi.stubGlobal(context, { get: () => ({ waitUntil: (promise: Promise<unknown>) => handed.push(promise) }) });
  try {
    const created = await vercelAdmin.POST(
      new Request("https://edgeback.vercel.app/api/admin/projects", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "vercel-mail" }),
      }),
    );
    const { keys } = ((await created.json()) as { data: { keys: { publishable: string } } }).data;
    const post = (path: string, body: unknown) =>
      vercelAuth.POST(
        new Request(`https://edgeback.vercel.app/api/userAuth${path}`, {
          method: "POST",
          headers: { "x-api-key": keys.publishable, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    const signup = await timed(() => post("/signup", { email: "cyd@example.com", password: "correct horse battery" }));
    expect(signup.result.status).toBe(201);
    expect(delivered).toEqual([]); // not waited for...
    await Promise.all(handed);
    expect(delivered).toEqual(["cyd@example.com"]); // ...but kept alive until sent
    const reset = await timed(() => post("/request-password-reset", { email: "nobody@example.com" }));
    expect(reset.result.status).toBe(200);
    expect(reset.ms).toBeLessThan(CODE_ANSWER_FLOOR_MS);
  } finally {
    vi.stubGlobal(context, undefined);
  }
});
