/**
 * A small matrix-expression algebra for the lecture's vector and matrix backprop: each array stage's
 * local rule in the denominator convention (∂L/∂W = (∂L/∂a) xᵀ, with the shapes of both sides), and the
 * closed-form gradients of whole array programs composed from those rules, backwards. Every expression
 * here can be evaluated on tensors, so the explainer checks each one against the engine's gradients
 * before it reports it (never print a wrong formula).
 */
import * as bp from "../core.js";
import { namedRecord } from "../language/ast.js";
import { printExpr, printText } from "../language/print.js";
import { refArgs, type Stage, type StagedProgram } from "./stage.js";
import type { StageRecord } from "./trace.js";
import { NORM_EPS } from "../language/functions.js";
import { avgPoolGrad, convBiasGrad, convInputGrad, convWeightGrad, maxPoolGrad, normAxes, normGrads, paramAxes, type Window } from "./window-rules.js";

type Shape = readonly number[];

/** Elementwise functions: forward ones, and the derivative factors the rules use. */
export type MFn =
  | "relu"
  | "tanh"
  | "sigmoid"
  | "exp"
  | "ln"
  | "sqrt"
  | "sin"
  | "cos"
  | "tan"
  | "abs"
  | "sign"
  | "recip"
  | "halfRecip"
  | "step"
  | "dsigmoid"
  | "erf"
  | "derf"
  | "sum"
  | "mean"
  | "softmax";

export type MExpr =
  /** A named value: an input, a stage, an upstream gradient (`up`: printed ∂L/∂a) or a named delta. */
  | { readonly kind: "var"; readonly name: string; readonly shape: Shape; readonly up?: boolean }
  | { readonly kind: "ones"; readonly shape: Shape }
  /** The zero gradient of a piecewise-constant stage (sign, step). */
  | { readonly kind: "zeros"; readonly shape: Shape }
  | { readonly kind: "num"; readonly value: number }
  /** An array constant of the program, printed as written. */
  | { readonly kind: "const"; readonly text: string; readonly value: bp.Tensor }
  /** Transpose: NumPy's .T (all axes reversed), or with `last` each matrix of a batch (the last two axes swapped). */
  | { readonly kind: "T"; readonly arg: MExpr; readonly last?: boolean }
  | { readonly kind: "mm"; readonly left: MExpr; readonly right: MExpr }
  | { readonly kind: "had"; readonly left: MExpr; readonly right: MExpr }
  /** Elementwise division, x ⊘ y (x / y where y is a scalar). */
  | { readonly kind: "div"; readonly left: MExpr; readonly right: MExpr }
  /** Elementwise power with an array exponent, x^(y − 1): `left` the base, `right` the exponent. */
  | { readonly kind: "epow"; readonly left: MExpr; readonly right: MExpr }
  | { readonly kind: "add" | "sub"; readonly left: MExpr; readonly right: MExpr }
  | { readonly kind: "neg"; readonly arg: MExpr }
  | { readonly kind: "scale"; readonly k: number; readonly arg: MExpr }
  | { readonly kind: "pow"; readonly arg: MExpr; readonly p: number }
  | { readonly kind: "fn"; readonly fn: MFn; readonly arg: MExpr }
  /** Sum of a broadcast gradient back to `shape` (the shape of the operand that was broadcast). */
  | { readonly kind: "sumTo"; readonly arg: MExpr; readonly shape: Shape }
  /** A scalar spread over `shape` (sum's and mean's backward), divided by `div`. */
  | { readonly kind: "bcast"; readonly arg: MExpr; readonly shape: Shape; readonly div: number }
  /** A convolution, pooling or normalization rule (WIN_OPS) of its operands, with the stage's window; its value has `shape`. */
  | { readonly kind: "win"; readonly op: WinOp; readonly args: readonly MExpr[]; readonly win: WinParams; readonly shape: Shape };

/**
 * The window stages' rules: conv2d's ∂L/∂x (convX: the upstream, the kernel), ∂L/∂w (convW: x, the
 * upstream) and ∂L/∂b (convB: the upstream); a pool's ∂L/∂x (maxBack: x, the upstream; avgBack: the
 * upstream); a normalization's ∂L/∂x (normX: x, γ, the upstream), ∂L/∂γ (normGamma: x, the upstream), ∂L/∂β (normBeta).
 */
export type WinOp = "convX" | "convW" | "convB" | "maxBack" | "avgBack" | "normX" | "normGamma" | "normBeta";

/** A window stage's hyperparameters (the window), or for normalizations which one. */
export interface WinParams extends Window {
  readonly norm?: "batchnorm" | "layernorm";
}

export class NoMatrixForm extends Error {}

// ---------------------------------------------------------------- shapes

const SHAPES = new WeakMap<MExpr, Shape>();

/** NumPy shape of an expression; a transposed vector is a row, (1×n). Cached: expressions share subtrees. */
export function shapeOf(e: MExpr): Shape {
  let s = SHAPES.get(e);
  if (!s) {
    s = computeShape(e);
    SHAPES.set(e, s);
  }
  return s;
}

function computeShape(e: MExpr): Shape {
  switch (e.kind) {
    case "var":
    case "ones":
    case "zeros":
    case "sumTo":
    case "bcast":
    case "win":
      return e.shape;
    case "num":
      return [];
    case "const":
      return e.value.shape;
    case "T": {
      const s = shapeOf(e.arg);
      if (e.last) return [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
      return s.length === 1 ? [1, s[0]] : [...s].reverse();
    }
    case "mm":
      return isOuter(e) ? [shapeOf(e.left)[0], shapeOf(e.right)[1]] : mmShape(shapeOf(e.left), shapeOf(e.right));
    case "had":
    case "div":
    case "epow":
    case "add":
    case "sub":
      return broadcastShape(shapeOf(e.left), shapeOf(e.right));
    case "fn":
      return e.fn === "sum" || e.fn === "mean" ? [] : shapeOf(e.arg);
    default:
      return shapeOf(e.arg);
  }
}

/**
 * A column times a row, x yᵀ: the rules' outer product, told apart by its transposed vector (a (1×k)
 * matrix on the right of a vector is NumPy's product, v @ B with B of one row, which gives (k,)).
 */
function isOuter(e: MExpr & { kind: "mm" }): boolean {
  return shapeOf(e.left).length === 1 && e.right.kind === "T" && shapeOf(e.right.arg).length === 1;
}

function mmShape(a: Shape, b: Shape): Shape {
  if (a.length === 1 && b.length === 1) return [];
  // A vector against a matrix or a batch loses the axis it gained.
  if (a.length === 1) return [...b.slice(0, -2), b[b.length - 1]];
  if (b.length === 1) return a.slice(0, -1);
  if (a.length > 2 || b.length > 2) return [...broadcastShape(a.slice(0, -2), b.slice(0, -2)), a[a.length - 2], b[b.length - 1]];
  return [a[0], b[1]];
}

/** NumPy's broadcast of two shapes: aligned at the right, a 1 stretched to the other's size. */
function broadcastShape(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    return x === 1 ? y : x;
  });
}

const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Shape as the lecture writes it: (3×2), (3,), or "scalar". */
export function shapeText(s: Shape): string {
  if (s.length === 0) return "scalar";
  return s.length === 1 ? `(${s[0]},)` : `(${s.join("×")})`;
}

// ---------------------------------------------------------------- smart constructors

const isOnes = (e: MExpr): boolean => e.kind === "ones" || (e.kind === "num" && e.value === 1);

export function scale(k: number, x: MExpr): MExpr {
  if (k === 1) return x;
  if (x.kind === "scale") return scale(k * x.k, x.arg);
  return { kind: "scale", k, arg: x };
}

/** Elementwise product; ones drop out, a scaled ones becomes a scale, keeping the other operand's identity. */
export function had(a: MExpr, b: MExpr): MExpr {
  // Only where the other operand already has the product's shape: ones of (2×3) ⊙ y of (1×3) is a broadcast.
  const full = broadcastShape(shapeOf(a), shapeOf(b));
  const keepsA = sameShape(shapeOf(a), full);
  const keepsB = sameShape(shapeOf(b), full);
  if (isOnes(b) && keepsA) return a;
  if (isOnes(a) && keepsB) return b;
  if (b.kind === "scale" && isOnes(b.arg) && keepsA) return scale(b.k, a);
  if (a.kind === "scale" && isOnes(a.arg) && keepsB) return scale(a.k, b);
  return { kind: "had", left: a, right: b };
}

