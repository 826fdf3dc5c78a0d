/**
 * `explain`: parse, stage, run forward and backward, read the local and full derivatives back from
 * the recorded VJP graphs, check against central differences, and collect warnings. The result is a
 * plain report that the formatters (table, markdown, latex, json, code) print.
 */
import * as bp from "./core.js";
import { namedRecord, num, v, type Expr } from "./ast.js";
import { graphCode } from "./graphcode.js";
import { extremumBranch, extremumWarnings } from "./extremum.js";
import { addExpansions } from "./expansion.js";
import { abstractFunctions, explainAbstract } from "./abstract.js";
import { closedForms, textbookRules, type MatrixDerivative, type MatrixRule } from "./matrix.js";
import { parseProgram } from "./parser.js";
import { tracingPieces } from "./ops.js";
import { printDerivative, printText } from "./print.js";
import { simplify } from "./simplify.js";
import { ExplainError, evaluate, programFunction, recordStageVjp, refArgs, stageProgram, type Stage, type StagedProgram } from "./stage.js";
import { expressionSize, NotSymbolic, readGraph } from "./symbolic.js";
import { WorkBudgetExceeded, withinBudget, workDone } from "./work.js";

export type Value = number | bp.Nested;

/**
 * Full symbolic derivatives whose expression tree (before simplification) has more nodes than this are
 * not computed: nobody reads them, and with fan-out the tree grows exponentially with the program
 * (an 80-stage program would never finish). The report gives their size instead.
 */
export const DERIVATIVE_SIZE_LIMIT = 5000;
/** Simplifier steps allowed per node of the trees it simplifies: measured at most ~50; this is a safety net. */
const SIMPLIFY_STEPS_PER_NODE = 400;

export interface StageReport {
  name: string;
  op: string;
  /** Argument names (inputs or earlier stages), one per edge, in order. */
  inputs: string[];
  equation: string;
  /** The right-hand side in the input language. */
  expression: string;
  shape: number[];
  value: Value;
  /** d out / d this stage; null when not computed (the output does not depend on it). */
  grad: Value | null;
  /**
   * Local derivative of this stage with respect to each input name (VJP with `g<name>` for arrays).
   * Piecewise ops read as rules: relu's 1[z > 0], abs's sign(z) (not in the input language).
   */
  local: Record<string, string>;
  /** The local derivatives in LaTeX (absent for VJP code). */
  localLatex: Record<string, string>;
  /** The local derivative's value (scalar stages). */
  localValue: Record<string, number | null>;
  span: [number, number] | null;
  /**
   * Array stages: each operand's local rule in the lecture's denominator convention, with the shapes of
   * both sides (`∂L/∂W = (∂L/∂a) xᵀ`, `(3×2) = (3×1)(1×2)`), keyed by operand name.
   */
  rule?: Record<string, MatrixRule>;
  /** Scalar programs: `expression` in LaTeX (abstract functions make the text ambiguous to reparse). */
  expressionLatex?: string;
  /** Scalar programs: the right-hand side with earlier stages substituted, in terms of the inputs (expansion.ts). */
  expansion?: string;
  expansionLatex?: string;
  /** Scalar programs: the chain rule for d out / d this stage over its consumers (absent for the output). */
  chain?: string;
  chainLatex?: string;
}

export interface EdgeReport {
  from: string;
  to: string;
  /** Position of this argument in the consuming stage. */
  argIndex: number;
  local: string;
  /** `local` in LaTeX, or null for VJP code. */
  localLatex: string | null;
  localValue: number | null;
  /** Which branch of a piecewise op (relu, abs, step) the point takes: "z = 2.5 > 0". */
  branch: string | null;
  upstream: Value | null;
  contribution: Value | null;
}

export interface CheckReport {
  name: string;
  analytic: Value;
  numeric: Value;
  relError: number;
  ok: boolean;
}

/**
 * The cost of the gradient check beside backprop's, counted as operations: one per number a stage
 * produces (forward) and one per number of each edge's contribution and fan-out sum (backward).
 * Central differences run the whole forward pass twice per input element.
 */
