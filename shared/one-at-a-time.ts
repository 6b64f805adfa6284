import { waitAtMost } from "./wait-at-most.js";

/** How long a task waits for the one before it: past that it is taken for cancelled (see waitAtMost). */
export const TURN_LEASE_MS = 10_000;

/**
 * Runs the tasks given the same key one after another, on this instance (a promise chain per key);
 * tasks of other keys run alongside. Each task has `leaseMs` to run from its turn: the next waits for
 * it until then at most (a request cancelled on Workers never settles its task), then runs anyway;
 * deadlines follow each other, so tasks queued behind one that never ends still run in turn. Across
 * instances a task needs its own guard (a conditional write) all the same, which also keeps tasks
 * correct that overlap so: this only spares one instance's tasks from racing each other.
 */
export function oneAtATime(leaseMs = TURN_LEASE_MS): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const queues = new Map<string, { tail: Promise<unknown>; deadline: number }>();
  return (key, task) => {
    const before = queues.get(key);
    const now = Date.now();
    const turn = Math.max(now, before?.deadline ?? now);
    const result = (before ? waitAtMost(before.tail, turn - now) : Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    const queued = { tail, deadline: turn + leaseMs };
    queues.set(key, queued);
    void tail.then(() => {
      if (queues.get(key) === queued) queues.delete(key);
    });
    return result;
  };
}
