/**
 * urBackend's own JS SDK (`@urbackend/sdk` 0.4.8), unchanged, driving the auth function over real
 * HTTP (the local app served by @hono/node-server): signUp, login, me, refreshToken, updateProfile,
 * changePassword, publicProfile, the OTP flows (codes read from the admin outbox endpoint) and logout;
 * and what a notes app built with it meets (its storage calls too).
 */
import urBackend, {
  AuthError,
  type AuthResponse,
  NotFoundError,
  RateLimitError,
  UrBackendError,
  ValidationError,
} from "@urbackend/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../shared/deps.js";
import { signAccessToken } from "../shared/tokens.js";
import { PASSWORD } from "./auth-helpers.js";
import { createTestProject, type TestProject } from "./data-helpers.js";
import { ADMIN_TOKEN, testDeps } from "./helpers.js";
import { PNG } from "./png.js";
import { serveLocalApp } from "./serve.js";

let deps: Deps;
let project: TestProject;
let baseUrl: string;
let server: Awaited<ReturnType<typeof serveLocalApp>>;

beforeAll(async () => {
  deps = await testDeps({ env: { BCRYPT_COST: "4", MAIL_PROVIDER: "memory" } });
  project = await createTestProject(deps, "sdk");
  server = await serveLocalApp(deps);
  baseUrl = server.baseUrl;
});
afterAll(async () => {
  await server.close();
  await deps.store.close();
});

