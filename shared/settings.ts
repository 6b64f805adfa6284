import { z } from "zod";
import { mayBePublic } from "./auth/fields.js";
import { DRIVER_REFUSES_URI, driverOptions } from "./mongo-uri.js";
import { parseRule } from "./ratelimit/rule.js";
import { isPlainObject, unsafeKeyReason } from "./sanitize.js";
import { storageSettingsShape } from "./storage/policy.js";

/**
 * Project settings (API.md §9): a JSON object with safe names. Each settings area a feature owns
 * (`database`, `data`, `auth`, `storage`, `rateLimits`, `quotas`) is validated by that area's schema
 * in AREAS; a PATCH sends a partial area, so every field there is optional and null removes it.
 */

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_SETTINGS_DEPTH = 8;

/** An area of settings as a PATCH may send it: known fields only, each optional, null removes it. */
export function settingsArea(shape: Record<string, z.ZodType>) {
  const fields = Object.fromEntries(
    Object.entries(shape).map(([name, schema]) => [name, schema.nullable().optional()]),
  );
  return z.strictObject(fields).nullable();
}

/** URI options that make the server read a file of its own when it connects. */
const FILE_OPTIONS = ["tlsCAFile", "tlsCertificateKeyFile", "tlsCRLFile"] as const;
/** Authentication by the server's own identity (its cloud credentials, its Kerberos tickets), sent to any host. */
const OWN_IDENTITY_MECHANISMS = new Set(["MONGODB-OIDC", "MONGODB-AWS", "GSSAPI"]);

/**
 * Why a project's own MongoDB URI cannot be used, or undefined: the driver must take it, it must
 * name its database, and it may not make the server read its files or use its own identity.
 */
function databaseUriProblem(uri: string): string | undefined {
  if (!/^mongodb(\+srv)?:\/\/\S+$/.test(uri)) return "must be a mongodb:// or mongodb+srv:// URI";
  // Without one the driver quietly uses a database named `test`.
  if (!/^mongodb(\+srv)?:\/\/[^/?#]+\/[^/?#]+/.test(uri)) return "must name its database (…/<database>)";
  const options = driverOptions(uri);
  if (!options) return DRIVER_REFUSES_URI;
  const file = FILE_OPTIONS.find((name) => options[name] !== undefined);
  if (file) return `must not set ${file}: it makes the server read one of its own files`;
  // The names of the deployment's own databases (`<prefix>_platform`, `<prefix>_<project id>`): on the
  // deployment's cluster, one would hand this project's secret key the keys of every project.
  if (/_(platform|[0-9a-f]{24})$/i.test(options.dbName)) {
    return `must not name a database "…_platform" or "…_<project id>": those names are the deployment's own`;
  }
  // A SOCKS5 hop would let the server reach any host it can, for whoever sets the URI.
  if (options.proxyHost !== undefined) return "must not set proxyHost: the server connects to the database directly";
  // Unique fields, quotas, If-Match and read-your-writes rest on acknowledged writes and primary reads.
  if (options.writeConcern?.w === 0) return "must not set w=0: Edgeback needs its writes acknowledged";
  const reads = options.readPreference?.mode;
  if (reads && reads !== "primary") {
    return `must not set readPreference=${reads}: a read right after a write must see it (primary reads only)`;
  }
  const mechanism = options.credentials?.mechanism;
  if (mechanism && OWN_IDENTITY_MECHANISMS.has(mechanism)) {
    return `must not set authMechanism=${mechanism}: it signs in with the server's own identity`;
  }
  return undefined;
}

const databaseSettings = settingsArea({
  uri: z.string().superRefine((uri, ctx) => {
    const problem = databaseUriProblem(uri);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** Shown by views; ignored when sent. */
  configured: z.unknown(),
});

const dataSettings = settingsArea({ publishableAggregate: z.boolean() });

/** End-user auth (API.md §6, §9); lifetimes in seconds. Defaults live in shared/auth/settings.ts. */
const authSettings = settingsArea({
  requireEmailVerification: z.boolean(),
  passwordMinLength: z.int().min(8).max(128),
  accessTokenTtl: z
    .int()
    .min(60)
    .max(24 * 3600),
  refreshTokenTtl: z
    .int()
    .min(300)
    .max(365 * 24 * 3600),
  publicProfileFields: z
    .array(
      z
        .string()
        .min(1)
        .max(128)
        .refine((name) => unsafeKeyReason(name) === undefined, "Invalid field name")
        .refine(mayBePublic, "This field is never public"),
    )
    .max(50),
  maxFailedLogins: z.int().min(1).max(1000),
});

/** The schema of each settings area (no other names: a misspelt area would silently do nothing). */
const limitRule = z
  .string()
  .refine((v) => parseRule(v) !== undefined, "must be <count>/<window> (e.g. 100/15m) or off");
const rateLimitSettings = settingsArea({ pk: limitRule, auth: limitRule, sk: limitRule });

const quotaSettings = settingsArea({
  documentsBytes: z.number().int().positive(),
  users: z.number().int().positive(),
  /** Collections (definitions), `users` aside; MAX_COLLECTIONS unless set (shared/quotas.ts). */
  collections: z.int().positive(),
  /** App mails (POST /api/mail/send) per calendar month; 0 turns them off (shared/mail/allowance.ts). */
  mailsPerMonth: z.int().min(0).max(1_000_000),
});

/** Social sign-in providers (functions/auth/social.ts). */
export const SOCIAL_PROVIDERS = ["github", "google"] as const;
export type SocialProvider = (typeof SOCIAL_PROVIDERS)[number];

/** One provider's OAuth client; `clientSecret` is sealed at rest and shown as `configured`. */
const socialClient = settingsArea({
  clientId: z.string().min(1).max(256),
  clientSecret: z.string().min(1).max(512),
  /** Shown by views; ignored when sent. */
  configured: z.unknown(),
});

const socialSettings = settingsArea({
  /**
   * Where the browser goes back to after a social sign-in: the app's own page. https, or http on
   * localhost; no fragment (the access token goes there).
   */
  redirectUrl: z
    // abort: the refinements below parse the URL, which only a valid one survives.
    .url({ protocol: /^https?$/, abort: true })
    .max(2048)
    .refine((url) => !url.includes("#"), "must not have a fragment")
    .refine(
      (url) => url.startsWith("https:") || /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\//.test(new URL(url).href),
      "must be https (http only on localhost)",
    ),
  github: socialClient,
  google: socialClient,
});

const AREAS: Record<string, z.ZodType> = {
  storage: settingsArea(storageSettingsShape),
  rateLimits: rateLimitSettings,
  quotas: quotaSettings,
  database: databaseSettings,
  data: dataSettings,
  auth: authSettings,
  social: socialSettings,
};

/** Rejects setting names MongoDB or JavaScript would misread, at every depth. */
function checkSettingKeys(value: unknown, path: PropertyKey[], ctx: z.RefinementCtx, depth = 0): void {
  if (depth > MAX_SETTINGS_DEPTH) {
    ctx.addIssue({ code: "custom", path, message: `Settings nest at most ${MAX_SETTINGS_DEPTH} levels` });
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkSettingKeys(item, [...path, i], ctx, depth + 1);
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === "" || key.startsWith("$") || key.includes(".") || key.includes("\0") || FORBIDDEN_KEYS.has(key)) {
      ctx.addIssue({ code: "custom", path: [...path, key], message: "Invalid setting name" });
    } else checkSettingKeys(child, [...path, key], ctx, depth + 1);
  }
}

/** Settings as create and PATCH accept them. */
export const settingsSchema = z
  // Not z.record: it rebuilds the object, and an own "__proto__" key would vanish instead of failing.
  .custom<Record<string, unknown>>(isPlainObject, "Expected an object")
  .superRefine((settings, ctx) => {
    if (!isPlainObject(settings)) return;
    checkSettingKeys(settings, [], ctx);
    for (const [name, value] of Object.entries(settings)) {
      // null deletes, so a name stored before this check can still be removed.
      if (!Object.hasOwn(AREAS, name) && value !== null) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `Unknown setting; known: ${Object.keys(AREAS).join(", ")}`,
        });
      }
    }
    for (const [area, schema] of Object.entries(AREAS)) {
      if (settings[area] === undefined) continue;
      const result = schema.safeParse(settings[area]);
      for (const issue of result.error?.issues ?? []) ctx.addIssue({ ...issue, path: [area, ...issue.path] } as never);
    }
  });

