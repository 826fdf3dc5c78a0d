// Trains the digits network off the main thread, so the page stays responsive; yields between steps
// so that Stop and prediction requests are answered while it trains.
import * as bp from "../src/index.js";

import type { TrainMessage, TrainRequest as Request } from "./train-protocol.js";

let model: bp.Sequential | null = null;
let stopping = false;
let data: { train: bp.Dataset; test: bp.Dataset } | null = null;

const post = (m: TrainMessage) => (self as unknown as Worker).postMessage(m);

// Threads for the wasm kernels where the page is cross-origin isolated (the server sends COOP/COEP).
const cores = Math.max(1, navigator.hardwareConcurrency || 1);
bp.useWasmThreads(() => new Worker(new URL("./wasm-thread.ts", import.meta.url), { type: "module" }), cores, true);
const engine = (): TrainMessage => ({
  type: "engine",
  backend: bp.getBackend().name,
  threads: 1 + (bp.createWasmBackend()?.pool()?.ready() ?? 0),
  isolated: self.crossOriginIsolated,
});
const pause = () => new Promise((r) => setTimeout(r, 0));

async function load(url: string): Promise<{ train: bp.Dataset; test: bp.Dataset }> {
  if (data) return data;
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const n = bytes.length / 785;
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = bytes[n + i] / 255;
  const ds: bp.Dataset = { name: "digits", x: new bp.Tensor(x, [n, 784]), y: Int32Array.from(bytes.subarray(0, n)), classes: [..."0123456789"] };
  data = bp.trainTestSplit(ds, 0.2, new bp.Rng(0));
  return data;
}

async function train(req: Extract<Request, { type: "start" }>): Promise<void> {
  stopping = false;
  post({ type: "status", text: "Loading the digits…" });
  const { train, test } = await load(req.url);
  const rng = new bp.Rng(0);
  const net = bp.mlp([784, req.hidden, 10], { rng });
  model = net;
  const opt = new bp.SGD(net.parameters(), { lr: req.lr, momentum: 0.9 });
  // The library's own training loop, driven one step at a time so that Stop and predictions are
  // answered between steps.
  let step = 0;
  for (const e of bp.trainSteps(net, train, { epochs: req.epochs, batchSize: req.batch, optimizer: opt, rng, test })) {
    if (e.kind === "epoch") {
      post({ type: "epoch", epoch: e.epoch, testAccuracy: e.testAccuracy });
      continue;
    }
    step++;
    post({ type: "step", step, epoch: e.epoch, loss: e.loss });
    if (step % 10 === 1) post({ type: "norms", norms: bp.gradientNorms(net) });
    if (step % 50 === 1) post(engine());
    await pause();
    if (stopping) break;
  }
  post({ type: "done", stopped: stopping });
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  if (req.type === "stop") stopping = true;
  else if (req.type === "start") train(req).catch((err) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
  else if (req.type === "predict") {
    if (!model) return post({ type: "prediction", digit: null });
    const logits = bp.noGrad(() => model!.eval().forward(new bp.Tensor(req.pixels, [1, 784])));
    const probs = bp.softmax(logits, -1);
    post({ type: "prediction", digit: logits.argmax(-1).item(), confidence: probs.max().item() });
    model.train();
  }
};
