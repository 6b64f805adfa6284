/**
 * urBackend's own JS SDK (`@urbackend/sdk` 0.4.8), unchanged, driving the auth function over real
 * HTTP (the local app served by @hono/node-server): signUp, login, me, refreshToken, updateProfile,
 * changePassword, publicProfile, the OTP flows (codes read from the admin outbox endpoint) and logout.
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
import { PASSWORD } from "./auth-helpers.js";
import { createTestProject, type TestProject } from "./data-helpers.js";
import { ADMIN_TOKEN, testDeps } from "./helpers.js";
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
    expect(out).toEqual({ loggedOut: true, revoked: true, message: "Logged out" });
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
