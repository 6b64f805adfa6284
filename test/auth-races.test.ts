/**
 * A login checks the password against the account as it read it, then waits for bcrypt: a reset, a
 * password change or an account deletion that lands during that wait must not be outlived by the
 * session the login would create. The wait is made deterministic by holding bcrypt's answer (or,
 * for the window after the login's own update, the session's insert).
 */
import bcrypt from "bcryptjs";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createAuthApp } from "../functions/auth/app.js";
import { REFRESH_REUSE_WINDOW_MS } from "../shared/auth/sessions.js";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { type CallResult, call } from "./data-helpers.js";
import { ADMIN_TOKEN, aroundCollections, deferred } from "./helpers.js";

let env: AuthTestEnv;
/** Every session the project's store holds. */
const sessions = () => env.deps.store.tenant({ projectId: env.project.id }).collection("_auth_sessions").find({});
beforeEach(async () => {
  env = await authTestEnv();
});
afterEach(() => {
  vi.restoreAllMocks();
  return env.close();
});

/**
 * Starts a request that checks the (old) password (a login, unless `start` says otherwise) and
 * resolves `held` once bcrypt has answered but not yet returned.
 */
function heldLogin<T = Awaited<ReturnType<AuthTestEnv["login"]>>>(email: string, start?: () => Promise<T>) {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const compare = bcrypt.compare.bind(bcrypt);
  vi.spyOn(bcrypt, "compare").mockImplementation((async (password: string, hash: string) => {
    const result = await compare(password, hash);
    if (password === PASSWORD) {
      entered();
      await gate;
    }
    return result;
  }) as never);
  const answer = start ? start() : (env.login(email) as Promise<T>);
  const finish = () => {
    release();
    return answer;
  };
  return { held, finish };
}

it("a login whose password check overlapped a reset is refused", async () => {
  await env.signup("ann@example.com");
  await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
  const otp = env.otpFor("ann@example.com", "reset");
  const login = heldLogin("ann@example.com");
  await login.held;
  const reset = await env.api("POST", "/reset-password", {
    body: { email: "ann@example.com", otp, newPassword: "brand new password 1" },
  });
  expect(reset.status).toBe(200);
  const res = await login.finish();
  expect(res.status).toBe(401);
  expect(res.json.code).toBe("INVALID_CREDENTIALS");
  expect(await sessions()).toEqual([]);
});

/**
 * Holds the `nth` next call (the next one by default) of `method` on an auth collection until
 * `release`; `entered` resolves when it arrives.
 */
function heldCall(collection: string, method: string, nth = 1) {
  const entered = deferred();
  const gate = deferred();
  let calls = 0;
  aroundCollections(env.deps, { [collection]: [method] }, async (run) => {
    if (++calls === nth) {
      entered.resolve();
      await gate.promise;
    }
    return run();
  });
  return { entered: entered.promise, release: () => gate.resolve() };
}

