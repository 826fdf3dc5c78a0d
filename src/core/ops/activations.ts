/** The softmax cross-entropy loss and mean squared error, composites of primitives (softmax and logSoftmax are with the reductions). */
import { formatShape, ShapeError, sizeOf } from "../shape.js";
import { Tensor, expectTensor } from "../tensor.js";
import { mul, neg, sub } from "./elementwise.js";
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
