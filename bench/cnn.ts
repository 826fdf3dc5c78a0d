/**
 * The benchmark's CNN training step (issue #20), shared by the timed runs (isolated.ts) and the step
 * profile (profile.ts): conv 1->16 3x3 pad 1, ReLU, max pool 2, conv 16->32 3x3 pad 1, ReLU, max pool 2,
 * flatten, linear 1568->10, cross-entropy, SGD lr 0.01, on a batch of 64 28x28 images. peers.py and
 * isolated.ts build the same network in PyTorch and TensorFlow.js.
 */
type Backprop = typeof import("../dist/node/index.js");
type Tensor = import("../dist/node/index.js").Tensor;

export const CNN_BATCH = 64;

/** A 3x3 convolution with padding 1 as im2col + one product with the weight broadcast over the batch, + bias. */
function conv3x3(bp: Backprop, x: Tensor, w: Tensor, b: Tensor): Tensor {
  const [n, , h, wd] = x.shape;
  const cols = bp.unfold(x, 3, { padding: 1 }); // (N, C*9, H*W)
  return bp.matmul(w, cols).add(b).reshape([n, w.shape[0], h, wd]);
}

/** 2x2 max pooling, stride 2: the windows' four values are rows c*4 + i*2 + j of the unfolded input. */
function maxPool2(bp: Backprop, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const cols = bp.unfold(x, 2, { stride: 2 }).reshape([n, c, 4, (h / 2) * (w / 2)]);
  return bp.max(cols, 2).reshape([n, c, h / 2, w / 2]);
}

/** The problem on `backend`: the network's parameters (He-normal weights, zero biases), a batch of inputs and labels, and its forward pass. */
export function cnnProblem(bp: Backprop, backend: string) {
  if (!bp.listBackends().includes(backend)) throw new Error(`backend ${backend} is not available`);
  bp.setBackend(backend);
  const rng = new bp.Rng(0);
  const param = (t: Tensor) => bp.tensor(t.data, { shape: t.shape, requiresGrad: true });
  const he = (rows: number, fanIn: number) => param(bp.randn([rows, fanIn], { rng }).mul(Math.sqrt(2 / fanIn)));
  const w1 = he(16, 9),
    b1 = param(bp.zeros([16, 1])),
    w2 = he(32, 144),
    b2 = param(bp.zeros([32, 1]));
  const fc = new bp.Linear(32 * 7 * 7, 10, { rng });
  const x = bp.randn([CNN_BATCH, 1, 28, 28], { rng });
  const y = Int32Array.from({ length: CNN_BATCH }, () => rng.int(10));
  const forward = (input: Tensor): Tensor => {
    let h = maxPool2(bp, bp.relu(conv3x3(bp, input, w1, b1)));
    h = maxPool2(bp, bp.relu(conv3x3(bp, h, w2, b2)));
    return fc.forward(h.reshape([input.shape[0], 32 * 7 * 7]));
  };
  return { x, y, forward, parameters: [w1, b1, w2, b2, ...fc.parameters()] };
}

/** One step = forward, cross-entropy, backward, SGD update with lr 0.01. */
export function cnnStep(bp: Backprop, backend: string): () => void {
  const { x, y, forward, parameters } = cnnProblem(bp, backend);
  const opt = new bp.SGD(parameters, { lr: 0.01 });
  return () => {
    const loss = bp.crossEntropy(forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
}
