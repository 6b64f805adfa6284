/**
 * Interleavings the auth model fuzz (test/auth-model.fuzz.test.ts) reaches only over a store with
 * latency, forced here with store hooks and judged by the same model: the answers and the state must
 * be those of some serial order, or of a documented exception.
 */
import { afterEach, expect, it, vi } from "vitest";
import { prelude } from "./auth-model/commands.js";
import { doConcurrent } from "./auth-model/concurrent.js";
import { closeReal, openReal, type Real } from "./auth-model/harness.js";
import { Model } from "./auth-model/model.js";
import { type Op, resolve, settleMails } from "./auth-model/ops.js";
import { aroundCollections, deferred } from "./helpers.js";

let r: Real | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  if (r) await closeReal(r);
  r = undefined;
});

it("a login refused because a password change revoked its new session, counted in the change's revokedSessions: the model accepts it (documented; soak8)", async () => {
  const real = await openReal({ requireVerify: false, maxFailed: 3, quota: undefined });
  r = real;
  const m = new Model(real.clock.now(), real.project.jwtSecret);
  await prelude(m, real); // ann: her signup session (handle 0) and a login's
  // The login checks the old password and stores its session; the change then writes the new hash
  // and revokes the other sessions, the login's new one included; the login's re-check refuses it.
  const loginStored = deferred(); // the login's session is in, its refresh token is next
  const changeRevoked = deferred();
  let changeWrote = false;
  let revokes = 0;
  aroundCollections(
    real.deps,
    { users: ["updateOne"], _auth_refresh_tokens: ["insertOne"], _auth_sessions: ["deleteMany"] },
    async (run, { collection, args }) => {
      if (collection === "users" && "passwordChangedAt" in ((args[1] as { $set?: object }).$set ?? {})) {
        await loginStored.promise;
        const out = await run();
        changeWrote = true;
        return out;
      }
      if (collection === "_auth_refresh_tokens" && !changeWrote) {
        loginStored.resolve();
        await changeRevoked.promise;
      }
      const out = await run();
      // revokeUserSessions deletes the live sessions, then the expired ones.
      if (collection === "_auth_sessions" && changeWrote && ++revokes === 2) changeRevoked.resolve();
      return out;
    },
  );
  const ann = m.s.handles[0]!;
  const ops: Op[] = [
    { k: "login", email: "ann@ex.io", norm: "ann@ex.io", password: "password-one" },
    { k: "changePw", access: ann.access.at(-1), current: "password-one", next: "password-two" },
  ];
  await doConcurrent(m, real, ops);
  // The product answered the documented pair: the login 401, the change counting its session.
  const answers = real.trace.slice(-2).join("\n");
  expect(answers).toMatch(/\/login .* -> 401 .*INVALID_CREDENTIALS/);
  expect(answers).toContain('"revokedSessions":2');
  expect(Object.keys(m.s.sessions)).toEqual([ann.sid]);
});

it.each([
  ["request-password-reset", "requestReset", /reset/i],
  ["resend-verification", "resend", /verif/i],
] as const)(
  "a %s racing the account's deletion leaves no code for the gone account and mails none (soak9)",
  async (route, k, subject) => {
    const real = await openReal({ requireVerify: false, maxFailed: 3, quota: 2 });
    r = real;
    const m = new Model(real.clock.now(), real.project.jwtSecret);
    // A reset is for a verified account, a resend for an unverified one (its signup code sets no cooldown).
    const signup: Op = { k: "signup", email: "ann@ex.io", norm: "ann@ex.io", password: "password-one" };
    if (k === "requestReset") await prelude(m, real);
    else await doConcurrent(m, real, [signup]);
    const ann = m.s.accounts["ann@ex.io"]!;
    const mailsBefore = real.mails.length;
    // The request reads the account; the deletion then runs to its end (dropping the codes it finds);
    // only then does the request write its code, bound to the gone account.
    const deleted = deferred();
    aroundCollections(
      real.deps,
      { _auth_otps: ["updateOne"], _auth_login_attempts: ["deleteOne"] },
      async (run, { collection, args }) => {
        const filter = args[0] as Record<string, unknown>;
        if (collection === "_auth_otps" && "key" in filter && "sentAt" in filter) await deleted.promise; // the request's code write
        const out = await run();
        if (collection === "_auth_login_attempts") deleted.resolve(); // deleteUser's last step
        return out;
      },
    );
    await doConcurrent(m, real, [
      { k, email: "ann@ex.io", norm: "ann@ex.io" },
      { k: "delete", userId: ann.id },
    ]);
    expect(real.trace.slice(-2).join("\n")).toMatch(new RegExp(`/${route} .* -> 200`));
    expect(real.mails.slice(mailsBefore).filter((mail) => subject.test(mail.subject))).toEqual([]);
    const codes = await real.deps.store
      .tenant({ projectId: real.project.id })
      .collection("_auth_otps")
      .find({ userId: ann.id });
    expect(codes).toEqual([]);
  },
);

