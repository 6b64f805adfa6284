/**
 * The deploy configurations route every path prefix to the function that serves it, as the local
 * server does (shared/local-app.ts): a prefix left out of one would answer 404 from the platform.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type FunctionName, functionFor, PREFIXES } from "../shared/functions.js";

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8");

/** [path as the config writes it, function] of each deploy configuration. */
function wranglerRoutes(): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  let env = "";
  for (const line of read("wrangler.toml").split("\n")) {
    env = /^\[env\.(\w+)\]/.exec(line)?.[1] ?? (line.startsWith("[") ? "" : env);
    for (const [, path] of line.matchAll(/pattern = "[^/"]+(\/[^"]*)"/g)) if (env) routes.push([path as string, env]);
  }
  return routes;
}

function serverlessRoutes(): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  let fn = "";
  for (const line of read("serverless.yml").split("\n")) {
    fn = /^ {2}(\w+):$/.exec(line)?.[1] ?? fn;
    const path = /httpApi: \{ path: "([^"]+)"/.exec(line)?.[1];
    if (path) routes.push([path, fn]);
  }
  return routes;
}

function vercelRoutes(): Array<[string, string]> {
  const { rewrites } = JSON.parse(read("vercel.json")) as { rewrites: Array<{ source: string; destination: string }> };
  return rewrites.map(({ source, destination }) => [source, destination.replace("/api/", "")]);
}

/** A request path the config's route pattern matches (its wildcard filled in). */
const samplePath = (pattern: string) => pattern.replace(/\/?(\*|\{proxy\+\}|:__ebpath\*)$/, "/x");

describe.each([
  ["wrangler.toml", wranglerRoutes],
  ["serverless.yml", serverlessRoutes],
  ["vercel.json", vercelRoutes],
])("%s", (_file, routesOf) => {
  const routes = routesOf();

  it("routes every prefix of every function to it", () => {
    for (const [prefix, name] of PREFIXES) {
      const served = routes.filter(([pattern, fn]) => fn === name && samplePath(pattern).startsWith(`${prefix}/`));
      expect(served, `${prefix}/… → ${name}`).not.toHaveLength(0);
    }
  });

  it("sends each route to the function the local server picks for it", () => {
    expect(routes.length).toBeGreaterThan(PREFIXES.length);
    for (const [pattern, fn] of routes) {
      expect(functionFor(samplePath(pattern)), pattern).toBe(fn as FunctionName);
    }
  });
});

describe("wrangler.toml", () => {
  it("ends every route in a wildcard: Cloudflare matches the whole URL, so `/api/health` alone misses `/api/health?probe=1`", () => {
    for (const [pattern] of wranglerRoutes()) expect(pattern, pattern).toMatch(/\*$/);
  });
});

describe("serverless.yml", () => {
  it("sends every method of each route to the function (a CORS preflight or a HEAD to /api/health too)", () => {
    const routes = read("serverless.yml")
      .split("\n")
      .filter((line) => line.includes("httpApi:"));
    expect(routes.length).toBeGreaterThan(PREFIXES.length);
    for (const route of routes) expect(route).toMatch(/method: "\*" \}$/);
  });
});

describe("vercel.json builds functions only", () => {
  it("runs no build command, so Vercel adds no static-site build of package.json's (which would fail)", () => {
    expect((JSON.parse(read("vercel.json")) as { buildCommand?: string }).buildCommand).toBe("");
  });

  it("has a public/ directory, so that only it is served as static files (else the whole repository is)", () => {
    expect(read("public/robots.txt")).toContain("Disallow: /");
  });
});
