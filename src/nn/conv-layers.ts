/** Convolution and pooling layers over NCHW images, shaped and initialized as PyTorch's nn.Conv2d and friends. */
import { Tensor } from "../core/tensor.js";
import { defaultRng, type Rng } from "../core/random.js";
import { allocate, type DType } from "../core/dtype.js";
import { conv2d, readPair, type ConvPadding, type Pair } from "../core/ops/conv.js";
import { adaptiveAvgPool2d, avgPool2d, flatten, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from "../core/ops/pool.js";
import { checkChoice, checkOptionKeys } from "../core/options.js";
import { reshape } from "../core/ops/structure.js";
import { Module } from "./module.js";

/**
 * pytorch: nn.Conv2d's default, kaiming uniform with a = sqrt(5), i.e. weight and bias uniform in
 * +-1/sqrt(fanIn); kaiming: He normal N(0, 2/fanIn) with a zero bias (as Linear's default); xavier:
 * Glorot uniform; normal: N(0, 1). fanIn = inChannels/groups * kh * kw.
 */
export type ConvInit = "pytorch" | "kaiming" | "xavier" | "normal";

export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: ConvPadding;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  init?: ConvInit;
  rng?: Rng;
  dtype?: DType;
}

const CONV_KEYS = ["stride", "padding", "dilation", "groups", "bias", "init", "rng", "dtype"] as const;

function positive(op: string, what: string, v: unknown): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 1) return v;
  throw new TypeError(`${op}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
}

/** y = conv2d(x, weight, bias) with weight (out, in/groups, kh, kw), PyTorch's layout, so state dicts map one to one. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: ConvPadding;
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions = {}) {
    super();
    const op = "Conv2d";
    checkOptionKeys(op, options, CONV_KEYS);
    this.inChannels = positive(op, "inChannels", inChannels);
    this.outChannels = positive(op, "outChannels", outChannels);
    this.kernelSize = readPair(op, "kernelSize", kernelSize, 1);
    this.stride = readPair(op, "stride", options.stride ?? 1, 1);
    this.dilation = readPair(op, "dilation", options.dilation ?? 1, 1);
    this.groups = positive(op, "groups", options.groups ?? 1);
    // Checked now rather than at the first forward pass.
    const padding = options.padding ?? 0;
    if (padding === "same") {
      if (this.stride[0] !== 1 || this.stride[1] !== 1)
        throw new TypeError(`${op}: padding "same" needs stride 1 (as in PyTorch), got stride (${this.stride})`);
    } else if (padding !== "valid") readPair(op, "padding", padding, 0);
    this.padding = padding;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new TypeError(`${op}: groups ${this.groups} must divide both inChannels ${inChannels} and outChannels ${outChannels}`);
    }
    if (options.bias !== undefined && typeof options.bias !== "boolean") throw new TypeError(`${op}: bias must be true or false, got ${String(options.bias)}`);
    const dtype = checkChoice(op, "dtype", options.dtype ?? "float32", ["float32", "float64"]);
    const init = checkChoice(op, "init", options.init ?? "pytorch", ["pytorch", "kaiming", "xavier", "normal"]);
    const rng = options.rng ?? defaultRng();
    const [kh, kw] = this.kernelSize;
    const shape = [outChannels, inChannels / this.groups, kh, kw];
    const fanIn = (inChannels / this.groups) * kh * kw;
    const fanOut = (outChannels / this.groups) * kh * kw;
    const w = allocate(dtype, outChannels * fanIn, shape, op);
    const uniform = (a: Float32Array | Float64Array, bound: number) => {
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
    };
    if (init === "pytorch") uniform(w, 1 / Math.sqrt(fanIn));
    else if (init === "xavier") uniform(w, Math.sqrt(6 / (fanIn + fanOut)));
    else {
      const std = init === "kaiming" ? Math.sqrt(2 / fanIn) : 1;
      for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    }
    this.weight = new Tensor(w, shape, null, true);
    if (options.bias === false) this.bias = null;
    else {
      const b = allocate(dtype, outChannels);
      if (init === "pytorch") uniform(b, 1 / Math.sqrt(fanIn));
      this.bias = new Tensor(b, [outChannels], null, true);
    }
  }

  private options() {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options());
  }
}

export class MaxPool2d extends Module {
  readonly options: MaxPool2dOptions & { returnIndices?: false };
  constructor(kernelSize: Pair, options: Omit<MaxPool2dOptions, "kernelSize" | "returnIndices"> = {}) {
    super();
    checkOptionKeys("MaxPool2d", options, ["stride", "padding", "dilation", "ceilMode"]);
    this.options = { ...options, kernelSize };
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.options);
  }
}

export class AvgPool2d extends Module {
  readonly options: AvgPool2dOptions;
  constructor(kernelSize: Pair, options: Omit<AvgPool2dOptions, "kernelSize"> = {}) {
    super();
    checkOptionKeys("AvgPool2d", options, ["stride", "padding", "ceilMode", "countIncludePad", "divisorOverride"]);
    this.options = { ...options, kernelSize };
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.options);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Merges axes startDim..endDim (the defaults keep the batch axis: (N, C, H, W) -> (N, C*H*W)). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/**
 * Splits axis `dim` into `sizes` (PyTorch's nn.Unflatten): Unflatten(1, [1, 28, 28]) turns (N, 784)
 * into (N, 1, 28, 28). The axis must hold exactly prod(sizes) values; -1 in sizes is not accepted.
 */
export class Unflatten extends Module {
  readonly dim: number;
  readonly sizes: number[];
  constructor(dim: number, sizes: readonly number[]) {
    super();
    if (!Number.isSafeInteger(dim)) throw new TypeError(`Unflatten: dim must be an integer, got ${JSON.stringify(dim)}`);
    if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((s) => Number.isSafeInteger(s) && s > 0))
      throw new TypeError(`Unflatten: sizes must be a non-empty list of positive integers, got ${JSON.stringify(sizes)}`);
    this.dim = dim;
    this.sizes = [...sizes];
  }
  forward(x: Tensor): Tensor {
    const rank = x.shape.length;
    const d = this.dim < 0 ? this.dim + rank : this.dim;
    if (d < 0 || d >= rank) throw new RangeError(`Unflatten: dim ${this.dim} is out of range for a tensor of shape (${x.shape.join(", ")})`);
    const want = this.sizes.reduce((a, b) => a * b, 1);
    if (x.shape[d] !== want)
      throw new RangeError(
        `Unflatten: axis ${d} of a tensor of shape (${x.shape.join(", ")}) has ${x.shape[d]} values, sizes (${this.sizes.join(", ")}) need ${want}`,
      );
    return reshape(x, [...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
}