/** Deep merge for settings: objects merge, everything else replaces, null deletes. */
export function mergeSettings(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isPlainObject(value)) out[key] = mergeSettings(isPlainObject(out[key]) ? out[key] : {}, value);
    else out[key] = value;
  }
  return out;
}

/** The settings paths that hold secrets: sealed at rest, never shown (a view says `configured`). */
export const SECRET_SETTINGS: ReadonlyArray<readonly [area: string, object: string | null, field: string]> = [
  ["database", null, "uri"],
  ...SOCIAL_PROVIDERS.map((provider) => ["social", provider, "clientSecret"] as const),
];

/** The object of settings that holds a secret field (`database`, `social.github`, ...), if present. */
export function secretHolder(
  settings: Record<string, unknown>,
  area: string,
  object: string | null,
): Record<string, unknown> | undefined {
  const inArea = settings[area];
  const holder = object === null ? inArea : isPlainObject(inArea) ? inArea[object] : undefined;
  return isPlainObject(holder) ? holder : undefined;
}

/** A copy of `settings` with the object that holds a secret field replaced by `holder`. */
export function withSecretHolder(
  settings: Record<string, unknown>,
  area: string,
  object: string | null,
  holder: Record<string, unknown>,
): Record<string, unknown> {
  const areaValue = object === null ? holder : { ...(settings[area] as Record<string, unknown>), [object]: holder };
  return { ...settings, [area]: areaValue };
}

/** Settings as shown outside storage: each secret field becomes `configured: true|false` beside it. */
export function viewSettings(settings: Record<string, unknown>): Record<string, unknown> {
  let view = settings;
  for (const [area, object, field] of SECRET_SETTINGS) {
    const holder = secretHolder(view, area, object);
    if (!holder) continue;
    const { [field]: secret, configured: _ignored, ...rest } = holder;
    view = withSecretHolder(view, area, object, { ...rest, configured: typeof secret === "string" });
  }
  return view;
}