export interface CheckCost {
  /** Input elements: every number of every input given a value (each one is perturbed). */
  inputs: number;
  forwardOps: number;
  backwardOps: number;
  /** 2 × inputs × forwardOps. */
  centralDifferenceOps: number;
  /** centralDifferenceOps / (forwardOps + backwardOps): how many times fewer operations backprop needs. */
  ratio: number;
}

export interface ExplainReport {
  source: string;
  inputs: string[];
  /** The values the inputs were given. */
  inputValues: Record<string, Value>;
  output: string;
  scalar: boolean;
  value: Value;
  gradients: Record<string, Value>;
  stages: StageReport[];
  edges: EdgeReport[];
  /** Full symbolic derivatives in terms of the inputs (scalar programs). */
  derivatives?: Record<string, string>;
  derivativesLatex?: Record<string, string>;
  /**
   * Set instead of `derivatives` when they are too large to show: `size` nodes in the largest
   * expression tree before simplification, over `limit`. Stages, values and gradients are unaffected.
   */
  derivativesTooLarge?: { size: number; limit: number };
  /**
   * Array programs: closed-form matrix gradients (`∂L/∂W = 2 (W x) xᵀ`), keyed by input, with shared
   * deltas keyed δ1, δ2...; each checked against the gradients at the point. Absent when none is found.
   */
  matrixDerivatives?: Record<string, MatrixDerivative>;
  warnings: string[];
  /**
   * The first edge of the backward pass (stages in reverse) whose contribution is NaN or infinite:
   * where a non-finite gradient starts (later ones only propagate it). Absent when all are finite.
   */
  backwardNonFinite?: { stage: string; input: string; value: Value };
  check?: CheckReport[];
  /** With `check`: what the check cost against backprop, in operations (see `checkCost`). */
  checkCost?: CheckCost;
  step?: { lr: number; updates: { name: string; from: Value; to: Value }[] };
  /** Scalar programs: the chain rule for d out / d each input over its consumers, text and LaTeX (expansion.ts). */
  inputChains?: Record<string, { text: string; latex: string }>;
  /**
   * Set when the program calls abstract functions (declared with fn): no values exist, so values,
   * gradients and local values are NaN, empty or null, and `note` says why (abstract.ts).
   */
  abstract?: { functions: string[]; note: string };
}

export interface ExplainOptions {
  check?: boolean;
  step?: number;
}

export function toValue(t: bp.Tensor): Value {
  return t.toArray();
}

/** 4 significant digits, scientific below 1e-3 (0 stays 0). */
export function fmtNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return x.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(x.toPrecision(4)));
}

export function fmtValue(v: Value | null): string {
  if (v === null) return "not computed";
  return fmtNested(v, ",");
}

/**
 * A number or nested array with each number to 4 significant digits: [0.1,-2.5e-4]. Written by hand,
 * not with JSON.stringify, which would print inf and NaN as null.
 */
export function fmtNested(v: Value, comma: string): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(Number(fmtNumber(v))) : fmtNumber(v);
  return `[${(v as Value[]).map((x) => fmtNested(x, comma)).join(comma)}]`;
}


/** Gradient variable names: g + name, or d_ + name when that would collide with a program name. */
export function gradName(name: string, taken: ReadonlySet<string>): string {
  const g = `g${name}`;
  return taken.has(g) ? `d_${name}` : g;
}

interface LocalInfo {
  /** Per argument position: its local derivative (expression for scalars, VJP code for arrays). */
  perArg: (Expr | string)[];
  perArgValue: (number | null)[];
}

