/**
 * Social sign-in (GitHub, Google) end to end through HTTP, against fake providers reached through
 * the fetch the auth app is given: start → provider → callback → the app's page → exchange →
 * refresh; linking rules; state and handover misuse; Google's id_token checks; the urBackend SDK.
 */
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import urBackend from "@urbackend/sdk";
import type { Hono } from "hono";
import { generateKeyPair } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { createDataApp } from "../functions/data/app.js";
import type { AppEnv } from "../shared/app.js";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { type CallOptions, call, createTestProject } from "./data-helpers.js";
import { ADMIN_TOKEN } from "./helpers.js";
import { fakeProviders, REDIRECT, SOCIAL } from "./social-providers.js";

let env: AuthTestEnv;
let providers: Awaited<ReturnType<typeof fakeProviders>>;
let app: Hono<AppEnv>;
beforeEach(async () => {
  // With an ENCRYPTION_KEY, as in production: secrets are sealed with AES-GCM.
  env = await authTestEnv({ settings: { social: SOCIAL }, env: { ENCRYPTION_KEY: "ab".repeat(32) } });
  providers = await fakeProviders(() => env.clock.now());
  app = createAuthApp(env.deps, { fetch: providers.fetcher });
});
afterEach(() => env.close());

/** The browser's cookie from the last start (the sign-in's nonce); GETs send it, as a browser would. */
const browser = { cookie: "" };
const get = (path: string, opts: CallOptions = {}) =>
  call(app, "GET", path, { key: null, ...opts, headers: { cookie: browser.cookie, ...opts.headers } });
const location = (res: { headers: Headers }) => new URL(res.headers.get("location") ?? "about:blank");

/** Starts a sign-in with the publishable key in the URL (as the SDK's socialStart does); the provider's URL. */
async function start(provider: string, key = env.project.pk, query = "") {
  const res = await get(`/api/userAuth/social/${provider}/start?key=${key}${query}`);
  expect(res.status, res.text).toBe(302);
  browser.cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return location(res);
}

/** The whole round trip for the account behind `code`; the app page's URL the browser lands on. */
async function signIn(provider: "github" | "google", code: string, query = "") {
  const authorize = await start(provider, env.project.pk, query);
  providers.approve(authorize, code);
  const state = authorize.searchParams.get("state") ?? "";
  const res = await get(`/api/userAuth/social/${provider}/callback?code=${code}&state=${encodeURIComponent(state)}`);
  expect(res.status, res.text).toBe(302);
  return location(res);
}

const resolved = async () => {
  const project = await env.deps.projects.resolveProject(env.project.id);
  if (!project) throw new Error("no project");
  return project;
};

/** A collection of the project's database (users, the reserved _auth_* ones). */
const collection = async (name: string) => env.deps.collections.database(await resolved()).collection(name);

const landed = (url: URL) => ({
  // In the query, or (a sign-in bound to the app's verifier) in the fragment.
  rtCode: url.searchParams.get("rtCode") ?? new URLSearchParams(url.hash.slice(1)).get("rtCode") ?? "",
  token: new URLSearchParams(url.hash.slice(1)).get("token") ?? "",
  error: url.searchParams.get("error"),
});

const exchange = (body: unknown, key = env.project.pk) =>
  call(app, "POST", "/api/userAuth/social/exchange", { key, body });