function sumTo(x: MExpr, shape: Shape): MExpr {
  return sameShape(shapeOf(x), shape) ? x : { kind: "sumTo", arg: x, shape };
}

function bcast(x: MExpr, shape: Shape, div: number): MExpr {
  if (isOnes(x)) return scale(1 / div, { kind: "ones", shape });
  if (x.kind === "scale" && isOnes(x.arg)) return scale(x.k / div, { kind: "ones", shape });
  return { kind: "bcast", arg: x, shape, div };
}

function neg(x: MExpr): MExpr {
  if (x.kind === "neg") return x.arg;
  if (x.kind === "scale") return scale(-x.k, x.arg);
  return isOnes(x) ? scale(-1, x) : { kind: "neg", arg: x };
}

// ---------------------------------------------------------------- rules

/** A stage operand: its name (null for a constant) and its expression. */
interface Operand {
  name: string | null;
  expr: MExpr;
}

type Rule = (up: MExpr) => MExpr;

/** What a stage's rules are written from: its operands, their shapes and the stage's own value. */
interface RuleInput {
  /** Every operand, hyperparameters (numbers) included. */
  ops: readonly MExpr[];
  a: MExpr;
  b: MExpr;
  c: MExpr;
  sa: Shape;
  sb: Shape;
  out: MExpr;
}

/**
 * The denominator-convention rule of stage `s` for each operand: ∂L/∂operand as a function of the
 * upstream ∂L/∂s. `out` is the stage's own value (tanh and exp reuse it). Throws NoMatrixForm for ops
 * and shapes the lecture has no rule for.
 */
export function stageRules(s: Stage, ops: readonly Operand[], out: MExpr): Rule[] {
  const [a, b, c] = ops.map((o) => o.expr);
  const sa = a ? shapeOf(a) : [];
  const sb = b ? shapeOf(b) : [];
  const rules = STAGE_RULES[s.op];
  if (!rules) throw new NoMatrixForm(`no matrix rule for ${s.op}`);
  return rules({ ops: ops.map((o) => o.expr), a, b, c, sa, sb, out });
}

/** A number operand (a window's hyperparameter, as the parser wrote it in). */
function intOf(e: MExpr | undefined): number {
  if (e?.kind !== "num") throw new NoMatrixForm("a window hyperparameter that is not a number");
  return e.value;
}

/** The rule list of a window stage: one rule per array operand, then none for its hyperparameters. */
function withParams(rules: Rule[], ops: readonly MExpr[]): Rule[] {
  return [
    ...rules,
    ...ops.slice(rules.length).map(() => () => {
      throw new NoMatrixForm("a hyperparameter has no gradient");
    }),
  ];
}

const win = (op: WinOp, args: readonly MExpr[], w: WinParams, shape: Shape): MExpr => ({ kind: "win", op, args, win: w, shape });

/** conv2d(x, w[, b], stride, padding): the transposed convolution for x, the correlation with x for w, the sum for b. */
function convRules({ ops, a, b, sa, sb }: RuleInput): Rule[] {
  const k = ops.length - 2;
  const sw = sb;
  if (sw.length !== 4 || (sa.length !== 4 && sa.length !== 3)) throw new NoMatrixForm("conv2d's rules are for NCHW arrays");
  const w: WinParams = { kernel: [sw[2], sw[3]], stride: intOf(ops[k]), padding: intOf(ops[k + 1]) };
  const rules: Rule[] = [(up) => win("convX", [up, b], w, sa), (up) => win("convW", [a, up], w, sb)];
  if (k === 3) rules.push((up) => win("convB", [up], w, shapeOf(ops[2])));
  return withParams(rules, ops);
}

/** maxpool / avgpool(x, kernel, stride, padding): the upstream routed to each window's argmax, or spread evenly over it. */
function poolRules(max: boolean): (x: RuleInput) => Rule[] {
  return ({ ops, a, sa }) => {
    if (sa.length !== 4 && sa.length !== 3) throw new NoMatrixForm("pooling's rules are for NCHW arrays");
    const kernel = intOf(ops[1]);
    const w: WinParams = { kernel: [kernel, kernel], stride: intOf(ops[2]), padding: intOf(ops[3]) };
    return withParams([max ? (up) => win("maxBack", [a, up], w, sa) : (up) => win("avgBack", [up], w, sa)], ops);
  };
}

/** batchnorm / layernorm(x, γ, β): the closed-form backward through the batch statistics. */
function normRules(norm: "batchnorm" | "layernorm"): (x: RuleInput) => Rule[] {
  return ({ a, b, c, sa, sb }) => {
    const w: WinParams = { kernel: [1, 1], stride: 1, padding: 0, norm };
    return [(up) => win("normX", [a, b, up], w, sa), (up) => win("normGamma", [a, up], w, sb), (up) => win("normBeta", [up], w, shapeOf(c))];
  };
}

/** The rules of the ops the lecture has a matrix form for; the rest have none. */
const STAGE_RULES: Partial<Record<Stage["op"], (x: RuleInput) => Rule[]>> = {
  conv2d: convRules,
  maxpool: poolRules(true),
  avgpool: poolRules(false),
  batchnorm: normRules("batchnorm"),
  layernorm: normRules("layernorm"),
  linear: ({ a, b, c }) => {
    // z = W x + b: the matrix product's rules on the upstream (summed back where b stretched W x), and b's.
    const [dw, dx] = matmulRules(a, b);
    const mm = shapeOf({ kind: "mm", left: a, right: b });
    return [(up) => dw(sumTo(up, mm)), (up) => dx(sumTo(up, mm)), (up) => sumTo(up, shapeOf(c))];
  },
  // s = softmax(z) over all elements: ∂L/∂z = s ⊙ (∂L/∂s − sum(s ⊙ ∂L/∂s)), the Jacobian diag(s) − s sᵀ applied.
  softmax: ({ out }) => [(up) => had(out, { kind: "sub", left: up, right: { kind: "fn", fn: "sum", arg: had(out, up) } })],
  mse: ({ a, b, sa, sb }) => {
    // mean((p − y)²) over n elements: ∂L/∂p = (2/n)(p − y) ∂L/∂L, and the negative for y.
    const n = broadcastShape(sa, sb).reduce((x, y) => x * y, 1);
    const d: MExpr = { kind: "sub", left: a, right: b };
    return [(up) => sumTo(had(scale(2 / n, d), up), sa), (up) => neg(sumTo(had(scale(2 / n, d), up), sb))];
  },
  softmax_ce: ({ a, b, sa, sb }) => {
    // −sum(y ⊙ ln softmax(z)): ∂L/∂z = (softmax(z) sum(y) − y) ∂L/∂L (softmax(z) − y for a target summing to 1).
    const sm: MExpr = { kind: "fn", fn: "softmax", arg: a };
    return [
      (up) => sumTo(had({ kind: "sub", left: had(sm, { kind: "fn", fn: "sum", arg: b }), right: b }, up), sa),
      (up) => sumTo(had(neg({ kind: "fn", fn: "ln", arg: sm }), up), sb),
    ];
  },
  id: () => [(up) => up],
  neg: () => [(up) => neg(up)],
  add: ({ sa, sb }) => [(up) => sumTo(up, sa), (up) => sumTo(up, sb)],
  sub: ({ sa, sb }) => [(up) => sumTo(up, sa), (up) => neg(sumTo(up, sb))],
  mul: ({ a, b, sa, sb }) => [(up) => sumTo(mulBy(up, b), sa), (up) => sumTo(mulBy(up, a), sb)],
  matmul: ({ a, b }) => matmulRules(a, b),
  // a = x ⊘ y: ∂L/∂x = ∂L/∂a ⊘ y and ∂L/∂y = (−x ⊘ y²) ⊙ ∂L/∂a, each summed back where it broadcast.
  div: ({ a, b, sa, sb }) => [(up) => sumTo(divide(up, b), sa), (up) => sumTo(had(neg(divide(a, { kind: "pow", arg: b, p: 2 })), up), sb)],
  // a = 1/x: ∂L/∂x = (−a²) ⊙ ∂L/∂a, that is −1/x² with the stage's own value.
  reciprocal: ({ out }) => [(up) => had(neg({ kind: "pow", arg: out, p: 2 }), up)],
  pow: powRules,
  relu: ({ a }) => [(up) => had({ kind: "fn", fn: "step", arg: a }, up)],
  tanh: ({ out }) => [(up) => had({ kind: "sub", left: { kind: "num", value: 1 }, right: { kind: "pow", arg: out, p: 2 } }, up)],
  sigmoid: ({ a }) => [(up) => had({ kind: "fn", fn: "dsigmoid", arg: a }, up)],
  erf: ({ a }) => [(up) => had({ kind: "fn", fn: "derf", arg: a }, up)],
  exp: ({ out }) => [(up) => had(out, up)],
  ln: ({ a }) => [(up) => had({ kind: "fn", fn: "recip", arg: a }, up)],
  sqrt: ({ out }) => [(up) => had({ kind: "fn", fn: "halfRecip", arg: out }, up)],
  sin: ({ a }) => [(up) => had({ kind: "fn", fn: "cos", arg: a }, up)],
  cos: ({ a }) => [(up) => had(neg({ kind: "fn", fn: "sin", arg: a }), up)],
  tan: ({ out }) => [(up) => had({ kind: "add", left: { kind: "num", value: 1 }, right: { kind: "pow", arg: out, p: 2 } }, up)],
  // Flat on either side of 0 (the engine takes 0 at 0 too): no gradient flows back.
  sign: ({ sa }) => [() => ({ kind: "zeros", shape: sa })],
  step: ({ sa }) => [() => ({ kind: "zeros", shape: sa })],
  abs: ({ a }) => [(up) => had({ kind: "fn", fn: "sign", arg: a }, up)],
  sum: ({ sa }) => [(up) => bcast(up, sa, 1)],
  mean: ({ sa }) => [
    (up) =>
      bcast(
        up,
        sa,
        sa.reduce((x, y) => x * y, 1),
      ),
  ],
  // A vector's (or scalar's) transpose is itself, as NumPy's .T; an array's reverses its axes back.
  transpose: ({ sa }) => [(up) => (sa.length < 2 ? up : { kind: "T", arg: up })],
};

