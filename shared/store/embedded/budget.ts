/**
 * The time budget a query, a sort or an aggregation runs within. The work counts steps (a query
 * condition tested, an expression evaluated, a document passed between stages, a value prepared
 * or compared for a sort), and every CLOCK_EVERY steps the clock is looked at: past the deadline
 * the run stops with a QueryTimeoutError. Everything here is synchronous, so one budget at a time is
 * the running one.
 */
import { metered, WORK_NS } from "../../linear-regexp.js";
import { QueryTimeoutError } from "../types.js";

/** Steps between two looks at the clock. */
const CLOCK_EVERY = 64;

let budget: { deadline: number; ms: number; steps: number; documents: number } | null = null;

/** Runs `run` (synchronous: a query or an aggregation) within `maxTimeMs` when given. */
export function withinBudget<T>(maxTimeMs: number | undefined, run: () => T): T {
  if (maxTimeMs === undefined) return run();
  const outer = budget;
  const deadline = Math.min(Date.now() + maxTimeMs, outer?.deadline ?? Number.POSITIVE_INFINITY);
  budget = { deadline, ms: maxTimeMs, steps: 0, documents: 0 };
  const own = budget;
  try {
    // A regex match can take long on its own: the clock is read before each one, and one that
    // would not finish in the time left is not started.
    return metered((work) => {
      const left = own.deadline - Date.now();
      if (left < 0 || (work * WORK_NS) / 1e6 > left) throw new QueryTimeoutError(own.ms);
    }, run);
  } finally {
    budget = outer;
  }
}

/** Counts `weight` steps of work toward the running budget (none outside withinBudget). */
export function step(weight = 1): void {
  if (!budget) return;
  const before = budget.steps;
  budget.steps += weight;
  if (Math.floor(budget.steps / CLOCK_EVERY) !== Math.floor(before / CLOCK_EVERY) && Date.now() > budget.deadline) {
    throw new QueryTimeoutError(budget.ms);
  }
}

/** Counts one document passed between stages; answers how many the running budget has seen (0 outside one). */
export function countDocument(): number {
  return budget ? ++budget.documents : 0;
}
