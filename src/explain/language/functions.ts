/** The explainer's operations, each a core op (a primitive or a composite) on float64 tensors. */
import * as bp from "../core.js";
import type { BinOp, FnName } from "./ast.js";

/** `abstract`: a call of a function declared with `fn` (the stage's `fn` names it); it has no values. */
export type StageOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "matmul"
  | "neg"
  | "reciprocal"
  | "id"
  | "maximum"
  | "minimum"
  | "mse"
  | "softmax_ce"
  | "linear"
  | "softmax"
  | "conv2d"
  | "maxpool"
  | "avgpool"
  | "batchnorm"
  | "layernorm"
  | "abstract"
  | Exclude<FnName, "log">;

/** The built-in functions of several arguments (MULTI_FUNCTIONS in ast.ts) and the stage op each one is. */
export const MULTI_OPS: ReadonlyMap<string, StageOp> = new Map<string, StageOp>([
  ["max", "maximum"],
  ["min", "minimum"],
  ["mse", "mse"],
  ["softmax_ce", "softmax_ce"],
  ["linear", "linear"],
  ["softmax", "softmax"],
  ["conv2d", "conv2d"],
  ["maxpool", "maxpool"],
  ["avgpool", "avgpool"],
  ["batchnorm", "batchnorm"],
  ["layernorm", "layernorm"],
]);