/** a = x^y: ∂L/∂x = y x^(y−1) ⊙ ∂L/∂a (p x^(p−1) for a number p) and ∂L/∂y = a ⊙ ln(x) ⊙ ∂L/∂a. */
function powRules({ a, b, sa, sb, out }: RuleInput): Rule[] {
  const p = b.kind === "num" ? b.value : null;
  const dx = (up: MExpr): MExpr =>
    p !== null
      ? had(scale(p, p === 2 ? a : { kind: "pow", arg: a, p: p - 1 }), up)
      : sumTo(had(had(b, { kind: "epow", left: a, right: { kind: "sub", left: b, right: { kind: "num", value: 1 } } }), up), sa);
  return [dx, (up) => sumTo(had(had(out, { kind: "fn", fn: "ln", arg: a }), up), sb)];
}

/** up ⊙ other, or k · up for a constant scalar factor. */
function mulBy(up: MExpr, other: MExpr): MExpr {
  return other.kind === "num" ? scale(other.value, up) : had(up, other);
}

/** x ⊘ y; dividing by 1 is no division, and ones ⊘ y (a closed form's upstream) is 1/y. */
function divide(x: MExpr, y: MExpr): MExpr {
  if (y.kind === "num" && y.value === 1) return x;
  if (sameShape(shapeOf(y), broadcastShape(shapeOf(x), shapeOf(y)))) {
    if (isOnes(x)) return { kind: "fn", fn: "recip", arg: y };
    if (x.kind === "scale" && isOnes(x.arg)) return scale(x.k, { kind: "fn", fn: "recip", arg: y });
  }
  return { kind: "div", left: x, right: y };
}

/** x + y for gradients summed at fan-out: a zero contribution (sign, step) drops out, x + (−y) is x − y. */
function plus(x: MExpr, y: MExpr): MExpr {
  if (y.kind === "zeros" && sameShape(shapeOf(x), broadcastShape(shapeOf(x), y.shape))) return x;
  if (x.kind === "zeros" && sameShape(shapeOf(y), broadcastShape(shapeOf(y), x.shape))) return y;
  return y.kind === "neg" ? { kind: "sub", left: x, right: y.arg } : { kind: "add", left: x, right: y };
}

/** C = A @ B: ∂L/∂A = (∂L/∂C) Bᵀ and ∂L/∂B = Aᵀ (∂L/∂C), with vectors as columns (NumPy's 1-D rules). */
function matmulRules(a: MExpr, b: MExpr): ((up: MExpr) => MExpr)[] {
  const ra = shapeOf(a).length;
  const rb = shapeOf(b).length;
  const T = (x: MExpr): MExpr => ({ kind: "T", arg: x });
  const mm = (l: MExpr, r: MExpr): MExpr => ({ kind: "mm", left: l, right: r });
  if (ra === 2 && rb <= 2 && rb >= 1) return [(up) => mm(up, T(b)), (up) => mm(T(a), up)];
  if (ra === 1 && rb === 2) return [(up) => mm(b, up), (up) => mm(a, T(up))];
  // A dot product u @ v: the scalar upstream times the other vector.
  if (ra === 1 && rb === 1) return [(up) => had(up, b), (up) => had(up, a)];
  // Batches of matrices: the same rules per matrix (ᵀ swaps the last two axes), summed over the batch
  // axes an operand was broadcast along.
  if (ra >= 2 && rb >= 2) {
    const mT = (x: MExpr): MExpr => ({ kind: "T", arg: x, last: true });
    return [(up) => sumTo(mm(up, mT(b)), shapeOf(a)), (up) => sumTo(mm(mT(a), up), shapeOf(b))];
  }
  // A vector with a batch: NumPy drops the axis the vector gained, which the algebra cannot write.
  throw new NoMatrixForm("a matrix product of a vector with a batch of matrices");
}

// ---------------------------------------------------------------- forward values as expressions

/** A stage's value as an expression of its operands (for closed forms), or null when the algebra has none. */
export function forwardExpr(s: Stage, ops: readonly Operand[]): MExpr | null {
  const [a, b, c] = ops.map((o) => o.expr);
  switch (s.op) {
    case "linear":
      return { kind: "add", left: { kind: "mm", left: a, right: b }, right: c };
    case "softmax":
      return { kind: "fn", fn: "softmax", arg: a };
    case "mse":
      return { kind: "fn", fn: "mean", arg: { kind: "pow", arg: { kind: "sub", left: a, right: b }, p: 2 } };
    case "softmax_ce":
      return neg({ kind: "fn", fn: "sum", arg: had(b, { kind: "fn", fn: "ln", arg: { kind: "fn", fn: "softmax", arg: a } }) });
    case "id":
      return a;
    case "neg":
      return neg(a);
    case "add":
    case "sub":
      return { kind: s.op, left: a, right: b };
    case "mul":
      if (a.kind === "num") return scale(a.value, b);
      return b.kind === "num" ? scale(b.value, a) : { kind: "had", left: a, right: b };
    case "matmul":
      return { kind: "mm", left: a, right: b };
    case "div":
      return { kind: "div", left: a, right: b };
    case "reciprocal":
      return { kind: "fn", fn: "recip", arg: a };
    case "pow":
      return b.kind === "num" ? { kind: "pow", arg: a, p: b.value } : { kind: "epow", left: a, right: b };
    case "relu":
    case "tanh":
    case "sigmoid":
    case "erf":
    case "exp":
    case "ln":
    case "sqrt":
    case "sin":
    case "cos":
    case "tan":
    case "abs":
    case "sign":
    case "step":
    case "sum":
    case "mean":
      return { kind: "fn", fn: s.op, arg: a };
    case "transpose":
      return shapeOf(a).length < 2 ? a : { kind: "T", arg: a };
    default:
      return null;
  }
}

