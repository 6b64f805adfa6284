import { z } from "zod";
import { DRIVER_REFUSES_URI, driverOptions } from "./mongo-uri.js";
import {
  loadRateLimitConfig,
  RATE_LIMIT_VARIABLES,
  type RateLimitConfig,
  UPSTASH_VARIABLES,
} from "./ratelimit/config.js";
import { loadS3Config, S3_VARIABLES } from "./storage/config.js";
import type { S3Config } from "./storage/s3.js";

/** Raw environment: process.env, Worker bindings, or a plain object in tests. */
export type Env = Record<string, string | undefined>;

/** Where documents live: MongoDB, or the embedded store on disk (dataDir) or in memory (null). */
export type StoreConfig =
  | { kind: "mongo"; uri: string; dbPrefix: string }
  | { kind: "embedded"; dataDir: string | null };

/** The validated, frozen configuration every function is built from. */
export interface Config {
  readonly nodeEnv: "development" | "production" | "test";
  readonly production: boolean;
  readonly adminToken: string | undefined;
  readonly store: StoreConfig;
  /** 32-byte key (base64 or hex) that encrypts per-project secrets at rest. */
  readonly encryptionKey: string | undefined;
  /** How long a resolved API key stays cached on an instance (≤ 60 s). */
  readonly keyCacheTtlSeconds: number;
  /** Largest JSON body accepted, in bytes. */
  readonly maxJsonBytes: number;
  readonly publicUrl: string | undefined;
  /** Rate-limit rules, failure policies, the Upstash backend and the trusted proxy (API.md §8). */
  readonly rateLimits: RateLimitConfig;
  /** The S3-compatible bucket for files (S3_*); unset: files on disk (DATA_DIR) or in memory. */
  readonly s3: S3Config | undefined;
  /** bcrypt cost factor for end-user passwords (BCRYPT_COST, 4–15, default 10). */
  readonly bcryptCost: number;
  /** Mail provider and its settings (MAIL_PROVIDER, MAIL_FROM, RESEND_API_KEY). */
  readonly mail: MailConfig;
  /** SameSite attribute of the refresh-token cookie (COOKIE_SAMESITE, default Lax). */
  readonly cookieSameSite: "Lax" | "Strict" | "None";
}

/** Which mailer sends end-user mail: `console` (default outside tests), `memory` (default in tests), `resend`. */
export interface MailConfig {
  readonly provider: "console" | "memory" | "resend";
  readonly from: string | undefined;
  readonly resendApiKey: string | undefined;
}

/** Thrown when the environment is incomplete or invalid; names every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** What an `Authorization: Bearer` header can carry as one token: visible ASCII, no spaces. */
export const ADMIN_TOKEN_SHAPE = /^[\x21-\x7e]+$/;

const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  ADMIN_TOKEN: optionalString.pipe(
    z
      .string()
      .min(16, "must be at least 16 characters")
      .regex(ADMIN_TOKEN_SHAPE, "must be visible ASCII characters without spaces (it is sent as `Bearer <token>`)")
      .optional(),
  ),
  MONGODB_URI: optionalString.pipe(
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, { message: "must start with mongodb:// or mongodb+srv://", abort: true })
      // A host left out (`…@$HOST/db` with HOST unset) is refused here, not by the store on each request.
      .refine((uri) => driverOptions(uri) !== undefined, DRIVER_REFUSES_URI)
      .optional(),
  ),
  MONGODB_DB_PREFIX: z
    .string()
    .regex(/^[a-z0-9_]{1,16}$/, "lower-case letters, digits, _ (≤ 16)")
    .default("eb"),
  DATA_DIR: optionalString,
  ENCRYPTION_KEY: optionalString.pipe(
    z
      .string()
      .refine((v) => decodeKeyMaterial(v)?.length === 32, "must be 32 bytes, base64 or hex encoded")
      .optional(),
  ),
  KEY_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(60).default(30),
  MAX_JSON_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  PUBLIC_URL: optionalString.pipe(z.url().optional()),
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(10),
  MAIL_PROVIDER: optionalString.pipe(z.enum(["console", "memory", "resend"]).optional()),
  MAIL_FROM: optionalString,
  RESEND_API_KEY: optionalString,
  COOKIE_SAMESITE: optionalString
    .transform((v) => (v ? `${v.charAt(0).toUpperCase()}${v.slice(1).toLowerCase()}` : "Lax"))
    .pipe(z.enum(["Lax", "Strict", "None"])),
});

/**
 * Every variable loadConfig reads, and the only ones it sees: a platform must pass all of them through
 * (serverless.yml lists each one; test/serverless.test.ts checks that against this list).
 */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(envSchema.shape),
  ...RATE_LIMIT_VARIABLES,
  ...S3_VARIABLES,
];

/** Variables a platform entry may demand on top of the always-required ones. */
export type RequiredVar = "ADMIN_TOKEN" | "ENCRYPTION_KEY";

/** What a function needs of the configuration, as its platform entry declares it. */
export type FunctionNeeds = Pick<LoadOptions, "required" | "rateLimited" | "files">;

