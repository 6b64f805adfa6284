/**
 * Errors a developer meets first say what to send instead: an API key sent as a Bearer token, and a
 * publishable-key write without the user's access token (whose message API.md fixes, so the hint is
 * in `details`).
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { call, type DataTestEnv, dataTestEnv } from "./data-helpers.js";

let env: DataTestEnv;
beforeEach(async () => {
  env = await dataTestEnv();
  await env.defineCollection({ name: "notes", fields: [{ name: "text", type: "string" }], rls: { enabled: true } });
});
afterEach(() => env.close());

it("an API key sent as Authorization: Bearer is 401 API_KEY_MISSING saying to send it in x-api-key", async () => {
  for (const key of [env.project.pk, env.project.sk]) {
    const res = await call(env.app, "GET", "/api/data/notes", { token: key });
    expect([res.status, res.json.code]).toEqual([401, "API_KEY_MISSING"]);
    expect(res.json.message).toMatch(/^API key missing: an API key came in Authorization: Bearer.*x-api-key header$/);
    expect(res.text).not.toContain(key); // never repeated
  }
  // Any other Bearer token, or none, keeps the plain message.
  for (const token of ["eyJhbGciOi.x.y", undefined]) {
    const res = await call(env.app, "GET", "/api/data/notes", { token });
    expect([res.status, res.json.message]).toEqual([401, "API key missing"]);
  }
});

it("a pk write without a user token keeps API.md's message and says in details to send the access token", async () => {
  const res = await env.pk("POST", "/api/data/notes", { body: { text: "hi" } });
  expect([res.status, res.json.code, res.json.message]).toEqual([401, "AUTH_REQUIRED", "Authentication required"]);
  expect(res.json.details).toEqual([
    { path: "authorization", message: expect.stringContaining("as Authorization: Bearer <accessToken>") },
  ]);
  // That is what works.
  const token = await env.token("aaaaaaaaaaaaaaaaaaaaaaaa");
  expect((await env.pk("POST", "/api/data/notes", { token, body: { text: "hi" } })).status).toBe(201);
});
