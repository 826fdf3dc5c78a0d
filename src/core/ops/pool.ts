/**
 * Pooling over NCHW windows with PyTorch's semantics (output sizes, padding, ceil_mode), and flatten.
 * Max pooling gathers each window's first maximal entry, so its gradient goes to that one entry as in
 * PyTorch (the `max` reduction would share it among ties); while a graph is recorded it selects that
 * entry with a one-hot mask instead (maskedMax). Average pooling is unfold, sum and a divide.
 */
import { bind, noGrad } from "../bind.js";
import { checkOptionKeys } from "../options.js";
import type { WindowParams } from "../prim.js";
import { formatShape, normalizeAxis, ShapeError } from "../shape.js";
import { expectTensor, Tensor } from "../tensor.js";
import { arange } from "./create.js";
import { add, div, eq, where } from "./elementwise.js";
import { activeCapture } from "../capture.js";
import { batched, readPair, unbatched, type Pair } from "./conv.js";
import { detach, reshape } from "./structure.js";

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Default: the kernel size (windows that do not overlap). */
  stride?: Pair | null;
  /** Implicit -infinity padding on both sides, at most half the kernel. */
  padding?: Pair;
  dilation?: Pair;
  /** Round the number of windows up: a last, partial window when it starts inside the input or its left padding. */
  ceilMode?: boolean;
  /** Also return the argmax of each window as a flat index into its H*W plane (PyTorch's return_indices). */
  returnIndices?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair | null;
  /** Implicit zero padding on both sides, at most half the kernel. */
  padding?: Pair;
  ceilMode?: boolean;
  /** Divide by the whole window, padding included (default true), or only by the input entries in it. */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead. */
  divisorOverride?: number | null;
}

function readBool(op: string, what: string, v: unknown): boolean {
  if (typeof v === "boolean") return v;
  throw new TypeError(`${op}: ${what} must be true or false, got ${JSON.stringify(v)}`);
}

/**
 * One axis of a pooling window: PyTorch's number of windows, and the padding [before, after] that makes
 * unfold produce exactly them (ceil_mode's last window may need more than `pad` after).
 */
function poolAxis(
  op: string,
  axis: string,
  n: number,
  k: number,
  s: number,
  pad: number,
  d: number,
  ceil: boolean,
): { out: number; before: number; after: number } {
  if (pad > Math.floor(k / 2)) throw new TypeError(`${op}: padding ${pad} must be at most half the kernel size ${k} (as in PyTorch)`);
  const span = d * (k - 1) + 1;
  let out = Math.floor((n + 2 * pad - span + (ceil ? s - 1 : 0)) / s) + 1;
  // ceil_mode's extra window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= n + pad) out--;
  if (out < 1) throw new ShapeError(`${op}: the input ${axis} ${n} is smaller than the kernel ${k} (dilation ${d}, padding ${pad}): no windows`);
  return { out, before: pad, after: Math.max(0, (out - 1) * s + span - n - pad) };
}

interface Pool {
  xb: Tensor;
  params: WindowParams;
  ho: number;
  wo: number;
}

function poolWindows(op: string, x: Tensor, kernelSize: unknown, o: { stride?: unknown; padding?: unknown; ceilMode?: unknown }, dilationOpt: unknown): Pool {
  const kernel = readPair(op, "kernelSize", kernelSize, 1);
  const stride = o.stride === undefined || o.stride === null ? kernel : readPair(op, "stride", o.stride, 1);
  const pad = readPair(op, "padding", o.padding ?? 0, 0);
  const dilation = readPair(op, "dilation", dilationOpt ?? 1, 1);
  const ceil = readBool(op, "ceilMode", o.ceilMode ?? false);
  const xb = batched(op, x);
  const [, , h, w] = xb.shape;
  const rows = poolAxis(op, "height", h, kernel[0], stride[0], pad[0], dilation[0], ceil);
  const cols = poolAxis(op, "width", w, kernel[1], stride[1], pad[1], dilation[1], ceil);
  return { xb, params: { kernel, stride, padding: [rows.before, cols.before, rows.after, cols.after], dilation }, ho: rows.out, wo: cols.out };
}

/** Image row (or column) read by kernel offset i of window o. */
const tap = (o: number, i: number, s: number, before: number, d: number) => o * s - before + i * d;

/**
 * Where tap k of window q reads in its H x W plane, at [k * Ho*Wo + q], -1 for padding: once for all
 * planes (computed per element, the taps cost more than the kernels of a whole pooling layer, about
 * 5 ms a 64x16x28x28 batch).
 */
