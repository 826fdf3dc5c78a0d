/**
 * `explain`: parse, stage, run forward and backward, read the local and full derivatives back from
 * the recorded VJP graphs, check against central differences, and collect warnings. The result is a
 * plain report that the formatters (table, markdown, latex, json, code) print.
 */
import * as bp from "./core.js";
import { bin, children, namedRecord, num, own, v, type Expr } from "./ast.js";
import { graphCode } from "./graphcode.js";
import { extremumBranch, extremumWarnings } from "./extremum.js";
import { addExpansions, partialLatex, partialText, stageExpansions, type Expansion } from "./expansion.js";
import { abstractError, abstractFunctions, abstractPoint, blankNumbers, orderFactors } from "./abstract.js";
import { closedForms, textbookRules, type MatrixDerivative, type MatrixRule } from "./matrix.js";
import { parseProgram } from "./parser.js";
import { printDerivative, printExpr, printText } from "./print.js";
import { simplify } from "./simplify.js";
import { ExplainError, programFunction, refArgs, stageProgram, type Stage, type StagedProgram } from "./stage.js";
import { NotSymbolic, readGraph } from "./symbolic.js";
import { localNames, localValues, traceProgram, type StageRecord, type Trace } from "./trace.js";
import { charge, WorkBudgetExceeded, withinBudget, workDone } from "./work.js";

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
  /** The right-hand side in LaTeX (renderers read it here rather than parse `expression` back). */
  expressionLatex: string;
  /** The operation's operands in order: earlier names, or constants as written (figures fold them into the gate). */
  operands: StageOperand[];
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
  /** Scalar programs: the right-hand side with earlier stages substituted, in terms of the inputs (expansion.ts). */
  expansion?: string;
  expansionLatex?: string;
  /** Scalar programs: the chain rule for d out / d this stage over its consumers (absent for the output). */
  chain?: string;
  chainLatex?: string;
}

export type StageOperand = { kind: "name"; name: string } | { kind: "constant"; text: string; latex: string; shape: number[] };

