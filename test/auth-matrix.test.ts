/**
 * Caller matrix for every auth endpoint (API.md §6, pk or sk in x-api-key): no key, bad key, pk,
 * sk, pk/sk with the owner's token, pk with another user's token, and another project's keys.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuthTestEnv, authTestEnv, otherProject, PASSWORD, type Session } from "./auth-helpers.js";
import type { CallOptions, TestProject } from "./data-helpers.js";

interface Ctx {
  owner: Session;
  other: Session;
  ownerSessionId: string;
  verifyCode: string;
  resetCode: string;
}

interface RouteCase {
  name: string;
  method: string;
  path: (ctx: Ctx) => string;
  body?: (ctx: Ctx) => unknown;
  headers?: (ctx: Ctx) => Record<string, string>;
  /** Needs the caller's Bearer token. */
  bearer: boolean;
  success: number;
  /** Status and code with another project's key (and, for Bearer routes, the owner's token). */
  foreign: [number, string | null];
}

let signups = 0;

const routes: RouteCase[] = [
  {
    name: "signup",
    method: "POST",
    path: () => "/signup",
    body: () => ({ email: `new${++signups}@example.com`, password: PASSWORD }),
    bearer: false,
    success: 201,
    foreign: [201, null],
  },
  {
    name: "login",
    method: "POST",
    path: () => "/login",
    body: () => ({ email: "owner@example.com", password: PASSWORD }),
    bearer: false,
    success: 200,
    foreign: [401, "INVALID_CREDENTIALS"],
  },
  {
    name: "refresh-token",
    method: "POST",
    path: () => "/refresh-token",
    headers: (ctx) => ({ "x-refresh-token": ctx.owner.refreshToken! }),
    bearer: false,
    success: 200,
    foreign: [401, "REFRESH_TOKEN_INVALID"],
  },
  {
    name: "logout",
    method: "POST",
    path: () => "/logout",
    headers: (ctx) => ({ "x-refresh-token": ctx.owner.refreshToken! }),
    bearer: false,
    success: 200,
    foreign: [200, null],
  },
  { name: "me", method: "GET", path: () => "/me", bearer: true, success: 200, foreign: [401, "TOKEN_INVALID"] },
  {
    name: "public profile",
    method: "GET",
    path: () => "/public/owner",
    bearer: false,
    success: 200,
    foreign: [404, "USER_NOT_FOUND"],
  },
  {
    name: "verify-email",
    method: "POST",
    path: () => "/verify-email",
    body: (ctx) => ({ email: "owner@example.com", otp: ctx.verifyCode }),
    bearer: false,
    success: 200,
    foreign: [400, "OTP_INVALID"],
  },
  ...["/resend-verification", "/resend-verification-otp", "/request-password-reset"].map(
    (path): RouteCase => ({
      name: path.slice(1),
      method: "POST",
      path: () => path,
      body: () => ({ email: "someone@example.com" }),
      bearer: false,
      success: 200,
      foreign: [200, null],
    }),
  ),
  {
    name: "reset-password",
    method: "POST",
    path: () => "/reset-password",
    body: (ctx) => ({ email: "owner@example.com", otp: ctx.resetCode, newPassword: "a brand new password" }),
    bearer: false,
    success: 200,
    foreign: [400, "OTP_INVALID"],
  },
  {
    name: "update-profile",
    method: "PUT",
    path: () => "/update-profile",
    body: () => ({ name: "Changed" }),
    bearer: true,
    success: 200,
    foreign: [401, "TOKEN_INVALID"],
  },
  {
    name: "change-password",
    method: "PUT",
    path: () => "/change-password",
    body: () => ({ currentPassword: PASSWORD, newPassword: "another password" }),
    bearer: true,
    success: 200,
    foreign: [401, "TOKEN_INVALID"],
  },
  {
    name: "sessions",
    method: "GET",
    path: () => "/sessions",
    bearer: true,
    success: 200,
    foreign: [401, "TOKEN_INVALID"],
  },
  {
    name: "revoke session",
    method: "DELETE",
    path: (ctx) => `/sessions/${ctx.ownerSessionId}`,
    bearer: true,
    success: 200,
    foreign: [401, "TOKEN_INVALID"],
  },
];

