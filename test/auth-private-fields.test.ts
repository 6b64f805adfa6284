/**
 * Private profile fields below the top level (object `fields`, array `items.fields`): hidden from
 * every view a publishable key gets of an account (public profile, /me, session payloads,
 * update-profile), refused on every pk write (signup, update-profile), set and seen with the sk,
 * and kept by pk update-profiles that cannot name them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import * as profiles from "../shared/auth/profile.js";
import { type AuthTestEnv, authTestEnv, PASSWORD } from "./auth-helpers.js";
import { call } from "./data-helpers.js";

let env: AuthTestEnv;
afterEach(() => {
  vi.restoreAllMocks();
  return env.close();
});

const USERS = {
  name: "users",
  fields: [
    { name: "name", type: "string" },
    {
      name: "bio",
      type: "object",
      fields: [
        { name: "text", type: "string" },
        { name: "phone", type: "string", private: true, default: "unlisted" },
      ],
    },
    {
      name: "links",
      type: "array",
      items: {
        type: "object",
        fields: [
          { name: "url", type: "string" },
          { name: "secret", type: "string", private: true },
        ],
      },
    },
  ],
};

const FULL = {
  bio: { text: "hi", phone: "+1-SECRET" },
  links: [{ url: "https://a.example", secret: "s1" }, { url: "https://b.example" }],
};
const PUBLIC_PART = { bio: { text: "hi" }, links: [{ url: "https://a.example" }, { url: "https://b.example" }] };

beforeEach(async () => {
  env = await authTestEnv({ settings: { auth: { publicProfileFields: ["name", "bio", "links"] } } });
  const res = await call(createDataApp(env.deps), "POST", "/api/schemas", { key: env.project.sk, body: USERS });
  expect(res.status, res.text).toBe(201);
});

/** Signs up `ann` with the sk, private values included; returns the session (header mode). */
async function annViaSk() {
  const res = await env.api("POST", "/signup", {
    key: env.project.sk,
    body: { email: "ann@example.com", password: PASSWORD, username: "ann", name: "Ann", ...FULL },
    headers: { "x-refresh-token-mode": "header" },
  });
  expect(res.status, res.text).toBe(201);
  expect(res.json.data.user).toMatchObject(FULL);
  return res.json.data as { accessToken: string; refreshToken: string };
}

/** The stored account as the sk sees it. */
async function skView(token: string) {
  const res = await env.api("GET", "/me", { key: env.project.sk, token });
  expect(res.status).toBe(200);
  return res.json.data;
}

/** Every private value, at any depth, is gone from `user`; the public parts stay. */
function expectHidden(user: Record<string, unknown>) {
  expect(user).toMatchObject(PUBLIC_PART);
  expect(user.bio).toEqual(PUBLIC_PART.bio);
  expect(user.links).toEqual(PUBLIC_PART.links);
}

describe("nested private profile fields are hidden from the publishable key", () => {
  it("in the public profile (pk and sk alike: a public profile is never private)", async () => {
    await annViaSk();
    for (const key of [env.project.pk, env.project.sk, null]) {
      const res = await env.api("GET", "/public/ann", { key });
      if (key === null) {
        expect(res.status).toBe(401);
        continue;
      }
      expect(res.status).toBe(200);
      expect(res.json.data).toEqual({
        _id: expect.any(String),
        username: "ann",
        createdAt: expect.any(String),
        name: "Ann",
        ...PUBLIC_PART,
      });
      expect(res.text).not.toContain("SECRET");
      expect(res.text).not.toContain("s1");
    }
  });

  it("in /me, login, refresh and update-profile answers; the sk still sees them", async () => {
    const session = await annViaSk();
    const me = await env.api("GET", "/me", { token: session.accessToken });
    expectHidden(me.json.data);
    expect(await skView(session.accessToken)).toMatchObject(FULL);

    const login = await env.login("ann@example.com");
    expect(login.status).toBe(200);
    expectHidden(login.json.data.user);
    const skLogin = await env.login("ann@example.com", PASSWORD, { key: env.project.sk });
    expect(skLogin.json.data.user).toMatchObject(FULL);

    const refresh = await env.api("POST", "/refresh-token", {
      headers: { "x-refresh-token": login.json.data.refreshToken },
    });
    expect(refresh.status).toBe(200);
    expectHidden(refresh.json.data.user);

    const update = await env.api("PUT", "/update-profile", { token: session.accessToken, body: { name: "Anna" } });
    expect(update.status).toBe(200);
    expectHidden(update.json.data.user);
  });

  it("in the pk signup payload, where a private default was applied", async () => {
    const session = await env.signup("bob@example.com", { username: "bob", bio: { text: "yo" } });
    expect(session.user.bio).toEqual({ text: "yo" });
    expect((await skView(session.accessToken)).bio).toEqual({ text: "yo", phone: "unlisted" });
    const pub = await env.api("GET", "/public/bob");
    expect(pub.json.data.bio).toEqual({ text: "yo" });
  });
});