it("a reset that lands while the login's session is being created: the login is refused, no session survives", async () => {
  await env.signup("ann@example.com");
  await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
  const otp = env.otpFor("ann@example.com", "reset");
  const held = heldCall("_auth_sessions", "insertOne");
  const login = env.login("ann@example.com");
  await held.entered;
  const reset = await env.api("POST", "/reset-password", {
    body: { email: "ann@example.com", otp, newPassword: "brand new password 1" },
  });
  expect(reset.status).toBe(200);
  held.release();
  const res = await login;
  expect([res.status, res.json.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  expect(res.json.data?.accessToken).toBeUndefined();
  expect(env.cookie.value(res)).toBeUndefined();
  expect(await sessions()).toEqual([]);
});

it("a login whose password check overlapped a password change is refused", async () => {
  const session = await env.signup("bob@example.com");
  const login = heldLogin("bob@example.com");
  await login.held;
  vi.restoreAllMocks();
  const change = await env.api("PUT", "/change-password", {
    token: session.accessToken,
    body: { currentPassword: PASSWORD, newPassword: "brand new password 2" },
  });
  expect(change.status, change.text).toBe(200);
  expect((await login.finish()).status).toBe(401);
});

it("a password change whose check overlapped a reset is refused, and the reset's password stands", async () => {
  const session = await env.signup("cy@example.com");
  await env.api("POST", "/request-password-reset", { body: { email: "cy@example.com" } });
  const otp = env.otpFor("cy@example.com", "reset");
  const change = heldLogin("cy@example.com", () =>
    env.api("PUT", "/change-password", {
      token: session.accessToken,
      body: { currentPassword: PASSWORD, newPassword: "the attacker's one 1" },
    }),
  );
  await change.held;
  vi.restoreAllMocks();
  const reset = await env.api("POST", "/reset-password", {
    body: { email: "cy@example.com", otp, newPassword: "the owner's new one 1" },
  });
  expect(reset.status).toBe(200);
  const refused = await change.finish();
  expect([refused.status, refused.json.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  expect((await env.login("cy@example.com", "the attacker's one 1")).status).toBe(401);
  expect((await env.login("cy@example.com", "the owner's new one 1")).status).toBe(200);
});

it("a login whose password check overlapped the account's deletion gets no tokens", async () => {
  const { user } = await env.signup("eve@example.com");
  const login = heldLogin("eve@example.com");
  await login.held;
  const deleted = await call(
    createAdminApp(env.deps),
    "DELETE",
    `/api/admin/projects/${env.project.id}/users/${user._id}`,
    {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    },
  );
  expect(deleted.status).toBe(200);
  const res = await login.finish();
  expect(res.status).toBe(401);
  expect(res.text).not.toContain("accessToken");
});

it("a refresh whose session check comes after a password reset gets no tokens (the reset revoked every session)", async () => {
  const session = await env.signup("ann@example.com");
  await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
  const otp = env.otpFor("ann@example.com", "reset");
  const hold = heldCall("_auth_sessions", "updateOne");
  const refreshing = env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken! } });
  await hold.entered;
  const reset = await env.api("POST", "/reset-password", {
    body: { email: "ann@example.com", otp, newPassword: "a brand new password" },
  });
  expect(reset.status).toBe(200);
  hold.release();
  const refreshed = await refreshing;
  expect([refreshed.status, refreshed.json.code]).toEqual([401, "REFRESH_TOKEN_INVALID"]);
  expect(await sessions()).toEqual([]);
});

it("a refresh whose session is extended before a reset writes the account answers the account as before the reset (soak: it answered the reset's)", async () => {
  // Serial orders: refresh → reset (200, the unverified account, no passwordChangedAt) or reset → refresh (401).
  const session = await env.signup("ann@example.com");
  await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
  const otp = env.otpFor("ann@example.com", "reset");
  const extended = deferred(); // the refresh extended its session
  const resetWrote = deferred();
  let afterExtend = false;
  aroundCollections(
    env.deps,
    { users: ["findOne", "updateOne"], _auth_sessions: ["updateOne"] },
    async (run, { collection, method, args }) => {
      const filter = (args[0] ?? {}) as Record<string, unknown>;
      const set = ((args[1] ?? {}) as { $set?: Record<string, unknown> }).$set ?? {};
      const isResetWrite = collection === "users" && method === "updateOne" && "passwordChangedAt" in set;
      if (isResetWrite) await extended.promise;
      // An account read by id after the extend (the refresh's, read that late) waits for the reset's write.
      if (collection === "users" && method === "findOne" && afterExtend && Object.keys(filter).join() === "_id") {
        afterExtend = false;
        await resetWrote.promise;
      }
      const out = await run();
      if (collection === "_auth_sessions" && "lastUsedAt" in set) {
        afterExtend = true;
        extended.resolve();
      }
      if (isResetWrite) resetWrote.resolve();
      return out;
    },
  );
  const [refreshed, reset] = await Promise.all([
    env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken! } }),
    env.api("POST", "/reset-password", {
      body: { email: "ann@example.com", otp, newPassword: "a brand new password" },
    }),
  ]);
  expect(reset.status).toBe(200);
  expect(refreshed.status, refreshed.text).toBe(200);
  const user = refreshed.json.data.user as Record<string, unknown>;
  expect([user.emailVerified, user.passwordChangedAt]).toEqual([false, undefined]);
  expect(await sessions()).toEqual([]); // the reset, ordered after, ended the session
});

