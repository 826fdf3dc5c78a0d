/**
 * The gates: functions of the language that have a known local derivative as one stage (the core's VJP
 * rule, read back: sigmoid's σ(1 − σ)) and can also be staged into the language's primitive operations,
 * as the course stages sigmoid (a = −x, b = e^a, c = 1 + b, d = 1/c). `--granularity` picks the view.
 */
import { type BinOp, type Expr, type Span } from "./ast.js";

/** How finely programs are staged: each gate one stage, or each gate written out in primitives. */
export type Granularity = "gates" | "primitives";
export const GRANULARITIES: readonly Granularity[] = ["gates", "primitives"];
/** As the seeds write sigmoid(b) in complex_layer: one gate, local derivative σ(b)(1 − σ(b)). */
export const DEFAULT_GRANULARITY: Granularity = "gates";

export type Gate = "sigmoid" | "tanh" | "mse" | "softmax_ce" | "linear" | "softmax";
export const GATES: readonly Gate[] = ["sigmoid", "tanh", "mse", "softmax_ce", "linear", "softmax"];

/** Builders that give every node they make the gate call's span (errors and figures point at the call). */
function builders(span: Span | undefined) {
  const at = span === undefined ? {} : { span };
  return {
    num: (value: number): Expr => ({ kind: "num", value, ...at }),
    e: (): Expr => ({ kind: "const", name: "e", ...at }),
    neg: (arg: Expr): Expr => ({ kind: "neg", arg, ...at }),
    bin: (op: BinOp, left: Expr, right: Expr): Expr => ({ kind: "bin", op, left, right, ...at }),
    call: (fn: "ln" | "sum" | "mean", arg: Expr): Expr => ({ kind: "call", fn, arg, ...at }),
  };
}

/**
 * Each gate in primitives, over its argument expressions. A subexpression used twice is one shared
 * node (tanh's e^u), which the stager stages once: a fan-out, as when written by hand with names.
 */
export const GATE_PRIMITIVES: { readonly [G in Gate]: (args: readonly Expr[], span?: Span) => Expr } = {
  // σ(u) = 1 / (1 + e^(−u)): −u, exp, 1 + ·, 1/·, the seeds' four gates.
  sigmoid: ([u], span) => {
    const b = builders(span);
    return b.bin("/", b.num(1), b.bin("+", b.num(1), b.bin("^", b.e(), b.neg(u))));
  },
  // tanh(u) = (e^u − e^(−u)) / (e^u + e^(−u)), its definition: e^u and e^(−u) each fan out to two stages.
  tanh: ([u], span) => {
    const b = builders(span);
    const p = b.bin("^", b.e(), u);
    const m = b.bin("^", b.e(), b.neg(u));
    return b.bin("/", b.bin("-", p, m), b.bin("+", p, m));
  },
  // mse(p, y) = mean((p − y)^2).
  mse: ([p, y], span) => {
    const b = builders(span);
    return b.call("mean", b.bin("^", b.bin("-", p, y), b.num(2)));
  },
  // softmax_ce(z, y) = −sum(y · ln(e^z / sum(e^z))): the softmax, then the cross-entropy, as defined.
  softmax_ce: ([z, y], span) => {
    const b = builders(span);
    const ez = b.bin("^", b.e(), z);
    return b.neg(b.call("sum", b.bin("*", y, b.call("ln", b.bin("/", ez, b.call("sum", ez))))));
  },
  // linear(W, x, b) = W @ x + b: the lecture's affine layer, a matrix product and a sum.
  linear: ([w, x, bias], span) => {
    const b = builders(span);
    return b.bin("+", b.bin("@", w, x), bias);
  },
  // softmax(z) = e^z / sum(e^z): e^z staged once, fanning out to the division and the sum.
  softmax: ([z], span) => {
    const b = builders(span);
    const ez = b.bin("^", b.e(), z);
    return b.bin("/", ez, b.call("sum", ez));
  },
};

/** The gate a call node is, if any (sigmoid and tanh are `call` nodes, the losses and layers `apply` nodes). */
export function gateOf(e: Expr): Gate | null {
  if (e.kind === "call" && (e.fn === "sigmoid" || e.fn === "tanh")) return e.fn;
  if (e.kind === "apply" && e.deriv === undefined && (GATES as readonly string[]).includes(e.fn)) return e.fn as Gate;
  return null;
}
