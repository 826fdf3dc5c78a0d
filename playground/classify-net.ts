// The Classify tab's network and its penalty, kept apart from the worker so Node tests can train them:
// an mlp for tanh/ReLU/sigmoid, Linear layers alone for "linear" (the library has no identity activation),
// and L1 or L2 on the weight matrices only (biases are not penalized, as in TensorFlow Playground).
import * as bp from "../src/index.js";

import type { NetConfig } from "./classify-protocol.js";

/** The network for a config, seeded by `rng`: features -> hidden widths -> 2 logits. */
export function buildNet(config: Pick<NetConfig, "features" | "hidden" | "activation">, rng: bp.Rng): bp.Sequential {
  const sizes = [config.features.length, ...config.hidden, 2];
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
