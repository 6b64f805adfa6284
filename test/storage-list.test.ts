/**
 * GET /api/storage/files (an addition to API.md §7) through HTTP, with the memory and fs blob stores:
 * who lists what, paging in path order, prefixes, which files show, bad queries, usage and limits, and
 * the OpenAPI document.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDataApp } from "../functions/data/app.js";
import { fileRecords } from "../shared/storage/files.js";
import { SortedIndex } from "../shared/store/embedded/sorted-index.js";
import { signAccessToken } from "../shared/tokens.js";
import { USAGE_COLLECTION } from "../shared/usage/recorder.js";
import { answerChecker, openApiProblems } from "./openapi-helpers.js";
import { envelope, type StorageEnv, storageEnv } from "./storage-helpers.js";

const USER_A = "a".repeat(24);
const USER_B = "b".repeat(24);

describe.each(["memory", "fs"] as const)("GET /api/storage/files (%s blobs)", (kind) => {
  let env: StorageEnv;
  beforeEach(async () => {
    env = await storageEnv(kind);
  });
  afterEach(() => env.close());

  const list = (headers: Record<string, string>, query = "") =>
    env.app.request(`/api/storage/files${query}`, { headers });
  /** Every path a caller lists under `query`, page by page (`limit` each), checking each page's size. */
  async function allPaths(headers: Record<string, string>, query = "", limit = 20): Promise<string[]> {
    const paths: string[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams(query);
      params.set("limit", String(limit));
      if (cursor) params.set("cursor", cursor);
      const res = await list(headers, `?${params}`);
      expect(res.status).toBe(200);
      const { data } = await envelope(res);
      expect(data.items.length).toBeLessThanOrEqual(limit);
      if (data.nextCursor) expect(data.items.length).toBe(limit);
      paths.push(...data.items.map((item: { path: string }) => item.path));
      cursor = data.nextCursor;
    } while (cursor);
    return paths;
  }
  /** Uploads `text` and answers its path. */
  const stored = async (headers: Record<string, string>, folder?: string, name = "a.txt") => {
    const res = await env.upload(headers, "hello", name, folder);
    expect(res.status).toBe(201);
    return (await envelope(res)).data.path as string;
  };
  /** Another project, its keys and a token of its user. */
  async function otherProject() {
    const { project, keys } = await env.deps.projects.create({
      name: "other",
      settings: { storage: { allowUserUploads: true } },
    });
    const { jwtSecret } = (await env.deps.projects.resolveKey(keys.secret))!.project;
    const { token } = await signAccessToken({ id: project.id, jwtSecret }, USER_A, {
      now: env.clock.now(),
      ttlSeconds: 900,
    });
    return { id: project.id, pk: keys.publishable, sk: keys.secret, token };
  }

  it("answers who may list what: sk the project's files, pk + user their own, others 401", async () => {
    const a = await env.asUser(USER_A);
    const b = await env.asUser(USER_B);
    const mine = [await stored(a), await stored(a, "avatars")].sort();
    const theirs = await stored(b);
    const project = await stored(env.sk, "docs");

    expect(await allPaths(env.sk)).toEqual([...mine, theirs, project].sort());
    expect(await allPaths(a)).toEqual(mine);
    expect(await allPaths(b)).toEqual([theirs]);

    const refused = async (headers: Record<string, string>) => {
      const res = await list(headers);
      return { status: res.status, code: (await envelope(res)).code };
    };
    expect(await refused({})).toEqual({ status: 401, code: "API_KEY_MISSING" });
    expect(await refused({ "x-api-key": `pk_${"x".repeat(43)}` })).toEqual({ status: 401, code: "API_KEY_INVALID" });
    expect(await refused({ "x-api-key": env.p.pk })).toEqual({ status: 401, code: "AUTH_REQUIRED" });
    expect(await refused({ "x-api-key": env.p.pk, authorization: "Bearer nonsense" })).toMatchObject({ status: 401 });

    // Another project's keys and tokens never list this project's files.
    const other = await otherProject();
    const othersFile = await stored({ "x-api-key": other.sk }, "docs");
    expect(await allPaths({ "x-api-key": other.sk })).toEqual([othersFile]);
    expect(await allPaths({ "x-api-key": other.sk }, `prefix=${env.p.id}/docs/`)).toEqual([]);
    expect(await allPaths({ "x-api-key": other.pk, authorization: `Bearer ${other.token}` })).toEqual([]);
    // Its user's token (the same user id) with this project's key: not this project's token.
    expect(await refused({ "x-api-key": env.p.pk, authorization: `Bearer ${other.token}` })).toMatchObject({
      status: 401,
    });
  });

  it("lists a user's own files where the project no longer allows user uploads, as DELETE deletes them", async () => {
    const a = await env.asUser(USER_A);
    const path = await stored(a);
    await env.deps.projects.update(env.p.id, { settings: { storage: { allowUserUploads: false } } });
    expect(await allPaths(a)).toEqual([path]);
  });

  it("pages 45 files 20 at a time: every file once, in path order, then nextCursor null", async () => {
    const uploaded: string[] = [];
    for (let i = 0; i < 45; i++) uploaded.push(await stored(env.sk, "docs", `f${i}.txt`));
    await stored(env.sk, "other");
    const pages: number[] = [];
    let cursor: string | null = null;
    const listed: string[] = [];
    do {
      const res = await list(env.sk, `?prefix=docs&limit=20${cursor ? `&cursor=${cursor}` : ""}`);
      const { data } = await envelope(res);
      pages.push(data.items.length);
      listed.push(...data.items.map((item: { path: string }) => item.path));
      cursor = data.nextCursor;
    } while (cursor);
    expect(pages).toEqual([20, 20, 5]);
    expect(listed).toEqual([...uploaded].sort());
    // The default page is 20; a larger limit than 100 gives 100, as data lists do.
    expect((await envelope(await list(env.sk, "?prefix=docs"))).data.items).toHaveLength(20);
    expect((await envelope(await list(env.sk, "?prefix=docs&limit=1000"))).data.items).toHaveLength(45);
  });

  it("answers each file as an upload does, with when it was stored", async () => {
    const res = await env.upload(env.sk, "hello", "a.txt", "docs");
    const { path, url } = (await envelope(res)).data;
    const { data } = await envelope(await list(env.sk));
    expect(data).toEqual({
      items: [{ path, url, size: 5, contentType: "text/plain", createdAt: new Date(env.clock.now()).toISOString() }],
      nextCursor: null,
    });
  });

  it("filters by folder, given within the project or after its id, with or without a trailing slash", async () => {
    const a = await env.asUser(USER_A);
    const docs = [await stored(env.sk, "docs"), await stored(env.sk, "docs/2026")].sort();
    const documents = await stored(env.sk, "documents");
    const avatar = await stored(a, "avatars");
    const own = await stored(a);
    for (const prefix of ["docs", "docs/", `${env.p.id}/docs`, `${env.p.id}/docs/`]) {
      expect(await allPaths(env.sk, `prefix=${prefix}`), prefix).toEqual(docs);
    }
    // A folder, not the start of a name: `doc` names no folder here.
    expect(await allPaths(env.sk, "prefix=doc")).toEqual([]);
    expect(await allPaths(env.sk, "prefix=docs/2026")).toEqual([docs.find((p) => p.includes("/2026/"))]);
    expect(await allPaths(env.sk, "prefix=documents")).toEqual([documents]);
    expect(await allPaths(env.sk, `prefix=${env.p.id}`)).toHaveLength(5);
    expect(await allPaths(env.sk, `prefix=users/${USER_A}`)).toEqual([avatar, own].sort());
    // A user's prefix narrows their own files; another folder holds none of theirs.
    expect(await allPaths(a, `prefix=users/${USER_A}/avatars/`)).toEqual([avatar]);
    expect(await allPaths(a, "prefix=users")).toEqual([avatar, own].sort());
    expect(await allPaths(a, "prefix=docs")).toEqual([]);
    expect(await allPaths(a, `prefix=users/${USER_B}`)).toEqual([]);
  });

  it("lists ready files only: not pending uploads, not tombstones, not deleted files", async () => {
    const ready = await stored(env.sk, "docs");
    const gone = await stored(env.sk, "docs");
    expect((await env.del(env.sk, gone)).status).toBe(200);
    await env.presign(env.sk, "pending.txt", 5, "docs");
    await fileRecords(env.deps).insertOne({
      _id: `${env.p.id}/docs/${"0".repeat(24)}-tombstone.txt`,
      projectId: env.p.id,
      ownerId: null,
      size: 5,
      contentType: "text/plain",
      status: "deleted",
      createdAt: new Date(env.clock.now()).toISOString(),
    });
    expect(await allPaths(env.sk, "prefix=docs")).toEqual([ready]);
    // A direct upload whose bytes came is listed once ready.
    const direct = await env.presign(env.sk, "direct.txt", 5, "docs");
    expect((await env.putTo(direct.url, "hello")).status).toBe(200);
    expect(await allPaths(env.sk, "prefix=docs")).toEqual([ready, direct.path].sort());
  });

  it("refuses a bad prefix, limit or cursor with 400 INVALID_QUERY naming it", async () => {
    await stored(env.sk, "docs");
    await stored(env.sk, "docs");
    const cursor = (await envelope(await list(env.sk, "?prefix=docs&limit=1"))).data.nextCursor as string;
    const bad = [
      ["prefix", "../docs"],
      ["prefix", "docs/../users"],
      ["prefix", "docs//x"],
      ["prefix", "/docs"],
      ["prefix", "do%01cs"],
      ["prefix", "d%C3%A9j%C3%A0"],
      ["prefix", ".staging"],
      ["prefix", "x".repeat(600)],
      ["prefix", "docs&prefix=other"],
      ["limit", "0"],
      ["limit", "-1"],
      ["limit", "ten"],
      ["limit", "1.5"],
      ["cursor", "!!!"],
      ["cursor", Buffer.from("../etc/passwd").toString("base64url")],
      ["cursor", `${cursor}&prefix=other`], // a cursor of another prefix
    ];
    for (const [name, value] of bad) {
      const res = await list(env.sk, `?${name}=${value}`);
      const body = await envelope(res);
      expect(res.status, `${name}=${value}`).toBe(400);
      expect(body.code).toBe("INVALID_QUERY");
      expect(body.details[0].path).toBe(name);
    }
    // A user's cursor holds only within their own folder.
    const a = await env.asUser(USER_A);
    await stored(a);
    await stored(a);
    const theirs = await envelope(await list(a, "?limit=1"));
    expect((await list(a, `?cursor=${theirs.data.nextCursor}`)).status).toBe(200);
    expect((await list(await env.asUser(USER_B), `?cursor=${theirs.data.nextCursor}`)).status).toBe(400);
  });

  it("counts in the project's usage, and a pk list under the pk rule", async () => {
    const { project, keys } = await env.deps.projects.create({
      name: "limited",
      settings: { rateLimits: { pk: "2/15m" }, storage: { allowUserUploads: true } },
    });
    const { jwtSecret } = (await env.deps.projects.resolveKey(keys.secret))!.project;
    const { token } = await signAccessToken({ id: project.id, jwtSecret }, USER_A, {
      now: env.clock.now(),
      ttlSeconds: 900,
    });
    const user = { "x-api-key": keys.publishable, authorization: `Bearer ${token}` };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await list(user)).status);
    expect(statuses).toEqual([200, 200, 429]);
    // A guest's refused list counts too.
    expect((await list({ "x-api-key": keys.publishable })).status).toBe(429);
    expect((await list({ "x-api-key": keys.secret })).status).toBe(200);
    await env.deps.usage.flush();
    const days = await env.deps.store.platform().collection(USAGE_COLLECTION).find({ projectId: project.id });
    expect(days.map((day) => day.requests)).toEqual([{ storage: { "2xx": 3, "4xx": 2 } }]);
  });
});

