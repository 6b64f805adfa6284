/**
 * The auth function's flows end to end through HTTP (API.md §6): signup, login, refresh (cookie,
 * header and body transport), logout, me, public profiles, profile updates with the users schema,
 * email verification, password reset and change, and the sessions list.
 */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { parseDefinition } from "../shared/schema/definition.js";
import { type AuthTestEnv, authTestEnv, PASSWORD, type Session } from "./auth-helpers.js";
import { call } from "./data-helpers.js";
import { aroundCollections } from "./helpers.js";

/** The 400 detail for a protected field: a password (in any of its names) says where passwords change. */
const PASSWORD_KEYS = [
  "password",
  "newPassword",
  "currentPassword",
  "passwordConfirm",
  "new_password",
  "current_password",
  "Old-Password",
];
const protectedMessage = (field: string) =>
  PASSWORD_KEYS.includes(field)
    ? "cannot be set here: a password changes through PUT /change-password (or a reset)"
    : "is protected and cannot be set";

let env: AuthTestEnv;
afterEach(() => {
  vi.restoreAllMocks();
  return env.close();
});

const SESSION_KEYS = ["accessToken", "expiresAt", "expiresIn", "token", "tokenType", "user", "userId"];

describe("signup", () => {
  beforeEach(async () => {
    env = await authTestEnv();
  });

  it("creates the account and answers 201 with the session payload; the email is trimmed and lower-cased", async () => {
    const res = await env.api("POST", "/signup", {
      body: { email: "  Alice@Example.COM ", password: PASSWORD, username: "Alice_1", name: "Alice" },
    });
    expect(res.status).toBe(201);
    const data = res.json.data;
    expect(Object.keys(data).sort()).toEqual(SESSION_KEYS);
    expect(data.token).toBe(data.accessToken);
    expect(data.userId).toBe(data.user._id);
    expect(data).toMatchObject({ tokenType: "Bearer", expiresIn: 900, expiresAt: "2026-01-01T00:15:00.000Z" });
    expect(data.user).toEqual({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      email: "alice@example.com",
      username: "alice_1",
      name: "Alice",
      emailVerified: false,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    });
    // Without header mode the refresh token travels only as the cookie.
    expect(env.cookie.value(res)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("sets the refresh cookie HttpOnly, SameSite=Lax, scoped to /api/userAuth, Secure except on plain-http localhost", async () => {
    const cookieOf = async (url: string, email: string) => {
      const res = await call(env.app, "POST", url, { key: env.project.pk, body: { email, password: PASSWORD } });
      expect(res.status).toBe(201);
      return env.cookie.line(res) ?? "";
    };
    const local = await cookieOf("http://localhost/api/userAuth/signup", "a@example.com");
    expect(local).toMatch(/; Max-Age=604800; Path=\/api\/userAuth; HttpOnly; SameSite=Lax$/);
    expect(local).not.toContain("Secure");
    expect(await cookieOf("http://127.0.0.1:8787/api/userAuth/signup", "b@example.com")).not.toContain("Secure");
    expect(await cookieOf("https://api.example.com/api/userAuth/signup", "c@example.com")).toContain("; Secure");
    expect(await cookieOf("http://api.example.com/api/userAuth/signup", "d@example.com")).toContain("; Secure");
  });

  it("with PUBLIC_URL set, the refresh cookie is Secure by its origin too, whatever host a proxy forwards; set and cleared alike", async () => {
    const cookieOf = (res: { headers: Headers }) => env.cookie.line(res) ?? "";
    for (const [publicUrl, base, secure] of [
      // nginx's default proxy_pass sends Host: 127.0.0.1:8787, the address server.ts listens on.
      ["https://api.example.com", "http://127.0.0.1:8787", true],
      ["https://api.example.com", "http://localhost:8787", true],
      // Neither downgrades the other.
      ["http://localhost:8787", "https://api.example.com", true],
      ["http://localhost:8787", "http://localhost:8787", false],
    ] as const) {
      await env.close();
      env = await authTestEnv({ env: { PUBLIC_URL: publicUrl } });
      const signup = await call(env.app, "POST", `${base}/api/userAuth/signup`, {
        key: env.project.pk,
        body: { email: "a@example.com", password: PASSWORD },
      });
      const logout = await call(env.app, "POST", `${base}/api/userAuth/logout`, {
        key: env.project.pk,
        headers: { cookie: env.cookie.header(env.cookie.value(signup)) },
      });
      expect(logout.status, logout.text).toBe(200);
      for (const cookie of [cookieOf(signup), cookieOf(logout)]) {
        expect(cookie, `${publicUrl} via ${base}`).toMatch(/^refreshToken_[0-9a-f]{24}=/);
        expect(cookie.includes("; Secure"), `${publicUrl} via ${base}: ${cookie}`).toBe(secure);
      }
    }
  });

  it("COOKIE_SAMESITE configures SameSite; None is always Secure", async () => {
    await env.close();
    env = await authTestEnv({ env: { COOKIE_SAMESITE: "none" } });
    const res = await env.api("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD } });
    const cookie = env.cookie.line(res) ?? "";
    expect(cookie).toContain("; Secure; SameSite=None");
  });

  it("returns the refresh token in the body in header mode", async () => {
    const session = await env.signup("a@example.com");
    expect(session.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("sends a verification code by mail", async () => {
    await env.signup("a@example.com");
    const [mail] = env.mails("a@example.com");
    expect(mail?.subject).toBe("app: verify your email");
    expect(mail?.otp).toMatch(/^\d{6}$/);
    expect(mail?.text).toContain(mail?.otp as string);
  });

  it("lists every invalid field at once", async () => {
    const res = await env.api("POST", "/signup", { body: { email: "not-an-email", password: "short", username: "x" } });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("VALIDATION_FAILED");
    expect(res.json.details.map((d: { path: string }) => d.path).sort()).toEqual(["email", "password", "username"]);
    const empty = await env.api("POST", "/signup", { body: {} });
    expect(empty.json.details.map((d: { path: string }) => d.path).sort()).toEqual(["email", "password"]);
  });

  it("rejects passwords over 128 characters and honours the project's minimum length", async () => {
    const long = await env.api("POST", "/signup", { body: { email: "a@example.com", password: "x".repeat(129) } });
    expect(long.status).toBe(400);
    expect(long.json.details[0].path).toBe("password");
    await env.close();
    env = await authTestEnv({ settings: { auth: { passwordMinLength: 12 } } });
    const short = await env.api("POST", "/signup", { body: { email: "a@example.com", password: "elevenchars" } });
    expect(short.status).toBe(400);
    expect(short.json.details).toEqual([{ path: "password", message: "must be at least 12 characters" }]);
  });

  it("rejects a taken email (whatever its case) with 409 EMAIL_TAKEN and a taken username with USERNAME_TAKEN", async () => {
    await env.signup("a@example.com", { username: "alice" });
    const email = await env.api("POST", "/signup", { body: { email: " A@EXAMPLE.com", password: PASSWORD } });
    expect(email.status).toBe(409);
    expect(email.json.code).toBe("EMAIL_TAKEN");
    const name = await env.api("POST", "/signup", {
      body: { email: "b@example.com", password: PASSWORD, username: "ALICE" },
    });
    expect(name.status).toBe(409);
    expect(name.json.code).toBe("USERNAME_TAKEN");
  });

  it("of 50 parallel signups with one email exactly one is created; the rest get 409 EMAIL_TAKEN", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        env.api("POST", "/signup", {
          body: { email: i % 2 ? "race@example.com" : "RACE@example.com ", password: PASSWORD },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const rest = results.filter((r) => r.status !== 201);
    expect(rest.every((r) => r.status === 409 && r.json.code === "EMAIL_TAKEN")).toBe(true);
    expect(await env.deps.store.tenant({ projectId: env.project.id }).collection("users").count({})).toBe(1);
  });

  it("never lets the user set protected fields", async () => {
    for (const field of [
      "emailVerified",
      "roles",
      "_id",
      "githubId",
      "googleId",
      "passwordHash",
      "passwordId",
      "createdAt",
    ]) {
      const res = await env.api("POST", "/signup", {
        body: { email: "a@example.com", password: PASSWORD, [field]: field === "emailVerified" ? true : ["admin"] },
      });
      expect(res.status, field).toBe(400);
      expect(res.json.details, field).toEqual([{ path: field, message: protectedMessage(field) }]);
    }
  });

  it("checks a password confirmation (passwordConfirm, confirmPassword, password_confirmation...) and never stores it", async () => {
    for (const field of ["passwordConfirm", "confirmPassword", "password_confirmation", "confirm_password"]) {
      const wrong = await env.api("POST", "/signup", {
        body: { email: "a@example.com", password: PASSWORD, [field]: `${PASSWORD}!` },
      });
      expect([wrong.status, wrong.json.details]).toEqual([400, [{ path: field, message: "does not match password" }]]);
    }
    const res = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, passwordConfirm: PASSWORD, password_confirmation: PASSWORD },
    });
    expect(res.status).toBe(201);
    const me = await env.api("GET", "/me", { token: res.json.data.accessToken });
    expect(JSON.stringify([res.json, me.json])).not.toContain(PASSWORD);
    // Responses hide password-like keys whatever is stored: the stored document itself holds none.
    const users = env.deps.store.tenant({ projectId: env.project.id }).collection("users");
    const stored = await users.findOne({ email: "a@example.com" });
    expect(stored).not.toHaveProperty("passwordConfirm");
    expect(stored).not.toHaveProperty("password_confirmation");
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
  });

  it("rejects unsafe keys and look-alikes of auth's own fields", async () => {
    const dollar = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, meta: { $where: "1" } },
    });
    expect(dollar.json.code).toBe("INVALID_FIELD_NAME");
    for (const key of [" emailVerified", "Roles", "email\u200b"]) {
      const res = await env.api("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD, [key]: 1 } });
      expect(res.status, key).toBe(400);
      expect(res.json.code, key).toBe("INVALID_FIELD_NAME");
    }
  });

  it("malformed JSON → 400 INVALID_JSON; a non-object body → VALIDATION_FAILED", async () => {
    expect((await env.api("POST", "/signup", { body: "{" })).json.code).toBe("INVALID_JSON");
    expect((await env.api("POST", "/signup", { body: "[1]" })).json.code).toBe("VALIDATION_FAILED");
  });
});

describe("profile fields from the users schema", () => {
  beforeEach(async () => {
    env = await authTestEnv();
  });

  /** Declares the users collection through the data function, as a developer would. */
  async function defineUsers(def: Record<string, unknown>) {
    const data = createDataApp(env.deps);
    const res = await call(data, "POST", "/api/schemas", { key: env.project.sk, body: { name: "users", ...def } });
    expect(res.status, res.text).toBe(201);
  }

  it("validates declared fields at signup (types, required, defaults, unknown fields)", async () => {
    await defineUsers({
      fields: [
        { name: "name", type: "string", required: true, maxLength: 20 },
        { name: "age", type: "integer", min: 13 },
        { name: "plan", type: "string", default: "free", enum: ["free", "pro"] },
      ],
    });
    const bad = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, age: 3, color: "red" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.details.map((d: { path: string }) => d.path).sort()).toEqual(["age", "color", "name"]);
    const good = await env.signup("a@example.com", { name: "Ann", age: 30 });
    expect(good.user).toMatchObject({ name: "Ann", age: 30, plan: "free" });
  });

  it("update-profile cannot grow an account past the size of one body (413), a merge at a time", async () => {
    const { accessToken: token } = await env.signup("big@example.com");
    const put = (body: unknown) => env.api("PUT", "/update-profile", { token, body });
    expect((await put({ a: "x".repeat(600_000) })).status).toBe(200);
    const grown = await put({ b: "y".repeat(600_000) });
    expect([grown.status, grown.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const me = (await env.api("GET", "/me", { token })).json.data;
    expect([me.a.length, me.b]).toEqual([600_000, undefined]);
  });

  it("validates update-profile (merge; null removes an optional field; unknown and bad values fail)", async () => {
    await defineUsers({
      fields: [
        { name: "name", type: "string", required: true },
        { name: "bio", type: "string", maxLength: 10 },
      ],
    });
    const session = await env.signup("a@example.com", { name: "Ann", bio: "hi" });
    const put = (body: unknown) => env.api("PUT", "/update-profile", { token: session.accessToken, body });
    expect((await put({ bio: "x".repeat(11) })).json.details[0].path).toBe("bio");
    expect((await put({ unknown: 1 })).json.details[0].path).toBe("unknown");
    expect((await put({ name: null })).json.details[0]).toEqual({
      path: "name",
      message: "Required; cannot be removed",
    });
    const ok = await put({ bio: null, name: "Anna" });
    expect(ok.status).toBe(200);
    expect(ok.json.data.user).toMatchObject({ name: "Anna" });
    expect(ok.json.data.user).not.toHaveProperty("bio");
  });

  it("private fields: only the secret key sets or sees them, and they are never public", async () => {
    await defineUsers({
      fields: [
        { name: "name", type: "string" },
        { name: "credits", type: "integer", private: true },
      ],
    });
    const viaPk = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, credits: 5 },
    });
    expect(viaPk.status).toBe(400);
    expect(viaPk.json.details[0].path).toBe("credits");
    const viaSk = await env.api("POST", "/signup", {
      key: env.project.sk,
      body: { email: "a@example.com", password: PASSWORD, username: "ann", name: "Ann", credits: 5 },
    });
    expect(viaSk.status).toBe(201);
    expect(viaSk.json.data.user.credits).toBe(5);
    const token = viaSk.json.data.accessToken;
    expect((await env.api("GET", "/me", { token })).json.data).not.toHaveProperty("credits");
    expect((await env.api("GET", "/me", { token, key: env.project.sk })).json.data.credits).toBe(5);
    expect((await env.api("PUT", "/update-profile", { token, body: { credits: 99 } })).status).toBe(400);
    const pub = await env.api("GET", "/public/ann", { key: env.project.sk });
    expect(pub.json.data).toEqual({
      _id: expect.any(String),
      username: "ann",
      createdAt: expect.any(String),
      name: "Ann",
    });
  });

  it("additionalFields: false rejects undeclared profile fields; declared auth fields are left to auth", async () => {
    await defineUsers({
      fields: [
        { name: "name", type: "string" },
        { name: "username", type: "integer" },
      ],
      additionalFields: false,
    });
    const res = await env.api("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD, nick: "x" } });
    expect(res.json.details).toEqual([{ path: "nick", message: "Unknown field" }]);
    // `username` stays auth's own field (a string), whatever the schema declares.
    const ok = await env.signup("a@example.com", { username: "ann", name: "Ann" });
    expect(ok.user.username).toBe("ann");
  });

  it("a users definition may not give auth's fields rules auth does not apply; one stored before still loads", async () => {
    const data = createDataApp(env.deps);
    const schemas = (method: string, body?: unknown) =>
      call(data, method, `/api/schemas${method === "POST" ? "" : "/users"}`, { key: env.project.sk, body });
    const refused = await schemas("PUT", { fields: [{ name: "username", type: "string", required: true }] });
    expect([refused.status, refused.json.code, refused.json.details]).toEqual([
      400,
      "VALIDATION_FAILED",
      [
        {
          path: "fields.0",
          message:
            '"username" belongs to auth, which applies its own rules to it and would not apply required: declare it with its type only',
        },
      ],
    ]);
    const several = await schemas("POST", {
      name: "users",
      fields: [
        { name: "bio", type: "string", required: true },
        { name: "email", type: "email", pattern: "@example\\.com$", private: true },
        { name: "emailVerified", type: "boolean", default: true },
      ],
    });
    expect(
      several.json.details.map((d: { path: string; message: string }) => [d.path, d.message.split(":")[0]]),
    ).toEqual([
      ["fields.1", '"email" belongs to auth, which applies its own rules to it and would not apply pattern, private'],
      ["fields.2", '"emailVerified" belongs to auth, which applies its own rules to it and would not apply default'],
    ]);
    expect((await schemas("GET")).json.data.collection.implicit).toBe(true);
    // urBackend's contract: `email` required and unique, `password` required; a type and an index anywhere.
    const urBackend = await schemas("POST", {
      name: "users",
      model: [
        { key: "email", type: "String", required: true, unique: true },
        { key: "password", type: "String", required: true },
        { key: "username", type: "String", unique: true, index: true },
        { key: "bio", type: "String", required: false, unique: false },
      ],
    });
    expect(urBackend.status, urBackend.text).toBe(201);
    expect((await schemas("PATCH", { fields: [{ name: "username", type: "string", maxLength: 8 }] })).status).toBe(400);

    // A definition stored before this rule keeps loading, its rule on username left out as ever.
    const project = (await env.deps.projects.resolveProject(env.project.id))!;
    await env.deps.collections.replace(project, "users", () =>
      parseDefinition({ name: "users", fields: [{ name: "username", type: "string", required: true }] }),
    );
    expect((await schemas("GET")).json.data.collection.fields[0]).toMatchObject({ name: "username", required: true });
    expect((await env.api("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD } })).status).toBe(
      201,
    );
    expect((await schemas("PATCH", { rls: { mode: "public-read" } })).status).toBe(200);
    expect((await schemas("PATCH", { fields: [{ name: "username", type: "string", required: true }] })).status).toBe(
      400,
    );
  });

  it("a unique profile field answers 409 DUPLICATE_VALUE", async () => {
    await defineUsers({ fields: [{ name: "handle", type: "string", unique: true }] });
    await env.signup("a@example.com", { handle: "zed" });
    const res = await env.api("POST", "/signup", {
      body: { email: "b@example.com", password: PASSWORD, handle: "zed" },
    });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe("DUPLICATE_VALUE");
  });
});

describe("login", () => {
  beforeEach(async () => {
    env = await authTestEnv();
    await env.signup("a@example.com", { username: "ann" });
  });

  it("answers 200 with a session; the email matches whatever its case and spacing", async () => {
    const res = await env.login("  A@Example.com ");
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.data).sort()).toEqual([...SESSION_KEYS, "refreshToken"].sort());
    expect(res.json.data.user.email).toBe("a@example.com");
    expect(res.json.data.user.lastLoginAt).toBe("2026-01-01T00:00:00.000Z");
    expect(res.headers.get("cache-control")).toBe("no-store"); // an answer with tokens (RFC 6749 §5.1)
  });

  it("a password hashed at another cost is brought to the configured one at its next login (timing stays alike)", async () => {
    const users = env.deps.collections.database(await env.deps.projects.resolveProject(env.project.id).then((p) => p!));
    const accounts = users.collection("users");
    await accounts.updateOne({ email: "a@example.com" }, { $set: { passwordHash: await bcrypt.hash(PASSWORD, 5) } });
    expect((await env.login("a@example.com", "wrong password!")).status).toBe(401);
    expect(bcrypt.getRounds((await accounts.findOne({ email: "a@example.com" }))!.passwordHash as string)).toBe(5);
    const res = await env.login("a@example.com");
    expect(res.status).toBe(200);
    expect(bcrypt.getRounds((await accounts.findOne({ email: "a@example.com" }))!.passwordHash as string)).toBe(4);
    expect((await env.api("GET", "/me", { token: res.json.data.accessToken })).status).toBe(200);
    expect((await env.login("a@example.com")).status).toBe(200);
  });

  it("a password over 72 bytes counts whole; its reduced form sha256:<digest> is not a second password", async () => {
    const long = "correct horse battery staple, and a long passphrase nobody will ever crack: 9f4#Lk2!qz";
    const reduced = `sha256:${createHash("sha256").update(long).digest("base64")}`;
    const s = await env.signup("long@example.com", { password: long });
    expect((await env.login("long@example.com", long)).status).toBe(200);
    expect((await env.login("long@example.com", long.slice(0, 72))).status).toBe(401);
    expect((await env.login("long@example.com", reduced)).json.code).toBe("INVALID_CREDENTIALS");
    const change = await env.api("PUT", "/change-password", {
      token: s.accessToken,
      body: { currentPassword: reduced, newPassword: "attacker-chosen password" },
    });
    expect(change.json.code).toBe("INVALID_CREDENTIALS");
    // A hash stored before the change (bcrypt of the reduced form) still verifies the long password.
    const users = env.deps.collections.database(await env.deps.projects.resolveProject(env.project.id).then((p) => p!));
    await users
      .collection("users")
      .updateOne({ email: "long@example.com" }, { $set: { passwordHash: await bcrypt.hash(reduced, 4) } });
    expect((await env.login("long@example.com", long)).status).toBe(200);
    expect((await env.login("long@example.com", reduced)).status).toBe(401);
    // A short password of that shape is still a password: it is reduced like a long one.
    await env.signup("shaped@example.com", { password: reduced });
    expect((await env.login("shaped@example.com", reduced)).status).toBe(200);
  });

  it("a wrong password and an unknown email get the same 401 INVALID_CREDENTIALS", async () => {
    const wrong = await env.login("a@example.com", "wrong password!");
    const unknown = await env.login("nobody@example.com");
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({
        success: false,
        code: "INVALID_CREDENTIALS",
        message: "Invalid email or password",
      });
      expect(env.cookie.value(res)).toBeUndefined();
    }
    const { requestId: _a, ...a } = wrong.json;
    const { requestId: _b, ...b } = unknown.json;
    expect(a).toEqual(b);
  });

  it('missing fields → 400 VALIDATION_FAILED, each "Required" as on the data routes', async () => {
    const res = await env.api("POST", "/login", { body: { email: "a@example.com" } });
    expect(res.status).toBe(400);
    expect(res.json.details).toEqual([{ path: "password", message: "Required" }]);
    const reset = await env.api("POST", "/reset-password", { body: { email: "a@example.com", password: PASSWORD } });
    expect(reset.json.details).toContainEqual({ path: "newPassword", message: "Required" });
    const typed = await env.api("POST", "/login", { body: { email: "a@example.com", password: 5 } });
    expect(typed.json.details).toEqual([
      { path: "password", message: "Invalid input: expected string, received number" },
    ]);
  });
});

describe("requireEmailVerification", () => {
  beforeEach(async () => {
    env = await authTestEnv({ settings: { auth: { requireEmailVerification: true } } });
  });

  it("signup answers 201 without tokens; login is 403 EMAIL_NOT_VERIFIED until the code is entered", async () => {
    const res = await env.api("POST", "/signup", { body: { email: "a@example.com", password: PASSWORD } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json.data).sort()).toEqual(["emailVerificationRequired", "user"]);
    expect(env.cookie.value(res)).toBeUndefined();
    const blocked = await env.login("a@example.com");
    expect(blocked.status).toBe(403);
    expect(blocked.json.code).toBe("EMAIL_NOT_VERIFIED");
    // A wrong password is still just wrong: the 403 says nothing to someone without the password.
    expect((await env.login("a@example.com", "wrong password!")).json.code).toBe("INVALID_CREDENTIALS");

    const otp = env.otpFor("a@example.com");
    const verified = await env.api("POST", "/verify-email", { body: { email: "A@example.com", otp } });
    expect(verified.status).toBe(200);
    expect(verified.json.data).toEqual({ email: "a@example.com", emailVerified: true, message: "Email verified" });
    const ok = await env.login("a@example.com");
    expect(ok.status).toBe(200);
    expect(ok.json.data.user.emailVerified).toBe(true);
  });
});

describe("refresh-token and logout", () => {
  let session: Session;
  beforeEach(async () => {
    env = await authTestEnv();
    session = await env.signup("a@example.com");
  });

  it("header transport: x-refresh-token → a new session with the new refresh token in the body", async () => {
    const res = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken! } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.data).sort()).toEqual([...SESSION_KEYS, "refreshToken"].sort());
    expect(res.json.data.refreshToken).not.toBe(session.refreshToken);
    expect(env.cookie.value(res)).toBe(res.json.data.refreshToken);
    expect(res.json.data.user._id).toBe(session.user._id);
    expect((await env.api("GET", "/me", { token: res.json.data.accessToken })).status).toBe(200);
  });

  it("cookie transport: the cookie alone refreshes, and the new token comes back only as the cookie", async () => {
    const cookie = env.cookie.value(
      await env.api("POST", "/login", { body: { email: "a@example.com", password: PASSWORD } }),
    ) as string;
    const res = await env.api("POST", "/refresh-token", { headers: { cookie: env.cookie.header(cookie) } });
    expect(res.status).toBe(200);
    expect(res.json.data).not.toHaveProperty("refreshToken");
    const next = env.cookie.value(res);
    expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(next).not.toBe(cookie);
    const again = await env.api("POST", "/refresh-token", {
      headers: { cookie: env.cookie.header(next), "x-refresh-token-mode": "header" },
    });
    expect(again.status).toBe(200);
    expect(again.json.data.refreshToken).toBe(env.cookie.value(again));
  });

  it("cookie transport from another origin: only an origin the project's allowlist names may spend the cookie", async () => {
    const login = (origin?: string) =>
      env.api("POST", "/login", {
        body: { email: "a@example.com", password: PASSWORD },
        headers: origin ? { origin } : {},
      });
    let origin: string | undefined;
    const refresh = async (headers: Record<string, string>) =>
      env.api("POST", "/refresh-token", {
        headers: { cookie: env.cookie.header(env.cookie.value(await login(origin))), ...headers },
      });
    // Empty allowlist ("any origin" for keys): a foreign page cannot spend the ambient cookie.
    const foreign = await refresh({ origin: "https://evil.example" });
    expect([foreign.status, foreign.json.code]).toEqual([403, "ORIGIN_NOT_ALLOWED"]);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect((await refresh({})).status).toBe(200); // no Origin: not a cross-origin browser call
    expect((await refresh({ origin: "http://localhost" })).status).toBe(200); // the API's own origin
    // A token the page holds itself is not ambient: any origin the key allows may send it.
    const own = await env.api("POST", "/refresh-token", {
      headers: { origin: "https://evil.example", "x-refresh-token": session.refreshToken! },
    });
    expect(own.status).toBe(200);
    // Once the project names its app, that app (and only it) may use the cookie.
    await env.deps.projects.update(env.project.id, { allowedOrigins: ["https://app.example.com"] });
    origin = "https://app.example.com";
    expect((await refresh({ origin: "https://app.example.com" })).status).toBe(200);
    expect((await refresh({ origin: "https://evil.example" })).status).toBe(403);
  });

  it("a logout with the cookie from a foreign origin is refused, and the session and cookie stay", async () => {
    const cookie = env.cookie.value(
      await env.api("POST", "/login", { body: { email: "a@example.com", password: PASSWORD } }),
    );
    const logout = (origin: string) =>
      env.api("POST", "/logout", { headers: { cookie: env.cookie.header(cookie), origin } });
    const foreign = await logout("https://evil.example");
    expect([foreign.status, foreign.json.code, foreign.headers.get("set-cookie")]).toEqual([
      403,
      "ORIGIN_NOT_ALLOWED",
      null,
    ]);
    const own = await logout("http://localhost");
    expect([own.status, own.json.data.revoked]).toEqual([200, true]);
  });

  it("body transport: {refreshToken} works and gets the new one back in the body", async () => {
    const res = await env.api("POST", "/refresh-token", { body: { refreshToken: session.refreshToken } });
    expect(res.status).toBe(200);
    expect(res.json.data.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("no token, a malformed one or an unknown one → 401 REFRESH_TOKEN_INVALID", async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { "x-refresh-token": "abc" },
      { "x-refresh-token": "A".repeat(43) },
    ];
    for (const headers of cases) {
      const res = await env.api("POST", "/refresh-token", { headers });
      expect(res.status).toBe(401);
      expect(res.json.code).toBe("REFRESH_TOKEN_INVALID");
    }
  });

  it("refresh tokens expire after refreshTokenTtl (default 7 days), counted from their issue", async () => {
    env.clock.advance(7 * 24 * 3600 * 1000 - 1000);
    const res = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken! } });
    expect(res.status).toBe(200);
    env.clock.advance(7 * 24 * 3600 * 1000 + 1000);
    const late = await env.api("POST", "/refresh-token", {
      headers: { "x-refresh-token": res.json.data.refreshToken },
    });
    expect(late.status).toBe(401);
    expect(late.json.code).toBe("REFRESH_TOKEN_INVALID");
  });

  it("access tokens expire after accessTokenTtl → 401 TOKEN_EXPIRED; the project setting changes it", async () => {
    env.clock.advance(899_000);
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(200);
    env.clock.advance(2000);
    const late = await env.api("GET", "/me", { token: session.accessToken });
    expect(late.status).toBe(401);
    expect(late.json.code).toBe("TOKEN_EXPIRED");

    await env.close();
    env = await authTestEnv({ settings: { auth: { accessTokenTtl: 60, refreshTokenTtl: 3600 } } });
    const short = await env.signup("a@example.com");
    expect(short.expiresIn).toBe(60);
    expect(short.expiresAt).toBe("2026-01-01T00:01:00.000Z");
    env.clock.advance(3601_000);
    const res = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": short.refreshToken! } });
    expect(res.json.code).toBe("REFRESH_TOKEN_INVALID");
  });

  it("logout revokes that session (refresh and the access token stop working) and clears the cookie", async () => {
    // As urBackend's SDK sends it in a browser: the token in the header, the cookie along with it.
    const res = await env.api("POST", "/logout", {
      headers: { "x-refresh-token": session.refreshToken!, cookie: env.cookie.header(session.refreshToken) },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, data: { loggedOut: true, revoked: true } });
    expect(env.cookie.line(res)).toMatch(/^refreshToken_[0-9a-f]{24}=; Max-Age=0;/);
    const refresh = await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": session.refreshToken! } });
    expect(refresh.status).toBe(401);
    const me = await env.api("GET", "/me", { token: session.accessToken });
    expect(me.status).toBe(401);
    expect([me.json.code, me.json.message]).toEqual([
      "TOKEN_INVALID",
      "Session ended (signed out, or the password changed): sign in again",
    ]);
  });

  it("logout with the cookie, or with only the Bearer token, revokes that session; with nothing it is still 200", async () => {
    const other = (await env.login("a@example.com")).json.data as Session;
    const viaCookie = await env.api("POST", "/logout", { headers: { cookie: env.cookie.header(other.refreshToken) } });
    expect(viaCookie.json.data.revoked).toBe(true);
    expect((await env.api("GET", "/me", { token: other.accessToken })).status).toBe(401);

    const viaBearer = await env.api("POST", "/logout", { token: session.accessToken });
    expect(viaBearer.json.data.revoked).toBe(true);
    expect((await env.api("POST", "/refresh-token", { body: { refreshToken: session.refreshToken } })).status).toBe(
      401,
    );

    const nothing = await env.api("POST", "/logout");
    expect(nothing.status).toBe(200);
    expect(nothing.json.data.revoked).toBe(false);
  });
  it("two copies of the refresh cookie (one planted by a sibling subdomain or plain http): refresh spends neither", async () => {
    const attacker = await env.signup("attacker@example.com");
    const name = env.cookie.name;
    // As a browser sends them: the planted copy (longer Path, or older) first.
    const cookie = `theme=dark; ${name}=${attacker.refreshToken}; ${name}="${session.refreshToken}"`;
    const res = await env.api("POST", "/refresh-token", { headers: { cookie } });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("REFRESH_TOKEN_INVALID");
    expect(res.json.message).toMatch(/^Several refresh cookies of this project came with this request/);
    for (const token of [attacker.refreshToken, session.refreshToken]) {
      const alone = await env.api("POST", "/refresh-token", { headers: { cookie: `theme=dark; ${name}=${token}` } });
      expect(alone.json.data.user.email).toBe(
        token === session.refreshToken ? "a@example.com" : "attacker@example.com",
      );
    }
  });

  it("logout with two copies of the refresh cookie revokes the session of each and clears the cookie", async () => {
    const attacker = await env.signup("attacker@example.com");
    const name = env.cookie.name;
    const cookie = `${name}=${"A".repeat(43)}; ${name}=${attacker.refreshToken}; ${name}=${session.refreshToken}`;
    const res = await env.api("POST", "/logout", { headers: { cookie } });
    expect(res.json.data).toMatchObject({ loggedOut: true, revoked: true });
    expect(env.cookie.line(res)).toMatch(/^refreshToken_[0-9a-f]{24}=; Max-Age=0;/);
    for (const token of [session.refreshToken, attacker.refreshToken]) {
      expect((await env.api("POST", "/refresh-token", { headers: { "x-refresh-token": token! } })).status).toBe(401);
    }
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(401);
  });

  it("logout with many copies of the refresh cookie looks up at most 4 distinct ones; with more it revokes none of them, but the Bearer session, and clears the cookie", async () => {
    const other = (await env.login("a@example.com")).json.data as Session;
    let lookups = 0;
    aroundCollections(env.deps, { _auth_refresh_tokens: ["findOne"] }, (run) => {
      lookups++;
      return run();
    });
    const name = env.cookie.name;
    const copies = (values: string[]) =>
      Array.from({ length: 150 }, (_, i) => `${name}=${values[i % values.length]}`).join("; ");
    const planted = (n: number) => Array.from({ length: n }, (_, i) => i.toString(36).padStart(43, "A"));
    // 150 copies of 4 values (a 12 KB header): each value looked up once, the real one revoked.
    const four = await env.api("POST", "/logout", {
      headers: { cookie: copies([...planted(3), other.refreshToken!]) },
    });
    expect([lookups, four.json.data.revoked]).toEqual([4, true]);
    expect((await env.api("GET", "/me", { token: other.accessToken })).status).toBe(401);
    // 150 distinct values: none looked up (it made 150 store reads), the cookie still cleared; the
    // Bearer's session is revoked.
    lookups = 0;
    const many = await env.api("POST", "/logout", {
      token: session.accessToken,
      headers: { cookie: copies([...planted(149), session.refreshToken!]) },
    });
    expect([lookups, many.json.data.revoked]).toEqual([0, true]);
    expect(env.cookie.line(many)).toMatch(/^refreshToken_[0-9a-f]{24}=; Max-Age=0;/);
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(401);
    // And a token in the body is looked up and revoked beside them.
    const third = (await env.login("a@example.com")).json.data as Session;
    lookups = 0;
    const body = await env.api("POST", "/logout", {
      body: { refreshToken: third.refreshToken },
      headers: { cookie: copies(planted(5)) },
    });
    expect([lookups, body.json.data.revoked]).toEqual([1, true]);
    expect((await env.api("GET", "/me", { token: third.accessToken })).status).toBe(401);
  });
});

