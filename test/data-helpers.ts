/**
 * Helpers for the data function's HTTP tests: a project with its keys (made through the project
 * service, as the admin API makes them), end-user tokens minted with the shared token helper,
 * and one `call` that talks JSON to the data app.
 */
import type { Hono } from "hono";
import { createDataApp } from "../functions/data/app.js";
import type { AppEnv } from "../shared/app.js";
import type { Deps } from "../shared/deps.js";
import { newId } from "../shared/ids.js";
import { signAccessToken } from "../shared/tokens.js";
import { fakeClock, testDeps } from "./helpers.js";

/** A project as the data tests use it: id, plaintext keys and the token secret. */
export interface TestProject {
  id: string;
  pk: string;
  sk: string;
  jwtSecret: string;
}

/** One parsed response. `json` is undefined for empty bodies (304). */
export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response shapes
  json: any;
}

/** Options of one data call: the key, a Bearer token, a body (object → JSON, string → sent raw), extra headers. */
export interface CallOptions {
  key?: string | null;
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Creates a project (optionally with settings) and returns its keys and token secret. */
export async function createTestProject(deps: Deps, name = "app", settings?: Record<string, unknown>) {
  const { project, keys } = await deps.projects.create({ name, ...(settings ? { settings } : {}) });
  const principal = await deps.projects.resolveKey(keys.secret);
  if (!principal) throw new Error("the new secret key does not resolve");
  return { id: project.id, pk: keys.publishable, sk: keys.secret, jwtSecret: principal.project.jwtSecret };
}

/** An access token for `userId` in `project`, valid for `ttlSeconds` from the deps clock's now. */
export async function userToken(
  deps: Deps,
  project: Pick<TestProject, "id" | "jwtSecret">,
  userId: string,
  ttlSeconds = 900,
): Promise<string> {
  const { token } = await signAccessToken(project, userId, { now: deps.clock.now(), ttlSeconds });
  return token;
}

/** A fresh 24-hex user id. */
export const newUserId = () => newId();

/** One request to an app; JSON bodies are serialized unless given as a string. */
export async function call(
  app: Pick<Hono<AppEnv>, "request">,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers["x-api-key"] = options.key;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A data app over fresh test deps (on disk in `dataDir` when given) with one project, plus shortcuts bound to its keys. */
export async function dataTestEnv(options: { settings?: Record<string, unknown>; dataDir?: string | null } = {}) {
  const clock = fakeClock();
  const deps = await testDeps({ clock, dataDir: options.dataDir ?? null });
  const app = createDataApp(deps);
  const project = await createTestProject(deps, "app", options.settings);
  const sk = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(app, method, path, { key: project.sk, body, ...(headers ? { headers } : {}) });
  const pk = (method: string, path: string, options: Omit<CallOptions, "key"> = {}) =>
    call(app, method, path, { key: project.pk, ...options });
  const token = (userId: string, ttlSeconds?: number) => userToken(deps, project, userId, ttlSeconds);
  /** Creates a collection definition with the secret key; fails loudly when the server refuses it. */
  const defineCollection = async (def: Record<string, unknown>) => {
    const res = await sk("POST", "/api/schemas", def);
    if (res.status !== 201) throw new Error(`schema ${String(def.name)} refused: ${res.text}`);
    return res.json.data.collection;
  };
  return { clock, deps, app, project, sk, pk, token, defineCollection, close: () => deps.store.close() };
}

export type DataTestEnv = Awaited<ReturnType<typeof dataTestEnv>>;
