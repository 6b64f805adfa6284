/**
 * Admin usage and request logs (API.md §8): GET /api/admin/projects/:id/usage?days=30 (the days, and
 * each quota's limit beside what it counts now) and …/logs?limit=100.
 */
import type { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../shared/app.js";
import type { Deps } from "../../shared/deps.js";
import { ApiError } from "../../shared/errors.js";
import { ok, zodDetails } from "../../shared/http.js";
import { isId } from "../../shared/ids.js";
import { mailsPerMonth, mailsSentThisMonth } from "../../shared/mail/allowance.js";
import { collectionsQuota, quotaUsage } from "../../shared/quotas.js";
import { storagePolicy } from "../../shared/storage/policy.js";
import { storageBytesUsed } from "../../shared/storage/quota.js";
import {
  bucketEntries,
  dayOf,
  LOG_COLLECTION,
  LOG_RETENTION,
  type RequestLogEntry,
  USAGE_COLLECTION,
} from "../../shared/usage/recorder.js";

/** A query parameter in decimal digits (not `1e2`, `0x10` or ` 5`) from `min` to `max`. */
function count(min: number, max: number, fallback: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d{1,7}$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message))
    .default(fallback);
}
const usageQuery = z.object({ days: count(1, 366, 30) });
const logsQuery = z.object({ limit: count(1, 1000, 100) });

/** A query parsed with `schema`; bad values → 400 INVALID_QUERY naming them. */
function query<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError("INVALID_QUERY", undefined, { details: zodDetails(result.error) });
  return result.data;
}

/** The usage and logs routes; `:id` must name an existing project. */
export function usageRoutes(app: Hono<AppEnv>, deps: Deps): void {
  const project = async (id: string | undefined) => {
    if (!isId(id)) throw new ApiError("INVALID_ID");
    if (!(await deps.projects.get(id))) throw new ApiError("PROJECT_NOT_FOUND");
    await deps.usage.flush(); // this instance's buffer first, so the answer includes recent requests
    return id;
  };

  /** Each quota's limit (null: none) beside what it counts now, so an operator sees what is near. */
  const quotasOf = async (projectId: string) => {
    const resolved = await deps.projects.resolveProject(projectId);
    if (!resolved) throw new ApiError("PROJECT_NOT_FOUND");
    const limits = (resolved.settings.quotas ?? {}) as Record<string, number | undefined>;
    const counted = await quotaUsage(deps, resolved);
    return {
      documentsBytes: { limit: limits.documentsBytes ?? null, used: counted.documentsBytes },
      users: { limit: limits.users ?? null, used: counted.users },
      storageBytes: {
        limit: storagePolicy(resolved).quotaBytes ?? null,
        used: await storageBytesUsed(deps, projectId),
      },
      mailsPerMonth: { limit: mailsPerMonth(resolved), used: await mailsSentThisMonth(deps, projectId) },
      // null while the project's own database cannot be read, as `users`.
      collections: {
        limit: collectionsQuota(resolved),
        used: await deps.collections.count(resolved).catch(() => null),
      },
    };
  };

  app.get("/api/admin/projects/:id/usage", async (c) => {
    const projectId = await project(c.req.param("id"));
    const { days } = query(usageQuery, c.req.query());
    const since = dayOf(deps.clock.now() - (days - 1) * 86_400_000);
    const docs = await deps.store
      .platform()
      .collection(USAGE_COLLECTION)
      .find({ projectId, day: { $gte: since } }, { sort: { day: 1 } });
    const list = docs.map(({ _id, projectId: _p, ...day }) => day);
    return ok(c, { projectId, days, since, usage: list, quotas: await quotasOf(projectId) });
  });

  app.get("/api/admin/projects/:id/logs", async (c) => {
    const projectId = await project(c.req.param("id"));
    const { limit } = query(logsQuery, c.req.query());
    const buckets = deps.store.platform().collection(LOG_COLLECTION);
    let entries: RequestLogEntry[] = [];
    // Kept for LOG_RETENTION.days: older buckets go when the project next writes one, so none is shown here.
    const oldest = new Date(deps.clock.now() - LOG_RETENTION.days * 86_400_000).toISOString();
    // Buckets by their newest entry, newest first. Buckets of several instances overlap in time, so
    // they are read until one's newest entry is older than the `limit`-th newest found so far.
    for (const bucket of await buckets.find({ projectId }, { sort: { time: -1, _id: -1 } })) {
      if (entries.length >= limit && (bucket.time as string) < (entries[limit - 1] as RequestLogEntry).time) break;
      entries.push(...bucketEntries(bucket).filter((entry) => entry.time >= oldest));
      entries = entries.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, limit);
    }
    return ok(c, { projectId, logs: entries });
  });
}
