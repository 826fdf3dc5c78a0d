/** The explainer's operations, each a core op (a primitive or a composite) on float64 tensors. */
import * as bp from "../index.js";
import type { BinOp, FnName } from "./ast.js";

export type StageOp = "add" | "sub" | "mul" | "div" | "pow" | "matmul" | "neg" | "reciprocal" | "id" | Exclude<FnName, "log">;

export const BIN_OPS: Record<BinOp, StageOp> = { "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "@": "matmul" };

const heaviside = (x: bp.Tensor): bp.Tensor => bp.gt(x, 0);

const FNS: Record<Exclude<FnName, "log">, (x: bp.Tensor) => bp.Tensor> = {
  ln: bp.log,
  exp: bp.exp,
  sqrt: bp.sqrt,
  sin: bp.sin,
  cos: bp.cos,
  tan: bp.tan,
  tanh: bp.tanh,
  sigmoid: bp.sigmoid,
  relu: bp.relu,
  abs: bp.abs,
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
