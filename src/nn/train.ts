/** A training loop over minibatches, evaluation, and the confusion matrix. */
import type { Tensor } from "../core/tensor.js";
import { noGrad } from "../core/bind.js";
import { Rng } from "../core/random.js";
import { crossEntropy } from "../core/ops/activations.js";
import { batches, size, type Dataset } from "../data/dataset.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { Module } from "./module.js";

export interface StepInfo {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
}

export interface EpochInfo {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testAccuracy: number | null;
  seconds: number;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  optimizer: Optimizer;
  rng?: Rng;
  test?: Dataset;
  /** Extra loss terms (L2 regularization, say), added to the cross-entropy of every batch. */
  regularizer?: () => Tensor;
  /** Changes each training batch's inputs before the forward pass (data augmentation, e.g. randomShift); draws from `rng`. */
  augment?: (x: Tensor, rng: Rng) => Tensor;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (info: EpochInfo) => void;
}

export interface History {
  epochs: EpochInfo[];
  steps: number;
  seconds: number;
}

const now = (): number => (typeof performance !== "undefined" ? performance.now() : Date.now());

/** What training reports as it goes: each optimizer step, then each epoch's evaluation. */
export type TrainEvent = ({ kind: "step" } & StepInfo) | ({ kind: "epoch" } & EpochInfo);

/**
 * The training loop as a generator: one event per optimizer step and one per epoch, the History at
 * the end. `fit` drives it to the end; a caller that must stay responsive (the playground's worker)
 * drives it one step at a time, pausing or stopping between steps. Gradients are still in place
 * when a step's event is seen (gradient norms can be read then).
 */
export function* trainSteps(model: Module, train: Dataset, options: Omit<FitOptions, "onStep" | "onEpoch">): Generator<TrainEvent, History, void> {
  const rng = options.rng ?? new Rng(0);
  const stepsPerEpoch = Math.ceil(size(train) / options.batchSize);
  const epochs: EpochInfo[] = [];
  let steps = 0;
  const t0 = now();
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const te = now();
    model.train();
    let lossSum = 0;
    let seen = 0;
    let step = 0;
    for (const b of batches(train, options.batchSize, rng)) {
      let loss = crossEntropy(model.forward(options.augment ? options.augment(b.x, rng) : b.x), b.y);
      if (options.regularizer) loss = loss.add(options.regularizer());
      options.optimizer.zeroGrad();
      loss.backward();
      options.optimizer.step();
      const l = loss.item();
      if (!Number.isFinite(l)) throw new Error(`fit: the loss became ${l} at epoch ${epoch}, step ${step + 1}; lower the learning rate`);
      lossSum += l * size(b);
      seen += size(b);
      steps++;
      yield { kind: "step", epoch, step: ++step, stepsPerEpoch, loss: l };
      // The caller may have evaluated (eval mode) between steps.
      model.train();
    }
    const info: EpochInfo = {
      epoch,
      trainLoss: lossSum / seen,
      trainAccuracy: evaluate(model, train).accuracy,
      testAccuracy: options.test ? evaluate(model, options.test).accuracy : null,
      seconds: (now() - te) / 1000,
    };
    epochs.push(info);
    yield { kind: "epoch", ...info };
  }
  return { epochs, steps, seconds: (now() - t0) / 1000 };
}

/** Trains to the end, calling onStep and onEpoch as it goes (the trainSteps generator, driven through). */
export function fit(model: Module, train: Dataset, options: FitOptions): History {
  const run = trainSteps(model, train, options);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    const { kind, ...info } = r.value;
    if (kind === "step") options.onStep?.(info as StepInfo);
    else options.onEpoch?.(info as EpochInfo);
  }
}

/** Class predicted for each row (argmax of the logits), in evaluation mode and without a graph. */
export function predict(model: Module, x: Tensor, batchSize = 1024): Int32Array {
  model.eval();
  const n = x.shape[0];
  const out = new Int32Array(n);
  noGrad(() => {
    for (let s = 0; s < n; s += batchSize) {
      const logits = model.forward(x.slice([s, Math.min(n, s + batchSize)]));
      const am = logits.argmax(-1);
      for (let i = 0; i < am.size; i++) out[s + i] = am.data[i];
    }
  });
  return out;
}

export function evaluate(model: Module, ds: Dataset): { accuracy: number; confusion: number[][] } {
  const pred = predict(model, ds.x);
  const k = ds.classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  pred.forEach((p, i) => {
    confusion[ds.y[i]][p]++;
    if (p === ds.y[i]) correct++;
  });
  return { accuracy: pred.length ? correct / pred.length : 0, confusion };
}
