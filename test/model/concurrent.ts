/**
 * Operations sent together: their answers, and the state they leave, must be those of some serial
 * order of them (each answer judged by the model in that order). Optionally the store is closed
 * while they run and opened again from disk, as after a crash.
 */
import { openAgain, quotaCounter, type Real, releaseFailures } from "./harness.js";
import type { Model } from "./model.js";
import { check, fail, judge, type OpSpec, type Res, send, type Traced, verdict } from "./operations.js";

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * The first serial order of `ops` that `judgeOrder` accepts (it throws at an answer the order does
 * not explain), with what it returned; fails with every order's first mismatch when none does. Also
 * used by the auth model (test/auth-model/concurrent.ts).
 */
export function someSerialOrder<T>(r: Traced, ops: unknown[], answers: Res[], judgeOrder: (order: number[]) => T): T {
  const errors: string[] = [];
  for (const order of permutations(ops.map((_, i) => i))) {
    try {
      return judgeOrder(order);
    } catch (error) {
      errors.push(`order ${order.join(",")}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  const sent = ops.map(
    (op, i) => `  [${i}] ${JSON.stringify(op)} -> ${answers[i]!.status} ${answers[i]!.text.slice(0, 200)}`,
  );
  fail(r, `no serial order explains the answers:\n${sent.join("\n")}\n${errors.join("\n")}`);
}

/**
 * Finds a serial order that explains the answers and takes its state. With `closed`, an operation
 * answered 503 SERVICE_UNAVAILABLE (its store closed under it) counts as not having run.
 */
function judgeInSomeOrder(m: Model, r: Real, ops: OpSpec[], answers: Res[], closed: boolean): void {
  const trial = someSerialOrder(r, ops, answers, (order) => {
    const trial = m.trial();
    for (const i of order) {
      if (closed && answers[i]!.status === 503)
        verdict(r, answers[i]!, { status: 503, code: "SERVICE_UNAVAILABLE" }, "store closed");
      else judge(trial, r, ops[i]!, answers[i]!);
    }
    return trial;
  });
  m.adopt(trial);
}

export async function doConcurrent(m: Model, r: Real, ops: OpSpec[]) {
  judgeInSomeOrder(m, r, ops, await Promise.all(ops.map((op) => send(r, op))), false);
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** An instance to close under running requests: its store's close, its logged release failures, its reopening. */
export interface Closable {
  close(): Promise<void>;
  releaseFailures(): number;
  openAgain(): Promise<void>;
}

/**
 * Sends requests (`send`), closes the store `turns` event-loop turns later, and opens it again once
 * they and the close are done: their answers, and how many releases failed meanwhile (logged). Also
 * used by the storage model (test/storage-model/concurrent.ts).
 */
export async function closeUnder<T>(instance: Closable, send: () => Array<Promise<T>>, turns: number) {
  const failuresBefore = instance.releaseFailures();
  const sent = send();
  for (let i = 0; i < turns; i++) await nextTurn();
  const closing = instance.close();
  const answers = await Promise.all(sent);
  await closing;
  const releasesFailed = instance.releaseFailures() - failuresBefore;
  await instance.openAgain();
  return { answers, releasesFailed };
}

/**
 * Sends the operations, closes the store `turns` event-loop turns later and opens it again once all
 * have answered: an operation answered 503 must have had no effect, any other answer must hold after
 * the reopen. The usage the closed instance buffered is lost, so usage is not checked any more.
 */
export async function doCloseMidFlight(m: Model, r: Real, ops: OpSpec[], turns: number) {
  const instance = {
    close: () => r.deps.store.close(),
    releaseFailures: () => releaseFailures(r),
    openAgain: () => openAgain(r),
  };
  const { answers, releasesFailed } = await closeUnder(instance, () => ops.map((op) => send(r, op)), turns);
  m.usageUnknown = true;
  judgeInSomeOrder(m, r, ops, answers, true);
  await adoptLeak(m, r, releasesFailed);
}

/**
 * A reservation whose write the close cut, or a delete's or shrink's release after its write, cannot
 * reach a closed store: the counter then counts more than is stored until it is counted afresh. It
 * must never count less, and count more only when a release failed and was logged (quotas.ts).
 */
async function adoptLeak(m: Model, r: Real, releasesFailed: number) {
  if (r.quota === undefined) return;
  const counted = await quotaCounter(r);
  if (counted === undefined) {
    m.leaked = 0; // dropped: counted afresh at its next use
    return;
  }
  const leaked = counted - m.bytes();
  check(r, leaked >= m.leaked, `the counter (${counted}) counts less than the ${m.bytes() + m.leaked} it must hold`);
  check(
    r,
    leaked === m.leaked || releasesFailed > 0,
    `the counter grew ${leaked - m.leaked} bytes with no failed release`,
  );
  m.leaked = leaked;
}
