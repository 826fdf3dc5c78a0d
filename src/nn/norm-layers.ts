/**
 * Normalization, dropout and embedding layers with PyTorch's semantics and state names: BatchNorm1d/2d
 * (running statistics as buffers "running_mean", "running_var", "num_batches_tracked"), LayerNorm,
 * Dropout and Embedding.
 */
import { Tensor } from "../core/tensor.js";
import { allocate, type DType } from "../core/dtype.js";
import { defaultRng, type Rng } from "../core/random.js";
import { checkChoice, checkOptionKeys } from "../core/options.js";
import { formatShape, ShapeError } from "../core/shape.js";
import { batchNorm, dropout, embedding, layerNorm } from "../core/ops/norm.js";
import type { IndexLike } from "../core/ops/structure.js";
import { Module } from "./module.js";

function checkSize(op: string, what: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) throw new Error(`${op}: ${what} must be a positive integer, got ${String(n)}`);
  return n;
}

function checkFlag(op: string, what: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new TypeError(`${op}: ${what} must be true or false, got ${String(v)}`);
  return v;
}

function filled(dtype: DType, shape: number[], value: number, requiresGrad: boolean): Tensor {
  const data = allocate(
    dtype,
    shape.reduce((a, b) => a * b, 1),
    shape,
  );
  data.fill(value);
  return new Tensor(data, shape, null, requiresGrad);
}

export interface BatchNormModuleOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of each new batch in the running averages (default 0.1); null: their cumulative average. */
  momentum?: number | null;
  /** A learned per-channel scale (weight, ones) and shift (bias, zeros) (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); false: batch statistics in evaluation too. */
  trackRunningStats?: boolean;
  dtype?: DType;
}

const BN_KEYS = ["eps", "momentum", "affine", "trackRunningStats", "dtype"] as const;

