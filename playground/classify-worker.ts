// Trains the Classify tab's small network off the main thread with the library's own loop (trainSteps),
// a slice of steps at a time. Between slices it yields through a MessageChannel, which runs as soon as the
// queue is free (setTimeout(0) is clamped to about 4 ms in Chromium), so play, pause and weight clicks are
// answered at once while training keeps its speed. A frame (losses, the decision boundary, the neurons'
// maps, the weights) goes to the page about ten times a second.
import * as bp from "../src/index.js";

import { featureMatrix, gridPoints, type Point } from "./classify-data.js";
import { buildNet, regressionLoss, regressionSteps, regularizer, type RegressionData } from "./classify-net.js";
import type { ClassifyMessage, ClassifyRequest, Frame, LayerWeights, NetConfig } from "./classify-protocol.js";

/** Side of the grid the decision boundary and the neurons' maps are sampled on. */
const RES = 40;
/** Milliseconds of training between yields, and between frames. */
const SLICE_MS = 12;
const FRAME_MS = 100;

const post = (m: ClassifyMessage) => (self as unknown as Worker).postMessage(m);
const now = () => performance.now();

interface State {
  config: NetConfig;
  net: bp.Sequential;
  linears: bp.Linear[];
  train: bp.Dataset;
  test: bp.Dataset | null;
  /** The same points with their values, for regression (null when classifying). */
  regTrain: RegressionData | null;
  regTest: RegressionData | null;
  run: Generator<{ kind: string }, unknown, void>;
  rng: bp.Rng;
  epoch: number;
  steps: number;
  history: { train: number; test: number | null }[];
}

let state: State | null = null;
let playing = false;
let epochsLeft = 0;
let looping = false;

// A zero-delay yield: a message to ourselves is queued behind whatever the page has sent.
const channel = new MessageChannel();
let resume: (() => void) | null = null;
channel.port1.onmessage = () => {
  const r = resume;
  resume = null;
  r?.();
};
const yieldNow = () =>
  new Promise<void>((r) => {
    resume = r;
    channel.port2.postMessage(null);
  });

function dataset(points: readonly Point[], config: NetConfig): bp.Dataset {
  return {
    name: "points",
    x: new bp.Tensor(featureMatrix(points, config.features), [points.length, config.features.length]),
    y: Int32Array.from(points, (p) => p.label),
    classes: ["orange", "blue"],
  };
}

function regData(points: readonly Point[], config: NetConfig): RegressionData | null {
  if (config.problem !== "regression") return null;
  return {
    x: new bp.Tensor(featureMatrix(points, config.features), [points.length, config.features.length]),
    y: new bp.Tensor(
      Float32Array.from(points, (p) => p.value ?? (p.label ? 1 : -1)),
      [points.length, 1],
    ),
  };
}

/** Both data sets from the points, as the problem needs them. */
function setData(s: State, train: readonly Point[], test: readonly Point[]): void {
  s.train = dataset(train, s.config);
  s.test = test.length ? dataset(test, s.config) : null;
  s.regTrain = regData(train, s.config);
  s.regTest = test.length ? regData(test, s.config) : null;
}

function optimizer(net: bp.Module, c: NetConfig): bp.Optimizer {
  return c.optimizer === "adam" ? new bp.Adam(net.parameters(), { lr: c.lr }) : new bp.SGD(net.parameters(), { lr: c.lr });
}

/** The library's training loop over the current data, restarted whenever the data or the settings change. */
function restart(s: State): void {
  const batchSize = Math.max(1, Math.min(s.config.batch, s.train.y.length));
  if (s.regTrain) {
    s.run = regressionSteps(s.net, s.regTrain, { batchSize, optimizer: optimizer(s.net, s.config), rng: s.rng, regularizer: regularizer(s.net, s.config) });
    return;
  }
  s.run = bp.trainSteps(s.net, s.train, {
    epochs: Infinity,
    batchSize: Math.max(1, Math.min(s.config.batch, s.train.y.length)),
    optimizer: optimizer(s.net, s.config),
    rng: s.rng,
    regularizer: regularizer(s.net, s.config),
  });
}

