import { z } from "zod";

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
}

/** Thrown when the environment is incomplete or invalid; names every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  ADMIN_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  MONGODB_URI: optionalString.pipe(
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, "must start with mongodb:// or mongodb+srv://")
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
});

/** Variables a platform entry may demand on top of the always-required ones. */
export type RequiredVar = "ADMIN_TOKEN" | "ENCRYPTION_KEY";

/**
 * Reads and validates the configuration once. In production the store and ENCRYPTION_KEY
 * are required, plus whatever the caller lists in `required`. Throws one ConfigError naming
 * every missing or invalid variable.
 */
export function loadConfig(env: Env, options: { required?: readonly RequiredVar[] } = {}): Config {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  const values = parsed.success ? parsed.data : undefined;
  const present = (name: string) => (env[name] ?? "").trim() !== "";
  const production = (values?.NODE_ENV ?? env.NODE_ENV) === "production";

  const required = new Set<string>(options.required);
  if (production) required.add("ENCRYPTION_KEY");
  for (const name of required) if (!present(name)) problems.push(`${name}: required`);
  if (production && !present("MONGODB_URI") && !present("DATA_DIR")) {
    problems.push("MONGODB_URI: required in production (or DATA_DIR for the embedded store)");
  }
  if (problems.length > 0 || !values) throw new ConfigError(problems);

  const store: StoreConfig = values.MONGODB_URI
    ? { kind: "mongo", uri: values.MONGODB_URI, dbPrefix: values.MONGODB_DB_PREFIX }
    : { kind: "embedded", dataDir: values.DATA_DIR ?? null };

  return Object.freeze({
    nodeEnv: values.NODE_ENV,
    production,
    adminToken: values.ADMIN_TOKEN,
    store,
    encryptionKey: values.ENCRYPTION_KEY,
    keyCacheTtlSeconds: values.KEY_CACHE_TTL_SECONDS,
    maxJsonBytes: values.MAX_JSON_BYTES,
    publicUrl: values.PUBLIC_URL,
  });
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
