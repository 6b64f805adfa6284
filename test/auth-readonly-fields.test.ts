/**
 * Readonly profile fields (an app's `plan`, set only by its server): a pk signup or update-profile
 * changing one (`null` too, nested too) is 400 and writes nothing; one carrying it unchanged (the
 * default at signup, the stored value on update-profile) passes; without it the default applies at
 * signup and update-profile keeps the stored value; the sk sets it; every view shows it (it is not
 * private). The pk OpenAPI bodies leave it out and `auth.User` marks it `readOnly`.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { call } from "./data-helpers.js";

const READONLY = "is readonly: only the secret key can set it";

const USERS = {
  name: "users",
  fields: [
    { name: "name", type: "string" },
    { name: "plan", type: "string", enum: ["free", "pro"], default: "free", readonly: true },
    {
      name: "settings",
      type: "object",
      fields: [
        { name: "theme", type: "string" },
        { name: "tier", type: "integer", readonly: true },
      ],
    },
    { name: "staffNote", type: "string", readonly: true, private: true },
  ],
};

let env: AuthTestEnv;
beforeEach(async () => {
  env = await authTestEnv();
  const res = await call(createDataApp(env.deps), "POST", "/api/schemas", { key: env.project.sk, body: USERS });
  expect(res.status, res.text).toBe(201);
});
afterEach(() => env.close());

/** The stored account as the sk sees it. */
async function skView(token: string) {
  return (await env.api("GET", "/me", { key: env.project.sk, token })).json.data;
}

describe("signup", () => {
  it.each([
    [{ plan: "pro" }, [{ path: "plan", message: READONLY }]],
    [{ plan: null }, [{ path: "plan", message: READONLY }]],
    [{ settings: { theme: "dark", tier: 3 } }, [{ path: "settings.tier", message: READONLY }]],
    // Private as well: refused once, as private.
    [{ staffNote: "admin" }, [{ path: "staffNote", message: "is private: only the secret key can set it" }]],
  ])("with the pk naming %j: 400, no account", async (extra, details) => {
    const res = await env.api("POST", "/signup", { body: { email: "eve@example.com", password: PASSWORD, ...extra } });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual(expect.objectContaining({ code: "VALIDATION_FAILED", details }));
    expect((await env.login("eve@example.com")).status).toBe(401);
  });

  it("with the pk naming the default: it applies", async () => {
    const session = await env.signup("ann@example.com", { name: "Ann", plan: "free" });
    expect(await skView(session.accessToken)).toMatchObject({ name: "Ann", plan: "free" });
  });

  it("with the pk not naming them: the default applies, and the pk sees it", async () => {
    const session = await env.signup("ann@example.com", { name: "Ann", settings: { theme: "dark" } });
    expect(session.user).toMatchObject({ name: "Ann", plan: "free", settings: { theme: "dark" } });
    expect(await skView(session.accessToken)).toMatchObject({ plan: "free", settings: { theme: "dark" } });
  });

  it("with the sk: set as sent", async () => {
    const session = await env.signup(
      "bob@example.com",
      { plan: "pro", settings: { tier: 2 }, staffNote: "staff" },
      {
        key: env.project.sk,
      },
    );
    expect(await skView(session.accessToken)).toMatchObject({ plan: "pro", settings: { tier: 2 }, staffNote: "staff" });
  });
});

