// The Train tab's training loop: bp.trainSteps' steps (same batches, loss and update), but each epoch ends
// with the test set evaluated a slice at a time, so the worker can answer Stop and predictions in between.
// bp.trainSteps also evaluates the 8,000 training digits in one go at each epoch's end, which the tab never
// shows: for the CNN in the browser that was 15-20 s with the worker deaf to the page.
import * as bp from "../src/index.js";

export type LoopEvent =
  | { kind: "step"; epoch: number; step: number; stepsPerEpoch: number; loss: number }
  /** `done` of `total` test digits evaluated in the epoch that just ended. */
  | { kind: "evaluating"; epoch: number; done: number; total: number }
  | { kind: "epoch"; epoch: number; testAccuracy: number };

export interface LoopOptions {
  epochs: number;
  batchSize: number;
  optimizer: bp.Optimizer;
  rng: bp.Rng;
  /** Test digits per evaluation slice: small enough that one slice of CNN forward passes is a fraction of a second. */
  evalSlice?: number;
}

const size = (ds: bp.Dataset): number => ds.x.shape[0];

export function* digitSteps(model: bp.Module, train: bp.Dataset, test: bp.Dataset, o: LoopOptions): Generator<LoopEvent, void, void> {
  const stepsPerEpoch = Math.ceil(size(train) / o.batchSize);
  const slice = o.evalSlice ?? 200;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    let step = 0;
    for (const b of bp.batches(train, o.batchSize, o.rng)) {
      // The caller may have predicted (eval mode) between steps.
      model.train();
      const loss = bp.crossEntropy(model.forward(b.x), b.y);
      o.optimizer.zeroGrad();
      loss.backward();
      o.optimizer.step();
      // A non-finite loss is reported like any other; the caller's divergence check stops the run.
      yield { kind: "step", epoch, step: ++step, stepsPerEpoch, loss: loss.item() };
    }
    const total = size(test);
    let correct = 0;
    for (let s = 0; s < total; s += slice) {
      const end = Math.min(total, s + slice);
      const pred = bp.predict(model, test.x.slice([s, end]));
      pred.forEach((p, i) => void (p === test.y[s + i] && correct++));
      yield { kind: "evaluating", epoch, done: end, total };
    }
    yield { kind: "epoch", epoch, testAccuracy: total ? correct / total : 0 };
  }
}