describe("nested private profile fields cannot be written with the publishable key", () => {
  const refused = (paths: string[]) => ({
    code: "VALIDATION_FAILED",
    details: paths.map((path) => ({ path, message: "is private: only the secret key can set it" })),
  });

  it("signup: 400 naming each private path once; nothing is created", async () => {
    for (const [extra, paths] of [
      [{ bio: { text: "hi", phone: "+1555" } }, ["bio.phone"]],
      [{ links: [{ url: "u", secret: "x" }, { secret: "y" }] }, ["links.secret"]],
      [FULL, ["bio.phone", "links.secret"]],
      [{ bio: { phone: null } }, ["bio.phone"]],
    ] as const) {
      const res = await env.api("POST", "/signup", {
        body: { email: "eve@example.com", password: PASSWORD, ...extra },
      });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.json).toMatchObject(refused([...paths]));
    }
    expect((await env.login("eve@example.com")).status).toBe(401);
  });

  it("update-profile: 400 naming each private path once; the stored values do not change", async () => {
    const session = await annViaSk();
    const put = (body: Record<string, unknown>, key = env.project.pk) =>
      env.api("PUT", "/update-profile", { key, token: session.accessToken, body });
    for (const [body, paths] of [
      [{ bio: { text: "hi", phone: "+1555" } }, ["bio.phone"]],
      [{ name: "x", links: [{ url: "u" }, { url: "v", secret: "mine" }] }, ["links.secret"]],
      [{ bio: { phone: null }, links: [{ secret: null }] }, ["bio.phone", "links.secret"]],
    ] as const) {
      const res = await put(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject(refused([...paths]));
    }
    expect(await skView(session.accessToken)).toMatchObject({ name: "Ann", ...FULL });

    // The sk sets them and sees them; the pk still does not.
    const next = { bio: { text: "new", phone: "+1-NEW" }, links: [{ url: "c", secret: "s2" }] };
    const bySk = await put(next, env.project.sk);
    expect(bySk.status, bySk.text).toBe(200);
    expect(bySk.json.data.user).toMatchObject(next);
    expect(await skView(session.accessToken)).toMatchObject(next);
    const me = await env.api("GET", "/me", { token: session.accessToken });
    expect(me.json.data).toMatchObject({ bio: { text: "new" }, links: [{ url: "c" }] });
    expect(me.text).not.toContain("NEW");
    expect(me.text).not.toContain("s2");
  });
});

describe("publishable-key update-profile keeps the private values it cannot see", () => {
  const pkPut = (token: string, body: Record<string, unknown>) => env.api("PUT", "/update-profile", { token, body });

  it("an object replaced with the pk keeps its private values", async () => {
    const session = await annViaSk();
    const res = await pkPut(session.accessToken, { bio: { text: "rewritten" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data.user.bio).toEqual({ text: "rewritten" });
    expect((await skView(session.accessToken)).bio).toEqual({ text: "rewritten", phone: "+1-SECRET" });
  });

  it("array items equal to a stored item's visible part stay that item; edited or removed ones lose theirs", async () => {
    const session = await annViaSk();
    // Reordered and appended: `a` is still `a`, its secret with it.
    const reordered = [{ url: "https://b.example" }, { url: "https://c.example" }, { url: "https://a.example" }];
    expect((await pkPut(session.accessToken, { links: reordered })).status).toBe(200);
    expect((await skView(session.accessToken)).links).toEqual([
      { url: "https://b.example" },
      { url: "https://c.example" },
      { url: "https://a.example", secret: "s1" },
    ]);
    // Edited: a new item, without the stored one's private value.
    const edited = [{ url: "https://a.example/new" }];
    expect((await pkPut(session.accessToken, { links: edited })).status).toBe(200);
    expect((await skView(session.accessToken)).links).toEqual(edited);
  });

  it("removing an object that holds private values is 400 and changes nothing; the sk may", async () => {
    const session = await annViaSk();
    const res = await pkPut(session.accessToken, { name: "Eve", bio: null });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "bio", message: "holds private values: only the secret key can remove it" }],
    });
    expect(await skView(session.accessToken)).toMatchObject({ name: "Ann", ...FULL });
    // Arrays are lists of items: emptying one removes its items, private values with them.
    expect((await pkPut(session.accessToken, { links: null })).status).toBe(200);
    const bySk = await env.api("PUT", "/update-profile", {
      key: env.project.sk,
      token: session.accessToken,
      body: { bio: null },
    });
    expect(bySk.status, bySk.text).toBe(200);
    const stored = await skView(session.accessToken);
    expect(stored.bio).toBeUndefined();
    expect(stored.links).toBeUndefined();
  });

  it("a private value the sk writes between a pk update's read and its write is not overwritten", async () => {
    const session = await annViaSk();
    const original = profiles.profileSchema;
    // The pk request has read the account (stale phone) when the sk writes a new phone.
    vi.spyOn(profiles, "profileSchema").mockImplementationOnce(async (deps, project) => {
      const bySk = await env.api("PUT", "/update-profile", {
        key: env.project.sk,
        token: session.accessToken,
        body: { bio: { text: "sk", phone: "+1-NEWER" } },
      });
      expect(bySk.status, bySk.text).toBe(200);
      return original(deps, project);
    });
    const res = await pkPut(session.accessToken, { bio: { text: "pk" } });
    expect(res.status, res.text).toBe(200);
    expect((await skView(session.accessToken)).bio).toEqual({ text: "pk", phone: "+1-NEWER" });
  });
});

describe("the users definition cannot go while accounts hold private values", () => {
  it("DELETE /api/schemas/users is 400 until they are unset; /me never shows them to the pk", async () => {
    const session = await annViaSk();
    const data = createDataApp(env.deps);
    const drop = () => call(data, "DELETE", "/api/schemas/users", { key: env.project.sk });
    const refused = await drop();
    expect(refused.status).toBe(400);
    expect(refused.json.message).toMatch(/private field "(bio\.phone|links\.secret)" still has values/);
    expect((await env.api("GET", "/me", { token: session.accessToken })).text).not.toContain("SECRET");

    const cleared = await env.api("PUT", "/update-profile", {
      key: env.project.sk,
      token: session.accessToken,
      body: { bio: null, links: [{ url: "https://a.example" }] }, // bio.phone has a default: bio goes
    });
    expect(cleared.status, cleared.text).toBe(200);
    expect((await drop()).status).toBe(200);
  });
});