it("GET /sessions whose account is deleted while it lists, beside a login the deletion refuses, is 401, never a list of the login's short-lived session (soak9)", async () => {
  const real = await openReal({ requireVerify: false, maxFailed: 3, quota: undefined });
  r = real;
  const m = new Model(real.clock.now(), real.project.jwtSecret);
  await prelude(m, real); // ann: her signup session (handle 0) and a login's
  const ann = m.s.accounts["ann@ex.io"]!;
  // The login checks the password; /sessions passes requireUser; the deletion removes the account and
  // its sessions; the login stores its session; /sessions lists it; the login's re-check then finds
  // the account gone and revokes it (401).
  const loginChecked = deferred(); // the login's lastLoginAt write (password checked) is done
  const listReached = deferred(); // /sessions passed requireUser and is about to list
  const deletedSessions = deferred(); // the deletion removed the account's sessions
  const loginStored = deferred(); // the login's session is in
  const listed = deferred(); // /sessions has listed
  aroundCollections(
    real.deps,
    { users: ["updateOne", "deleteOne", "findOne"], _auth_sessions: ["insertOne", "deleteMany", "find"] },
    async (run, { collection, method, args }) => {
      const filter = (args[0] ?? {}) as Record<string, unknown>;
      const key = `${collection}.${method}`;
      if (key === "users.deleteOne") await Promise.all([loginChecked.promise, listReached.promise]);
      if (key === "_auth_sessions.insertOne") await deletedSessions.promise;
      if (key === "_auth_sessions.find") {
        listReached.resolve();
        await loginStored.promise;
      }
      if (key === "users.findOne" && "passwordHash" in filter) await listed.promise; // the login's re-check
      const out = await run();
      if (key === "users.updateOne" && "lastLoginAt" in ((args[1] as { $set?: object }).$set ?? {}))
        loginChecked.resolve();
      if (key === "_auth_sessions.deleteMany" && !("expiresAt" in filter)) deletedSessions.resolve();
      if (key === "_auth_sessions.insertOne") loginStored.resolve();
      if (key === "_auth_sessions.find") listed.resolve();
      return out;
    },
  );
  await doConcurrent(m, real, [
    { k: "sessions", access: m.s.handles[0]!.access.at(-1)! },
    { k: "delete", userId: ann.id },
    { k: "login", email: "ann@ex.io", norm: "ann@ex.io", password: "password-one" },
  ]);
  const answers = real.trace.slice(-3).join("\n");
  expect(answers).toMatch(/\/login .* -> 401 .*INVALID_CREDENTIALS/);
  expect(answers).toMatch(/GET \/sessions .* -> 401 .*TOKEN_INVALID/);
  expect(Object.keys(m.s.sessions)).toEqual([]);
});

