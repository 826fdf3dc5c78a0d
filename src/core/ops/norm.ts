/**
 * Batch and layer normalization, dropout and embedding lookup, with PyTorch's semantics. All are
 * composites of primitives (mean, sub, mul, sqrt, where, gather), so their gradients of any order come
 * from the primitives' rules; only the running statistics are updated in place, outside autodiff.
 */
import { checkOptionKeys } from "../options.js";
import { defaultRng, type Rng } from "../random.js";
import { formatShape, ShapeError, sizeOf } from "../shape.js";
import { Tensor, expectTensor } from "../tensor.js";
import { allocate } from "../dtype.js";
import { add, div, mul, sqrt, sub, where } from "./elementwise.js";
import { mean } from "./reduce.js";
import { detach, flattenIndices, reshape, take, type IndexLike } from "./structure.js";

export interface BatchNormOptions {
  /** Per-channel running mean (C,): updated in place in training, used instead of the batch's in evaluation. */
  runningMean?: Tensor | null;
  /** Per-channel running variance (C,), the unbiased estimate (as PyTorch keeps it). */
  runningVar?: Tensor | null;
  /** Per-channel scale γ (C,); none: 1. */
  weight?: Tensor | null;
  /** Per-channel shift β (C,); none: 0. */
  bias?: Tensor | null;
  /** Normalize with the batch's statistics (and update the running ones); false (default, as PyTorch's F.batch_norm) uses the running ones. */
  training?: boolean;
  /** Weight of the new batch in the running averages (default 0.1). */
  momentum?: number;
  /** Added to the variance under the square root (default 1e-5). */
  eps?: number;
}

const BATCH_NORM_KEYS = ["runningMean", "runningVar", "weight", "bias", "training", "momentum", "eps"] as const;

function checkEps(op: string, eps: unknown): number {
  if (typeof eps !== "number" || !(eps >= 0) || !Number.isFinite(eps))
    throw new RangeError(`${op}: eps must be a non-negative finite number, got ${String(eps)}`);
  return eps;
}

/** A per-channel tensor of shape (C,) for `op`, named `what`, or null when absent. */
function channelTensor(op: string, what: string, t: Tensor | null | undefined, channels: number, x: Tensor): Tensor | null {
  if (t === undefined || t === null) return null;
  expectTensor(op, t, what);
  if (t.ndim !== 1 || t.shape[0] !== channels) {
    throw new ShapeError(
      `${op}: ${what} must have shape (${channels},) for input of shape ${formatShape(x.shape)} (channels on axis 1), got ${formatShape(t.shape)}`,
    );
  }
  return t;
}

/**
 * Batch normalization of x (N, C, ...) per channel (axis 1) over the batch and every later axis:
 * (x - mean) / sqrt(var + eps) * weight + bias. In training the mean and the biased variance are the
 * batch's, and the running statistics, when given, move toward them by `momentum` (the variance as
 * its unbiased estimate, var * n/(n-1), as in PyTorch). In evaluation the running statistics are used.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions = {}): Tensor {
  expectTensor("batchNorm", x);
  checkOptionKeys("batchNorm", options, BATCH_NORM_KEYS);
  if (x.ndim < 2) throw new ShapeError(`batchNorm: input must have a batch and a channel axis (N, C, ...), got shape ${formatShape(x.shape)}`);
  const channels = x.shape[1];
  const runningMean = channelTensor("batchNorm", "runningMean", options.runningMean, channels, x);
  const runningVar = channelTensor("batchNorm", "runningVar", options.runningVar, channels, x);
  const weight = channelTensor("batchNorm", "weight", options.weight, channels, x);
  const bias = channelTensor("batchNorm", "bias", options.bias, channels, x);
  if ((runningMean === null) !== (runningVar === null)) throw new Error("batchNorm: give both runningMean and runningVar, or neither");
  const training = options.training ?? false;
  if (typeof training !== "boolean") throw new TypeError(`batchNorm: training must be true or false, got ${String(training)}`);
  const momentum = options.momentum ?? 0.1;
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1))
    throw new RangeError(`batchNorm: momentum must be a number in [0, 1], got ${String(momentum)}`);
  const eps = checkEps("batchNorm", options.eps ?? 1e-5);
  // Per-channel tensors broadcast as (1, C, 1, ...).
  const perChannel = [1, channels, ...x.shape.slice(2).map(() => 1)];
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  let normalized: Tensor;
  if (training) {
    const count = sizeOf(x.shape) / channels;
    if (count <= 1) throw new ShapeError(`batchNorm: expected more than 1 value per channel when training, got input of shape ${formatShape(x.shape)}`);
    const mu = mean(x, axes, true);
    const centered = sub(x, mu);
    const variance = mean(mul(centered, centered), axes, true);
    normalized = div(centered, sqrt(add(variance, eps)));
    if (runningMean && runningVar) updateRunning(runningMean, runningVar, mu, variance, momentum, count / (count - 1));
  } else {
    if (!runningMean || !runningVar) {
      throw new Error(
        "batchNorm: evaluation (training: false) normalizes with runningMean and runningVar; give them, or pass training: true for the batch's statistics",
      );
    }
    const m = reshape(detach(runningMean), perChannel);
    const v = reshape(detach(runningVar), perChannel);
    normalized = div(sub(x, m), sqrt(add(v, eps)));
  }
  return affine(normalized, weight && reshape(weight, perChannel), bias && reshape(bias, perChannel));
}

/** running = (1 - momentum) running + momentum batch, in place; the variance unbiased by n/(n-1). */
function updateRunning(runningMean: Tensor, runningVar: Tensor, mu: Tensor, variance: Tensor, momentum: number, unbias: number): void {
  const rm = runningMean.data;
  const rv = runningVar.data;
  const m = mu.data;
  const v = variance.data;
  for (let c = 0; c < rm.length; c++) {
    rm[c] = (1 - momentum) * rm[c] + momentum * m[c];
    rv[c] = (1 - momentum) * rv[c] + momentum * v[c] * unbias;
  }
}

