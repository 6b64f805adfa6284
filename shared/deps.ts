import { type CollectionRegistry, createCollectionRegistry } from "./collections.js";
import type { Config } from "./config.js";
import { createSecretBox } from "./crypto.js";
import { type InFlightRequests, inFlightRequests } from "./in-flight.js";
import { createMailer, type Mailer } from "./mail/index.js";
import { createProjectService, type ProjectService } from "./projects.js";
import { memoryLimiter } from "./ratelimit/memory.js";
import type { RateLimiter } from "./ratelimit/types.js";
import { upstashLimiter } from "./ratelimit/upstash.js";
import { withoutCredentials } from "./redact.js";
import { openStore } from "./store/index.js";
import type { DocumentStore } from "./store/types.js";
import { createUsageRecorder, type UsageRecorder } from "./usage/recorder.js";

/** Time source; tests pass a controllable one. */
export interface Clock {
  now(): number;
}

/** Structured logger; `console` by default. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Everything a function needs, wired once per instance and shared by the apps it serves. */
export interface Deps {
  config: Config;
  clock: Clock;
  log: Logger;
  store: DocumentStore;
  projects: ProjectService;
  /** The project-facing requests under way per project on this instance, which a project's deletion waits for. */
  inFlight: InFlightRequests;
  collections: CollectionRegistry;
  /** Rate limits (API.md §8): Upstash Redis across instances when configured, else this instance's memory. */
  limiter: RateLimiter;
  /** Usage counters and request logs, buffered and written in batches. */
  usage: UsageRecorder;
  /** End-user mail (OTPs); keeps a development outbox outside production. */
  mailer: Mailer;
}

export const systemClock: Clock = { now: () => Date.now() };

/** One log line: JSON, errors with their stack, no URI's `user:password@` (a driver's error may quote one). */
const logLine = (level: string, message: string, fields: Record<string, unknown> | undefined) =>
  JSON.stringify({ level, message, ...fields }, (_key, value) => {
    if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
    return typeof value === "string" ? withoutCredentials(value) : value;
  });

/** Logs one JSON line per event; errors keep their stack in the log, never in a response. */
export const consoleLogger: Logger = {
  info: (message, fields) => console.log(logLine("info", message, fields)),
  warn: (message, fields) => console.warn(logLine("warn", message, fields)),
  error: (message, fields) => console.error(logLine("error", message, fields)),
};

/** Wires the dependencies for a configuration; `overrides` replace single parts (tests, platforms). */
export async function createDeps(
  config: Config,
  overrides: Partial<Pick<Deps, "clock" | "log" | "store" | "mailer" | "limiter" | "usage" | "inFlight">> = {},
): Promise<Deps> {
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? consoleLogger;
  const store = overrides.store ?? (await openStore(config.store));
  const inFlight = overrides.inFlight ?? inFlightRequests();
  const projects = createProjectService({
    store,
    clock,
    secretBox: createSecretBox(config.encryptionKey),
    keyCacheTtlMs: config.keyCacheTtlSeconds * 1000,
    inFlight,
  });
  const collections = createCollectionRegistry({ store, clock, log, ttlMs: config.keyCacheTtlSeconds * 1000 });
  const mailer = overrides.mailer ?? createMailer(config, { clock, log });
  const upstash = config.rateLimits.upstash;
  const limiter = overrides.limiter ?? (upstash ? upstashLimiter(upstash) : memoryLimiter(clock));
  const usage = overrides.usage ?? createUsageRecorder(store, clock, log, { projectDeleted: inFlight.closed });
  return { config, clock, log, store, projects, inFlight, collections, mailer, limiter, usage };
}
