// The arithmetic of one backward step, read from the report's edges: for each argument of the stage the
// step is at, `upstream × local = contribution`, and for an argument that fans out, its gradient's sum so
// far (the terms from the stages already stepped through, and whether more are still to come).
import * as bp from "../src/index.js";
import type { ExplainReport } from "../src/index.js";

export interface StepLine {
  /** `a ← f: upstream 1 × local 2 = 2` */
  product: string;
  /** For an argument with several consumers: `fan-out: ga = 2 + 3 = 5 (2 of 2 terms, complete)`. */
  sum?: string;
}

type Value = ExplainReport["value"];

/** The lines for backward step `k` (1 = the output's stage) of a report with its stages in forward order. */
export function backwardStepLines(r: ExplainReport, k: number): StepLine[] {
  const n = r.stages.length;
  const stage = r.stages[n - k];
  if (!stage) return [];
  const index = new Map(r.stages.map((s, i) => [s.name, i]));
  // Stages at index >= n - k have sent their gradients back by the end of this step.
  const flowed = (to: string) => (index.get(to) ?? -1) >= n - k;
  return r.edges
    .filter((e) => e.to === stage.name)
    .sort((a, b) => a.argIndex - b.argIndex)
    .map((e) => {
      const up = e.upstream === null ? "?" : bp.fmtValue(e.upstream);
      const contribution = e.contribution === null ? "?" : bp.fmtValue(e.contribution);
      // An array stage's local derivative is a Jacobian the report applies (its VJP code) rather than holds.
      const product =
        e.localValue !== null
          ? `upstream ${up} × local ${bp.fmtValue(e.localValue)} = ${contribution}`
          : `upstream ${up} through the vector-Jacobian product ${e.local} = ${contribution}`;
      const line: StepLine = { product: `${e.from} ← ${stage.name}: ${product}` };
      const all = r.edges.filter((d) => d.from === e.from);
      if (all.length > 1) {
        // Backward order: the consumer latest in the program first.
        const done = all.filter((d) => flowed(d.to)).sort((a, b) => index.get(b.to)! - index.get(a.to)!);
        const terms = done.map((d) => (d.contribution === null ? "?" : bp.fmtValue(d.contribution)));
        const total = sum(done.map((d) => d.contribution));
        const complete = done.length === all.length;
        const shown = terms.length > 1 && total !== null ? `${terms.join(" + ")} = ${bp.fmtValue(total)}` : terms.join(" + ");
        line.sum = `fan-out: g${e.from} ${complete ? "=" : "so far ="} ${shown} (${done.length} of ${all.length} terms${complete ? ", complete" : ", more to come"})`;
      }
      return line;
    });
}

/** The sum of scalar contributions; null for arrays or unknown ones (their terms are listed instead). */
function sum(values: (Value | null)[]): number | null {
  let s = 0;
  for (const v of values) {
    if (typeof v !== "number") return null;
    s += v;
  }
  return s;
}
