/**
 * The monthly allowance of app mail (POST /api/mail/send): a project sends at most
 * `settings.quotas.mailsPerMonth` mails per calendar month (UTC), DEFAULT_MAILS_PER_MONTH unless the
 * operator sets it; 0 turns app mail off. The count lives in the platform database, so it holds
 * across instances, and is reserved atomically before sending. OTP mails of the auth routes do not count.
 */
import type { Deps } from "../deps.js";
import { ApiError } from "../errors.js";
import type { ResolvedProject } from "../principal.js";
import { rateLimitHeaders } from "../ratelimit/middleware.js";
import { DuplicateKeyError } from "../store/types.js";

const COUNTERS = "mail_usage";
export const DEFAULT_MAILS_PER_MONTH = 100;

type AllowanceDeps = Pick<Deps, "store" | "clock">;

/** The project's app mails per month. */
export function mailsPerMonth(project: ResolvedProject): number {
  const value = (project.settings.quotas as Record<string, unknown> | undefined)?.mailsPerMonth;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : DEFAULT_MAILS_PER_MONTH;
}

/** What a reservation took: the month's count with it, and a way to give back mails that were not sent. */
export interface MailReservation {
  used: number;
  limit: number;
  giveBack(count: number): Promise<void>;
}

/**
 * Reserves `count` mails of this month's allowance. Past it: 429 RATE_LIMITED (RateLimit-* headers
 * for the month, Retry-After at the next), as urBackend answers ("Monthly mail limit exceeded"), so
 * its SDK's RateLimitError fits.
 */
export async function reserveMails(
  deps: AllowanceDeps,
  project: ResolvedProject,
  count: number,
): Promise<MailReservation> {
  const limit = mailsPerMonth(project);
  const now = new Date(deps.clock.now());
  const month = now.toISOString().slice(0, 7);
  const counters = deps.store.platform().collection(COUNTERS);
  const take = () =>
    counters.updateOne({ _id: project.id, month, sent: { $lte: limit - count } }, { $inc: { sent: count } });
  let taken = count <= limit ? await take() : null;
  if (!taken && count <= limit) {
    // The month's first mail: start its count (once, whichever instance gets there first), then take.
    // Only ever forward ("YYYY-MM" sorts by time): a request stamped a moment before midnight on a
    // clock behind the others must not set the new month's count back.
    await counters.updateOne({ _id: project.id, month: { $lt: month } }, { $set: { month, sent: 0 } });
    await counters.insertOne({ _id: project.id, month, sent: 0 }).catch((error: unknown) => {
      if (!(error instanceof DuplicateKeyError)) throw error;
    });
    taken = await take();
  }
  if (!taken) {
    const counted = await counters.findOne({ _id: project.id, month });
    const used = typeof counted?.sent === "number" ? counted.sent : 0;
    const resetAt = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1);
    const remaining = Math.max(0, limit - used);
    throw new ApiError("RATE_LIMITED", `Monthly mail limit exceeded (${limit} a month)`, {
      headers: rateLimitHeaders({ limit, remaining, resetAt, allowed: false }, now.getTime()),
    });
  }
  return {
    used: taken.sent as number,
    limit,
    giveBack: async (unsent) => {
      if (unsent <= 0) return;
      await counters.updateOne({ _id: project.id, month, sent: { $gte: unsent } }, { $inc: { sent: -unsent } });
    },
  };
}

/** The app mails the project sent this month (UTC), as its allowance counts them. */
export async function mailsSentThisMonth(deps: AllowanceDeps, projectId: string): Promise<number> {
  const month = new Date(deps.clock.now()).toISOString().slice(0, 7);
  const counted = await deps.store.platform().collection(COUNTERS).findOne({ _id: projectId, month });
  return typeof counted?.sent === "number" ? counted.sent : 0;
}

/** Drops the project's count (when the project goes). */
export async function forgetMailCount(deps: Pick<Deps, "store">, projectId: string): Promise<void> {
  await deps.store.platform().collection(COUNTERS).deleteOne({ _id: projectId });
}
