/**
 * Keys naming a password (any spelling of password, its confirmation, a current/new/old password)
 * are never profile fields; other names that merely contain "password" are ordinary fields. At
 * signup a confirmation of the password is checked against it and not stored.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdminApp } from "../functions/admin/app.js";
import { createDataApp } from "../functions/data/app.js";
import { isPasswordLike } from "../shared/auth/fields.js";
import { createAuthStore } from "../shared/auth/store.js";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { call } from "./data-helpers.js";
import { ADMIN_TOKEN } from "./helpers.js";

let env: AuthTestEnv;
beforeEach(async () => {
  env = await authTestEnv();
});
afterEach(() => env.close());

async function defineUsers(fields: unknown[]) {
  const res = await call(createDataApp(env.deps), "POST", "/api/schemas", {
    key: env.project.sk,
    body: { name: "users", fields },
  });
  expect(res.status, res.text).toBe(201);
}

/** Confirmations of the password, as forms spell them (Django's `password2`). */
const CONFIRMATIONS = [
  "password2",
  "repeatPassword",
  "passwordRepeat",
  "retypePassword",
  "verifyPassword",
  "passwordAgain",
  "re_password",
  "password_confirmed",
  "repeatedPassword",
  "passwordVerification",
  "cpassword",
];
const PASSWORD_HINT = "cannot be set here: a password changes through PUT /change-password (or a reset)";

describe("the names of a password and its confirmation", () => {
  it("are told from other names that merely contain 'password'", () => {
    for (const key of [
      ...CONFIRMATIONS,
      "confirmNewPassword",
      "re_new_password",
      "new_password_confirmation",
      "Password Again",
      "old-password",
    ])
      expect(isPasswordLike(key), key).toBe(true);
    for (const key of ["passwordHint", "passwordless", "password12", "mypassword", "passwordResetAt"])
      expect(isPasswordLike(key), key).toBe(false);
  });

  it.each(CONFIRMATIONS)("signup checks a %s confirmation against the password and never stores it", async (key) => {
    const wrong = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, [key]: `${PASSWORD}!` },
    });
    expect([wrong.status, wrong.json.details]).toEqual([400, [{ path: key, message: "does not match password" }]]);
    const res = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, [key]: PASSWORD },
    });
    expect(res.status, res.text).toBe(201);
    const me = await env.api("GET", "/me", { token: res.json.data.accessToken });
    expect(JSON.stringify([res.json, me.json])).not.toContain(PASSWORD);
  });

  it("signup refuses confirmNewPassword as it refuses newPassword (a change-password form's field)", async () => {
    const res = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, confirmNewPassword: PASSWORD },
    });
    expect([res.status, res.json.details]).toEqual([400, [{ path: "confirmNewPassword", message: PASSWORD_HINT }]]);
  });

  it("update-profile refuses each of them, and stores none", async () => {
    const s = await env.signup("a@example.com");
    for (const key of [...CONFIRMATIONS, "confirmNewPassword"]) {
      const res = await env.api("PUT", "/update-profile", { token: s.accessToken, body: { [key]: "my new password" } });
      expect([res.status, res.json.details], key).toEqual([400, [{ path: key, message: PASSWORD_HINT }]]);
    }
    expect((await env.api("GET", "/me", { token: s.accessToken })).json.data).toEqual(s.user);
  });
});

describe("a users definition declaring a field whose name contains 'password'", () => {
  it("a required passwordHint is set at signup as any declared field", async () => {
    await defineUsers([{ name: "passwordHint", type: "string", required: true }]);
    const res = await env.api("POST", "/signup", {
      body: { email: "a@example.com", password: PASSWORD, passwordHint: "my cat" },
    });
    expect([res.status, res.json.details]).toEqual([201, undefined]);
  });

  it("a declared boolean `passwordless` is set by update-profile", async () => {
    await defineUsers([{ name: "passwordless", type: "boolean" }]);
    const s = await env.signup("b@example.com");
    const res = await env.api("PUT", "/update-profile", {
      key: env.project.sk,
      token: s.accessToken,
      body: { passwordless: true },
    });
    expect(res.status, res.text).toBe(200);
  });
});

describe("a password stored as a profile field (accepted before such keys were refused)", () => {
  async function plant(email: string, field: string, value: string) {
    const s = await env.signup(email, { username: email.split("@")[0] });
    const project = await env.deps.projects.resolveProject(env.project.id);
    const cols = await createAuthStore(env.deps).forProject(project!);
    await cols.users.updateOne({ _id: s.user._id }, { $set: { [field]: value } });
    return s;
  }

  it("is left out of /me and the admin listing", async () => {
    const s = await plant("ddd@example.com", "new_password", "my old clear password");
    const me = await env.api("GET", "/me", { token: s.accessToken });
    expect(me.json.data).not.toHaveProperty("new_password");
    const listed = await call(createAdminApp(env.deps), "GET", `/api/admin/projects/${env.project.id}/users`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(listed.text).not.toContain("my old clear password");
  });

  it("may not be listed in publicProfileFields, and /public/:username never shows it", async () => {
    await plant("eee@example.com", "password_confirmation", "my old clear password");
    const admin = createAdminApp(env.deps);
    const patch = await call(admin, "PATCH", `/api/admin/projects/${env.project.id}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: { settings: { auth: { publicProfileFields: ["password_confirmation"] } } },
    });
    const pub = await env.api("GET", "/public/eee");
    expect([patch.status, pub.json.data?.password_confirmation]).toEqual([400, undefined]);
  });
});
