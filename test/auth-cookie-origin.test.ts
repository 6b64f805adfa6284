/**
 * The refresh cookie is an ambient credential: it is spent, set and cleared only for a request
 * without Origin, from the API's own origin, or from one the project's allowlist names (by a bare
 * host or a wildcard only over https or on plain-http localhost). Each project has its own cookie
 * (`refreshToken_<projectId>`), so what one project's answers do leaves another's alone.
 * Browser facts: a cross-site top-level form POST (enctype text/plain can carry a JSON body, the pk
 * rides in ?key=) may set and delete SameSite=Lax cookies; with SameSite=None a cross-site fetch may too.
 */
import { afterEach, expect, it } from "vitest";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { call } from "./data-helpers.js";

let env: AuthTestEnv;
afterEach(() => env.close());

const EVIL = "https://evil.example";
/** What a text/plain form POST with name `{"…","a":"` and value `"}` sends. */
const formJson = (fields: Record<string, string>) => `${JSON.stringify({ ...fields, a: "=" })}\r\n`;
/** The line clearing the project's refresh cookie, if the answer sends one. */
const clearedCookie = (res: { headers: Headers }) => {
  const line = env.cookie.line(res);
  return line?.startsWith(`${env.cookie.name}=;`) ? line : undefined;
};

/** A browser's cookies for the API's host: a Set-Cookie line replaces the cookie of its name, Max-Age=0 removes it. */
function cookieJar() {
  const jar = new Map<string, string>();
  return {
    take(res: { headers: Headers }) {
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(";")[0] ?? "";
        const name = pair.slice(0, pair.indexOf("="));
        if (/; Max-Age=0(;|$)/.test(line)) jar.delete(name);
        else jar.set(name, pair.slice(name.length + 1));
      }
    },
    names: () => [...jar.keys()],
    header: () => [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
  };
}

it("login CSRF: a foreign page's login answers without planting its refresh cookie in the browser", async () => {
  env = await authTestEnv();
  await env.signup("attacker@evil.example");
  const planted = await env.api("POST", "/login", {
    headers: { origin: EVIL, "content-type": "text/plain" },
    body: formJson({ email: "attacker@evil.example", password: PASSWORD }),
  });
  expect(planted.status).toBe(200);
  expect(env.cookie.value(planted)).toBeUndefined();
  // The app's own origin, an allowed one, and a server (no Origin) still get it.
  for (const headers of [{ origin: "http://localhost" }, {}] as Array<Record<string, string>>) {
    const login = await env.api("POST", "/login", {
      headers,
      body: { email: "attacker@evil.example", password: PASSWORD },
    });
    expect(env.cookie.value(login)).toBeDefined();
  }
});

it("behind a proxy PUBLIC_URL's origin is the API's own: with no allowlist its page gets the cookie and spends it", async () => {
  env = await authTestEnv({ env: { PUBLIC_URL: "https://api.example.com" } });
  await env.signup("user@example.com");
  const origin = "https://api.example.com";
  const login = await env.api("POST", "/login", {
    headers: { origin },
    body: { email: "user@example.com", password: PASSWORD },
  });
  const cookie = env.cookie.value(login);
  expect([login.status, cookie]).toEqual([200, expect.any(String)]);
  const refresh = await env.api("POST", "/refresh-token", { headers: { origin, cookie: env.cookie.header(cookie) } });
  expect([refresh.status, env.cookie.value(refresh)]).toEqual([200, expect.any(String)]);
});

it("the same through /refresh-token with a token in the body: the rotated token is not set as the cookie", async () => {
  env = await authTestEnv();
  const attacker = await env.signup("attacker@evil.example");
  const res = await env.api("POST", "/refresh-token", {
    headers: { origin: EVIL, "content-type": "text/plain" },
    body: formJson({ refreshToken: attacker.refreshToken! }),
  });
  expect(res.status).toBe(200);
  expect(env.cookie.value(res)).toBeUndefined();
});

it("forced logout with COOKIE_SAMESITE=None: a token in the body does not let a foreign page clear the cookie", async () => {
  env = await authTestEnv({ env: { COOKIE_SAMESITE: "None" } });
  await env.signup("victim@example.com");
  const cookie = env.cookie.value(await env.login("victim@example.com"));
  expect(cookie).toBeDefined();
  const guarded = await env.api("POST", "/logout", { headers: { origin: EVIL, cookie: env.cookie.header(cookie) } });
  expect([guarded.status, guarded.headers.get("set-cookie")]).toEqual([403, null]);
  const bypass = await env.api("POST", "/logout", {
    headers: { origin: EVIL, cookie: env.cookie.header(cookie), "content-type": "text/plain" },
    body: JSON.stringify({ refreshToken: "x" }),
  });
  expect([bypass.status, clearedCookie(bypass)]).toEqual([200, undefined]);
  expect((await env.api("POST", "/refresh-token", { headers: { cookie: env.cookie.header(cookie) } })).status).toBe(
    200,
  );
});

