/** Layers: Linear with the lecture's and the standard initializations, activations (GELU and Softplus too), Sequential, mlp(). */
import { Tensor } from "../core/tensor.js";
import { defaultRng, type Rng } from "../core/random.js";
import type { DType } from "../core/dtype.js";
import { allocate } from "../core/dtype.js";
import { add, leakyRelu, relu, sigmoid, tanh } from "../core/ops/elementwise.js";
import { matmul } from "../core/ops/linalg.js";
import { gelu, softplus, type GeluOptions, type SoftplusOptions } from "../core/ops/activations.js";
import { Module } from "./module.js";
import { checkChoice, checkOptionKeys } from "../core/options.js";

/** normal: N(0, 1) as in the lecture; xavier: Glorot uniform; kaiming: He normal N(0, 2/fanIn). */
export type Init = "normal" | "xavier" | "kaiming";

export interface LinearOptions {
  init?: Init;
  bias?: boolean;
  rng?: Rng;
  dtype?: DType;
}

const LINEAR_KEYS = ["init", "bias", "rng", "dtype"] as const;

/**
 * y = x W + b with W of shape (in, out) and b of shape (out,): batch-first, as the lecture's
 * affine_forward. The bias starts at zero.
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures <= 0 || outFeatures <= 0) {
      throw new Error(`Linear: sizes must be positive integers, got ${inFeatures} -> ${outFeatures}`);
    }
    checkOptionKeys("Linear", options, LINEAR_KEYS);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const dtype = checkChoice("Linear", "dtype", options.dtype ?? "float32", ["float32", "float64"]);
    const rng = options.rng ?? defaultRng();
    const init = checkChoice("Linear", "init", options.init ?? "kaiming", ["normal", "xavier", "kaiming"]);
    if (options.bias !== undefined && typeof options.bias !== "boolean") throw new TypeError(`Linear: bias must be true or false, got ${String(options.bias)}`);
    const w = allocate(dtype, inFeatures * outFeatures, [inFeatures, outFeatures], "Linear");
    if (init === "xavier") {
      const a = Math.sqrt(6 / (inFeatures + outFeatures));
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng.uniform() - 1) * a;
    } else {
      const std = init === "kaiming" ? Math.sqrt(2 / inFeatures) : 1;
      for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    }
    this.weight = new Tensor(w, [inFeatures, outFeatures], null, true);
    this.bias = options.bias === false ? null : new Tensor(allocate(dtype, outFeatures), [outFeatures], null, true);
  }

  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight);
    return this.bias ? add(y, this.bias) : y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** GELU, x Φ(x): exact (erf) by default, `new GELU({ approximate: "tanh" })` for the tanh form. */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";
  constructor(options: GeluOptions = {}) {
    super();
    checkOptionKeys("GELU", options, ["approximate"]);
    this.approximate = checkChoice("GELU", "approximate", options.approximate ?? "none", ["none", "tanh"]);
  }
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/** Softplus, log(1 + e^(βx))/β, linear above βx = threshold (PyTorch's defaults β = 1, threshold 20). */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(options: SoftplusOptions = {}) {
    super();
    checkOptionKeys("Softplus", options, ["beta", "threshold"]);
    this.beta = options.beta ?? 1;
    this.threshold = options.threshold ?? 20;
    softplus(new Tensor(new Float64Array(0), [0]), { beta: this.beta, threshold: this.threshold }); // checks them now
  }
  forward(x: Tensor): Tensor {
    return softplus(x, { beta: this.beta, threshold: this.threshold });
  }
}

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.layers) h = l.forward(h);
    return h;
  }
}

/** The activations `mlp` (and the CLI's --activation, and a checkpoint's architecture) accept. */
export const ACTIVATIONS = ["relu", "leakyrelu", "sigmoid", "tanh"] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface MlpOptions extends LinearOptions {
  activation?: Activation;
}

function activationLayer(a: Activation): Module {
  switch (a) {
    case "sigmoid":
      return new Sigmoid();
    case "tanh":
      return new Tanh();
    case "leakyrelu":
      return new LeakyReLU();
    case "relu":
      return new ReLU();
  }
}

/** A multilayer perceptron: sizes [784, 128, 10] is Linear(784,128) -> act -> Linear(128,10). */
export function mlp(sizes: readonly number[], options: MlpOptions = {}): Sequential {
  if (!Array.isArray(sizes) || sizes.length < 2)
    throw new Error(`mlp: need at least an input and an output size, got ${Array.isArray(sizes) ? `[${sizes.join(", ")}]` : String(sizes)}`);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`mlp: layer sizes must be positive integers, got [${sizes.join(", ")}]`);
  checkOptionKeys("mlp", options, [...LINEAR_KEYS, "activation"]);
  const activation = checkChoice("mlp", "activation", options.activation ?? "relu", ACTIVATIONS);
  const linear: LinearOptions = { ...options };
  delete (linear as MlpOptions).activation;
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(new Linear(sizes[i], sizes[i + 1], linear));
    if (i + 2 < sizes.length) layers.push(activationLayer(activation));
  }
  return new Sequential(...layers);
}
