/**
 * The textbook backward rules of the convolution, pooling and normalization stages, computed with plain
 * loops over NCHW arrays (float64): independent of the core's composites (unfold, fold, gather), so that
 * checking a printed rule against the engine's gradient compares two different computations.
 */
import * as bp from "../core.js";

type Shape = readonly number[];

/** Hyperparameters of a window stage: the kernel (kh, kw), one stride and one padding for both axes. */
export interface Window {
  readonly kernel: readonly [number, number];
  readonly stride: number;
  readonly padding: number;
}

const f64 = (data: Float64Array, shape: Shape): bp.Tensor => bp.tensor(data, { dtype: "float64", shape });
const values = (t: bp.Tensor): Float64Array => (t.data instanceof Float64Array ? t.data : Float64Array.from(t.data));

/** A 3-d (C, H, W) array as one image of a batch, (1, C, H, W); a 4-d one as it is. */
const as4 = (s: Shape): [number, number, number, number] => (s.length === 3 ? [1, s[0], s[1], s[2]] : [s[0], s[1], s[2], s[3]]);

/** Visits every (input row, input column, output row, output column, kernel row, kernel column) that a window covers inside the input. */
function eachTap(
  h: number,
  w: number,
  ho: number,
  wo: number,
  win: Window,
  f: (ih: number, iw: number, oh: number, ow: number, a: number, b: number) => void,
): void {
  const [kh, kw] = win.kernel;
  for (let oh = 0; oh < ho; oh++)
    for (let ow = 0; ow < wo; ow++)
      for (let a = 0; a < kh; a++)
        for (let b = 0; b < kw; b++) {
          const ih = oh * win.stride - win.padding + a;
          const iw = ow * win.stride - win.padding + b;
          if (ih >= 0 && ih < h && iw >= 0 && iw < w) f(ih, iw, oh, ow, a, b);
        }
}

/**
 * ∂L/∂x of y = conv2d(x, w): each upstream entry ∂L/∂y[n, o, i, j] is spread back through the kernel,
 * ∂L/∂x[n, c, i s − p + a, j s − p + b] += w[o, c, a, b] ∂L/∂y[n, o, i, j]: the transposed convolution,
 * at stride 1 the full convolution of ∂L/∂y with the kernel rotated by 180°.
 */
export function convInputGrad(up: bp.Tensor, w: bp.Tensor, xShape: Shape, win: Window): bp.Tensor {
  const [n, c, h, wd] = as4(xShape);
  const [, o, ho, wo] = as4(up.shape);
  const [, , kh, kw] = w.shape;
  const g = values(up);
  const k = values(w);
  const out = new Float64Array(n * c * h * wd);
  for (let i = 0; i < n; i++)
    for (let oc = 0; oc < o; oc++)
      for (let ic = 0; ic < c; ic++)
        eachTap(h, wd, ho, wo, win, (ih, iw, oh, ow, a, b) => {
          out[((i * c + ic) * h + ih) * wd + iw] += k[((oc * c + ic) * kh + a) * kw + b] * g[((i * o + oc) * ho + oh) * wo + ow];
        });
  return f64(out, xShape);
}

/** ∂L/∂w of y = conv2d(x, w): the correlation of x with ∂L/∂y, summed over the batch: Σ x[n, c, i s − p + a, j s − p + b] ∂L/∂y[n, o, i, j]. */
export function convWeightGrad(x: bp.Tensor, up: bp.Tensor, wShape: Shape, win: Window): bp.Tensor {
  const [n, c, h, wd] = as4(x.shape);
  const [, o, ho, wo] = as4(up.shape);
  const [, , kh, kw] = wShape;
  const xs = values(x);
  const g = values(up);
  const out = new Float64Array(o * c * kh * kw);
  for (let i = 0; i < n; i++)
    for (let oc = 0; oc < o; oc++)
      for (let ic = 0; ic < c; ic++)
        eachTap(h, wd, ho, wo, win, (ih, iw, oh, ow, a, b) => {
          out[((oc * c + ic) * kh + a) * kw + b] += xs[((i * c + ic) * h + ih) * wd + iw] * g[((i * o + oc) * ho + oh) * wo + ow];
        });
  return f64(out, wShape);
}

/** ∂L/∂b of y = conv2d(x, w, b): ∂L/∂y summed over the batch and the output positions, one number per output channel. */
export function convBiasGrad(up: bp.Tensor): bp.Tensor {
  const [n, o, ho, wo] = as4(up.shape);
  const g = values(up);
  const out = new Float64Array(o);
  for (let i = 0; i < n; i++) for (let oc = 0; oc < o; oc++) for (let p = 0; p < ho * wo; p++) out[oc] += g[(i * o + oc) * ho * wo + p];
  return f64(out, [o]);
}

/**
 * ∂L/∂x of y = maxpool(x): each window's upstream entry goes to the window's largest x (the first of
 * equal ones, row by row, as the engine and PyTorch pick it); every other entry gets 0 from that window.
 */
