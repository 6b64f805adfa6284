/**
 * Development bootstrap for the local server (Node only, never imported by a function): the
 * admin token kept in the data directory, and the `demo` project created on an empty store.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ADMIN_TOKEN_SHAPE } from "./config.js";
import { randomToken } from "./crypto.js";
import type { Deps } from "./deps.js";

/** Name of the file, inside the data directory, that keeps the generated admin token. */
export const ADMIN_TOKEN_FILE = "admin-token";

/** Reads the admin token kept in `dataDir`, or creates one there (mode 0600); `created` tells which. */
export async function loadOrCreateAdminToken(
  dataDir: string,
): Promise<{ token: string; file: string; created: boolean }> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readTokenFile(file);
  if (existing !== undefined) return { token: existing, file, created: false };
  await mkdir(dataDir, { recursive: true });
  const token = randomToken(32);
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another process created it between our read and write: use theirs.
    const raced = (error as NodeJS.ErrnoException).code === "EEXIST" ? await readTokenFile(file) : undefined;
    if (raced === undefined) throw error;
    return { token: raced, file, created: false };
  }
  return { token, file, created: true };
}

async function readTokenFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const token = text.trim();
  if (token.length < 16 || !ADMIN_TOKEN_SHAPE.test(token)) {
    throw new Error(
      `${file} does not hold a valid admin token (16+ visible ASCII characters, no spaces); delete it to get a new one`,
    );
  }
  return token;
}

/** What the bootstrap found or did about the demo project. */
export type DemoProject =
  | { status: "created"; id: string; keys: { publishable: string; secret: string } }
  | { status: "exists"; id: string }
  | { status: "absent"; projectCount: number };

/** Creates the `demo` project when the store has no project yet; otherwise reports whether one exists. */
export async function ensureDemoProject(projects: Pick<Deps["projects"], "create" | "list">): Promise<DemoProject> {
  const existing = await projects.list();
  if (existing.length === 0) {
    const { project, keys } = await projects.create({ name: "demo" });
    return { status: "created", id: project.id, keys };
  }
  const demo = existing.find((project) => project.name === "demo");
  return demo ? { status: "exists", id: demo.id } : { status: "absent", projectCount: existing.length };
}
