/**
 * Operator routes for end users (API.md §9): list and delete accounts (never hashes; deleting
 * revokes the sessions), the development outbox (404 in production), and `settings.auth` validation.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import { type AuthTestEnv, authTestEnv, PASSWORD, type Session } from "./auth-helpers.js";
import { type CallResult, call, createTestProject } from "./data-helpers.js";
import { ADMIN_TOKEN, aroundPlatform, testDeps } from "./helpers.js";

let env: AuthTestEnv;
let admin: (method: string, path: string, body?: unknown, token?: string | null) => Promise<CallResult>;
let alice: Session;

beforeEach(async () => {
  env = await authTestEnv();
  const app = createAdminApp(env.deps);
  admin = (method, path, body, token = ADMIN_TOKEN) =>
    call(app, method, `/api/admin${path}`, {
      body,
      ...(token === null ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });
  alice = await env.signup("alice@example.com", { username: "alice", name: "Alice" });
  env.clock.advance(1000);
  await env.signup("bob@example.com");
});
afterEach(() => env.close());

describe("GET /api/admin/projects/:id/users", () => {
  it("lists the accounts, oldest first, without password hashes; pages with page and limit", async () => {
    const res = await admin("GET", `/projects/${env.project.id}/users`);
    expect(res.status).toBe(200);
    expect(res.json.data).toMatchObject({ total: 2, page: 1, limit: 20 });
    expect(res.json.data.items.map((u: { email: string }) => u.email)).toEqual([
      "alice@example.com",
      "bob@example.com",
    ]);
    expect(res.json.data.items[0]).toEqual(alice.user);
    expect(res.text).not.toContain("passwordHash");
    expect(res.text).not.toContain("passwordId");
    expect(res.text).not.toContain("$2");
    const page2 = await admin("GET", `/projects/${env.project.id}/users?page=2&limit=1`);
    expect(page2.json.data.items.map((u: { email: string }) => u.email)).toEqual(["bob@example.com"]);
  });

  it("needs the admin token; bad ids, unknown projects and bad paging are refused", async () => {
    expect((await admin("GET", `/projects/${env.project.id}/users`, undefined, null)).json.code).toBe(
      "ADMIN_TOKEN_INVALID",
    );
    expect((await admin("GET", `/projects/${env.project.id}/users`, undefined, "x".repeat(30))).status).toBe(401);
    expect((await admin("GET", "/projects/nope/users")).json.code).toBe("INVALID_ID");
    expect((await admin("GET", "/projects/0123456789abcdef01234567/users")).json.code).toBe("PROJECT_NOT_FOUND");
    expect((await admin("GET", `/projects/${env.project.id}/users?limit=101`)).json.code).toBe("INVALID_QUERY");
    expect((await admin("GET", `/projects/${env.project.id}/users?page=0`)).json.code).toBe("INVALID_QUERY");
  });
});

describe("DELETE /api/admin/projects/:id/users/:userId", () => {
  it("deletes the account and its sessions (none left in the store); the email can sign up again", async () => {
    const path = `/projects/${env.project.id}/users/${alice.user._id}`;
    // Refused before the deletion (no token, a bad one, the project's own keys): alice is untouched each time.
    for (const token of [null, "x".repeat(30), ADMIN_TOKEN.slice(0, -1), env.project.pk, env.project.sk]) {
      const refused = await admin("DELETE", path, undefined, token);
      expect([refused.status, refused.json.code], String(token)).toEqual([401, "ADMIN_TOKEN_INVALID"]);
      expect((await env.api("GET", "/me", { token: alice.accessToken })).json.data).toEqual(alice.user);
    }
    expect((await env.login("alice@example.com")).status).toBe(200);
    const sessions = () =>
      env.deps.store
        .tenant({ projectId: env.project.id })
        .collection("_auth_sessions")
        .find({ userId: alice.user._id });
    expect(await sessions()).toHaveLength(2); // signup and login

    const res = await admin("DELETE", path);
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({ _id: alice.user._id, id: alice.user._id, deleted: true });
    expect(await sessions()).toEqual([]); // deleted with the account, not only refused
    expect((await env.api("GET", "/me", { token: alice.accessToken })).json.code).toBe("TOKEN_INVALID");
    expect((await env.api("POST", "/refresh-token", { body: { refreshToken: alice.refreshToken } })).status).toBe(401);
    expect((await env.login("alice@example.com")).json.code).toBe("INVALID_CREDENTIALS");
    expect((await env.api("GET", "/public/alice")).status).toBe(404);
    const again = await admin("DELETE", `/projects/${env.project.id}/users/${alice.user._id}`);
    expect(again.status).toBe(404);
    expect(again.json.code).toBe("USER_NOT_FOUND");
    expect((await admin("DELETE", `/projects/${env.project.id}/users/nope`)).json.code).toBe("INVALID_ID");
    await env.signup("alice@example.com");
  });
});

describe("POST /api/admin/projects/:id/sessions/revoke", () => {
  it("signs every end user out: refresh tokens and access tokens stop working; signing in again works", async () => {
    const bob = (await env.login("bob@example.com")).json.data as Session;
    const other = await createTestProject(env.deps, "other");
    const otherApp = createAuthApp(env.deps);
    const otherUser = await call(otherApp, "POST", "/api/userAuth/signup", {
      key: other.pk,
      body: { email: "carol@example.com", password: PASSWORD },
      headers: { "x-refresh-token-mode": "header" },
    });
    expect(otherUser.status).toBe(201);

    // The data function checks the access token alone (no session lookup): only a new secret stops it there.
    const data = createDataApp(env.deps);
    const notes = (token: string) => call(data, "GET", "/api/data/notes", { key: env.project.pk, token });
    await call(data, "POST", "/api/schemas", {
      key: env.project.sk,
      body: { name: "notes", fields: [{ name: "text", type: "string" }], rls: { enabled: true, mode: "private" } },
    });
    expect((await notes(alice.accessToken)).status).toBe(200);

    // A reset code mailed before stays good after.
    await env.api("POST", "/request-password-reset", { body: { email: "bob@example.com" } });
    const resetCode = env.otpFor("bob@example.com", "reset");

    expect((await admin("POST", `/projects/${env.project.id}/sessions/revoke`, undefined, null)).status).toBe(401);
    const res = await admin("POST", `/projects/${env.project.id}/sessions/revoke`);
    expect([res.status, res.json.data]).toEqual([200, { revokedSessions: 3 }]); // two signups, one login
    // The sessions are gone, not only counted; a second revoke renews the secret again and keeps
    // the code secret of the first (codes mailed before either stay good).
    const second = await admin("POST", `/projects/${env.project.id}/sessions/revoke`);
    expect([second.status, second.json.data]).toEqual([200, { revokedSessions: 0 }]);

    for (const session of [alice, bob]) {
      const refresh = await env.api("POST", "/refresh-token", {
        headers: { "x-refresh-token": session.refreshToken! },
      });
      expect(refresh.status).toBe(401);
      // The token is refused as a token (its secret is gone), before any session lookup.
      const me = await env.api("GET", "/me", { token: session.accessToken });
      expect([me.status, me.json.code]).toEqual([401, "TOKEN_INVALID"]);
    }
    expect((await notes(alice.accessToken)).json.code).toBe("TOKEN_INVALID");
    const reset = await env.api("POST", "/reset-password", {
      body: { email: "bob@example.com", otp: resetCode, newPassword: "a brand new password" },
    });
    expect(reset.status).toBe(200);
    const again = await env.login("alice@example.com");
    expect(again.status).toBe(200);
    expect((await env.api("GET", "/me", { token: again.json.data.accessToken })).status).toBe(200);
    const sessions = await env.api("GET", "/sessions", { token: again.json.data.accessToken });
    expect([sessions.status, sessions.json.data.items.length]).toEqual([200, 1]);
    expect((await notes(again.json.data.accessToken)).status).toBe(200);

    // Another project's users stay signed in.
    const otherMe = await call(otherApp, "GET", "/api/userAuth/me", {
      key: other.pk,
      token: otherUser.json.data.accessToken,
    });
    expect(otherMe.status).toBe(200);
    expect((await admin("POST", "/projects/0123456789abcdef01234567/sessions/revoke")).status).toBe(404);
  });
});

describe("sessions/revoke sent together", () => {
  it("all answer 200 over a slow platform store: a secret renewed after a call began does its work too", async () => {
    aroundPlatform(env.deps, async (_call, run) => {
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 25));
      return run();
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, () => admin("POST", `/projects/${env.project.id}/sessions/revoke`)),
    );
    expect(results.filter((r) => r.status !== 200).map((r) => [r.status, r.json.code])).toEqual([]);
  });
});

describe("GET /api/admin/projects/:id/outbox", () => {
  it("returns the project's last mails, newest first, with the code; ?to= filters", async () => {
    const res = await admin("GET", `/projects/${env.project.id}/outbox`);
    expect(res.status).toBe(200);
    expect(res.json.data.map((m: { to: string }) => m.to)).toEqual(["bob@example.com", "alice@example.com"]);
    expect(res.json.data[1]).toEqual({
      to: "alice@example.com",
      subject: "app: verify your email",
      text: expect.stringContaining(env.otpFor("alice@example.com")),
      html: null,
      otp: env.otpFor("alice@example.com"),
      sentAt: "2026-01-01T00:00:00.000Z",
    });
    const filtered = await admin("GET", `/projects/${env.project.id}/outbox?to=ALICE@example.com`);
    expect(filtered.json.data).toHaveLength(1);
    // Completing the flow with the code from the endpoint.
    const verify = await env.api("POST", "/verify-email", {
      body: { email: "alice@example.com", otp: filtered.json.data[0].otp },
    });
    expect(verify.status).toBe(200);
    // Another project's outbox is its own.
    const other = await createTestProject(env.deps, "other");
    expect((await admin("GET", `/projects/${other.id}/outbox`)).json.data).toEqual([]);
    expect((await admin("GET", `/projects/${env.project.id}/outbox`, undefined, null)).status).toBe(401);
  });

  it("?to= with a plus address typed unencoded (its + reads as a space) still finds the mails", async () => {
    await env.signup("carol+test@example.com");
    for (const to of ["carol+test@example.com", "carol%2Btest@example.com"]) {
      const res = await admin("GET", `/projects/${env.project.id}/outbox?to=${to}`);
      expect(res.json.data.map((m: { to: string }) => m.to)).toEqual(["carol+test@example.com"]);
    }
  });

  it("answers 404 in production", async () => {
    const deps = await testDeps({
      env: { NODE_ENV: "production", ENCRYPTION_KEY: "a".repeat(64), DATA_DIR: "/unused", MAIL_PROVIDER: "console" },
    });
    const project = await createTestProject(deps, "prod");
    const auth = createAuthApp(deps);
    const signup = await call(auth, "POST", "/api/userAuth/signup", {
      key: project.sk,
      body: { email: "a@example.com", password: PASSWORD },
    });
    expect(signup.status).toBe(201);
    const res = await call(createAdminApp(deps), "GET", `/api/admin/projects/${project.id}/outbox`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(404);
    expect(res.json.code).toBe("NOT_FOUND");
    await deps.store.close();
  });

  it("works with the console mailer outside production (the local server's default), which also logs the mail", async () => {
    const deps = await testDeps({ env: { NODE_ENV: "development", BCRYPT_COST: "4" } });
    expect(deps.mailer.kind).toBe("console");
    const project = await createTestProject(deps, "dev");
    await call(createAuthApp(deps), "POST", "/api/userAuth/signup", {
      key: project.pk,
      body: { email: "a@example.com", password: PASSWORD },
    });
    const res = await call(createAdminApp(deps), "GET", `/api/admin/projects/${project.id}/outbox`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.json.data).toHaveLength(1);
    const logged = deps.log.lines.find((l) => l.message.startsWith("mail"));
    expect(logged?.fields).toMatchObject({ to: "a@example.com", text: expect.stringContaining(res.json.data[0].otp) });
    await deps.store.close();
  });
});

describe("settings.auth", () => {
  it("is validated on create and PATCH, every problem named; PATCH merges", async () => {
    const bad = await admin("PATCH", `/projects/${env.project.id}`, {
      settings: {
        auth: {
          requireEmailVerification: "yes",
          passwordMinLength: 4,
          accessTokenTtl: 10,
          refreshTokenTtl: 1.5,
          publicProfileFields: ["email", "passwordHash", "a.b"],
          maxFailedLogins: 0,
          unknown: true,
        },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.details.map((d: { path: string }) => d.path).sort()).toEqual(
      [
        "settings.auth",
        "settings.auth.accessTokenTtl",
        "settings.auth.maxFailedLogins",
        "settings.auth.passwordMinLength",
        "settings.auth.publicProfileFields.0",
        "settings.auth.publicProfileFields.1",
        "settings.auth.publicProfileFields.2",
        "settings.auth.refreshTokenTtl",
        "settings.auth.requireEmailVerification",
      ].sort(),
    );
    const ok = await admin("PATCH", `/projects/${env.project.id}`, { settings: { auth: { maxFailedLogins: 5 } } });
    expect(ok.status).toBe(200);
    const merged = await admin("PATCH", `/projects/${env.project.id}`, {
      settings: { auth: { requireEmailVerification: true } },
    });
    expect(merged.json.data.settings.auth).toEqual({ maxFailedLogins: 5, requireEmailVerification: true });
    // The new setting applies to the next request.
    expect((await env.login("bob@example.com")).json.code).toBe("EMAIL_NOT_VERIFIED");
  });
});