export interface EdgeReport {
  from: string;
  to: string;
  /** Position of this argument in the consuming stage. */
  argIndex: number;
  local: string;
  /** `local` in LaTeX, or null for VJP code. */
  localLatex: string | null;
  /** `local` as an expression tree (null for VJP code): what the text and LaTeX print. */
  localExpr: Expr | null;
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

/**
 * Operation counts of an explanation: one per number each stage produces (forward), one per number of
 * each edge's contribution and of each fan-out sum (backward), and the symbolic work of reading the
 * trace back as expressions and simplifying them (graph nodes read, simplifier steps).
 */
export interface OpCounts {
  forward: number;
  backward: number;
  symbolic: number;
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
  /** The same derivatives as expression trees (simplified). */
  derivativeExprs?: Record<string, Expr>;
  /**
   * Set when simplifying the derivatives took more than its op budget (SIMPLIFY_STEPS_PER_NODE per
   * node): they are shown as read from the trace, correct but unsimplified.
   */
  derivativesUnsimplified?: boolean;
  /**
   * Set instead of `derivatives` when they are too large to show: `size` nodes in the largest
   * expression tree before simplification, over `limit`. Stages, values and gradients are unaffected.
   */
  derivativesTooLarge?: { size: number; limit: number };
  /**
   * With `derivativesTooLarge`: the derivatives given per stage instead, through the definitions, each
   * name's in terms of the ones after it (∂out/∂x = ∂out/∂a · cos(x) + ∂out/∂b · y), from the output
   * back to the inputs. Linear in the program's size, whatever its fan-out.
   */
  derivativesPerStage?: PerStageDerivative[];
  /**
   * Array programs: closed-form matrix gradients (`∂L/∂W = 2 (W x) xᵀ`), keyed by input, with shared
   * deltas keyed δ1, δ2...; each checked against the gradients at the point. Absent when none is found.
   */
  matrixDerivatives?: Record<string, MatrixDerivative>;
  warnings: string[];
  /** What the explanation cost, counted in operations (see `OpCounts`). */
  ops: OpCounts;
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

export interface PerStageDerivative {
  name: string;
  text: string;
  latex: string;
}

export interface ExplainOptions {
  check?: boolean;
  step?: number;
  /**
   * Simplifier steps allowed per node of the full derivatives (default SIMPLIFY_STEPS_PER_NODE); past
   * it they are shown unsimplified. A front end with less time to spare may lower it.
   */
  simplifyStepsPerNode?: number;
}

/** The shape of a number (none) or of a nested array, from its first elements. */
export function valueShape(v: Value): number[] {
  const shape: number[] = [];
  for (let x: Value = v; Array.isArray(x); x = (x as Value[])[0]) {
    shape.push(x.length);
    if (x.length === 0) break;
  }
  return shape;
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

/** Local derivatives read back from the stage's recorded VJP (the symbolic interpreter over the trace). */
function localDerivatives(r: StageRecord, gName: (n: string) => string): LocalInfo {
  const out = r.out;
  // Elementwise stages (every scalar stage among them) read back as expressions, with the upstream
  // gradient read as 1: the local derivative. Other array stages print their VJP with the upstream named.
  const sameShapes = r.leaves.every((l) => l.shape.join() === out.shape.join() || l.size === 1);
  const values = localValues(r);
  try {
    if (!sameShapes) throw new NotSymbolic("broadcasting stage");
    const names = localNames(r);
    const perArg = r.vjp.map((g) => simplify(readGraph(g, names)));
    return { perArg, perArgValue: values.map((g) => (g.size === 1 ? g.item() : null)) };
  } catch (e) {
    if (!(e instanceof NotSymbolic)) throw e;
  }
  const names = new Map<bp.Tensor, string>(r.leaves.map((l, k) => [l, r.refs[k]]));
  names.set(r.ct, gName(r.stage.name));
  names.set(out, r.stage.name);
  return { perArg: r.vjp.map((g) => graphCode(g, names, "text")), perArgValue: r.vjp.map(() => null) };
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

/** `simplified: false`: the simplifier ran out of its budget, so the derivatives are as read, unsimplified. */
type FullDerivatives = { kind: "ok"; exprs: Map<string, Expr>; simplified: boolean } | { kind: "tooLarge"; size: number } | { kind: "none" };

/**
 * Nodes of the expression tree that `e` stands for, counting shared subexpressions once per use (as
 * printing would), computed over the shared structure in linear time. Saturates at Number.MAX_VALUE.
 */
export function treeSize(e: Expr): number {
  const memo = new Map<Expr, number>();
  const stack: [Expr, boolean][] = [[e, false]];
  while (stack.length > 0) {
    const [u, expanded] = stack.pop()!;
    if (memo.has(u)) continue;
    const cs = children(u);
    if (!expanded && cs.length > 0) {
      stack.push([u, true]);
      for (const c of cs) if (!memo.has(c)) stack.push([c, false]);
      continue;
    }
    charge();
    memo.set(u, Math.min(Number.MAX_VALUE, cs.reduce((n, c) => n + memo.get(c)!, 1)));
  }
  return memo.get(e)!;
}

/**
 * Full derivatives of a scalar program in terms of its inputs, chained through the trace: each
 * stage's recorded VJP is read with its argument leaves as their expressions in the inputs and its
 * upstream leaf as the derivative reaching it, so the pieces share structure and reading is linear in
 * the program. Their tree size is measured on that shared structure before anything is simplified.
 */
function fullDerivatives(trace: Trace, staged: StagedProgram, inputs: readonly string[], stepsPerNode: number, exps: ReadonlyMap<string, Expansion>): FullDerivatives {
  if (inputs.some((n) => trace.values.get(n)!.size !== 1)) return { kind: "none" };
  // Each name as an expression in the inputs: the stages' expansions (shared, see expansion.ts).
  const fwd = new Map<string, Expr>(inputs.map((n) => [n, v(n)]));
  for (const [name, x] of exps) fwd.set(name, x.expr);
  const grad = new Map<string, Expr>([[staged.output, num(1)]]);
  try {
    for (let i = trace.records.length - 1; i >= 0; i--) {
      const r = trace.records[i];
      const up = grad.get(r.stage.name);
      if (!r.reached || up === undefined) continue;
      const names = new Map<bp.Tensor, Expr>(r.leaves.map((l, k) => [l, fwd.get(r.refs[k])!]));
      names.set(r.out, fwd.get(r.stage.name)!);
      names.set(r.ct, up);
      // Terms in the order of the stages that use a name (as a student sums them), arguments in order.
      const here = new Map<string, Expr>();
      r.refs.forEach((ref, k) => {
        const c = readGraph(r.vjp[k], names, Number.POSITIVE_INFINITY);
        const prev = here.get(ref);
        here.set(ref, prev ? bin("+", prev, c) : c);
      });
      for (const [ref, c] of here) {
        const later = grad.get(ref);
        grad.set(ref, later ? bin("+", c, later) : c);
      }
    }
  } catch (e) {
    if (e instanceof NotSymbolic) return { kind: "none" };
    throw e;
  }
  const roots = inputs.map((n) => grad.get(n) ?? num(0));
  // Sizes first (linear in the shared structure): the cap must not build what it caps.
  const sizes = roots.map(treeSize);
  const size = sizes.reduce((a, b) => Math.max(a, b), 0);
  if (size > DERIVATIVE_SIZE_LIMIT) return { kind: "tooLarge", size };
  const exprs = new Map<string, Expr>();
  try {
    const total = sizes.reduce((a, b) => a + b, 0);
    withinBudget(stepsPerNode * (total + 1), () => inputs.forEach((n, k) => exprs.set(n, simplify(roots[k]))));
  } catch (e) {
    // Under the size bound but past the simplifier's budget: shown as read, with a note, never a hang.
    if (e instanceof WorkBudgetExceeded) return { kind: "ok", exprs: new Map(inputs.map((n, k) => [n, roots[k]] as const)), simplified: false };
    throw e;
  }
  return { kind: "ok", exprs, simplified: true };
}

/**
 * Each name's derivative through the names that use it, output first: the chain rule as the backward
 * pass applies it, with every local derivative written out. What explain shows when the full
 * derivatives are too large: its size is that of the program.
 */
function perStageDerivatives(staged: StagedProgram, edges: readonly { from: string; to: string; argIndex: number; contribution: bp.Tensor | null }[], locals: ReadonlyMap<string, LocalInfo>, inputs: readonly string[]): PerStageDerivative[] {
  const out = lossName(staged);
  const partial = (n: string, lang: "text" | "latex"): string => (lang === "text" ? partialText(out, n) : partialLatex(out, n));
  const factor = (e: Expr, lang: "text" | "latex"): string => {
    const t = printDerivative(e, lang);
    const loose = e.kind === "neg" || (e.kind === "bin" && (e.op === "+" || e.op === "-"));
    return loose ? (lang === "text" ? `(${t})` : `\\left(${t}\\right)`) : t;
  };
  // Per name, the stages that use it (backward order) with the local derivative summed over the
  // stage's edges from it (x^x uses x twice: x^x ln(x) + x^x).
  const uses = new Map<string, Map<string, Expr>>();
  for (const e of edges) {
    if (e.contribution === null) continue;
    const local = locals.get(e.to)?.perArg[e.argIndex];
    if (local === undefined || typeof local === "string") continue;
    const byStage = uses.get(e.from) ?? new Map<string, Expr>();
    const prev = byStage.get(e.to);
    byStage.set(e.to, prev ? simplify(bin("+", prev, local)) : local);
    uses.set(e.from, byStage);
  }
  const names = [...staged.stages.map((s) => s.name).reverse().filter((n) => n !== staged.output), ...inputs];
  return names.flatMap((n) => {
    const terms = uses.get(n);
    if (!terms) return [];
    const side = (lang: "text" | "latex") => {
      // Consumers in program order, as the sums elsewhere in the report are written.
      const parts = [...terms].reverse().map(([to, local]) => {
        // The output's own derivative is 1: its term is the local derivative alone.
        if (to === staged.output) return printDerivative(local, lang);
        return local.kind === "num" && local.value === 1 ? partial(to, lang) : `${partial(to, lang)} ${lang === "text" ? "·" : "\\cdot"} ${factor(local, lang)}`;
      });
      return `${partial(n, lang)} = ${parts.join(" + ")}`;
    };
    return [{ name: n, text: side("text"), latex: side("latex") }];
  });
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
  // Central differences against the trace's own gradients (not a second backward pass).
  const r = bp.gradcheck(programFunction(staged, names), names.map((n) => given.get(n)!), { analytic: names.map((n) => grads.get(n)!) });
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
function numericOps(r: Pick<ExplainReport, "inputValues" | "stages" | "edges">): { forward: number; backward: number } {
  const byName = new Map(r.stages.map((s) => [s.name, s]));
  const shapeOf = (o: StageOperand): readonly number[] => (o.kind === "constant" ? o.shape : byName.get(o.name)?.shape ?? valueShape(own(r.inputValues, o.name) ?? 0));
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

/** The name derivatives are written with: the output's own name when the program names it, else "out". */
function lossName(staged: StagedProgram): string {
  return staged.stages.find((s) => s.name === staged.output)?.userDefined ? staged.output : "out";
}

/** Textbook rules of the array stages and the closed-form matrix gradients (see matrix.ts). */
function addMatrixForms(report: ExplainReport, staged: StagedProgram, ev: Trace): void {
  const out = lossName(staged);
  staged.stages.forEach((s, k) => {
    const rule = textbookRules(s, ev.values, ev.records[k], out);
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
  /** The one recording of the forward and backward passes that the report was read from. */
  trace: Trace;
}

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
      operands: s.args.map((a): StageOperand => (a.kind === "ref" ? { kind: "name", name: a.name } : { kind: "constant", text: printText(a.expr), latex: printExpr(a.expr, "latex"), shape: [...a.value.shape] })),
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
      branch: branchTaken(staged.stages.find((s) => s.name === e.to)!, e.from, ev.values.get(e.from)!) ?? extremumBranch(staged.stages.find((s) => s.name === e.to)!, ev.values, fmtNumber),
      upstream: up ? toValue(up) : null,
      contribution: e.contribution ? toValue(e.contribution) : null,
    };
  });
}

/** Full symbolic derivatives of a scalar program, or past the bound the per-stage form (see fullDerivatives). */
function addDerivatives(report: ExplainReport, staged: StagedProgram, ev: Trace, locals: ReadonlyMap<string, LocalInfo>, inputNames: readonly string[], abstract: readonly string[], options: ExplainOptions, exps: ReadonlyMap<string, Expansion>): void {
  const full = fullDerivatives(ev, staged, staged.inputs, options.simplifyStepsPerNode ?? SIMPLIFY_STEPS_PER_NODE, exps);
  if (full.kind === "tooLarge") {
    report.derivativesTooLarge = { size: full.size, limit: DERIVATIVE_SIZE_LIMIT };
    report.derivativesPerStage = perStageDerivatives(staged, ev.edges, locals, inputNames);
  }
  if (full.kind === "ok") {
    // Abstract factors after the others, in declaration order: g'(x) h(x) + g(x) h'(x).
    const d = abstract.length > 0 ? new Map([...full.exprs].map(([n, e]) => [n, orderFactors(e, staged)] as const)) : full.exprs;
    // A name given with --at that the program does not use has derivative 0.
    const exprOf = (n: string) => d.get(n) ?? num(0);
    report.derivatives = namedRecord(inputNames.map((n) => [n, printDerivative(exprOf(n))] as const));
    report.derivativesLatex = namedRecord(inputNames.map((n) => [n, printDerivative(exprOf(n), "latex")] as const));
    report.derivativeExprs = namedRecord(inputNames.map((n) => [n, exprOf(n)] as const));
    if (!full.simplified) report.derivativesUnsimplified = true;
  }
}

export function explainAll(source: string, given: ReadonlyMap<string, bp.Tensor>, options: ExplainOptions = {}): Explanation {
  const work0 = workDone();
  const program = parseProgram(source);
  const staged = stageProgram(program, new Set(given.keys()));
  const abstract = abstractFunctions(staged);
  if (abstract.length > 0 && options.check) throw new ExplainError(abstractError(abstract, "the gradient check", false));
  if (abstract.length > 0 && options.step !== undefined) throw new ExplainError(abstractError(abstract, "a gradient-descent step", false));
  // A program with abstract functions has no values: it is traced at placeholder points (NaN), which
  // the one trace records all the same, and its numbers are left out of the report (see blankNumbers).
  const at = abstract.length > 0 ? abstractPoint(staged, given) : given;
  const eq = (s: Stage) => `${s.name} = ${printText(s.expr)}`;
  const ev = traceProgram(staged, at, printText);
  const taken = new Set<string>([...ev.values.keys()]);
  const gName = (n: string) => gradName(n, taken);
  const locals = new Map<string, LocalInfo>();
  for (const r of ev.records) locals.set(r.stage.name, localDerivatives(r, gName));
  const outT = ev.values.get(staged.output)!;
  const inputNames = [...at.keys()];
  const scalar = staged.inputs.every((n) => at.get(n)!.size === 1);
  const stages = stageReports(staged, ev, locals, eq);
  const edges = edgeReports(staged, ev, locals);
  const gradients = namedRecord(inputNames.map((n) => [n, toValue(ev.grads.get(n)!)] as const));
  const report: ExplainReport = {
    source,
    inputs: inputNames,
    inputValues: namedRecord(inputNames.map((n) => [n, toValue(at.get(n)!)] as const)),
    output: staged.output,
    scalar,
    value: toValue(outT),
    gradients,
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
  if (scalar) {
    // One set of expansions serves the expansion column and the full derivatives.
    const exps = stageExpansions(staged);
    addDerivatives(report, staged, ev, locals, inputNames, abstract, options, exps);
    addExpansions(report, staged, exps);
  } else addMatrixForms(report, staged, ev);
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
  const work = workDone() - work0;
  report.ops = { ...numericOps(report), symbolic: work };
  if (abstract.length > 0) blankNumbers(report, abstract, given);
  return { report, work, staged, values: ev.values, grads: ev.grads, trace: ev };
}

export { ExplainError };
