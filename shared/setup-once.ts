/**
 * Runs idempotent set-up (creating indexes) until it has once succeeded per key. Only success is
 * remembered, never the pending work: on Workers, work started by one request stops when that
 * request ends, so a request awaiting another's promise could wait forever. Concurrent first
 * requests each run the set-up, which is why it must be idempotent.
 */
export function setupOnce(maxKeys = 10_000): (key: string, setup: () => Promise<unknown>) => Promise<void> {
  const done = new Set<string>();
  return async (key, setup) => {
    if (done.has(key)) return;
    await setup();
    if (done.size >= maxKeys) done.clear();
    done.add(key);
  };
}
