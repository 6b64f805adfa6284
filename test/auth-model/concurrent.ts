/** Requests sent at once: their answers, the mails sent and the state they leave must be those of some serial order. */
import { someSerialOrder } from "../model/concurrent.js";
import type { Real } from "./harness.js";
import type { Model } from "./model.js";
import { checkMailCounts, judge, type Op, send } from "./ops.js";
import { compareState, readBack, readBackSweeps, snapshot } from "./state.js";

export async function doConcurrent(m: Model, r: Real, ops: Op[]) {
  const answers = await Promise.all(ops.map((op) => send(r, op)));
  const snap = await snapshot(r);
  const trial = someSerialOrder(r, ops, answers, (order) => {
    const trial = m.trial(ops);
    for (const i of order) judge(trial, r, ops[i]!, answers[i]!);
    checkMailCounts(trial, r); // the mails that went out are part of what the order must explain
    readBackSweeps(trial, r, snap);
    compareState(trial, r, snap, trial.resync, trial.resyncOtp);
    return trial;
  });
  m.adopt(trial);
  await readBack(m, r);
}