describe("GitHub, the whole way", () => {
  it("start → GitHub → callback → the app's page → exchange → refresh and me", async () => {
    providers.accounts.set("code-ada", { id: "101", email: "Ada@Example.com", verified: true, name: "Ada L" });
    const authorize = await start("github");
    expect(authorize.origin + authorize.pathname).toBe("https://github.com/login/oauth/authorize");
    expect(authorize.searchParams.get("client_id")).toBe("gh-client");
    expect(authorize.searchParams.get("redirect_uri")).toBe("http://localhost/api/userAuth/social/github/callback");
    expect(authorize.searchParams.get("state")).toMatch(new RegExp(`^${env.project.id}\\.[\\w-]{32}$`));

    const page = await signIn("github", "code-ada");
    expect(page.origin + page.pathname).toBe(REDIRECT);
    expect(Object.fromEntries([...page.searchParams].filter(([k]) => k !== "rtCode" && k !== "userId"))).toEqual({
      provider: "github",
      projectId: env.project.id,
      isNewUser: "true",
      linkedByEmail: "false",
    });
    const { rtCode, token } = landed(page);
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token });
    expect(me.json.data).toMatchObject({ email: "ada@example.com", emailVerified: true, name: "Ada L" });
    expect(me.json.data.githubId).toBe("101");

    const swapped = await exchange({ token, rtCode });
    expect(swapped.status, swapped.text).toBe(200);
    const { refreshToken } = swapped.json.data;
    expect(swapped.headers.get("set-cookie")).toContain(env.cookie.header(refreshToken));
    const refreshed = await call(app, "POST", "/api/userAuth/refresh-token", {
      key: env.project.pk,
      headers: { "x-refresh-token": refreshToken, "x-refresh-token-mode": "header" },
    });
    expect(refreshed.status, refreshed.text).toBe(200);

    // The handover is good once.
    expect((await exchange({ token, rtCode })).json.code).toBe("TOKEN_INVALID");
    // Signing in again finds the same user by GitHub id, even with another email at GitHub.
    providers.accounts.set("code-ada-2", { id: "101", email: "other@example.com", verified: true });
    const again = await signIn("github", "code-ada-2");
    expect(again.searchParams.get("userId")).toBe(page.searchParams.get("userId"));
    expect(again.searchParams.get("isNewUser")).toBe("false");
  });

  it("a new account gets the project's profile defaults, and the provider's name only where it fits", async () => {
    const define = (fields: unknown[]) =>
      call(createDataApp(env.deps), "PUT", "/api/schemas/users", { key: env.project.sk, body: { fields } });
    const me = async (code: string) => {
      const { token } = landed(await signIn("github", code));
      return (await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token })).json.data;
    };
    const plan = { name: "plan", type: "string", default: "free" };
    expect((await define([{ name: "name", type: "integer" }, plan])).status).toBe(200);
    providers.accounts.set("code-a", { id: "1", email: "a@example.com", verified: true, name: "Ada L" });
    const a = await me("code-a");
    expect(a).toMatchObject({ email: "a@example.com", plan: "free" });
    expect(a).not.toHaveProperty("name");

    expect((await define([{ name: "name", type: "string" }, plan])).status).toBe(200);
    providers.accounts.set("code-b", { id: "2", email: "b@example.com", verified: true, name: "Bo" });
    expect(await me("code-b")).toMatchObject({ name: "Bo", plan: "free" });

    // A field the provider cannot give is required: the account opens without profile fields.
    expect((await define([{ name: "age", type: "integer", required: true }, plan])).status).toBe(200);
    providers.accounts.set("code-c", { id: "3", email: "c@example.com", verified: true, name: "Cy" });
    const c = await me("code-c");
    expect(c.email).toBe("c@example.com");
    expect(c).not.toHaveProperty("plan");
  });

  it("the provider's values, which the user chooses there, go into no readonly or private field", async () => {
    const define = (fields: unknown[]) =>
      call(createDataApp(env.deps), "PUT", "/api/schemas/users", { key: env.project.sk, body: { fields } });
    const fields = [
      { name: "name", type: "string", readonly: true, default: "unverified" },
      { name: "avatarUrl", type: "string", private: true },
    ];
    expect((await define(fields)).status).toBe(200);
    providers.accounts.set("code-a", {
      id: "1",
      email: "a@example.com",
      verified: true,
      name: "Chosen Name",
      avatarUrl: "https://example.com/a.png",
    });
    const { token, error } = landed(await signIn("github", "code-a"));
    expect(error).toBeNull();
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.sk, token });
    expect(me.json.data).toMatchObject({ email: "a@example.com", name: "unverified" });
    expect(me.json.data).not.toHaveProperty("avatarUrl");
  });

  it("a unique profile field whose provider value someone else holds: the account opens without that value", async () => {
    const fields = [
      { name: "name", type: "string", unique: true },
      { name: "avatarUrl", type: "string" },
    ];
    const defined = await call(createDataApp(env.deps), "PUT", "/api/schemas/users", {
      key: env.project.sk,
      body: { fields },
    });
    expect(defined.status, defined.text).toBe(200);
    // Room for two accounts: the attempt the clash fails must give its place back.
    await env.deps.projects.update(env.project.id, { settings: { quotas: { users: 2 } } });
    // Anyone can take the display name the victim has at GitHub (signup takes profile fields).
    await env.signup("squatter@example.com", { name: "Ada Lovelace" });
    const avatarUrl = "https://avatars.example.com/u/101";
    providers.accounts.set("ada", {
      id: "101",
      email: "ada@example.com",
      verified: true,
      name: "Ada Lovelace",
      avatarUrl,
    });
    const page = landed(await signIn("github", "ada"));
    expect(page.error).toBeNull();
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token: page.token });
    expect(me.json.data).toMatchObject({ email: "ada@example.com", githubId: "101", avatarUrl });
    expect(me.json.data).not.toHaveProperty("name");
    // The next sign-in finds the account.
    expect(await (await collection("users")).count()).toBe(2);
    expect(landed(await signIn("github", "ada")).error).toBeNull();
    expect(await (await collection("users")).count()).toBe(2);
  });

  it("identity fields still conflict: two first sign-ins at once of one email, or of one GitHub id, open one account", async () => {
    const cases = [
      { id: ["202", "202"], email: ["twice@example.com", "twice@example.com"], error: "Email already registered" },
      { id: ["303", "303"], email: ["one@example.com", "two@example.com"], error: 'unique field "githubId"' },
    ];
    // The provider's name clashes too: dropping it must not make the identity conflict go away.
    const defined = await call(createDataApp(env.deps), "PUT", "/api/schemas/users", {
      key: env.project.sk,
      body: { fields: [{ name: "name", type: "string", unique: true }] },
    });
    expect(defined.status, defined.text).toBe(200);
    for (const [n, { id, email, error }] of cases.entries()) {
      // Both callbacks hold the profile before either looks for its user.
      let release = () => {};
      const bothThere = new Promise<void>((resolve) => {
        release = resolve;
      });
      let waiting = 0;
      const gated = (async (input: string | URL | Request, init?: RequestInit) => {
        if (String(input).endsWith("/user/emails") && ++waiting === 2) release();
        if (String(input).endsWith("/user/emails")) await bothThere;
        return providers.fetcher(input, init);
      }) as typeof fetch;
      app = createAuthApp(env.deps, { fetch: gated });
      const tabs = [];
      for (const i of [0, 1]) {
        const code = `c${n}${i}`;
        providers.accounts.set(code, { id: id[i] ?? "", email: email[i] ?? "", verified: true, name: `Name ${n}` });
        const authorize = await start("github");
        providers.approve(authorize, code);
        const state = encodeURIComponent(authorize.searchParams.get("state") ?? "");
        tabs.push({ path: `/api/userAuth/social/github/callback?code=${code}&state=${state}`, cookie: browser.cookie });
      }
      const pages = await Promise.all(
        tabs.map(async ({ path, cookie }) => landed(location(await get(path, { headers: { cookie } })))),
      );
      const [failed, ...rest] = pages.map((page) => page.error).sort();
      expect(rest).toEqual([null]);
      expect(failed).toContain(error);
      expect(await (await collection("users")).count({ githubId: id[0] })).toBe(1);
    }
  });

  it("the user can no longer sign in with a password they never had", async () => {
    providers.accounts.set("c", { id: "7", email: "nopass@example.com", verified: true });
    await signIn("github", "c");
    const login = await env.login("nopass@example.com", PASSWORD);
    expect([login.status, login.json.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  });
});