/** The operands of a stage: references as named variables, constants as numbers or array constants. */
export function operandsOf(s: Stage, values: ReadonlyMap<string, bp.Tensor>, exprOf: (name: string) => MExpr, constText: (i: number) => string): Operand[] {
  return s.args.map((arg, i) => {
    if (arg.kind === "ref") return { name: arg.name, expr: exprOf(arg.name) };
    if (arg.value.size === 1 && arg.value.ndim === 0) return { name: null, expr: { kind: "num", value: arg.value.item() } };
    return { name: null, expr: { kind: "const", text: constText(i), value: arg.value } };
  });
}

export const varOf = (name: string, values: ReadonlyMap<string, bp.Tensor>): MExpr => ({ kind: "var", name, shape: values.get(name)!.shape });

// ---------------------------------------------------------------- evaluation

/** Where evalM finds the upstream gradient ∂L/∂name (the name alone is the stage's value). */
export const upKey = (name: string): string => `∂${name}`;

/** Evaluates an expression on tensors; `env` gives the named values (upstream gradients included). */
export function evalM(e: MExpr, env: ReadonlyMap<string, bp.Tensor>): bp.Tensor {
  const ev = (x: MExpr) => evalM(x, env);
  switch (e.kind) {
    case "var": {
      const t = env.get(e.up ? upKey(e.name) : e.name);
      if (!t) throw new NoMatrixForm(`no value for ${e.name}`);
      return t;
    }
    case "ones":
      return bp.ones(e.shape, { dtype: "float64" });
    case "zeros":
      return bp.zeros(e.shape, { dtype: "float64" });
    case "num":
      return bp.scalar(e.value, "float64");
    case "const":
      return e.value;
    case "T": {
      const x = ev(e.arg);
      if (e.last) return bp.mT(x);
      return x.ndim === 1 ? bp.reshape(x, [1, x.shape[0]]) : bp.transpose(x);
    }
    case "mm": {
      const l = ev(e.left);
      const r = ev(e.right);
      // A column vector times a row: NumPy would read the 1-D operand as a row, so make it a column.
      return isOuter(e) ? bp.matmul(bp.reshape(l, [l.shape[0], 1]), r) : bp.matmul(l, r);
    }
    case "had":
      return bp.mul(ev(e.left), ev(e.right));
    case "div":
      return bp.div(ev(e.left), ev(e.right));
    case "epow":
      return bp.pow(ev(e.left), ev(e.right));
    case "add":
      return bp.add(ev(e.left), ev(e.right));
    case "sub":
      return bp.sub(ev(e.left), ev(e.right));
    case "neg":
      return bp.neg(ev(e.arg));
    case "scale":
      return bp.mul(ev(e.arg), e.k);
    case "pow":
      return bp.pow(ev(e.arg), e.p);
    case "fn":
      return evalFn(e.fn, ev(e.arg));
    case "sumTo":
      return bp.sumTo(ev(e.arg), e.shape);
    case "bcast":
      return bp.div(bp.broadcastTo(bp.reshape(ev(e.arg), []), e.shape), e.div);
    case "win":
      return evalWin(e, e.args.map(ev));
  }
}

/** A window rule's value from its operands' values (window-rules.ts: loops independent of the core's composites). */
function evalWin(e: MExpr & { kind: "win" }, xs: readonly bp.Tensor[]): bp.Tensor {
  const broadcast = (t: bp.Tensor, shape: Shape) => (sameShape(t.shape, shape) ? t : bp.broadcastTo(t, shape));
  switch (e.op) {
    case "convX":
      return convInputGrad(xs[0], xs[1], e.shape, e.win);
    case "convW":
      return convWeightGrad(xs[0], xs[1], e.shape, e.win);
    case "convB":
      return convBiasGrad(xs[0]);
    case "maxBack":
      return maxPoolGrad(xs[0], broadcast(xs[1], outShapeOf(e)), e.win);
    case "avgBack":
      return avgPoolGrad(broadcast(xs[0], outShapeOf(e)), e.shape, e.win);
    case "normX":
      return normGrads(e.win.norm!, xs[0], xs[1], broadcast(xs[2], xs[0].shape), NORM_EPS).dx;
    case "normGamma":
      return normGrads(e.win.norm!, xs[0], bp.ones(e.shape, { dtype: "float64" }), broadcast(xs[1], xs[0].shape), NORM_EPS).dgamma;
    case "normBeta": {
      // Σ ∂L/∂y over the statistics' axes: the upstream has x's shape.
      const up = xs[0];
      return bp.reshape(bp.sum(up, paramAxes(e.win.norm!, up.ndim)), e.shape);
    }
  }
}

/** The upstream's shape of a pooling rule: the stage's output, from the input's shape and the window. */
function outShapeOf(e: MExpr & { kind: "win" }): Shape {
  const up = shapeOf(e.op === "maxBack" ? e.args[1] : e.args[0]);
  if (up.length === e.shape.length) return up;
  // A closed form's upstream may be a scalar 1 standing for ones of the output's shape.
  const count = (n: number) => Math.floor((n + 2 * e.win.padding - e.win.kernel[0]) / e.win.stride) + 1;
  const s = e.shape;
  return [...s.slice(0, -2), count(s[s.length - 2]), count(s[s.length - 1])];
}

function evalFn(fn: MFn, x: bp.Tensor): bp.Tensor {
  switch (fn) {
    case "relu":
      return bp.relu(x);
    case "tanh":
      return bp.tanh(x);
    case "sigmoid":
      return bp.sigmoid(x);
    case "exp":
      return bp.exp(x);
    case "sum":
      return bp.sum(x);
    case "ln":
      return bp.log(x);
    case "sqrt":
      return bp.sqrt(x);
    case "sin":
      return bp.sin(x);
    case "cos":
      return bp.cos(x);
    case "tan":
      return bp.tan(x);
    case "mean":
      return bp.mean(x);
    case "abs":
      return bp.abs(x);
    case "sign":
      return bp.sign(x);
    case "recip":
      return bp.reciprocal(x);
    case "halfRecip":
      return bp.div(0.5, x);
    case "step":
      return bp.gt(x, 0);
    case "dsigmoid": {
      const s = bp.sigmoid(x);
      return bp.mul(s, bp.sub(1, s));
    }
    case "erf":
      return bp.erf(x);
    case "derf":
      return bp.mul(2 / Math.sqrt(Math.PI), bp.exp(bp.neg(bp.mul(x, x))));
    case "softmax":
      return bp.reshape(bp.softmax(bp.reshape(x, [x.size]), 0), x.shape);
  }
}

/** Whether the expression's value matches `want` to a relative 1e-9 (shapes equal up to size-1 axes). */
export function matches(e: MExpr, env: ReadonlyMap<string, bp.Tensor>, want: bp.Tensor): boolean {
  let got: bp.Tensor;
  try {
    got = evalM(e, env);
  } catch {
    return false;
  }
  if (got.size !== want.size) return false;
  const g = Array.from(got.data, Number);
  const w = Array.from(want.data, Number);
  return w.every((x, i) => g[i] === x || Math.abs(g[i] - x) <= 1e-9 * (1 + Math.abs(x)) || (Number.isNaN(x) && Number.isNaN(g[i])));
}

// ---------------------------------------------------------------- printing

type Style = "text" | "latex";

interface P {
  s: string;
  level: number;
}

// Levels: sums 1, ⊙ 2, products and scalings 3, postfix (ᵀ, powers) 4, atoms 5.
const paren = (p: P, min: number, style: Style): string => (p.level >= min ? p.s : style === "latex" ? `\\left(${p.s}\\right)` : `(${p.s})`);

/** Name of a value, in LaTeX through the expression printer (W1 -> W_{1}). */
function nameText(name: string, style: Style): string {
  if (style === "text" || name.startsWith("δ")) return style === "latex" ? name.replace(/^δ(\d*)$/, (_, d: string) => `\\delta${d ? `_{${d}}` : ""}`) : name;
  return printExpr({ kind: "var", name }, "latex");
}

