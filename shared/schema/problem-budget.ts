/**
 * Checking a request body stops after MAX_PROBLEMS problems: a body of many wrong values (a 900 KB
 * array of wrong items) cost seconds of CPU to list problems no answer shows (errors.ts lists 100
 * and counts the rest). One budget holds for a whole body, a bulk insert's items together; outside
 * a `withinProblemBudget` run checking is unbounded (a collection definition's defaults and enums).
 */
export const MAX_PROBLEMS = 1000;
let problemsLeft = Number.POSITIVE_INFINITY;

/** Runs `validate` within the body's budget: a new one, or the one of the run it is part of. */
export function withinProblemBudget<T>(validate: () => T): T {
  if (problemsLeft !== Number.POSITIVE_INFINITY) return validate();
  problemsLeft = MAX_PROBLEMS;
  try {
    return validate();
  } finally {
    problemsLeft = Number.POSITIVE_INFINITY;
  }
}

/** Whether the budget is spent: checking must stop. */
export const budgetSpent = (): boolean => problemsLeft <= 0;

/** Counts problems found against the budget; whether checking must stop. */
export function charge(problems: number): boolean {
  problemsLeft -= problems;
  return budgetSpent();
}
