/**
 * Code for the gates that are one stage but not one NumPy or bp function (mse, softmax_ce, linear,
 * softmax): the forward line and a shape-generic backward line per operand, as the structural stages'
 * (codegen.ts) are written. The softmax is over all elements, as the language defines it, through a
 * stable log-softmax helper the code defines (`_log_softmax` in Python, `_logSoftmax` in TypeScript).
 */
import type { StageOp } from "../language/functions.js";

export type GateOp = "mse" | "softmax_ce" | "linear" | "softmax";
export const GATE_OPS: readonly StageOp[] = ["mse", "softmax_ce", "linear", "softmax"];
export const isGateOp = (op: StageOp): op is GateOp => GATE_OPS.includes(op);

/** The helpers' names (kept free of user names) and their definitions. */
export const LOG_SOFTMAX = { python: "_log_softmax", ts: "_logSoftmax" } as const;
export const PY_LOG_SOFTMAX = [
  "def _log_softmax(z):",
  '    """log softmax over all of z\'s elements, shifted by the largest so that exp cannot overflow."""',
  "    m = np.max(z)",
  "    return z - m - np.log(np.sum(np.exp(z - m)))",
];
export const TS_LOG_SOFTMAX = [
  "/** log softmax over all of z's elements (the engine's stable one, on z flattened). */",
  "function _logSoftmax(z: bp.Tensor): bp.Tensor {",
  "  return bp.reshape(bp.logSoftmax(bp.reshape(z, [z.size]), 0), z.shape);",
  "}",
];

/** The forward code of a gate stage over its operands' code (`a` are atoms: names or parenthesised). */
export function gateForward(op: GateOp, a: readonly string[], py: boolean): string {
  const lsm = (z: string) => `${py ? LOG_SOFTMAX.python : LOG_SOFTMAX.ts}(${z})`;
  switch (op) {
    case "mse":
      return py ? `np.mean((${a[0]} - ${a[1]}) ** 2)` : `bp.mean(bp.pow(bp.sub(${a[0]}, ${a[1]}), 2))`;
    case "softmax_ce":
      return py ? `-np.sum(${a[1]} * ${lsm(a[0])})` : `bp.neg(bp.sum(bp.mul(${a[1]}, ${lsm(a[0])})))`;
    case "linear":
      return py ? `${a[0]} @ ${a[1]} + ${a[2]}` : `bp.add(bp.matmul(${a[0]}, ${a[1]}), ${a[2]})`;
    case "softmax":
      return py ? `np.exp(${lsm(a[0])})` : `bp.exp(${lsm(a[0])})`;
  }
}

/**
 * Each operand's gradient from the upstream `up`, for any shapes the gate accepts: broadcasting
 * operands are summed back (`sumTo`). `out` is the stage's own value (softmax reuses it); `mm`, for
 * linear, the code of W @ x's gradient rules (the matrix product's, from codegen) applied to an upstream.
 * linear's product rules take the upstream as it is: b must not stretch W @ x (codegen checks it).
 */
export function gateBackward(
  op: GateOp,
  up: string,
  a: readonly string[],
  out: string,
  py: boolean,
  sumTo: (code: string, x: string) => string,
  mm: (up: string) => readonly string[],
): string[] {
  const lsm = (z: string) => `${py ? LOG_SOFTMAX.python : LOG_SOFTMAX.ts}(${z})`;
  switch (op) {
    case "mse": {
      // d/dp mean((p − y)²) = 2 (p − y) / n, n the number of elements of p − y; the negative for y.
      const d = py ? `2 * (${a[0]} - ${a[1]}) / np.size(${a[0]} - ${a[1]})` : `bp.div(bp.mul(bp.sub(${a[0]}, ${a[1]}), 2), bp.sub(${a[0]}, ${a[1]}).size)`;
      return py
        ? [sumTo(`${up} * ${d}`, a[0]), sumTo(`-${up} * ${d}`, a[1])]
        : [sumTo(`bp.mul(${up}, ${d})`, a[0]), sumTo(`bp.neg(bp.mul(${up}, ${d}))`, a[1])];
    }
    case "softmax_ce": {
      // L = −Σ Y ⊙ log softmax(z), Y = y broadcast against z: ∂L/∂z = softmax(z) ΣY − Y summed to z; ∂L/∂y = −log softmax(z).
      const [z, y] = a;
      if (py) {
        const Y = `${y} * np.ones_like(${z})`;
        return [`${up} * (np.exp(${lsm(z)}) * np.sum(${Y}) - ${sumTo(Y, z)})`, sumTo(`-${up} * ${lsm(z)} * np.ones_like(${y})`, y)];
      }
      const Y = `bp.mul(${y}, bp.onesLike(${z}))`;
      return [
        `bp.mul(${up}, bp.sub(bp.mul(bp.exp(${lsm(z)}), bp.sum(${Y})), ${sumTo(Y, z)}))`,
        sumTo(`bp.mul(bp.neg(${up}), bp.mul(${lsm(z)}, bp.onesLike(${y})))`, y),
      ];
    }
    case "linear": {
      const [gw, gx] = mm(up);
      return [gw, gx, sumTo(up, a[2])];
    }
    case "softmax":
      // s = softmax(z): ∂L/∂z = s ⊙ (∂L/∂s − Σ s ⊙ ∂L/∂s), the softmax Jacobian applied without forming it.
      return [py ? `${out} * (${up} - np.sum(${out} * ${up}))` : `bp.mul(${out}, bp.sub(${up}, bp.sum(bp.mul(${out}, ${up}))))`];
  }
}