/** ∂L/∂a, in text or LaTeX. */
export function partial(out: string, name: string, style: Style): string {
  return style === "text" ? `∂${out}/∂${name}` : `\\frac{\\partial ${nameText(out, style)}}{\\partial ${nameText(name, style)}}`;
}

export function printM(e: MExpr, style: Style, out: string): string {
  return pr(e, style, out).s;
}

/** What every printer of a node needs: the style, the loss's name (for ∂L/∂a) and the printer of a subexpression. */
interface PrintCtx {
  st: Style;
  lx: boolean;
  out: string;
  sub: (x: MExpr) => P;
}

type MPrinter<K extends MExpr["kind"]> = (e: MExpr & { kind: K }, c: PrintCtx) => P;

function pr(e: MExpr, st: Style, out: string): P {
  const c: PrintCtx = { st, lx: st === "latex", out, sub: (x) => pr(x, st, out) };
  // The table is keyed by kind, so e has the kind its printer takes.
  return (M_PRINTERS[e.kind] as MPrinter<MExpr["kind"]>)(e, c);
}

/** a + b and a − b. */
const printSum: MPrinter<"add" | "sub"> = (e, { st, lx, sub }) => ({
  s: `${paren(sub(e.left), 1, st)} ${e.kind === "add" ? "+" : lx ? "-" : "−"} ${paren(sub(e.right), e.kind === "add" ? 1 : 2, st)}`,
  level: 1,
});

/** One printer for each kind of matrix expression. */
const M_PRINTERS: { [K in MExpr["kind"]]: MPrinter<K> } = {
  var: (e, { st, out }) => (e.up ? { s: partial(out, e.name, st), level: 2.5 } : { s: nameText(e.name, st), level: 5 }),
  ones: (e, { lx }) => ({ s: e.shape.length === 0 || !lx ? "1" : "\\mathbf{1}", level: 5 }),
  zeros: (e, { lx }) => ({ s: e.shape.length === 0 || !lx ? "0" : "\\mathbf{0}", level: 5 }),
  num: (e) => ({ s: String(e.value), level: e.value < 0 ? 1 : 5 }),
  const: (e, { lx }) => ({ s: lx ? `\\texttt{${e.text}}` : e.text, level: 5 }),
  T: (e, { st, lx, sub }) => ({ s: `${paren(sub(e.arg), 5, st)}${lx ? "^\\top" : "ᵀ"}`, level: 4 }),
  mm: (e, { st, lx, sub }) => {
    // Right-nested products print flat (Wᵀ W x); a product on the left keeps its parentheses ((W x) xᵀ).
    const l = sub(e.left);
    const r = sub(e.right);
    const left = e.left.kind === "mm" ? paren(l, 9, st) : paren(l, 3, st);
    // Two vectors: the dot product uᵀ v.
    if (shapeOf(e.left).length === 1 && shapeOf(e.right).length === 1)
      return { s: `${paren(l, 5, st)}${lx ? "^\\top" : "ᵀ"}${lx ? "\\," : " "}${paren(r, 3, st)}`, level: 3 };
    return { s: `${left}${lx ? "\\," : " "}${paren(r, 3, st)}`, level: 3 };
  },
  had: (e, { st, lx, sub }) => {
    const scalarSide = shapeOf(e.left).length === 0 || shapeOf(e.right).length === 0;
    const op = scalarSide ? (lx ? " \\cdot " : " · ") : lx ? " \\odot " : " ⊙ ";
    // A product inside ⊙ keeps its parentheses: (W2ᵀ δ2) ⊙ 1[z > 0], as the lecture writes it.
    const side = (x: MExpr, min: number) => paren(sub(x), x.kind === "mm" ? 9 : min, st);
    // A scalar multiple binds like a product: 2 (uᵀ v) · v.
    return { s: `${side(e.left, 2)}${op}${side(e.right, 2.5)}`, level: scalarSide ? 3 : 2 };
  },
  div: (e, { st, lx, sub }) => {
    // By a scalar, a plain division (the upstream ∂L/∂a in parentheses, so its slash stays its own).
    if (shapeOf(e.right).length === 0) return { s: `${paren(sub(e.left), 3, st)} / ${paren(sub(e.right), 3.5, st)}`, level: 3 };
    return { s: `${paren(sub(e.left), 2, st)}${lx ? " \\oslash " : " ⊘ "}${paren(sub(e.right), 2.5, st)}`, level: 2 };
  },
  epow: (e, { st, lx, sub }) => {
    const exponent = sub(e.right);
    const sup = lx ? `^{${exponent.s}}` : `^${paren(exponent, 5, st)}`;
    return { s: `${paren(sub(e.left), 5, st)}${sup}`, level: 4 };
  },
  add: printSum,
  sub: printSum,
  // −(x ⊘ y²) is (−x) ⊘ y²: no parentheses needed around a product or quotient.
  neg: (e, { st, lx, sub }) => ({ s: `${lx ? "-" : "−"}${paren(sub(e.arg), e.arg.kind === "had" || e.arg.kind === "div" ? 2 : 2.5, st)}`, level: 1.5 }),
  scale: (e, { st, lx, sub }) => {
    const a = sub(e.arg);
    const gap = e.arg.kind === "ones" ? (lx ? " \\cdot " : "·") : e.arg.kind === "var" && !e.arg.up ? "" : lx ? "\\," : " ";
    return { s: `${scalarText(e.k, st)}${gap}${paren(a, 3, st)}`, level: e.k < 0 ? 1.5 : 3 };
  },
  pow: (e, { st, lx, sub }) => {
    const sup = lx ? `^{${e.p}}` : e.p === 2 ? "²" : e.p === 3 ? "³" : `^${e.p}`;
    return { s: `${paren(sub(e.arg), 5, st)}${sup}`, level: 4 };
  },
  // LaTeX's Σ has no parentheses of its own and reaches rightwards: as any operand it takes some.
  fn: (e, { st, sub }) => ({ s: fnText(e.fn, sub(e.arg).s, st), level: e.fn === "sum" && st === "latex" ? 0.9 : 5 }),
  sumTo: (e, { st, sub }) => ({ s: `${sumLabel(shapeOf(e.arg), e.shape, st)} ${paren(sub(e.arg), 2.5, st)}`, level: 3 }),
  bcast: (e, { st, lx, sub }) => {
    const a = paren(sub(e.arg), 2.5, st);
    const div = e.div === 1 ? "" : lx ? ` / ${e.div}` : ` / ${e.div}`;
    return { s: `${a} ${lx ? "\\cdot" : "·"} 1${div}`, level: 2 };
  },
  win: (e, c) => printWin(e, c),
};

/** Axis letters of an NCHW array (N, C, L for 3 axes), for Σ_{N,H,W}. */
function axisLetters(ndim: number): string[] {
  return ndim === 4 ? ["N", "C", "H", "W"] : ndim === 3 ? ["N", "C", "L"] : ndim === 2 ? ["N", "C"] : Array.from({ length: ndim }, (_, i) => `axis ${i}`);
}

/** Σ over the named axes, Σ_{N,H,W} (LaTeX \sum_{N,H,W}). */
function sigma(axes: readonly string[], lx: boolean): string {
  const label = axes.join(",");
  return lx ? `\\sum_{${label}}` : `Σ_${axes.length === 1 && !label.includes(" ") ? label : `{${label}}`}`;
}

/** x̂ (the normalized x) for an operand printed `x`: a circumflex on a one-letter name, else hat(x). */
function hat(x: string, lx: boolean): string {
  if (lx) return `\\hat{${x}}`;
  return /^[A-Za-z]$/.test(x) ? `${x}\u0302` : `hat(${x})`;
}

/**
 * The window rules as the lecture writes them: conv2d's ∂L/∂x as the convolution of the upstream with
 * the kernel rotated by 180° (its in and out channels swapped, ᵀ) at padding k − 1 − p (the full
 * convolution, at stride 1; the transposed convolution otherwise), ∂L/∂w as the correlation of x with the
 * upstream, the pools' routing and spreading, and the normalizations' closed forms.
 */