describe("me, public profiles, update-profile", () => {
  let session: Session;
  beforeEach(async () => {
    env = await authTestEnv();
    session = await env.signup("a@example.com", { username: "Ann", name: "Ann", bio: "hello", phone: "555" });
  });

  it("GET /me answers with the user object itself", async () => {
    const res = await env.api("GET", "/me", { token: session.accessToken });
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual(session.user);
  });

  it("GET /me without a token → 401 AUTH_REQUIRED; with garbage → 401 TOKEN_INVALID", async () => {
    expect((await env.api("GET", "/me")).json).toMatchObject({
      code: "AUTH_REQUIRED",
      message: "Authentication required",
    });
    expect((await env.api("GET", "/me", { token: "garbage" })).json.code).toBe("TOKEN_INVALID");
  });

  it("GET /public/:username shows only public-safe fields; case-insensitive; unknown → 404 USER_NOT_FOUND", async () => {
    const res = await env.api("GET", "/public/ANN");
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({
      _id: session.user._id,
      username: "ann",
      createdAt: "2026-01-01T00:00:00.000Z",
      name: "Ann",
      bio: "hello",
    });
    const missing = await env.api("GET", "/public/nobody");
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe("USER_NOT_FOUND");
  });

  it("publicProfileFields chooses the public fields; email and other protected fields cannot be listed", async () => {
    await env.close();
    env = await authTestEnv({ settings: { auth: { publicProfileFields: ["phone"] } } });
    await env.signup("a@example.com", { username: "ann", name: "Ann", phone: "555" });
    expect((await env.api("GET", "/public/ann")).json.data).toEqual({
      _id: expect.any(String),
      username: "ann",
      createdAt: expect.any(String),
      phone: "555",
    });
    await expect(
      env.deps.projects.create({ name: "x", settings: { auth: { publicProfileFields: ["email"] } } }),
    ).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("PUT /update-profile merges profile fields and answers {user}", async () => {
    const res = await env.api("PUT", "/update-profile", {
      token: session.accessToken,
      body: { name: "Anna", city: "Oslo" },
    });
    expect(res.status).toBe(200);
    expect(res.json.data.user).toMatchObject({ name: "Anna", city: "Oslo", bio: "hello", email: "a@example.com" });
    expect((await env.api("GET", "/me", { token: session.accessToken })).json.data.city).toBe("Oslo");
  });

  it("update-profile can change and remove the username; a taken one → 409 USERNAME_TAKEN", async () => {
    await env.signup("b@example.com", { username: "bob" });
    const put = (body: unknown) => env.api("PUT", "/update-profile", { token: session.accessToken, body });
    expect((await put({ username: "Bob" })).json.code).toBe("USERNAME_TAKEN");
    expect((await put({ username: "a" })).json.details).toEqual([{ path: "username", message: expect.any(String) }]);
    expect((await put({ username: "annie" })).json.data.user.username).toBe("annie");
    expect((await put({ username: null })).json.data.user).not.toHaveProperty("username");
  });

  it("update-profile never touches email, password, emailVerified, _id, roles or provider ids", async () => {
    for (const [field, value] of Object.entries({
      email: "evil@example.com",
      password: "new password 123",
      emailVerified: true,
      _id: "0123456789abcdef01234567",
      roles: ["admin"],
      githubId: "1",
      googleId: "2",
      provider: "github",
      // A change-password body sent here, or a confirmation: never stored in clear.
      newPassword: "my new secret password",
      currentPassword: PASSWORD,
      passwordConfirm: "my new secret password",
      new_password: "my new secret password",
      current_password: PASSWORD,
      "Old-Password": PASSWORD,
    })) {
      const res = await env.api("PUT", "/update-profile", { token: session.accessToken, body: { [field]: value } });
      expect(res.status, field).toBe(400);
      expect(res.json.details, field).toEqual([{ path: field, message: protectedMessage(field) }]);
    }
    const me = (await env.api("GET", "/me", { token: session.accessToken })).json.data;
    expect(me).toEqual(session.user);
  });
});

describe("email verification", () => {
  beforeEach(async () => {
    env = await authTestEnv();
  });

  it("verify-email marks emailVerified; resend-verification and its alias send a fresh code", async () => {
    const session = await env.signup("a@example.com");
    env.clock.advance(61_000);
    const resend = await env.api("POST", "/resend-verification", { body: { email: "A@example.com" } });
    expect(resend.status).toBe(200);
    expect(env.mails("a@example.com")).toHaveLength(2);
    env.clock.advance(61_000);
    expect((await env.api("POST", "/resend-verification-otp", { body: { email: "a@example.com" } })).status).toBe(200);
    expect(env.mails("a@example.com")).toHaveLength(3);
    const otp = env.otpFor("a@example.com");
    const res = await env.api("POST", "/verify-email", { body: { email: "a@example.com", otp } });
    expect(res.status).toBe(200);
    expect((await env.api("GET", "/me", { token: session.accessToken })).json.data.emailVerified).toBe(true);
    // The same code again is a miss like any other (no "already verified": that would tell who is),
    // whose message names that case.
    const again = await env.api("POST", "/verify-email", { body: { email: "a@example.com", otp } });
    expect([again.status, again.json.code, again.json.message]).toEqual([
      400,
      "OTP_INVALID",
      "Invalid code: it is wrong, was used already, or a newer code replaced it",
    ]);
    // Verified: no more codes, and the same answer as for anyone.
    env.clock.advance(61_000);
    expect((await env.api("POST", "/resend-verification", { body: { email: "a@example.com" } })).status).toBe(200);
    expect(env.mails("a@example.com")).toHaveLength(3);
  });
});

describe("password reset and change", () => {
  let session: Session;
  beforeEach(async () => {
    env = await authTestEnv();
    session = await env.signup("a@example.com");
  });

  it("request-password-reset answers the same 200 for known and unknown emails; only the account gets a code", async () => {
    const known = await env.api("POST", "/request-password-reset", { body: { email: "a@example.com" } });
    const unknown = await env.api("POST", "/request-password-reset", { body: { email: "nobody@example.com" } });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    const strip = ({ requestId: _r, data: _d, ...rest }: Record<string, unknown>) => rest;
    expect(strip(known.json)).toEqual(strip(unknown.json));
    expect(env.mails("a@example.com").filter((m) => m.subject.includes("reset"))).toHaveLength(1);
    expect(env.mails("nobody@example.com")).toHaveLength(0);
  });

  it("reset-password sets the new password, verifies the email and revokes every session", async () => {
    const second = (await env.login("a@example.com")).json.data as Session;
    await env.api("POST", "/request-password-reset", { body: { email: "a@example.com" } });
    const otp = env.otpFor("a@example.com", "reset");
    const short = await env.api("POST", "/reset-password", {
      body: { email: "a@example.com", otp, newPassword: "short" },
    });
    expect(short.status).toBe(400); // checked before the code is spent
    const res = await env.api("POST", "/reset-password", {
      body: { email: "a@example.com", otp, newPassword: "a brand new password" },
    });
    expect(res.status).toBe(200);
    for (const s of [session, second]) {
      expect((await env.api("GET", "/me", { token: s.accessToken })).status).toBe(401);
      expect((await env.api("POST", "/refresh-token", { body: { refreshToken: s.refreshToken } })).status).toBe(401);
    }
    expect((await env.login("a@example.com")).status).toBe(401);
    const fresh = await env.login("a@example.com", "a brand new password");
    expect(fresh.status).toBe(200);
    expect(fresh.json.data.user.emailVerified).toBe(true);
  });

  it("change-password checks the current password and revokes the other sessions only", async () => {
    const other = (await env.login("a@example.com")).json.data as Session;
    const put = (body: unknown) => env.api("PUT", "/change-password", { token: session.accessToken, body });
    const wrong = await put({ currentPassword: "not it at all", newPassword: "another password" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.code).toBe("INVALID_CREDENTIALS");
    expect((await put({ currentPassword: PASSWORD, newPassword: "short" })).status).toBe(400);
    const res = await put({ currentPassword: PASSWORD, newPassword: "another password" });
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({ passwordChanged: true, revokedSessions: 1, message: "Password changed" });
    expect((await env.api("GET", "/me", { token: other.accessToken })).status).toBe(401);
    expect((await env.api("POST", "/refresh-token", { body: { refreshToken: other.refreshToken } })).status).toBe(401);
    expect((await env.api("GET", "/me", { token: session.accessToken })).status).toBe(200);
    expect((await env.api("POST", "/refresh-token", { body: { refreshToken: session.refreshToken } })).status).toBe(
      200,
    );
    expect((await env.login("a@example.com")).status).toBe(401);
    expect((await env.login("a@example.com", "another password")).status).toBe(200);
  });
});

describe("sessions", () => {
  it("lists the caller's live sessions (current marked) and revokes one by id; others' ids are 404", async () => {
    env = await authTestEnv();
    const first = await env.signup("a@example.com", {}, { headers: { "user-agent": "phone" } });
    env.clock.advance(1000);
    const second = (await env.login("a@example.com", PASSWORD, { headers: { "user-agent": "laptop" } })).json
      .data as Session;
    const bob = await env.signup("b@example.com");

    const list = await env.api("GET", "/sessions", { token: second.accessToken });
    expect(list.status).toBe(200);
    const items = list.json.data.items as Array<Record<string, unknown>>;
    expect(items.map((s) => [s.userAgent, s.current])).toEqual([
      ["laptop", true],
      ["phone", false],
    ]);
    expect(Object.keys(items[0] ?? {}).sort()).toEqual([
      "createdAt",
      "current",
      "expiresAt",
      "id",
      "lastUsedAt",
      "userAgent",
    ]);

    const bobSession = (await env.api("GET", "/sessions", { token: bob.accessToken })).json.data.items[0].id;
    const foreign = await env.api("DELETE", `/sessions/${bobSession}`, { token: second.accessToken });
    expect(foreign.status).toBe(404);
    expect((await env.api("GET", "/me", { token: bob.accessToken })).status).toBe(200);
    expect((await env.api("DELETE", "/sessions/nope", { token: second.accessToken })).json.code).toBe("INVALID_ID");

    const phoneId = items[1]?.id as string;
    const res = await env.api("DELETE", `/sessions/${phoneId}`, { token: second.accessToken });
    expect(res.json.data).toEqual({ id: phoneId, revoked: true });
    expect((await env.api("GET", "/me", { token: first.accessToken })).status).toBe(401);
    expect((await env.api("POST", "/refresh-token", { body: { refreshToken: first.refreshToken } })).status).toBe(401);
    expect((await env.api("GET", "/sessions", { token: second.accessToken })).json.data.items).toHaveLength(1);
  });
});