/** What a platform entry adds to the checks: its function's own variables, and whether it has a disk. */
export interface LoadOptions {
  /** Variables the function cannot work without (ADMIN_TOKEN for admin), in every environment. */
  required?: readonly RequiredVar[];
  /**
   * The platform has no lasting disk and runs many short-lived instances (Workers; Lambda and Vercel
   * in production): DATA_DIR is ignored (the embedded store and files stay in memory), so production
   * needs MONGODB_URI, and Upstash for rate limits that hold across instances.
   */
  diskless?: boolean;
  /** The function applies the rate limits (default); admin does not (its callers hold the operator's token). */
  rateLimited?: boolean;
  /** The function keeps files (storage): in production they need S3, or DATA_DIR's disk for the embedded store. */
  files?: boolean;
}

/** What production without a lasting place for files is missing. */
export const S3_REQUIRED =
  "S3_BUCKET: required in production for files (with S3_REGION or S3_ENDPOINT and the S3_* keys); " +
  "without it they would live in one instance's memory";

/**
 * Reads and validates the configuration once. In production the store and ENCRYPTION_KEY
 * are required, plus whatever the caller lists in `required`. Throws one ConfigError naming
 * every missing or invalid variable.
 */
export function loadConfig(rawEnv: Env, options: LoadOptions = {}): Config {
  const env = configEnv(rawEnv);
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  const values = parsed.success ? parsed.data : undefined;
  const present = (name: string) => env[name] !== undefined;
  const production = (values?.NODE_ENV ?? env.NODE_ENV) === "production";

  const required = new Set<string>(options.required);
  if (production) required.add("ENCRYPTION_KEY");
  for (const name of required) if (!present(name)) problems.push(`${name}: required`);
  if (production && !present("MONGODB_URI") && (options.diskless || !present("DATA_DIR"))) {
    problems.push(
      options.diskless
        ? "MONGODB_URI: required in production (this platform has no disk for DATA_DIR's embedded store)"
        : "MONGODB_URI: required in production (or DATA_DIR for the embedded store)",
    );
  }
  if (production && env.MAIL_PROVIDER?.trim() === "memory") {
    problems.push(
      "MAIL_PROVIDER: memory only keeps mail (for tests), never sends it: not in production (resend, or console)",
    );
  }
  if (env.MAIL_PROVIDER?.trim() === "resend") {
    for (const name of ["RESEND_API_KEY", "MAIL_FROM"]) {
      if (!present(name)) problems.push(`${name}: required when MAIL_PROVIDER=resend`);
    }
  }
  const rateLimits = loadRateLimitConfig(env, { production, diskless: options.diskless });
  const s3 = loadS3Config(env);
  problems.push(...rateLimits.problems, ...s3.problems);
  // Files last in the bucket, or beside the embedded store on a disk (openBlobStore chooses the same way).
  const filesOnDisk = !present("MONGODB_URI") && !options.diskless && present("DATA_DIR");
  if (production && options.files && !s3.s3 && !filesOnDisk) problems.push(S3_REQUIRED);
  const limited = Object.values(rateLimits.config.rules).some((rule) => rule !== "off");
  if (options.rateLimited !== false && limited && rateLimits.config.countedPerInstance) {
    problems.push(
      `${UPSTASH_VARIABLES}: required in production on this platform, where ` +
        "every instance would otherwise count on its own (or set RATE_LIMIT_PK, RATE_LIMIT_AUTH and RATE_LIMIT_SK to off)",
    );
  }
  if (problems.length > 0 || !values) throw new ConfigError(problems);

  const store: StoreConfig = values.MONGODB_URI
    ? { kind: "mongo", uri: values.MONGODB_URI, dbPrefix: values.MONGODB_DB_PREFIX }
    : { kind: "embedded", dataDir: options.diskless ? null : (values.DATA_DIR ?? null) };

  return Object.freeze({
    nodeEnv: values.NODE_ENV,
    production,
    adminToken: values.ADMIN_TOKEN,
    store,
    encryptionKey: values.ENCRYPTION_KEY,
    keyCacheTtlSeconds: values.KEY_CACHE_TTL_SECONDS,
    maxJsonBytes: values.MAX_JSON_BYTES,
    publicUrl: values.PUBLIC_URL,
    rateLimits: rateLimits.config,
    s3: s3.s3 ? Object.freeze(s3.s3) : undefined,
    bcryptCost: values.BCRYPT_COST,
    mail: Object.freeze({
      provider: values.MAIL_PROVIDER ?? (values.NODE_ENV === "test" ? "memory" : "console"),
      from: values.MAIL_FROM,
      resendApiKey: values.RESEND_API_KEY,
    }),
    cookieSameSite: values.COOKIE_SAMESITE,
  });
}

/**
 * The variables of CONFIG_VARIABLES that `env` sets, without blank ones: an empty or whitespace-only
 * value means "unset" for every variable (the default applies), as in `.env` templates and CI files
 * that list names without values.
 */
function configEnv(env: Env): Env {
  const out: Env = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") out[name] = value;
  }
  return out;
}

/** Decodes 64 hex characters or base64/base64url into bytes; undefined when neither fits. */
export function decodeKeyMaterial(value: string): Uint8Array<ArrayBuffer> | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) {
    return Uint8Array.from(value.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
  }
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  try {
    const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return undefined;
  }
}
