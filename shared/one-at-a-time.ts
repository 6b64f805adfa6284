import { waitAtMost } from "./wait-at-most.js";

/** How long a task waits for the one before it: past that it is taken for cancelled (see waitAtMost). */
export const TURN_LEASE_MS = 10_000;

/**
 * Runs the tasks given the same key one after another, on this instance (a promise chain per key);
 * tasks of other keys run alongside. A task waits for the one before it at most `leaseMs` (a request
 * cancelled on Workers never settles its task), then runs anyway. Across instances a task needs its
 * own guard (a conditional write) all the same, which also keeps tasks correct that overlap so: this
 * only spares one instance's tasks from racing each other.
 */
export function oneAtATime(leaseMs = TURN_LEASE_MS): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const before = tails.get(key);
    const result = (before ? waitAtMost(before, leaseMs) : Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}
