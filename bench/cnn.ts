/**
 * The benchmark's CNN training step (issue #20), shared by the timed runs (isolated.ts) and the step
 * profile (profile.ts): conv 1->16 3x3 pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2,
 * flatten, linear 1568->10, cross-entropy, SGD lr 0.01, on a batch of 64 28x28 images, built from the
 * library's layers as a user would. peers.py and isolated.ts build the same network in PyTorch and
 * TensorFlow.js.
 */
type Backprop = typeof import("../dist/node/index.js");

export const CNN_BATCH = 64;

/** The problem on `backend`: the network (PyTorch's default initialization), a batch of inputs and labels. */
export function cnnProblem(bp: Backprop, backend: string) {
  if (!bp.listBackends().includes(backend)) throw new Error(`backend ${backend} is not available`);
  bp.setBackend(backend);
  const rng = new bp.Rng(0);
  const model = new bp.Sequential(
    new bp.Conv2d(1, 16, 3, { padding: 1, rng }),
    new bp.ReLU(),
    new bp.MaxPool2d(2),
    new bp.Conv2d(16, 32, 3, { padding: 1, rng }),
    new bp.ReLU(),
    new bp.MaxPool2d(2),
    new bp.Flatten(),
    new bp.Linear(32 * 7 * 7, 10, { rng }),
  );
  const x = bp.randn([CNN_BATCH, 1, 28, 28], { rng });
  const y = Int32Array.from({ length: CNN_BATCH }, () => rng.int(10));
  return { x, y, model };
}

/** One step = forward, cross-entropy, backward, SGD update with lr 0.01. */
export function cnnStep(bp: Backprop, backend: string): () => void {
  const { x, y, model } = cnnProblem(bp, backend);
  const opt = new bp.SGD(model.parameters(), { lr: 0.01 });
  return () => {
    const loss = bp.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
}
