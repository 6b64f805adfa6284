/**
 * Waits for work another request started, at most `ms`; true when it settled in time. On Workers a
 * request that waits only on a promise another request settles is cancelled as hung, and a cancelled
 * request stops at its pending I/O without running its `finally` blocks, so what it started may
 * never settle. The timer keeps I/O of this request's own pending (no hang) and bounds the wait (a
 * cancelled request holds the others up for `ms` at most).
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lapsed = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      lapsed,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
