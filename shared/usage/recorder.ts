import type { Clock, Logger } from "../deps";
import { type DocumentStore, DuplicateKeyError } from "../store/types";

/** Counters kept per project per day besides requests (API.md §8). */
export type Metric = "documentsWritten" | "storageBytes" | "users" | "mails";

/** One request as the admin logs show it. */
export interface RequestLogEntry {
  projectId: string;
  time: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  keyType: "publishable" | "secret";
  function: string;
}

/** Usage and request logs, buffered per instance and written in batches: recording never waits on the store. */
export interface UsageRecorder {
  request(entry: RequestLogEntry): void;
  count(projectId: string, metric: Metric, amount?: number): void;
  /** Writes the buffer when it is due (size or age); the promise is for waitUntil. */
  flushIfDue(): Promise<void> | undefined;
  flush(): Promise<void>;
}

const FLUSH_EVERY_MS = 5_000;
const FLUSH_AT_ENTRIES = 500;
/** Request logs kept per project: the newest entries, at most this many, at most this old. */
export const LOG_RETENTION = { entries: 1000, days: 7 };

export const USAGE_COLLECTION = "usage";
export const LOG_COLLECTION = "request_logs";

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The usage recorder over the platform database. */
export function createUsageRecorder(store: DocumentStore, clock: Clock, log: Logger): UsageRecorder {
  let counters = new Map<string, Record<string, number>>(); // "<projectId>|<day>" → dotted counter → amount
  let entries: RequestLogEntry[] = [];
  let lastFlush = clock.now();
  let flushing: Promise<void> = Promise.resolve();

  const add = (projectId: string, counter: string, amount: number) => {
    const key = `${projectId}|${dayOf(clock.now())}`;
    const day = counters.get(key) ?? {};
    day[counter] = (day[counter] ?? 0) + amount;
    counters.set(key, day);
  };

  const writeCounters = async (key: string, inc: Record<string, number>) => {
    const [projectId, day] = key.split("|") as [string, string];
    const usage = store.platform().collection(USAGE_COLLECTION);
    const _id = `${projectId}:${day}`;
    if (await usage.updateOne({ _id }, { $inc: inc })) return;
    try {
      await usage.insertOne({ _id, projectId, day });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error; // another instance created it first
    }
    await usage.updateOne({ _id }, { $inc: inc });
  };

  let logIndexes: Promise<void> | undefined;
  /**
   * Request logs are stored in buckets, one document per project per flush (entries oldest first),
   * so recording costs one insert per project per flush, whatever the traffic.
   */
  const writeLogs = async (batch: RequestLogEntry[]) => {
    const logs = store.platform().collection(LOG_COLLECTION);
    logIndexes ??= Promise.all([logs.createIndex("projectId"), logs.createIndex("time")]).then(() => undefined);
    await logIndexes;
    const byProject = new Map<string, RequestLogEntry[]>();
    for (const entry of batch) {
      const entries = byProject.get(entry.projectId);
      if (entries) entries.push(entry);
      else byProject.set(entry.projectId, [entry]);
    }
    const oldest = new Date(clock.now() - LOG_RETENTION.days * 86_400_000).toISOString();
    for (const [projectId, all] of byProject) {
      const entries = all.slice(-LOG_RETENTION.entries).map(({ projectId: _p, ...entry }) => entry);
      await logs.insertOne({ projectId, time: entries.at(-1)?.time, count: entries.length, entries });
      await logs.deleteMany({ projectId, time: { $lt: oldest } });
      // Keep the newest buckets that hold LOG_RETENTION.entries entries; drop the rest.
      const buckets = await logs.find({ projectId }, { sort: { time: -1, _id: -1 }, projection: { count: 1 } });
      let kept = 0;
      const expired: string[] = [];
      for (const bucket of buckets) {
        if (kept >= LOG_RETENTION.entries) expired.push(bucket._id);
        kept += bucket.count as number;
      }
      if (expired.length > 0) await logs.deleteMany({ _id: { $in: expired } });
    }
  };

  const flush = () => {
    const [batchCounters, batchEntries] = [counters, entries];
    counters = new Map();
    entries = [];
    lastFlush = clock.now();
    flushing = flushing.then(async () => {
      try {
        for (const [key, inc] of batchCounters) await writeCounters(key, inc);
        if (batchEntries.length > 0) await writeLogs(batchEntries);
      } catch (error) {
        log.warn("usage flush failed; this batch is dropped", { error: String(error) });
      }
    });
    return flushing;
  };

  return {
    request(entry) {
      entries.push(entry);
      add(entry.projectId, `requests.${entry.function}.${Math.floor(entry.status / 100)}xx`, 1);
    },
    count(projectId, metric, amount = 1) {
      if (amount !== 0) add(projectId, metric, amount);
    },
    flushIfDue() {
      const due = entries.length >= FLUSH_AT_ENTRIES || clock.now() - lastFlush >= FLUSH_EVERY_MS;
      return due && (entries.length > 0 || counters.size > 0) ? flush() : undefined;
    },
    flush,
  };
}