/** The newest code mailed to `to` for `kind`, read from the development outbox over HTTP. */
async function otpFromOutbox(to: string, kind: "verify" | "reset"): Promise<string> {
  const res = await fetch(`${baseUrl}/api/admin/projects/${project.id}/outbox?to=${encodeURIComponent(to)}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(res.status).toBe(200);
  const mails = (await res.json()).data as Array<{ subject: string; otp: string }>;
  const mail = mails.find((m) => m.subject.includes(kind));
  if (!mail) throw new Error(`no ${kind} mail to ${to}`);
  return mail.otp;
}

const client = () => urBackend({ apiKey: project.pk, baseUrl });

describe("auth module of @urbackend/sdk", () => {
  it("signUp → me → updateProfile → refreshToken → publicProfile → logout", async () => {
    const { auth } = client();
    // The SDK types signUp's result as the user; at run time it is the session (user, tokens).
    const signed = (await auth.signUp({
      email: "Sdk@Example.com",
      password: PASSWORD,
      username: "sdkuser",
      name: "Sdk",
    })) as unknown as AuthResponse;
    expect(signed.user).toMatchObject({ email: "sdk@example.com", username: "sdkuser", name: "Sdk" });
    expect(signed.accessToken).toBe(auth.getToken());
    expect(auth.getRefreshToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const me = await auth.me();
    expect(me).toMatchObject({ _id: signed.user?._id, email: "sdk@example.com", emailVerified: false });
    expect(me).not.toHaveProperty("passwordHash");
    expect(me).not.toHaveProperty("passwordId");

    const updated = (await auth.updateProfile({ name: "Sdk Renamed", bio: "hi" })) as unknown as {
      user: Record<string, unknown>;
    };
    expect(updated.user).toMatchObject({ name: "Sdk Renamed", bio: "hi" });

    const oldRefresh = auth.getRefreshToken() as string;
    const refreshed = await auth.refreshToken();
    expect(refreshed.accessToken).toBe(auth.getToken());
    expect(auth.getRefreshToken()).not.toBe(oldRefresh);
    expect(await auth.me()).toMatchObject({ name: "Sdk Renamed" });

    const profile = await auth.publicProfile("sdkuser");
    expect(profile).toEqual({
      _id: signed.user?._id,
      username: "sdkuser",
      createdAt: expect.any(String),
      name: "Sdk Renamed",
      bio: "hi",
    });
    await expect(auth.publicProfile("nobody-here")).rejects.toBeInstanceOf(NotFoundError);

    const token = auth.getToken() as string;
    const refresh = auth.getRefreshToken() as string;
    const out = await auth.logout();
    expect(out).toEqual({ success: true, loggedOut: true, revoked: true, message: "Logged out" });
    expect(auth.getToken()).toBeUndefined();
    await expect(auth.me(token)).rejects.toBeInstanceOf(AuthError);
    await expect(auth.refreshToken(refresh)).rejects.toMatchObject({ statusCode: 401 });
  });

  it("login, and its errors as the SDK's error classes", async () => {
    const signer = client().auth;
    await signer.signUp({ email: "login@example.com", password: PASSWORD });
    const { auth } = client();
    const res = await auth.login({ email: "LOGIN@example.com", password: PASSWORD });
    expect(res.user?.email).toBe("login@example.com");
    expect(res.refreshToken).toBe(auth.getRefreshToken());
    expect((await auth.me()).email).toBe("login@example.com");

    const wrong = await client()
      .auth.login({ email: "login@example.com", password: "wrong password!" })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(AuthError);
    expect(wrong).toMatchObject({ statusCode: 401, message: "Invalid email or password" });
    const taken = await client()
      .auth.signUp({ email: "login@example.com", password: PASSWORD })
      .catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(UrBackendError);
    expect(taken).toMatchObject({ statusCode: 409, message: "Email already registered" });
    await expect(client().auth.signUp({ email: "x@example.com", password: "short" })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it("verifyEmail and resendVerificationOtp (cooldown → RateLimitError with retryAfter)", async () => {
    const { auth } = client();
    await auth.signUp({ email: "verify@example.com", password: PASSWORD });
    // The signup code sets no cooldown (it would show that the account was just created): the first resend goes out.
    const resent = await auth.resendVerificationOtp({ email: "verify@example.com" });
    expect(resent.message).toMatch(/new code is on its way/);
    const cooldown = await auth.resendVerificationOtp({ email: "verify@example.com" }).catch((e: unknown) => e);
    expect(cooldown).toBeInstanceOf(RateLimitError);
    expect((cooldown as RateLimitError).retryAfter).toBeGreaterThan(0);
    await expect(auth.verifyEmail({ email: "verify@example.com", otp: "00000" })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const otp = await otpFromOutbox("verify@example.com", "verify");
    const verified = await auth.verifyEmail({ email: "verify@example.com", otp });
    expect(verified).toEqual({ email: "verify@example.com", emailVerified: true, message: "Email verified" });
    expect((await auth.me()).emailVerified).toBe(true);
  });

  it("requestPasswordReset → resetPassword revokes the sessions; changePassword keeps the current one", async () => {
    const { auth } = client();
    await auth.signUp({ email: "reset@example.com", password: PASSWORD });
    const oldToken = auth.getToken() as string;
    const requested = await auth.requestPasswordReset({ email: "reset@example.com" });
    expect(requested.message).toBe("If the account exists, a reset code is on its way");
    await expect(auth.requestPasswordReset({ email: "nobody@example.com" })).resolves.toEqual({
      email: "nobody@example.com",
      message: requested.message,
    });
    const otp = await otpFromOutbox("reset@example.com", "reset");
    const reset = await auth.resetPassword({ email: "reset@example.com", otp, newPassword: "a brand new password" });
    expect(reset.message).toBe("Password reset; sign in with the new password");
    await expect(auth.me(oldToken)).rejects.toBeInstanceOf(AuthError);

    await auth.login({ email: "reset@example.com", password: "a brand new password" });
    const changed = await auth.changePassword({
      currentPassword: "a brand new password",
      newPassword: "third password",
    });
    expect(changed).toMatchObject({ passwordChanged: true, message: "Password changed" });
    expect((await auth.me()).email).toBe("reset@example.com");
    await expect(
      client().auth.login({ email: "reset@example.com", password: "third password" }),
    ).resolves.toBeDefined();
  });
});

/** What an app built with the SDK (a notes app) meets: answers shaped as the SDK documents, errors that say what to do next. */
describe("@urbackend/sdk in a notes app", () => {
  let notes: TestProject;
  let verifying: TestProject;
  beforeAll(async () => {
    notes = await createTestProject(deps, "notes", { storage: { allowUserUploads: true } });
    verifying = await createTestProject(deps, "verifying", { auth: { requireEmailVerification: true } });
    const res = await fetch(`${baseUrl}/api/schemas`, {
      method: "POST",
      headers: { "x-api-key": notes.sk, "content-type": "application/json" },
      body: JSON.stringify({
        name: "notes",
        fields: [
          { name: "title", type: "string", required: true },
          { name: "userId", type: "string" },
        ],
        rls: { enabled: true, mode: "private" },
      }),
    });
    expect(res.status).toBe(201);
  });
  const client = (p: TestProject = notes) => urBackend({ apiKey: p.pk, baseUrl });
  const email = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 8)}@example.com`;

  it("logout() resolves { success: true }, as the SDK documents (urBackend answers no data)", async () => {
    const { auth } = client();
    await auth.signUp({ email: email("lo"), password: PASSWORD });
    const out = (await auth.logout()) as { success?: boolean };
    expect(out.success).toBe(true);
  });

  it("login under requireEmailVerification: the 403 says how to verify", async () => {
    const c = client(verifying);
    const addr = email("unverified");
    await c.auth.signUp({ email: addr, password: PASSWORD });
    const err = (await c.auth.login({ email: addr, password: PASSWORD }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/verify-email.*resend-verification/);
  });

  it("an expired access token: the 401 says to refresh (me(), updateProfile() and calls given a token never auto-refresh)", async () => {
    const c = client();
    const signed = (await c.auth.signUp({ email: email("exp"), password: PASSWORD })) as unknown as {
      user: { _id: string };
    };
    const { token } = await signAccessToken(notes, signed.user._id, { now: Date.now() - 3_600_000, ttlSeconds: 60 });
    const viaData = (await c.db.insert("notes", { title: "x" }, token).catch((e: unknown) => e)) as Error;
    const viaMe = (await c.auth.me(token).catch((e: unknown) => e)) as Error;
    expect(viaData).toMatchObject({ statusCode: 401 });
    expect(viaData.message).toMatch(/refresh-token/);
    expect(viaMe.message).toMatch(/refresh-token/);
  });

  it("storage.deleteFile takes the upload's url, as the SDK documents ('file path or URL')", async () => {
    const { auth, storage } = client();
    await auth.signUp({ email: email("file"), password: PASSWORD });
    const up = await storage.upload(new Blob([PNG], { type: "image/png" }), "pic.png");
    expect(await storage.deleteFile(up.url)).toMatchObject({ deleted: true });
    const gone = await fetch(up.url, { headers: { "x-api-key": notes.sk } });
    expect(gone.status).toBe(404);
    // A URL of anything else is still a bad path.
    const other = (await storage.deleteFile(`https://elsewhere.example/x?path=${up.path}`).catch((e) => e)) as Error;
    expect(other).toMatchObject({ statusCode: 400 });
  });

  it("resendVerificationOtp within the cooldown: the 429 says how long to wait (as urBackend's)", async () => {
    const { auth } = client();
    const addr = email("cool");
    await auth.signUp({ email: addr, password: PASSWORD });
    await auth.resendVerificationOtp({ email: addr });
    const err = (await auth.resendVerificationOtp({ email: addr }).catch((e: unknown) => e)) as RateLimitError;
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.retryAfter).toBeGreaterThan(0);
    expect(err.message).toBe(`Please wait ${err.retryAfter} s before requesting another code`);
  });

  it("updateProfile resolves {user} with a message, as the README says (the SDK types {message})", async () => {
    const { auth } = client();
    await auth.signUp({ email: email("prof"), password: PASSWORD });
    const res = (await auth.updateProfile({ name: "New Name" })) as Record<string, unknown>;
    expect(res).toMatchObject({ user: { name: "New Name" }, message: "Profile updated" });
  });

  it("a refused upload says why: an extension of no known type, or a type the project does not allow (and where to allow it)", async () => {
    const { auth, storage } = client();
    await auth.signUp({ email: email("md"), password: PASSWORD });
    const named = (await storage.upload(Buffer.from("# hi\n"), "notes.xyz").catch((e: unknown) => e)) as Error;
    expect(named).toMatchObject({ statusCode: 415 });
    expect(named.message).toContain('".xyz" names no type known here; send the file\'s type');
    const typed = (await storage
      .upload(new Blob(["# hi\n"], { type: "text/markdown" }), "notes.md")
      .catch((e: unknown) => e)) as Error;
    expect(typed).toMatchObject({ statusCode: 415 });
    expect(typed.message).toContain("settings.storage.allowedContentTypes");
    // A known type the project does not take says so at once, not "send the type" (which would not help).
    for (const name of ["logo.svg", "notes.md", "page.html"]) {
      const refused = (await storage.upload(Buffer.from("<svg/>"), name).catch((e: unknown) => e)) as Error;
      expect(refused.message, name).toContain("are not accepted by this project");
    }
  });
});
