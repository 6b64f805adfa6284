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

/** Sees `work` done: after the answer where the runtime allows it, else before (awaited here). */
export async function finishWork(c: Context, work: Promise<unknown>): Promise<void> {
  if (!handToRuntime(c, work) && freezesAfterAnswer(c)) await work.catch(() => undefined);
}