/** What BatchNorm1d and BatchNorm2d share; they differ in the input ranks they accept. */
abstract class BatchNormBase extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  /** Buffers (null without trackRunningStats): per-channel mean, unbiased variance, and the count of training batches. */
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;

  private readonly kind: string;
  private readonly ranks: readonly number[];
  private readonly layout: string;

  /** `kind` names the class in errors; `ranks` are the input ranks it takes, `layout` says them. */
  constructor(name: string, ranks: readonly number[], layout: string, numFeatures: number, options: BatchNormModuleOptions) {
    super();
    this.kind = name;
    this.ranks = ranks;
    this.layout = layout;
    checkOptionKeys(name, options, BN_KEYS);
    this.numFeatures = checkSize(name, "numFeatures", numFeatures);
    const dtype = checkChoice(name, "dtype", options.dtype ?? "float32", ["float32", "float64"]);
    this.eps = options.eps ?? 1e-5;
    if (typeof this.eps !== "number" || !(this.eps >= 0) || !Number.isFinite(this.eps))
      throw new RangeError(`${name}: eps must be a non-negative finite number, got ${String(this.eps)}`);
    const momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (momentum !== null && (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1))) {
      throw new RangeError(`${name}: momentum must be a number in [0, 1] or null (cumulative average), got ${String(momentum)}`);
    }
    this.momentum = momentum;
    const affine = checkFlag(name, "affine", options.affine, true);
    const track = checkFlag(name, "trackRunningStats", options.trackRunningStats, true);
    this.weight = affine ? filled(dtype, [numFeatures], 1, true) : null;
    this.bias = affine ? filled(dtype, [numFeatures], 0, true) : null;
    if (track) {
      this.runningMean = this.registerBuffer("running_mean", filled(dtype, [numFeatures], 0, false));
      this.runningVar = this.registerBuffer("running_var", filled(dtype, [numFeatures], 1, false));
      // A count, float64 so it stays exact (PyTorch's is int64; tensors here are floating point).
      this.numBatchesTracked = this.registerBuffer("num_batches_tracked", new Tensor(new Float64Array(1), [], null, false));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  forward(x: Tensor): Tensor {
    const name = this.kind;
    if (!(x instanceof Tensor)) throw new TypeError(`${name}: expected a Tensor, got ${typeof x}`);
    if (!this.ranks.includes(x.ndim)) throw new ShapeError(`${name}: expected input of shape ${this.layout}, got ${formatShape(x.shape)}`);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${name}: input of shape ${formatShape(x.shape)} has ${x.shape[1]} channels on axis 1, the layer has ${this.numFeatures}`);
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      this.numBatchesTracked.data[0] += 1;
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.data[0];
    }
    // Batch statistics in training, and in evaluation too when no running ones are kept (PyTorch's rule).
    const useBatch = this.training || !this.runningMean;
    return batchNorm(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      training: useBatch,
      momentum: factor,
      eps: this.eps,
    });
  }
}

/** Batch normalization of (N, C) or (N, C, L) inputs per channel C. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormModuleOptions = {}) {
    super("BatchNorm1d", [2, 3], "(N, C) or (N, C, L)", numFeatures, options);
  }
}

/** Batch normalization of images (N, C, H, W) per channel C. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormModuleOptions = {}) {
    super("BatchNorm2d", [4], "(N, C, H, W)", numFeatures, options);
  }
}

export interface LayerNormModuleOptions {
  eps?: number;
  /** A learned elementwise scale (weight, ones) and shift (bias, zeros) of the normalized shape (default true). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine: whether to learn the shift too (default true). */
  bias?: boolean;
  dtype?: DType;
}

/** Layer normalization over the trailing `normalizedShape` axes of each example. */
export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], options: LayerNormModuleOptions = {}) {
    super();
    checkOptionKeys("LayerNorm", options, ["eps", "elementwiseAffine", "bias", "dtype"]);
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : [];
    if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`LayerNorm: normalizedShape must be a positive integer or a non-empty list of them, got ${JSON.stringify(normalizedShape)}`);
    }
    this.normalizedShape = shape;
    const dtype = checkChoice("LayerNorm", "dtype", options.dtype ?? "float32", ["float32", "float64"]);
    this.eps = options.eps ?? 1e-5;
    if (typeof this.eps !== "number" || !(this.eps >= 0) || !Number.isFinite(this.eps))
      throw new RangeError(`LayerNorm: eps must be a non-negative finite number, got ${String(this.eps)}`);
    const affine = checkFlag("LayerNorm", "elementwiseAffine", options.elementwiseAffine, true);
    const withBias = checkFlag("LayerNorm", "bias", options.bias, true);
    this.weight = affine ? filled(dtype, shape, 1, true) : null;
    this.bias = affine && withBias ? filled(dtype, shape, 0, true) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}

export interface DropoutModuleOptions {
  /** The generator of the masks; default: the global one at each call (so `manualSeed` reseeds it). */
  rng?: Rng;
}

/** Zeroes elements with probability p and scales the rest by 1/(1 - p) in training; the identity in evaluation. */
export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Rng | null;

  constructor(p = 0.5, options: DropoutModuleOptions = {}) {
    super();
    checkOptionKeys("Dropout", options, ["rng"]);
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new RangeError(`Dropout: probability p must be a number in [0, 1], got ${String(p)}`);
    this.p = p;
    this.rng = options.rng ?? null;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training, rng: this.rng ?? defaultRng() });
  }
}

export interface EmbeddingModuleOptions {
  /** This row starts at zero and gets no gradient (a padding token); negative counts from the end. */
  paddingIdx?: number | null;
  rng?: Rng;
  dtype?: DType;
}

/** A table of `numEmbeddings` learned vectors of `embeddingDim`, initialized N(0, 1) as in PyTorch; forward looks rows up by index. */
export class Embedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number | null;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingModuleOptions = {}) {
    super();
    checkOptionKeys("Embedding", options, ["paddingIdx", "rng", "dtype"]);
    this.numEmbeddings = checkSize("Embedding", "numEmbeddings", numEmbeddings);
    this.embeddingDim = checkSize("Embedding", "embeddingDim", embeddingDim);
    const dtype = checkChoice("Embedding", "dtype", options.dtype ?? "float32", ["float32", "float64"]);
    const pad = options.paddingIdx ?? null;
    if (pad !== null && (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings)) {
      throw new RangeError(`Embedding: paddingIdx must be an integer in [-${numEmbeddings}, ${numEmbeddings}), got ${String(pad)}`);
    }
    this.paddingIdx = pad === null ? null : pad < 0 ? pad + numEmbeddings : pad;
    const rng = options.rng ?? defaultRng();
    const w = allocate(dtype, numEmbeddings * embeddingDim, [numEmbeddings, embeddingDim], "Embedding");
    for (let i = 0; i < w.length; i++) w[i] = rng.normal();
    if (this.paddingIdx !== null) w.fill(0, this.paddingIdx * embeddingDim, (this.paddingIdx + 1) * embeddingDim);
    this.weight = new Tensor(w, [numEmbeddings, embeddingDim], null, true);
  }

  /** Indices of any shape give shape indices.shape + (embeddingDim,). */
  forward(indices: IndexLike): Tensor {
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }
}
