import type { Clock, Logger } from "../deps.js";
import { setupOnce } from "../setup-once.js";
import { type DocumentStore, DuplicateKeyError } from "../store/types.js";

/** Counters kept per project per day besides requests (API.md §8). */
export type Metric = "documentsWritten" | "storageBytes" | "users" | "mails";

/** One answered request, as the usage middleware reports it. */
export interface RequestRecord {
  projectId: string;
  /** When the request started, epoch ms. */
  time: number;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  keyType: "publishable" | "secret";
  function: string;
}

/** One request as the admin logs show it (newest first). */
export type RequestLogEntry = Omit<RequestRecord, "projectId" | "time"> & { time: string };

/** Usage and request logs, buffered per instance and written in batches: recording never waits on the store. */
export interface UsageRecorder {
  request(record: RequestRecord): void;
  count(projectId: string, metric: Metric, amount?: number): void;
  /**
   * Writes the buffer when it is due (size or age), else sees that a flush follows within
   * FLUSH_EVERY_MS (a timer), so nothing recorded waits for a next request, which an instance may
   * never get. The promise is for waitUntil: a Worker's request stays alive until it is done.
   */
  flushIfDue(): Promise<void> | undefined;
  flush(): Promise<void>;
}

const FLUSH_EVERY_MS = 5_000;
const FLUSH_AT_ENTRIES = 1000;
/** Request logs kept per project: the newest entries, at most this many, at most this old. */
export const LOG_RETENTION = { entries: 1000, days: 7 };
/** A logged path is cut after this many characters (and marked with "…"), so a log stays small. */
export const MAX_LOGGED_PATH = 512;

export const USAGE_COLLECTION = "usage";
export const LOG_COLLECTION = "request_logs";

const DAY_MS = 86_400_000;
/** Removes a deleted project's usage and request logs (this instance's buffer is written first, then goes too). */
export async function forgetUsage(deps: { store: DocumentStore; usage: UsageRecorder }, projectId: string) {
  await deps.usage.flush();
  const platform = deps.store.platform();
  await platform.collection(USAGE_COLLECTION).deleteMany({ projectId });
  await platform.collection(LOG_COLLECTION).deleteMany({ projectId });
}

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * A project's requests column by column, oldest first: buffered so that no object per request
 * outlives its request, and stored so in log buckets (arrays of scalars are cheap to write).
 */
interface LogColumns {
  time: number[];
  method: string[];
  path: string[];
  status: number[];
  durationMs: number[];
  keyType: Array<RequestRecord["keyType"]>;
  function: string[];
}

const emptyColumns = (): LogColumns => ({
  time: [],
  method: [],
  path: [],
  status: [],
  durationMs: [],
  keyType: [],
  function: [],
});

/**
 * The newest `n` requests of a log, oldest first by start time. Requests are recorded as they end, so
 * a slow one comes after requests that started later.
 */
function newest(log: LogColumns, n: number): LogColumns {
  const order = log.time.map((_, i) => i).sort((a, b) => (log.time[a] as number) - (log.time[b] as number));
  const kept = order.slice(Math.max(0, order.length - n));
  const pick = <T>(column: T[]) => kept.map((i) => column[i] as T);
  return {
    time: pick(log.time),
    method: pick(log.method),
    path: pick(log.path),
    status: pick(log.status),
    durationMs: pick(log.durationMs),
    keyType: pick(log.keyType),
    function: pick(log.function),
  };
}

/** A stored log bucket's entries, newest first. */
export function bucketEntries(bucket: Record<string, unknown>): RequestLogEntry[] {
  // Buckets written before the column layout hold their entries as objects, oldest first.
  if (Array.isArray(bucket.entries)) return [...(bucket.entries as RequestLogEntry[])].reverse();
  const log = bucket.log as LogColumns;
  const entries: RequestLogEntry[] = [];
  for (let i = log.time.length - 1; i >= 0; i--) {
    entries.push({
      time: new Date(log.time[i] as number).toISOString(),
      method: log.method[i] as string,
      path: log.path[i] as string,
      status: log.status[i] as number,
      durationMs: log.durationMs[i] as number,
      keyType: log.keyType[i] as RequestRecord["keyType"],
      function: log.function[i] as string,
    });
  }
  return entries;
}

