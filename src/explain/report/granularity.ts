/**
 * The same program explained at both granularities (gates one stage each, and gates staged into
 * primitives), with the gradients set side by side: both views run on the one engine, so they agree
 * to rounding. Each view is an ordinary report; this adds only the comparison.
 */
import * as bp from "../core.js";
import { type Granularity } from "../language/gates.js";
import { explainAll } from "./explain.js";
import { toValue, type ExplainOptions, type ExplainReport, type Explanation, type Value } from "./report.js";

/** Gradients that differ by at most this, relative to the larger magnitude (and 1), are said to agree. */
export const GRANULARITY_TOLERANCE = 1e-12;

export interface GradientAgreement {
  readonly name: string;
  readonly gates: Value;
  readonly primitives: Value;
  /** The largest absolute difference over the elements (0 when equal, NaN where either is NaN). */
  readonly maxAbsDiff: number;
  readonly agree: boolean;
}

export interface GranularityComparison {
  readonly source: string;
  readonly gates: ExplainReport;
  readonly primitives: ExplainReport;
  readonly stageCounts: { readonly [G in Granularity]: number };
  readonly gradients: readonly GradientAgreement[];
  readonly tolerance: number;
  /** Every input's gradients agree. */
  readonly agree: boolean;
}

function agreement(name: string, a: bp.Tensor, b: bp.Tensor): GradientAgreement {
  let diff = 0;
  let agree = a.shape.join() === b.shape.join();
  for (let i = 0; agree && i < a.size; i++) {
    const [x, y] = [a.data[i], b.data[i]];
    const d = x === y ? 0 : Math.abs(x - y); // equal infinities agree
    if (Number.isNaN(d) || d > GRANULARITY_TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y))) agree = false;
    diff = Number.isNaN(d) ? Number.NaN : Math.max(diff, d);
  }
  return { name, gates: toValue(a), primitives: toValue(b), maxAbsDiff: diff, agree };
}

/** Explains `source` at both granularities and compares their gradients, input by input. */
export function compareGranularity(
  source: string,
  given: ReadonlyMap<string, bp.Tensor>,
  options: ExplainOptions = {},
): { comparison: GranularityComparison; gates: Explanation; primitives: Explanation } {
  const gates = explainAll(source, given, { ...options, granularity: "gates" });
  const primitives = explainAll(source, given, { ...options, granularity: "primitives" });
  // A program with abstract functions has no values (its gradients are placeholders): nothing to compare.
  const gradients = gates.report.abstract ? [] : gates.report.inputs.map((n) => agreement(n, gates.grads.get(n)!, primitives.grads.get(n)!));
  const comparison: GranularityComparison = {
    source,
    gates: gates.report,
    primitives: primitives.report,
    stageCounts: { gates: gates.report.stages.length, primitives: primitives.report.stages.length },
    gradients,
    tolerance: GRANULARITY_TOLERANCE,
    agree: gradients.every((g) => g.agree),
  };
  return { comparison, gates, primitives };
}
