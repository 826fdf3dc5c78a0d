/**
 * The benchmark's CNN training step (issue #20), shared by the timed runs (isolated.ts) and the step
 * profile (profile.ts): conv 1->16 3x3 pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2,
 * flatten, linear 1568->10 (bp.cnn, which first unflattens the 784 pixels of each row), cross-entropy,
 * SGD lr 0.01, on a batch of 64 28x28 images. torch-cnn.py and isolated.ts build the same network in
 * PyTorch and TensorFlow.js.
 */
import { sgdStep } from "./steps.js";

type Backprop = typeof import("../dist/node/index.js");

export const CNN_BATCH = 64;

/** The problem on `backend`: the digits CNN of `train --model cnn` (bp.cnn), a batch of flat images and labels. */
export function cnnProblem(bp: Backprop, backend: string) {
  if (!bp.listBackends().includes(backend)) throw new Error(`backend ${backend} is not available`);
  bp.setBackend(backend);
  const rng = new bp.Rng(0);
  const model = bp.cnn({ rng });
  const x = bp.randn([CNN_BATCH, 784], { rng });
  const y = Int32Array.from({ length: CNN_BATCH }, () => rng.int(10));
  return { x, y, model };
}

/** One step = forward, cross-entropy, backward, SGD update with lr 0.01. */
export function cnnStep(bp: Backprop, backend: string): () => void {
  return sgdStep(bp, cnnProblem(bp, backend), 0.01);
}
