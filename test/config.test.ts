import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../shared/config.js";
import { ADMIN_TOKEN_FILE, loadOrCreateAdminToken } from "../shared/local-bootstrap.js";

const KEY_HEX = "ab".repeat(32);
const KEY_BASE64 = Buffer.alloc(32, 7).toString("base64");
const TOKEN = "admin-token-0123456789";

/** The problems a ConfigError names, or fails the test when loadConfig does not throw one. */
function problemsOf(env: Record<string, string | undefined>, required: Array<"ADMIN_TOKEN" | "ENCRYPTION_KEY"> = []) {
  try {
    loadConfig(env, { required });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("applies the defaults for an empty environment", () => {
    const config = loadConfig({});
    expect(config).toEqual({
      nodeEnv: "development",
      production: false,
      adminToken: undefined,
      store: { kind: "embedded", dataDir: null },
      encryptionKey: undefined,
      keyCacheTtlSeconds: 30,
      maxJsonBytes: 1024 * 1024,
      publicUrl: undefined,
      bcryptCost: 10,
      mail: { provider: "console", from: undefined, resendApiKey: undefined },
      cookieSameSite: "Lax",
      rateLimits: {
        rules: {
          pk: { limit: 100, windowMs: 900_000 },
          auth: { limit: 20, windowMs: 900_000 },
          sk: { limit: 1000, windowMs: 60_000 },
        },
        failOpen: { pk: true, auth: false, sk: true },
        upstash: undefined,
        trustedProxy: "none",
        countedPerInstance: false,
      },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("picks the store from MONGODB_URI, else DATA_DIR", () => {
    expect(loadConfig({ DATA_DIR: "./.data" }).store).toEqual({ kind: "embedded", dataDir: "./.data" });
    expect(loadConfig({ MONGODB_URI: "mongodb://localhost:27017", DATA_DIR: "./.data" }).store).toEqual({
      kind: "mongo",
      uri: "mongodb://localhost:27017",
      dbPrefix: "eb",
    });
    expect(loadConfig({ MONGODB_URI: "mongodb+srv://u:p@c.example.net", MONGODB_DB_PREFIX: "acme" }).store).toEqual({
      kind: "mongo",
      uri: "mongodb+srv://u:p@c.example.net",
      dbPrefix: "acme",
    });
  });

  it("treats empty and blank variables as unset", () => {
    const config = loadConfig({ ADMIN_TOKEN: "", MONGODB_URI: "  ", ENCRYPTION_KEY: "" });
    expect(config.adminToken).toBeUndefined();
    expect(config.store.kind).toBe("embedded");
    expect(config.encryptionKey).toBeUndefined();
  });

  it.each(["", "   ", "\t"])("treats a blank value (%j) as unset for every variable: the defaults apply", (blank) => {
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(["KEY_CACHE_TTL_SECONDS", "S3_BUCKET", "RATE_LIMIT_PK"]));
    expect(loadConfig(Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, blank])))).toEqual(loadConfig({}));
    // Alone too: a blank number is its default, not 0 (KEY_CACHE_TTL_SECONDS=0 turns the key cache off).
    expect(loadConfig({ KEY_CACHE_TTL_SECONDS: blank }).keyCacheTtlSeconds).toBe(30);
    expect(loadConfig({ MAX_JSON_BYTES: blank }).maxJsonBytes).toBe(1024 * 1024);
    expect(loadConfig({ BCRYPT_COST: blank }).bcryptCost).toBe(10);
    expect(loadConfig({ NODE_ENV: blank }).nodeEnv).toBe("development");
    const mongo = { MONGODB_URI: "mongodb://localhost:27017", MONGODB_DB_PREFIX: blank };
    expect(loadConfig(mongo).store).toEqual({ kind: "mongo", uri: "mongodb://localhost:27017", dbPrefix: "eb" });
  });

  it("a blank NODE_ENV is development, so production's requirements do not apply", () => {
    expect(loadConfig({ NODE_ENV: " ", MONGODB_URI: "" }).production).toBe(false);
  });

  it("names every missing variable at once in production", () => {
    const problems = problemsOf({ NODE_ENV: "production" }, ["ADMIN_TOKEN"]);
    const text = problems.join("\n");
    expect(text).toContain("ENCRYPTION_KEY");
    expect(text).toContain("MONGODB_URI");
    expect(text).toContain("ADMIN_TOKEN");
    expect(problems).toHaveLength(3);
  });

  it("refuses an ADMIN_TOKEN no Bearer header can carry (spaces, control or non-ASCII characters)", () => {
    for (const token of ["correct horse battery staple", "tab\tseparated-token-0123", "pässwort-0123456789"]) {
      expect(problemsOf({ ADMIN_TOKEN: token }).join("\n")).toMatch(/ADMIN_TOKEN.*without spaces/);
    }
    expect(loadConfig({ ADMIN_TOKEN: "  padded-admin-token-0123  " }).adminToken).toBe("padded-admin-token-0123");
  });

  it("reports invalid values together with missing ones", () => {
    const problems = problemsOf({ NODE_ENV: "production", ENCRYPTION_KEY: "too-short", ADMIN_TOKEN: "short" });
    const text = problems.join("\n");
    expect(text).toMatch(/ENCRYPTION_KEY.*32 bytes/);
    expect(text).toMatch(/ADMIN_TOKEN.*16/);
    expect(text).toContain("MONGODB_URI");
  });

  it("puts every problem in the error message", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/ENCRYPTION_KEY[\s\S]*MONGODB_URI/);
  });

  it("accepts a complete production configuration", () => {
    const config = loadConfig(
      {
        NODE_ENV: "production",
        MONGODB_URI: "mongodb://db.internal:27017",
        ENCRYPTION_KEY: KEY_HEX,
        ADMIN_TOKEN: TOKEN,
        PUBLIC_URL: "https://api.example.com",
      },
      { required: ["ADMIN_TOKEN"] },
    );
    expect(config.production).toBe(true);
    expect(config.adminToken).toBe(TOKEN);
    expect(config.publicUrl).toBe("https://api.example.com");
  });

  it("accepts DATA_DIR instead of MONGODB_URI in production (embedded store)", () => {
    const config = loadConfig({ NODE_ENV: "production", DATA_DIR: "/var/lib/edgeback", ENCRYPTION_KEY: KEY_BASE64 });
    expect(config.store).toEqual({ kind: "embedded", dataDir: "/var/lib/edgeback" });
  });

  it("a platform without a disk (Workers) ignores DATA_DIR, so production needs MONGODB_URI", () => {
    const env = { NODE_ENV: "production", DATA_DIR: "/var/lib/edgeback", ENCRYPTION_KEY: KEY_BASE64 };
    expect(() => loadConfig(env, { diskless: true })).toThrow(/MONGODB_URI: required in production/);
    expect(loadConfig({ DATA_DIR: "/var/lib/edgeback" }, { diskless: true }).store).toEqual({
      kind: "embedded",
      dataDir: null,
    });
  });

  it("production on a platform of many instances needs Upstash for rate limits, unless every limit is off", () => {
    const env = { NODE_ENV: "production", MONGODB_URI: "mongodb://db.example/edgeback", ENCRYPTION_KEY: KEY_BASE64 };
    expect(() => loadConfig(env, { diskless: true })).toThrow(
      /UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN: required/,
    );
    const upstash = { UPSTASH_REDIS_REST_URL: "https://redis.example", UPSTASH_REDIS_REST_TOKEN: "t" };
    expect(loadConfig({ ...env, ...upstash }, { diskless: true }).rateLimits.upstash).toEqual({
      url: "https://redis.example",
      token: "t",
    });
    const off = { RATE_LIMIT_PK: "off", RATE_LIMIT_AUTH: "off", RATE_LIMIT_SK: "off" };
    expect(loadConfig({ ...env, ...off }, { diskless: true }).rateLimits.upstash).toBeUndefined();
    expect(() => loadConfig({ ...env, ...off, RATE_LIMIT_AUTH: "20/15m" }, { diskless: true })).toThrow(/UPSTASH/);
    expect(loadConfig(env).rateLimits.upstash).toBeUndefined(); // one long-lived server counts in its memory
    expect(loadConfig(env, { diskless: true, rateLimited: false }).rateLimits.upstash).toBeUndefined(); // admin
    expect(loadConfig({ ...env, NODE_ENV: "development" }, { diskless: true }).rateLimits.upstash).toBeUndefined();
  });

  it.each([
    ["not base64 or hex", "not a key!"],
    ["16 bytes of hex", "ab".repeat(16)],
    ["31 bytes of base64", Buffer.alloc(31).toString("base64")],
    ["33 bytes of base64", Buffer.alloc(33).toString("base64")],
  ])("rejects an ENCRYPTION_KEY that is %s", (_label, key) => {
    expect(problemsOf({ ENCRYPTION_KEY: key }).join("\n")).toMatch(/^ENCRYPTION_KEY: .*32 bytes/);
  });

  it.each([
    ["hex", KEY_HEX],
    ["base64", KEY_BASE64],
    ["base64url", Buffer.alloc(32, 0xfb).toString("base64url")],
  ])("accepts a 32-byte ENCRYPTION_KEY in %s", (_label, key) => {
    expect(loadConfig({ ENCRYPTION_KEY: key }).encryptionKey).toBe(key);
  });

  it.each(["postgres://localhost/db", "localhost:27017", "mongodb:/missing-slash"])("rejects MONGODB_URI %s", (uri) => {
    expect(problemsOf({ MONGODB_URI: uri }).join("\n")).toMatch(/^MONGODB_URI: .*mongodb:\/\//);
  });

  it("rejects out-of-range numbers and an unknown NODE_ENV, all at once", () => {
    const problems = problemsOf({ NODE_ENV: "staging", KEY_CACHE_TTL_SECONDS: "61", MAX_JSON_BYTES: "12" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "KEY_CACHE_TTL_SECONDS",
      "MAX_JSON_BYTES",
      "NODE_ENV",
    ]);
  });

  it("requires what the caller lists, outside production too", () => {
    expect(problemsOf({}, ["ADMIN_TOKEN", "ENCRYPTION_KEY"]).sort()).toEqual([
      "ADMIN_TOKEN: required",
      "ENCRYPTION_KEY: required",
    ]);
  });
});

