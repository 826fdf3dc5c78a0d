// Trains the digits network off the main thread, so the page stays responsive; yields between steps
// so that Stop and prediction requests are answered while it trains.
import * as bp from "../src/index.js";

import { diverged } from "./train-divergence.js";
import type { TrainMessage, TrainRequest as Request, Yield } from "./train-protocol.js";

let model: bp.Sequential | null = null;
let stopping = false;
let data: Promise<{ train: bp.Dataset; test: bp.Dataset }> | null = null;

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

/** The engine line now, and again every half second (`tries` times) until every thread is ready: a
 * short run can end before the threads have started. */
function reportEngine(tries: number): void {
  const e = engine();
  post(e);
  if (e.type === "engine" && e.isolated && e.threads < cores && tries > 0) setTimeout(() => reportEngine(tries - 1), 500);
}

// A message to ourselves is a task like any other, so Stop and predict messages queued before it run
// first; unlike setTimeout(0) it is not clamped to 4 ms (Chromium does that to nested timers).
const channel = new MessageChannel();
const resumers: (() => void)[] = [];
channel.port1.onmessage = () => resumers.shift()?.();
const yielders: Record<Yield, () => Promise<void>> = {
  message: () =>
    new Promise<void>((resume) => {
      resumers.push(resume);
      channel.port2.postMessage(null);
    }),
  timeout: () => new Promise<void>((resume) => setTimeout(resume, 0)),
};

/** How often the losses are reported: about a frame. */
const REPORT_MS = 16;

/** The digits file's bytes, reporting progress as they arrive. */
async function download(url: string): Promise<Uint8Array<ArrayBuffer>> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`could not load the digits from ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || null;
  const parts: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    post({ type: "loading", loaded, total });
  }
  const all = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** Gunzips with the browser's own DecompressionStream. A server that sent the file with
 * Content-Encoding: gzip has already inflated it, which the gzip magic number tells. */
async function inflate(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** N label bytes, then N * 784 pixel bytes (scripts/prepare-digits.mjs), split 80/20 once per page. */
async function load(url: string): Promise<{ train: bp.Dataset; test: bp.Dataset }> {
  const bytes = await inflate(await download(url));
  if (bytes.length === 0 || bytes.length % 785 !== 0) throw new Error(`the digits file is damaged (${bytes.length} bytes, not a multiple of 785)`);
  const n = bytes.length / 785;
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = bytes[n + i] / 255;
  const ds: bp.Dataset = { name: "digits", x: new bp.Tensor(x, [n, 784]), y: Int32Array.from(bytes.subarray(0, n)), classes: [..."0123456789"] };
  return bp.trainTestSplit(ds, 0.2, new bp.Rng(0));
}

async function train(req: Extract<Request, { type: "start" }>): Promise<void> {
  stopping = false;
  post({ type: "status", text: "Loading the digits…" });
  data ??= load(req.url);
  const { train, test } = await data.catch((err) => {
    data = null; // a failed download may be retried
    throw err;
  });
  post({ type: "status", text: "Training…" });
  const pause = yielders[req.yield];
  const rng = new bp.Rng(0);
  const net = bp.mlp([784, req.hidden, 10], { rng });
  model = net;
  const opt = new bp.SGD(net.parameters(), { lr: req.lr, momentum: 0.9 });
  // The library's own training loop, driven one step at a time so that Stop and predictions are
  // answered between steps.
  let step = 0;
  let firstLoss = NaN;
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  // Losses not yet reported, sent at most every REPORT_MS and before any other message.
  let losses: number[] = [];
  let epoch = 1;
  let stepsPerEpoch = 1;
  let reported = t0;
  let normsAt = t0;
  let engineAt = t0;
  const report = () => {
    if (losses.length) post({ type: "steps", first: step - losses.length + 1, losses, epoch, stepsPerEpoch, elapsedMs: elapsed() });
    losses = [];
    reported = performance.now();
  };
  const run = bp.trainSteps(net, train, { epochs: req.epochs, batchSize: req.batch, optimizer: opt, rng, test });
  for (;;) {
    let r: IteratorResult<bp.TrainEvent, bp.History>;
    try {
      r = run.next();
    } catch (err) {
      // trainSteps throws when the loss is not finite; that is divergence too, not a crash.
      const m = err instanceof Error ? /loss became (\S+) at/.exec(err.message) : null;
      if (!m) throw err;
      report();
      return post({ type: "diverged", step: step + 1, loss: Number(m[1]), firstLoss, lr: req.lr, elapsedMs: elapsed() });
    }
    if (r.done) break;
    const e = r.value;
    if (e.kind === "epoch") {
      report();
      post({ type: "epoch", epoch: e.epoch, testAccuracy: e.testAccuracy });
      continue;
    }
    step++;
    if (step === 1) firstLoss = e.loss;
    ({ epoch, stepsPerEpoch } = e);
    losses.push(e.loss);
    if (diverged(e.loss, firstLoss)) {
      report();
      return post({ type: "diverged", step, loss: e.loss, firstLoss, lr: req.lr, elapsedMs: elapsed() });
    }
    if (performance.now() - reported >= REPORT_MS) report();
    // Norms a few times a second: a table that changes faster cannot be read anyway.
    if (step === 1 || performance.now() - normsAt >= 250) {
      post({ type: "norms", norms: bp.gradientNorms(net) });
      normsAt = performance.now();
    }
    // The kernels' threads start while training runs: say how many are ready twice a second.
    if (step === 1 || performance.now() - engineAt >= 500) {
      post(engine());
      engineAt = performance.now();
    }
    await pause();
    if (stopping) break;
  }
  report();
  post({ type: "done", stopped: stopping, elapsedMs: elapsed() });
  reportEngine(20);
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  if (req.type === "stop") stopping = true;
  else if (req.type === "start") train(req).catch((err) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
  else if (req.type === "predict") {
    if (!model) return post({ type: "prediction", probs: null });
    const logits = bp.noGrad(() => model!.eval().forward(new bp.Tensor(req.pixels, [1, 784])));
    post({ type: "prediction", probs: Array.from(bp.softmax(logits, -1).data) });
    model.train();
  }
};
