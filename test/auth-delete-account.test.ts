/**
 * DELETE /api/userAuth/me (an addition to API.md): an end user deletes their own account, with their
 * password, or without one (social sign-in only) within 10 minutes of signing in. Who may call it,
 * the password check and its throttle, what is left afterwards, and the `auth` rate limit.
 */
import { afterEach, expect, it } from "vitest";
import { type AuthEnvOptions, type AuthTestEnv, authTestEnv, otherProject, PASSWORD } from "./auth-helpers.js";
import type { CallOptions } from "./data-helpers.js";

let env: AuthTestEnv;
afterEach(() => env.close());

const open = async (options?: AuthEnvOptions) => {
  env = await authTestEnv(options);
};

/** DELETE /me with `password` (null: no body), by `token`, with the project's pk unless `opts` says otherwise. */
const deleteMe = (token: string | undefined, password: string | null = PASSWORD, opts: CallOptions = {}) =>
  env.api("DELETE", "/me", {
    ...(token === undefined ? {} : { token }),
    ...(password === null ? {} : { body: { password } }),
    ...opts,
  });

const users = () => env.deps.store.tenant({ projectId: env.project.id }).collection("users");
const answer = (res: { status: number; json: { code?: string } }) => [res.status, res.json.code];

it("who may call it: the user's own token with the pk or the sk; no key, a bad key, no token or another project's token are refused", async () => {
  await open();
  const ann = await env.signup("ann@example.com");
  const other = await otherProject(env.deps);
  const stranger = (
    await env.api("POST", "/signup", {
      key: other.pk,
      body: { email: "ann@example.com", password: PASSWORD },
    })
  ).json.data;
  expect(answer(await deleteMe(ann.accessToken, PASSWORD, { key: null }))).toEqual([401, "API_KEY_MISSING"]);
  expect(answer(await deleteMe(ann.accessToken, PASSWORD, { key: "pk_live_nope" }))).toEqual([401, "API_KEY_INVALID"]);
  expect(answer(await deleteMe(undefined))).toEqual([401, "AUTH_REQUIRED"]);
  expect(answer(await deleteMe(stranger.accessToken))).toEqual([401, "TOKEN_INVALID"]);
  expect(await users().count({})).toBe(1);
  // The other project's own account is untouched by any of it.
  expect((await env.api("GET", "/me", { key: other.pk, token: stranger.accessToken })).status).toBe(200);

  const res = await deleteMe(ann.accessToken);
  expect(res.status, res.text).toBe(200);
  expect(res.json).toMatchObject({
    success: true,
    data: { _id: ann.user._id, id: ann.user._id, deleted: true },
    message: "Account deleted",
  });
  expect(await users().count({})).toBe(0);

  const bob = await env.signup("bob@example.com");
  const bySecretKey = await deleteMe(bob.accessToken, PASSWORD, { key: env.project.sk });
  expect(bySecretKey.json.data).toMatchObject({ _id: bob.user._id, id: bob.user._id, deleted: true });
});

it("an account with a password must send it: missing is 400, wrong is 401 INVALID_CREDENTIALS, and the account stays", async () => {
  await open();
  const ann = await env.signup("ann@example.com");
  const missing = await deleteMe(ann.accessToken, null);
  expect(answer(missing)).toEqual([400, "VALIDATION_FAILED"]);
  expect(missing.json.details).toEqual([{ path: "password", message: "Required" }]);
  const wrong = await deleteMe(ann.accessToken, "not the password");
  expect([...answer(wrong), wrong.json.message]).toEqual([401, "INVALID_CREDENTIALS", "Password is incorrect"]);
  expect((await env.api("GET", "/me", { token: ann.accessToken })).status).toBe(200);
  expect((await env.login("ann@example.com")).status).toBe(200);
});

it("the password check is throttled with the login's count (settings.auth.maxFailedLogins)", async () => {
  await open({ settings: { auth: { maxFailedLogins: 3 } } });
  const ann = await env.signup("ann@example.com");
  expect(answer(await deleteMe(ann.accessToken, "not the password"))).toEqual([401, "INVALID_CREDENTIALS"]);
  expect((await env.login("ann@example.com", "not the password")).status).toBe(401);
  expect(answer(await deleteMe(ann.accessToken, "not the password"))).toEqual([401, "INVALID_CREDENTIALS"]);
  const limited = await deleteMe(ann.accessToken); // the right password, past the limit
  expect(answer(limited)).toEqual([429, "RATE_LIMITED"]);
  expect(limited.headers.get("retry-after")).toBe(String(15 * 60));
  expect((await env.login("ann@example.com")).json.code).toBe("RATE_LIMITED");
  expect(await users().count({})).toBe(1);
  env.clock.advance(15 * 60_000);
  const later = (await env.login("ann@example.com")).json.data.accessToken as string;
  expect((await deleteMe(later)).status).toBe(200);
});

