/**
 * Caller matrix for every auth endpoint (API.md §6, pk or sk in x-api-key; and the social sign-in's
 * start and exchange, choices.md): no key, bad key, pk, sk, pk/sk with the owner's token, pk with
 * another user's token, and another project's keys. (`/api/mail/send` has its own in mail-send.)
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuthApp } from "../functions/auth/app.js";
import { AUTH_COLLECTIONS } from "../shared/auth/store.js";
import { type AuthTestEnv, authTestEnv, otherProject, PASSWORD, type Session } from "./auth-helpers.js";
import { type CallOptions, type CallResult, call, type TestProject } from "./data-helpers.js";

interface Ctx {
  owner: Session;
  other: Session;
  ownerSessionId: string;
  verifyCode: string;
  resetCode: string;
  /** A finished GitHub sign-in's handover, waiting for `social/exchange`. */
  handover: { token: string; rtCode: string };
  signedInAt: number;
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
  /** What a successful call must have done, beyond its status. */
  done?: (res: CallResult) => Promise<void>;
  /** That a refused call did nothing this route could have done. */
  intact?: () => Promise<void>;
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
  {
    // Another project (not set up for GitHub) answers 403 FORBIDDEN.
    name: "social start",
    method: "GET",
    path: () => "/social/github/start",
    bearer: false,
    success: 302,
    foreign: [403, "FORBIDDEN"],
    done: async (res) => {
      const to = new URL(res.headers.get("location") ?? "about:blank");
      expect(to.origin + to.pathname).toBe("https://github.com/login/oauth/authorize");
      expect(to.searchParams.get("state")).toMatch(new RegExp(`^${env.project.id}\\.[\\w-]{32}$`));
      expect(res.headers.get("set-cookie")).toContain("socialState=");
      expect(await stored("socialStates")).toBe(1);
    },
    intact: async () => expect(await stored("socialStates")).toBe(0),
  },
  {
    // Another project holds no handover of this one.
    name: "social exchange",
    method: "POST",
    path: () => "/social/exchange",
    body: (ctx) => ctx.handover,
    bearer: false,
    success: 200,
    foreign: [401, "TOKEN_INVALID"],
    done: async (res) => {
      const refreshed = await env.api("POST", "/refresh-token", {
        headers: { "x-refresh-token": res.json.data.refreshToken },
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(await stored("socialHandovers")).toBe(0); // good once
    },
    intact: async () => {
      // The handover is unspent; within its 60 s (the foreign-key test moves the clock past resend
      // cooldowns) its owner still gets the refresh token with it.
      expect(await stored("socialHandovers")).toBe(1);
      if (env.clock.now() - ctx.signedInAt >= 60_000) return;
      const res = await env.api("POST", "/social/exchange", { body: ctx.handover });
      expect(res.status, res.text).toBe(200);
      expect(res.json.data.refreshToken).toEqual(expect.any(String));
    },
  },
];

const SOCIAL = {
  redirectUrl: "https://app.example.com/auth/callback",
  github: { clientId: "gh-client", clientSecret: "gh-secret" },
};

/** GitHub as far as the callback uses it: every code is the one verified account below. */
const github = (async (input: string | URL | Request) => {
  const answers: Record<string, unknown> = {
    "https://github.com/login/oauth/access_token": { access_token: "gho_1", token_type: "bearer" },
    "https://api.github.com/user": { id: 4242, login: "octo", name: null, email: "social@example.com" },
    "https://api.github.com/user/emails": [{ email: "social@example.com", primary: true, verified: true }],
  };
  const body = answers[String(input)];
  return new Response(JSON.stringify(body ?? {}), {
    status: body === undefined ? 404 : 200,
    headers: { "content-type": "application/json" },
  });
}) as typeof fetch;

let env: AuthTestEnv;
let ctx: Ctx;
let foreign: TestProject;

/** How many records the project holds in one of its auth collections. */
async function stored(name: "socialStates" | "socialHandovers") {
  const project = await env.deps.projects.resolveProject(env.project.id);
  return env.deps.collections.database(project!).collection(AUTH_COLLECTIONS[name]).count({});
}

/** A whole GitHub sign-in (start, then the provider's callback): the handover the app's page receives. */
async function socialSignIn() {
  const start = await env.api("GET", "/social/github/start");
  expect(start.status, start.text).toBe(302);
  const state = new URL(start.headers.get("location") ?? "about:blank").searchParams.get("state") ?? "";
  const cookie = (start.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const path = `/api/userAuth/social/github/callback?code=c&state=${encodeURIComponent(state)}`;
  const back = await call(createAuthApp(env.deps, { fetch: github }), "GET", path, { headers: { cookie } });
  const page = new URL(back.headers.get("location") ?? "about:blank");
  const handover = {
    token: new URLSearchParams(page.hash.slice(1)).get("token") ?? "",
    rtCode: page.searchParams.get("rtCode") ?? "",
  };
  expect(handover.token && handover.rtCode, page.href).toBeTruthy();
  return handover;
}

beforeEach(async () => {
  env = await authTestEnv({ settings: { social: SOCIAL }, env: { ENCRYPTION_KEY: "ab".repeat(32) } });
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
    handover: await socialSignIn(),
    signedInAt: env.clock.now(),
  };
  expect([await stored("socialStates"), await stored("socialHandovers")]).toEqual([0, 1]);
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
    await route.intact?.();
  });

  it("unknown or malformed key → 401 API_KEY_INVALID", async () => {
    for (const key of [`pk_live_${"A".repeat(43)}`, `sk_live_${"B".repeat(43)}`, "not-a-key"]) {
      const res = await send(route, key, ctx.owner.accessToken);
      expect(res.status, key).toBe(401);
      expect(res.json.code, key).toBe("API_KEY_INVALID");
    }
    await ownerIntact();
    await route.intact?.();
  });

  it("publishable key (+ the owner's token where one is needed) → success", async () => {
    if (route.bearer) {
      const none = await send(route, env.project.pk);
      expect(none.status).toBe(401);
      expect(none.json.code).toBe("AUTH_REQUIRED");
    }
    const res = await send(route, env.project.pk, route.bearer ? ctx.owner.accessToken : undefined);
    expect(res.status, res.text).toBe(route.success);
    if (route.success !== 302) expect(res.json.success).toBe(true);
    await route.done?.(res);
  });

  it("secret key (+ the owner's token where one is needed) → success", async () => {
    if (route.bearer) expect((await send(route, env.project.sk)).json.code).toBe("AUTH_REQUIRED");
    const res = await send(route, env.project.sk, route.bearer ? ctx.owner.accessToken : undefined);
    expect(res.status, res.text).toBe(route.success);
    await route.done?.(res);
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
    await route.intact?.();
  });

  if (route.bearer) {
    it("publishable key + another user's token: acts on that user only, never on the owner", async () => {
      const before = (await env.api("GET", "/me", { token: ctx.owner.accessToken })).json.data;
      const res = await send(route, env.project.pk, ctx.other.accessToken);
      if (route.name === "revoke session") {
        expect(res.status).toBe(404);
      } else {
        expect(res.status).toBe(route.success);
        if (route.name === "sessions") {
          const ids = res.json.data.items.map((s: { id: string }) => s.id);
          expect(ids.length).toBeGreaterThan(0);
          expect(ids).not.toContain(ctx.ownerSessionId);
        } else if (route.name === "change-password") {
          // The other user's password changed (their current one no longer works).
          expect((await env.login("other@example.com", "another password")).status).toBe(200);
          expect((await env.login("other@example.com")).json.code).toBe("INVALID_CREDENTIALS");
        } else {
          const user = res.json.data.user ?? res.json.data;
          expect(user._id).toBe(ctx.other.user._id);
          if (route.name === "update-profile") expect(user.name).toBe("Changed");
        }
      }
      await ownerIntact();
      expect((await env.api("GET", "/me", { token: ctx.owner.accessToken })).json.data).toEqual(before);
      expect((await env.login("owner@example.com")).status).toBe(200);
    });
  }
});