describe("linking to an existing account", () => {
  it("an email the provider verified links the provider to a verified account", async () => {
    const session = await env.signup("bob@example.com");
    const verified = await env.api("POST", "/verify-email", {
      body: { email: "bob@example.com", otp: env.otpFor("bob@example.com") },
    });
    expect(verified.status).toBe(200);
    providers.accounts.set("c", { id: "55", email: "bob@example.com", verified: true });
    const page = await signIn("github", "c");
    expect(page.searchParams.get("userId")).toBe(session.user._id);
    expect(page.searchParams.get("linkedByEmail")).toBe("true");
    const { token } = landed(page);
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token });
    expect(me.json.data).toMatchObject({ emailVerified: true, githubId: "55" });
    // Whoever set the password may not have been the owner: it goes, and so do the sessions from before.
    const before = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token: session.accessToken });
    expect(before.json.code).toBe("TOKEN_INVALID");
    expect((await env.login("bob@example.com")).json.code).toBe("INVALID_CREDENTIALS");
  });

  it("a squatter's account verified by an owner who followed the code is still not theirs after linking", async () => {
    const squatter = await env.signup("victim@example.com"); // the attacker's password
    const otp = env.otpFor("victim@example.com"); // the code reaches the owner's mailbox
    expect((await env.api("POST", "/verify-email", { body: { email: "victim@example.com", otp } })).status).toBe(200);
    providers.accounts.set("owner", { id: "88", email: "victim@example.com", verified: true });
    expect(landed(await signIn("github", "owner")).error).toBeNull();
    expect((await env.login("victim@example.com")).status).toBe(401);
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token: squatter.accessToken });
    expect(me.status).toBe(401);
  });

  it("an email the provider did not verify neither links nor creates; the page gets ?error and no token", async () => {
    const session = await env.signup("carol@example.com");
    providers.accounts.set("c", { id: "66", email: "carol@example.com", verified: false });
    providers.accounts.set("n", { id: "67", email: "nobody@example.com", verified: false });
    for (const code of ["c", "n"]) {
      const { error, token, rtCode } = landed(await signIn("github", code));
      expect(error).toContain("not verified with github");
      expect([token, rtCode]).toEqual(["", ""]);
    }
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token: session.accessToken });
    expect(me.json.data).toMatchObject({ emailVerified: false });
    expect(me.json.data.githubId).toBeUndefined();
    expect(
      await env.deps.collections
        .database(await resolved())
        .collection("users")
        .count(),
    ).toBe(1);
  });

  it("an unverified account someone opened with the owner's address is not handed to the owner's GitHub", async () => {
    // The attacker signs up with the owner's address and a password of theirs, and never verifies it.
    const squatter = await env.signup("victim@example.com");
    providers.accounts.set("owner", { id: "77", email: "victim@example.com", verified: true });
    const page = await signIn("github", "owner");
    expect(landed(page).error).toContain("not verified; reset its password first");
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token: squatter.accessToken });
    expect(me.json.data).toMatchObject({ emailVerified: false });
    expect(me.json.data.githubId).toBeUndefined();
  });

  it("an account already linked to another GitHub id is not relinked", async () => {
    providers.accounts.set("first", { id: "1", email: "dan@example.com", verified: true });
    providers.accounts.set("second", { id: "2", email: "dan@example.com", verified: true });
    await signIn("github", "first");
    expect(landed(await signIn("github", "second")).error).toContain("linked to another github account");
  });

  it("a new account takes a place in the users quota; past it the page gets ?error, a known account still signs in", async () => {
    await env.deps.projects.update(env.project.id, { settings: { quotas: { users: 1 } } });
    providers.accounts.set("ada", { id: "1", email: "ada@example.com", verified: true });
    providers.accounts.set("bob", { id: "2", email: "bob@example.com", verified: true });
    expect(landed(await signIn("github", "ada")).error).toBeNull();
    expect(landed(await signIn("github", "bob")).error).toContain("user quota is used up");
    expect(landed(await signIn("github", "ada")).error).toBeNull();
  });

  it("no email from the provider: refused", async () => {
    providers.accounts.set("c", { id: "9", email: "", verified: false });
    expect(landed(await signIn("github", "c")).error).toContain("no email");
  });
});

