import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requireApiKey } from "../shared/api-key.js";
import { type AppEnv, createBaseApp } from "../shared/app.js";
import type { Deps } from "../shared/deps.js";
import { normalizeAllowlistEntry, originAllowed, originNamedOverTls, requestOrigin } from "../shared/origin.js";
import { testDeps } from "./helpers.js";

describe("originAllowed", () => {
  const cases: Array<[string, string | null, string[], boolean]> = [
    ["empty allowlist allows any origin", "https://anything.test", [], true],
    ["empty allowlist allows no origin", null, [], true],
    ["no origin with an allowlist", null, ["example.org"], false],
    ["exact origin", "https://app.example.com", ["https://app.example.com"], true],
    ["exact origin, other scheme", "http://app.example.com", ["https://app.example.com"], false],
    // The scheme is compared, not only host and port: these share https's port 443.
    ["exact origin, other scheme on the same port", "http://app.example.com:443", ["https://app.example.com"], false],
    ["exact origin, wss (default port 443)", "wss://app.example.com", ["https://app.example.com"], false],
    ["exact origin, ftp on port 443", "ftp://app.example.com:443", ["https://app.example.com"], false],
    ["exact origin, other port", "https://example.org:8443", ["https://example.org"], false],
    ["exact origin, explicit default port", "https://example.org:443", ["https://example.org"], true],
    ["exact origin with port", "http://localhost:5173", ["http://localhost:5173"], true],
    ["exact origin with port, other port", "http://localhost:3000", ["http://localhost:5173"], false],
    ["exact origin, subdomain", "https://x.app.example.com", ["https://app.example.com"], false],
    ["bare hostname, any scheme", "http://app.example.com", ["app.example.com"], true],
    ["bare hostname, any port", "https://app.example.com:8443", ["app.example.com"], true],
    ["bare hostname, subdomain", "https://x.app.example.com", ["app.example.com"], false],
    ["bare hostname, parent", "https://example.com", ["app.example.com"], false],
    ["wildcard, apex", "https://example.org", ["*.example.org"], true],
    ["wildcard, subdomain", "https://app.example.org", ["*.example.org"], true],
    ["wildcard, deep subdomain", "https://a.b.example.org", ["*.example.org"], true],
    ["wildcard, suffix lookalike", "https://example.org.evil.com", ["*.example.org"], false],
    ["wildcard, prefix lookalike", "https://evilexample.org", ["*.example.org"], false],
    ["host, suffix lookalike", "https://example.org.evil.com", ["example.org"], false],
    ["exact, suffix lookalike", "https://example.org.evil.com", ["https://example.org"], false],
    ["userinfo trick", "https://example.org@evil.com", ["*.example.org", "example.org"], false],
    ["path in origin", "https://example.org/evil", ["example.org"], false],
    ["uppercase request host", "https://APP.Example.COM", ["https://app.example.com"], true],
    ["uppercase entry", "https://app.example.com", ["HTTPS://APP.EXAMPLE.COM", "*.OTHER.ORG"], true],
    ["uppercase wildcard entry", "https://x.other.org", ["*.OTHER.ORG"], true],
    ["the null origin", "null", ["example.org"], false],
    ["a null entry never admits the null origin", "null", ["null"], false],
    ["garbage origin", "not an origin", ["example.org"], false],
    ["one of many", "https://b.test", ["a.test", "https://b.test", "*.c.test"], true],
    ["none of many", "https://d.test", ["a.test", "https://b.test", "*.c.test"], false],
    ["custom scheme exact", "capacitor://localhost", ["capacitor://localhost"], true],
    // Stored before new entries of this kind were refused: it still admits the address itself.
    ["a stored wildcard over an IP address", "http://127.0.0.1:5173", ["*.127.0.0.1"], true],
  ];
  it.each(cases)("%s", (_name, origin, allowlist, expected) => {
    expect(originAllowed(origin, allowlist)).toBe(expected);
  });
});

describe("originNamedOverTls (the refresh cookie's allowlist check)", () => {
  const list = ["app.example.com", "*.example.org", "http://legacy.example.net", "localhost", "*.dev.test"];
  const cases: Array<[string, string, boolean]> = [
    ["bare host over https", "https://app.example.com", true],
    ["bare host over http", "http://app.example.com", false],
    ["bare host over http on port 443", "http://app.example.com:443", false],
    ["bare host over wss", "wss://app.example.com", false],
    ["wildcard over https", "https://a.example.org", true],
    ["wildcard over http", "http://a.example.org", false],
    ["exact http:// entry", "http://legacy.example.net", true],
    ["exact http:// entry, other port", "http://legacy.example.net:8080", false],
    ["plain-http localhost", "http://localhost:5173", true],
    ["plain-http *.localhost, unlisted", "http://app.localhost", false],
    ["not listed", "https://evil.example", false],
  ];
  it.each(cases)("%s", (_name, origin, expected) => {
    expect(originNamedOverTls(origin, list)).toBe(expected);
  });

  it("plain http on a loopback host counts through a bare-host or wildcard entry; an empty list names none", () => {
    for (const [origin, entry] of [
      ["http://127.0.0.1:3000", "127.0.0.1"],
      ["http://app.localhost", "*.localhost"],
    ])
      expect(originNamedOverTls(origin as string, [entry as string])).toBe(true);
    expect(originNamedOverTls("https://app.example.com", [])).toBe(false);
  });
});

