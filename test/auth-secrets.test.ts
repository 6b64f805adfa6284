/**
 * No response anywhere (auth, admin, errors included) contains a password, a password hash, a
 * refresh-token hash, an OTP hash or the project's token secret. Every flow runs through the local
 * app (all four functions); after each request the secrets the store holds at that moment are
 * collected, and at the end every response body is searched, every key and string at every depth.
 */
import { expect, it } from "vitest";
import type { Deps } from "../shared/deps.js";
import { createLocalApp } from "../shared/local-app.js";
import { PASSWORD } from "./auth-helpers.js";
import { type CallResult, call, createTestProject } from "./data-helpers.js";
import { ADMIN_TOKEN, fakeClock, testDeps } from "./helpers.js";

const NEW_PASSWORD = "a brand new password";
const CHANGED_PASSWORD = "yet another password";
const FORBIDDEN_KEYS = new Set(["password", "passwordHash", "hash", "codeHash", "jwtSecret", "newPassword"]);

/** Every key and string of a JSON value, at every depth. */
function* walk(value: unknown): Generator<{ key?: string; text?: string }> {
  if (typeof value === "string") yield { text: value };
  else if (Array.isArray(value)) for (const item of value) yield* walk(item);
  else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      yield { key };
      yield* walk(child);
    }
  }
}

/** The secrets the store holds right now for the project. */
async function storedSecrets(deps: Deps, projectId: string): Promise<string[]> {
  const db = deps.store.tenant({ projectId });
  const pick = async (collection: string, field: string) =>
    (await db.collection(collection).find({}))
      .map((doc) => doc[field])
      .filter((v) => typeof v === "string") as string[];
  const project = await deps.store.platform().collection("projects").findOne({ _id: projectId });
  return [
    ...(await pick("users", "passwordHash")),
    ...(await pick("_auth_refresh_tokens", "hash")),
    ...(await pick("_auth_otps", "codeHash")),
    String(project?.jwtSecret),
  ];
}

it("no response contains a password, a hash or the token secret", async () => {
  const clock = fakeClock();
  const deps = await testDeps({ clock, env: { BCRYPT_COST: "4", MAIL_PROVIDER: "memory" } });
  const local = createLocalApp(deps);
  const app = {
    request: (path: string, init: RequestInit) => local.fetch(new Request(`http://localhost${path}`, init)),
  } as unknown as Parameters<typeof call>[0];
  const project = await createTestProject(deps, "app");
  const secrets = new Set<string>([project.jwtSecret, PASSWORD, NEW_PASSWORD, CHANGED_PASSWORD]);
  const responses: CallResult[] = [];

  const send = async (method: string, path: string, options: Parameters<typeof call>[3] = {}) => {
    const res = await call(app, method, path, { key: project.pk, ...options });
    responses.push(res);
    for (const secret of await storedSecrets(deps, project.id)) secrets.add(secret);
    return res;
  };
  const auth = (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
    send(method, `/api/userAuth${path}`, {
      ...options,
      headers: { "x-refresh-token-mode": "header", ...options.headers },
    });
  const admin = (method: string, path: string) =>
    send(method, `/api/admin${path}`, { key: null, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const otp = (to: string, kind: string) =>
    deps.mailer.outbox?.(project.id).find((m) => m.to === to && m.subject.includes(kind))?.otp as string;

  const a = (await auth("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD, username: "ann" } }))
    .json.data;
  await auth("POST", "/signup", { body: { email: "b@example.com", password: PASSWORD } });
  await auth("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD } });
  await auth("POST", "/signup", { body: { email: "c@example.com", password: "short" } });
  await auth("POST", "/login", { body: { email: "a@example.com", password: "wrong password!" } });
  const login = (await auth("POST", "/login", { body: { email: "a@example.com", password: PASSWORD } })).json.data;
  await auth("GET", "/me", { token: login.accessToken });
  const refreshed = (await auth("POST", "/refresh-token", { headers: { "x-refresh-token": login.refreshToken } })).json
    .data;
  await auth("POST", "/refresh-token", { headers: { "x-refresh-token": login.refreshToken } }); // reuse
  await auth("PUT", "/update-profile", { token: a.accessToken, body: { name: "Ann" } });
  await auth("PUT", "/update-profile", { token: a.accessToken, body: { password: "x", passwordHash: "y" } });
  await auth("GET", "/public/ann");
  await auth("GET", "/sessions", { token: a.accessToken });
  await auth("POST", "/verify-email", { body: { email: "a@example.com", otp: otp("a@example.com", "verify") } });
  clock.advance(61_000);
  await auth("POST", "/resend-verification", { body: { email: "b@example.com" } });
  await auth("POST", "/resend-verification", { body: { email: "b@example.com" } });
  await auth("POST", "/request-password-reset", { body: { email: "a@example.com" } });
  await auth("POST", "/reset-password", { body: { email: "a@example.com", otp: "000000", newPassword: NEW_PASSWORD } });
  await auth("POST", "/reset-password", {
    body: { email: "a@example.com", otp: otp("a@example.com", "reset"), newPassword: NEW_PASSWORD },
  });
  const again = (await auth("POST", "/login", { body: { email: "a@example.com", password: NEW_PASSWORD } })).json.data;
  await auth("PUT", "/change-password", {
    token: again.accessToken,
    body: { currentPassword: NEW_PASSWORD, newPassword: CHANGED_PASSWORD },
  });
  await auth("POST", "/logout", { headers: { "x-refresh-token": again.refreshToken } });
  await auth("POST", "/refresh-token", { headers: { "x-refresh-token": refreshed.refreshToken } });
  await admin("GET", `/projects/${project.id}`);
  await admin("GET", `/projects/${project.id}/users`);
  await admin("GET", `/projects/${project.id}/outbox`);
  await admin("DELETE", `/projects/${project.id}/users/${a.user._id}`);

  expect(responses.length).toBeGreaterThan(25);
  expect(responses.some((r) => r.status >= 500)).toBe(false);
  const hashes = [...secrets].filter((s) => s.length >= 20);
  expect(hashes.length).toBeGreaterThan(10); // password hashes, refresh hashes, code hashes, the secret
  for (const res of responses) {
    for (const secret of secrets) expect(res.text.includes(secret), `${secret} in ${res.text}`).toBe(false);
    for (const { key, text } of walk(res.json)) {
      if (key !== undefined) expect(FORBIDDEN_KEYS.has(key), `key ${key} in ${res.text}`).toBe(false);
      if (text !== undefined) expect(/^\$2[aby]\$\d\d\$/.test(text), `bcrypt hash in ${res.text}`).toBe(false);
    }
  }
  await deps.store.close();
});