describe("state, code and handover misuse", () => {
  it("a state is good once, for its provider and project, for 10 minutes", async () => {
    providers.accounts.set("c", { id: "1", email: "e@example.com", verified: true });
    const state = (await start("github")).searchParams.get("state") ?? "";
    const callback = (provider: string, s: string) =>
      get(`/api/userAuth/social/${provider}/callback?code=c&state=${s}`);
    expect((await callback("google", state)).json.code).toBe("VALIDATION_FAILED");
    expect((await callback("github", state)).status).toBe(302);
    const reused = await callback("github", state);
    expect([reused.status, reused.json.code]).toEqual([400, "VALIDATION_FAILED"]);

    const other = await createTestProject(env.deps, "other", { social: SOCIAL });
    const nonce = state.split(".")[1];
    expect((await callback("github", `${other.id}.${nonce}`)).status).toBe(400);
    for (const bad of ["", "x", "not-an-id.abc", `${env.project.id}.`, "../../etc"]) {
      expect((await callback("github", encodeURIComponent(bad))).status).toBe(400);
    }
    const late = (await start("github")).searchParams.get("state") ?? "";
    env.clock.advance(10 * 60 * 1000 + 1);
    expect((await callback("github", late)).status).toBe(400);
  });

  it("a refused or missing code, or the user saying no at the provider, lands on the page with ?error", async () => {
    const errorOf = async (query: string) => {
      const state = (await start("github")).searchParams.get("state") ?? "";
      const res = await get(`/api/userAuth/social/github/callback?${query}&state=${state}`);
      expect(res.status).toBe(302);
      return location(res).searchParams.get("error") ?? "";
    };
    expect(await errorOf("code=unknown")).toContain("did not accept the code");
    expect(await errorOf("x=1")).toContain("no code");
    expect(await errorOf("error=access_denied")).toBe("github sign-in failed: cancelled");
    // The provider's (or a forger's) own words are logged, never shown on the app's page.
    const forged = await errorOf(`error=${encodeURIComponent("Your account is locked, call +1 555 0100")}`);
    expect(forged).toBe("github sign-in failed: github refused the sign-in");
  });

  it("a callback link made in another browser finds no nonce cookie there: 400, nothing signed in (login CSRF)", async () => {
    providers.accounts.set("attacker", { id: "666", email: "mallory@example.com", verified: true });
    const state = (await start("github")).searchParams.get("state") ?? "";
    const link = `/api/userAuth/social/github/callback?code=attacker&state=${state}`;
    const victim = await get(link, { headers: { cookie: "" } });
    expect([victim.status, victim.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const otherBrowser = await get(link, { headers: { cookie: "socialState=someone-elses-nonce" } });
    expect(otherBrowser.status).toBe(400);
    // The nonce cookie is HttpOnly, Lax (sent on the provider's redirect back) and scoped to the flow.
    const res = await get(`/api/userAuth/social/github/start?key=${env.project.pk}`);
    expect(res.headers.get("set-cookie")).toMatch(
      /^socialState=[\w-]+; Max-Age=600; Path=\/api\/userAuth\/social; HttpOnly; .*SameSite=Lax/,
    );
  });

  it("over https the nonce cookie is __Host- (Secure, whole host): a planted plain cookie does not pass", async () => {
    providers.accounts.set("attacker", { id: "666", email: "mallory@example.com", verified: true });
    const res = await call(
      app,
      "GET",
      `https://api.example.com/api/userAuth/social/github/start?key=${env.project.pk}`,
    );
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-socialState=[\w-]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const state = location(res).searchParams.get("state") ?? "";
    const nonce = state.split(".")[1];
    const link = `https://api.example.com/api/userAuth/social/github/callback?code=attacker&state=${state}`;
    const planted = await call(app, "GET", link, { headers: { cookie: `socialState=${nonce}` } });
    expect(planted.status).toBe(400);
    const own = await call(app, "GET", link, { headers: { cookie: cookie.split(";")[0] ?? "" } });
    expect(own.status).toBe(302);
  });

  it("behind a proxy that forwards to 127.0.0.1, PUBLIC_URL https makes the nonce cookie __Host- and the refresh cookie Secure", async () => {
    await env.close();
    env = await authTestEnv({
      settings: { social: SOCIAL },
      env: { ENCRYPTION_KEY: "ab".repeat(32), PUBLIC_URL: "https://api.example.com" },
    });
    providers = await fakeProviders(() => env.clock.now());
    app = createAuthApp(env.deps, { fetch: providers.fetcher });
    providers.accounts.set("c", { id: "11", email: "proxied@example.com", verified: true });
    // nginx's default proxy_pass sends Host: 127.0.0.1:8787; the browser is at https://api.example.com.
    const proxied = "http://127.0.0.1:8787/api/userAuth/social";
    const res = await get(`${proxied}/github/start?key=${env.project.pk}`);
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-socialState=[\w-]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const authorize = location(res);
    expect(authorize.searchParams.get("redirect_uri")).toBe(
      "https://api.example.com/api/userAuth/social/github/callback",
    );
    providers.approve(authorize, "c");
    const state = authorize.searchParams.get("state") ?? "";
    const link = `${proxied}/github/callback?code=c&state=${state}`;
    // A bare cookie with the nonce (planted from a sibling subdomain: cookie tossing) does not pass.
    const planted = await get(link, { headers: { cookie: `socialState=${state.split(".")[1]}` } });
    expect([planted.status, planted.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    const own = await get(link, { headers: { cookie: cookie.split(";")[0] ?? "" } });
    expect(own.headers.get("set-cookie")).toMatch(
      /^__Host-socialState=; Max-Age=0; Path=\/; HttpOnly; Secure; SameSite=Lax/,
    );
    const { token, rtCode } = landed(location(own));
    const swapped = await call(app, "POST", `${proxied}/exchange`, { key: env.project.pk, body: { token, rtCode } });
    expect(swapped.status, swapped.text).toBe(200);
    expect(swapped.headers.get("set-cookie")).toMatch(/^refreshToken_[0-9a-f]{24}=[\w-]+; .*; Secure; SameSite=Lax$/);
  });

  it("two sign-ins started in one browser: the last one started goes through", async () => {
    providers.accounts.set("c", { id: "5", email: "g@example.com", verified: true });
    const first = (await start("github")).searchParams.get("state") ?? "";
    const second = (await start("github")).searchParams.get("state") ?? "";
    expect((await get(`/api/userAuth/social/github/callback?code=c&state=${first}`)).status).toBe(400);
    const res = await get(`/api/userAuth/social/github/callback?code=c&state=${second}`);
    expect(landed(location(res)).error).toBeNull();
  });

  it("the callback is rate limited per client under the project's auth rule", async () => {
    const limited = await createTestProject(env.deps, "limited", { social: SOCIAL, rateLimits: { auth: "2/15m" } });
    const guess = () =>
      get(`/api/userAuth/social/github/callback?code=x&state=${limited.id}.guess`, {
        headers: { cookie: "socialState=guess" },
      });
    expect((await guess()).status).toBe(400);
    expect((await guess()).status).toBe(400);
    const third = await guess();
    expect([third.status, third.json.code]).toEqual([429, "RATE_LIMITED"]);
  });

  it("the handover needs its own access token, the project's key, and 60 s at most", async () => {
    providers.accounts.set("c", { id: "1", email: "f@example.com", verified: true });
    const first = landed(await signIn("github", "c"));
    expect((await exchange({ token: `${first.token}x`, rtCode: first.rtCode })).json.code).toBe("TOKEN_INVALID");
    // A failed try spends the code too.
    expect((await exchange({ token: first.token, rtCode: first.rtCode })).json.code).toBe("TOKEN_INVALID");

    const second = landed(await signIn("github", "c"));
    const other = await createTestProject(env.deps, "other", { social: SOCIAL });
    expect((await exchange(second, other.pk)).json.code).toBe("TOKEN_INVALID");
    expect((await exchange(second, null as unknown as string)).json.code).toBe("API_KEY_MISSING");

    const third = landed(await signIn("github", "c"));
    env.clock.advance(60 * 1000 + 1);
    expect((await exchange(third)).json.code).toBe("TOKEN_INVALID");
    for (const body of [{}, { token: 1, rtCode: "x" }, "nope"]) {
      expect((await exchange(body)).status).toBe(400);
    }
  });
});

describe("PKCE (S256) between Edgeback and the provider", () => {
  const callbackPath = (provider: string, code: string, authorize: URL) =>
    `/api/userAuth/social/${provider}/callback?code=${code}&state=${encodeURIComponent(authorize.searchParams.get("state") ?? "")}`;

  it("start sends a code_challenge; the code goes back with its verifier, kept sealed on the server only", async () => {
    for (const [provider, id] of [
      ["github", "301"],
      ["google", "g-301"],
    ] as const) {
      providers.accounts.set(`code-${id}`, { id, email: `${id}@example.com`, verified: true });
      const authorize = await start(provider);
      expect(authorize.searchParams.get("code_challenge_method"), provider).toBe("S256");
      const challenge = authorize.searchParams.get("code_challenge") ?? "";
      expect(challenge, provider).toMatch(/^[\w-]{43}$/);
      providers.approve(authorize, `code-${id}`);
      const stored = JSON.stringify(await (await collection("_auth_social_states")).find({}));
      const res = await get(callbackPath(provider, `code-${id}`, authorize));
      expect(landed(location(res)).error, provider).toBeNull();
      const { verifier } = providers.redemptions.at(-1) ?? { verifier: null };
      expect(verifier, provider).toMatch(/^[\w-]{43,128}$/);
      expect(
        createHash("sha256")
          .update(verifier ?? "")
          .digest("base64url"),
        provider,
      ).toBe(challenge);
      // Neither the provider's URL, the browser's cookie, the app's page nor the stored state shows it.
      for (const seen of [authorize.href, browser.cookie, res.headers.get("location") ?? "", stored]) {
        expect(seen, provider).not.toContain(verifier);
      }
    }
  });

  it("a victim's code Edgeback never redeemed, handed to another sign-in, is refused by the provider", async () => {
    for (const [provider, id] of [
      ["github", "42"],
      ["google", "g-42"],
    ] as const) {
      const code = `victim-${id}`;
      providers.accounts.set(code, { id, email: `victim-${id}@example.com`, verified: true });
      // The victim approves at the provider; the callback reaches Edgeback without the nonce cookie
      // (another browser, a blocked cookie): 400 before the code is redeemed, so it stays good at the
      // provider for minutes, in the URL bar, history and logs.
      const victimAuthorize = await start(provider);
      const victimCookie = browser.cookie;
      providers.approve(victimAuthorize, code);
      const lost = await get(callbackPath(provider, code, victimAuthorize), { headers: { cookie: "" } });
      expect(lost.status, provider).toBe(400);
      expect(
        providers.redemptions.filter((r) => r.code === code),
        provider,
      ).toHaveLength(0);

      // Someone who learned the code starts a sign-in of their own and hands its callback the code.
      const attackerAuthorize = await start(provider);
      const injected = landed(location(await get(callbackPath(provider, code, attackerAuthorize))));
      expect([injected.token, injected.rtCode], `${provider}: signed in with the victim's code`).toEqual(["", ""]);
      expect(injected.error, provider).toContain(`${provider} sign-in failed`);
      expect(await (await collection("users")).count(), provider).toBe(0);

      // In the sign-in it was issued for (the victim's browser, its state), the code still works.
      const own = await get(callbackPath(provider, code, victimAuthorize), { headers: { cookie: victimCookie } });
      const { token } = landed(location(own));
      const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token });
      expect(me.json.data?.email, provider).toBe(`victim-${id}@example.com`);
      await (await collection("users")).deleteMany({});
    }
  });

  it("a state stored before PKCE (no verifier) is refused as expired: the sign-in starts again", async () => {
    providers.accounts.set("c", { id: "5", email: "old@example.com", verified: true });
    const authorize = await start("github");
    const states = await collection("_auth_social_states");
    expect(await states.updateOne({}, { $unset: { verifier: "" } })).not.toBeNull();
    const res = await get(callbackPath("github", "c", authorize));
    expect([res.status, res.json.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(providers.redemptions).toHaveLength(0);
  });
});

describe("the app's own PKCE: a landing bound to the browser that started", () => {
  /** What an app keeps in the tab before following the start URL: a verifier; the URL gets its S256. */
  const appPkce = (verifier = "v".repeat(20) + randomBytes(24).toString("base64url")) => ({
    verifier,
    query: `&codeChallenge=${createHash("sha256").update(verifier).digest("base64url")}`,
  });

  it("a start with codeChallenge lands with #rtCode alone; the exchange with the verifier gives both tokens", async () => {
    providers.accounts.set("c", { id: "1", email: "pk@example.com", verified: true });
    const { verifier, query } = appPkce();
    const url = await signIn("github", "c", query);
    // Nothing that could be spent in the query, which server logs, analytics and Referers carry.
    expect(url.searchParams.has("rtCode")).toBe(false);
    expect(url.searchParams.get("provider")).toBe("github");
    const page = landed(url);
    expect(page.error).toBeNull();
    expect(page.token).toBe("");
    expect(page.rtCode).not.toBe("");
    const stored = JSON.stringify(await (await collection("_auth_social_handovers")).find({}));
    const swapped = await exchange({ rtCode: page.rtCode, codeVerifier: verifier });
    expect(swapped.status, swapped.text).toBe(200);
    const { accessToken, refreshToken } = swapped.json.data;
    expect(swapped.headers.get("set-cookie")).toContain(env.cookie.header(refreshToken));
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token: accessToken });
    expect(me.json.data?.email).toBe("pk@example.com");
    const refreshed = await call(app, "POST", "/api/userAuth/refresh-token", {
      key: env.project.pk,
      headers: { "x-refresh-token": refreshToken, "x-refresh-token-mode": "header" },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    // Kept sealed while it waited; good once.
    expect(stored).not.toContain(accessToken);
    expect((await exchange({ rtCode: page.rtCode, codeVerifier: verifier })).json.code).toBe("TOKEN_INVALID");
  });

  it("a landing link someone else made signs in no app that holds its own verifier (login CSRF)", async () => {
    providers.accounts.set("attacker", { id: "66", email: "attacker@example.com", verified: true });
    const victim = appPkce();
    // The attacker's own bound sign-in: the victim's app has not the attacker's verifier.
    const bound = landed(await signIn("github", "attacker", appPkce().query));
    expect((await exchange({ rtCode: bound.rtCode, codeVerifier: victim.verifier })).json.code).toBe("TOKEN_INVALID");
    // The attacker's unbound sign-in (a #token link): a verifier does not take it, a token is not enough for a bound one.
    const unbound = landed(await signIn("github", "attacker"));
    expect((await exchange({ rtCode: unbound.rtCode, codeVerifier: victim.verifier })).json.code).toBe("TOKEN_INVALID");
    const another = landed(await signIn("github", "attacker", appPkce().query));
    expect((await exchange({ rtCode: another.rtCode, token: unbound.token })).json.code).toBe("TOKEN_INVALID");
  });

  it("a malformed codeChallenge or codeVerifier is 400, and no sign-in starts", async () => {
    for (const challenge of ["short", `${"a".repeat(42)}+`, "a".repeat(44), `${"a".repeat(42)}%3D`]) {
      const res = await get(`/api/userAuth/social/github/start?key=${env.project.pk}&codeChallenge=${challenge}`);
      expect([res.status, res.json.code], challenge).toEqual([400, "VALIDATION_FAILED"]);
      expect(res.json.details?.[0]?.path, challenge).toBe("codeChallenge");
    }
    expect(await (await collection("_auth_social_states")).count()).toBe(0);
    for (const codeVerifier of ["short", "a".repeat(129), `${"a".repeat(42)} !`, 7]) {
      expect((await exchange({ rtCode: "x", codeVerifier })).status).toBe(400);
    }
    const neither = await exchange({ rtCode: "x" });
    expect([neither.status, neither.json.details?.[0]?.path]).toEqual([400, "token"]);
  });
});

describe("setup and callers", () => {
  it("an unknown provider is 404; a project without the provider set up is 403", async () => {
    expect((await get(`/api/userAuth/social/facebook/start?key=${env.project.pk}`)).status).toBe(404);
    const bare = await createTestProject(env.deps, "bare");
    const res = await get(`/api/userAuth/social/github/start?key=${bare.pk}`);
    expect([res.status, res.json.code]).toEqual([403, "FORBIDDEN"]);
    expect(res.json.message).toContain("not set up");
  });

  it("start needs a key: none 401, a bad one 401, a secret key in the URL 401; pk and sk in the header work", async () => {
    expect((await get("/api/userAuth/social/github/start")).json.code).toBe("API_KEY_MISSING");
    expect((await get("/api/userAuth/social/github/start?key=pk_live_nope")).json.code).toBe("API_KEY_INVALID");
    expect((await get(`/api/userAuth/social/github/start?key=${env.project.sk}`)).json.code).toBe("API_KEY_INVALID");
    expect((await get("/api/userAuth/social/github/start", { key: env.project.sk })).status).toBe(302);
    expect((await get("/api/userAuth/social/github/start", { key: env.project.pk })).status).toBe(302);
  });

  it("the secret is sealed at rest and never shown; settings are checked", async () => {
    const admin = createAdminApp(env.deps);
    const asAdmin = (method: string, path: string, body?: unknown) =>
      call(admin, method, path, { key: null, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body });
    const shown = await asAdmin("GET", `/api/admin/projects/${env.project.id}`);
    expect(shown.json.data.settings.social.github).toEqual({ clientId: "gh-client", configured: true });
    expect(shown.text).not.toContain("gh-secret");
    const stored = await env.deps.store.platform().collection("projects").findOne({ _id: env.project.id });
    expect(JSON.stringify(stored)).not.toContain("gh-secret");
    // A PATCH of the client id keeps the secret.
    const patched = await asAdmin("PATCH", `/api/admin/projects/${env.project.id}`, {
      settings: { social: { github: { clientId: "gh-client-2" } } },
    });
    expect(patched.json.data.settings.social.github).toEqual({ clientId: "gh-client-2", configured: true });
    for (const social of [
      { redirectUrl: "http://app.example.com/cb" },
      { redirectUrl: "https://app.example.com/cb#x" },
      { redirectUrl: "javascript:alert(1)" },
      // Not URLs at all (once a 500: a refinement parsed them).
      { redirectUrl: "//evil.com/cb" },
      { redirectUrl: "not a url" },
      { github: { clientId: "" } },
      { gitlab: {} },
    ]) {
      const res = await asAdmin("PATCH", `/api/admin/projects/${env.project.id}`, { settings: { social } });
      expect([res.status, res.json.code], JSON.stringify(social)).toEqual([400, "VALIDATION_FAILED"]);
    }
    const local = await asAdmin("PATCH", `/api/admin/projects/${env.project.id}`, {
      settings: { social: { redirectUrl: "http://localhost:5173/auth/callback" } },
    });
    expect(local.status).toBe(200);
  });
});

describe("Google", () => {
  it("a verified id_token signs in; the keys are fetched once", async () => {
    providers.accounts.set("g1", { id: "g-sub-1", email: "gina@example.com", verified: true, name: "Gina" });
    const authorize = await start("google");
    expect(authorize.origin + authorize.pathname).toBe("https://accounts.google.com/o/oauth2/v2/auth");
    expect(authorize.searchParams.get("scope")).toBe("openid email profile");
    const page = await signIn("google", "g1");
    expect(page.searchParams.get("isNewUser")).toBe("true");
    const { token } = landed(page);
    const me = await call(app, "GET", "/api/userAuth/me", { key: env.project.pk, token });
    expect(me.json.data).toMatchObject({ email: "gina@example.com", emailVerified: true, name: "Gina" });
    await signIn("google", "g1");
    const keyFetches = providers.requests.filter((url) => url.includes("certs"));
    expect(keyFetches).toHaveLength(1);
  });

  it("an id_token for another client, from another issuer, expired or signed by another key is refused", async () => {
    providers.accounts.set("g", { id: "s", email: "h@example.com", verified: true });
    const { publicKey: _unused, privateKey: stranger } = await generateKeyPair("RS256");
    const cases: Array<() => void> = [
      () => {
        providers.idToken.audience = "someone-else";
      },
      () => {
        providers.idToken.issuer = "https://evil.example.com";
      },
      () => {
        providers.idToken.key = stranger;
      },
      () => {
        providers.idToken.lifetimeSeconds = -60;
      },
    ];
    const original = { ...providers.idToken };
    for (const spoil of cases) {
      Object.assign(providers.idToken, original);
      spoil();
      expect(landed(await signIn("google", "g")).error).toContain("did not verify");
    }
    Object.assign(providers.idToken, original);
    expect(landed(await signIn("google", "g")).error).toBeNull();
  });
});

describe("urBackend SDK", () => {
  it("socialStart is the start URL; socialExchange gives the refresh token", async () => {
    providers.accounts.set("c", { id: "3", email: "sdk@example.com", verified: true });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
    });
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = urBackend({ apiKey: env.project.pk, baseUrl });
      const startUrl = client.auth.socialStart("github");
      expect(startUrl).toBe(`${baseUrl}/api/userAuth/social/github/start?key=${env.project.pk}`);
      const started = await fetch(startUrl, { redirect: "manual" });
      const state = location(started).searchParams.get("state") ?? "";
      const cookie = (started.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const callback = `${baseUrl}/api/userAuth/social/github/callback?code=c&state=${state}`;
      const { token, rtCode } = landed(location(await fetch(callback, { redirect: "manual", headers: { cookie } })));
      const swapped = await client.auth.socialExchange({ token, rtCode });
      expect(swapped.refreshToken).toMatch(/^[\w-]{43}$/);
      const refreshed = await client.auth.refreshToken(swapped.refreshToken);
      expect(refreshed.accessToken).toBeTruthy();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