function printWin(e: MExpr & { kind: "win" }, { st, lx, sub }: PrintCtx): P {
  const arg = (i: number) => sub(e.args[i]).s;
  const w = e.win;
  const fn = (name: string, args: string[], named: string[]) =>
    lx
      ? `\\operatorname{${name.replace("_", "\\_")}}\\left(${args.join(", ")}${named.length ? `;\\, ${named.map((n) => n.replace(/^(\w+)=/, "\\text{$1}=")).join(",\\, ")}` : ""}\\right)`
      : `${name}(${[...args, ...named].join(", ")})`;
  const hyper = (pad: boolean) => [...(w.stride !== 1 ? [`stride=${w.stride}`] : []), ...(pad && w.padding !== 0 ? [`padding=${w.padding}`] : [])];
  const times = lx ? "\\times " : "×";
  const window = `${w.kernel[0]}${times}${w.kernel[1]}`;
  const text = (t: string) => (lx ? `\\text{ ${t} }` : ` ${t} `);
  switch (e.op) {
    case "convX": {
      const [kh, kw] = w.kernel;
      const full = [kh - 1 - w.padding, kw - 1 - w.padding];
      if (w.stride === 1 && full.every((p) => p >= 0)) {
        const rot = lx ? `\\operatorname{rot180}(${arg(1)})^\\top` : `rot180(${arg(1)})ᵀ`;
        const pad = full[0] === full[1] ? `${full[0]}` : `(${full.join(",")})`;
        return { s: fn("conv2d", [arg(0), rot], full.every((p) => p === 0) ? [] : [`padding=${pad}`]), level: 5 };
      }
      return { s: fn("conv_transpose", [arg(0), arg(1)], hyper(true)), level: 5 };
    }
    case "convW":
      return { s: fn("corr", [arg(0), arg(1)], hyper(true)), level: 5 };
    case "convB": {
      const up = shapeOf(e.args[0]);
      return {
        s: `${sigma(
          axisLetters(up.length).filter((a) => a !== "C"),
          lx,
        )} ${paren(sub(e.args[0]), 2.5, st)}`,
        level: 3,
      };
    }
    case "maxBack": {
      const where = `${text("routed to the argmax of each")}${window}${text("window of")}${arg(0)}`;
      const extra = [...(w.stride !== w.kernel[0] ? [`stride ${w.stride}`] : []), ...(w.padding ? [`padding ${w.padding}`] : [])];
      return {
        s: `${paren(sub(e.args[1]), 2.5, st)}${where}${lx ? `\\text{ (${[...extra, "0 elsewhere"].join(", ")})}` : ` (${[...extra, "0 elsewhere"].join(", ")})`}`,
        level: 1,
      };
    }
    case "avgBack": {
      const share = lx ? `\\tfrac{1}{${w.kernel[0] * w.kernel[1]}}` : `1/${w.kernel[0] * w.kernel[1]}`;
      const extra = [...(w.stride !== w.kernel[0] ? [`stride ${w.stride}`] : []), ...(w.padding ? [`padding ${w.padding}`] : [])];
      return {
        s: `${paren(sub(e.args[0]), 2.5, st)}${text("spread as")}${share}${text("to each entry of its")}${window}${text("window")}${extra.length ? (lx ? `\\text{(${extra.join(", ")})}` : `(${extra.join(", ")})`) : ""}`.trimEnd(),
        level: 1,
      };
    }
    case "normX":
    case "normGamma":
    case "normBeta": {
      const x = e.op === "normBeta" ? null : arg(0);
      const upIndex = e.args.length - 1;
      const shapeX = shapeOf(e.op === "normBeta" ? e.args[0] : e.args[0]);
      const axes = normAxes(w.norm!, shapeX.length);
      const label = (ax: readonly number[]) => (w.norm === "layernorm" ? ax.map((a) => `axis ${a}`) : ax.map((a) => axisLetters(shapeX.length)[a]));
      const S = sigma(label(axes), lx);
      // γ's and β's sums: over the statistics' axes for batchnorm, over the batch (leading axes) for layernorm.
      const P = sigma(label(paramAxes(w.norm!, shapeX.length)), lx);
      const upE = e.args[upIndex];
      const up = paren(sub(upE), 2.5, st);
      if (e.op === "normBeta") return { s: `${P} ${up}`, level: 3 };
      const xh = hat(x!, lx);
      const dot = lx ? " \\odot " : " ⊙ ";
      if (e.op === "normGamma") return { s: `${P} ${lx ? "\\left(" : "("}${up}${dot}${xh}${lx ? "\\right)" : ")"}`, level: 3 };
      const m = axes.reduce((acc, a) => acc * shapeX[a], 1);
      // m times the upstream: a closed form's upstream (3 h²) in parentheses, so the count stays its own factor.
      const mUp = upE.kind === "var" ? up : lx ? `\\left(${sub(upE).s}\\right)` : `(${sub(upE).s})`;
      const g = sub(e.args[1]).s;
      const where = lx
        ? `,\\quad ${xh} = \\frac{${x} - \\mu}{\\sigma},\\ \\sigma = \\sqrt{\\operatorname{var} + \\epsilon}`
        : `, where ${xh} = (${x} − μ)/σ, σ = √(var + ε)`;
      if (w.norm === "layernorm") {
        // γ varies along the normalized axis, so it stays inside the sums: d = γ ⊙ ∂L/∂y.
        const d = lx ? `\\left(${g} \\odot ${sub(upE).s}\\right)` : `(${g} ⊙ ${sub(upE).s})`;
        const ln = lx
          ? `\\tfrac{1}{${m} \\sigma} \\left(${m}\\, ${d} - ${S} ${d} - ${xh} \\odot ${S} \\left(${d} \\odot ${xh}\\right)\\right)`
          : `(1/(${m}σ)) (${m} ${d} − ${S} ${d} − ${xh} ⊙ ${S} (${d} ⊙ ${xh}))`;
        return { s: `${ln}${where}`, level: 1 };
      }
      const body = lx
        ? `\\tfrac{1}{${m}} \\tfrac{${g}}{\\sigma} \\odot \\left(${m}\\, ${mUp} - ${S} ${up} - ${xh} \\odot ${S} \\left(${up} \\odot ${xh}\\right)\\right)`
        : `(1/${m}) (${g}/σ) ⊙ (${m} ${mUp} − ${S} ${up} − ${xh} ⊙ ${S} (${up} ⊙ ${xh}))`;
      return { s: `${body}${where}`, level: 1 };
    }
  }
}

/** A scale factor; 1/n (mean's) as a fraction rather than 0.16666666666666666. */
function scalarText(k: number, st: Style): string {
  const n = 1 / k;
  const sign = k < 0 ? "-" : "";
  if (Number.isInteger(n) && Math.abs(n) > 1) return st === "latex" ? `${sign}\\tfrac{1}{${Math.abs(n)}}` : `${sign}(1/${Math.abs(n)})`;
  return String(k);
}

function fnText(fn: MFn, arg: string, st: Style): string {
  const lx = st === "latex";
  switch (fn) {
    case "step":
      return lx ? `\\mathbb{1}[${arg} > 0]` : `1[${arg} > 0]`;
    case "dsigmoid":
      return lx ? `\\sigma(${arg})(1 - \\sigma(${arg}))` : `σ(${arg})(1 − σ(${arg}))`;
    case "sigmoid":
      return lx ? `\\sigma(${arg})` : `σ(${arg})`;
    case "derf":
      return lx ? `\\tfrac{2}{\\sqrt{\\pi}} e^{-(${arg})^2}` : `(2/√π) exp(−(${arg})²)`;
    case "sum":
      // A product or sum under Σ is parenthesised: Σ s ⊙ g would read as (Σ s) ⊙ g.
      return lx ? `\\textstyle\\sum ${/^[\w{}\\^]+$/.test(arg) ? arg : `\\left(${arg}\\right)`}` : `sum(${arg})`;
    case "exp":
      return lx ? `e^{${arg}}` : `exp(${arg})`;
    case "recip":
      return lx ? `\\frac{1}{${arg}}` : `(1/${/^[\w.]+$/.test(arg) ? arg : `(${arg})`})`;
    case "halfRecip":
      return lx ? `\\frac{1}{2 ${arg}}` : `(1/(2${/^[\w.]+$/.test(arg) ? arg : `(${arg})`}))`;
    case "ln":
    case "sin":
    case "cos":
    case "tan":
      return lx ? `\\${fn}(${arg})` : `${fn}(${arg})`;
    case "sqrt":
      return lx ? `\\sqrt{${arg}}` : `sqrt(${arg})`;
    default:
      return lx ? `\\operatorname{${fn}}(${arg})` : `${fn}(${arg})`;
  }
}