describe("loadConfig: S3", () => {
  const keys = { S3_BUCKET: "files", S3_ACCESS_KEY_ID: "AKIA", S3_SECRET_ACCESS_KEY: "secret" };

  it("AWS (no S3_ENDPOINT) needs S3_REGION: there is no AWS endpoint for the region auto", () => {
    expect(problemsOf(keys)).toEqual([expect.stringMatching(/^S3_REGION: required .*S3_ENDPOINT/)]);
    expect(problemsOf({ ...keys, S3_REGION: "auto" })).toEqual([expect.stringMatching(/^S3_REGION: auto/)]);
    expect(loadConfig({ ...keys, S3_REGION: "eu-west-3" }).s3).toMatchObject({
      region: "eu-west-3",
      endpoint: undefined,
    });
  });

  it("with S3_ENDPOINT (R2, MinIO) the region defaults to auto", () => {
    const r2 = "https://acct.r2.cloudflarestorage.com";
    expect(loadConfig({ ...keys, S3_ENDPOINT: r2 }).s3).toMatchObject({ region: "auto", endpoint: r2 });
    expect(loadConfig({ ...keys, S3_ENDPOINT: r2, S3_REGION: "us-east-1" }).s3?.region).toBe("us-east-1");
  });

  it.each([
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["Yes", true],
    ["false", false],
    ["False", false],
    ["0", false],
    ["no", false],
    ["", false],
  ])("S3_FORCE_PATH_STYLE=%j is %s", (value, expected) => {
    const env = { ...keys, S3_REGION: "us-east-1", S3_FORCE_PATH_STYLE: value };
    expect(loadConfig(env).s3?.forcePathStyle).toBe(expected);
  });

  it.each(["on", "off", "y", "enabled", "2", "constructor"])(
    "S3_FORCE_PATH_STYLE=%j is refused, naming it",
    (value) => {
      const env = { ...keys, S3_REGION: "us-east-1", S3_FORCE_PATH_STYLE: value };
      expect(problemsOf(env)).toEqual([expect.stringMatching(/^S3_FORCE_PATH_STYLE: must be true or false/)]);
    },
  );
});

describe("the local admin token file", () => {
  it("refuses a token file no Bearer header can carry, and says how to get a new one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "admin-token-"));
    await writeFile(join(dir, ADMIN_TOKEN_FILE), "correct horse battery staple\n");
    await expect(loadOrCreateAdminToken(dir)).rejects.toThrow(/no spaces.*delete it/);
    await writeFile(join(dir, ADMIN_TOKEN_FILE), "kept-admin-token-0123456789\n");
    expect(await loadOrCreateAdminToken(dir)).toMatchObject({ token: "kept-admin-token-0123456789", created: false });
  });
});
