/**
 * Refresh-token rotation as urBackend's JS SDK (`@urbackend/sdk`, unchanged) meets it over real HTTP,
 * under the test clock: each SDK request that gets a 401 calls auth.refreshToken() with the one
 * stored refresh token, so an expired access token and a few requests at once are a burst of
 * refreshes with the same token. Exactly one wins; the reuse window (REFRESH_REUSE_WINDOW_MS) keeps
 * the session for the winner, and a reuse after it still revokes the family.
 */
import urBackend, { AuthError } from "@urbackend/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { REFRESH_REUSE_WINDOW_MS } from "../shared/auth/sessions.js";
import type { Deps } from "../shared/deps.js";
import { PASSWORD } from "./auth-helpers.js";
import { createTestProject, type TestProject } from "./data-helpers.js";
import { fakeClock, testDeps } from "./helpers.js";
import { serveLocalApp } from "./serve.js";

const clock = fakeClock();
let deps: Deps;
let project: TestProject;
let server: Awaited<ReturnType<typeof serveLocalApp>>;

beforeAll(async () => {
  deps = await testDeps({ clock, env: { BCRYPT_COST: "4", MAIL_PROVIDER: "memory" } });
  project = await createTestProject(deps, "sdk-refresh");
  server = await serveLocalApp(deps);
  // The collections the app reads; defined with plain HTTP (the SDK has no schema writer).
  for (const name of ["items", "lists"]) {
    const res = await fetch(`${server.baseUrl}/api/schemas`, {
      method: "POST",
      headers: { "x-api-key": project.sk, "content-type": "application/json" },
      body: JSON.stringify({ name, fields: [{ name: "title", type: "string" }] }),
    });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  await server.close();
  await deps.store.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const client = () => urBackend({ apiKey: project.pk, baseUrl: server.baseUrl });

/** Every POST /refresh-token the SDK sends from now on: the token it sent, and the answer's status and code. */
function watchRefreshes(): Array<{ sent: string | null; status: number; code: string | undefined }> {
  const seen: Array<{ sent: string | null; status: number; code: string | undefined }> = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const res = await realFetch(input, init);
    if (String(input).endsWith("/api/userAuth/refresh-token")) {
      const body = (await res.clone().json()) as { code?: string };
      seen.push({ sent: new Headers(init?.headers).get("x-refresh-token"), status: res.status, code: body.code });
    }
    return res;
  });
  return seen;
}

describe("the SDK's parallel refreshes", () => {
  it("three calls at once with an expired access token: one refresh wins, the others are refused, and the session lives on", async () => {
    const app = client();
    await app.auth.signUp({ email: "parallel@example.com", password: PASSWORD });
    const first = app.auth.getRefreshToken() as string;
    clock.advance(901_000); // past the access token's 15 min

    const refreshes = watchRefreshes();
    const results = await Promise.allSettled([
      app.db.getAll("items", { limit: 1 }),
      app.db.getAll("lists"),
      app.db.count("items"),
    ]);
    vi.restoreAllMocks();

    // All three met the expired token and refreshed with the same stored token; exactly one won.
    expect(refreshes.map((r) => r.sent)).toEqual([first, first, first]);
    expect(refreshes.map((r) => [r.status, r.code ?? null]).sort()).toEqual([
      [200, null],
      [401, "REFRESH_TOKEN_REUSED"],
      [401, "REFRESH_TOKEN_REUSED"],
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect(r.reason).toBeInstanceOf(AuthError);
    }

    // The SDK keeps the winner's tokens, and they work: the session was not revoked by the others.
    expect(app.auth.getRefreshToken()).not.toBe(first);
    expect((await app.auth.me()).email).toBe("parallel@example.com");
    expect(await app.db.count("items")).toBe(0);
    // Past the window nothing catches up with it: the winner's refresh token rotates as any other.
    clock.advance(REFRESH_REUSE_WINDOW_MS);
    await app.auth.refreshToken();
    expect((await app.auth.me()).email).toBe("parallel@example.com");
  });

  it("a spent refresh token again is refused: within the window the session is kept, after it the session is revoked", async () => {
    const { auth } = client();
    await auth.signUp({ email: "reuse@example.com", password: PASSWORD });
    const first = auth.getRefreshToken() as string;
    await auth.refreshToken();

    clock.advance(REFRESH_REUSE_WINDOW_MS - 1);
    const within = await auth.refreshToken(first).catch((e: unknown) => e);
    expect(within).toBeInstanceOf(AuthError);
    expect(within).toMatchObject({ statusCode: 401, message: "Refresh token already used" });
    expect((await auth.me()).email).toBe("reuse@example.com");

    clock.advance(1);
    const after = await auth.refreshToken(first).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(AuthError);
    expect(after).toMatchObject({ statusCode: 401, message: "Refresh token reused; session revoked" });
    // The whole family: the current access token (the auth function checks its session) and refresh token.
    await expect(auth.me()).rejects.toBeInstanceOf(AuthError);
    await expect(auth.refreshToken()).rejects.toMatchObject({ statusCode: 401, message: "Refresh token invalid" });
  });
});