/** The axes a broadcast operand was summed over: leading axes, and axes where its shape has 1. */
export function broadcastAxes(from: Shape, to: Shape): number[] {
  const lead = from.length - to.length;
  return from.flatMap((n, i) => (i < lead || (to[i - lead] === 1 && n !== 1) ? [i] : []));
}

function sumLabel(from: Shape, to: Shape, st: Style): string {
  const axes = broadcastAxes(from, to);
  const lx = st === "latex";
  let label: string;
  if (to.length === 0 || axes.length === from.length) label = "";
  else if (from.length === 2 && axes.join() === "0") label = "rows";
  else if (from.length === 2 && axes.join() === "1") label = "cols";
  else label = axes.length === 1 ? `axis ${axes[0]}` : `axes ${axes.join(",")}`;
  if (!label) return lx ? "\\sum" : "Σ";
  return lx ? `\\sum_{\\text{${label}}}` : `Σ_${label.includes(" ") ? `{${label}}` : label}`;
}

// ---------------------------------------------------------------- shapes of a rule

/** Shape of a factor as it stands in a product: a vector times a row is a column, (n×1). */
function factorShape(e: MExpr, inOuter: boolean): string {
  const s = shapeOf(e);
  return inOuter && s.length === 1 ? `(${s[0]}×1)` : shapeText(s);
}

/** The shapes of both sides of `lhs = e`: (3×2) = (3×1)(1×2). */
export function ruleShapes(lhs: Shape, e: MExpr): string {
  const left = shapeText(lhs);
  switch (e.kind) {
    case "mm": {
      return `${left} = ${factorShape(e.left, isOuter(e))}${factorShape(e.right, false)}`;
    }
    case "had":
    case "div": {
      const [l, r] = [shapeOf(e.left), shapeOf(e.right)];
      const op = e.kind === "had" ? (l.length === 0 || r.length === 0 ? "·" : "⊙") : r.length === 0 ? "/" : "⊘";
      return `${left} = ${shapeText(l)} ${op} ${shapeText(r)}`;
    }
    case "sumTo": {
      const from = shapeOf(e.arg);
      const axes = broadcastAxes(from, e.shape);
      return `${left} = Σ ${shapeText(from)}: summed over the broadcast ax${axes.length === 1 ? "is" : "es"} ${axes.join(", ")}`;
    }
    case "bcast":
      return `${left} = ${shapeText(shapeOf(e.arg))} broadcast to ${shapeText(e.shape)}`;
    case "T":
      return `${left} = ${shapeText(shapeOf(e.arg))}ᵀ`;
    case "neg":
    case "scale":
      return ruleShapes(lhs, e.arg);
    case "win":
      return `${left} from ${e.args.map((a) => shapeText(shapeOf(a))).join(", ")}`;
    default:
      return `${left} = ${shapeText(shapeOf(e))}`;
  }
}

// ---------------------------------------------------------------- textbook rules per stage

/** One operand's rule: ∂L/∂W = (∂L/∂a) xᵀ, in text and LaTeX, with its shapes: (3×2) = (3×1)(1×2). */
export interface MatrixRule {
  text: string;
  latex: string;
  shapes: string;
}

const constText =
  (s: Stage) =>
  (i: number): string => {
    const a = s.args[i];
    return a.kind === "const" ? printText(a.expr) : "";
  };

/** A stage's rule per operand name, as expressions of ∂L/∂stage (summed where a name appears twice). */
function ruleExprs(s: Stage, ops: readonly Operand[], out: MExpr, up: MExpr): Map<string, MExpr> {
  const rules = stageRules(s, ops, out);
  const per = new Map<string, MExpr>();
  ops.forEach((o, k) => {
    if (o.name === null) return;
    const c = rules[k](up);
    const prev = per.get(o.name);
    per.set(o.name, prev ? plus(prev, c) : c);
  });
  return per;
}

/** A stage's rule per operand as expressions of the upstream ∂L/∂stage (evaluated from upKey(stage)). */
export function stageRuleExprs(s: Stage, values: ReadonlyMap<string, bp.Tensor>): Map<string, MExpr> | null {
  const up: MExpr = { kind: "var", name: s.name, shape: values.get(s.name)!.shape, up: true };
  try {
    return ruleExprs(
      s,
      operandsOf(s, values, (n) => varOf(n, values), constText(s)),
      varOf(s.name, values),
      up,
    );
  } catch (e) {
    if (e instanceof NoMatrixForm) return null;
    throw e;
  }
}

/**
 * The textbook rule of an array stage for each operand, checked at the point against the stage's VJP
 * as the trace recorded it (with its upstream gradient, or ones where no gradient reaches). Null when there is no rule, or (never
 * expected) the rule disagrees with the engine.
 */
export function textbookRules(s: Stage, values: ReadonlyMap<string, bp.Tensor>, record: StageRecord, out: string): Record<string, MatrixRule> | null {
  const refs = refArgs(s);
  const self = values.get(s.name)!;
  if (self.size === 1 && refs.every((r) => values.get(r)!.size === 1)) return null;
  const per = stageRuleExprs(s, values);
  if (!per || per.size === 0) return null;
  // The trace's VJP of this stage, with its upstream leaf (ones where no gradient reaches).
  const g = record.ct;
  const contributions = record.vjp;
  const env = new Map(values);
  env.set(upKey(s.name), g);
  const entries: [string, MatrixRule][] = [];
  for (const [name, e] of per) {
    const want = refs
      .map((r, k) => (r === name ? contributions[k] : null))
      .filter((t): t is bp.Tensor => t !== null)
      .reduce((a, b) => bp.add(a, b));
    if (!matches(e, env, want)) return null;
    entries.push([name, rule(out, name, e, values.get(name)!.shape)]);
  }
  return namedRecord(entries);
}

function rule(out: string, name: string, e: MExpr, shape: Shape): MatrixRule {
  return {
    text: `${partial(out, name, "text")} = ${printM(e, "text", out)}`,
    latex: `${partial(out, name, "latex")} = ${printM(e, "latex", out)}`,
    shapes: ruleShapes(shape, e),
  };
}

// ---------------------------------------------------------------- closed forms

export interface MatrixDerivative {
  text: string;
  latex: string;
}

/** The value of each name as an expression: inputs and user-named stages by name, other stages inlined. */
function forwardExprs(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>): Map<string, MExpr> {
  const fwd = new Map<string, MExpr>();
  for (const n of staged.inputs) fwd.set(n, varOf(n, values));
  for (const s of staged.stages) {
    const ops = operandsOf(s, values, (n) => fwd.get(n)!, constText(s));
    const inline = s.userDefined ? null : forwardExpr(s, ops);
    fwd.set(s.name, inline ?? varOf(s.name, values));
  }
  return fwd;
}

/** ∂L/∂name for every name, composed backwards from the stage rules (shared subtrees stay shared objects). */
function backwardExprs(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>, fwd: ReadonlyMap<string, MExpr>): Map<string, MExpr> {
  const delta = new Map<string, MExpr>([[staged.output, { kind: "ones", shape: values.get(staged.output)!.shape }]]);
  for (let i = staged.stages.length - 1; i >= 0; i--) {
    const s = staged.stages[i];
    const up = delta.get(s.name);
    if (!up) continue;
    const per = ruleExprs(
      s,
      operandsOf(s, values, (n) => fwd.get(n)!, constText(s)),
      fwd.get(s.name)!,
      up,
    );
    for (const [name, c] of per) {
      const prev = delta.get(name);
      delta.set(name, prev ? plus(prev, c) : c);
    }
  }
  return delta;
}

