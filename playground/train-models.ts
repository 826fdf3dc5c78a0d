// The Train tab's two digit classifiers, their default settings, and the layer table the tab shows. No DOM
// here, so a unit test can build both networks and check the table against the library.
import * as bp from "../src/index.js";

export const MODEL_KINDS = ["mlp", "cnn"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface ModelDefaults {
  lr: number;
  batch: number;
  epochs: number;
}

/**
 * The settings each model starts with (SGD, momentum 0.9, for both). The MLP's are the tab's old ones. The
 * CNN takes about 25 times the MLP's work per example, so it gets a smaller batch (more steps a second to
 * watch) and one epoch; lr 0.05 and batch 32 are `backprop train --model cnn`'s too (lr 0.1 spikes and ends
 * lower after 150 steps, 0.2 explodes; docs/playground.md has the measurements).
 */
export const MODEL_DEFAULTS: Record<ModelKind, ModelDefaults> = {
  mlp: { lr: 0.1, batch: 64, epochs: 3 },
  cnn: { lr: 0.05, batch: 32, epochs: 1 },
};

/** A learning rate that trains well, named in the divergence advice. */
export const GOOD_LR: Record<ModelKind, number> = { mlp: 0.1, cnn: 0.05 };

export const isModelKind = (s: string): s is ModelKind => (MODEL_KINDS as readonly string[]).includes(s);

/** A fresh network of the kind chosen; `hidden` is the MLP's hidden width (the CNN has none). */
export function buildModel(kind: ModelKind, hidden: number, rng: bp.Rng): bp.Sequential {
  // The CNN is the library's default digits CNN, the one `backprop train --model cnn` trains.
  return kind === "cnn" ? bp.cnn({ rng }) : bp.mlp([784, hidden, 10], { rng });
}

export interface LayerRow {
  /** What the layer is, with its settings: "Conv2d 1→16, 3×3, padding 1". */
  layer: string;
  /** The output's shape for a batch of N: "N×16×28×28". */
  output: string;
  params: number;
}

function describe(m: bp.Module): string {
  if (m instanceof bp.Unflatten) return `Unflatten to ${m.sizes.join("×")}`;
  if (m instanceof bp.Conv2d) {
    const [kh, kw] = m.kernelSize;
    const pad = m.padding === 0 || m.padding === "valid" ? "" : `, padding ${Array.isArray(m.padding) ? m.padding.join("×") : String(m.padding)}`;
    return `Conv2d ${m.inChannels}→${m.outChannels}, ${kh}×${kw}${pad}`;
  }
  if (m instanceof bp.MaxPool2d) {
    const k = m.options.kernelSize;
    return `MaxPool2d ${Array.isArray(k) ? k.join("×") : `${k}×${k}`}`;
  }
  if (m instanceof bp.Linear) return `Linear ${m.inFeatures}→${m.outFeatures}`;
  if (m instanceof bp.ReLU) return "ReLU";
  if (m instanceof bp.Flatten) return "Flatten";
  // Not constructor.name: the production build renames classes.
  throw new Error(`layerTable: no description for layer ${m.constructor.name}`);
}

/** Each layer of the network, the shape it outputs (from a pass of one blank digit) and its parameter count, then the total. */
export function layerTable(model: bp.Sequential): { rows: LayerRow[]; total: number } {
  let h = new bp.Tensor(new Float32Array(784), [1, 784]);
  const rows = bp.noGrad(() =>
    model.layers.map((m) => {
      h = m.forward(h);
      const params = m.parameters().reduce((s, p) => s + p.size, 0);
      return { layer: describe(m), output: ["N", ...h.shape.slice(1)].join("×"), params };
    }),
  );
  return { rows, total: rows.reduce((s, r) => s + r.params, 0) };
}
