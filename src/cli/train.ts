/** `backprop train` and `backprop explain-model` (predict, which reads what train saves, is in predict.ts). */
import { extname } from "node:path";
import cliProgress from "cli-progress";
import { Rng } from "../core/random.js";
import { standardizer, trainTestSplit, type Dataset } from "../data/dataset.js";
import { loadDigits, loadIris } from "../node/datasets.js";
import { backwardShapes, parameterCounts, symmetryWarnings } from "../nn/diagnostics.js";
import { ACTIVATIONS, mlp, type Activation, type Sequential } from "../nn/layers.js";
import { fit, type EpochInfo } from "../nn/train.js";
import { architectureName, type Architecture, type Preprocess } from "../nn/saved-model.js";
import { buildCnn, cnnArchitecture } from "../nn/cnn.js";
import { randomShift } from "../data/augment.js";
import type { Tensor } from "../core/tensor.js";
import { Adam, SGD } from "../optim/optimizer.js";
import { chartSvg } from "../plot/chart.js";
import { isAnomalyDetectionEnabled, setDetectAnomaly } from "../core/anomaly.js";
import { encodeModel, loadModel, prepareOutputPath, saveWithFallback, type ModelMeta } from "./files.js";
import { svgToPng } from "./png.js";
import { UsageError, type AddCommand, type Io } from "./command.js";

/** "a, b or c". */
const orList = (xs: readonly string[]): string => `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;

/** Options as commander gives them; those left out take the chosen model's defaults (MODEL_DEFAULTS). */
export interface TrainOptions {
  dataset: string;
  model?: string;
  hidden?: string;
  epochs?: string;
  batch?: string;
  lr?: string;
  optimizer?: string;
  momentum?: string;
  seed: string;
  testFraction: string;
  perClass?: string;
  activation?: string;
  lrDecay?: string;
  shift?: string;
  save?: string;
  plot?: string;
  json?: boolean;
  detectAnomaly?: boolean;
}

/** Wider layers than this are almost surely a typo, and would take gigabytes. */
const MAX_UNITS = 65536;
export const MAX_SEED = 2 ** 32 - 1;

/** A count written in decimal digits: "1.5", "1e3", "0x10", " " and "Infinity" are refused, not rounded. */
export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} needs an integer >= 1, got "${v}"`);
  return n;
}

/** Comma-separated layer sizes; every item a positive integer within MAX_UNITS. */
export function sizeList(flag: string, v: string): number[] {
  return v.split(",").map((item) => {
    const n = positiveInt(flag, item.trim());
    if (n > MAX_UNITS) throw new UsageError(`${flag} layers are limited to ${MAX_UNITS} units, got ${n}`);
    return n;
  });
}

function seedOf(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > MAX_SEED) throw new UsageError(`--seed needs an integer from 0 to ${MAX_SEED}, got "${v}"`);
  return n;
}

/** A number written in decimal (with an optional exponent): Number() alone would accept "", " " and "0x10". */
function decimal(v: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim()) ? Number(v) : NaN;
}

/** The networks `train --model` builds. */
export const MODELS = ["mlp", "cnn"] as const;
export type ModelKind = (typeof MODELS)[number];

type Defaults = Required<Pick<TrainOptions, "epochs" | "batch" | "lr" | "optimizer" | "momentum" | "lrDecay" | "shift">>;

/**
 * Each model's defaults. The CNN's were chosen by measurement (docs/performance.md): with them it
 * reaches at least 98% on the 2,000 held-out digits; the MLP's are the ones train always had.
 */
export const MODEL_DEFAULTS: Record<ModelKind, Defaults> = {
  mlp: { epochs: "5", batch: "64", lr: "0.1", optimizer: "sgd", momentum: "0.9", lrDecay: "none", shift: "0" },
  cnn: { epochs: "10", batch: "32", lr: "0.05", optimizer: "sgd", momentum: "0.9", lrDecay: "linear", shift: "2" },
};
const MLP_HIDDEN = "128";
const MLP_ACTIVATION = "relu";

interface TrainSettings {
  model: ModelKind;
  seed: number;
  epochs: number;
  batch: number;
  lr: number;
  momentum: number;
  hidden: number[];
  testFraction: number;
  perClass?: number;
  activation: Activation;
  optimizer: "sgd" | "adam";
  lrDecay: LrDecay;
  /** Largest random shift of each training digit, in pixels (0: none). */
  shift: number;
}

/** Shifts beyond this would move a 28x28 digit out of its frame. */
const MAX_SHIFT = 8;

