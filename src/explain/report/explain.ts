/**
 * `explain`: parse, stage, run forward and backward, read the local and full derivatives back from
 * the recorded VJP graphs, check against central differences, and collect warnings. The result is a
 * plain report that the formatters (table, markdown, latex, json, code) print.
 */
import * as bp from "../core.js";
import { namedRecord, type Expr } from "../language/ast.js";
import { extremumBranch, extremumWarnings } from "../interpreters/extremum.js";
import { stageExpansions } from "../interpreters/expansion.js";
import { abstractError, abstractFunctions, abstractPoint, abstractNote } from "../interpreters/abstract.js";
import { parseProgram } from "../language/parser.js";
import { DEFAULT_GRANULARITY } from "../language/gates.js";
import { printDerivative, printExpr, printText } from "../language/print.js";
import { simplify } from "../interpreters/simplify.js";
import { ExplainError, refArgs, stageProgram, type Stage, type StagedProgram } from "../interpreters/stage.js";
import { traceProgram, type Trace } from "../interpreters/trace.js";
import { workDone } from "../interpreters/work.js";
import {
  type StageReport,
  type StageOperand,
  type EdgeReport,
  type ExplainReport,
  type ExplainOptions,
  type Explanation,
  toValue,
  fmtNumber,
  gradName,
} from "./report.js";
import { type LocalInfo, localDerivatives, branchTaken } from "./locals.js";
import { addDerivatives, addMatrixForms, addExpansions } from "./derivatives.js";
import { warningsFor, firstNonFiniteGradient } from "./warnings.js";
import { checkGradients, checkCost, numericOps } from "./check.js";
import { forwardReport } from "./forward.js";
import { gradientPaths, PATH_LIMIT } from "./paths.js";

/** Explains `source` at the given values (parsed from --at). */
export function explain(source: string, given: ReadonlyMap<string, bp.Tensor>, options: ExplainOptions = {}): ExplainReport {
  return explainAll(source, given, options).report;
}

/** The report's stage rows: equations, values, gradients and local derivatives (summed where a name feeds a stage twice). */
function stageReports(staged: StagedProgram, ev: Trace, locals: ReadonlyMap<string, LocalInfo>, eq: (s: Stage) => string): StageReport[] {
  return staged.stages.map((s) => {
    const info = locals.get(s.name)!;
    const refs = refArgs(s);
    const local = new Map<string, string>();
    const localLatex = new Map<string, string>();
    const localValue = new Map<string, number | null>();
    // Where one name feeds a stage twice (x * x) its local derivative is the sum over both edges.
    const uniq = [...new Set(refs)];
    for (const n of uniq) {
      const ks = refs.flatMap((r, k) => (r === n ? [k] : []));
      const parts = ks.map((k) => info.perArg[k]);
      if (parts.every((p) => typeof p !== "string")) {
        const sum = simplify((parts as Expr[]).reduce((a, b) => ({ kind: "bin", op: "+", left: a, right: b })));
        local.set(n, printDerivative(sum));
        localLatex.set(n, printDerivative(sum, "latex"));
      } else local.set(n, parts.map((p) => (typeof p === "string" ? p : printDerivative(p))).join(" + "));
      const vals = ks.map((k) => info.perArgValue[k]);
      localValue.set(n, vals.every((x) => x !== null) ? (vals as number[]).reduce((a, b) => a + b, 0) : null);
    }
    const g = ev.grads.get(s.name) ?? null;
    return {
      name: s.name,
      // A call of an abstract function is named by its function (fn g: op "g").
      op: s.op === "abstract" ? (s.fn ?? s.op) : s.op,
      inputs: refs,
      equation: eq(s),
      expression: printText(s.expr),
      expressionLatex: printExpr(s.expr, "latex"),
      operands: s.args.map((a): StageOperand =>
        a.kind === "ref"
          ? { kind: "name", name: a.name }
          : { kind: "constant", text: printText(a.expr), latex: printExpr(a.expr, "latex"), shape: [...a.value.shape] },
      ),
      shape: [...ev.values.get(s.name)!.shape],
      value: toValue(ev.values.get(s.name)!),
      grad: g ? toValue(g) : null,
      local: namedRecord(local),
      localLatex: namedRecord(localLatex),
      localValue: namedRecord(localValue),
      span: s.span ? [s.span.start, s.span.end] : null,
    };
  });
}

/** The report's edges, in backward order: each with its local derivative, upstream and contribution. */
function edgeReports(staged: StagedProgram, ev: Trace, locals: ReadonlyMap<string, LocalInfo>): EdgeReport[] {
  return ev.edges.map((e) => {
    const info = locals.get(e.to)!;
    const p = info.perArg[e.argIndex];
    const up = ev.grads.get(e.to) ?? null;
    return {
      from: e.from,
      to: e.to,
      argIndex: e.argIndex,
      local: typeof p === "string" ? p : printDerivative(p),
      localLatex: typeof p === "string" ? null : printDerivative(p, "latex"),
      localExpr: typeof p === "string" ? null : p,
      localValue: info.perArgValue[e.argIndex],
      branch:
        branchTaken(
          staged.stages.find((s) => s.name === e.to)!,
          e.from,
          ev.values.get(e.from)!,
        ) ??
        extremumBranch(
          staged.stages.find((s) => s.name === e.to)!,
          ev.values,
          fmtNumber,
        ),
      upstream: up ? toValue(up) : null,
      contribution: e.contribution ? toValue(e.contribution) : null,
    };
  });
}

