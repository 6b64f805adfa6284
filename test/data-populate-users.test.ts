/**
 * `populate` of a ref to `users` (a post's author): the account's public profile, exactly what
 * /api/userAuth/public/:username shows, for every caller that may read the referencing document;
 * nothing private (email, verification, private profile fields, the password hash) ever.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAuthApp } from "../functions/auth/app.js";
import { PASSWORD } from "./auth-helpers.js";
import { call, type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
afterEach(() => env.close());

/** A project whose `users` declare a custom `nickname` and a private `phone`, one account, and a post by it. */
async function blog(settings?: Record<string, unknown>) {
  env = await dataTestEnv(settings ? { settings } : {});
  await env.defineCollection({
    name: "users",
    fields: [
      { name: "displayName", type: "string" },
      { name: "nickname", type: "string" },
      { name: "phone", type: "string", private: true },
    ],
  });
  await env.defineCollection({
    name: "posts",
    fields: [
      { name: "author", type: "ref", ref: "users" },
      { name: "coauthors", type: "array", items: { type: "ref", ref: "users" } },
    ],
  });
  const auth = createAuthApp(env.deps);
  const signup = await call(auth, "POST", "/api/userAuth/signup", {
    key: env.project.pk,
    body: {
      email: "ann@example.com",
      password: PASSWORD,
      username: "ann",
      displayName: "Ann",
      nickname: "annie",
    },
  });
  expect(signup.status, signup.text).toBe(201);
  const user = signup.json.data.user._id as string;
  // The private value only the secret key may set.
  const phone = await call(auth, "PUT", "/api/userAuth/update-profile", {
    key: env.project.sk,
    token: signup.json.data.accessToken,
    body: { phone: "555-0100" },
  });
  expect(phone.status, phone.text).toBe(200);
  const gone = "0".repeat(24);
  const post = await env.sk("POST", "/api/data/posts", { author: user, coauthors: [user, gone] });
  expect(post.status, post.text).toBe(201);
  const publicView = (await call(auth, "GET", "/api/userAuth/public/ann", { key: env.project.pk })).json.data;
  return { user, post: post.json.data._id as string, token: signup.json.data.accessToken as string, publicView };
}

/** Every caller of the matrix: status and the populated author of the list and of the get. */
async function matrix(b: Awaited<ReturnType<typeof blog>>) {
  const callers = {
    noKey: { key: null },
    badKey: { key: `${env.project.pk.slice(0, -4)}zzzz` },
    guest: { key: env.project.pk },
    user: { key: env.project.pk, token: b.token },
    secret: { key: env.project.sk },
  };
  const out: Record<string, { status: number; text: string; author?: unknown; coauthors?: unknown; one?: unknown }> =
    {};
  for (const [name, options] of Object.entries(callers)) {
    const list = await call(env.app, "GET", "/api/data/posts?populate=author,coauthors", options);
    const one = await call(env.app, "GET", `/api/data/posts/${b.post}?expand=author`, options);
    const [item] = list.json?.data?.items ?? [];
    out[name] = { status: list.status, text: list.text + one.text, ...(item ? item : {}), one: one.json?.data?.author };
  }
  return out;
}

const PRIVATE = ["ann@example.com", "email", "passwordHash", "emailVerified", "lastLoginAt", "updatedAt", "555-0100"];