describe("normalizeAllowlistEntry", () => {
  const cases: Array<[string, string | null]> = [
    ["https://app.example.com", "https://app.example.com"],
    ["HTTPS://App.Example.com:443", "https://app.example.com"],
    ["http://localhost:5173", "http://localhost:5173"],
    ["App.Example.com", "app.example.com"],
    ["*.Example.com", "*.example.com"],
    ["https://app.example.com/", "https://app.example.com"], // as an address bar shows it
    ["http://localhost:5173/", "http://localhost:5173"],
    ["https://app.example.com//", null],
    ["app.example.com/", null],
    ["https://app.example.com/path", null],
    ["https://user@app.example.com", null],
    ["https://*.example.com", null],
    ["*.*.example.com", null],
    ["*", null],
    ["example.com:8080", null],
    ["exa mple.com", null],
    ["", null],
    ["null", null], // the opaque origin, which no entry can admit
    ["NULL", null],
    ["*.1", null], // a wildcard over an IP address (the URL parser reads "1" as 0.0.0.1)
    ["*.168.1.1", null],
    ["127.0.0.1", "127.0.0.1"],
  ];
  it.each(cases)("%j → %j", (entry, expected) => {
    expect(normalizeAllowlistEntry(entry)).toBe(expected);
  });
});

describe("requestOrigin", () => {
  const cases: Array<[string, Record<string, string>, string | null]> = [
    ["Origin header", { origin: "https://a.test" }, "https://a.test"],
    ["Origin wins over Referer", { origin: "https://a.test", referer: "https://b.test/x" }, "https://a.test"],
    ["Referer fallback", { referer: "https://b.test:8443/page?q=1#h" }, "https://b.test:8443"],
    ["Referer with userinfo", { referer: "https://example.org@evil.com/x" }, "https://evil.com"],
    ["unparsable Referer", { referer: "::::" }, null],
    ["neither", {}, null],
    ["null Origin is kept", { origin: "null", referer: "https://b.test/" }, "null"],
  ];
  it.each(cases)("%s", (_name, headers, expected) => {
    expect(requestOrigin(new Headers(headers))).toBe(expected);
  });

  it("Referer fallback feeds the allowlist check", () => {
    const allowlist = ["https://app.example.com"];
    expect(originAllowed(requestOrigin(new Headers({ referer: "https://app.example.com/p" })), allowlist)).toBe(true);
    expect(originAllowed(requestOrigin(new Headers({ referer: "https://evil.com/p" })), allowlist)).toBe(false);
  });
});

describe("origin check over HTTP", () => {
  let deps: Deps;
  let app: Hono<AppEnv>;
  let keys: { publishable: string; secret: string };

  beforeEach(async () => {
    deps = await testDeps();
    app = createBaseApp(deps);
    app.use("/api/whoami", requireApiKey(deps));
    app.get("/api/whoami", (c) => c.json({ success: true, data: { projectId: c.get("principal").project.id } }));
    ({ keys } = await deps.projects.create({ name: "web", allowedOrigins: ["https://app.example.com"] }));
  });
  afterEach(() => deps.store.close());

  const call = (key: string, headers: Record<string, string> = {}) =>
    app.request("/api/whoami", { headers: { "x-api-key": key, ...headers } });

  it("refuses a publishable key from a bad origin, without reflecting that origin", async () => {
    const res = await call(keys.publishable, { origin: "https://evil.com" });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      code: "ORIGIN_NOT_ALLOWED",
      message: `Origin "https://evil.com" is not in the project's allowedOrigins`,
    });
    for (const name of [
      "access-control-allow-origin",
      "access-control-allow-credentials",
      "access-control-expose-headers",
    ])
      expect(res.headers.get(name)).toBeNull();
    expect(res.headers.get("vary")).toBe("Origin");
  });

  it("refuses a publishable key without any origin", async () => {
    const res = await call(keys.publishable);
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body.code).toBe("ORIGIN_NOT_ALLOWED");
    expect(body.message).toMatch(
      /request named no origin \(from a server, use the secret key; a native app sends an Origin header of its own that the list names, such as app:\/\/com\.example\.myapp\)$/,
    );
  });

  it("accepts a publishable key from an allowed origin or Referer", async () => {
    const allowed = await call(keys.publishable, { origin: "https://app.example.com" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    expect((await call(keys.publishable, { referer: "https://app.example.com/page" })).status).toBe(200);
  });

  it("lets a secret key through from a bad origin", async () => {
    const res = await call(keys.secret, { origin: "https://evil.com" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://evil.com");
  });
});