function affine(x: Tensor, weight: Tensor | null, bias: Tensor | null): Tensor {
  const scaled = weight ? mul(x, weight) : x;
  return bias ? add(scaled, bias) : scaled;
}

export interface LayerNormOptions {
  /** Elementwise scale of the normalized shape; none: 1. */
  weight?: Tensor | null;
  /** Elementwise shift of the normalized shape; none: 0. */
  bias?: Tensor | null;
  /** Added to the variance under the square root (default 1e-5). */
  eps?: number;
}

/**
 * Layer normalization: each example is normalized over its trailing `normalizedShape` axes with its own
 * mean and biased variance, (x - mean) / sqrt(var + eps) * weight + bias; weight and bias have
 * `normalizedShape`. The same in training and evaluation.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], options: LayerNormOptions = {}): Tensor {
  expectTensor("layerNorm", x);
  checkOptionKeys("layerNorm", options, ["weight", "bias", "eps"]);
  const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`layerNorm: normalizedShape must be a positive integer or a non-empty list of them, got ${JSON.stringify(normalizedShape)}`);
  }
  const k = shape.length;
  const trailing = x.shape.slice(x.ndim - k);
  if (x.ndim < k || trailing.join() !== shape.join()) {
    throw new ShapeError(`layerNorm: input of shape ${formatShape(x.shape)} does not end in the normalized shape ${formatShape(shape)}`);
  }
  const eps = checkEps("layerNorm", options.eps ?? 1e-5);
  for (const [what, t] of [
    ["weight", options.weight],
    ["bias", options.bias],
  ] as const) {
    if (t === undefined || t === null) continue;
    expectTensor("layerNorm", t, what);
    if (t.shape.join() !== shape.join() || t.ndim !== k) {
      throw new ShapeError(`layerNorm: ${what} must have the normalized shape ${formatShape(shape)}, got ${formatShape(t.shape)}`);
    }
  }
  const axes = shape.map((_, i) => x.ndim - k + i);
  const mu = mean(x, axes, true);
  const centered = sub(x, mu);
  const variance = mean(mul(centered, centered), axes, true);
  return affine(div(centered, sqrt(add(variance, eps))), options.weight ?? null, options.bias ?? null);
}

export interface DropoutOptions {
  /** Drop and rescale (default true, as PyTorch's F.dropout); false returns x itself. */
  training?: boolean;
  /** The generator of the mask (default: the global one, `manualSeed`). */
  rng?: Rng;
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1 - p), so the expected value is
 * unchanged; in evaluation (training: false) it is the identity. The mask comes from the seeded `Rng`:
 * the same seed gives the same mask. The gradient is the same mask times the incoming gradient.
 */
export function dropout(x: Tensor, p = 0.5, options: DropoutOptions = {}): Tensor {
  expectTensor("dropout", x);
  checkOptionKeys("dropout", options, ["training", "rng"]);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new RangeError(`dropout: probability p must be a number in [0, 1], got ${String(p)}`);
  const training = options.training ?? true;
  if (typeof training !== "boolean") throw new TypeError(`dropout: training must be true or false, got ${String(training)}`);
  if (!training || p === 0) return x;
  const rng = options.rng ?? defaultRng();
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const mask = allocate(x.dtype, x.size, x.shape, "dropout");
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < p ? 0 : scale;
  return mul(x, new Tensor(mask, [...x.shape]));
}

export interface EmbeddingOptions {
  /** Rows looked up at this index give no gradient to the weight (a padding token); negative counts from the end. */
  paddingIdx?: number | null;
}

/**
 * Rows of `weight` (num, dim) at integer `indices` of any shape: the result has shape indices.shape +
 * (dim,). The weight's gradient sums the incoming gradients of each row's lookups; with `paddingIdx`
 * that row gets none (its value is still returned, as in PyTorch).
 */
export function embedding(indices: IndexLike, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  expectTensor("embedding", weight, "weight");
  checkOptionKeys("embedding", options, ["paddingIdx"]);
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must have shape (numEmbeddings, embeddingDim), got ${formatShape(weight.shape)}`);
  const num = weight.shape[0];
  const { flat, shape } = flattenIndices("embedding", indices);
  const idx = new Int32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (!Number.isInteger(v) || v < 0 || v >= num)
      throw new ShapeError(`embedding: index ${v} at position ${i} is not in [0, ${num}) (the table has ${num} rows)`);
    idx[i] = v;
  }
  const rows = take(weight, new Tensor(Float64Array.from(idx), shape), 0);
  const pad = options.paddingIdx;
  if (pad === undefined || pad === null) return rows;
  if (!Number.isInteger(pad) || pad < -num || pad >= num)
    throw new RangeError(`embedding: paddingIdx must be an integer in [-${num}, ${num}), got ${String(pad)}`);
  const padRow = pad < 0 ? pad + num : pad;
  if (!idx.includes(padRow)) return rows;
  // The padding lookups read the same values from a detached copy, so no gradient reaches that row.
  const keep = new Tensor(
    Float64Array.from(idx, (v) => (v === padRow ? 0 : 1)),
    [...shape, 1],
  );
  return where(keep, rows, detach(rows));
}