export function explainAll(source: string, given: ReadonlyMap<string, bp.Tensor>, options: ExplainOptions = {}): Explanation {
  const work0 = workDone();
  const program = parseProgram(source);
  const staged = stageProgram(program, new Set(given.keys()), options.granularity);
  const abstract = abstractFunctions(staged);
  refuseAbstract(abstract, options);
  // A program with abstract functions has no values: it is traced at placeholder points (NaN), which
  // the one trace records all the same, and its numbers are left out of the report (see blankNumbers).
  const at = abstract.length > 0 ? abstractPoint(staged, given) : given;
  const ev = traceProgram(staged, at, printText);
  const taken = new Set<string>([...ev.values.keys()]);
  const gName = (n: string) => gradName(n, taken);
  const locals = new Map<string, LocalInfo>();
  for (const r of ev.records) locals.set(r.stage.name, localDerivatives(r, gName));
  const report = baseReport(source, options, staged, ev, locals, at);
  const inputNames = report.inputs;
  if (report.scalar) {
    // One set of expansions serves the expansion column and the full derivatives.
    const exps = stageExpansions(staged);
    addDerivatives(report, staged, ev, locals, inputNames, abstract, options, exps);
    addExpansions(report, staged, exps);
  } else addMatrixForms(report, staged, ev);
  if (options.check) {
    report.check = checkGradients(staged, given, inputNames, ev.grads);
    report.checkCost = checkCost(report);
  }
  if (options.step !== undefined) report.step = stepReport(options.step, inputNames, given, ev.grads);
  const work = workDone() - work0;
  report.ops = { ...numericOps(report), symbolic: work };
  if (options.forward) report.forward = forwardReport(report, staged, ev.values, options.forward.seeds);
  if (abstract.length > 0) blankNumbers(report, abstract, given);
  if (report.scalar) report.paths = gradientPaths(report, options.pathLimit ?? PATH_LIMIT);
  return { report, work, staged, values: ev.values, grads: ev.grads, trace: ev };
}

/** What needs numbers (the check, forward mode, a descent step) cannot be asked of abstract functions. */
function refuseAbstract(abstract: readonly string[], options: ExplainOptions): void {
  if (abstract.length > 0 && options.check) throw new ExplainError(abstractError(abstract, "the gradient check", false));
  if (abstract.length > 0 && options.forward) throw new ExplainError(abstractError(abstract, "forward mode", false));
  if (abstract.length > 0 && options.step !== undefined) throw new ExplainError(abstractError(abstract, "a gradient-descent step", false));
}

/** The report's values, gradients, stage and edge rows and warnings: what every explanation has. */
function baseReport(
  source: string,
  options: ExplainOptions,
  staged: StagedProgram,
  ev: Trace,
  locals: Map<string, LocalInfo>,
  at: ReadonlyMap<string, bp.Tensor>,
): ExplainReport {
  const eq = (s: Stage) => `${s.name} = ${printText(s.expr)}`;
  const inputNames = [...at.keys()];
  const stages = stageReports(staged, ev, locals, eq);
  const edges = edgeReports(staged, ev, locals);
  const report: ExplainReport = {
    source,
    granularity: options.granularity ?? DEFAULT_GRANULARITY,
    inputs: inputNames,
    inputValues: namedRecord(inputNames.map((n) => [n, toValue(at.get(n)!)] as const)),
    output: staged.output,
    scalar: staged.inputs.every((n) => at.get(n)!.size === 1),
    value: toValue(ev.values.get(staged.output)!),
    gradients: namedRecord(inputNames.map((n) => [n, toValue(ev.grads.get(n)!)] as const)),
    stages,
    edges,
    warnings: warningsFor(staged, ev.values, locals, ev.grads, eq),
    ops: { forward: 0, backward: 0, symbolic: 0 },
  };
  report.warnings.push(...extremumWarnings(staged.stages, ev.values, eq));
  const nonFinite = firstNonFiniteGradient(edges, stages);
  if (nonFinite) {
    report.warnings.push(nonFinite.warning);
    report.backwardNonFinite = nonFinite.flag;
  }
  return report;
}

/** One gradient-descent step of size `lr` from the given values. */
function stepReport(
  lr: number,
  inputNames: readonly string[],
  given: ReadonlyMap<string, bp.Tensor>,
  grads: Trace["grads"],
): NonNullable<ExplainReport["step"]> {
  return {
    lr,
    updates: inputNames.map((n) => ({
      name: n,
      from: toValue(given.get(n)!),
      to: toValue(bp.sub(given.get(n)!, bp.mul(grads.get(n)!, lr))),
    })),
  };
}

/**
 * A report of a program with abstract functions, its placeholder numbers taken out: values, gradients,
 * contributions and local values (NaN at the placeholder point) are not shown, the derivatives are.
 */
export function blankNumbers(r: ExplainReport, fns: readonly string[], given: ReadonlyMap<string, unknown>): void {
  for (const s of r.stages) {
    s.value = Number.NaN;
    s.grad = null;
    s.localValue = namedRecord(Object.keys(s.localValue).map((n) => [n, null] as const));
  }
  for (const e of r.edges) Object.assign(e, { localValue: null, branch: null, upstream: null, contribution: null });
  r.value = Number.NaN;
  r.inputValues = {};
  r.gradients = {};
  delete r.backwardNonFinite;
  const unused = [...given.keys()];
  r.warnings = unused.length ? [`unused values: ${unused.join(", ")} (a program with abstract functions has no values)`] : [];
  r.abstract = { functions: [...fns], note: abstractNote(fns) };
  r.ops.forward = 0;
  r.ops.backward = 0;
}

export { ExplainError };
