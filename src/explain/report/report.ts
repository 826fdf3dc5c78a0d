/**
 * The explain report: what explain computed, as plain data that every renderer (tables, figures, JSON,
 * the playground) reads, and the number formatting they share.
 */
import * as bp from "../core.js";
import type { Expr } from "../language/ast.js";
import type { Granularity } from "../language/gates.js";
import { type MatrixDerivative, type MatrixRule } from "../interpreters/matrix.js";
import { type StagedProgram } from "../interpreters/stage.js";
import { type Trace } from "../interpreters/trace.js";

export type Value = number | bp.Nested;

/**
 * Full symbolic derivatives whose expression tree (before simplification) has more nodes than this are
 * not computed: nobody reads them, and with fan-out the tree grows exponentially with the program
 * (an 80-stage program would never finish). The report gives their size instead.
 */
export const DERIVATIVE_SIZE_LIMIT = 5000;

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
  /** How finely it was staged: "gates" (sigmoid, tanh, the losses and layers one stage each) or "primitives". */
  granularity: Granularity;
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
  /** With the forward option: the tangents of forward mode, beside the reverse pass (see `ForwardReport`). */
  forward?: ForwardReport;
  /**
   * Set when the program calls abstract functions (declared with fn): no values exist, so values,
   * gradients and local values are NaN, empty or null, and `note` says why (abstract.ts).
   */
  abstract?: { functions: string[]; note: string };
  /** Scalar programs: each input's gradient as the sum over paths to the output (paths.ts). */
  paths?: PathsReport;
}

/** One path from an input to the output, one wire at a time, and the product of the local derivatives on it. */
export interface GradientPath {
  /** The names along the path, the input first and the output last: x -> a -> f. */
  names: string[];
  /** The operand position of each wire (x * x has two wires from x, 0 and 1: two paths). */
  argIndices: number[];
  /** The local derivative on each wire, in the path's order (∂a/∂x first). */
  factors: string[];
  /** Their product, text and LaTeX (null where a factor has no LaTeX form). */
  product: string;
  productLatex: string | null;
  /** The product's value (null where a local value is unknown: abstract functions). */
  value: number | null;
}

export interface InputPaths {
  input: string;
  /** How many paths lead from the input to the output (approximate past 2^53; see countText). */
  count: number;
  /** The exact count in decimal. */
  countText: string;
  /** The paths, numbered from 1 in this order; absent when there are more than the limit. */
  paths?: GradientPath[];
  /** With `paths`: the sum of their products, which is the gradient. */
  sum?: number | null;
}

/** A name's gradient as its fan-out sum: the contributions of its wires (that reach the output) and their total. */
export interface FanOutSum {
  name: string;
  terms: (number | null)[];
  total: number | null;
}

export interface PathsReport {
  /** Paths listed per input at most; past it the count and the fan-out sums stand in. */
  limit: number;
  inputs: InputPaths[];
  /**
   * When some input has more paths than the limit: the fan-out sums of the names between those inputs and
   * the output, backward (stages in reverse, then the inputs), given once for all of them. Renderers write
   * each with its chain rule (`StageReport.chain`, `inputChains`).
   */
  fanOut?: FanOutSum[];
}

/**
 * Forward mode (explain --mode forward): one sweep of the core's jvp over the staged program per seeded
 * input, the tangents riding forward with the values, beside the reverse pass (forward.ts).
 */
export interface ForwardReport {
  /** The seeded inputs, in order (all inputs when none was named). */
  seeds: string[];
  sweeps: TangentSweep[];
  cost: ModeCost;
}

export interface TangentSweep {
  /** The seeded input: its tangent is 1 (ones for an array), every other input's 0. */
  seed: string;
  /** d name / d seed for every input and stage, keyed by name: the tangent each of its wires carries. */
  tangents: Record<string, Value>;
  /** d output / d seed: a scalar seed's gradient, as the reverse pass found it (for an array seed, the sum of its gradient). */
  output: Value;
}

/**
 * The two modes' costs in operations (counted as `OpCounts` counts them): both run the forward pass
 * once; forward mode then runs one tangent sweep per input element (n), reverse mode one backward
 * sweep per output element (m). So reverse mode wins for a scalar loss (m = 1), forward mode for
 * one input and many outputs (n = 1).
 */
export interface ModeCost {
  /** n: input elements. */
  inputs: number;
  /** m: output elements. */
  outputs: number;
  /** The forward pass (values), run once by either mode. */
  forwardOps: number;
  /** One tangent sweep: each stage's local derivative times its arguments' tangents, summed. */
  tangentOps: number;
  /** One backward sweep (`OpCounts.backward`). */
  backwardOps: number;
  /** forwardOps + n × tangentOps. */
  forwardMode: number;
  /** forwardOps + m × backwardOps. */
  reverseMode: number;
}

export interface PerStageDerivative {
  name: string;
  text: string;
  latex: string;
}

export interface ExplainOptions {
  check?: boolean;
  /** Forward mode: one tangent sweep per seeded input (default: every input), reported in `forward`. */
  forward?: { seeds?: readonly string[] };
  step?: number;
  /**
   * Simplifier steps allowed per node of the full derivatives (default SIMPLIFY_STEPS_PER_NODE); past
   * it they are shown unsimplified. A front end with less time to spare may lower it.
   */
  simplifyStepsPerNode?: number;
  /** "gates" (default): sigmoid, tanh, mse, softmax_ce, linear and softmax one stage each; "primitives": staged into their primitive operations. */
  granularity?: Granularity;
  /** Paths listed per input at most (default PATH_LIMIT, paths.ts); past it the report gives their count. */
  pathLimit?: number;
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
