// Trains the digits network off the main thread, so the page stays responsive; yields between steps
// so that Stop and prediction requests are answered while it trains.
import * as bp from "../src/index.js";

import { ChanceWatch, diverged } from "./train-divergence.js";
import { digitSteps } from "./train-loop.js";
import { buildModel, layerTable, type ModelKind } from "./train-models.js";
import type { TrainMessage, TrainRequest as Request, Yield } from "./train-protocol.js";

/** The last network of each kind trained (or training): a drawn digit goes through the one the page names. */
const models: Partial<Record<ModelKind, bp.Sequential>> = {};
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

type Start = Extract<Request, { type: "start" }>;

/** The digits, loaded once per page; a failed download may be retried. */
function digits(url: string): Promise<{ train: bp.Dataset; test: bp.Dataset }> {
  post({ type: "status", text: "Loading the digits…" });
  data ??= load(url);
  return data.catch((err) => {
    data = null;
    throw err;
  });
}

/** One training run's counters. Losses not yet reported are sent at most every REPORT_MS, and before any
 * other message; gradient norms and the engine line go out a few times a second. */
class Run {
  step = 0;
  private firstLoss = NaN;
  private losses: number[] = [];
  private readonly chance = new ChanceWatch();
  private epoch = 1;
  private stepsPerEpoch = 1;
  private readonly t0 = performance.now();
  private reported = this.t0;
  private normsAt = this.t0;
  private engineAt = this.t0;

  constructor(
    private readonly net: bp.Sequential,
    private readonly lr: number,
  ) {}

  elapsed(): number {
    return performance.now() - this.t0;
  }

  report(): void {
    const { step, losses, epoch, stepsPerEpoch } = this;
    if (losses.length) post({ type: "steps", first: step - losses.length + 1, losses, epoch, stepsPerEpoch, elapsedMs: this.elapsed() });
    this.losses = [];
    this.reported = performance.now();
  }

  /** Training stopped: the losses so far, then the step and loss it diverged at. */
  diverge(step: number, loss: number, stuck?: { peak: number; peakStep: number }): void {
    this.report();
    post({ type: "diverged", step, loss, firstLoss: this.firstLoss, lr: this.lr, elapsedMs: this.elapsed(), stuck });
  }

  /** One optimizer step's loss; false when it diverged (training stops). */
  onStep(e: { epoch: number; stepsPerEpoch: number; loss: number }): boolean {
    this.step++;
    if (this.step === 1) this.firstLoss = e.loss;
    ({ epoch: this.epoch, stepsPerEpoch: this.stepsPerEpoch } = e);
    this.losses.push(e.loss);
    if (diverged(e.loss, this.firstLoss)) {
      this.diverge(this.step, e.loss);
      return false;
    }
    const stuck = this.chance.push(e.loss);
    if (stuck) {
      this.diverge(this.step, e.loss, stuck);
      return false;
    }
    if (performance.now() - this.reported >= REPORT_MS) this.report();
    // Norms a few times a second: a table that changes faster cannot be read anyway.
    if (this.step === 1 || performance.now() - this.normsAt >= 250) {
      post({ type: "norms", norms: bp.gradientNorms(this.net) });
      this.normsAt = performance.now();
    }
    // The kernels' threads start while training runs: say how many are ready twice a second.
    if (this.step === 1 || performance.now() - this.engineAt >= 500) {
      post(engine());
      this.engineAt = performance.now();
    }
    return true;
  }
}

async function train(req: Start): Promise<void> {
  stopping = false;
  const { train, test } = await digits(req.url);
  post({ type: "status", text: "Training…" });
  const pause = yielders[req.yield];
  const rng = new bp.Rng(0);
  const net = buildModel(req.model, req.hidden, rng);
  models[req.model] = net;
  const opt = new bp.SGD(net.parameters(), { lr: req.lr, momentum: 0.9 });
  // Driven one step (or evaluation slice) at a time, so that Stop and predictions are answered in between.
  const run = new Run(net, req.lr);
  for (const e of digitSteps(net, train, test, { epochs: req.epochs, batchSize: req.batch, optimizer: opt, rng })) {
    if (e.kind === "step") {
      if (!run.onStep(e)) return;
    } else {
      run.report();
      post(e.kind === "epoch" ? { type: "epoch", epoch: e.epoch, testAccuracy: e.testAccuracy } : { type: "evaluating", ...e });
    }
    await pause();
    if (stopping) break;
  }
  run.report();
  post({ type: "done", stopped: stopping, elapsedMs: run.elapsed() });
  reportEngine(20);
}

function predict(req: Extract<Request, { type: "predict" }>): void {
  const model = models[req.model];
  if (!model) return post({ type: "prediction", model: req.model, probs: null });
  const logits = bp.noGrad(() => model.eval().forward(new bp.Tensor(req.pixels, [1, 784])));
  post({ type: "prediction", model: req.model, probs: Array.from(bp.softmax(logits, -1).data) });
  model.train();
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  const fail = (err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  if (req.type === "stop") stopping = true;
  else if (req.type === "start") train(req).catch(fail);
  else if (req.type === "describe") {
    try {
      post({ type: "architecture", model: req.model, hidden: req.hidden, ...layerTable(buildModel(req.model, req.hidden, new bp.Rng(0))) });
    } catch (err) {
      fail(err);
    }
  } else if (req.type === "predict") predict(req);
};