it("forced logout with SameSite=Lax: a cross-site form POST carries no cookie, and its answer clears none", async () => {
  env = await authTestEnv();
  const res = await env.api("POST", "/logout", { headers: { origin: EVIL, "content-type": "text/plain" }, body: "" });
  expect([res.status, clearedCookie(res)]).toEqual([200, undefined]);
});

it("a logout through project E never clears project A's cookie", async () => {
  env = await authTestEnv({ env: { COOKIE_SAMESITE: "None" } });
  await env.signup("user@example.com");
  const aCookie = env.cookie.value(await env.login("user@example.com"));
  expect(aCookie).toBeTruthy();
  const { keys: e } = await env.deps.projects.create({ name: "e", allowedOrigins: ["https://other-app.example"] });
  const logout = await call(env.app, "POST", "/api/userAuth/logout", {
    key: e.publishable,
    body: {},
    headers: { origin: "https://other-app.example", cookie: env.cookie.header(aCookie) },
  });
  expect([logout.status, logout.json.data.revoked, clearedCookie(logout)]).toEqual([200, false, undefined]);
  expect((await env.api("POST", "/refresh-token", { headers: { cookie: env.cookie.header(aCookie) } })).status).toBe(
    200,
  );
  // A's own logout, from A's page, clears it.
  const own = await env.api("POST", "/logout", { headers: { cookie: env.cookie.header(aCookie) } });
  expect(clearedCookie(own)).toBeDefined();
});

it("through a bare-host or wildcard entry only https (or plain-http localhost) may use the cookie; an exact http:// entry may", async () => {
  env = await authTestEnv({ env: { COOKIE_SAMESITE: "None", PUBLIC_URL: "https://api.example.com" } });
  const allowedOrigins = ["app.example.com", "*.example.org", "http://legacy.example.net", "localhost"];
  await env.deps.projects.update(env.project.id, { allowedOrigins });
  await env.signup("user@example.com", {}, { headers: { origin: "https://app.example.com" } });
  /** A cookie the app's https page got. */
  const appCookie = async () =>
    env.cookie.value(await env.login("user@example.com", PASSWORD, { headers: { origin: "https://app.example.com" } }));
  // [origin, may it use the cookie]: a network attacker can serve the plain-http pages of a listed host.
  const cases: Array<[string, boolean]> = [
    ["http://app.example.com", false],
    ["http://x.example.org", false],
    ["https://app.example.com", true],
    ["https://x.example.org:8443", true],
    ["http://legacy.example.net", true],
    ["http://localhost:5173", true],
  ];
  for (const [origin, may] of cases) {
    const login = await env.login("user@example.com", PASSWORD, { headers: { origin } });
    expect([origin, login.status, env.cookie.value(login) !== undefined]).toEqual([origin, 200, may]);
    const refresh = await env.api("POST", "/refresh-token", {
      headers: { origin, cookie: env.cookie.header(await appCookie()), "x-refresh-token-mode": "header" },
    });
    expect([origin, refresh.status]).toEqual([origin, may ? 200 : 403]);
    expect(refresh.headers.get("access-control-allow-origin")).toBe(may ? origin : null);
    const logout = await env.api("POST", "/logout", {
      headers: { origin, cookie: env.cookie.header(await appCookie()) },
    });
    expect([origin, logout.status, clearedCookie(logout) !== undefined]).toEqual([origin, may ? 200 : 403, may]);
  }
});