/** none: the same rate throughout; linear: from --lr down to 0 at the last step (the late steps settle instead of jumping about). */
export const LR_DECAYS = ["none", "linear"] as const;
export type LrDecay = (typeof LR_DECAYS)[number];

/** Every option checked and converted before any data is loaded or any file touched. */
export function parseTrainOptions(given: TrainOptions): TrainSettings {
  if (given.dataset !== "digits" && given.dataset !== "iris") throw new UsageError(`--dataset must be digits or iris, got "${given.dataset}"`);
  const model = (given.model ?? "mlp") as ModelKind;
  if (!(MODELS as readonly string[]).includes(model)) throw new UsageError(`--model must be ${orList(MODELS)}, got "${given.model}"`);
  if (model === "cnn") {
    if (given.dataset !== "digits") throw new UsageError("--model cnn needs --dataset digits (it convolves 28x28 images)");
    for (const [flag, v] of [
      ["--hidden", given.hidden],
      ["--activation", given.activation],
    ] as const)
      if (v !== undefined) throw new UsageError(`${flag} applies to --model mlp only (the CNN's layers are fixed: see backprop train --help)`);
  }
  const o = { hidden: MLP_HIDDEN, activation: MLP_ACTIVATION, ...MODEL_DEFAULTS[model], ...definedOnly(given) };
  const lr = decimal(o.lr);
  if (!(Number.isFinite(lr) && lr > 0)) throw new UsageError(`--lr needs a positive number, got "${o.lr}"`);
  const momentum = decimal(o.momentum);
  if (!(momentum >= 0 && momentum < 1)) throw new UsageError(`--momentum needs a number in [0, 1), got "${o.momentum}"`);
  const testFraction = decimal(o.testFraction);
  if (!(testFraction > 0 && testFraction < 1)) throw new UsageError(`--test-fraction must be between 0 and 1, got "${o.testFraction}"`);
  if (o.optimizer !== "sgd" && o.optimizer !== "adam") throw new UsageError(`--optimizer must be sgd or adam, got "${o.optimizer}"`);
  const activation = o.activation as Activation;
  if (!(ACTIVATIONS as readonly string[]).includes(activation)) throw new UsageError(`--activation must be ${orList(ACTIVATIONS)}, got "${o.activation}"`);
  if (!(LR_DECAYS as readonly string[]).includes(o.lrDecay)) throw new UsageError(`--lr-decay must be ${orList(LR_DECAYS)}, got "${o.lrDecay}"`);
  const shift = /^[0-9]+$/.test(o.shift) ? Number(o.shift) : NaN;
  if (!(shift >= 0 && shift <= MAX_SHIFT)) throw new UsageError(`--shift needs an integer from 0 to ${MAX_SHIFT} (pixels), got "${o.shift}"`);
  if (shift > 0 && o.dataset !== "digits") throw new UsageError("--shift applies to --dataset digits only (it moves images)");
  if (o.perClass !== undefined && o.dataset !== "digits") throw new UsageError(`--per-class applies to --dataset digits only`);
  if (o.save !== undefined && o.save.trim() === "") throw new UsageError("--save needs a file name");
  if (o.plot !== undefined && o.plot.trim() === "") throw new UsageError("--plot needs a file name");
  return {
    model,
    seed: seedOf(o.seed),
    epochs: positiveInt("--epochs", o.epochs),
    batch: positiveInt("--batch", o.batch),
    hidden: sizeList("--hidden", o.hidden),
    perClass: o.perClass === undefined ? undefined : positiveInt("--per-class", o.perClass),
    lr,
    momentum,
    testFraction,
    activation,
    optimizer: o.optimizer,
    lrDecay: o.lrDecay as LrDecay,
    shift,
  };
}

/** The options the user gave (commander leaves the others undefined), so that they override the defaults. */
function definedOnly(o: TrainOptions): TrainOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as unknown as TrainOptions;
}

/** The dataset and its seeded split, with raw features: what predict recreates from a checkpoint. */
export function splitData(name: string, seed: number, testFraction: number, perClass?: number): { train: Dataset; test: Dataset } {
  if (name !== "digits" && name !== "iris") throw new UsageError(`--dataset must be digits or iris, got "${name}"`);
  const ds = name === "digits" ? loadDigits(perClass) : loadIris();
  const { train, test } = trainTestSplit(ds, testFraction, new Rng(seed));
  // trainTestSplit always holds out one example, so only the training side can come out empty.
  if (train.y.length === 0)
    throw new UsageError(`--test-fraction ${testFraction} leaves no training example (${ds.y.length} examples, ${test.y.length} held out)`);
  return { train, test };
}

