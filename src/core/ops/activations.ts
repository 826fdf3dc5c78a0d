/**
 * The softmax cross-entropy loss and mean squared error, composites of primitives (softmax and logSoftmax
 * are with the reductions); the GELU and softplus activations.
 */
import { bind } from "../bind.js";
import { checkChoice, checkOptionKeys } from "../options.js";
import { formatShape, ShapeError, sizeOf } from "../shape.js";
import { Tensor, expectTensor } from "../tensor.js";
import { add, div, erf, gt, mul, neg, sub, tanh, where } from "./elementwise.js";
import { logSoftmax, mean, sum } from "./reduce.js";
import { readClassLabels, reshape, takeAlongAxis, type IndexLike } from "./structure.js";

export interface CrossEntropyOptions {
  /** "mean" (default) over the batch, "sum", or "none" for one loss per example. */
  reduction?: "mean" | "sum" | "none";
}

/**
 * Softmax cross-entropy of logits (batch..., classes) against integer class indices (batch...):
 * -log softmax(logits)[target]. Stable at logits of +-1000; its gradient is softmax - onehot.
 */
export function crossEntropy(logits: Tensor, targets: IndexLike, options: CrossEntropyOptions = {}): Tensor {
  expectTensor("crossEntropy", logits, "logits");
  if (logits.ndim < 1) throw new ShapeError(`crossEntropy: logits must have a class axis, got shape ${formatShape(logits.shape)}`);
  const lsm = logSoftmax(logits, -1);
  const batch = logits.shape.slice(0, -1);
  const flat = readClassLabels("crossEntropy", targets, logits.shape[logits.ndim - 1]).values;
  if (flat.length !== sizeOf(batch)) {
    throw new ShapeError(`crossEntropy: expected ${sizeOf(batch)} class indices for logits of shape ${formatShape(logits.shape)}, got ${flat.length}`);
  }
  // Class indices of the batch shape become batch + (1,) for takeAlongAxis.
  const idx = new Tensor(Float64Array.from(flat), [...batch, 1]);
  const losses = neg(reshape(takeAlongAxis(lsm, idx, -1), batch));
  const reduction = options.reduction ?? "mean";
  if (reduction === "none") return losses;
  return reduction === "sum" ? sum(losses) : mean(losses);
}

/** Mean squared error. */
export function mse(pred: Tensor, target: Tensor | number): Tensor {
  expectTensor("mse", pred, "pred");
  const d = sub(pred, target);
  return mean(mul(d, d));
}

export interface GeluOptions {
  /** "none" (default): the exact x Φ(x) with the erf; "tanh": the tanh approximation of the GPT-2 and BERT code. */
  approximate?: "none" | "tanh";
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU, x Φ(x) with Φ the standard normal CDF: x/2 (1 + erf(x/√2)), or with `approximate: "tanh"`
 * x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))). The same formulas as PyTorch's, so the same roundings.
 */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  expectTensor("gelu", x);
  checkOptionKeys("gelu", options, ["approximate"]);
  const approximate = checkChoice("gelu", "approximate", options.approximate ?? "none", ["none", "tanh"]);
  const half = mul(x, 0.5);
  if (approximate === "none") return mul(half, add(1, erf(mul(x, Math.SQRT1_2))));
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), SQRT_2_OVER_PI);
  return mul(half, add(1, tanh(inner)));
}

export interface SoftplusOptions {
  /** softplus(βx)/β: larger β is closer to relu (default 1). */
  beta?: number;
  /** Above βx = threshold the result is x itself, as in PyTorch (default 20; Infinity for log(1 + e^x) everywhere). */
  threshold?: number;
}

/**
 * log(1 + e^(βx))/β, a smooth relu whose derivative is sigmoid(βx). Finite for every finite x (no overflow
 * to inf, no log(0)); tiny values at very negative x keep their digits (the `softplus` primitive).
 */
export function softplus(x: Tensor, options: SoftplusOptions = {}): Tensor {
  expectTensor("softplus", x);
  checkOptionKeys("softplus", options, ["beta", "threshold"]);
  const beta = options.beta ?? 1;
  const threshold = options.threshold ?? 20;
  if (typeof beta !== "number" || !(beta > 0) || !Number.isFinite(beta))
    throw new RangeError(`softplus: beta must be a positive finite number, got ${String(beta)}`);
  if (typeof threshold !== "number" || Number.isNaN(threshold)) throw new RangeError(`softplus: threshold must be a number, got ${String(threshold)}`);
  const bx = beta === 1 ? x : mul(x, beta);
  const y = beta === 1 ? bind("softplus", [bx], {}) : div(bind("softplus", [bx], {}), beta);
  return threshold === Infinity ? y : where(gt(bx, threshold), x, y);
}
