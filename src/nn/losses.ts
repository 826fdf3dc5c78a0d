/** Losses: softmax cross-entropy (stable), mean squared error, and L2 regularization. */
import type { Tensor } from "../core/tensor.js";
import { crossEntropy, mse } from "../core/ops/activations.js";
import { add, mul } from "../core/ops/elementwise.js";
import { sum } from "../core/ops/reduce.js";
import type { IndexLike } from "../core/ops/structure.js";

/** Mean softmax cross-entropy of logits (N, C) against class indices (N). */
export function softmaxCrossEntropy(logits: Tensor, targets: IndexLike): Tensor {
  return crossEntropy(logits, targets);
}

export { mse };

/** lambda * sum of squares of the given parameters (pass weights only to leave biases alone). */
export function l2(params: readonly Tensor[], lambda: number): Tensor {
  let total: Tensor | null = null;
  for (const p of params) {
    const s = sum(mul(p, p));
    total = total ? add(total, s) : s;
  }
  if (!total) throw new Error("l2: no parameters given");
  return mul(total, lambda);
}