describe("populate of a ref to users", () => {
  it("default public fields: every caller that may read the post gets /public/:username's view, nothing private", async () => {
    const b = await blog();
    expect(b.publicView).toEqual({
      _id: b.user,
      username: "ann",
      createdAt: expect.any(String),
      displayName: "Ann",
    }); // nickname is not a default public field
    const seen = await matrix(b);
    expect([seen.noKey?.status, seen.badKey?.status]).toEqual([401, 401]);
    for (const name of ["guest", "user", "secret"]) {
      const got = seen[name];
      expect(got?.status, name).toBe(200);
      expect([got?.author, got?.coauthors, got?.one], name).toEqual([b.publicView, [b.publicView], b.publicView]);
      // None of the account's private values, in the populated parts nor anywhere in the answers.
      const authorPart = JSON.stringify([got?.author, got?.coauthors, got?.one]);
      for (const secret of PRIVATE) expect(authorPart, `${name}: ${secret}`).not.toContain(secret);
      expect(got?.text).not.toContain("ann@example.com");
      expect(got?.text).not.toContain("555-0100");
      expect(got?.text).not.toContain("passwordHash");
    }
  });

  it("the project's public fields: a custom one listed is shown, a private one listed is still not", async () => {
    const b = await blog({ auth: { publicProfileFields: ["nickname", "phone"] } });
    expect(b.publicView).toEqual({ _id: b.user, username: "ann", createdAt: expect.any(String), nickname: "annie" });
    const seen = await matrix(b);
    for (const name of ["guest", "user", "secret"]) {
      expect([seen[name]?.author, seen[name]?.one], name).toEqual([b.publicView, b.publicView]);
      expect(seen[name]?.text, name).not.toContain("555-0100");
      expect(seen[name]?.text, name).not.toContain("ann@example.com");
    }
  });

  it("an empty list of public fields still shows what /public/:username does (_id, username, createdAt); a deleted account is null", async () => {
    const b = await blog({ auth: { publicProfileFields: [] } });
    expect(b.publicView).toEqual({ _id: b.user, username: "ann", createdAt: expect.any(String) });
    expect((await matrix(b)).guest?.author).toEqual(b.publicView);
    await env.deps.collections
      .database(await resolved())
      .collection("users")
      .deleteOne({ _id: b.user });
    const after = await env.pk("GET", `/api/data/posts/${b.post}?populate=author,coauthors`);
    expect([after.json.data.author, after.json.data.coauthors]).toEqual([null, []]);
  });

  it("an account without a username has no public profile: null, for the secret key too (no id lists an account /public/:username cannot reach)", async () => {
    const b = await blog();
    const auth = createAuthApp(env.deps);
    const nameless = await call(auth, "POST", "/api/userAuth/signup", {
      key: env.project.pk,
      body: { email: "vic@example.com", password: PASSWORD, displayName: "Victoria" },
    });
    expect(nameless.status, nameless.text).toBe(201);
    const post = await env.sk("POST", "/api/data/posts", {
      author: nameless.json.data.user._id,
      coauthors: [nameless.json.data.user._id, b.user],
    });
    for (const read of [env.pk, env.sk]) {
      const res = await read("GET", `/api/data/posts/${post.json.data._id}?populate=author,coauthors`);
      expect([res.json.data.author, res.json.data.coauthors]).toEqual([null, [b.publicView]]);
      expect(res.text).not.toContain("Victoria");
    }
  });

  it("a ref to a collection that does not exist yet is accepted and populates as null until it exists", async () => {
    env = await dataTestEnv();
    await env.defineCollection({ name: "posts", fields: [{ name: "series", type: "ref", ref: "series" }] });
    const id = "a".repeat(24);
    const post = (await env.sk("POST", "/api/data/posts", { series: id })).json.data._id;
    expect((await env.pk("GET", `/api/data/posts/${post}?populate=series`)).json.data.series).toBeNull();
    const later = await env.sk("POST", "/api/data/series", { name: "Intro" });
    expect(later.status).toBe(201);
    await env.sk("PATCH", `/api/data/posts/${post}`, { series: later.json.data._id });
    expect((await env.pk("GET", `/api/data/posts/${post}?populate=series`)).json.data.series).toMatchObject({
      name: "Intro",
    });
  });
});

/** The test project as the store knows it. */
async function resolved() {
  const principal = await env.deps.projects.resolveKey(env.project.sk);
  if (!principal) throw new Error("the secret key does not resolve");
  return principal.project;
}
