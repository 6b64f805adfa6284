/**
 * Tokens (API.md §6): refresh-token rotation under concurrency, reuse detection revoking the whole
 * family, project isolation, forged access tokens, and the data function honouring auth's tokens
 * (until they expire).
 */
import { base64url, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { REFRESH_REUSE_WINDOW_MS } from "../shared/auth/sessions.js";
import { TOKEN_ISSUER, tokenAudience } from "../shared/tokens.js";
import { type AuthTestEnv, authTestEnv, otherProject, PASSWORD, type Session } from "./auth-helpers.js";
import { call, type TestProject } from "./data-helpers.js";
import { slowCollections } from "./helpers.js";

let env: AuthTestEnv;
let session: Session;
beforeEach(async () => {
  env = await authTestEnv();
  session = await env.signup("a@example.com");
});
afterEach(() => env.close());

const refresh = (token: string) => env.api("POST", "/refresh-token", { headers: { "x-refresh-token": token } });

describe("refresh-token rotation", () => {
  it("every refresh token works once: 10 concurrent refreshes of one token → exactly one 200, and the session lives on", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(session.refreshToken!)));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => r.status !== 200);
    expect(losers).toHaveLength(9);
    for (const loser of losers) {
      expect([loser.status, loser.json.code, loser.json.message]).toEqual([
        401,
        "REFRESH_TOKEN_REUSED",
        "Refresh token already used",
      ]);
    }
    // Within the reuse window, and the winner's successor unspent: the others' reuse keeps the session.
    const winner = winners[0]?.json.data as Session;
    expect((await env.api("GET", "/me", { token: winner.accessToken })).status).toBe(200);
    expect((await refresh(winner.refreshToken!)).status).toBe(200);
  });

  it("a spent token again within REFRESH_REUSE_WINDOW_MS keeps the session; from the window's end it revokes the family", async () => {
    const second = (await refresh(session.refreshToken!)).json.data as Session;
    env.clock.advance(REFRESH_REUSE_WINDOW_MS - 1);
    const within = await refresh(session.refreshToken!);
    expect([within.status, within.json.code, within.json.message]).toEqual([
      401,
      "REFRESH_TOKEN_REUSED",
      "Refresh token already used",
    ]);
    expect((await env.api("GET", "/me", { token: second.accessToken })).status).toBe(200);

    env.clock.advance(1);
    const after = await refresh(session.refreshToken!);
    expect([after.status, after.json.code, after.json.message]).toEqual([
      401,
      "REFRESH_TOKEN_REUSED",
      "Refresh token reused; session revoked",
    ]);
    expect((await env.api("GET", "/me", { token: second.accessToken })).json.code).toBe("TOKEN_INVALID");
    expect((await refresh(second.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
  });

  it("within the window, a spent token whose successor is spent too revokes the family (it moved on: not a parallel refresh)", async () => {
    // A thief spends the stolen token and then its successor; the owner's refresh with the stolen token comes 1 s later.
    const thief = (await refresh(session.refreshToken!)).json.data as Session;
    const thiefNext = (await refresh(thief.refreshToken!)).json.data as Session;
    env.clock.advance(1000);
    expect((await refresh(session.refreshToken!)).json.message).toBe("Refresh token reused; session revoked");
    expect((await env.api("GET", "/me", { token: thiefNext.accessToken })).json.code).toBe("TOKEN_INVALID");
    expect((await refresh(thiefNext.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
  });

  it("logout with a token spent just now by a parallel refresh revokes the session, the winner's tokens included", async () => {
    const winner = (await refresh(session.refreshToken!)).json.data as Session;
    const logout = await env.api("POST", "/logout", { headers: { "x-refresh-token": session.refreshToken! } });
    expect(logout.json.data).toEqual({ success: true, loggedOut: true, revoked: true, message: "Logged out" });
    expect((await env.api("GET", "/me", { token: winner.accessToken })).json.code).toBe("TOKEN_INVALID");
    expect((await refresh(winner.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
    // The spent token of the session that is gone has nothing left to revoke: invalid, as the unspent one.
    expect((await refresh(session.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
  });

  it("exactly one 200 also when the store answers slowly (a networked MongoDB): the winner is not undone by the others' reuse", async () => {
    // Every sessions update waits 20 ms, so the losers answer before the winner has extended the session.
    slowCollections(env.deps, { _auth_sessions: ["updateOne"] });
    const results = await Promise.all([0, 1, 2].map(() => refresh(session.refreshToken!)));
    vi.restoreAllMocks();
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    const winner = results.find((r) => r.status === 200)?.json.data as Session;
    expect((await refresh(winner.refreshToken!)).status).toBe(200);
  });

  it("a token of a session that is gone is INVALID however often it comes (never taken for reuse)", async () => {
    const logout = await env.api("POST", "/logout", { headers: { "x-refresh-token": session.refreshToken! } });
    expect(logout.json.data.revoked).toBe(true);
    for (let i = 0; i < 2; i++) expect((await refresh(session.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
  });

  it("sequential rotation keeps one family alive; each token is spent by its use", async () => {
    let token = session.refreshToken!;
    for (let i = 0; i < 5; i++) {
      env.clock.advance(60_000);
      const res = await refresh(token);
      expect(res.status).toBe(200);
      expect(res.json.data.refreshToken).not.toBe(token);
      token = res.json.data.refreshToken;
    }
    const sessions = await env.api("GET", "/sessions", { token: session.accessToken });
    expect(sessions.json.data.items).toHaveLength(1);
    expect(sessions.json.data.items[0].lastUsedAt).toBe("2026-01-01T00:05:00.000Z");
  });

  it("reusing a spent token after the window → 401 REFRESH_TOKEN_REUSED and revokes the whole family, not other sessions", async () => {
    const other = (await env.login("a@example.com")).json.data as Session;
    const second = (await refresh(session.refreshToken!)).json.data as Session;
    const third = (await refresh(second.refreshToken!)).json.data as Session;

    env.clock.advance(REFRESH_REUSE_WINDOW_MS);
    const reuse = await refresh(session.refreshToken!);
    expect(reuse.status).toBe(401);
    expect(reuse.json).toMatchObject({
      code: "REFRESH_TOKEN_REUSED",
      message: "Refresh token reused; session revoked",
    });
    expect((await refresh(third.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
    for (const s of [session, second, third]) {
      expect((await env.api("GET", "/me", { token: s.accessToken })).json.code).toBe("TOKEN_INVALID");
    }
    // The family is gone: its spent tokens are invalid from now on, as its unspent ones.
    expect((await refresh(second.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
    // The user's other session is untouched.
    expect((await env.api("GET", "/me", { token: other.accessToken })).status).toBe(200);
    expect((await refresh(other.refreshToken!)).status).toBe(200);
  });

  it("refresh tokens are opaque 256-bit values stored only as their SHA-256, bound to the project", async () => {
    const { sha256Hex } = await import("../shared/crypto.js");
    const stored = await env.deps.store
      .tenant({ projectId: env.project.id })
      .collection("_auth_refresh_tokens")
      .find({});
    expect(stored).toHaveLength(1);
    expect(stored[0]?.hash).toBe(sha256Hex(`${env.project.id}\u0000${session.refreshToken!}`));
    expect(JSON.stringify(stored)).not.toContain(session.refreshToken!);
    expect(Buffer.from(session.refreshToken!, "base64url")).toHaveLength(32);
  });

  it("a deleted user's refresh token stops working", async () => {
    await env.deps.store.tenant({ projectId: env.project.id }).collection("users").deleteOne({ _id: session.user._id });
    expect((await refresh(session.refreshToken!)).json.code).toBe("REFRESH_TOKEN_INVALID");
  });
});

describe("project isolation", () => {
  let other: TestProject;
  beforeEach(async () => {
    other = await otherProject(env.deps);
  });

  it("a token of project A is rejected by project B (access and refresh), and A's account does not exist in B", async () => {
    // Accepted by A first, so B's check runs against a token A has already verified (and remembered).
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(200);
    const me = await env.api("GET", "/me", { key: other.pk, token: session.accessToken });
    expect(me.status).toBe(401);
    expect(me.json.code).toBe("TOKEN_INVALID");
    const rt = await env.api("POST", "/refresh-token", {
      key: other.pk,
      headers: { "x-refresh-token": session.refreshToken! },
    });
    expect(rt.json.code).toBe("REFRESH_TOKEN_INVALID");
    const login = await env.api("POST", "/login", {
      key: other.pk,
      body: { email: "a@example.com", password: PASSWORD },
    });
    expect(login.json.code).toBe("INVALID_CREDENTIALS");
    // The same email can sign up separately in B.
    const signup = await env.api("POST", "/signup", {
      key: other.pk,
      body: { email: "a@example.com", password: PASSWORD },
    });
    expect(signup.status).toBe(201);
    expect(signup.json.data.user._id).not.toBe(session.user._id);
    // A's token still works in A.
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(200);
  });
});

describe("forged access tokens on /me", () => {
  const encoder = new TextEncoder();
  const json = (value: unknown) => base64url.encode(JSON.stringify(value));

  /** The claims of a genuine token for the signed-up user, plus `extra`. */
  const claims = (extra: Record<string, unknown> = {}) => {
    const payload = JSON.parse(Buffer.from(session.accessToken.split(".")[1] ?? "", "base64url").toString());
    return { ...payload, ...extra };
  };
  const sign = (payload: Record<string, unknown>, secret = env.project.jwtSecret, alg = "HS256") =>
    new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(encoder.encode(secret));

  const forgeries: Array<[string, () => Promise<string>, string]> = [
    ["alg none", async () => `${json({ alg: "none", typ: "JWT" })}.${json(claims())}.`, "TOKEN_INVALID"],
    ["HS256 signed with the publishable key as secret", () => sign(claims(), env.project.pk), "TOKEN_INVALID"],
    ["HS256 signed with the secret key as secret", () => sign(claims(), env.project.sk), "TOKEN_INVALID"],
    [
      "HS512 with the right secret (wrong algorithm)",
      () => sign(claims(), env.project.jwtSecret, "HS512"),
      "TOKEN_INVALID",
    ],
    [
      "tampered payload (another sub, original signature)",
      async () => {
        const [header, , signature] = session.accessToken.split(".");
        const sub = "0123456789abcdef01234567";
        return `${header}.${json(claims({ sub, userId: sub }))}.${signature}`;
      },
      "TOKEN_INVALID",
    ],
    ["expired", () => sign(claims({ exp: claims().iat - 1, iat: claims().iat - 901 })), "TOKEN_EXPIRED"],
    ["not valid before a future time (nbf)", () => sign(claims({ nbf: claims().iat + 3600 })), "TOKEN_INVALID"],
    ["another issuer", () => sign(claims({ iss: "someone-else" })), "TOKEN_INVALID"],
    ["another audience", () => sign(claims({ aud: tokenAudience("0123456789abcdef01234567") })), "TOKEN_INVALID"],
    ["pid of another project", () => sign(claims({ pid: "0123456789abcdef01234567" })), "TOKEN_INVALID"],
    ["without a session id", () => sign(claims({ sid: undefined })), "TOKEN_INVALID"],
    ["a session id that is not the user's", () => sign(claims({ sid: "0123456789abcdef01234567" })), "TOKEN_INVALID"],
  ];

  it.each(forgeries)("%s → 401", async (_name, forge, code) => {
    const res = await env.api("GET", "/me", { token: await forge() });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe(code);
  });

  it("the genuine token, and one re-signed with the project secret and the same claims, work", async () => {
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(200);
    const resigned = await sign(claims());
    expect((await env.api("GET", "/me", { token: resigned })).status).toBe(200);
    expect(claims()).toMatchObject({
      sub: session.user._id,
      userId: session.user._id,
      pid: env.project.id,
      iss: TOKEN_ISSUER,
      aud: tokenAudience(env.project.id),
      exp: expect.any(Number),
      iat: expect.any(Number),
      jti: expect.any(String),
    });
  });
});

describe("the data function honours auth's tokens", () => {
  it("pk + Bearer from /login inserts into an RLS collection as that user until it expires; other users and projects cannot", async () => {
    const data = createDataApp(env.deps);
    const other = await otherProject(env.deps);
    for (const sk of [env.project.sk, other.sk]) {
      const define = await call(data, "POST", "/api/schemas", {
        key: sk,
        body: { name: "notes", fields: [{ name: "text", type: "string" }], rls: { enabled: true, mode: "private" } },
      });
      expect(define.status).toBe(201);
    }
    const token = (await env.login("a@example.com")).json.data.accessToken as string;

    const created = await call(data, "POST", "/api/data/notes", { key: env.project.pk, token, body: { text: "mine" } });
    expect(created.status).toBe(201);
    expect(created.json.data).toMatchObject({ text: "mine", userId: session.user._id, createdBy: session.user._id });
    const list = await call(data, "GET", "/api/data/notes", { key: env.project.pk, token });
    expect(list.json.data.items).toHaveLength(1);

    const bob = await env.signup("b@example.com");
    const bobs = await call(data, "GET", "/api/data/notes", { key: env.project.pk, token: bob.accessToken });
    expect(bobs.json.data.items).toHaveLength(0);
    const spoof = await call(data, "POST", "/api/data/notes", {
      key: env.project.pk,
      token: bob.accessToken,
      body: { text: "x", userId: session.user._id },
    });
    expect(spoof.json.code).toBe("OWNER_MISMATCH");

    const foreign = await call(data, "POST", "/api/data/notes", { key: other.pk, token, body: { text: "x" } });
    expect(foreign.status).toBe(401);
    expect(foreign.json.code).toBe("TOKEN_INVALID");
    expect((await call(data, "POST", "/api/data/notes", { key: env.project.pk, body: { text: "x" } })).json.code).toBe(
      "AUTH_REQUIRED",
    );

    // The token verified above (and is remembered as verified) still expires, for reads and writes alike.
    env.clock.advance(901_000);
    for (const [method, body] of [["GET"], ["POST", { text: "late" }]] as const) {
      const late = await call(data, method, "/api/data/notes", { key: env.project.pk, token, body });
      expect([late.status, late.json.code], method).toEqual([401, "TOKEN_EXPIRED"]);
    }
  });
});
