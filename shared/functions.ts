/** The functions of API.md §1 and the path prefixes each one serves. */

export type FunctionName = "auth" | "data" | "storage" | "admin";

/** The path prefixes of each function; the deploy configs (wrangler.toml, serverless.yml, vercel.json) route the same. */
export const PREFIXES: ReadonlyArray<readonly [string, FunctionName]> = [
  ["/api/userAuth", "auth"],
  ["/api/mail", "auth"],
  ["/api/data", "data"],
  ["/api/schemas", "data"],
  ["/api/storage", "storage"],
  ["/api/admin", "admin"],
];

/** Which function serves a path: the first whole-segment prefix match; anything else (health, 404s) → data. */
export function functionFor(pathname: string): FunctionName {
  for (const [prefix, name] of PREFIXES) {
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return name;
  }
  return "data";
}