/** Local derivatives read back from the stage's own VJP graph (the symbolic interpreter). */
function localDerivatives(s: Stage, values: ReadonlyMap<string, bp.Tensor>, gName: (n: string) => string): LocalInfo {
  const { refs, leaves, ct, out: y, grads } = tracingPieces(() => recordStageVjp(s, values));
  const out = values.get(s.name)!;
  // Elementwise stages (every scalar stage among them) read back as expressions, with the upstream
  // gradient set to 1: the local derivative. Other array stages print their VJP with the upstream named.
  const exprNames = new Map<bp.Tensor, Expr>(leaves.map((l, k) => [l, v(refs[k])]));
  exprNames.set(ct, num(1));
  exprNames.set(y, s.expr);
  const sameShapes = leaves.every((l) => l.shape.join() === out.shape.join() || l.size === 1);
  try {
    if (!sameShapes) throw new NotSymbolic("broadcasting stage");
    const perArg = grads.map((g) => simplify(readGraph(g, exprNames)));
    // The recorded VJP ran with an upstream of ones, so its values are the local derivatives too.
    return { perArg, perArgValue: grads.map((g) => (g.size === 1 ? g.item() : null)) };
  } catch (e) {
    if (!(e instanceof NotSymbolic)) throw e;
  }
  const names = new Map<bp.Tensor, string>(leaves.map((l, k) => [l, refs[k]]));
  names.set(ct, gName(s.name));
  names.set(y, s.name);
  return { perArg: grads.map((g) => graphCode(g, names, "text")), perArgValue: grads.map(() => null) };
}

/**
 * The branch of a piecewise stage taken at the point, beside its rule: relu's 1[z > 0] is 1 because
 * z = 2.5 > 0. Step's derivative is 0 wherever it is defined. Null for other ops and for arrays.
 */
function branchTaken(s: Stage, from: string, x: bp.Tensor): string | null {
  if (s.op === "step") return "0 almost everywhere: step only jumps, at 0";
  if ((s.op !== "relu" && s.op !== "abs") || x.size !== 1) return null;
  const z = x.item();
  const at = `${from} = ${fmtNumber(z)}`;
  if (s.op === "relu") return `${at} ${z > 0 ? ">" : "<="} 0`;
  return z > 0 ? `${at} > 0` : z < 0 ? `${at} < 0` : `${at}, the kink, where sign(0) = 0`;
}

type FullDerivatives = { kind: "ok"; exprs: Map<string, Expr> } | { kind: "tooLarge"; size: number } | { kind: "none" };

/** Full derivatives of a scalar program in terms of its inputs, read from the whole backward graph. */
function fullDerivatives(staged: StagedProgram, given: ReadonlyMap<string, bp.Tensor>, inputs: readonly string[]): FullDerivatives {
  const leaves = new Map<string, bp.Tensor>();
  for (const name of inputs) {
    const t = given.get(name)!;
    if (t.size !== 1) return { kind: "none" };
    leaves.set(name, new bp.Tensor(t.data, t.shape, null, true));
  }
  const all = [...leaves.values()];
  const [y, back] = tracingPieces(() => bp.vjp(programFunction(staged, inputs), ...all));
  const ct = new bp.Tensor(new Float64Array([1]), y.shape, null, true);
  const grads = back(ct);
  const names = new Map<bp.Tensor, Expr>(all.map((l, k) => [l, v(inputs[k])]));
  names.set(ct, num(1));
  // Sizes first (linear in the graph): the cap must not build what it caps.
  const sizes = grads.map((g) => expressionSize(g, names));
  const size = sizes.reduce((a, b) => Math.max(a, b), 0);
  if (size > DERIVATIVE_SIZE_LIMIT) return { kind: "tooLarge", size };
  const exprs = new Map<string, Expr>();
  try {
    const total = sizes.reduce((a, b) => a + b, 0);
    // No graph-node limit for readGraph: the size check above bounds the tree, and reading is linear in the graph.
    withinBudget(SIMPLIFY_STEPS_PER_NODE * (total + 1), () => inputs.forEach((n, k) => exprs.set(n, simplify(readGraph(grads[k], names, Number.POSITIVE_INFINITY)))));
  } catch (e) {
    if (e instanceof WorkBudgetExceeded) return { kind: "tooLarge", size };
    if (e instanceof NotSymbolic) return { kind: "none" };
    throw e;
  }
  return { kind: "ok", exprs };
}

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

