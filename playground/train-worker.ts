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
  diverge(step: number, loss: number): void {
    this.report();
    post({ type: "diverged", step, loss, firstLoss: this.firstLoss, lr: this.lr, elapsedMs: this.elapsed() });
  }

  /** The next event of the library's loop, or null when it threw because the loss is not finite (that
   * is divergence too, reported, not a crash). */
  next(run: Generator<bp.TrainEvent, bp.History, void>): IteratorResult<bp.TrainEvent, bp.History> | null {
    try {
      return run.next();
    } catch (err) {
      const m = err instanceof Error ? /loss became (\S+) at/.exec(err.message) : null;
      if (!m) throw err;
      this.diverge(this.step + 1, Number(m[1]));
      return null;
    }
  }

  /** One optimizer step's loss; false when it diverged (training stops). */
  onStep(e: bp.StepInfo): boolean {
    this.step++;
    if (this.step === 1) this.firstLoss = e.loss;
    ({ epoch: this.epoch, stepsPerEpoch: this.stepsPerEpoch } = e);
    this.losses.push(e.loss);
    if (diverged(e.loss, this.firstLoss)) {
      this.diverge(this.step, e.loss);
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
  const net = bp.mlp([784, req.hidden, 10], { rng });
  model = net;
  const opt = new bp.SGD(net.parameters(), { lr: req.lr, momentum: 0.9 });
  // The library's own training loop, driven one step at a time so that Stop and predictions are
  // answered between steps.
  const run = new Run(net, req.lr);
  const steps = bp.trainSteps(net, train, { epochs: req.epochs, batchSize: req.batch, optimizer: opt, rng, test });
  for (;;) {
    const r = run.next(steps);
    if (r === null) return;
    if (r.done) break;
    const e = r.value;
    if (e.kind === "epoch") {
      run.report();
      post({ type: "epoch", epoch: e.epoch, testAccuracy: e.testAccuracy });
      continue;
    }
    if (!run.onStep(e)) return;
    await pause();
    if (stopping) break;
  }
  run.report();
  post({ type: "done", stopped: stopping, elapsedMs: run.elapsed() });
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
