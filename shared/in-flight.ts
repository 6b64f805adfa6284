import { waitAtMost } from "./wait-at-most.js";

/**
 * How long a project's deletion waits for the project's requests under way on this instance: past it
 * they are taken for cancelled (a request cancelled on Workers never ends, see waitAtMost) and the
 * deletion goes on without them.
 */
export const REQUESTS_LEASE_MS = 5_000;

/** Projects whose deletion began, remembered per instance (the oldest are forgotten past this many). */
const CLOSED_KEPT = 1000;

/**
 * The requests of each project under way on this instance, so that deleting the project waits for
 * them: a request whose key resolved before the deletion writes until it ends, and what it writes
 * after the deletion removed the project's data would stay. Entering and leaving is a map update,
 * never a store call (every project-facing request pays it).
 */
export interface InFlightRequests {
  /** Counts a request of the project in; false when the project's deletion began here (refuse the request). */
  enter(projectId: string): boolean;
  /** Counts it out (once per `enter` that returned true). */
  leave(projectId: string): void;
  /** Whether the project's deletion began on this instance: what its requests did is no longer recorded. */
  closed(projectId: string): boolean;
  /** Refuses the project's new requests, then waits for those under way: true once they ended, false past the lease. */
  close(projectId: string): Promise<boolean>;
}

/** Creates an instance's count of requests under way per project. */
export function inFlightRequests(leaseMs = REQUESTS_LEASE_MS): InFlightRequests {
  const running = new Map<string, number>();
  /** Called when the project's last request leaves (the deletions waiting for it). */
  const waiting = new Map<string, () => void>();
  const closed = new Set<string>();

  return {
    enter(projectId) {
      if (closed.has(projectId)) return false;
      running.set(projectId, (running.get(projectId) ?? 0) + 1);
      return true;
    },
    leave(projectId) {
      const left = (running.get(projectId) ?? 1) - 1;
      if (left > 0) {
        running.set(projectId, left);
        return;
      }
      running.delete(projectId);
      waiting.get(projectId)?.();
      waiting.delete(projectId);
    },
    closed: (projectId) => closed.has(projectId),
    async close(projectId) {
      closed.delete(projectId); // re-added as the newest
      closed.add(projectId);
      if (closed.size > CLOSED_KEPT) closed.delete(closed.values().next().value as string);
      if (!running.has(projectId)) return true;
      const ended = new Promise<void>((resolve) => {
        const before = waiting.get(projectId);
        waiting.set(projectId, () => {
          before?.();
          resolve();
        });
      });
      const inTime = await waitAtMost(ended, leaseMs);
      // The requests still counted are taken for cancelled: a later deletion does not wait for them
      // again, and one waiting already (a second DELETE) goes on now too.
      if (!inTime) {
        running.delete(projectId);
        waiting.get(projectId)?.();
        waiting.delete(projectId);
      }
      return inTime;
    },
  };
}

/**
 * Runs `work` as one of the project's requests under way (see InFlightRequests), for a route that
 * resolves its project without requireApiKey; throws `refuse()` instead when the project's deletion
 * began on this instance. requireApiKey counts its requests in and out inline: on every project-facing
 * request, the closure this takes would be a cost of its own.
 */
export async function whileUnderWay<T>(
  inFlight: InFlightRequests,
  projectId: string,
  refuse: () => Error,
  work: () => Promise<T>,
): Promise<T> {
  if (!inFlight.enter(projectId)) throw refuse();
  try {
    return await work();
  } finally {
    inFlight.leave(projectId);
  }
}
