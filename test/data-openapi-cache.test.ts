/**
 * GET /api/schemas/openapi.json keeps the documents it built (API.md §4.1): repeated requests cost a
 * lookup, any change of what a document is built from is seen at once, what is kept stays bounded,
 * and a document past the bound is refused with the error envelope.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openApiDocument } from "../shared/openapi/document.js";
import { MAX_KEPT_DOCUMENTS } from "../shared/openapi/served-documents.js";
import { createTestProject, type DataTestEnv, dataTestEnv } from "./data-helpers.js";

// The generator, counted: how many documents were built.
vi.mock("../shared/openapi/document.js", async (original) => {
  const actual = await original<typeof import("../shared/openapi/document.js")>();
  return { ...actual, openApiDocument: vi.fn(actual.openApiDocument) };
});
const built = () => vi.mocked(openApiDocument).mock.calls.length;

let env: DataTestEnv;
beforeEach(async () => {
  vi.mocked(openApiDocument).mockClear();
  env = await dataTestEnv();
});
afterEach(() => env.close());

const OPENAPI = "/api/schemas/openapi.json";

/** The document as asked at `origin` (the base URL it names) with a key. */
async function fetchDocument(key: string, origin = "http://localhost") {
  const res = await env.app.request(`${origin}${OPENAPI}`, { headers: { "x-api-key": key } });
  return { status: res.status, text: await res.text() };
}

describe("kept documents", () => {
  it("a repeated request is answered from the kept text, per key type", async () => {
    await env.defineCollection({ name: "posts", fields: [{ name: "title", type: "string" }] });
    const first = await fetchDocument(env.project.pk);
    const again = await fetchDocument(env.project.pk);
    expect(first.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(built()).toBe(1);
    const sk = await fetchDocument(env.project.sk);
    expect(sk.status).toBe(200);
    await fetchDocument(env.project.sk);
    expect(built()).toBe(2);
  });

  it("a change of a definition or the project's auth settings is seen at once; the base URL is each answer's own", async () => {
    await env.defineCollection({ name: "posts", fields: [{ name: "title", type: "string" }] });
    await fetchDocument(env.project.pk);
    const changed = await env.sk("PATCH", "/api/schemas/posts", {
      fields: [
        { name: "title", type: "string" },
        { name: "body", type: "string" },
      ],
    });
    expect(changed.status).toBe(200);
    expect(JSON.parse((await fetchDocument(env.project.pk)).text).components.schemas.posts.properties.body).toEqual({
      type: "string",
    });
    await env.defineCollection({ name: "notes", fields: [{ name: "text", type: "string" }] });
    expect(JSON.parse((await fetchDocument(env.project.pk)).text).paths["/api/data/notes"]).toBeDefined();
    expect((await env.sk("DELETE", "/api/schemas/notes")).status).toBe(200);
    // Back to the definitions of a kept document: that one is answered.
    expect(JSON.parse((await fetchDocument(env.project.pk)).text).paths["/api/data/notes"]).toBeUndefined();
    expect(built()).toBe(3);
    // Another base URL (a Host any caller may send) is answered from the same kept text.
    const elsewhere = JSON.parse((await fetchDocument(env.project.pk, "https://api.example.com")).text);
    expect(elsewhere.servers).toEqual([{ url: "https://api.example.com" }]);
    expect(elsewhere.paths["/api/data/posts"]).toBeDefined();
    expect(built()).toBe(3);

    await env.deps.projects.update(env.project.id, { settings: { auth: { passwordMinLength: 12 } } });
    env.clock.advance(60_000); // past the resolved keys' cache
    const strict = JSON.parse((await fetchDocument(env.project.pk)).text);
    const signup = strict.paths["/api/userAuth/signup"].post.requestBody.content["application/json"].schema;
    expect(signup.properties.password.minLength).toBe(12);
  });

  it(`keeps at most ${MAX_KEPT_DOCUMENTS} documents, the least recently used going first`, async () => {
    const projects = [env.project.pk];
    for (let i = 0; i < MAX_KEPT_DOCUMENTS; i++) projects.push((await createTestProject(env.deps, `p${i}`)).pk);
    for (const pk of projects.slice(0, -1)) await fetchDocument(pk);
    await fetchDocument(projects[0] as string); // used again: now the most recent
    expect(built()).toBe(MAX_KEPT_DOCUMENTS);
    await fetchDocument(projects.at(-1) as string); // one too many: the second goes
    await fetchDocument(projects[0] as string);
    expect(built()).toBe(MAX_KEPT_DOCUMENTS + 1);
    await fetchDocument(projects[1] as string);
    expect(built()).toBe(MAX_KEPT_DOCUMENTS + 2);
  });
});

/** A definition near the size a definition may have: ~1000 leaves under long-named objects (~34 KB). */
function bigDefinition(name: string) {
  const long = (c: string) => c.repeat(127);
  const leaves = (k: number) => Array.from({ length: 198 }, (_, i) => ({ name: `f${k}_${i}`, type: "string" }));
  const level3 = Array.from({ length: 5 }, (_, k) => ({ name: `${long("c")}${k}`, type: "object", fields: leaves(k) }));
  return {
    name,
    fields: [{ name: long("a"), type: "object", fields: [{ name: long("b"), type: "object", fields: level3 }] }],
  };
}

describe("large documents", () => {
  it("kept within the byte bound; past 8 MB refused with the envelope (and not built again)", async () => {
    // ~110 KB of document per such collection: 55 make ~6 MB, three of them pass the 16 MB kept.
    for (let i = 0; i < 55; i++) await env.defineCollection(bigDefinition(`c${i}`));
    // Three documents: the pk's, the sk's, and the pk's under other auth settings.
    const minLength = async (value: number | null) => {
      await env.deps.projects.update(env.project.id, { settings: { auth: { passwordMinLength: value } } });
      env.clock.advance(60_000); // past the resolved keys' cache
    };
    for (const key of [env.project.pk, env.project.sk]) {
      const { status, text } = await fetchDocument(key);
      expect([status, Math.round(text.length / 1e6)]).toEqual([200, 6]);
    }
    await minLength(12);
    expect((await fetchDocument(env.project.pk)).status).toBe(200);
    expect(built()).toBe(3);
    await fetchDocument(env.project.pk); // still kept
    await minLength(null);
    await fetchDocument(env.project.pk); // gone for the bytes, though fewer than 8 were kept
    expect(built()).toBe(4);

    for (let i = 55; i < 80; i++) await env.defineCollection(bigDefinition(`c${i}`));
    const refused = await fetchDocument(env.project.pk);
    expect(refused.status).toBe(413);
    const error = JSON.parse(refused.text);
    expect(error).toMatchObject({ success: false, code: "PAYLOAD_TOO_LARGE" });
    expect(error.message).toContain("8 MB");
    expect(error.requestId).toEqual(expect.any(String));
    expect((await fetchDocument(env.project.pk)).status).toBe(413);
    expect(built()).toBe(5);
  });
});
