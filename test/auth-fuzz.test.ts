/**
 * Hostile input on every auth route (fast-check): random JSON bodies, refresh tokens, Bearer
 * tokens and cookies never produce a 500, and every answer is the JSON envelope.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuthTestEnv, authTestEnv, type Session } from "./auth-helpers.js";

let env: AuthTestEnv;
let session: Session;
beforeAll(async () => {
  env = await authTestEnv();
  session = await env.signup("a@example.com", { username: "ann" });
});
afterAll(() => env.close());

const ROUTES: Array<[string, string]> = [
  ["POST", "/signup"],
  ["POST", "/login"],
  ["POST", "/refresh-token"],
  ["POST", "/logout"],
  ["GET", "/me"],
  ["GET", "/public/ann"],
  ["POST", "/verify-email"],
  ["POST", "/resend-verification"],
  ["POST", "/request-password-reset"],
  ["POST", "/reset-password"],
  ["PUT", "/update-profile"],
  ["PUT", "/change-password"],
  ["GET", "/sessions"],
  ["DELETE", "/sessions/0123456789abcdef01234567"],
];

const fieldNames = fc.constantFrom(
  "email",
  "password",
  "username",
  "otp",
  "newPassword",
  "currentPassword",
  "refreshToken",
  "name",
  "__proto__",
  "$where",
  "emailVerified",
  "a.b",
);
const body = fc.oneof(
  fc.dictionary(fieldNames, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string(),
);
const tokenLike = fc.oneof(fc.string({ maxLength: 80 }), fc.base64String({ maxLength: 60 }), fc.constant(""));

it("never answers 500, always with the envelope", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...ROUTES),
      body,
      fc.record({ refresh: fc.option(tokenLike), bearer: fc.option(tokenLike), realBearer: fc.boolean() }),
      async ([method, path], payload, t) => {
        const headers: Record<string, string> = {};
        if (t.refresh) headers["x-refresh-token"] = t.refresh.replace(/[^\x21-\x7e]/g, "");
        if (t.refresh) headers.cookie = env.cookie.header(encodeURIComponent(t.refresh));
        // (Logout with the real token would end the session the other runs use.)
        const real = t.realBearer && path !== "/logout";
        const token = real ? session.accessToken : (t.bearer ?? undefined);
        const res = await env.api(method, path, {
          ...(method === "GET" ? {} : { body: payload }),
          headers,
          ...(token ? { token: token.replace(/\s/g, "") || "x" } : {}),
        });
        expect(res.status, res.text).toBeLessThan(500);
        expect(typeof res.json?.success, res.text).toBe("boolean");
        if (!res.json.success) expect(res.json.code).toMatch(/^[A-Z_]+$/);
      },
    ),
    { numRuns: 300 },
  );
});