let env: AuthTestEnv;
let ctx: Ctx;
let foreign: TestProject;

beforeEach(async () => {
  env = await authTestEnv();
  foreign = await otherProject(env.deps);
  const owner = await env.signup("owner@example.com", { username: "owner" });
  const other = await env.signup("other@example.com", { username: "other" });
  await env.api("POST", "/request-password-reset", { body: { email: "owner@example.com" } });
  const sessions = await env.api("GET", "/sessions", { token: owner.accessToken });
  ctx = {
    owner,
    other,
    ownerSessionId: sessions.json.data.items[0].id,
    verifyCode: env.otpFor("owner@example.com", "verify"),
    resetCode: env.otpFor("owner@example.com", "reset"),
  };
});
afterEach(() => env.close());

function send(route: RouteCase, key: string | null, token?: string) {
  const options: CallOptions = { key };
  if (token) options.token = token;
  if (route.body) options.body = route.body(ctx);
  if (route.headers) options.headers = route.headers(ctx);
  return env.api(route.method, route.path(ctx), options);
}

/** Whether the owner's session still works (nothing done by a refused caller touched it). */
async function ownerIntact() {
  expect((await env.api("GET", "/me", { token: ctx.owner.accessToken })).status).toBe(200);
}

describe.each(routes)("$method $name", (route) => {
  it("no key → 401 API_KEY_MISSING", async () => {
    const res = await send(route, null, ctx.owner.accessToken);
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("API_KEY_MISSING");
    await ownerIntact();
  });

  it("unknown or malformed key → 401 API_KEY_INVALID", async () => {
    for (const key of [`pk_live_${"A".repeat(43)}`, `sk_live_${"B".repeat(43)}`, "not-a-key"]) {
      const res = await send(route, key, ctx.owner.accessToken);
      expect(res.status, key).toBe(401);
      expect(res.json.code, key).toBe("API_KEY_INVALID");
    }
    await ownerIntact();
  });

  it("publishable key (+ the owner's token where one is needed) → success", async () => {
    if (route.bearer) {
      const none = await send(route, env.project.pk);
      expect(none.status).toBe(401);
      expect(none.json.code).toBe("AUTH_REQUIRED");
    }
    const res = await send(route, env.project.pk, route.bearer ? ctx.owner.accessToken : undefined);
    expect(res.status, res.text).toBe(route.success);
    expect(res.json.success).toBe(true);
  });

  it("secret key (+ the owner's token where one is needed) → success", async () => {
    if (route.bearer) expect((await send(route, env.project.sk)).json.code).toBe("AUTH_REQUIRED");
    const res = await send(route, env.project.sk, route.bearer ? ctx.owner.accessToken : undefined);
    expect(res.status, res.text).toBe(route.success);
  });

  it("another project's keys: the request is that project's, the owner's tokens mean nothing there", async () => {
    for (const key of [foreign.pk, foreign.sk]) {
      env.clock.advance(61_000); // past any resend cooldown the previous key started
      const res = await send(route, key, ctx.owner.accessToken);
      expect(res.status, `${key.slice(0, 2)}: ${res.text}`).toBe(route.foreign[0]);
      if (route.foreign[1]) expect(res.json.code).toBe(route.foreign[1]);
    }
    await ownerIntact();
    expect((await env.login("owner@example.com")).status).toBe(200);
  });

  if (route.bearer) {
    it("publishable key + another user's token: acts on that user only, never on the owner", async () => {
      const before = (await env.api("GET", "/me", { token: ctx.owner.accessToken })).json.data;
      const res = await send(route, env.project.pk, ctx.other.accessToken);
      if (route.name === "revoke session") {
        expect(res.status).toBe(404);
      } else {
        expect(res.status).toBe(route.success);
        const user = res.json.data.user ?? res.json.data;
        if (route.name === "sessions") {
          expect(res.json.data.items.map((s: { id: string }) => s.id)).not.toContain(ctx.ownerSessionId);
        } else if (user._id !== undefined) {
          expect(user._id).toBe(ctx.other.user._id);
        }
      }
      await ownerIntact();
      expect((await env.api("GET", "/me", { token: ctx.owner.accessToken })).json.data).toEqual(before);
      expect((await env.login("owner@example.com")).status).toBe(200);
    });
  }
});