function reset(config: NetConfig, train: Point[], test: Point[]): void {
  const rng = new bp.Rng(config.seed);
  const net = buildNet(config, rng);
  const linears = net.layers.filter((l): l is bp.Linear => l instanceof bp.Linear);
  state = {
    config,
    net,
    linears,
    train: null!,
    test: null,
    regTrain: null,
    regTest: null,
    run: null!,
    rng,
    epoch: 0,
    steps: 0,
    history: [],
  };
  setData(state, train, test);
  restart(state);
  state.history.push(losses(state));
}

/** Mean cross-entropy and accuracy of the network on a data set, without a graph. */
function score(net: bp.Module, ds: bp.Dataset): { loss: number; accuracy: number } {
  const n = ds.y.length;
  if (n === 0) return { loss: 0, accuracy: 0 };
  return bp.noGrad(() => {
    const z = net.eval().forward(ds.x).data;
    net.train();
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const a = z[2 * i];
      const b = z[2 * i + 1];
      const m = Math.max(a, b);
      const lse = m + Math.log(Math.exp(a - m) + Math.exp(b - m));
      loss += lse - (ds.y[i] === 1 ? b : a);
      if ((b > a ? 1 : 0) === ds.y[i]) correct++;
    }
    return { loss: loss / n, accuracy: correct / n };
  });
}

function losses(s: State): { train: number; test: number | null } {
  if (s.regTrain) return { train: regressionLoss(s.net, s.regTrain), test: s.regTest ? regressionLoss(s.net, s.regTest) : null };
  return { train: score(s.net, s.train).loss, test: s.test ? score(s.net, s.test).loss : null };
}

function weights(s: State): LayerWeights[] {
  return s.linears.map((l) => ({ inputs: l.weight.shape[0], outputs: l.weight.shape[1], W: Array.from(l.weight.data), b: Array.from(l.bias!.data) }));
}

/** The decision boundary (P(blue) on the grid) and every hidden neuron's output on it. */
function maps(s: State): { output: Float32Array; neurons: Float32Array[][] } {
  const grid = gridPoints(RES);
  const n = grid.length;
  const x = new bp.Tensor(featureMatrix(grid, s.config.features), [n, s.config.features.length]);
  const neurons: Float32Array[][] = [];
  let z: Float32Array = new Float32Array(0);
  bp.noGrad(() => {
    let h = x;
    const layers = s.net.layers;
    layers.forEach((layer, k) => {
      h = layer.forward(h);
      // After each activation (each hidden Linear when there is none): one hidden layer's outputs, (n, width), split per neuron.
      const hidden = s.config.activation === "linear" ? k + 1 < layers.length : !(layer instanceof bp.Linear);
      if (hidden) {
        const w = h.shape[1];
        const d = h.data;
        neurons.push(Array.from({ length: w }, (_, j) => Float32Array.from({ length: n }, (_, i) => d[i * w + j])));
      }
    });
    z = Float32Array.from(h.data);
  });
  const output = new Float32Array(n);
  for (let i = 0; i < n; i++) output[i] = s.regTrain ? z[i] : 1 / (1 + Math.exp(z[2 * i] - z[2 * i + 1]));
  return { output, neurons };
}

function frame(s: State): Frame {
  // Regression has no accuracy (0 is sent); its loss is the mean squared error.
  const reg = s.regTrain !== null;
  const tr = reg ? { loss: regressionLoss(s.net, s.regTrain!), accuracy: 0 } : score(s.net, s.train);
  const te = reg ? (s.regTest ? { loss: regressionLoss(s.net, s.regTest), accuracy: 0 } : null) : s.test ? score(s.net, s.test) : null;
  const { output, neurons } = maps(s);
  return {
    type: "frame",
    problem: s.config.problem,
    epoch: s.epoch,
    steps: s.steps,
    playing: playing || epochsLeft > 0,
    trainLoss: tr.loss,
    testLoss: te?.loss ?? null,
    trainAccuracy: tr.accuracy,
    testAccuracy: te?.accuracy ?? null,
    res: RES,
    output,
    neurons,
    weights: weights(s),
    history: s.history,
  };
}