it("a refresh that passed its session check before a logout is ordered before it: 200, and its tokens lead nowhere", async () => {
  const session = await env.signup("bob@example.com");
  const hold = heldCall("_auth_refresh_tokens", "updateOne");
  const refreshing = env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken! } });
  await hold.entered;
  expect((await env.api("POST", "/logout", { token: session.accessToken })).json.data.revoked).toBe(true);
  hold.release();
  const refreshed = await refreshing;
  expect(refreshed.status).toBe(200);
  const issued = refreshed.json.data as { accessToken: string; refreshToken: string };
  expect((await env.api("GET", "/me", { token: issued.accessToken })).json.code).toBe("TOKEN_INVALID");
  const next = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": issued.refreshToken } });
  expect(next.json.code).toBe("REFRESH_TOKEN_INVALID");
  expect(await sessions()).toEqual([]);
});

it("two refreshes of one token overlapping a logout answer as some order of the three would (the auth model fuzz, seed -1450982593)", async () => {
  // The first refresh is held at its session update; the logout and the second refresh land meanwhile.
  // Both refreshes failing with REFRESH_TOKEN_INVALID is the logout coming first; the first refresh
  // failing while the second says "already used" (its spend seen, then undone) fits no order.
  const session = await env.signup("bob@example.com");
  const token = { "x-refresh-token": session.refreshToken! };
  const hold = heldCall("_auth_sessions", "updateOne");
  const first = env.api("POST", "/refresh-token", { headers: token });
  await hold.entered;
  expect((await env.api("POST", "/logout", { headers: token })).json.data.revoked).toBe(true);
  const second = await env.api("POST", "/refresh-token", { headers: token });
  hold.release();
  expect([(await first).json.code, second.json.code]).toEqual(["REFRESH_TOKEN_INVALID", "REFRESH_TOKEN_INVALID"]);
  expect(await sessions()).toEqual([]);
});

it("two reuses of a spent token after the window: one revokes the session, the other finds it gone (the auth model fuzz, seed 1052509793)", async () => {
  const session = await env.signup("cy@example.com");
  const token = { "x-refresh-token": session.refreshToken! };
  expect((await env.api("POST", "/refresh-token", { headers: token })).status).toBe(200);
  env.clock.advance(REFRESH_REUSE_WINDOW_MS);
  const hold = heldCall("_auth_sessions", "deleteOne");
  const first = env.api("POST", "/refresh-token", { headers: token });
  await hold.entered;
  const second = await env.api("POST", "/refresh-token", { headers: token });
  hold.release();
  expect([second.json.message, (await first).json.code]).toEqual([
    "Refresh token reused; session revoked",
    "REFRESH_TOKEN_INVALID",
  ]);
  expect(await sessions()).toEqual([]);
});

it("a refresh overlapping the account's deletion, and a second refresh with its token: the answers fit one order", async () => {
  // The first refresh is held at its read of the account; the second refresh and the deletion land
  // meanwhile. The first failing after its spend was seen ("already used" to the second) fits no order.
  const session = await env.signup("dan@example.com");
  const token = { "x-refresh-token": session.refreshToken! };
  const hold = heldCall("users", "findOne");
  const first = env.api("POST", "/refresh-token", { headers: token });
  await hold.entered;
  const second = await env.api("POST", "/refresh-token", { headers: token });
  expect((await endEverything["the account's deletion"]!(session.user._id)).status).toBe(200);
  hold.release();
  expect([second.status, (await first).json.code]).toEqual([200, "REFRESH_TOKEN_INVALID"]);
  expect(await sessions()).toEqual([]);
});

/** Changes the password from the session of `accessToken` (the right current password). */
const changePassword = (accessToken: string) =>
  env.api("PUT", "/change-password", {
    token: accessToken,
    body: { currentPassword: PASSWORD, newPassword: "brand new password 2" },
  });