describe("update-profile", () => {
  /** Ann, her plan, tier and staff note set by the sk. */
  async function ann() {
    const session = await env.signup("ann@example.com", { name: "Ann" });
    const bySk = await env.api("PUT", "/update-profile", {
      key: env.project.sk,
      token: session.accessToken,
      body: { plan: "pro", settings: { theme: "dark", tier: 2 }, staffNote: "staff" },
    });
    expect(bySk.status, bySk.text).toBe(200);
    return session.accessToken;
  }
  const pkPut = (token: string, body: Record<string, unknown>) => env.api("PUT", "/update-profile", { token, body });

  it("with the pk naming one, `null` too: 400, nothing changes", async () => {
    const token = await ann();
    for (const [body, path] of [
      [{ plan: "free" }, "plan"],
      [{ name: "Eve", plan: null }, "plan"],
      [{ settings: { theme: "light", tier: 0 } }, "settings.tier"],
    ] as const) {
      const res = await pkPut(token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject({ code: "VALIDATION_FAILED", details: [{ path, message: READONLY }] });
    }
    expect(await skView(token)).toMatchObject({ name: "Ann", plan: "pro", settings: { theme: "dark", tier: 2 } });
  });

  it("with the pk sending back the profile as read: 200, only what it changed changes", async () => {
    const token = await ann();
    const { name, plan, settings } = (await env.api("GET", "/me", { token })).json.data;
    expect({ plan, settings }).toEqual({ plan: "pro", settings: { theme: "dark", tier: 2 } });
    const res = await pkPut(token, { name: `${name}a`, plan, settings: { ...settings, theme: "light" } });
    expect(res.status, res.text).toBe(200);
    expect(await skView(token)).toMatchObject({
      name: "Anna",
      plan: "pro",
      settings: { theme: "light", tier: 2 },
      staffNote: "staff",
    });
    // The private staff note it never read is still refused as private, whatever its value.
    const named = await pkPut(token, { plan, staffNote: "staff" });
    expect(named.status).toBe(400);
    expect(named.json.details).toEqual([{ path: "staffNote", message: "is private: only the secret key can set it" }]);
  });

  it("with the pk not naming them: the stored values stay, inside a replaced object too", async () => {
    const token = await ann();
    const res = await pkPut(token, { name: "Anna", settings: { theme: "light" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.user).toMatchObject({ name: "Anna", plan: "pro", settings: { theme: "light", tier: 2 } });
    expect(res.json.data.user).not.toHaveProperty("staffNote");
    expect(await skView(token)).toMatchObject({
      plan: "pro",
      settings: { theme: "light", tier: 2 },
      staffNote: "staff",
    });
  });

  it("with the pk not naming one the stored object lacks: it stays lacking, no default fills it", async () => {
    const { accessToken: token } = await env.signup("bo@example.com", { settings: { theme: "dark" } });
    const tier = { name: "tier", type: "integer", readonly: true, default: 1 };
    const settings = { name: "settings", type: "object", fields: [{ name: "theme", type: "string" }, tier] };
    const fields = USERS.fields.map((field) => (field.name === "settings" ? settings : field));
    const data = createDataApp(env.deps);
    const redefined = await call(data, "PUT", "/api/schemas/users", { key: env.project.sk, body: { fields } });
    expect(redefined.status, redefined.text).toBe(200);
    const res = await pkPut(token, { settings: { theme: "light" } });
    expect(res.status, res.text).toBe(200);
    expect((await skView(token)).settings).toEqual({ theme: "light" });
  });
});

describe("the OpenAPI document", () => {
  // biome-ignore lint/suspicious/noExplicitAny: tests read the document's arbitrary shape
  const bodies = async (key: string): Promise<any> => {
    const doc = (await call(createDataApp(env.deps), "GET", "/api/schemas/openapi.json", { key })).json;
    const body = (path: string, method: string) =>
      doc.paths[path][method].requestBody.content["application/json"].schema;
    return {
      user: doc.components.schemas["auth.User"],
      signup: body("/api/userAuth/signup", "post"),
      update: body("/api/userAuth/update-profile", "put"),
    };
  };

  it("pk: the signup and update-profile bodies leave them out; auth.User marks them readOnly", async () => {
    const { user, signup, update } = await bodies(env.project.pk);
    for (const body of [signup, update]) {
      expect(body.properties.plan).toBeUndefined();
      expect(body.properties.staffNote).toBeUndefined();
      expect(Object.keys(body.properties.settings.properties)).toEqual(["theme"]);
    }
    expect(user.properties.plan).toMatchObject({ readOnly: true });
    expect(user.properties.settings.properties.tier).toEqual({ type: "integer", readOnly: true });
  });

  it("sk: they are in the bodies", async () => {
    const { user, signup, update } = await bodies(env.project.sk);
    for (const body of [signup, update]) {
      expect(body.properties.plan).toBeDefined();
      expect(body.properties.settings.properties.tier).toBeDefined();
    }
    expect(JSON.stringify(user)).not.toContain("readOnly");
  });
});