/** Trains while playing (or until the requested epochs are done), yielding between slices. */
async function loop(): Promise<void> {
  if (looping) return;
  looping = true;
  let lastFrame = now();
  try {
    while (state && (playing || epochsLeft > 0)) {
      const s = state;
      const t0 = now();
      while (now() - t0 < SLICE_MS && (playing || epochsLeft > 0)) {
        const e = s.run.next();
        if (e.done) {
          // Only a loop that threw ends (it runs for ever otherwise): nothing more to train.
          playing = false;
          epochsLeft = 0;
          break;
        }
        if (e.value.kind === "step") s.steps++;
        else {
          s.epoch++;
          s.history.push(losses(s));
          if (epochsLeft > 0 && --epochsLeft === 0) break;
        }
      }
      if (now() - lastFrame >= FRAME_MS) {
        post(frame(s));
        lastFrame = now();
      }
      await yieldNow();
    }
    if (state) post(frame(state));
  } catch (err) {
    playing = false;
    epochsLeft = 0;
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
  looping = false;
}

/** One weight's gradient on the training example the network gets most wrong, and the weights it was taken at. */
function inspect(s: State, layer: number, from: number, to: number): ClassifyMessage {
  const lin = s.linears[layer];
  if (!lin || from >= lin.weight.shape[0] || to >= lin.weight.shape[1]) return { type: "error", message: `no weight ${from}→${to} in layer ${layer + 1}` };
  const n = s.train.y.length;
  if (n === 0) return { type: "error", message: "there are no training points to take a gradient on" };
  // The example: the largest loss now, so the gradient is not vanishingly small.
  const z = bp.noGrad(() => s.net.eval().forward(s.train.x).data);
  s.net.train();
  let worst = 0;
  let worstMargin = Infinity;
  const reg = s.regTrain;
  for (let i = 0; i < n; i++) {
    // Regression: the largest squared error, as a negative margin.
    const margin = reg ? -((z[i] - reg.y.data[i]) ** 2) : s.train.y[i] === 1 ? z[2 * i + 1] - z[2 * i] : z[2 * i] - z[2 * i + 1];
    if (margin < worstMargin) [worst, worstMargin] = [i, margin];
  }
  const f = s.config.features.length;
  const x = new bp.Tensor(s.train.x.data.slice(worst * f, (worst + 1) * f), [1, f]);
  const params = s.net.parameters();
  bp.zeroGrad(params);
  if (reg) bp.mse(s.net.forward(x), new bp.Tensor(Float32Array.of(reg.y.data[worst]), [1, 1])).backward();
  else bp.crossEntropy(s.net.forward(x), Int32Array.of(s.train.y[worst])).backward();
  const k = from * lin.weight.shape[1] + to;
  const gradient = lin.weight.grad!.data[k];
  bp.zeroGrad(params);
  const p = trainPoints[worst];
  return {
    type: "inspect",
    problem: s.config.problem,
    layer,
    from,
    to,
    gradient,
    weight: lin.weight.data[k],
    example: p,
    exampleIndex: worst,
    weights: weights(s),
  };
}

/** The training points as sent, to name the inspected example by its coordinates. */
let trainPoints: Point[] = [];

self.onmessage = (e: MessageEvent<ClassifyRequest>) => {
  const req = e.data;
  try {
    switch (req.type) {
      case "reset":
        trainPoints = req.train;
        reset(req.net, req.train, req.test);
        post(frame(state!));
        break;
      case "data":
        if (!state) break;
        trainPoints = req.train;
        setData(state, req.train, req.test);
        restart(state);
        post(frame(state));
        break;
      case "learning":
        if (!state) break;
        state.config = {
          ...state.config,
          lr: req.net.lr,
          regularization: req.net.regularization,
          rate: req.net.rate,
          batch: req.net.batch,
          optimizer: req.net.optimizer,
        };
        restart(state);
        break;
      case "play":
        playing = true;
        void loop();
        break;
      case "pause":
        playing = false;
        epochsLeft = 0;
        break;
      case "step":
        epochsLeft += req.epochs;
        void loop();
        break;
      case "inspect":
        if (state) post(inspect(state, req.layer, req.from, req.to));
        break;
    }
  } catch (err) {
    post({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