function warningsFor(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>, locals: Map<string, LocalInfo>, grads: ReadonlyMap<string, bp.Tensor | null>, eq: (s: Stage) => string): string[] {
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
      w.push(`kink: ${where}: ${s.op} is not differentiable at 0; the gradient used there is ${s.op === "abs" || s.op === "sign" || s.op === "step" ? "0" : "0 (as in PyTorch)"}`);
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
        } else if ((s.op === "sigmoid" || s.op === "tanh") && Math.abs(lv) < 1e-6) {
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
function firstNonFiniteGradient(edges: readonly EdgeReport[], stages: readonly StageReport[]): { flag: NonNullable<ExplainReport["backwardNonFinite"]>; warning: string } | null {
  const e = edges.find((x) => isNonFinite(x.contribution));
  if (!e || e.contribution === null) return null;
  const s = stages.find((x) => x.name === e.to)!;
  const local = e.localValue === null ? e.local : `${e.local} = ${fmtNumber(e.localValue)}`;
  return {
    flag: { stage: e.to, input: e.from, value: e.contribution },
    warning: `non-finite gradient: stage ${s.equation}: the backward pass first gives ${fmtValue(e.contribution)} here, for ${e.from} (upstream ${fmtValue(e.upstream)}, local derivative ${local})`,
  };
}

function checkGradients(staged: StagedProgram, given: ReadonlyMap<string, bp.Tensor>, names: readonly string[], grads: ReadonlyMap<string, bp.Tensor | null>): CheckReport[] {
  const r = bp.gradcheck(programFunction(staged, names), names.map((n) => given.get(n)!));
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
  const forwardOps = r.stages.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  let backwardOps = 0;
  const reached = new Set<string>();
  for (const e of r.edges) {
    if (e.contribution === null) continue;
    const size = elementCount(e.contribution);
    // The first contribution to a name is its gradient so far; each later one adds to it.
    backwardOps += reached.has(e.from) ? 2 * size : size;
    reached.add(e.from);
  }
  const centralDifferenceOps = 2 * inputs * forwardOps;
  const backprop = forwardOps + backwardOps;
  // A program that does no work costs nothing either way: call that even.
  const ratio = backprop === 0 ? 1 : centralDifferenceOps / backprop;
  return { inputs, forwardOps, backwardOps, centralDifferenceOps, ratio };
}

/** The name derivatives are written with: the output's own name when the program names it, else "out". */
function lossName(staged: StagedProgram): string {
  return staged.stages.find((s) => s.name === staged.output)?.userDefined ? staged.output : "out";
}

/** Textbook rules of the array stages and the closed-form matrix gradients (see matrix.ts). */
function addMatrixForms(report: ExplainReport, staged: StagedProgram, ev: { values: ReadonlyMap<string, bp.Tensor>; grads: ReadonlyMap<string, bp.Tensor | null> }): void {
  const out = lossName(staged);
  staged.stages.forEach((s, k) => {
    const rule = textbookRules(s, ev.values, ev.grads.get(s.name) ?? null, out);
    if (rule) report.stages[k].rule = rule;
  });
  const forms = closedForms(staged, ev.values, ev.grads, out);
  if (forms) report.matrixDerivatives = forms;
}

/** Everything explain computed: the report, and the staged program and values the emitters need. */
export interface Explanation {
  report: ExplainReport;
  /** Symbolic work (simplifier steps, graph nodes read) this explanation took: an op count for budgets. */
  work: number;
  staged: StagedProgram;
  values: ReadonlyMap<string, bp.Tensor>;
  grads: ReadonlyMap<string, bp.Tensor | null>;
}

/** Explains `source` at the given values (parsed from --at). */
export function explain(source: string, given: ReadonlyMap<string, bp.Tensor>, options: ExplainOptions = {}): ExplainReport {
  return explainAll(source, given, options).report;
}

export function explainAll(source: string, given: ReadonlyMap<string, bp.Tensor>, options: ExplainOptions = {}): Explanation {
  const work0 = workDone();
  const program = parseProgram(source);
  const staged = stageProgram(program, new Set(given.keys()));
  if (abstractFunctions(staged).length > 0) return explainAbstract(source, staged, given, options, work0);
  const eq = (s: Stage) => `${s.name} = ${printText(s.expr)}`;
  const ev = evaluate(staged, given, printText);
  const taken = new Set<string>([...ev.values.keys()]);
  const gName = (n: string) => gradName(n, taken);
  const locals = new Map<string, LocalInfo>();
  for (const s of staged.stages) locals.set(s.name, localDerivatives(s, ev.values, gName));
  const outT = ev.values.get(staged.output)!;
  const inputNames = [...given.keys()];
  const scalar = staged.inputs.every((n) => given.get(n)!.size === 1);
  const stages: StageReport[] = staged.stages.map((s) => {
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
      op: s.op,
      inputs: refs,
      equation: eq(s),
      expression: printText(s.expr),
      shape: [...ev.values.get(s.name)!.shape],
      value: toValue(ev.values.get(s.name)!),
      grad: g ? toValue(g) : null,
      local: namedRecord(local),
      localLatex: namedRecord(localLatex),
      localValue: namedRecord(localValue),
      span: s.span ? [s.span.start, s.span.end] : null,
    };
  });
  const edges: EdgeReport[] = ev.edges.map((e) => {
    const info = locals.get(e.to)!;
    const p = info.perArg[e.argIndex];
    const up = ev.grads.get(e.to) ?? null;
    return {
      from: e.from,
      to: e.to,
      argIndex: e.argIndex,
      local: typeof p === "string" ? p : printDerivative(p),
      localLatex: typeof p === "string" ? null : printDerivative(p, "latex"),
      localValue: info.perArgValue[e.argIndex],
      branch: branchTaken(staged.stages.find((s) => s.name === e.to)!, e.from, ev.values.get(e.from)!) ?? extremumBranch(staged.stages.find((s) => s.name === e.to)!, ev.values, fmtNumber),
      upstream: up ? toValue(up) : null,
      contribution: e.contribution ? toValue(e.contribution) : null,
    };
  });
  const gradients = namedRecord(inputNames.map((n) => [n, toValue(ev.grads.get(n)!)] as const));
  const report: ExplainReport = {
    source,
    inputs: inputNames,
    inputValues: namedRecord(inputNames.map((n) => [n, toValue(given.get(n)!)] as const)),
    output: staged.output,
    scalar,
    value: toValue(outT),
    gradients,
    stages,
    edges,
    warnings: warningsFor(staged, ev.values, locals, ev.grads, eq),
  };
  report.warnings.push(...extremumWarnings(staged.stages, ev.values, eq));
  const nonFinite = firstNonFiniteGradient(edges, stages);
  if (nonFinite) {
    report.warnings.push(nonFinite.warning);
    report.backwardNonFinite = nonFinite.flag;
  }
  if (scalar) {
    const full = fullDerivatives(staged, given, staged.inputs);
    if (full.kind === "tooLarge") report.derivativesTooLarge = { size: full.size, limit: DERIVATIVE_SIZE_LIMIT };
    if (full.kind === "ok") {
      const d = full.exprs;
      // A name given with --at that the program does not use has derivative 0.
      const exprOf = (n: string) => d.get(n) ?? num(0);
      report.derivatives = namedRecord(inputNames.map((n) => [n, printDerivative(exprOf(n))] as const));
      report.derivativesLatex = namedRecord(inputNames.map((n) => [n, printDerivative(exprOf(n), "latex")] as const));
    }
  }
  if (!scalar) addMatrixForms(report, staged, ev);
  if (scalar) addExpansions(report, staged);
  if (options.check) {
    report.check = checkGradients(staged, given, inputNames, ev.grads);
    report.checkCost = checkCost(report);
  }
  if (options.step !== undefined) {
    const lr = options.step;
    report.step = {
      lr,
      updates: inputNames.map((n) => ({
        name: n,
        from: toValue(given.get(n)!),
        to: toValue(bp.sub(given.get(n)!, bp.mul(ev.grads.get(n)!, lr))),
      })),
    };
  }
  return { report, work: workDone() - work0, staged, values: ev.values, grads: ev.grads };
}

export { ExplainError };