it("each project has its own cookie: another tenant's login form, or a sign-in to another app, leaves project A's", async () => {
  env = await authTestEnv();
  const A = "https://a.example";
  await env.deps.projects.update(env.project.id, { allowedOrigins: [A] });
  const { keys: e } = await env.deps.projects.create({ name: "e", allowedOrigins: [EVIL] });
  await call(env.app, "POST", "/api/userAuth/signup", {
    key: e.publishable,
    headers: { origin: EVIL },
    body: { email: "attacker@evil.example", password: PASSWORD },
  });
  const browser = cookieJar();
  const signup = await env.api("POST", "/signup", {
    headers: { origin: A },
    body: { email: "user@example.com", password: PASSWORD },
  });
  browser.take(signup);
  // E's page posts a login form for its own account (text/plain, the pk in ?key=): a top-level
  // navigation, whose answer the browser may take a Lax cookie from.
  const planted = await env.app.request(`/api/userAuth/login?key=${e.publishable}`, {
    method: "POST",
    headers: { origin: EVIL, "content-type": "text/plain", cookie: browser.header() },
    body: formJson({ email: "attacker@evil.example", password: PASSWORD }),
  });
  expect(planted.status).toBe(200);
  browser.take(planted);
  expect(browser.names()).toHaveLength(2);
  // Back on A's page the user is still signed in to A; A's logout clears A's cookie only.
  const refresh = await env.api("POST", "/refresh-token", { headers: { origin: A, cookie: browser.header() } });
  expect([refresh.status, refresh.json.data?.user.email]).toEqual([200, "user@example.com"]);
  browser.take(refresh);
  const logout = await env.api("POST", "/logout", { headers: { origin: A, cookie: browser.header() } });
  expect([logout.json.data.revoked, clearedCookie(logout) !== undefined]).toEqual([true, true]);
  browser.take(logout);
  expect(browser.names()).toHaveLength(1);
  const other = await call(env.app, "POST", "/api/userAuth/refresh-token", {
    key: e.publishable,
    headers: { origin: EVIL, cookie: browser.header() },
  });
  expect([other.status, other.json.data?.user.email]).toEqual([200, "attacker@evil.example"]);
});

it("with an empty allowlist a page's login sets no cookie and says why in x-edgeback-hint; its refresh names allowedOrigins", async () => {
  env = await authTestEnv();
  const DEV = "http://localhost:5173"; // a Vite page; allowedOrigins is empty, the default
  await env.signup("dev@example.com");
  const body = { email: "dev@example.com", password: PASSWORD };
  const login = await env.api("POST", "/login", { headers: { origin: DEV }, body });
  expect([login.status, env.cookie.value(login), login.json.data.refreshToken]).toEqual([200, undefined, undefined]);
  expect(login.headers.get("x-edgeback-hint")).toMatch(
    /^no refresh cookie is set for http:\/\/localhost:5173: the project's allowedOrigins is empty\. Add http:\/\/localhost:5173 to the project's allowedOrigins \(from then on publishable-key requests from origins it does not name, and without an Origin, are refused\), or .*x-refresh-token-mode: header/,
  );
  expect(login.headers.get("access-control-expose-headers")?.split(",")).toContain("x-edgeback-hint");
  const missing = await env.api("POST", "/refresh-token", { headers: { origin: DEV } });
  expect([missing.status, missing.json.code]).toEqual([401, "REFRESH_TOKEN_INVALID"]);
  expect(missing.json.message).toMatch(
    /^Refresh token missing: no refresh cookie is set for http:\/\/localhost:5173: the project's allowedOrigins is empty\. Add http:\/\/localhost:5173 .*x-refresh-token-mode: header/,
  );
  // Header mode has the token in the body, and a server gets the cookie: no hint for either.
  const header = await env.api("POST", "/login", { headers: { origin: DEV, "x-refresh-token-mode": "header" }, body });
  const server = await env.api("POST", "/login", { body });
  expect([header.json.data.refreshToken !== undefined, header.headers.get("x-edgeback-hint")]).toEqual([true, null]);
  expect([env.cookie.value(server) !== undefined, server.headers.get("x-edgeback-hint")]).toEqual([true, null]);
});

it("a refresh with no token from a page on another site says why no cookie came and names header mode", async () => {
  env = await authTestEnv();
  const DEV = "http://localhost:5173"; // a Vite page against the API's http://localhost: another site for a browser
  await env.deps.projects.update(env.project.id, { allowedOrigins: [DEV] });
  const session = await env.signup("page@example.com", {}, { headers: { origin: DEV } });
  const missing = await env.api("POST", "/refresh-token", { headers: { origin: DEV } });
  expect([missing.status, missing.json.code]).toEqual([401, "REFRESH_TOKEN_INVALID"]);
  expect(missing.json.message).toMatch(/no refresh cookie came.*COOKIE_SAMESITE is Lax.*x-refresh-token-mode: header/);
  // The way out works from that page; a server and the API's own origin keep the plain message.
  const header = await env.api("POST", "/refresh-token", {
    headers: { origin: DEV, "x-refresh-token": String(session.refreshToken) },
  });
  expect(header.status, header.text).toBe(200);
  const own = await env.api("POST", "/refresh-token", { key: env.project.sk, headers: { origin: "http://localhost" } });
  const server = await env.api("POST", "/refresh-token", { key: env.project.sk });
  expect([own.json.message, server.json.message]).toEqual(["Refresh token missing", "Refresh token missing"]);
});
