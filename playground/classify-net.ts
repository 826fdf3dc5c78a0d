// The Classify tab's network and its penalty, kept apart from the worker so Node tests can train them:
// an mlp for tanh/ReLU/sigmoid, Linear layers alone for "linear" (the library has no identity activation),
// and L1 or L2 on the weight matrices only (biases are not penalized, as in TensorFlow Playground).
import * as bp from "../src/index.js";

import type { NetConfig } from "./classify-protocol.js";

/** The network for a config, seeded by `rng`: features -> hidden widths -> 2 logits (regression: 1 value). */
export function buildNet(config: Pick<NetConfig, "features" | "hidden" | "activation"> & { problem?: NetConfig["problem"] }, rng: bp.Rng): bp.Sequential {
  const sizes = [config.features.length, ...config.hidden, config.problem === "regression" ? 1 : 2];
  if (config.activation !== "linear") return bp.mlp(sizes, { activation: config.activation, rng, init: config.activation === "relu" ? "kaiming" : "xavier" });
  const layers: bp.Linear[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) layers.push(new bp.Linear(sizes[i], sizes[i + 1], { rng, init: "xavier" }));
  return new bp.Sequential(...layers);
}

/** The penalty added to every batch's loss: rate·Σ|w| (L1) or rate/2·Σw² (L2, so its gradient is rate·w); none when the rate is 0. */
export function regularizer(net: bp.Sequential, config: Pick<NetConfig, "regularization" | "rate">): (() => bp.Tensor) | undefined {
  const { regularization: kind, rate } = config;
  if (kind === "none" || !(rate > 0)) return undefined;
  const weights = net.layers.filter((l): l is bp.Linear => l instanceof bp.Linear).map((l) => l.weight);
  return () => {
    let total: bp.Tensor | null = null;
    for (const w of weights) {
      const term = kind === "l1" ? w.abs().sum() : w.square().sum();
      total = total ? total.add(term) : term;
    }
    return total!.mul(kind === "l1" ? rate : rate / 2);
  };
}

/** A regression data set: features (n, f) and targets (n, 1). */
export interface RegressionData {
  x: bp.Tensor;
  y: bp.Tensor;
}

export interface RegressionOptions {
  batchSize: number;
  optimizer: bp.Optimizer;
  rng: bp.Rng;
  regularizer?: () => bp.Tensor;
}

/**
 * Regression's training loop, shaped like `bp.trainSteps` (a "step" event per batch, an "epoch" event per
 * pass, for ever): the library's loop is classification's (cross-entropy on class indices), this one
 * minimizes the mean squared error of the one output, plus the penalty.
 */
export function* regressionSteps(net: bp.Module, data: RegressionData, o: RegressionOptions): Generator<{ kind: "step" | "epoch"; loss: number }, void, void> {
  const n = data.y.shape[0];
  const f = data.x.shape[1];
  for (;;) {
    const order = o.rng.shuffle(Array.from({ length: n }, (_, i) => i));
    for (let start = 0; start < n; start += o.batchSize) {
      const idx = order.slice(start, start + o.batchSize);
      const xb = new bp.Tensor(Float32Array.from(idx.flatMap((i) => Array.from(data.x.data.subarray(i * f, (i + 1) * f)))), [idx.length, f]);
      const yb = new bp.Tensor(
        Float32Array.from(idx, (i) => data.y.data[i]),
        [idx.length, 1],
      );
      let loss = bp.mse(net.forward(xb), yb);
      if (o.regularizer) loss = loss.add(o.regularizer());
      o.optimizer.zeroGrad();
      loss.backward();
      o.optimizer.step();
      const l = loss.item();
      if (!Number.isFinite(l)) throw new Error(`the loss became ${l}; lower the learning rate`);
      yield { kind: "step", loss: l };
    }
    yield { kind: "epoch", loss: 0 };
  }
}

/** Mean squared error of the network's one output on a regression data set, without a graph. */
export function regressionLoss(net: bp.Module, data: RegressionData): number {
  if (data.y.shape[0] === 0) return 0;
  return bp.noGrad(() => bp.mse(net.forward(data.x), data.y).item());
}