/**
 * The split as training sees it: Iris standardized with the training set's statistics, which the
 * checkpoint keeps (`preprocess`) so that prediction scales raw flowers the same way.
 */
export function prepareData(name: string, seed: number, testFraction: number, perClass?: number): { train: Dataset; test: Dataset; preprocess?: Preprocess } {
  const { train, test } = splitData(name, seed, testFraction, perClass);
  if (name === "iris") {
    const s = standardizer(train);
    return { train: s.apply(train), test: s.apply(test), preprocess: { kind: "standardize", mean: s.mean, std: s.std } };
  }
  return { train, test };
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

async function plotBytes(path: string, losses: [number, number][], epochs: EpochInfo[]): Promise<Uint8Array | string> {
  const svg = chartSvg([
    {
      series: [{ label: "training loss (per step)", color: "#1f5fbf", points: losses }],
      options: { title: "Loss", xLabel: "step", yLabel: "cross-entropy", yMin: 0 },
    },
    {
      series: [
        { label: "train", color: "#1a7f37", points: epochs.map((e) => [e.epoch, 100 * e.trainAccuracy]) },
        { label: "test", color: "#c2410c", points: epochs.map((e) => [e.epoch, 100 * (e.testAccuracy ?? NaN)]) },
      ],
      options: { title: "Accuracy", xLabel: "epoch", yLabel: "accuracy (%)" },
    },
  ]);
  return path.toLowerCase().endsWith(".png") ? await svgToPng(svg) : svg;
}

/**
 * The plot is an SVG or a PNG, chosen by the extension; any other name would get an SVG it does not
 * look like (curves.pdf), so it is an error before training. Checked after the path, so that a
 * directory is reported as one.
 */
function checkPlotExtension(path: string): void {
  const ext = extname(path).toLowerCase();
  if (ext !== ".svg" && ext !== ".png") throw new UsageError(`--plot ${path}: the plot is written as .svg or .png, so give one of those extensions`);
}

/** Seams for tests: the final write can be made to fail between the early check and the save. */
export interface TrainDeps {
  write?: (path: string, data: Uint8Array | string) => void;
  fallbackDir?: string;
}

/** Trains, saves and plots; throws (UsageError, WriteError, AnomalyError, ...) for main.ts to report in one line. */
export async function trainCommand(o: TrainOptions, io: Io, deps: TrainDeps = {}): Promise<number> {
  const s = parseTrainOptions(o);
  const { train, test, preprocess } = prepareData(o.dataset, s.seed, s.testFraction, s.perClass);
  // Checked before training, so a bad path costs seconds, not the trained model.
  if (o.save !== undefined) prepareOutputPath(o.save, "--save");
  if (o.plot !== undefined) {
    prepareOutputPath(o.plot, "--plot");
    checkPlotExtension(o.plot);
  }
  const rng = new Rng(s.seed);
  const sizes = [train.x.shape[1], ...s.hidden, train.classes.length];
  const architecture: Architecture =
    s.model === "cnn" ? cnnArchitecture({ image: [1, 28, 28], outputs: train.classes.length }) : { kind: "mlp", sizes, activation: s.activation };
  const model = architecture.kind === "cnn" ? buildCnn(architecture, { rng }) : mlp(sizes, { rng, activation: s.activation });
  const optimizer: SGD | Adam =
    s.optimizer === "sgd" ? new SGD(model.parameters(), { lr: s.lr, momentum: s.momentum }) : new Adam(model.parameters(), { lr: s.lr });
  const summary = o.json ? io.err : io.out;
  summary(
    `training ${architectureName(architecture)} on ${o.dataset} (${train.y.length} train, ${test.y.length} test), ${s.optimizer} lr ${s.lr}${s.lrDecay === "linear" ? " decaying linearly to 0" : ""}${s.shift > 0 ? `, digits shifted up to ${s.shift} px` : ""}, batch ${s.batch}, ${s.epochs} epochs, seed ${s.seed}`,
  );
  for (const w of symmetryWarnings(model)) io.err(`warning: ${w}`);
  const { history, losses } = runTraining(model, train, test, s, { optimizer, rng }, summary, !!o.detectAnomaly);
  const last = history.epochs[history.epochs.length - 1];
  const meta: ModelMeta = {
    architecture,
    inputShape: train.x.shape.slice(1),
    classes: train.classes,
    ...(preprocess ? { preprocess } : {}),
    training: {
      optimizer: s.optimizer,
      lr: s.lr,
      momentum: s.momentum,
      batch: s.batch,
      epochs: s.epochs,
      seed: s.seed,
      ...(s.lrDecay !== "none" ? { lrDecay: s.lrDecay } : {}),
      ...(s.shift > 0 ? { shift: s.shift } : {}),
    },
    dataset: o.dataset,
    seed: s.seed,
    testFraction: s.testFraction,
    perClass: s.perClass ?? null,
    testAccuracy: last.testAccuracy,
  };
  const lost: string[] = [];
  if (o.save !== undefined) {
    const r = saveWithFallback(o.save, encodeModel(model, meta), deps);
    if (r.fallback) lost.push(`cannot write ${o.save} (${r.error}); the trained model was saved to ${r.fallback} instead`);
    else summary(`saved ${o.save}`);
  }
  if (o.plot !== undefined) {
    const r = saveWithFallback(o.plot, await plotBytes(o.plot, losses, history.epochs), deps);
    if (r.fallback) lost.push(`cannot write ${o.plot} (${r.error}); the plot was saved to ${r.fallback} instead`);
    else summary(`wrote ${o.plot}`);
  }
  if (lost.length > 0) throw new Error(lost.join("; "));
  const result = {
    testAccuracy: last.testAccuracy,
    trainAccuracy: last.trainAccuracy,
    trainLoss: history.epochs.map((e) => e.trainLoss),
    testAccuracies: history.epochs.map((e) => e.testAccuracy),
    epochs: s.epochs,
    steps: history.steps,
    seconds: history.seconds,
    stepsPerSecond: history.steps / history.seconds,
  };
  if (o.json) io.out(JSON.stringify(result));
  else
    summary(
      `test accuracy ${pct(last.testAccuracy ?? 0)} after ${history.steps} steps in ${history.seconds.toFixed(1)} s (${result.stepsPerSecond.toFixed(1)} steps/s)`,
    );
  return 0;
}

/** The training loop with its progress bar; anomaly mode, when asked for, is on only while it runs. */
/** `rng` continues the stream that initialized the model, as it always has (same seed, same run). */
function runTraining(
  model: Sequential,
  train: Dataset,
  test: Dataset,
  s: TrainSettings,
  { optimizer, rng }: { optimizer: SGD | Adam; rng: Rng },
  summary: (line: string) => void,
  anomaly: boolean,
) {
  const tty = !!process.stderr.isTTY;
  const bar = new cliProgress.SingleBar(
    {
      format: "epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s",
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const losses: [number, number][] = [];
  let stepStart = performance.now();
  let globalStep = 0;
  const totalSteps = s.epochs * Math.ceil(train.y.length / s.batch);
  const before = isAnomalyDetectionEnabled();
  if (anomaly) setDetectAnomaly(true);
  try {
    const history = fit(model, train, {
      epochs: s.epochs,
      batchSize: s.batch,
      optimizer,
      rng,
      test,
      ...(s.shift > 0 ? { augment: (x: Tensor, r: Rng) => randomShift(x, { image: [1, 28, 28], max: s.shift }, r) } : {}),
      onStep: (st) => {
        globalStep++;
        // The rate for the next step: fit calls onStep after each optimizer step.
        if (s.lrDecay === "linear") optimizer.lr = s.lr * Math.max(0, 1 - globalStep / totalSteps);
        losses.push([globalStep, st.loss]);
        if (!tty) return;
        if (st.step === 1) {
          stepStart = performance.now();
          bar.start(st.stepsPerEpoch, 0, { epoch: st.epoch, loss: st.loss.toFixed(4), rate: "-" });
        }
        const rate = (st.step / ((performance.now() - stepStart) / 1000)).toFixed(1);
        bar.update(st.step, { epoch: st.epoch, loss: st.loss.toFixed(4), rate });
        if (st.step === st.stepsPerEpoch) bar.stop();
      },
      onEpoch: (e) =>
        summary(
          `epoch ${e.epoch}/${s.epochs}  train loss ${e.trainLoss.toFixed(4)}  train acc ${pct(e.trainAccuracy)}  test acc ${pct(e.testAccuracy ?? 0)}  ${e.seconds.toFixed(1)} s`,
        ),
    });
    return { history, losses };
  } finally {
    if (tty) bar.stop();
    setDetectAnomaly(before);
  }
}

export function explainModelCommand(o: { sizes: string; batch: string; model?: string }, io: Io): number {
  const batch = positiveInt("--batch", o.batch);
  const loaded = o.model !== undefined ? loadModel(o.model) : null;
  if (loaded && loaded.meta.architecture.kind !== "mlp")
    throw new UsageError(`--model ${o.model}: explain-model describes MLPs; this checkpoint holds a ${architectureName(loaded.meta.architecture)}`);
  const sizes = loaded && loaded.meta.architecture.kind === "mlp" ? loaded.meta.architecture.sizes : sizeList("--sizes", o.sizes);
  if (sizes.length < 2) throw new UsageError("--sizes needs at least an input and an output size, e.g. 8,10,10,3");
  const model = loaded ? loaded.model : mlp(sizes, { rng: new Rng(0) });
  const counts = parameterCounts(model);
  io.out(`network ${sizes.join("-")}: ${counts.weights} weights + ${counts.biases} biases = ${counts.total} parameters`);
  for (const l of counts.layers) io.out(`  ${l.name}: ${l.weights} weights, ${l.biases} biases`);
  io.out("");
  io.out(`backward pass for a batch of ${batch} (each gradient has the shape of its variable: the denominator convention)`);
  for (const line of backwardShapes(model, batch, sizes[0], sizes[sizes.length - 1])) io.out(`  ${line}`);
  return 0;
}

/** Declares `backprop train`. */
export const addTrain: AddCommand = (program, ctx) => {
  program
    .command("train")
    .description("train a multilayer perceptron or a small CNN on real data (handwritten digits or Iris), with a progress bar and a plot")
    .option("--dataset <name>", "digits or iris", "digits")
    .option("--model <kind>", "mlp, or cnn (digits: conv 16, pool, conv 32, pool, linear; slower, more accurate)", "mlp")
    .option("--hidden <sizes>", `hidden layer sizes of mlp, comma separated (e.g. 128 or 64,32) (default: "${MLP_HIDDEN}")`)
    .option("--epochs <n>", `passes over the training set (default: mlp ${MODEL_DEFAULTS.mlp.epochs}, cnn ${MODEL_DEFAULTS.cnn.epochs})`)
    .option("--batch <n>", `minibatch size (default: mlp ${MODEL_DEFAULTS.mlp.batch}, cnn ${MODEL_DEFAULTS.cnn.batch})`)
    .option("--lr <rate>", `learning rate (step size) (default: mlp ${MODEL_DEFAULTS.mlp.lr}, cnn ${MODEL_DEFAULTS.cnn.lr})`)
    .option("--optimizer <name>", `sgd or adam (default: mlp ${MODEL_DEFAULTS.mlp.optimizer}, cnn ${MODEL_DEFAULTS.cnn.optimizer})`)
    .option("--momentum <mu>", `SGD momentum (default: mlp ${MODEL_DEFAULTS.mlp.momentum}, cnn ${MODEL_DEFAULTS.cnn.momentum})`)
    .option("--lr-decay <kind>", `${orList(LR_DECAYS)} (to 0 at the last step) (default: mlp ${MODEL_DEFAULTS.mlp.lrDecay}, cnn ${MODEL_DEFAULTS.cnn.lrDecay})`)
    .option(
      "--shift <pixels>",
      `digits: move each training image by up to this many pixels, a new draw every time (default: mlp 0, cnn ${MODEL_DEFAULTS.cnn.shift})`,
    )
    .option("--activation <name>", `${orList(ACTIVATIONS)}, for mlp (default: "${MLP_ACTIVATION}")`)
    .option("--seed <n>", "seed for the split, the initialization and the batches", "0")
    .option("--test-fraction <f>", "share of the data held out for testing", "0.2")
    .option("--per-class <n>", "use only the first N examples of each digit (quick runs)")
    .option("--save <file>", "save the trained model (written atomically)")
    .option("--plot <file>", "write the loss and accuracy curves (.svg or .png)")
    .option("--json", 'end with one line {"testAccuracy", "trainLoss", "epochs", "seconds", "stepsPerSecond", ...}')
    .option("--detect-anomaly", "stop at the first NaN or infinity, naming the operation that made it (slower)")
    .action(async (opts: TrainOptions) => {
      ctx.setJson(!!opts.json);
      ctx.setCode(await trainCommand(opts, ctx.io));
    });
};

/** Declares `backprop explain-model`. */
export const addExplainModel: AddCommand = (program, ctx) => {
  program
    .command("explain-model")
    .description("parameter counts and the backward pass layer by layer with the shape of every dout, dW, db, dx")
    .option("--sizes <sizes>", "layer sizes of an MLP, comma separated", "8,10,10,3")
    .option("--batch <n>", "batch size for the shapes", "4")
    .option("--model <file>", "take the architecture from a saved model instead")
    .action((opts: { sizes: string; batch: string; model?: string }) => {
      ctx.setCode(explainModelCommand(opts, ctx.io));
    });
};
