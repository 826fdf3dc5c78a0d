// The messages between the Classify tab (classify-view.ts) and its worker (classify-worker.ts), typed on both sides.
import type { FeatureName, Point } from "./classify-data.js";

export type ClassifyActivation = "tanh" | "relu" | "sigmoid" | "linear";
export type ClassifyRegularization = "none" | "l1" | "l2";
/** Two classes (two logits, softmax cross-entropy) or a value (one output, mean squared error). */
export type ClassifyProblem = "classification" | "regression";
export type ClassifyOptimizer = "sgd" | "adam";

/** The network and how it learns: set in the page. */
export interface NetConfig {
  problem: ClassifyProblem;
  features: FeatureName[];
  /** Hidden layer widths, one per layer (1 to 8 each, set by each layer's +/- buttons). */
  hidden: number[];
  activation: ClassifyActivation;
  optimizer: ClassifyOptimizer;
  lr: number;
  /** The penalty on the weight matrices (never the biases): rate·Σ|w| (L1) or rate/2·Σw² (L2). */
  regularization: ClassifyRegularization;
  rate: number;
  batch: number;
  seed: number;
}

/** One dense layer's parameters as the library holds them: W row-major (in, out), so h = x W + b. */
export interface LayerWeights {
  inputs: number;
  outputs: number;
  W: number[];
  b: number[];
}

export type ClassifyRequest =
  /** A fresh network (the architecture or the seed changed): weights drawn anew, counters at zero. */
  | { type: "reset"; net: NetConfig; train: Point[]; test: Point[] }
  /** New points (added by a click, or a new split) for the same network. */
  | { type: "data"; train: Point[]; test: Point[] }
  /** New learning rate, regularization, batch or optimizer for the same network. */
  | { type: "learning"; net: NetConfig }
  | { type: "play" }
  | { type: "pause" }
  /** Trains this many epochs, then stops. */
  | { type: "step"; epochs: number }
  /** The gradient of one weight: `layer` counts the dense layers from 0, `from` and `to` the neurons it joins. */
  | { type: "inspect"; layer: number; from: number; to: number };

/** The state of training, sent a few times a second. */
export interface Frame {
  type: "frame";
  epoch: number;
  steps: number;
  playing: boolean;
  trainLoss: number;
  testLoss: number | null;
  trainAccuracy: number;
  testAccuracy: number | null;
  /** Side of the square grid the maps are sampled on. */
  res: number;
  problem: ClassifyProblem;
  /** P(blue) at each grid point (regression: the predicted value), row by row from the top. */
  output: Float32Array;
  /** Each hidden neuron's output over the grid, layer by layer. */
  neurons: Float32Array[][];
  weights: LayerWeights[];
  /** Train and test loss after each epoch, for the small curve. */
  history: { train: number; test: number | null }[];
}

/** A weight's gradient on one example, with what the explainer needs to show the same number. */
export interface Inspection {
  type: "inspect";
  layer: number;
  from: number;
  to: number;
  problem: ClassifyProblem;
  /** ∂L/∂w, L the cross-entropy (regression: squared error) of this one example (the L1/L2 penalty not included). */
  gradient: number;
  weight: number;
  /** The example: the training point the network gets most wrong now. */
  example: Point;
  exampleIndex: number;
  weights: LayerWeights[];
}

export type ClassifyMessage = Frame | Inspection | { type: "error"; message: string };
