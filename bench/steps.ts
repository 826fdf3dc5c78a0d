/** The benchmark's MLP training step, shared by the timed runs (isolated.ts) and the step profile (profile.ts). */
type Backprop = typeof import("../dist/node/index.js");
type Tensor = import("../dist/node/index.js").Tensor;
type Module = import("../dist/node/index.js").Module;

/** The benchmark's problem on `backend`: an MLP 784-256-10 and a batch of 128 inputs with class labels. */
export function mlpProblem(bp: Backprop, backend: string) {
  if (!bp.listBackends().includes(backend)) throw new Error(`backend ${backend} is not available`);
  bp.setBackend(backend);
  const rng = new bp.Rng(0);
  const x = bp.randn([128, 784], { rng });
  const y = Int32Array.from({ length: 128 }, () => rng.int(10));
  return { x, y, model: bp.mlp([784, 256, 10], { rng }) };
}

/** A step on a problem: forward, cross-entropy, backward, an SGD update with `lr`. */
export function sgdStep(bp: Backprop, { x, y, model }: { x: Tensor; y: Int32Array; model: Module }, lr: number): () => void {
  const opt = new bp.SGD(model.parameters(), { lr });
  return () => {
    const loss = bp.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  };
}

/** One step of the MLP problem, SGD with lr 0.1. */
export function backpropStep(bp: Backprop, backend: string): () => void {
  return sgdStep(bp, mlpProblem(bp, backend), 0.1);
}