export const BIN_OPS: Record<BinOp, StageOp> = { "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "@": "matmul" };

const heaviside = (x: bp.Tensor): bp.Tensor => bp.gt(x, 0);

/**
 * Comparisons carry no gradient, so the core records none: the condition inside relu's VJP, or the
 * sign in abs's, reaches the symbolic reader as an untracked constant (its value at the point), and
 * the local derivative of relu would print as 1 or 0 instead of its rule. Such tensors are noted here
 * with what they compute, so the reader can print step(z) (1[z > 0]) or sign(z) instead.
 */
export type Piece =
  /** step: 1[of > 0]; notStep: 1[of <= 0]; sign: sign(of). */
  | { readonly fn: "step" | "notStep" | "sign"; readonly of: bp.Tensor }
  /** The derivative of abstract function `name` in its argument `index` (0-based) at `of`: ∂₁g(a, b). */
  | { readonly fn: "deriv"; readonly name: string; readonly index: number; readonly of: readonly bp.Tensor[] };

/** The tensors a piece is computed from. */
export function pieceInputs(p: Piece): readonly bp.Tensor[] {
  return p.fn === "deriv" ? p.of : [p.of];
}

const PIECES = new WeakMap<bp.Tensor, Piece>();

/** What the untracked tensor `t` computes from a tracked one, when an op here noted it. */
export function pieceOf(t: bp.Tensor): Piece | undefined {
  return PIECES.get(t);
}

/**
 * Tensors that tracing computed as a sum standing for one call: max/min as a p + b (1 - p), an abstract
 * function as a linear placeholder (see abstractCall). Read back as the call, max(a, b) or g(a, b).
 */
const ALIASES = new WeakMap<bp.Tensor, { fn: string; args: readonly bp.Tensor[] }>();

/** What a traced max/min or abstract call stands for: the function and its operands; else undefined. */
export function aliasArgs(t: bp.Tensor): { fn: string; args: readonly bp.Tensor[] } | undefined {
  return ALIASES.get(t);
}

let tracing = 0;

/**
 * A call g(a, b) of an abstract function (declared with fn). It has no value (NaN), but it is recorded
 * like any op so that the one trace serves abstract programs too: as a d1 + b d2 + e, where each d_k is
 * an untracked NaN noted as ∂ₖg(a, b), so the VJP the core records reads back as ct · ∂ₖg(a, b) (the
 * chain rule with g's derivatives left abstract), and the sum itself is noted as the call g(a, b).
 */
function abstractCall(name: string, args: readonly bp.Tensor[]): bp.Tensor {
  const nan = () => bp.scalar(Number.NaN, "float64");
  if (tracing === 0 || !args.some((a) => a.requiresGrad)) return nan();
  const terms = args.map((a, index) => {
    const d = nan();
    PIECES.set(d, { fn: "deriv", name, index, of: args });
    return bp.mul(a, d);
  });
  const out = terms.reduce((x, y) => bp.add(x, y), nan());
  ALIASES.set(out, { fn: name, args });
  return out;
}

/**
 * Runs `f` with abs computed as x * sign(x) on tracked inputs, so its VJP multiplies by a sign that
 * is noted (the core's abs computes sign(x) inside its VJP, out of reach). Only derivatives are read
 * inside; values come from the core's abs (x * sign(x) is -0 at -0).
 */
export function tracingPieces<T>(f: () => T): T {
  tracing++;
  try {
    return f();
  } finally {
    tracing--;
  }
}

/** The core's relu (where(x <= 0, 0, x)), with its condition noted. */
function relu(x: bp.Tensor): bp.Tensor {
  const c = bp.le(x, 0);
  PIECES.set(c, { fn: "notStep", of: x });
  return bp.where(c, 0, x);
}

/**
 * max(a, b) as the core computes it, but while tracing written as a p + b (1 - p) with the untracked
 * weight p = 1[a > b] + 1/2 1[a = b] noted as step(a - b) (and 1 - p as 1 - step(a - b)): the
 * derivatives, p and 1 - p, then read as the rules 1[a > b] and 1[a <= b], and their values split a
 * tie evenly, as the core's maximum does (and PyTorch and JAX). min(a, b) uses p = step(b - a).
 */
function extremum(which: "maximum" | "minimum", a: bp.Tensor, b: bp.Tensor): bp.Tensor {
  if (tracing === 0 || !(a.requiresGrad || b.requiresGrad)) return which === "maximum" ? bp.maximum(a, b) : bp.minimum(a, b);
  const [hi, lo] = which === "maximum" ? [a, b] : [b, a];
  const diff = bp.sub(hi, lo);
  const p = bp.noGrad(() => bp.add(bp.gt(hi, lo), bp.mul(bp.eq(hi, lo), 0.5)));
  const q = bp.noGrad(() => bp.sub(1, p));
  PIECES.set(p, { fn: "step", of: diff });
  PIECES.set(q, { fn: "notStep", of: diff });
  // p weighs the operand the op picks first: a for max (a > b), a for min too (b > a).
  const out = bp.add(bp.mul(a, p), bp.mul(b, q));
  ALIASES.set(out, { fn: which === "maximum" ? "max" : "min", args: [a, b] });
  return out;
}

function abs(x: bp.Tensor): bp.Tensor {
  if (tracing === 0 || !x.requiresGrad) return bp.abs(x);
  const s = bp.sign(x);
  PIECES.set(s, { fn: "sign", of: x });
  return bp.mul(x, s);
}

const FNS: Record<Exclude<FnName, "log">, (x: bp.Tensor) => bp.Tensor> = {
  ln: bp.log,
  exp: bp.exp,
  sqrt: bp.sqrt,
  sin: bp.sin,
  cos: bp.cos,
  tan: bp.tan,
  tanh: bp.tanh,
  sigmoid: bp.sigmoid,
  erf: bp.erf,
  relu,
  abs,
  sign: bp.sign,
  step: heaviside,
  sum: (x) => bp.sum(x),
  mean: (x) => bp.mean(x),
  // NumPy's .T reverses the axes (a vector stays a vector).
  transpose: (x) => bp.transpose(x),
};

export function applyFn(fn: FnName, x: bp.Tensor): bp.Tensor {
  return FNS[fn === "log" ? "ln" : fn](x);
}

export function applyBin(op: BinOp, a: bp.Tensor, b: bp.Tensor): bp.Tensor {
  return applyOp(BIN_OPS[op], [a, b]);
}

/**
 * Softmax cross-entropy of logits z against a target distribution y (one-hot or probabilities),
 * -sum(y * log softmax(z)), the softmax taken over all of z's elements (the language's sum is a total):
 * the core's stable logSoftmax, so large logits neither overflow nor lose digits.
 */
function softmaxCe(z: bp.Tensor, y: bp.Tensor): bp.Tensor {
  const lsm = bp.reshape(bp.logSoftmax(bp.reshape(z, [z.size]), 0), z.shape);
  return bp.neg(bp.sum(bp.mul(y, lsm)));
}

/** The eps the normalizations add to the variance: PyTorch's default. */
export const NORM_EPS = 1e-5;

/** A hyperparameter argument (a number the parser wrote in) as an integer. */
const int = (t: bp.Tensor): number => t.item();

/**
 * The convolution and pooling stages: tensor arguments, then the hyperparameters the parser stored as
 * trailing numbers (conv2d: stride, padding; pools: kernel, stride, padding), on the core's composites.
 */
function windowOp(op: "conv2d" | "maxpool" | "avgpool", args: readonly bp.Tensor[]): bp.Tensor {
  if (op === "conv2d") {
    const [stride, padding] = args.slice(-2).map(int);
    const t = args.slice(0, -2);
    return bp.conv2d(t[0], t[1], t[2] ?? null, { stride, padding });
  }
  const [kernelSize, stride, padding] = args.slice(1).map(int);
  return op === "maxpool" ? bp.maxPool2d(args[0], { kernelSize, stride, padding }) : bp.avgPool2d(args[0], { kernelSize, stride, padding });
}

/** batchnorm (training mode: the batch's statistics per channel, axis 1) and layernorm (over the last axis). */
function normOp(op: "batchnorm" | "layernorm", [x, gamma, beta]: readonly bp.Tensor[]): bp.Tensor {
  if (op === "batchnorm") {
    if (x.ndim < 2) throw new bp.ShapeError(`batchnorm: x must be (N, C) or (N, C, H, W), got ${bp.formatShape(x.shape)}`);
    return bp.batchNorm(x, { weight: gamma, bias: beta, training: true, eps: NORM_EPS });
  }
  if (x.ndim < 1) throw new bp.ShapeError(`layernorm: x must have at least one axis, got a scalar`);
  return bp.layerNorm(x, [x.shape[x.ndim - 1]], { weight: gamma, bias: beta, eps: NORM_EPS });
}

/** Runs a stage's operation on its argument tensors. */
export function applyOp(op: StageOp, args: readonly bp.Tensor[], fn?: string): bp.Tensor {
  switch (op) {
    case "add":
      return bp.add(args[0], args[1]);
    case "sub":
      return bp.sub(args[0], args[1]);
    case "mul":
      return bp.mul(args[0], args[1]);
    case "div":
      return bp.div(args[0], args[1]);
    case "pow":
      return bp.pow(args[0], args[1]);
    case "matmul":
      return bp.matmul(args[0], args[1]);
    case "neg":
      return bp.neg(args[0]);
    case "reciprocal":
      return bp.reciprocal(args[0]);
    case "id":
      return bp.bind("reshape", [args[0]], { shape: args[0].shape });
    case "maximum":
    case "minimum":
      return extremum(op, args[0], args[1]);
    case "mse":
      return bp.mse(args[0], args[1]);
    case "softmax_ce":
      return softmaxCe(args[0], args[1]);
    case "linear":
      return bp.add(bp.matmul(args[0], args[1]), args[2]);
    case "softmax":
      // Over all of z's elements, as softmax_ce: the core's stable softmax of the flattened z.
      return bp.reshape(bp.softmax(bp.reshape(args[0], [args[0].size]), 0), args[0].shape);
    case "conv2d":
    case "maxpool":
    case "avgpool":
      return windowOp(op, args);
    case "batchnorm":
    case "layernorm":
      return normOp(op, args);
    case "abstract":
      if (fn === undefined) throw new Error("an abstract stage needs its function's name");
      return abstractCall(fn, args);
    default:
      return FNS[op](args[0]);
  }
}