function tapPositions({ xb, params, ho, wo }: Pool): Int32Array {
  const [, , h, w] = xb.shape;
  const [kh, kw] = params.kernel;
  const [sh, sw] = params.stride;
  const [dh, dw] = params.dilation;
  const [top, left] = params.padding;
  const l = ho * wo;
  const at = new Int32Array(kh * kw * l);
  for (let k = 0; k < kh * kw; k++) {
    for (let q = 0; q < l; q++) {
      const ih = tap(Math.floor(q / wo), Math.floor(k / kw), sh, top, dh);
      const iw = tap(q % wo, k % kw, sw, left, dw);
      at[k * l + q] = ih >= 0 && ih < h && iw >= 0 && iw < w ? ih * w + iw : -1;
    }
  }
  return at;
}

/** The windows' taps of x as (N, C, kh*kw, Ho*Wo), padding taps at -infinity so that they never win a max. */
function windowTaps(x: Tensor, { params, ho, wo }: Pool, at: Int32Array): Tensor {
  const [n, c] = x.shape;
  const [kh, kw] = params.kernel;
  const taps = reshape(bind("unfold", [x], params), [n, c, kh * kw, ho * wo]);
  if (params.padding.every((p) => p === 0)) return taps;
  const mask = x.dtype === "float64" ? new Float64Array(at.length) : new Float32Array(at.length);
  for (let i = 0; i < at.length; i++) if (at[i] < 0) mask[i] = -Infinity;
  return add(taps, new Tensor(mask, [kh * kw, ho * wo]));
}

/**
 * Flat indices into xb of each window's first maximal entry (NaN counts as maximal, as in PyTorch):
 * the windows' taps, then argmax over each column.
 */
function windowArgmax(pool: Pool): Int32Array {
  const { xb, params, ho, wo } = pool;
  const [n, c, h, w] = xb.shape;
  const kk = params.kernel[0] * params.kernel[1];
  const l = ho * wo;
  const at = tapPositions(pool);
  const am = noGrad(() => bind("argmax", [windowTaps(detach(xb), pool, at)], { axis: 2, keepdims: false }).data);
  const flat = new Int32Array(n * c * l);
  for (let b = 0, plane = 0; b < n * c; b++, plane += h * w) {
    for (let q = 0; q < l; q++) {
      let k = am[b * l + q];
      // A window of -infinity only: its first entry inside the image (the padding ties with it).
      // (poolAxis makes every window reach into the image; the bound only guards against a loop forever.)
      if (at[k * l + q] < 0) for (k = 0; k < kk - 1 && at[k * l + q] < 0; k++);
      flat[b * l + q] = plane + at[k * l + q];
    }
  }
  return flat;
}

/**
 * Max pooling in primitives only, for a recorded graph (capture: the ONNX training step): each window's
 * first argmax as a one-hot mask over its taps, the selected tap summed out. The same values and
 * gradients as the gather path (the first maximal entry takes the whole gradient), but nothing leaves
 * the graph, so the choice is made anew for every input; the gather path is faster (its gradient is
 * one scatter, not a mask and a fold), so it serves everywhere else.
 */
function maskedMax(pool: Pool): Tensor {
  const [n, c] = pool.xb.shape;
  const kk = pool.params.kernel[0] * pool.params.kernel[1];
  const taps = windowTaps(pool.xb, pool, tapPositions(pool));
  const first = bind("argmax", [taps], { axis: 2, keepdims: true });
  const onehot = eq(first, reshape(arange(kk, undefined, 1, { dtype: taps.dtype }), [kk, 1]));
  return reshape(bind("sum", [where(onehot, taps, 0)], { axes: [2], keepdims: false }), [n, c, pool.ho, pool.wo]);
}

