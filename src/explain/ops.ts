/** The explainer's operations, each a core op (a primitive or a composite) on float64 tensors. */
import * as bp from "./core.js";
import type { BinOp, FnName } from "./ast.js";

export type StageOp = "add" | "sub" | "mul" | "div" | "pow" | "matmul" | "neg" | "reciprocal" | "id" | Exclude<FnName, "log">;

export const BIN_OPS: Record<BinOp, StageOp> = { "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "@": "matmul" };

const heaviside = (x: bp.Tensor): bp.Tensor => bp.gt(x, 0);

/**
 * Comparisons carry no gradient, so the core records none: the condition inside relu's VJP, or the
 * sign in abs's, reaches the symbolic reader as an untracked constant (its value at the point), and
 * the local derivative of relu would print as 1 or 0 instead of its rule. Such tensors are noted here
 * with what they compute, so the reader can print step(z) (1[z > 0]) or sign(z) instead.
 */
export interface Piece {
  /** step: 1[of > 0]; notStep: 1[of <= 0]; sign: sign(of). */
  readonly fn: "step" | "notStep" | "sign";
  readonly of: bp.Tensor;
}

const PIECES = new WeakMap<bp.Tensor, Piece>();

/** What the untracked tensor `t` computes from a tracked one, when an op here noted it. */
export function pieceOf(t: bp.Tensor): Piece | undefined {
  return PIECES.get(t);
}

let tracing = 0;

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

/** Runs a stage's operation on its argument tensors. */
export function applyOp(op: StageOp, args: readonly bp.Tensor[]): bp.Tensor {
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
    default:
      return FNS[op](args[0]);
  }
}