export function maxPoolGrad(x: bp.Tensor, up: bp.Tensor, win: Window): bp.Tensor {
  const [n, c, h, w] = as4(x.shape);
  const [, , ho, wo] = as4(up.shape);
  const xs = values(x);
  const g = values(up);
  const out = new Float64Array(xs.length);
  for (let plane = 0; plane < n * c; plane++) {
    const best = new Int32Array(ho * wo).fill(-1);
    eachTap(h, w, ho, wo, win, (ih, iw, oh, ow) => {
      const at = plane * h * w + ih * w + iw;
      const cur = best[oh * wo + ow];
      if (cur < 0 || xs[at] > xs[cur]) best[oh * wo + ow] = at;
    });
    best.forEach((at, p) => {
      if (at >= 0) out[at] += g[plane * ho * wo + p];
    });
  }
  return f64(out, x.shape);
}

/** ∂L/∂x of y = avgpool(x): each window's upstream entry spread evenly, 1/(kh kw) of it to each entry the window covers. */
export function avgPoolGrad(up: bp.Tensor, xShape: Shape, win: Window): bp.Tensor {
  const [n, c, h, w] = as4(xShape);
  const [, , ho, wo] = as4(up.shape);
  const g = values(up);
  const share = 1 / (win.kernel[0] * win.kernel[1]);
  const out = new Float64Array(n * c * h * w);
  for (let plane = 0; plane < n * c; plane++)
    eachTap(h, w, ho, wo, win, (ih, iw, oh, ow) => {
      out[plane * h * w + ih * w + iw] += share * g[plane * ho * wo + oh * wo + ow];
    });
  return f64(out, xShape);
}

/** The axes a normalization takes its statistics over: batchnorm's all but the channel axis 1, layernorm's the last. */
export function normAxes(kind: "batchnorm" | "layernorm", ndim: number): number[] {
  return kind === "layernorm" ? [ndim - 1] : Array.from({ length: ndim }, (_, i) => i).filter((i) => i !== 1);
}

/** The axes γ's and β's gradients sum over: batchnorm's statistics' axes, layernorm's leading (batch) axes. */
export function paramAxes(kind: "batchnorm" | "layernorm", ndim: number): number[] {
  return kind === "batchnorm" ? normAxes(kind, ndim) : Array.from({ length: ndim - 1 }, (_, i) => i);
}

/** γ or β of shape (C,) as it multiplies x: (C, 1, 1) for a 4-d batchnorm, (C,) otherwise. */
export function alongChannels(kind: "batchnorm" | "layernorm", t: bp.Tensor, ndim: number): bp.Tensor {
  return kind === "batchnorm" && ndim > 2 ? bp.reshape(t, [t.shape[0], ...Array.from({ length: ndim - 2 }, () => 1)]) : t;
}

/** x̂ = (x − μ)/σ with σ = √(var + ε) over `axes` (biased variance), and σ itself, kept broadcastable. */
export function normalized(x: bp.Tensor, axes: readonly number[], eps: number): { xhat: bp.Tensor; sigma: bp.Tensor } {
  const mu = bp.mean(x, axes, true);
  const centered = bp.sub(x, mu);
  const sigma = bp.sqrt(bp.add(bp.mean(bp.mul(centered, centered), axes, true), eps));
  return { xhat: bp.div(centered, sigma), sigma };
}

/** Σ over `axes`, shaped as γ (the statistics' axes removed). */
function sumOver(t: bp.Tensor, axes: readonly number[], shape: Shape): bp.Tensor {
  return bp.reshape(bp.sum(t, axes), shape);
}

/**
 * The closed-form backward of y = γ x̂ + β over m entries per statistic, with d = γ ∂L/∂y:
 * ∂L/∂x = (1/(m σ)) (m d − Σ d − x̂ Σ(d x̂)) (for batchnorm (γ/(m σ)) (m ∂L/∂y − Σ ∂L/∂y − x̂ Σ(∂L/∂y x̂))),
 * ∂L/∂γ = Σ ∂L/∂y x̂, ∂L/∂β = Σ ∂L/∂y.
 */
export function normGrads(
  kind: "batchnorm" | "layernorm",
  x: bp.Tensor,
  gamma: bp.Tensor,
  up: bp.Tensor,
  eps: number,
): { dx: bp.Tensor; dgamma: bp.Tensor; dbeta: bp.Tensor } {
  return bp.noGrad(() => {
    const axes = normAxes(kind, x.ndim);
    const m = axes.reduce((a, i) => a * x.shape[i], 1);
    const { xhat, sigma } = normalized(x, axes, eps);
    // ∂L/∂x̂ = γ ∂L/∂y. batchnorm's γ is constant over the statistics' axes and factors out of the sums
    // (the lecture's form); layernorm's varies along them, so its sums take γ ∂L/∂y.
    const g = alongChannels(kind, gamma, x.ndim);
    const dxhat = bp.mul(up, g);
    const sumUp = bp.sum(dxhat, axes, true);
    const sumUpXhat = bp.sum(bp.mul(dxhat, xhat), axes, true);
    const inner = bp.sub(bp.sub(bp.mul(dxhat, m), sumUp), bp.mul(xhat, sumUpXhat));
    const dx = bp.div(inner, bp.mul(sigma, m));
    const pAxes = paramAxes(kind, x.ndim);
    return { dx, dgamma: sumOver(bp.mul(up, xhat), pAxes, gamma.shape), dbeta: sumOver(up, pAxes, gamma.shape) };
  });
}