it.each([
  ["a password change (which counts the session)", true],
  ["a password reset", false],
])(
  "a login whose stored session %s revoked before its re-check is refused: the old password buys no token",
  async (_, isChange) => {
    const own = await env.signup("ann@example.com");
    if (!isChange) await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
    const held = heldCall("_auth_refresh_tokens", "insertOne"); // the login's session is inserted, its token next
    const login = env.login("ann@example.com");
    await held.entered;
    const ended = isChange
      ? await changePassword(own.accessToken)
      : await env.api("POST", "/reset-password", {
          body: {
            email: "ann@example.com",
            otp: env.otpFor("ann@example.com", "reset"),
            newPassword: "reset password 4",
          },
        });
    expect(ended.status, ended.text).toBe(200);
    held.release();
    const res = await login;
    expect([res.status, res.json.code]).toEqual([401, "INVALID_CREDENTIALS"]);
    expect(res.text).not.toContain("accessToken");
  },
);

/** What sets ann's password to `next` from her session `own`, and ends her other sessions. */
const passwordWriters: Record<string, (own: { accessToken: string }, next: string) => Promise<CallResult>> = {
  "a password change": (own, next) =>
    env.api("PUT", "/change-password", {
      token: own.accessToken,
      body: { currentPassword: PASSWORD, newPassword: next },
    }),
  "a password reset": async (_, next) => {
    await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
    const otp = env.otpFor("ann@example.com", "reset");
    return env.api("POST", "/reset-password", { body: { email: "ann@example.com", otp, newPassword: next } });
  },
};

it.each([
  ["a password change", "brand new password 2", "before its first delete", 1],
  ["a password change", "brand new password 2", "between its two deletes", 2],
  ["a password change", PASSWORD, "between its two deletes", 2], // the soak's counterexample: the same password again
  ["a password reset", "reset password 3", "before its first delete", 1],
  ["a password reset", "reset password 3", "between its two deletes", 2],
])(
  "a login with the new password whose session is stored after %s (to %j) wrote it, %s, keeps that session (soak: it answered 200 with ended tokens)",
  async (what, next, _, nth) => {
    // Serial orders: the writer, then the login (200, its session lives; revokedSessions 1, the other login's).
    const own = await env.signup("ann@example.com");
    expect((await env.login("ann@example.com")).status).toBe(200); // another session: the writer ends it
    const held = heldCall("_auth_sessions", "deleteMany", nth); // the writer's revoke, after its hash write
    const writing = passwordWriters[what]!(own, next);
    await held.entered;
    const login = await env.login("ann@example.com", next);
    expect(login.status, login.text).toBe(200);
    held.release();
    const written = await writing;
    expect(written.status, written.text).toBe(200);
    if (what === "a password change") expect(written.json.data.revokedSessions).toBe(1);
    const { accessToken, refreshToken } = login.json.data as { accessToken: string; refreshToken: string };
    expect((await env.api("GET", "/me", { token: accessToken })).status).toBe(200);
    const refreshed = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    // The login's, and the changer's own: no session of the old password is left.
    expect(await sessions()).toHaveLength(what === "a password change" ? 2 : 1);
  },
);

/** A login of ann on another instance of the project, whose BCRYPT_COST is not the writer's. */
function loginAtOtherCost(password: string) {
  const other = createAuthApp({
    ...env.deps,
    config: { ...env.deps.config, bcryptCost: env.deps.config.bcryptCost + 1 },
  });
  return call(other, "POST", "/api/userAuth/login", {
    key: env.project.pk,
    body: { email: "ann@example.com", password },
    headers: { "x-refresh-token-mode": "header" },
  });
}

it.each(Object.keys(passwordWriters))(
  "a login with the new password on an instance of another bcrypt cost, stored before %s's revoke, keeps its session though it rehashed the password (review: 200 with ended tokens)",
  async (what) => {
    // Serial order: the writer, then the login (200, its session lives; it rehashes at its own cost).
    const own = await env.signup("ann@example.com");
    const held = heldCall("_auth_sessions", "deleteMany"); // the writer's revoke, after its password write
    const next = "brand new password 9";
    const writing = passwordWriters[what]!(own, next);
    await held.entered;
    const login = await loginAtOtherCost(next);
    expect(login.status, login.text).toBe(200);
    held.release();
    // A change's final check finds the password it wrote though the login rehashed it.
    const written = await writing;
    expect(written.status, written.text).toBe(200);
    const { accessToken, refreshToken } = login.json.data as { accessToken: string; refreshToken: string };
    expect((await env.api("GET", "/me", { token: accessToken })).status).toBe(200);
    const refreshed = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect((await env.login("ann@example.com", next)).status).toBe(200);
  },
);