const kids = (e: MExpr): MExpr[] => ("arg" in e ? [e.arg] : "left" in e ? [e.left, e.right] : "args" in e ? [...e.args] : []);
/** Closed forms larger than this many symbols are not shown: nobody reads them (and with fan-out they grow exponentially). */
export const CLOSED_FORM_SIZE_LIMIT = 200;

/** Size of the expression as a tree, counted over the shared objects once each (linear in the DAG). */
function sizeM(e: MExpr, memo = new Map<MExpr, number>()): number {
  const known = memo.get(e);
  if (known !== undefined) return known;
  const n = 1 + kids(e).reduce((a, k) => a + sizeM(k, memo), 0);
  memo.set(e, n);
  return n;
}

/** How often each object occurs in the trees, descending into each shared object once. */
function occurrences(roots: readonly MExpr[]): Map<MExpr, number> {
  const count = new Map<MExpr, number>();
  const visit = (e: MExpr): void => {
    const c = count.get(e) ?? 0;
    count.set(e, c + 1);
    if (c === 0) kids(e).forEach(visit);
  };
  roots.forEach(visit);
  return count;
}

/** Rebuilds `e` with the named deltas replaced by their names (except `keep`). */
function substitute(e: MExpr, names: ReadonlyMap<MExpr, MExpr>, keep: MExpr | null = null): MExpr {
  if (e !== keep && names.has(e)) return names.get(e)!;
  const sub = (x: MExpr) => substitute(x, names, keep);
  if ("left" in e) return { ...e, left: sub(e.left), right: sub(e.right) };
  if ("arg" in e) return { ...e, arg: sub(e.arg) } as MExpr;
  if ("args" in e) return { ...e, args: e.args.map(sub) };
  return e;
}

/** Pulls scalar factors to the front: (2a) xᵀ -> 2 (a xᵀ), for reading. */
function normalize(e: MExpr): MExpr {
  if ("left" in e && (e.kind === "mm" || e.kind === "had")) {
    const l = normalize(e.left);
    const r = normalize(e.right);
    if (l.kind === "scale") return scale(l.k, normalize({ ...e, left: l.arg, right: r }));
    if (r.kind === "scale") return scale(r.k, normalize({ ...e, left: l, right: r.arg }));
    return { ...e, left: l, right: r };
  }
  if (e.kind === "T" || e.kind === "neg") {
    const a = normalize(e.arg);
    // −(k x) is (−k) x: the sign moves into the factor, and the negation goes (not both).
    if (a.kind === "scale") return e.kind === "neg" ? scale(-a.k, a.arg) : scale(a.k, normalize({ ...e, arg: a.arg }));
    return { ...e, arg: a };
  }
  if ("left" in e) return { ...e, left: normalize(e.left), right: normalize(e.right) };
  if ("arg" in e) return { ...e, arg: normalize(e.arg) } as MExpr;
  if ("args" in e) return { ...e, args: e.args.map(normalize) };
  return e;
}

/** The shared deltas, last first, each after the shared deltas inside it (a DAG: containment has no cycles). */
function deltaOrder(shared: readonly MExpr[]): MExpr[] {
  const isShared = new Set(shared);
  const placed = new Set<MExpr>();
  const out: MExpr[] = [];
  const place = (d: MExpr): void => {
    if (placed.has(d)) return;
    placed.add(d);
    const seen = new Set<MExpr>();
    const visit = (e: MExpr): void => {
      if (seen.has(e)) return;
      seen.add(e);
      if (e !== d && isShared.has(e)) place(e);
      else kids(e).forEach(visit);
    };
    visit(d);
    out.push(d);
  };
  [...shared].reverse().forEach(place);
  return out;
}

/** Closed forms as expressions: named deltas (in evaluation order) and ∂L/∂input per input the output uses. */
export interface ClosedFormExprs {
  deltas: { name: string; expr: MExpr }[];
  grads: { name: string; expr: MExpr }[];
}

/**
 * Closed-form gradients of an array program composed from the stage rules, with deltas that several
 * gradients share named δ1, δ2... (numbered in forward order, the lecture's layers). Null when an op
 * has no matrix rule.
 */
export function closedFormExprs(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>): ClosedFormExprs | null {
  let delta: Map<string, MExpr>;
  try {
    delta = backwardExprs(staged, values, forwardExprs(staged, values));
  } catch (e) {
    if (e instanceof NoMatrixForm) return null;
    throw e;
  }
  const inputs = staged.inputs.filter((n) => delta.has(n));
  const finals = inputs.map((n) => delta.get(n)!);
  const memo = new Map<MExpr, number>();
  // Before naming deltas, so the cap is measured without building what it caps.
  if (finals.some((f) => sizeM(f, memo) > CLOSED_FORM_SIZE_LIMIT * 20)) return null;
  const count = occurrences(finals);
  // A stage's delta is named when two or more gradients share it and it is more than a few symbols,
  // or a difference like the lecture's δ2 = ŷ − y.
  const order = staged.stages.map((s) => delta.get(s.name)).filter((d): d is MExpr => d !== undefined);
  // A delta shared by several stages (b = a + c passes ∂L/∂b to a unchanged) is numbered at the last
  // of them, the stage that made it, so δ1, δ2... follow the layers forwards.
  const last = new Map(order.map((d, i) => [d, i]));
  const shared = order.filter((d, i) => last.get(d) === i).filter((d) => (count.get(d) ?? 0) >= 2 && (sizeM(d) > 4 || d.kind === "add" || d.kind === "sub"));
  const names = new Map<MExpr, MExpr>(shared.map((d, k) => [d, { kind: "var", name: `δ${k + 1}`, shape: shapeOf(d) }]));
  // Listed and evaluated backwards (δ2 before δ1), except that a delta comes after those it contains:
  // −(−x) is x itself, so an earlier stage's delta can be part of a later one's.
  const deltas = deltaOrder(shared).map((d) => ({ name: (names.get(d) as { name: string }).name, expr: normalize(substitute(d, names, d)) }));
  const grads = inputs.map((n, k) => ({ name: n, expr: normalize(substitute(finals[k], names)) }));
  if ([...deltas, ...grads].some((d) => sizeM(d.expr) > CLOSED_FORM_SIZE_LIMIT)) return null;
  return { deltas, grads };
}

/** Evaluates the named deltas into `env`, in order. */
export function evalDeltas(forms: ClosedFormExprs, env: Map<string, bp.Tensor>): void {
  for (const d of forms.deltas) env.set(d.name, evalM(d.expr, env));
}

/**
 * The closed forms as text and LaTeX, each checked against the engine's gradients at the point; null
 * when there is none or (never expected) a check fails.
 */
export function closedForms(
  staged: StagedProgram,
  values: ReadonlyMap<string, bp.Tensor>,
  grads: ReadonlyMap<string, bp.Tensor | null>,
  out: string,
): Record<string, MatrixDerivative> | null {
  const forms = closedFormExprs(staged, values);
  if (!forms) return null;
  const env = new Map(values);
  try {
    evalDeltas(forms, env);
  } catch {
    return null; // a delta that does not evaluate: no closed form rather than a wrong one
  }
  if (!forms.grads.every((g) => grads.get(g.name) && matches(g.expr, env, grads.get(g.name)!))) return null;
  const equation = (lhsText: string, lhsLatex: string, e: MExpr): MatrixDerivative => ({
    text: `${lhsText} = ${printM(e, "text", out)}`,
    latex: `${lhsLatex} = ${printM(e, "latex", out)}`,
  });
  return namedRecord([
    ...forms.deltas.map((d) => [d.name, equation(d.name, nameText(d.name, "latex"), d.expr)] as const),
    ...forms.grads.map((g) => [g.name, equation(partial(out, g.name, "text"), partial(out, g.name, "latex"), g.expr)] as const),
  ]);
}
