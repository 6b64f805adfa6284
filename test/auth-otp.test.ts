/**
 * One-time codes (API.md §6): 6 digits, hashed at rest, 10-minute validity, 5 wrong tries, single
 * use (also under concurrency), 60 s send cooldown for verification and reset alike, no enumeration.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { AUTH_COLLECTIONS } from "../shared/auth/store.js";
import { type AuthTestEnv, authTestEnv } from "./auth-helpers.js";
import { call } from "./data-helpers.js";
import { ADMIN_TOKEN, aroundCollections } from "./helpers.js";

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

  it("allow 5 wrong tries: the fifth uses up the budget (429 OTP_ATTEMPTS_EXCEEDED, Retry-After), even for the right code after", async () => {
    const code = env.otpFor("a@example.com");
    for (let i = 1; i <= 4; i++) {
      const res = await verify(wrongCode(code));
      expect(res.status, `try ${i}`).toBe(400);
      expect(res.json.code).toBe("OTP_INVALID");
    }
    const fifth = await verify(wrongCode(code));
    expect(fifth.status).toBe(429);
    expect(fifth.json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    // Nobody asked for the signup code, so there is no cooldown: a new code may be requested at once.
    expect(fifth.headers.get("retry-after")).toBe("1");
    const right = await verify(code);
    expect(right.status).toBe(429);
    expect(right.json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    // A new code starts over.
    expect((await resend()).status).toBe(200);
    expect((await verify(env.otpFor("a@example.com"))).status).toBe(200);
  });

  it("never meet more than 5 guesses, even when the tries straddle two budget windows", async () => {
    const fresh = await authTestEnv();
    try {
      fresh.clock.advance(5 * 60_000); // mid-window: budgets are counted per 10-minute clock window
      await fresh.signup("b@example.com");
      const code = fresh.otpFor("b@example.com");
      const tryCode = (otp: string) => fresh.api("POST", "/verify-email", { body: { email: "b@example.com", otp } });
      fresh.clock.advance(5 * 60_000 - 1000);
      const first = [];
      for (let i = 0; i < 5; i++) first.push((await tryCode(wrongCode(code))).status);
      expect(first).toEqual([400, 400, 400, 400, 429]);
      fresh.clock.advance(2000); // a new window: a fresh budget, but the code has met its 5 guesses
      const late = await tryCode(code);
      expect(late.status).toBe(400);
      expect(late.json.code).toBe("OTP_INVALID");
    } finally {
      await fresh.close();
    }
  });

  it("an instance whose clock lags behind a window another moved the budget to counts its tries there, refusing none", async () => {
    const fresh = await authTestEnv();
    try {
      fresh.clock.advance(10 * 60_000 - 1000); // a second before a window's end
      await fresh.signup("b@example.com");
      const code = fresh.otpFor("b@example.com");
      const tryCode = (otp: string) => fresh.api("POST", "/verify-email", { body: { email: "b@example.com", otp } });
      fresh.clock.advance(2000); // an instance ahead moves the budget to the next window...
      expect((await tryCode(wrongCode(code))).status).toBe(400);
      fresh.clock.advance(-2000); // ...and one two seconds behind tries next: counted, not 429
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await tryCode(wrongCode(code))).status);
      expect(statuses).toEqual([400, 400, 400, 429]);
    } finally {
      await fresh.close();
    }
  });

  it("the fifth guess at a code may still be right, when the first four fell into an earlier window", async () => {
    const fresh = await authTestEnv();
    try {
      fresh.clock.advance(5 * 60_000);
      await fresh.signup("b@example.com");
      const code = fresh.otpFor("b@example.com");
      const tryCode = (otp: string) => fresh.api("POST", "/verify-email", { body: { email: "b@example.com", otp } });
      fresh.clock.advance(5 * 60_000 - 1000);
      for (let i = 0; i < 4; i++) expect((await tryCode(wrongCode(code))).status).toBe(400);
      fresh.clock.advance(2000);
      expect((await tryCode(code)).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });

  it("the budget counts tries at an email before its account existed: its signup code waits for the next window", async () => {
    env.clock.advance(5 * 60_000); // mid-way through a 10-minute budget window
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await verify(String(100000 + i), "late@example.com")).status);
    expect(statuses).toEqual([400, 400, 400, 400, 429]);
    await env.signup("late@example.com");
    const code = env.otpFor("late@example.com");
    // A new code leaves the (purpose, email) budget as it was: a sixth try in the window is never compared.
    const early = await verify(code, "late@example.com");
    expect([early.status, early.json.code]).toEqual([429, "OTP_ATTEMPTS_EXCEEDED"]);
    expect(Number(early.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    env.clock.advance(5 * 60_000); // the next window; the code has 5 of its 10 minutes left
    expect((await verify(code, "late@example.com")).status).toBe(200);
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
    // The signup code sets no cooldown (nobody asked for it; a cooldown there would show the signup).
    expect((await resend()).status).toBe(200);
    expect(env.mails("a@example.com")).toHaveLength(2);
    env.clock.advance(20_000);
    const early = await resend();
    expect(early.status).toBe(429);
    expect(early.json.code).toBe("OTP_COOLDOWN");
    expect(early.headers.get("retry-after")).toBe("40");
    expect(env.mails("a@example.com")).toHaveLength(2);
    env.clock.advance(40_000);
    expect((await resend()).status).toBe(200);
    expect(env.mails("a@example.com")).toHaveLength(3);
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

  it("a code's first try, which creates the email's code record, does not put a request beside it in a cooldown", async () => {
    // Found by a model-based fuzz: the request found the record the try had just made and took it for
    // an earlier request's (reset: "on its way" and no mail; resend: 429 OTP_COOLDOWN).
    await env.signup("ann@example.com");
    const resets = () => env.mails("ann@example.com").filter((m) => m.subject.includes("reset"));
    const [tried, requested] = await Promise.all([
      env.api("POST", "/reset-password", {
        body: { email: "ann@example.com", otp: "123456", newPassword: "a brand new password" },
      }),
      requestReset("ann@example.com"),
    ]);
    expect([tried.json.code, requested.status]).toEqual(["OTP_INVALID", 200]);
    expect(resets()).toHaveLength(1);
    const [verifyTry, resent] = await Promise.all([
      verify("123456", "nobody@example.com"),
      resend("nobody@example.com"),
    ]);
    expect([verifyTry.json.code, resent.status]).toEqual(["OTP_INVALID", 200]);
  });
});

describe("at most 10 codes per (purpose, email) in a day window", () => {
  const DAY_MS = 24 * 3_600_000;
  /** Seconds until the day window of the test clock's `now` ends (windows are slices of the clock). */
  const toNextDay = () => String((DAY_MS - (env.clock.now() % DAY_MS)) / 1000);
  const resetMails = (email: string) => env.mails(email).filter((m) => m.subject.includes("reset"));
  const BOTH = ["a@example.com", "nobody@example.com"];
  const ALL_200 = (n: number): number[] => Array(n).fill(200);
  /** Ten rounds of a request for each of `emails`, each round after the previous one's cooldown; the statuses. */
  async function tenRounds(request: (email: string) => ReturnType<typeof resend>, emails = ["a@example.com"]) {
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      for (const email of emails) statuses.push((await request(email)).status);
      env.clock.advance(60_000);
    }
    return statuses;
  }

  it("resend-verification: the 11th is 429 OTP_COOLDOWN until the window ends, for a registered and an unknown email alike; the signup code is not counted", async () => {
    expect(await tenRounds(resend, BOTH)).toEqual(ALL_200(20));
    for (const email of BOTH) {
      const refused = await resend(email);
      expect([refused.status, refused.json.code], email).toEqual([429, "OTP_COOLDOWN"]);
      expect(refused.headers.get("retry-after"), email).toBe(toNextDay());
    }
    expect(env.mails("a@example.com")).toHaveLength(11); // the signup's code and ten resends
    expect(env.mails("nobody@example.com")).toHaveLength(0);
    // A used-up budget then says the same wait (a new code cannot be had sooner).
    env.clock.advance(10 * 60_000);
    const code = env.otpFor("a@example.com");
    for (let i = 0; i < 4; i++) expect((await verify(wrongCode(code))).json.code).toBe("OTP_INVALID");
    const exhausted = await verify(wrongCode(code));
    expect([exhausted.json.code, exhausted.headers.get("retry-after")]).toEqual(["OTP_ATTEMPTS_EXCEEDED", toNextDay()]);
  });

  it("request-password-reset: the 11th answers 200 and sends nothing, for a registered and an unknown email alike", async () => {
    expect(await tenRounds(requestReset, BOTH)).toEqual(ALL_200(20));
    for (const email of BOTH) {
      const refused = await requestReset(email);
      expect(refused.status, email).toBe(200);
      expect(refused.json.message).toBe("If the account exists, a reset code is on its way");
    }
    expect(resetMails("a@example.com")).toHaveLength(10);
    expect(resetMails("nobody@example.com")).toHaveLength(0);
  });

  it("holds however long the email is left alone within the window, and the next window allows 10 again", async () => {
    await tenRounds(resend);
    await tenRounds(requestReset);
    env.clock.advance(2 * 3_600_000); // past the hour after which code records used to be dropped
    expect((await resend()).status).toBe(429);
    await requestReset();
    expect(resetMails("a@example.com")).toHaveLength(10);
    const records = await env.deps.store.tenant({ projectId: env.project.id }).collection("_auth_otps").find({});
    expect(JSON.stringify(records)).not.toContain("a@example.com"); // a keyed hash of the email only
    env.clock.advance(Number(toNextDay()) * 1000);
    expect(await tenRounds(resend)).toEqual(ALL_200(10));
    await tenRounds(requestReset);
    expect(env.mails("a@example.com")).toHaveLength(1 + 10 + 20 + 10);
  });

  it("the records of a day expire over the next day, a part at each sweep, not all at midnight", async () => {
    const otps = () => env.deps.store.tenant({ projectId: env.project.id }).collection("_auth_otps").find({});
    for (let i = 0; i < 60; i++) expect((await requestReset(`u${i}@example.com`)).status).toBe(200);
    const made = (await otps()).length; // and a@example.com's, from its signup
    env.clock.advance(Number(toNextDay()) * 1000 + 12 * 3_600_000); // noon of the next day
    await requestReset("sweeper@example.com");
    const left = (await otps()).length - 1;
    expect(left).toBeGreaterThan(made * 0.15); // each stays a random part of the day: about half left
    expect(left).toBeLessThan(made * 0.85);
    env.clock.advance(Number(toNextDay()) * 1000); // past the end of the next day
    await requestReset("sweeper@example.com");
    expect(await otps()).toHaveLength(1); // the sweeper's own, renewed
  });

  it("parallel requests never pass the count, at the 10th code nor at a new window", async () => {
    for (let i = 0; i < 9; i++) {
      expect((await resend()).status).toBe(200);
      env.clock.advance(60_000);
    }
    const tenth = await Promise.all(Array.from({ length: 8 }, () => resend()));
    expect(tenth.map((res) => res.status).sort()).toEqual([200, ...Array(7).fill(429)]);
    env.clock.advance(60_000);
    expect((await resend()).status).toBe(429);
    env.clock.advance(Number(toNextDay()) * 1000);
    const next = await Promise.all(Array.from({ length: 8 }, () => resend()));
    expect(next.map((res) => res.status).sort()).toEqual([200, ...Array(7).fill(429)]);
    expect(env.mails("a@example.com")).toHaveLength(1 + 10 + 1);
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
    const fifth = await reset(wrongCode(code));
    expect(fifth.json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    expect(fifth.headers.get("retry-after")).toBe("60"); // when the requested code's cooldown ends
    expect((await reset(code)).json.code).toBe("OTP_ATTEMPTS_EXCEEDED");

    env.clock.advance(60_000);
    await requestReset();
    const next = env.otpFor("a@example.com", "reset");
    env.clock.advance(10 * 60_000);
    expect((await reset(next)).json.code).toBe("OTP_EXPIRED");
  });
});

