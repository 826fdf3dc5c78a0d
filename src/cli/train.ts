/** `backprop train` (predict, which reads what train saves, is in predict.ts; explain-model in explain-model.ts). */
import { extname } from "node:path";
import cliProgress from "cli-progress";
import { Rng } from "../core/random.js";
import { standardizer, trainTestSplit, type Dataset } from "../data/dataset.js";
import { loadDigits, loadIris } from "../node/datasets.js";
import { symmetryWarnings } from "../nn/diagnostics.js";
import { ACTIVATIONS, mlp, type Activation, type Sequential } from "../nn/layers.js";
import { fit, type EpochInfo } from "../nn/train.js";
import type { Preprocess } from "../nn/saved-model.js";
import { Adam, SGD, type Optimizer } from "../optim/optimizer.js";
import { chartSvg } from "../plot/chart.js";
import { isAnomalyDetectionEnabled, setDetectAnomaly } from "../core/anomaly.js";
import { encodeModel, prepareOutputPath, saveWithFallback, type ModelMeta } from "./files.js";
import { svgToPng } from "./png.js";
import { UsageError, type AddCommand, type Io } from "./command.js";

/** "a, b or c". */
const orList = (xs: readonly string[]): string => `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;

export interface TrainOptions {
  dataset: string;
  hidden: string;
  epochs: string;
  batch: string;
  lr: string;
  optimizer: string;
  momentum: string;
  seed: string;
  testFraction: string;
  perClass?: string;
  activation: string;
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

interface TrainSettings {
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
}

/** Every option checked and converted before any data is loaded or any file touched. */
export function parseTrainOptions(o: TrainOptions): TrainSettings {
  if (o.dataset !== "digits" && o.dataset !== "iris") throw new UsageError(`--dataset must be digits or iris, got "${o.dataset}"`);
  const lr = decimal(o.lr);
  if (!(Number.isFinite(lr) && lr > 0)) throw new UsageError(`--lr needs a positive number, got "${o.lr}"`);
  const momentum = decimal(o.momentum);
  if (!(momentum >= 0 && momentum < 1)) throw new UsageError(`--momentum needs a number in [0, 1), got "${o.momentum}"`);
  const testFraction = decimal(o.testFraction);
  if (!(testFraction > 0 && testFraction < 1)) throw new UsageError(`--test-fraction must be between 0 and 1, got "${o.testFraction}"`);
  if (o.optimizer !== "sgd" && o.optimizer !== "adam") throw new UsageError(`--optimizer must be sgd or adam, got "${o.optimizer}"`);
  const activation = o.activation as Activation;
  if (!(ACTIVATIONS as readonly string[]).includes(activation)) throw new UsageError(`--activation must be ${orList(ACTIVATIONS)}, got "${o.activation}"`);
  if (o.perClass !== undefined && o.dataset !== "digits") throw new UsageError(`--per-class applies to --dataset digits only`);
  if (o.save !== undefined && o.save.trim() === "") throw new UsageError("--save needs a file name");
  if (o.plot !== undefined && o.plot.trim() === "") throw new UsageError("--plot needs a file name");
  return {
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
  };
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
  const model = mlp(sizes, { rng, activation: s.activation });
  const optimizer: Optimizer =
    s.optimizer === "sgd" ? new SGD(model.parameters(), { lr: s.lr, momentum: s.momentum }) : new Adam(model.parameters(), { lr: s.lr });
  const summary = o.json ? io.err : io.out;
  summary(
    `training ${sizes.join("-")} on ${o.dataset} (${train.y.length} train, ${test.y.length} test), ${o.optimizer} lr ${s.lr}, batch ${s.batch}, ${s.epochs} epochs, seed ${s.seed}`,
  );
  for (const w of symmetryWarnings(model)) io.err(`warning: ${w}`);
  const { history, losses } = runTraining(model, train, test, s, { optimizer, rng }, summary, !!o.detectAnomaly);
  const last = history.epochs[history.epochs.length - 1];
  const meta: ModelMeta = {
    architecture: { kind: "mlp", sizes, activation: s.activation },
    inputShape: train.x.shape.slice(1),
    classes: train.classes,
    ...(preprocess ? { preprocess } : {}),
    training: { optimizer: s.optimizer, lr: s.lr, momentum: s.momentum, batch: s.batch, epochs: s.epochs, seed: s.seed },
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
  { optimizer, rng }: { optimizer: Optimizer; rng: Rng },
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
  const before = isAnomalyDetectionEnabled();
  if (anomaly) setDetectAnomaly(true);
  try {
    const history = fit(model, train, {
      epochs: s.epochs,
      batchSize: s.batch,
      optimizer,
      rng,
      test,
      onStep: (st) => {
        globalStep++;
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

/** Declares `backprop train`. */
export const addTrain: AddCommand = (program, ctx) => {
  program
    .command("train")
    .description("train a multilayer perceptron on real data (handwritten digits or Iris), with a progress bar and a plot")
    .option("--dataset <name>", "digits or iris", "digits")
    .option("--hidden <sizes>", "hidden layer sizes, comma separated (e.g. 128 or 64,32)", "128")
    .option("--epochs <n>", "passes over the training set", "5")
    .option("--batch <n>", "minibatch size", "64")
    .option("--lr <rate>", "learning rate (step size)", "0.1")
    .option("--optimizer <name>", "sgd or adam", "sgd")
    .option("--momentum <mu>", "SGD momentum", "0.9")
    .option("--activation <name>", orList(ACTIVATIONS), "relu")
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
