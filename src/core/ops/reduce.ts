/** Reductions: sum, mean, max, min, logsumexp with softmax and logSoftmax, argmax/argmin, and sumTo (the one broadcast reduction). */
import { bind, noGrad } from "../bind.js";
import { normalizeAxes, normalizeAxis, sameShape, type Shape } from "../shape.js";
import { Tensor, type Axes, expectTensor } from "../tensor.js";
import { reducedShape } from "../backends/js/reduce.js";
import { add, div, exp, log, neg, sub, where } from "./elementwise.js";
import { detach, reshape } from "./structure.js";

export function sum(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor("sum", x);
  return bind("sum", [x], { axes: normalizeAxes(axis, x.ndim, "sum"), keepdims });
}

export function mean(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor("mean", x);
  const axes = normalizeAxes(axis, x.ndim, "mean");
  let count = 1;
  for (const a of axes) count *= x.shape[a];
  return div(bind("sum", [x], { axes, keepdims }), count);
}

export function max(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor("max", x);
  return bind("max", [x], { axes: normalizeAxes(axis, x.ndim, "max"), keepdims });
}

export function min(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor("min", x);
  return neg(max(neg(x), axis, keepdims));
}

/**
 * `x - max(x)` over `axes`, the maximum detached (kept as 1s in the shape). Subtracting it leaves
 * values and gradients of logsumexp and softmax unchanged and keeps exp from overflowing. Infinite
 * maxima are replaced by 0 so inf - inf never happens; usually there are none, and then the mask and
 * its where are skipped.
 */
function shiftByMax(x: Tensor, axes: readonly number[]): { shifted: Tensor; m: Tensor } {
  const m = noGrad(() => {
    const mx = bind("max", [detach(x)], { axes, keepdims: true });
    const d = mx.data;
    let allFinite = true;
    for (let i = 0; i < d.length && allFinite; i++) allFinite = Number.isFinite(d[i]);
    return allFinite
      ? mx
      : where(
          new Tensor(
            d.map((v) => (Number.isFinite(v) ? 1 : 0)),
            mx.shape,
          ),
          mx,
          0,
        );
  });
  return { shifted: sub(x, m), m };
}

/** log(sum(exp(x))) without overflow. A slice that is all -Infinity gives -Infinity, not NaN. */
export function logsumexp(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  expectTensor("logsumexp", x);
  const axes = normalizeAxes(axis, x.ndim, "logsumexp");
  const { shifted, m } = shiftByMax(x, axes);
  const out = add(log(bind("sum", [exp(shifted)], { axes, keepdims: true })), m);
  return keepdims ? out : reshape(out, reducedShape(x.shape, axes, false));
}

/**
 * log(softmax(x)) = (x - m) - log(sum(exp(x - m))) with m the maximum. Written this way, not as
 * x - logsumexp(x), because at large logits logsumexp rounds away its small log term (1e8 + ln 3 is
 * 1e8 in float32) and the difference of two large numbers loses every digit; x - m is exact.
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  expectTensor("logSoftmax", x);
  const a = normalizeAxis(axis, x.ndim, "logSoftmax");
  const { shifted } = shiftByMax(x, [a]);
  return sub(shifted, log(bind("sum", [exp(shifted)], { axes: [a], keepdims: true })));
}

/** exp(x - m) / sum(exp(x - m)): equal logits give exactly 1/n, at any size. */
export function softmax(x: Tensor, axis = -1): Tensor {
  expectTensor("softmax", x);
  const a = normalizeAxis(axis, x.ndim, "softmax");
  const e = exp(shiftByMax(x, [a]).shifted);
  return div(e, bind("sum", [e], { axes: [a], keepdims: true }));
}

/** Index of the largest value along `axis` (over the flattened tensor when no axis is given). */
export function argmax(x: Tensor, axis?: number, keepdims = false): Tensor {
  expectTensor("argmax", x);
  if (axis === undefined) {
    const flat = reshape(detach(x), [-1]);
    const r = bind("argmax", [flat], { axis: 0, keepdims: false });
    return keepdims
      ? reshape(
          r,
          x.shape.map(() => 1),
        )
      : r;
  }
  return bind("argmax", [x], { axis: normalizeAxis(axis, x.ndim, "argmax"), keepdims });
}

export function argmin(x: Tensor, axis?: number, keepdims = false): Tensor {
  expectTensor("argmin", x);
  return noGrad(() => argmax(neg(x), axis, keepdims));
}

/**
 * Sums `x` down to `shape`, undoing NumPy broadcasting: leading axes are summed away and axes where
 * `shape` has 1 are summed with keepdims. The backward interpreter reduces every broadcast input here.
 */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  return reshape(bind("sum", [x], { axes, keepdims: true }), shape);
}