describe("social sign-in: the key in the URL and another user's access token", () => {
  it("start takes a publishable key in ?key= (one state stored); a secret key there is refused, storing nothing", async () => {
    const refused = await env.api("GET", `/social/github/start?key=${env.project.sk}`, { key: null });
    expect([refused.status, refused.json.code]).toEqual([401, "API_KEY_INVALID"]);
    expect(await stored("socialStates")).toBe(0);
    const res = await env.api("GET", `/social/github/start?key=${env.project.pk}`, { key: null });
    expect(res.status, res.text).toBe(302);
    expect(await stored("socialStates")).toBe(1);
  });

  it("exchange with another user's access token: 401 TOKEN_INVALID, no refresh token shown, and the code is spent", async () => {
    const res = await env.api("POST", "/social/exchange", {
      body: { token: ctx.other.accessToken, rtCode: ctx.handover.rtCode },
    });
    expect([res.status, res.json.code]).toEqual([401, "TOKEN_INVALID"]);
    expect(res.json.data).toBeUndefined();
    expect(res.headers.get("set-cookie") ?? "").not.toContain("refreshToken");
    expect(await stored("socialHandovers")).toBe(0);
    const late = await env.api("POST", "/social/exchange", { body: ctx.handover });
    expect([late.status, late.json.code]).toEqual([401, "TOKEN_INVALID"]);
  });
});
