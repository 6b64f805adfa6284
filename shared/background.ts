/**
 * Work a request starts that must finish but need not hold up its answer (a code's mail, a usage
 * flush, a limiter's sync). Workers keep a request alive for what is handed to waitUntil, and so does
 * Vercel (its entry passes Vercel's waitUntil as the execution context); a Node server lives on, so the
 * work simply runs. AWS Lambda freezes the instance as soon as the handler returns: there, work that
 * must not be lost has to be done before the answer.
 */
import type { Context } from "hono";

/** Hands `work` to the runtime's waitUntil; false where there is none (it then runs on its own). */
export function handToRuntime(c: Context, work: Promise<unknown>): boolean {
  const settled = work.catch(() => undefined);
  try {
    c.executionCtx.waitUntil(settled);
    return true;
  } catch {
    return false;
  }
}

/** Whether nothing runs once the answer is given (AWS Lambda: hono/aws-lambda binds `lambdaContext`). */
export function freezesAfterAnswer(c: Context): boolean {
  return (c.env as { lambdaContext?: unknown } | undefined)?.lambdaContext !== undefined;
}

/**
 * Sees `work` done: after the answer where the runtime allows it, before it (awaited here) where
 * nothing runs after the answer; a Node server lets it run on its own (see `workOnItsOwn`).
 */
export async function finishWork(c: Context, work: Promise<unknown>): Promise<void> {
  if (handToRuntime(c, work)) return;
  if (freezesAfterAnswer(c)) await work.catch(() => undefined);
  else workOnItsOwn.add(work);
}

/**
 * Work that must be seen done before letting go of what it uses: a Worker closes the request's
 * MongoDB client after what was handed to its waitUntil, the local server waits for `workOnItsOwn`
 * before stopping. Work added while waiting (a mail's usage flush, started once the mail is out) is
 * waited for too.
 */
export class PendingWork {
  readonly #work = new Set<Promise<unknown>>();

  add(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#work.add(settled);
    void settled.then(() => this.#work.delete(settled));
  }

  /** Resolves once nothing is pending, work added meanwhile included. */
  async settled(): Promise<void> {
    while (this.#work.size > 0) await Promise.all(this.#work);
  }
}

/** What `finishWork` left to run on its own in this process (a Node server's mails), until it settles. */
export const workOnItsOwn = new PendingWork();
