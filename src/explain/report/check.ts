/**
 * The gradient check against central differences, and what it costs against backprop, counted in
 * operations from the report.
 */
import * as bp from "../core.js";
import { own } from "../language/ast.js";
import { programFunction, type StagedProgram } from "../interpreters/stage.js";
import { type Value, type StageReport, type StageOperand, type CheckReport, type CheckCost, type ExplainReport, valueShape, toValue } from "./report.js";

export function checkGradients(
  staged: StagedProgram,
  given: ReadonlyMap<string, bp.Tensor>,
  names: readonly string[],
  grads: ReadonlyMap<string, bp.Tensor | null>,
): CheckReport[] {
  // Central differences against the trace's own gradients (not a second backward pass).
  const r = bp.gradcheck(
    programFunction(staged, names),
    names.map((n) => given.get(n)!),
    { analytic: names.map((n) => grads.get(n)!) },
  );
  return names.map((name, k) => {
    const rep = r.inputs[k];
    const shape = given.get(name)!.shape;
    const numeric = new bp.Tensor(rep.numeric, shape);
    return { name, analytic: toValue(grads.get(name)!), numeric: toValue(numeric), relError: rep.maxRelError, ok: rep.ok };
  });
}

/** How many numbers a value holds (1 for a scalar). */
function elementCount(v: Value): number {
  return typeof v === "number" ? 1 : (v as Value[]).reduce((n: number, x) => n + elementCount(x), 0);
}

/**
 * Operation counts of the check against backprop, read from the report so that they count what it
 * records: the stages run forward, the contributions the backward pass produced (null ones never ran)
 * and, where k contributions reach one name, the k - 1 additions that sum them.
 */
export function checkCost(r: Pick<ExplainReport, "inputValues" | "stages" | "edges">): CheckCost {
  const inputs = Object.values(r.inputValues).reduce((n: number, v) => n + elementCount(v), 0);
  const { forward: forwardOps, backward: backwardOps } = numericOps(r);
  const centralDifferenceOps = 2 * inputs * forwardOps;
  const backprop = forwardOps + backwardOps;
  // A program that does no work costs nothing either way: call that even.
  const ratio = backprop === 0 ? 1 : centralDifferenceOps / backprop;
  return { inputs, forwardOps, backwardOps, centralDifferenceOps, ratio };
}

/**
 * The forward and backward passes' operations, read from the report so that they count what it
 * records: the stages run forward, the contributions the backward pass produced (null ones never
 * ran) and, where k contributions reach one name, the k - 1 additions that sum them.
 */
export function numericOps(r: Pick<ExplainReport, "inputValues" | "stages" | "edges">): { forward: number; backward: number } {
  const byName = new Map(r.stages.map((s) => [s.name, s]));
  const shapeOf = (o: StageOperand): readonly number[] =>
    o.kind === "constant" ? o.shape : (byName.get(o.name)?.shape ?? valueShape(own(r.inputValues, o.name) ?? 0));
  // A matrix product's every output element is K multiply-adds (K the inner size); so is each of its
  // operands' gradients (∂L/∂W = (∂L/∂a) xᵀ and ∂L/∂x = Wᵀ (∂L/∂a) take the same count).
  const perElement = (s: StageReport): number => {
    if (s.op !== "matmul") return 1;
    const left = shapeOf(s.operands[0]);
    return left.length === 0 ? 1 : left[left.length - 1];
  };
  const sizeOf = (s: StageReport) => s.shape.reduce((a, b) => a * b, 1);
  const forward = r.stages.reduce((n, s) => n + sizeOf(s) * perElement(s), 0);
  let backward = 0;
  const reached = new Set<string>();
  for (const e of r.edges) {
    if (e.contribution === null) continue;
    const s = byName.get(e.to)!;
    const size = s.op === "matmul" ? sizeOf(s) * perElement(s) : elementCount(e.contribution);
    // The first contribution to a name is its gradient so far; each later one adds to it.
    backward += reached.has(e.from) ? size + elementCount(e.contribution) : size;
    reached.add(e.from);
  }
  return { forward, backward };
}