describe("the embedded store and the OpenAPI document (memory blobs)", () => {
  let env: StorageEnv;
  beforeEach(async () => {
    env = await storageEnv("memory");
  });
  afterEach(() => {
    vi.restoreAllMocks();
    return env.close();
  });

  it("walks the _id index from the folder (or the cursor): a page examines about a page among many files", async () => {
    const file = (folder: string, i: number) => ({
      _id: `${env.p.id}/${folder}/${i.toString(16).padStart(24, "0")}-f.txt`,
      projectId: env.p.id,
      ownerId: folder.startsWith("users/") ? folder.split("/")[1]! : null,
      size: 5,
      contentType: "text/plain",
      status: "ready",
      createdAt: new Date(env.clock.now()).toISOString(),
    });
    const many = (folder: string, n: number) => Array.from({ length: n }, (_, i) => file(folder, i));
    await fileRecords(env.deps).insertMany([
      ...many("avatars", 2000),
      ...many("docs", 30),
      ...many(`users/${USER_A}`, 30),
      ...many(`users/${USER_B}`, 2000),
    ]);
    let walked = 0;
    const walk = SortedIndex.prototype.walk;
    vi.spyOn(SortedIndex.prototype, "walk").mockImplementation(function (this: SortedIndex, direction, range, visit) {
      walk.call(this, direction, range, (id) => {
        walked++;
        return visit(id);
      });
    });
    /** A page of 20, examining at most `most` index entries; its nextCursor. */
    const page = async (headers: Record<string, string>, query: string, most: number) => {
      walked = 0;
      const { data } = await envelope(await env.app.request(`/api/storage/files?${query}`, { headers }));
      expect(data.items).toHaveLength(20);
      expect(walked, query).toBeLessThanOrEqual(most);
      return data.nextCursor as string;
    };
    // A large folder is walked in path order for one page (and one more, for nextCursor), from the cursor on.
    await page(env.sk, `prefix=avatars&cursor=${await page(env.sk, "prefix=avatars", 21)}`, 21);
    // A small one (a few hundred files) is taken whole and sorted: still none of the other folders' files.
    await page(env.sk, "prefix=docs", 30);
    const user = await env.asUser(USER_A);
    // A user's list walks their folder, not the project's: and the lookups of their token (a few entries).
    await page(user, "", 30 + 4);
    await page(await env.asUser(USER_B), "", 21 + 4);
  });

  it("the OpenAPI document lists GET /api/storage/files, and a real answer fits it", async () => {
    const res = await createDataApp(env.deps).request("/api/schemas/openapi.json", {
      headers: { "x-api-key": env.p.pk },
    });
    const doc = await envelope(res);
    expect(await openApiProblems(doc)).toBe("");
    const operation = doc.paths["/api/storage/files"].get;
    expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(["prefix", "limit", "cursor"]);
    await env.upload(env.sk, "hello", "a.txt", "docs");
    await env.upload(env.sk, "hello", "b.txt", "docs");
    const check = answerChecker(doc);
    const first = await envelope(await env.app.request("/api/storage/files?limit=1", { headers: env.sk }));
    expect(first.data.nextCursor).toEqual(expect.any(String));
    expect(check("/api/storage/files", "get", 200, first)).toBeNull();
    const cursor = first.data.nextCursor;
    const last = await envelope(await env.app.request(`/api/storage/files?cursor=${cursor}`, { headers: env.sk }));
    expect(last.data.nextCursor).toBeNull();
    expect(check("/api/storage/files", "get", 200, last)).toBeNull();
  });
});
