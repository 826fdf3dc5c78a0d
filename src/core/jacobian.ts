/**
 * Whole Jacobians and Hessians from the two modes: `jacfwd` pushes one tangent per input element
 * forward (n sweeps), `jacrev` pulls one cotangent per output element back (m sweeps); both trace the
 * function once. `hessian` is forward over reverse: the forward Jacobian of the gradient.
 */
import { pullback, grad, type Args } from "./autodiff.js";
import { pushforward, traceFunction } from "./forward.js";
import type { Shape } from "./shape.js";
import type { DType } from "./dtype.js";
import type { Operand, Tensor } from "./tensor.js";
import { reshape, stack, transpose, detach } from "./ops/structure.js";
import { tensor, zeros } from "./ops/create.js";

/** The k-th standard basis tensor of `shape` (one 1, zeros elsewhere). */
function basis(shape: Shape, k: number, dtype: DType): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  data[k] = 1;
  return tensor(data, { shape, dtype });
}

function checkArgnum(argnum: number, count: number, op: string): void {
  if (!Number.isInteger(argnum) || argnum < 0 || argnum >= count) throw new Error(`${op}: argnum ${argnum} is out of range for ${count} arguments`);
}

/** Traces f once, differentiable in argument `argnum`, and checks that it returns one tensor. */
function traceOne(f: (...args: Tensor[]) => Operand, args: Args, argnum: number, op: string) {
  checkArgnum(argnum, args.length, op);
  const tr = traceFunction(f, args, op, [argnum]);
  if (tr.many) throw new TypeError(`${op}: the function must return one Tensor, got an array`);
  return { x: tr.inputs[argnum], y: tr.outputs[0], nested: tr.nested };
}

/**
 * Jacobian of f with respect to argument `argnum` (default 0), of shape `[...y.shape, ...x.shape]`,
 * by forward mode: one sweep per element of x. Best when x is small and y is large.
 */
export function jacfwd(f: (...args: Tensor[]) => Operand, argnum = 0): (...args: Args) => Tensor {
  return (...args: Args) => {
    const { x, y, nested } = traceOne(f, args, argnum, "jacfwd");
    if (x.size === 0 || y.size === 0) return zeros([...y.shape, ...x.shape], { dtype: y.dtype });
    const cols: Tensor[] = [];
    for (let j = 0; j < x.size; j++) cols.push(pushforward([y], [x], [basis(x.shape, j, x.dtype)], nested)[0]);
    // Columns stacked on a leading axis, which then moves behind y's axes.
    const stacked = stack(cols);
    const perm = [...y.shape.map((_, d) => d + 1), 0];
    const jac = reshape(transpose(stacked, perm), [...y.shape, ...x.shape]);
    return nested ? jac : detach(jac);
  };
}

/**
 * Jacobian of f with respect to argument `argnum` (default 0), of shape `[...y.shape, ...x.shape]`,
 * by reverse mode: one sweep per element of y. Best when y is small (a scalar loss: one sweep).
 */
export function jacrev(f: (...args: Tensor[]) => Operand, argnum = 0): (...args: Args) => Tensor {
  return (...args: Args) => {
    const { x, y, nested } = traceOne(f, args, argnum, "jacrev");
    if (x.size === 0 || y.size === 0 || !y.requiresGrad) return zeros([...y.shape, ...x.shape], { dtype: x.dtype });
    const rows: Tensor[] = [];
    for (let i = 0; i < y.size; i++) {
      const g = pullback([y], [basis(y.shape, i, y.dtype)], [x], nested).get(x) ?? zeros(x.shape, { dtype: x.dtype });
      rows.push(nested ? g : detach(g));
    }
    const jac = reshape(stack(rows), [...y.shape, ...x.shape]);
    return nested ? jac : detach(jac);
  };
}

/**
 * Hessian of a scalar function with respect to argument `argnum` (default 0), of shape
 * `[...x.shape, ...x.shape]`: forward mode over reverse mode (`jacfwd(grad(f))`), n forward sweeps
 * through the recorded gradient computation.
 */
export function hessian(f: (...args: Tensor[]) => Operand, argnum = 0): (...args: Args) => Tensor {
  const g = grad(f, argnum);
  return jacfwd((...xs: Tensor[]) => g(...xs), argnum);
}