it("a login that swept the account's expired sessions and tokens, then was refused by a reset beside it: the model reads the sweep back (soak, seed 729524449)", async () => {
  const real = await openReal({ requireVerify: false, maxFailed: 3, quota: undefined });
  r = real;
  const m = new Model(real.clock.now(), real.project.jwtSecret);
  await prelude(m, real); // ann: her signup session (handle 0) and a login's
  const week = 7 * 24 * 3_600_000 + 1; // both sessions and their tokens expire, unswept
  real.clock.advance(week);
  m.s.now += week;
  await doConcurrent(m, real, [resolve(m, { k: "requestReset", e: 0, shout: false })]);
  settleMails(m, real); // the model learns the mailed code
  // The login checks the password and sweeps; the reset then writes the hash and ends the sessions;
  // only then does the login store its session, and its re-check refuses it.
  const loginSwept = deferred();
  const resetRevoked = deferred();
  aroundCollections(
    real.deps,
    { users: ["updateOne"], _auth_sessions: ["insertOne", "deleteMany"], _auth_refresh_tokens: ["deleteMany"] },
    async (run, { collection, method, args }) => {
      const filter = (args[0] ?? {}) as Record<string, unknown>;
      const key = `${collection}.${method}`;
      if (key === "users.updateOne" && "passwordChangedAt" in ((args[1] as { $set?: object }).$set ?? {}))
        await loginSwept.promise;
      if (key === "_auth_sessions.insertOne") await resetRevoked.promise;
      const out = await run();
      if (key === "_auth_refresh_tokens.deleteMany") loginSwept.resolve(); // createSession's sweep, its last step
      if (key === "_auth_sessions.deleteMany" && !("expiresAt" in filter)) resetRevoked.resolve(); // the reset's last delete
      return out;
    },
  );
  await doConcurrent(m, real, [
    resolve(m, { k: "login", e: 0, pw: "right", shout: false }),
    resolve(m, { k: "reset", e: 0, code: "right", pw: 1 }),
  ]);
  const answers = real.trace.slice(-2).join("\n");
  expect(answers).toMatch(/\/login .* -> 401 .*INVALID_CREDENTIALS/);
  expect(answers).toMatch(/\/reset-password .* -> 200/);
  expect([Object.keys(m.s.sessions), Object.keys(m.s.tokens)]).toEqual([[], []]);
});

it.each([
  ["password-one", "password-two"],
  ["password-one", "password-one"], // the soak's counterexample: the same password again
])(
  "a login with the new password whose session is stored before the change (%s -> %s) ends the sessions keeps it: the model judges the order change, login (soak, seed 1307907726)",
  async (current, next) => {
    const real = await openReal({ requireVerify: false, maxFailed: 3, quota: undefined });
    r = real;
    const m = new Model(real.clock.now(), real.project.jwtSecret);
    await prelude(m, real); // ann: her signup session (handle 0) and a login's
    // The change writes the new hash; the login reads it, checks it and stores its session; only
    // then does the change end the other sessions.
    const changeWrote = deferred();
    const loginStored = deferred();
    aroundCollections(
      real.deps,
      { users: ["findOne", "updateOne"], _auth_sessions: ["insertOne", "deleteMany"] },
      async (run, { collection, method, args }) => {
        const filter = (args[0] ?? {}) as Record<string, unknown>;
        const key = `${collection}.${method}`;
        if (key === "users.findOne" && "email" in filter) await changeWrote.promise; // the login's read
        if (key === "_auth_sessions.deleteMany" && "_id" in filter) await loginStored.promise; // the change's revoke
        const out = await run();
        if (key === "users.updateOne" && "passwordChangedAt" in ((args[1] as { $set?: object }).$set ?? {}))
          changeWrote.resolve();
        if (key === "_auth_sessions.insertOne") loginStored.resolve();
        return out;
      },
    );
    await doConcurrent(m, real, [
      { k: "changePw", access: m.s.handles[0]!.access.at(-1), current, next },
      { k: "login", email: "ann@ex.io", norm: "ann@ex.io", password: next },
    ]);
    const answers = real.trace.slice(-2).join("\n");
    expect(answers).toContain('"revokedSessions":1');
    expect(answers).toMatch(/\/login .* -> 200/);
    expect(Object.keys(m.s.sessions)).toHaveLength(2); // the changer's and the login's
  },
);
