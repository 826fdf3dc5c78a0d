/**
 * A cheap op counter for explain's symbolic work (simplifier steps, graph nodes read back as
 * expressions). Caps and tests budget that work by the size of the input, not by a timer, so the
 * results do not depend on the machine.
 */

/** Thrown when a budget set with `withinBudget` runs out. */
export class WorkBudgetExceeded extends Error {
  constructor(readonly budget: number) {
    super(`symbolic work exceeded its budget of ${budget} steps`);
    this.name = "WorkBudgetExceeded";
  }
}

let total = 0;
let limit = Number.POSITIVE_INFINITY;
let activeBudget = 0;

/** Counts `steps` units of work; throws WorkBudgetExceeded past the innermost active budget. */
export function charge(steps = 1): void {
  total += steps;
  if (total > limit) throw new WorkBudgetExceeded(activeBudget);
}

/** Steps counted since the process started (read it before and after to measure a call). */
export function workDone(): number {
  return total;
}

/** Runs `f` allowing it at most `steps` more steps (and no more than an enclosing budget allows). */
export function withinBudget<T>(steps: number, f: () => T): T {
  const saved = [limit, activeBudget] as const;
  if (total + steps < limit) {
    limit = total + steps;
    activeBudget = steps;
  }
  try {
    return f();
  } finally {
    [limit, activeBudget] = saved;
  }
}
