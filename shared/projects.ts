import { z } from "zod";
import { randomToken, type SecretBox } from "./crypto.js";
import type { Clock } from "./deps.js";
import { ApiError } from "./errors.js";
import { parseWith } from "./http.js";
import { newId } from "./ids.js";
import { type InFlightRequests, inFlightRequests } from "./in-flight.js";
import { createKeyCache, generateKey, hashKey, keyTypeOf } from "./keys.js";
import { oneAtATime } from "./one-at-a-time.js";
import { allowlistEntryRefusal, normalizeAllowlistEntry } from "./origin.js";
import type { KeyType, Principal, ProjectSettings, ResolvedProject } from "./principal.js";
import { retryPause } from "./retry-pause.js";
import {
  mergeSettings,
  SECRET_SETTINGS,
  SOCIAL_PROVIDERS,
  type SocialProvider,
  secretHolder,
  settingsSchema,
  viewSettings,
  withSecretHolder,
} from "./settings.js";
import { setupOnce } from "./setup-once.js";
import type { Doc, DocumentStore } from "./store/types.js";

/** A project as the admin API shows it: never key material, the JWT secret or the database URI. */
export interface ProjectView {
  id: string;
  name: string;
  allowedOrigins: string[];
  settings: ProjectSettings;
  createdAt: string;
  updatedAt: string;
  /** Set while a deletion is unfinished (it failed part-way): repeat the DELETE to finish it. */
  retiredAt?: string;
}

/** Plaintext keys, shown once (at creation or rotation). */
export interface IssuedKeys {
  publishable: string;
  secret: string;
}

/** Which keys a rotation replaces. */
export type RotateWhich = "publishable" | "secret" | "both";

/** Projects, their keys, and key → project resolution (cached per instance). */
export interface ProjectService {
  create(input: CreateProjectInput): Promise<{ project: ProjectView; keys: IssuedKeys }>;
  list(): Promise<ProjectView[]>;
  get(id: string): Promise<ProjectView | null>;
  update(id: string, patch: UpdateProjectInput): Promise<ProjectView | null>;
  /**
   * Deletes a project: it stops answering at once (its keys go, it reads as missing), its requests
   * under way on this instance are waited for (see InFlightRequests), then `removeData` runs (its
   * files), then its database and, last, its record go. When a step fails the project stays retired
   * and another call finishes the job; false when there is nothing to delete.
   */
  remove(id: string, removeData?: () => Promise<void>): Promise<boolean>;
  /** Whether the project exists and is not being deleted, read from the store (never cached). */
  isLive(id: string): Promise<boolean>;
  rotateKeys(id: string, which: RotateWhich, graceSeconds?: number): Promise<Partial<IssuedKeys> | null>;
  /**
   * Draws a new secret for the project's access tokens: every one issued before stops working (at
   * once on this instance, within the key cache's TTL on others); one-time codes already mailed stay
   * good. False when there is no such project.
   */
  rotateTokenSecret(id: string): Promise<boolean>;
  resolveKey(apiKey: string): Promise<Principal | null>;
  /**
   * A live project by id with its secrets opened, null when missing: from the store (operator routes
   * reaching its tenant database), or with `cached` as the key cache keeps projects (the same TTL, an
   * unknown id remembered a few seconds), for key-less routes where any client can name an id.
   */
  resolveProject(id: string, options?: { cached?: boolean }): Promise<ResolvedProject | null>;
  stats(): { storeReads: number };
}

const allowedOriginsSchema = z
  .array(
    z.string().transform((entry, ctx) => {
      const normalized = entry.length <= 300 ? normalizeAllowlistEntry(entry) : null;
      if (normalized === null) {
        ctx.addIssue({ code: "custom", message: allowlistEntryRefusal(entry) });
        return z.NEVER;
      }
      return normalized;
    }),
  )
  .max(100)
  .transform((entries) => [...new Set(entries)]);

/** Body of POST /api/admin/projects. */
export const createProjectSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  allowedOrigins: allowedOriginsSchema.optional(),
  settings: settingsSchema.optional(),
});

/** Body of PATCH /api/admin/projects/:id: settings merge deeply, null deletes a setting. */
export const updateProjectSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  allowedOrigins: allowedOriginsSchema.optional(),
  settings: settingsSchema.optional(),
});

