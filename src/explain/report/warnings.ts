/**
 * Warnings a student needs beside the numbers: domain errors, kinks, dead and saturated gradients,
 * an elementwise product where a matrix product was meant, and where the backward pass turns non-finite.
 */
import * as bp from "../core.js";
import type { Expr } from "../language/ast.js";
import { printDerivative, printText } from "../language/print.js";
import { refArgs, type Stage, type StagedProgram } from "../interpreters/stage.js";
import { type Value, type StageReport, type EdgeReport, type ExplainReport, toValue, fmtNumber, fmtValue } from "./report.js";
import { type LocalInfo } from "./locals.js";

const shapeText = (shape: readonly number[]): string => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(",")})`);

/**
 * `W * x` (or `W x`) with a matrix is elementwise with broadcasting, which a student rarely means: two
 * operands of rank >= 2, or a matrix and a vector that a matrix product would accept in that order.
 */
function elementwiseMatrixWarning(s: Stage, values: ReadonlyMap<string, bp.Tensor>, eq: string): string | null {
  if (s.op !== "mul" || s.args.length !== 2 || s.expr.kind !== "bin") return null;
  const [l, r] = s.args.map((x) => (x.kind === "const" ? x.value : values.get(x.name)!).shape);
  const matrixVector = (l.length === 2 && r.length === 1 && l[1] === r[0]) || (l.length === 1 && r.length === 2 && r[0] === l[0]);
  if (!(l.length >= 2 && r.length >= 2) && !matrixVector) return null;
  const product = printText({ kind: "bin", op: "@", left: s.expr.left, right: s.expr.right });
  return `product: stage ${eq} multiplies elementwise (shapes ${shapeText(l)} and ${shapeText(r)}); for a matrix product write ${product}`;
}

export function warningsFor(
  staged: StagedProgram,
  values: ReadonlyMap<string, bp.Tensor>,
  locals: Map<string, LocalInfo>,
  grads: ReadonlyMap<string, bp.Tensor | null>,
  eq: (s: Stage) => string,
): string[] {
  const w: string[] = [];
  for (const s of staged.stages) {
    const refs = refArgs(s);
    const arg = refs.length ? values.get(refs[refs.length - 1])! : null;
    const out = values.get(s.name)!;
    const any = (t: bp.Tensor | null, f: (x: number) => boolean) => !!t && Array.from(t.data).some(f);
    const where = `stage ${eq(s)}`;
    const product = elementwiseMatrixWarning(s, values, eq(s));
    if (product) w.push(product);
    if ((s.op === "ln" || s.op === "sqrt") && any(arg, (x) => (s.op === "ln" ? x <= 0 : x < 0))) {
      w.push(`domain: ${where}: ${s.op === "ln" ? "ln" : "sqrt"} of a ${s.op === "ln" ? "non-positive" : "negative"} value (${fmtValue(toValue(arg!))})`);
    }
    if (s.op === "sqrt" && any(arg, (x) => x === 0)) w.push(`domain: ${where}: sqrt at 0 has an infinite derivative`);
    if ((s.op === "reciprocal" || s.op === "div") && any(arg, (x) => x === 0)) w.push(`domain: ${where}: division by zero`);
    if (any(out, (x) => !Number.isFinite(x)) && !w.some((m) => m.includes(where))) w.push(`domain: ${where}: the value is ${fmtValue(toValue(out))}`);
    if ((s.op === "relu" || s.op === "abs" || s.op === "step" || s.op === "sign") && any(arg, (x) => x === 0)) {
      w.push(
        `kink: ${where}: ${s.op} is not differentiable at 0; the gradient used there is ${s.op === "abs" || s.op === "sign" || s.op === "step" ? "0" : "0 (as in PyTorch)"}`,
      );
    }
    const info = locals.get(s.name);
    const g = grads.get(s.name);
    if (info && g && Array.from(g.data).some((x) => x !== 0)) {
      info.perArgValue.forEach((lv, k) => {
        if (lv === null) return;
        const name = refs[k];
        const local = typeof info.perArg[k] === "string" ? info.perArg[k] : printDerivative(info.perArg[k] as Expr);
        const at = `${name} = ${fmtValue(toValue(values.get(name)!))}`;
        if (Math.abs(lv) <= 1e-12 && s.op !== "step" && s.op !== "sign") {
          w.push(`dead gradient: ${where}: the local derivative ${local} is ${fmtNumber(lv)} at ${at}, so no gradient flows to ${name} along this path`);
        } else if ((s.op === "sigmoid" || s.op === "tanh" || s.op === "erf") && Math.abs(lv) < 1e-6) {
          w.push(`saturation: ${where}: ${s.op}'(${fmtValue(toValue(values.get(name)!))}) = ${fmtNumber(lv)}, the gradient through it nearly vanishes`);
        }
      });
    }
  }
  return w;
}

const isNonFinite = (v: Value | null): boolean => v !== null && (typeof v === "number" ? !Number.isFinite(v) : (v as Value[]).some(isNonFinite));

/**
 * The forward pass warns at each stage whose value is not finite; this finds where the backward pass
 * first produces one. Edges are in backward order, so the first non-finite contribution is the origin.
 */
export function firstNonFiniteGradient(
  edges: readonly EdgeReport[],
  stages: readonly StageReport[],
): { flag: NonNullable<ExplainReport["backwardNonFinite"]>; warning: string } | null {
  const e = edges.find((x) => isNonFinite(x.contribution));
  if (!e || e.contribution === null) return null;
  const s = stages.find((x) => x.name === e.to)!;
  const local = e.localValue === null ? e.local : `${e.local} = ${fmtNumber(e.localValue)}`;
  return {
    flag: { stage: e.to, input: e.from, value: e.contribution },
    warning: `non-finite gradient: stage ${s.equation}: the backward pass first gives ${fmtValue(e.contribution)} here, for ${e.from} (upstream ${fmtValue(e.upstream)}, local derivative ${local})`,
  };
}