it("an account stored before passwordId: a reset ends the session of a login that checked the old password, keeps one that checked the new", async () => {
  const own = await env.signup("ann@example.com");
  const users = env.deps.store.tenant({ projectId: env.project.id }).collection("users");
  await users.updateOne({ _id: own.user._id }, { $unset: { passwordId: "" } });
  const before = await env.login("ann@example.com"); // its session has no passwordId
  expect(before.status).toBe(200);
  const held = heldCall("_auth_sessions", "deleteMany"); // the reset's revoke, after its password write
  const resetting = passwordWriters["a password reset"]!(own, "reset password 5");
  await held.entered;
  const after = await loginAtOtherCost("reset password 5"); // read the reset's hash and passwordId together
  expect(after.status, after.text).toBe(200);
  held.release();
  expect((await resetting).status).toBe(200);
  expect((await env.api("GET", "/me", { token: before.json.data.accessToken })).status).toBe(401);
  expect((await env.api("GET", "/me", { token: after.json.data.accessToken })).status).toBe(200);
  expect(await sessions()).toHaveLength(1);
});

it("an account stored before passwordId signs in on an instance of another bcrypt cost, which rehashes its password (review: 401 at the first login)", async () => {
  const own = await env.signup("ann@example.com");
  const users = env.deps.store.tenant({ projectId: env.project.id }).collection("users");
  await users.updateOne({ _id: own.user._id }, { $unset: { passwordId: "" } });
  const login = await loginAtOtherCost(PASSWORD);
  expect(login.status, login.text).toBe(200);
  expect((await env.api("GET", "/me", { token: login.json.data.accessToken })).status).toBe(200);
});

