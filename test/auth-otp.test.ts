/**
 * One-time codes (API.md §6): 6 digits, hashed at rest, 10-minute validity, 5 wrong tries, single
 * use (also under concurrency), 60 s send cooldown for verification and reset alike, no enumeration.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AuthTestEnv, authTestEnv } from "./auth-helpers";

let env: AuthTestEnv;
beforeEach(async () => {
  env = await authTestEnv();
  await env.signup("a@example.com");
});
afterEach(() => env.close());

const verify = (otp: unknown, email = "a@example.com") => env.api("POST", "/verify-email", { body: { email, otp } });
const resend = (email = "a@example.com") => env.api("POST", "/resend-verification", { body: { email } });
const requestReset = (email = "a@example.com") => env.api("POST", "/request-password-reset", { body: { email } });
const reset = (otp: unknown, newPassword = "a brand new password") =>
  env.api("POST", "/reset-password", { body: { email: "a@example.com", otp, newPassword } });
/** A 6-digit code that is not `code`. */
const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("verification codes", () => {
  it("are 6 digits, stored only as a keyed hash", async () => {
    const code = env.otpFor("a@example.com");
    expect(code).toMatch(/^\d{6}$/);
    const docs = await env.deps.store.tenant({ projectId: env.project.id }).collection("_auth_otps").find({});
    expect(docs).toHaveLength(1);
    expect(docs[0]?.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(docs)).not.toContain(code);
  });

  it("work once: a second use, and a code for another purpose, are OTP_INVALID", async () => {
    const code = env.otpFor("a@example.com");
    expect((await reset(code)).json.code).toBe("OTP_INVALID"); // a verification code is no reset code
    expect((await verify(code)).status).toBe(200);
    const again = await verify(code);
    expect(again.status).toBe(400);
    expect(again.json.code).toBe("OTP_INVALID");
  });

  it("accept the code as a number too; malformed codes are VALIDATION_FAILED; unknown emails OTP_INVALID", async () => {
    const code = env.otpFor("a@example.com");
    expect((await verify("12345")).json.code).toBe("VALIDATION_FAILED");
    expect((await verify(code, "nobody@example.com")).json.code).toBe("OTP_INVALID");
    expect((await verify(Number(code))).status).toBe(200);
  });

  it("expire after 10 minutes → 400 OTP_EXPIRED", async () => {
    const code = env.otpFor("a@example.com");
    env.clock.advance(10 * 60_000);
    const res = await verify(code);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("OTP_EXPIRED");
  });

  it("still work just before the 10 minutes are up", async () => {
    const code = env.otpFor("a@example.com");
    env.clock.advance(10 * 60_000 - 1000);
    expect((await verify(code)).status).toBe(200);
  });

  it("allow 5 wrong tries: the fifth spends the code (429 OTP_ATTEMPTS_EXCEEDED, Retry-After), even for the right code after", async () => {
    const code = env.otpFor("a@example.com");
    for (let i = 1; i <= 4; i++) {
      const res = await verify(wrongCode(code));
      expect(res.status, `try ${i}`).toBe(400);
      expect(res.json.code).toBe("OTP_INVALID");
    }
    const fifth = await verify(wrongCode(code));
    expect(fifth.status).toBe(429);
    expect(fifth.json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    expect(fifth.headers.get("retry-after")).toBe("60");
    const right = await verify(code);
    expect(right.status).toBe(429);
    expect(right.json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    // A new code (after the cooldown) starts over.
    env.clock.advance(60_000);
    expect((await resend()).status).toBe(200);
    expect((await verify(env.otpFor("a@example.com"))).status).toBe(200);
  });

  it("parallel wrong tries cannot exceed the 5 allowed", async () => {
    const code = env.otpFor("a@example.com");
    const results = await Promise.all(Array.from({ length: 12 }, () => verify(wrongCode(code))));
    expect(results.filter((r) => r.json.code === "OTP_INVALID").length).toBeLessThanOrEqual(4);
    expect((await verify(code)).json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
  });

  it("a new code replaces the old one", async () => {
    const first = env.otpFor("a@example.com");
    env.clock.advance(60_000);
    await resend();
    const second = env.otpFor("a@example.com");
    // (Two random codes collide once in a million: then there is no old code to try.)
    if (first !== second) expect((await verify(first)).json.code).toBe("OTP_INVALID");
    expect((await verify(second)).status).toBe(200);
  });
});

describe("resend cooldown", () => {
  it("a second request within 60 s → 429 OTP_COOLDOWN with Retry-After; after 60 s it is sent", async () => {
    env.clock.advance(20_000);
    const early = await resend();
    expect(early.status).toBe(429);
    expect(early.json.code).toBe("OTP_COOLDOWN");
    expect(early.headers.get("retry-after")).toBe("40");
    expect(env.mails("a@example.com")).toHaveLength(1);
    env.clock.advance(40_000);
    expect((await resend()).status).toBe(200);
    expect(env.mails("a@example.com")).toHaveLength(2);
  });

  it("applies to unknown and verified emails alike, so it tells nothing about accounts", async () => {
    expect((await verify(env.otpFor("a@example.com"))).status).toBe(200);
    env.clock.advance(60_000);
    for (const email of ["a@example.com", "nobody@example.com"]) {
      const first = await resend(email);
      const second = await resend(email);
      expect([first.status, second.status], email).toEqual([200, 429]);
      const { requestId: _r, ...body } = first.json;
      expect(body.message).toBe("If the account exists and is not verified yet, a new code is on its way");
    }
    expect(env.mails("nobody@example.com")).toHaveLength(0);
  });

  it("concurrent requests send one code", async () => {
    env.clock.advance(60_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => resend()));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
    expect(env.mails("a@example.com")).toHaveLength(2);
  });

  it("a new account gets its code at signup even if its email was asked about a moment before", async () => {
    expect((await resend("new@example.com")).status).toBe(200);
    await env.signup("new@example.com");
    expect(env.mails("new@example.com")).toHaveLength(1);
  });
});

describe("password reset codes", () => {
  it("request-password-reset within the cooldown still answers 200 but sends nothing new", async () => {
    expect((await requestReset()).status).toBe(200);
    const code = env.otpFor("a@example.com", "reset");
    expect((await requestReset()).status).toBe(200);
    expect(env.mails("a@example.com").filter((m) => m.subject.includes("reset"))).toHaveLength(1);
    expect((await reset(code)).status).toBe(200);
  });

  it("work once, also when sent twice at the same moment", async () => {
    await requestReset();
    const code = env.otpFor("a@example.com", "reset");
    const results = await Promise.all(Array.from({ length: 5 }, () => reset(code)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400).every((r) => r.json.code === "OTP_INVALID")).toBe(true);
  });

  it("allow 5 wrong tries and expire after 10 minutes", async () => {
    await requestReset();
    const code = env.otpFor("a@example.com", "reset");
    for (let i = 0; i < 4; i++) expect((await reset(wrongCode(code))).json.code).toBe("OTP_INVALID");
    expect((await reset(wrongCode(code))).json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    expect((await reset(code)).json.code).toBe("OTP_ATTEMPTS_EXCEEDED");

    env.clock.advance(60_000);
    await requestReset();
    const next = env.otpFor("a@example.com", "reset");
    env.clock.advance(10 * 60_000);
    expect((await reset(next)).json.code).toBe("OTP_EXPIRED");
  });
});
