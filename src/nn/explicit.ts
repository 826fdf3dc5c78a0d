/**
 * The lecture's explicit layer API: each `*Forward` returns its output and a cache, each
 * `*Backward(dout, cache)` returns the gradients of its inputs and parameters; chained right to
 * left they are backprop by hand. Computed with the core ops, outside autograd.
 */
import type { Tensor } from "../core/tensor.js";
import { noGrad } from "../core/bind.js";
import { add, div, gt, mul, relu, sub, where } from "../core/ops/elementwise.js";
import { matmul } from "../core/ops/linalg.js";
import { softmax, sum } from "../core/ops/reduce.js";
import { mT, type IndexLike } from "../core/ops/structure.js";
import { crossEntropy } from "../core/ops/activations.js";
import { scatterOneHot } from "./onehot.js";

export interface AffineCache {
  x: Tensor;
  w: Tensor;
  b: Tensor;
}

/** out = x w + b for x (N, D), w (D, M), b (M,). */
export function affineForward(x: Tensor, w: Tensor, b: Tensor): [Tensor, AffineCache] {
  return noGrad(() => [add(matmul(x, w), b), { x, w, b }]);
}

/** dx = dout w^T (N, D), dw = x^T dout (D, M), db = sum of dout over the batch (M,). */
export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return noGrad(() => ({ dx: matmul(dout, mT(cache.w)), dw: matmul(mT(cache.x), dout), db: sum(dout, 0) }));
}

export function reluForward(x: Tensor): [Tensor, { x: Tensor }] {
  return noGrad(() => [relu(x), { x }]);
}

/** The gradient passes where the input was positive and dies elsewhere (dead ReLUs). */
export function reluBackward(dout: Tensor, cache: { x: Tensor }): Tensor {
  return noGrad(() => where(gt(cache.x, 0), dout, 0));
}

export function sigmoidForward(x: Tensor): [Tensor, { out: Tensor }] {
  return noGrad(() => {
    const out = x.sigmoid();
    return [out, { out }];
  });
}

/** sigma' = sigma (1 - sigma), from the cached output. */
export function sigmoidBackward(dout: Tensor, cache: { out: Tensor }): Tensor {
  return noGrad(() => mul(dout, mul(cache.out, sub(1, cache.out))));
}

/** Mean softmax cross-entropy and its gradient (softmax - onehot) / N with respect to the logits. */
export function softmaxLoss(logits: Tensor, targets: IndexLike): { loss: number; dlogits: Tensor } {
  return noGrad(() => {
    const n = logits.shape[0];
    const loss = crossEntropy(logits, targets).item();
    const dlogits = div(sub(softmax(logits, -1), scatterOneHot(targets, logits.shape, logits.dtype)), n);
    return { loss, dlogits };
  });
}