/** What ends every session of ann after overwriting her password (or deleting her account). */
const endEverything: Record<string, (userId: string) => Promise<CallResult>> = {
  "the account's deletion": (userId) =>
    call(createAdminApp(env.deps), "DELETE", `/api/admin/projects/${env.project.id}/users/${userId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    }),
  "a password reset": async () => {
    await env.api("POST", "/request-password-reset", { body: { email: "ann@example.com" } });
    const otp = env.otpFor("ann@example.com", "reset");
    return env.api("POST", "/reset-password", {
      body: { email: "ann@example.com", otp, newPassword: "reset password 3" },
    });
  },
};

it.each(Object.keys(endEverything))(
  "a password change whose revoke comes after %s is ordered after it: 401",
  async (what) => {
    // Serial orders: change → it: 200 and revokedSessions 1; it → change: 401. Not 200 and 0.
    const own = await env.signup("ann@example.com");
    expect((await env.login("ann@example.com")).status).toBe(200); // a second session: a change ends it
    const held = heldCall("_auth_sessions", "deleteMany"); // the change's revoke, after its password write
    const changing = changePassword(own.accessToken);
    await held.entered;
    const ended = await endEverything[what]!(own.user._id);
    expect(ended.status, ended.text).toBe(200);
    held.release();
    const changed = await changing;
    expect([changed.status, changed.json.code]).toEqual([401, "TOKEN_INVALID"]);
    expect(await sessions()).toEqual([]);
    expect((await env.login("ann@example.com", "brand new password 2")).status).toBe(401);
  },
);

it("a password change counts live sessions only: an expired one a login had not swept is not counted, so a login sweeping it alongside changes nothing", async () => {
  const DAY = 24 * 3600 * 1000;
  await env.signup("eli@example.com"); // a session that will expire unswept
  env.clock.advance(7 * DAY - 60_000);
  const own = (await env.login("eli@example.com")).json.data.accessToken as string;
  env.clock.advance(120_000);
  const change = (next: string) =>
    env.api("PUT", "/change-password", { token: own, body: { currentPassword: PASSWORD, newPassword: next } });
  // Alone, the change would count no session (GET /sessions lists only the changer's own).
  expect((await env.api("GET", "/sessions", { token: own })).json.data.items).toHaveLength(1);
  // The login has checked the password and swept the expired session; its insert is held.
  const held = heldCall("_auth_sessions", "insertOne");
  const login = env.login("eli@example.com");
  await held.entered;
  const changed = await change("brand new password 2");
  held.release();
  const res = await login;
  // Serial orders: change then login (0, 401) or login then change (1, 200).
  expect([changed.json.data.revokedSessions, res.status]).toEqual([0, 401]);
  expect(await sessions()).toHaveLength(1); // the changer's own
  // And alone: another expired, unswept session is deleted, not counted.
  await env.signup("fay@example.com");
  env.clock.advance(7 * DAY - 60_000);
  const fay = (await env.login("fay@example.com")).json.data.accessToken as string;
  env.clock.advance(120_000);
  const alone = await env.api("PUT", "/change-password", {
    token: fay,
    body: { currentPassword: PASSWORD, newPassword: "brand new password 3" },
  });
  expect(alone.json.data.revokedSessions).toBe(0);
});

/** What changes ann's password, or deletes her account, while her own deletion waits for bcrypt. */
const underTheDeletion: Record<string, (own: { user: { _id: string } }) => Promise<CallResult>> = {
  "a password reset": () => endEverything["a password reset"]!(""),
  "a password change from another session, on another instance": async () => {
    const other = (await env.login("ann@example.com")).json.data.accessToken as string;
    return call(createAuthApp(env.deps), "PUT", "/api/userAuth/change-password", {
      key: env.project.pk,
      token: other,
      body: { currentPassword: PASSWORD, newPassword: "brand new password 2" },
    });
  },
  "the operator's deletion": (own) => endEverything["the account's deletion"]!(own.user._id),
};

it.each(Object.keys(underTheDeletion))(
  "a user's deletion of their account whose password check overlapped %s is ordered after it: 401, never a 500",
  async (what) => {
    // Serial orders: it → deletion: 401 (the deletion's session ended); deletion → it: the deletion
    // 200 and it fails. Both 200 (a reset, then the old password deleting the account) fits neither.
    const own = await env.signup("ann@example.com");
    const deleting = heldLogin("ann@example.com", () =>
      env.api("DELETE", "/me", { token: own.accessToken, body: { password: PASSWORD } }),
    );
    await deleting.held;
    vi.restoreAllMocks();
    const ended = await underTheDeletion[what]!(own);
    expect(ended.status, ended.text).toBe(200);
    const res = await deleting.finish();
    expect([res.status, res.json.code]).toEqual([401, "TOKEN_INVALID"]);
    const users = env.deps.store.tenant({ projectId: env.project.id }).collection("users");
    expect(await users.count({})).toBe(what === "the operator's deletion" ? 0 : 1);
    // The refused deletion ended no session: the changer's own stays.
    expect(await sessions()).toHaveLength(what.startsWith("a password change") ? 1 : 0);
  },
);

/** Two wrong tries of a code sent together at the first try of a budget window. */
const firstTries: Record<string, () => Promise<() => Promise<CallResult>>> = {
  "a reset for an email with no code record": async () => () =>
    env.api("POST", "/reset-password", {
      body: { email: "nobody@example.com", otp: "123456", newPassword: "brand new password 1" },
    }),
  "a double-submitted verification right after signup (its record has no window yet)": async () => {
    await env.signup("ann@example.com");
    const code = env.otpFor("ann@example.com", "verify");
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    return () => env.api("POST", "/verify-email", { body: { email: "ann@example.com", otp: wrong } });
  },
};

it.each(Object.keys(firstTries))(
  "two wrong codes at the first try of a window, %s: both 400, not 429 after 2 tries of 5 (soak8)",
  async (what) => {
    const tryCode = await firstTries[what]!();
    // The first try made sure of the record; it is about to move the record to this window.
    const held = heldCall("_auth_otps", "updateOne");
    const first = tryCode();
    await held.entered;
    const second = await tryCode(); // moves the record to this window and counts: attempts 1
    held.release();
    // Serial orders: 400 OTP_INVALID twice (tries 1 and 2 of 5).
    const answers = [await first, second].map((res) => [res.status, res.json.code]);
    expect(answers).toEqual([
      [400, "OTP_INVALID"],
      [400, "OTP_INVALID"],
    ]);
    // The late move started no fresh budget over the second try: both counted, the fifth try is 429.
    const rest = [(await tryCode()).status, (await tryCode()).status, (await tryCode()).status];
    expect(rest).toEqual([400, 400, 429]);
  },
);