/** Body of POST /api/admin/projects/:id/keys/rotate. */
export const rotateKeysSchema = z.strictObject({
  which: z.enum(["publishable", "secret", "both"]),
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 3600)
    .default(0),
});

/** Input of `create` and `update` (validated again inside the service). */
export type CreateProjectInput = z.input<typeof createProjectSchema>;
export type UpdateProjectInput = z.input<typeof updateProjectSchema>;

interface ProjectDoc extends Doc {
  name: string;
  allowedOrigins: string[];
  /** As given, except `database.uri`, which is sealed with the secret box. */
  settings: ProjectSettings;
  jwtSecret: string;
  /**
   * Set when jwtSecret is first renewed (rotateTokenSecret): the one before, still keying code hashes
   * and Idempotency-Key ids.
   */
  codeSecret?: string;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-concurrency counter for PATCH (settings merge is read-modify-write). */
  version: number;
  /** Set when its deletion began: a retired project reads as missing everywhere. */
  retiredAt?: string;
}

interface KeyDoc extends Doc {
  hash: string;
  projectId: string;
  type: KeyType;
  createdAt: string;
  expiresAt: string | null;
}

function toView(doc: ProjectDoc): ProjectView {
  return {
    id: doc._id,
    name: doc.name,
    allowedOrigins: doc.allowedOrigins,
    settings: viewSettings(doc.settings),
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    ...(doc.retiredAt ? { retiredAt: doc.retiredAt } : {}),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Updates of one project on one instance run in turn; these attempts (10–50 ms apart) are for other instances'. */
const MAX_UPDATE_ATTEMPTS = 10;
/** How long a rotation may hold its project's lock, and how often another waits for it (10–50 ms each). */
const ROTATION_LOCK_MS = 30_000;
const ROTATION_LOCK_TRIES = 200;

/** The project service over the platform database; one per deps object (its key cache is per instance). */
export function createProjectService(opts: {
  store: DocumentStore;
  clock: Clock;
  secretBox: SecretBox;
  keyCacheTtlMs: number;
  maxCacheEntries?: number;
  /** The instance's requests under way per project, which a deletion waits for (deps.inFlight). */
  inFlight?: InFlightRequests;
}): ProjectService {
  const { store, clock, secretBox, inFlight = inFlightRequests() } = opts;
  const projects = () => store.platform().collection("projects");
  const keys = () => store.platform().collection("keys");
  const iso = (ms = clock.now()) => new Date(ms).toISOString();
  const cacheOptions = { clock, ttlMs: opts.keyCacheTtlMs, maxEntries: opts.maxCacheEntries ?? 10_000 };
  const cache = createKeyCache<Principal>(cacheOptions); // by key hash
  const updatesInTurn = oneAtATime();
  const projectCache = createKeyCache<ResolvedProject>(cacheOptions); // by project id
  const invalidate = (id: string) => {
    cache.invalidate(id);
    projectCache.invalidate(id);
  };
  let storeReads = 0;

  const indexesMade = setupOnce();
  const ensureIndexes = () =>
    indexesMade("keys", () =>
      Promise.all([keys().createIndex(["hash"], { unique: true }), keys().createIndex(["projectId"])]),
    );

  /** Seals the secrets (SECRET_SETTINGS) in a validated settings value (create input or PATCH patch). */
  const sealSettings = async (settings: Record<string, unknown>) => {
    let sealed = settings;
    for (const [area, object, field] of SECRET_SETTINGS) {
      const holder = secretHolder(sealed, area, object);
      if (!holder) continue;
      const { configured: _ignored, ...rest } = holder;
      if (typeof rest[field] === "string") rest[field] = await secretBox.seal(rest[field]);
      sealed = withSecretHolder(sealed, area, object, rest);
    }
    return sealed;
  };

  const insertKey = async (projectId: string, type: KeyType) => {
    const key = generateKey(type);
    const doc = { hash: hashKey(key), projectId, type, createdAt: iso(), expiresAt: null };
    await keys().insertOne(doc);
    return key;
  };

  /**
   * Takes the project's rotation lock (a conditional update of its document, so it holds across
   * instances): true once taken, false when the project is gone. Waits while another rotation holds
   * it; a lock left by a crashed rotation lapses after ROTATION_LOCK_MS.
   */
  const rotationLock = async (id: string): Promise<boolean> => {
    for (let attempt = 0; attempt < ROTATION_LOCK_TRIES; attempt++) {
      const now = clock.now();
      const free = {
        retiredAt: { $exists: false },
        $or: [{ rotationLock: { $exists: false } }, { rotationLock: { $lt: iso(now) } }],
      };
      const until = { $set: { rotationLock: iso(now + ROTATION_LOCK_MS) } };
      if (await projects().updateOne({ _id: id, ...free }, until)) return true;
      if (!(await findProject(id))) return false;
      await retryPause();
    }
    throw new ApiError("PRECONDITION_FAILED", "Another key rotation of this project is running; retry");
  };
  const unlockRotation = (id: string) => projects().updateOne({ _id: id }, { $unset: { rotationLock: "" } });

  /** Issues new keys of the given types; the old ones are deleted, or kept until the grace period ends. */
  const rotateLocked = async (id: string, which: KeyType | "both", grace: number) => {
    const types: KeyType[] = which === "both" ? ["publishable", "secret"] : [which];
    const now = clock.now();
    const issued: Partial<IssuedKeys> = {};
    for (const type of types) {
      const old = (await keys().find({ projectId: id, type })) as KeyDoc[];
      issued[type] = await insertKey(id, type);
      for (const key of old) {
        const expiresAt = key.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(key.expiresAt);
        const graceEnd = now + grace * 1000;
        if (grace === 0 || !(expiresAt > now)) await keys().deleteOne({ _id: key._id });
        else if (graceEnd < expiresAt) await keys().updateOne({ _id: key._id }, { $set: { expiresAt: iso(graceEnd) } });
      }
    }
    invalidate(id);
    return issued;
  };

  const LIVE = { retiredAt: { $exists: false } };
  const findProject = async (id: string) => (await projects().findOne({ _id: id, ...LIVE })) as ProjectDoc | null;

  /** A sealed setting, opened; undefined when it is not set. */
  const openSecret = async (sealed: unknown) => (typeof sealed === "string" ? secretBox.open(sealed) : undefined);

  /** The social providers' client secrets, opened. */
  const openSocialSecrets = async (settings: Record<string, unknown>) => {
    const secrets: Partial<Record<SocialProvider, string>> = {};
    for (const provider of SOCIAL_PROVIDERS) {
      const secret = await openSecret(secretHolder(settings, "social", provider)?.clientSecret);
      if (secret !== undefined) secrets[provider] = secret;
    }
    return secrets;
  };

  /** Opens a project's secrets and builds the principal a key resolves to. */
  const principalFor = async (project: ProjectDoc, keyType: KeyType): Promise<Principal> => {
    const jwtSecret = await secretBox.open(project.jwtSecret);
    const resolved: ResolvedProject = {
      id: project._id,
      name: project.name,
      allowedOrigins: [...project.allowedOrigins],
      settings: viewSettings(project.settings),
      jwtSecret,
      codeSecret: project.codeSecret === undefined ? jwtSecret : await secretBox.open(project.codeSecret),
      databaseUri: await openSecret(secretHolder(project.settings, "database", null)?.uri),
      socialSecrets: await openSocialSecrets(project.settings),
    };
    return deepFreeze({ project: resolved, keyType });
  };

  /** Reads a key and its project from the store; null (and cached as unknown) when it does not resolve. */
  const loadKey = async (hash: string, keyType: KeyType) => {
    storeReads++;
    const key = (await keys().findOne({ hash })) as KeyDoc | null;
    if (!key || key.type !== keyType) return null;
    const expiresAt = key.expiresAt === null ? null : Date.parse(key.expiresAt);
    if (expiresAt !== null && !(expiresAt > clock.now())) return null;
    storeReads++;
    const project = await findProject(key.projectId);
    if (!project) return null;
    return { value: await principalFor(project, keyType), projectId: project._id, expiresAt };
  };

  return {
    async create(input) {
      const { name, allowedOrigins = [], settings = {} } = parseWith(createProjectSchema, input);
      await ensureIndexes();
      const now = iso();
      const doc: ProjectDoc = {
        _id: newId(clock.now()),
        name,
        allowedOrigins,
        settings: mergeSettings({}, await sealSettings(settings)),
        jwtSecret: await secretBox.seal(randomToken(32)),
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      await projects().insertOne(doc);
      try {
        const issued = {
          publishable: await insertKey(doc._id, "publishable"),
          secret: await insertKey(doc._id, "secret"),
        };
        return { project: toView(doc), keys: issued };
      } catch (error) {
        await keys().deleteMany({ projectId: doc._id });
        await projects().deleteOne({ _id: doc._id });
        throw error;
      }
    },

    // Retired projects are listed (with retiredAt) so an unfinished deletion can be found and finished.
    async list() {
      const docs = await projects().find({}, { sort: { createdAt: 1, _id: 1 } });
      return (docs as ProjectDoc[]).map(toView);
    },

    async get(id) {
      const doc = (await projects().findOne({ _id: id })) as ProjectDoc | null;
      return doc ? toView(doc) : null;
    },

    async update(id, patch) {
      const input = parseWith(updateProjectSchema, patch);
      const settingsPatch = input.settings ? await sealSettings(input.settings) : undefined;
      return updatesInTurn(id, async () => {
        for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
          if (attempt > 0) await retryPause();
          const current = await findProject(id);
          if (!current) return null;
          const set: Partial<ProjectDoc> = { updatedAt: iso(), version: (current.version ?? 0) + 1 };
          if (input.name !== undefined) set.name = input.name;
          if (input.allowedOrigins !== undefined) set.allowedOrigins = input.allowedOrigins;
          if (settingsPatch) set.settings = mergeSettings(current.settings, settingsPatch);
          const versionFilter = current.version === undefined ? { $exists: false } : current.version;
          const updated = (await projects().updateOne(
            { _id: id, version: versionFilter },
            { $set: set },
          )) as ProjectDoc | null;
          if (updated) {
            invalidate(id);
            return toView(updated);
          }
        }
        throw new ApiError("PRECONDITION_FAILED", "The project kept changing while this update was applied: retry it");
      });
    },

    async remove(id, removeData) {
      if (!(await projects().findOne({ _id: id }))) return false;
      await projects().updateOne({ _id: id, ...LIVE }, { $set: { retiredAt: iso() } });
      await keys().deleteMany({ projectId: id });
      invalidate(id);
      // Requests whose key resolved before write until they end: wait for them (REQUESTS_LEASE_MS at
      // most, then they are taken for cancelled), so that what they wrote goes with the rest.
      await inFlight.close(id);
      await removeData?.();
      await store.tenant({ projectId: id }).drop();
      await keys().deleteMany({ projectId: id }); // one a rotation that took its lock before the retirement added
      return (await projects().deleteOne({ _id: id })) !== null; // last: until then a repeat finishes the job
    },

    isLive: async (id) => (await findProject(id)) !== null,

    async rotateKeys(id, which, graceSeconds = 0) {
      const grace = parseWith(rotateKeysSchema, { which, graceSeconds }).graceSeconds;
      if (!(await findProject(id))) return null;
      await ensureIndexes();
      // One rotation at a time per project: two at once would each keep the key it issued.
      return (await rotationLock(id)) ? rotateLocked(id, which, grace).finally(() => unlockRotation(id)) : null;
    },

    async rotateTokenSecret(id) {
      const current = await findProject(id);
      if (!current) return false;
      // The codes mailed before stay good: their hashes keep the secret they were made with.
      const set = {
        jwtSecret: await secretBox.seal(randomToken(32)),
        codeSecret: current.codeSecret ?? current.jwtSecret,
        updatedAt: iso(),
      };
      // Conditional on the secret read: one renewed after this call began does this call's work too.
      const renewed = await projects().updateOne({ _id: id, jwtSecret: current.jwtSecret, ...LIVE }, { $set: set });
      invalidate(id);
      return renewed !== null || (await findProject(id)) !== null;
    },

    async resolveKey(apiKey) {
      const keyType = keyTypeOf(apiKey);
      if (!keyType) return null;
      const hash = hashKey(apiKey);
      return cache.get(hash, () => loadKey(hash, keyType));
    },

    async resolveProject(id, { cached = false } = {}) {
      const load = async () => {
        const doc = await findProject(id);
        return doc ? { value: (await principalFor(doc, "secret")).project, projectId: doc._id, expiresAt: null } : null;
      };
      return cached ? projectCache.get(id, load) : ((await load())?.value ?? null);
    },

    stats: () => ({ storeReads }),
  };
}
