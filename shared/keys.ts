import { randomToken, sha256Hex } from "./crypto.js";
import type { KeyType } from "./principal.js";

/** The prefix every API key of a type starts with (API.md §3). */
export const KEY_PREFIXES: Readonly<Record<KeyType, string>> = Object.freeze({
  publishable: "pk_live_",
  secret: "sk_live_",
});

/** Prefix + at least 32 random bytes in base64url (43 characters); a sane upper bound keeps junk out. */
const KEY_PATTERN = /^(pk|sk)_live_[A-Za-z0-9_-]{43,128}$/;

/** A new API key of the given type: prefix + 32 random bytes, base64url. Shown once, never stored. */
export function generateKey(type: KeyType): string {
  return KEY_PREFIXES[type] + randomToken(32);
}

/** The value stored for a key: its SHA-256, lower-case hex. */
export function hashKey(key: string): string {
  return sha256Hex(key);
}

/** The key type a well-formed key announces by its prefix; null when the key is malformed. */
export function keyTypeOf(key: string): KeyType | null {
  const match = KEY_PATTERN.exec(key);
  if (!match) return null;
  return match[1] === "pk" ? "publishable" : "secret";
}

/** What a cache loader returns for a key that resolves. */
export interface LoadedKey<T> {
  value: T;
  projectId: string;
  /** When the key itself stops working (grace period after rotation), epoch ms; null = never. */
  expiresAt: number | null;
}

/** A per-instance cache of resolved keys, keyed by key hash. */
export interface KeyCache<T> {
  /** The cached value for a hash, else `load()` (deduplicated per hash); null = unknown key. */
  get(hash: string, load: () => Promise<LoadedKey<T> | null>): Promise<T | null>;
  /** Forgets every entry of a project and every lookup in flight. */
  invalidate(projectId: string): void;
}

/** Longest time an unknown key is remembered as unknown. */
const NEGATIVE_TTL_MS = 5_000;

/**
 * Creates a bounded key cache: resolved keys live `ttlMs`, unknown keys a few seconds, and a
 * cached key still stops at its own expiry. Oldest entries go first when a map is full.
 */
export function createKeyCache<T>(opts: { clock: { now(): number }; ttlMs: number; maxEntries: number }): KeyCache<T> {
  const { clock, ttlMs, maxEntries } = opts;
  const negativeTtlMs = Math.min(ttlMs, NEGATIVE_TTL_MS);
  const known = new Map<string, LoadedKey<T> & { until: number }>();
  const unknown = new Map<string, number>();
  const inflight = new Map<string, Promise<T | null>>();
  let generation = 0;

  const bounded = <V>(map: Map<string, V>, key: string, value: V) => {
    map.delete(key);
    while (map.size >= maxEntries) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
    map.set(key, value);
  };
  const rememberUnknown = (hash: string, now: number) => {
    if (negativeTtlMs > 0) bounded(unknown, hash, now + negativeTtlMs);
  };

  return {
    get(hash, load) {
      const now = clock.now();
      const hit = known.get(hash);
      if (hit) {
        if (hit.expiresAt !== null && now >= hit.expiresAt) {
          known.delete(hash);
          rememberUnknown(hash, now);
          return Promise.resolve(null);
        }
        if (now < hit.until) return Promise.resolve(hit.value);
        known.delete(hash);
      }
      const unknownUntil = unknown.get(hash);
      if (unknownUntil !== undefined) {
        if (now < unknownUntil) return Promise.resolve(null);
        unknown.delete(hash);
      }
      const pending = inflight.get(hash);
      if (pending) return pending;

      const startedIn = generation;
      const lookup = load()
        .then((loaded) => {
          if (startedIn === generation) {
            const at = clock.now();
            if (!loaded) rememberUnknown(hash, at);
            else if (ttlMs > 0) bounded(known, hash, { ...loaded, until: at + ttlMs });
          }
          return loaded ? loaded.value : null;
        })
        .finally(() => {
          if (inflight.get(hash) === lookup) inflight.delete(hash);
        });
      inflight.set(hash, lookup);
      return lookup;
    },

    invalidate(projectId) {
      generation++;
      inflight.clear();
      for (const [hash, entry] of known) if (entry.projectId === projectId) known.delete(hash);
    },
  };
}
