/** Elementwise ops: the unary and binary primitives, comparisons, where, and composites such as relu. */
import { bind, bindPair, bindSpec } from "../bind.js";
import type { Prim, Spec } from "../prim.js";
import { PRIMS } from "../primitives.js";
import { Tensor, type Operand, expectTensor } from "../tensor.js";
import { constant } from "./create.js";

/** Numbers join an op in the dtype of the tensor beside them (float32 when both are numbers). */
export function operands(...xs: readonly Operand[]): Tensor[] {
  const like = xs.find((v): v is Tensor => v instanceof Tensor);
  const dtype = like ? like.dtype : "float32";
  return xs.map((v) => {
    if (v instanceof Tensor) return v;
    if (typeof v !== "number") throw new TypeError(`expected a Tensor or a number, got ${typeof v}`);
    return constant(v, dtype);
  });
}

/** Elementwise primitives have no parameters; one shared object saves an allocation per op. */
const NO_PARAMS = Object.freeze({});

// The specs are looked up on first use: primitives.ts imports these ops for its VJP rules, so the
// table may not exist yet while this module initializes.
function unary(prim: Prim) {
  let spec: Spec<Prim> | undefined;
  return (x: Tensor): Tensor => {
    if (!(x instanceof Tensor)) throw new TypeError(`${prim}: expected a Tensor, got ${typeof x}`);
    return bindSpec((spec ??= PRIMS[prim] as Spec<Prim>), prim, [x], NO_PARAMS);
  };
}

function checkNumber(v: unknown): number {
  if (typeof v !== "number") throw new TypeError(`expected a Tensor or a number, got ${typeof v}`);
  return v;
}

/** Two operands, a number taking the other's dtype (the hot path of scalar graphs: no rest arrays). */
function binary(prim: Prim) {
  let spec: Spec<Prim> | undefined;
  return (x: Operand, y: Operand): Tensor => {
    spec ??= PRIMS[prim] as Spec<Prim>;
    if (x instanceof Tensor) return bindPair(spec, prim, x, y instanceof Tensor ? y : constant(checkNumber(y), x.dtype), NO_PARAMS);
    if (y instanceof Tensor) return bindPair(spec, prim, constant(checkNumber(x), y.dtype), y, NO_PARAMS);
    return bindPair(spec, prim, constant(checkNumber(x)), constant(checkNumber(y)), NO_PARAMS);
  };
}

export const neg = unary("neg");
export const exp = unary("exp");
/** Natural logarithm. */
export const log = unary("log");
export const sin = unary("sin");
export const cos = unary("cos");
export const tan = unary("tan");
export const sqrt = unary("sqrt");
export const tanh = unary("tanh");
/** Logistic sigmoid 1/(1+e^-x), computed without overflow at any input. */
export const sigmoid = unary("sigmoid");
export const abs = unary("abs");
/** -1, 0 or 1 (no gradient). */
export const sign = unary("sign");
export const reciprocal = unary("reciprocal");
/** The error function 2/√π ∫₀ˣ e^(-t²) dt (the Gaussian CDF is (1 + erf(x/√2))/2). */
export const erf = unary("erf");

export const add = binary("add");
export const sub = binary("sub");
export const mul = binary("mul");
export const div = binary("div");
/** x ** y, with a tensor exponent too (its gradient is out * ln x). */
export const pow = binary("pow");
export const maximum = binary("maximum");
export const minimum = binary("minimum");

/** Comparisons give 1 or 0 in the operands' dtype and carry no gradient. */
export const gt = binary("gt");
export const ge = binary("ge");
export const eq = binary("eq");
export const lt = (x: Operand, y: Operand): Tensor => gt(y, x);
export const le = (x: Operand, y: Operand): Tensor => ge(y, x);
export const ne = (x: Operand, y: Operand): Tensor => sub(1, eq(x, y));

/** Picks x where cond is non-zero and y elsewhere, broadcasting all three; no gradient reaches cond. */
export function where(cond: Tensor, x: Operand, y: Operand): Tensor {
  expectTensor("where", cond, "cond");
  const [c, a, b] = operands(cond, x, y);
  return bind("where", [c, a, b], {});
}

export function square(x: Tensor): Tensor {
  expectTensor("square", x);
  return mul(x, x);
}

/**
 * max(x, 0), with gradient 0 at 0 as in PyTorch. Zero is picked where x <= 0, so a NaN (for which
 * every comparison is false) passes through instead of being hidden as 0.
 */
export function relu(x: Tensor): Tensor {
  expectTensor("relu", x);
  return where(le(x, 0), 0, x);
}

export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  expectTensor("leakyRelu", x);
  return where(gt(x, 0), x, mul(x, slope));
}