/**
 * Max pooling of x (N, C, H, W) or (C, H, W), PyTorch's max_pool2d. The output gathers each window's
 * first maximal entry of x, so the gradient flows to exactly that entry (gather's VJP is scatterAdd).
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(x: Tensor, options: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor | [Tensor, Tensor];
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor | [Tensor, Tensor] {
  const op = "maxPool2d";
  expectTensor(op, x);
  checkOptionKeys(op, options, ["kernelSize", "stride", "padding", "dilation", "ceilMode", "returnIndices"]);
  if (options === undefined || options.kernelSize === undefined) throw new TypeError(`${op}: options.kernelSize is required`);
  const pool = poolWindows(op, x, options.kernelSize, options, options.dilation);
  const withIndices = readBool(op, "returnIndices", options.returnIndices ?? false);
  if (activeCapture && !withIndices) return unbatched(x, maskedMax(pool));
  const [n, c, h, w] = pool.xb.shape;
  const flat = windowArgmax(pool);
  const out = unbatched(x, bind("gather", [reshape(pool.xb, [-1])], { indices: flat, indexShape: [n, c, pool.ho, pool.wo], axis: 0 }));
  if (!withIndices) return out;
  const plane = h * w;
  const idx = x.dtype === "float64" ? new Float64Array(flat.length) : new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) idx[i] = flat[i] % plane;
  return [out, new Tensor(idx, out.shape)];
}

/**
 * Average pooling of x (N, C, H, W) or (C, H, W), PyTorch's avg_pool2d: each window's sum (zero
 * padding) divided by the window's size within the padded input (countIncludePad), by the number of
 * input entries in it, or by divisorOverride.
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const op = "avgPool2d";
  expectTensor(op, x);
  checkOptionKeys(op, options, ["kernelSize", "stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"]);
  if (options === undefined || options.kernelSize === undefined) throw new TypeError(`${op}: options.kernelSize is required`);
  const includePad = readBool(op, "countIncludePad", options.countIncludePad ?? true);
  const override = options.divisorOverride ?? null;
  if (override !== null && (typeof override !== "number" || !Number.isInteger(override) || override < 1)) {
    throw new TypeError(`${op}: divisorOverride must be a positive integer, got ${JSON.stringify(override)}`);
  }
  const pool = poolWindows(op, x, options.kernelSize, options, 1);
  const { xb, params, ho, wo } = pool;
  const [n, c, h, w] = xb.shape;
  const [kh, kw] = params.kernel;
  const [sh, sw] = params.stride;
  const [top, left] = params.padding;
  // Windows stop at the padding PyTorch asked for (top on both sides), not at ceil_mode's overhang.
  const divisor = new Float64Array(ho * wo);
  for (let oh = 0; oh < ho; oh++) {
    for (let ow = 0; ow < wo; ow++) {
      let hs = oh * sh - top;
      let ws = ow * sw - left;
      let he = Math.min(hs + kh, h + top);
      let we = Math.min(ws + kw, w + left);
      if (!includePad) {
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, h);
        we = Math.min(we, w);
      }
      divisor[oh * wo + ow] = override ?? (he - hs) * (we - ws);
    }
  }
  // Each channel pooled as its own one-channel image: rows of the columns are the window's taps.
  const cols = bind("unfold", [reshape(xb, [n * c, 1, h, w])], params);
  const sums = bind("sum", [cols], { axes: [1], keepdims: false });
  const d = new Tensor(xb.dtype === "float64" ? divisor : Float32Array.from(divisor), [ho * wo]);
  return unbatched(x, reshape(div(sums, d), [n, c, ho, wo]));
}

/** Rows i of an m x n averaging matrix: 1/(end-start) on PyTorch's window [floor(i n/m), ceil((i+1) n/m)). */
function averaging(m: number, n: number, float64: boolean): Tensor {
  const a = float64 ? new Float64Array(m * n) : new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const start = Math.floor((i * n) / m);
    const end = Math.ceil(((i + 1) * n) / m);
    for (let j = start; j < end; j++) a[i * n + j] = 1 / (end - start);
  }
  return new Tensor(a, [m, n]);
}

/**
 * Adaptive average pooling to `outputSize` [oh, ow] (null keeps that axis), PyTorch's adaptive_avg_pool2d.
 * The windows are products of row and column ranges, so the average is A_h x A_w^T with two averaging
 * matrices: two matrix products, linear in x.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = "adaptiveAvgPool2d";
  expectTensor(op, x);
  const xb = batched(op, x);
  const [, , h, w] = xb.shape;
  const given = typeof outputSize === "number" ? [outputSize, outputSize] : Array.isArray(outputSize) && outputSize.length === 2 ? outputSize : null;
  const size = given?.map((v, a) => (v === null ? [h, w][a] : v));
  if (!size || !size.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 1)) {
    throw new TypeError(`${op}: outputSize must be a positive integer or a pair [oh, ow] of them (null keeps an axis), got ${JSON.stringify(outputSize)}`);
  }
  if (h < 1 || w < 1) throw new ShapeError(`${op}: the input of shape ${formatShape(x.shape)} is empty`);
  const [oh, ow] = size;
  const f64 = xb.dtype === "float64";
  let y = oh === h ? xb : bind("matmul", [averaging(oh, h, f64), xb], {});
  if (ow !== w) y = bind("matmul", [y, averaging(ow, w, f64)], { transposeY: true });
  return unbatched(x, y);
}

/**
 * Merges axes startDim..endDim into one: torch.flatten, whose defaults flatten everything (as the method
 * `t.flatten()`); the Flatten module starts at 1 to keep the batch axis, as nn.Flatten does.
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  expectTensor("flatten", x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeAxis(startDim, x.ndim, "flatten");
  const e = normalizeAxis(endDim, x.ndim, "flatten");
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for a tensor of shape ${formatShape(x.shape)}`);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}