describe("deleting an account", () => {
  it("makes its codes unusable and leaves the budget as it was, like any email's", async () => {
    const code = env.otpFor("a@example.com");
    for (let i = 0; i < 2; i++) expect((await verify(wrongCode(code))).status).toBe(400);
    const session = await env.login("a@example.com");
    const deleted = await call(
      createAdminApp(env.deps),
      "DELETE",
      `/api/admin/projects/${env.project.id}/users/${session.json.data.user._id}`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    expect(deleted.status).toBe(200);
    const after = [await verify(code), await verify(wrongCode(code)), await verify(wrongCode(code))];
    expect(after.map((res) => res.json.code)).toEqual(["OTP_INVALID", "OTP_INVALID", "OTP_ATTEMPTS_EXCEEDED"]);
  });
});

describe("a third party spending someone's code", () => {
  it("five wrong tries lock the code, but the owner's new code (after Retry-After) starts a fresh budget", async () => {
    await requestReset();
    const stolen = env.otpFor("a@example.com", "reset");
    let last: Awaited<ReturnType<typeof reset>> | undefined;
    for (let i = 0; i < 5; i++) last = await reset(wrongCode(stolen));
    expect(last?.status).toBe(429);
    expect((await reset(stolen)).json.code).toBe("OTP_ATTEMPTS_EXCEEDED");
    env.clock.advance(Number(last?.headers.get("retry-after")) * 1000);
    expect((await requestReset()).status).toBe(200);
    const fresh = env.otpFor("a@example.com", "reset");
    expect((await reset(fresh)).status).toBe(200);
  });
});

/**
 * No account enumeration: every sequence a caller can send — requests for codes, wrong codes, waits —
 * gets exactly the same answers (status, headers, body) for a registered unverified account, a
 * registered verified one and an email nobody registered, from the same store calls (collection and
 * method, in order): against a networked store each call is a round trip, so another count of calls
 * is another response time. Each probe runs in its own environment with the same history (both
 * accounts signed up at the start, one of them verified), so only the probed email differs.
 */
describe("codes tell nothing about which accounts exist", () => {
  type Step = "request-reset" | "resend" | "reset" | "verify" | number;
  const PROBED = ["a@example.com", "v@example.com", "nobody@example.com"];

  /** What a caller sees of an answer; the probed email is masked and the request id left out. */
  const seen = (res: Awaited<ReturnType<AuthTestEnv["api"]>>, email: string) => {
    const headers = [...res.headers].filter(([name]) => name !== "x-request-id");
    const body = res.text.replaceAll(email, "<email>").replace(/"requestId":"[^"]*"/, '"requestId":"-"');
    return `${res.status} ${JSON.stringify(headers)} ${body}`;
  };

  async function probe(email: string, steps: Step[]): Promise<string[]> {
    const probeEnv = await authTestEnv();
    try {
      await probeEnv.signup("a@example.com");
      await probeEnv.signup("v@example.com");
      const verified = await probeEnv.api("POST", "/verify-email", {
        body: { email: "v@example.com", otp: probeEnv.otpFor("v@example.com") },
      });
      expect(verified.status).toBe(200);
      /** A code that is none of the codes ever mailed to the email. */
      const guess = () => {
        const mailed = new Set(probeEnv.mails(email).map((mail) => mail.otp));
        let n = 0;
        while (mailed.has(String(n).padStart(6, "0"))) n++;
        return String(n).padStart(6, "0");
      };
      const calls: string[] = [];
      const everyMethod = ["find", "findOne", "count", "insertOne", "insertMany", "updateOne", "replaceOne"].concat([
        "deleteOne",
        "deleteMany",
        "aggregate",
      ]);
      aroundCollections(
        probeEnv.deps,
        Object.fromEntries(Object.values(AUTH_COLLECTIONS).map((name) => [name, everyMethod])),
        (run, { collection, method }) => {
          calls.push(`${collection}.${method}`);
          return run();
        },
      );
      const answers: string[] = [];
      for (const step of steps) {
        if (typeof step === "number") {
          probeEnv.clock.advance(step);
          continue;
        }
        const body =
          step === "reset"
            ? { email, otp: guess(), newPassword: "a brand new password" }
            : step === "verify"
              ? { email, otp: guess() }
              : { email };
        const path = { "request-reset": "/request-password-reset", resend: "/resend-verification" }[step as string];
        const res = await probeEnv.api("POST", path ?? `/${step === "reset" ? "reset-password" : "verify-email"}`, {
          body,
        });
        answers.push(`${seen(res, email)} ${calls.splice(0).join(" ")}`);
      }
      return answers;
    } finally {
      vi.restoreAllMocks();
      await probeEnv.close();
    }
  }

  const times = (n: number, step: Step): Step[] => Array.from({ length: n }, () => step);
  const statuses = (answers: string[]) => answers.map((answer) => Number(answer.slice(0, 3)));

  it.each([
    [
      "reset-password after a request, around the cooldown, a new request and the 10 minutes",
      [
        "request-reset",
        ...times(6, "reset"),
        30_000,
        "reset",
        "request-reset",
        31_000,
        "request-reset",
        ...times(6, "reset"),
        10 * 60_000,
        ...times(2, "reset"),
      ] as Step[],
      [200, 400, 400, 400, 400, 429, 429, 429, 200, 200, 400, 400, 400, 400, 429, 429, 400, 400],
    ],
    [
      "verify-email right after signup, without any request, and in the next window",
      [...times(6, "verify"), 10 * 60_000, ...times(6, "verify")] as Step[],
      [400, 400, 400, 400, 429, 429, 400, 400, 400, 400, 429, 429],
    ],
    [
      "verify-email around resends, across a window boundary",
      [
        4 * 60_000,
        "resend",
        "resend",
        ...times(6, "verify"),
        60_000,
        "resend",
        ...times(2, "verify"),
        6 * 60_000,
        ...times(6, "verify"),
      ] as Step[],
      [200, 429, 400, 400, 400, 400, 429, 429, 200, 400, 400, 400, 400, 400, 400, 429, 429],
    ],
    [
      "reset-password without any request",
      [...times(6, "reset"), 60_000, "request-reset", "request-reset", "reset"] as Step[],
      [400, 400, 400, 400, 429, 429, 200, 200, 400],
    ],
    [
      "request-password-reset asked once before, again after the cooldown, and after the hour",
      ["request-reset", 61_000, "request-reset", 2 * 3_600_000, "request-reset"] as Step[],
      [200, 200, 200],
    ],
    [
      "resend-verification right after signup, after the cooldown, and after the hour",
      ["resend", 61_000, "resend", 2 * 3_600_000, "resend", "resend"] as Step[],
      [200, 200, 200, 429],
    ],
    [
      "requests past the day's 10 codes, tries then, and the next day window",
      [
        ...Array.from({ length: 10 }, (): Step[] => ["resend", "request-reset", 60_000]).flat(),
        "resend",
        "request-reset",
        ...times(5, "verify"),
        24 * 3_600_000,
        "resend",
        "request-reset",
      ] as Step[],
      [...Array.from({ length: 20 }, () => 200), 429, 200, 400, 400, 400, 400, 429, 200, 200],
    ],
  ])("%s", async (_name, steps, expected) => {
    const traces = [];
    for (const email of PROBED) traces.push(await probe(email, steps));
    expect(statuses(traces[0] as string[])).toEqual(expected);
    expect(traces[1]).toEqual(traces[0]);
    expect(traces[2]).toEqual(traces[0]);
  });
});