/** The usage recorder over the platform database. */
export function createUsageRecorder(
  store: DocumentStore,
  clock: Clock,
  logger: Logger,
  {
    flushEveryMs = FLUSH_EVERY_MS,
    projectDeleted = () => false,
  }: {
    flushEveryMs?: number;
    /**
     * Whether the project's deletion began on this instance (deps.inFlight.closed): what its requests
     * report after is dropped, as a row written then would outlive the deletion, which removes what
     * was recorded before.
     */
    projectDeleted?: (projectId: string) => boolean;
  } = {},
): UsageRecorder {
  let counters = new Map<string, Record<string, number>>(); // "<projectId>|<day>" → dotted counter → amount
  let logs = new Map<string, LogColumns>(); // projectId → requests since the last flush
  let buffered = 0;
  let lastFlush = clock.now();
  let flushing: Promise<void> = Promise.resolve();
  let trailing: Promise<void> | undefined;
  /** Whether anything recorded waits to be written. */
  const holding = () => buffered > 0 || counters.size > 0;

  const add = (projectId: string, day: string, counter: string, amount: number) => {
    const key = `${projectId}|${day}`;
    const counts = counters.get(key) ?? {};
    counts[counter] = (counts[counter] ?? 0) + amount;
    counters.set(key, counts);
  };

  /** The request counters of a project's buffered log: `requests.<function>.<n>xx` per day. */
  const countRequests = (projectId: string, log: LogColumns) => {
    for (let i = 0; i < log.time.length; ) {
      const time = log.time[i] as number;
      const dayNumber = Math.floor(time / DAY_MS);
      const day = dayOf(time);
      const byFunction = new Map<string, number[]>(); // function → requests by status class (index 1–5)
      for (; i < log.time.length && Math.floor((log.time[i] as number) / DAY_MS) === dayNumber; i++) {
        const fn = log.function[i] as string;
        const classes = byFunction.get(fn) ?? [0, 0, 0, 0, 0, 0];
        const c = Math.floor((log.status[i] as number) / 100);
        classes[c] = (classes[c] ?? 0) + 1;
        byFunction.set(fn, classes);
      }
      for (const [fn, classes] of byFunction) {
        for (const [c, n] of classes.entries()) if (n > 0) add(projectId, day, `requests.${fn}.${c}xx`, n);
      }
    }
  };

  const indexesMade = setupOnce();
  const writeCounters = async (key: string, inc: Record<string, number>) => {
    const [projectId, day] = key.split("|") as [string, string];
    const usage = store.platform().collection(USAGE_COLLECTION);
    // The usage route reads a project's days and a deletion removes them: by projectId, not a scan.
    await indexesMade("usage", () => usage.createIndex(["projectId"]));
    const _id = `${projectId}:${day}`;
    if (await usage.updateOne({ _id }, { $inc: inc })) return;
    try {
      await usage.insertOne({ _id, projectId, day });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error; // another instance created it first
    }
    await usage.updateOne({ _id }, { $inc: inc });
  };

  /**
   * Request logs are stored in buckets, one document per project per flush (its requests column by
   * column, oldest first, dated by the newest), so recording costs one insert per project per flush,
   * whatever the traffic.
   */
  const writeLog = async (projectId: string, all: LogColumns) => {
    const buckets = store.platform().collection(LOG_COLLECTION);
    await indexesMade("logs", () => Promise.all([buckets.createIndex(["projectId"]), buckets.createIndex(["time"])]));
    const log = newest(all, LOG_RETENTION.entries);
    const time = new Date(log.time.at(-1) as number).toISOString();
    await buckets.insertOne({ projectId, time, count: log.time.length, log });
    const oldest = new Date(clock.now() - LOG_RETENTION.days * DAY_MS).toISOString();
    await buckets.deleteMany({ projectId, time: { $lt: oldest } });
    // Keep the newest buckets that hold LOG_RETENTION.entries entries; drop the rest.
    const kept = await buckets.find({ projectId }, { sort: { time: -1, _id: -1 }, projection: { count: 1 } });
    let entries = 0;
    const expired: string[] = [];
    for (const bucket of kept) {
      if (entries >= LOG_RETENTION.entries) expired.push(bucket._id);
      entries += bucket.count as number;
    }
    if (expired.length > 0) await buckets.deleteMany({ _id: { $in: expired } });
  };

  const flush = () => {
    for (const [projectId, log] of logs) countRequests(projectId, log);
    const [batchCounters, batchLogs] = [counters, logs];
    counters = new Map();
    logs = new Map();
    buffered = 0;
    lastFlush = clock.now();
    // Each write on its own: one that fails (a store hiccup, a refused document) drops only its part.
    const attempt = async (part: string, write: () => Promise<void>) => {
      try {
        await write();
      } catch (error) {
        logger.warn("usage flush failed; this part of the batch is dropped", { part, error: String(error) });
      }
    };
    flushing = flushing.then(async () => {
      for (const [key, inc] of batchCounters) await attempt(`counters ${key}`, () => writeCounters(key, inc));
      for (const [projectId, log] of batchLogs) await attempt(`log ${projectId}`, () => writeLog(projectId, log));
    });
    return flushing;
  };

  return {
    request(record) {
      if (projectDeleted(record.projectId)) return;
      const log = logs.get(record.projectId) ?? emptyColumns();
      logs.set(record.projectId, log);
      log.time.push(record.time);
      log.method.push(record.method);
      log.path.push(record.path.length > MAX_LOGGED_PATH ? `${record.path.slice(0, MAX_LOGGED_PATH)}…` : record.path);
      log.status.push(record.status);
      log.durationMs.push(record.durationMs);
      log.keyType.push(record.keyType);
      log.function.push(record.function);
      buffered++;
    },
    count(projectId, metric, amount = 1) {
      if (amount !== 0 && !projectDeleted(projectId)) add(projectId, dayOf(clock.now()), metric, amount);
    },
    flushIfDue() {
      if (!holding()) return undefined;
      if (buffered >= FLUSH_AT_ENTRIES || clock.now() - lastFlush >= flushEveryMs) return flush();
      if (trailing) return undefined;
      const wait = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, flushEveryMs) as unknown as { unref?: () => void };
        timer.unref?.(); // Node: it never keeps a process up
      });
      trailing = wait.then(() => {
        trailing = undefined;
        return holding() ? flush() : undefined;
      });
      return trailing;
    },
    flush,
  };
}