it("an account without a password (social sign-in only) needs a sign-in within the last 10 minutes; a refresh does not renew it", async () => {
  await open();
  const socialOnly = async (email: string) => {
    const session = await env.signup(email);
    await users().updateOne({ email }, { $unset: { passwordHash: "" } }); // as a social link leaves it
    return session;
  };
  const fresh = await socialOnly("ann@example.com");
  env.clock.advance(9 * 60_000);
  const res = await deleteMe(fresh.accessToken, null);
  expect(res.json.data).toMatchObject({ _id: fresh.user._id, id: fresh.user._id, deleted: true });

  const old = await socialOnly("bob@example.com");
  env.clock.advance(10 * 60_000);
  const refreshed = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": old.refreshToken! } });
  expect(refreshed.status).toBe(200);
  for (const token of [old.accessToken, refreshed.json.data.accessToken as string]) {
    const refused = await deleteMe(token, null);
    expect(answer(refused)).toEqual([401, "AUTH_REQUIRED"]);
    expect(refused.json.message).toMatch(/^Sign in again first/);
    // A password sent anyway changes nothing: the account has none to check.
    expect(answer(await deleteMe(token, PASSWORD))).toEqual([401, "AUTH_REQUIRED"]);
  }
  expect(await users().count({ email: "bob@example.com" })).toBe(1);
});

it("afterwards: no login, no refresh, no session on /me; the email can sign up again and the users quota place is given back", async () => {
  await open({ settings: { quotas: { users: 1 } } });
  const ann = await env.signup("ann@example.com");
  const second = (await env.login("ann@example.com")).json.data;
  expect(answer(await env.api("POST", "/signup", { body: { email: "bob@example.com", password: PASSWORD } }))).toEqual([
    403,
    "QUOTA_EXCEEDED",
  ]);
  expect((await deleteMe(ann.accessToken)).status).toBe(200);

  expect(answer(await env.login("ann@example.com"))).toEqual([401, "INVALID_CREDENTIALS"]);
  for (const session of [ann, second]) {
    const refresh = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken } });
    expect(answer(refresh)).toEqual([401, "REFRESH_TOKEN_INVALID"]);
    expect(answer(await env.api("GET", "/me", { token: session.accessToken }))).toEqual([401, "TOKEN_INVALID"]);
  }
  // Deleting again with the same token: the session is gone.
  expect(answer(await deleteMe(ann.accessToken))).toEqual([401, "TOKEN_INVALID"]);
  const again = await env.signup("ann@example.com");
  expect(again.user._id).not.toBe(ann.user._id);
  expect(answer(await env.api("POST", "/signup", { body: { email: "bob@example.com", password: PASSWORD } }))).toEqual([
    403,
    "QUOTA_EXCEEDED",
  ]);
});

it("clears the project's refresh cookie, except for an origin that may not use it", async () => {
  await open();
  const clearedBy = async (email: string, headers: Record<string, string>) => {
    const session = await env.signup(email);
    const res = await deleteMe(session.accessToken, PASSWORD, { headers });
    expect(res.status).toBe(200);
    return env.cookie.line(res);
  };
  expect(await clearedBy("ann@example.com", {})).toMatch(/Max-Age=0/);
  expect(await clearedBy("bob@example.com", { origin: "https://elsewhere.example" })).toBeUndefined();
});

it("is under the stricter auth rate limit (it checks a password), with the pk; GET /me stays under pk, and the sk under sk", async () => {
  await open({ env: { RATE_LIMIT_AUTH: "3/1m", RATE_LIMIT_PK: "100/1m", RATE_LIMIT_SK: "50/1m" } });
  const ann = await env.signup("ann@example.com"); // the first of the 3
  const limit = (res: { status: number; headers: Headers }) => [res.status, res.headers.get("ratelimit-limit")];
  expect(limit(await deleteMe(ann.accessToken, "not the password"))).toEqual([401, "3"]);
  expect(limit(await env.api("GET", "/me", { token: ann.accessToken }))).toEqual([200, "100"]);
  expect(limit(await deleteMe(ann.accessToken, "not the password"))).toEqual([401, "3"]);
  expect(limit(await deleteMe(ann.accessToken))).toEqual([429, "3"]);
  expect(await users().count({})).toBe(1);
  expect(limit(await deleteMe(ann.accessToken, PASSWORD, { key: env.project.sk }))).toEqual([200, "50"]);
});
