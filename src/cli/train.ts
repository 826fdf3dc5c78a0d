/** `backprop train`, `backprop predict` and `backprop explain-model`. */
import cliProgress from "cli-progress";
import { Rng } from "../core/random.js";
import { standardize, trainTestSplit, type Dataset } from "../data/dataset.js";
import { loadDigits, loadIris } from "../node/datasets.js";
import { backwardShapes, parameterCounts, symmetryWarnings } from "../nn/diagnostics.js";
import { mlp, type Activation } from "../nn/layers.js";
import { evaluate, fit, type EpochInfo } from "../nn/train.js";
import { Adam, SGD, type Optimizer } from "../optim/optimizer.js";
import { chartSvg } from "../plot/chart.js";
import { loadModel, saveModel, writeFileAtomic, type ModelMeta } from "./files.js";
import { svgToPng } from "./png.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

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
}

class UsageError extends Error {}

function int(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} needs an integer >= ${min}, got "${v}"`);
  return n;
}

function num(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} needs a positive number, got "${v}"`);
  return n;
}

/** The dataset split and standardized exactly as training did, so predict sees the same test set. */
export function prepareData(name: string, seed: number, testFraction: number, perClass?: number): { train: Dataset; test: Dataset } {
  if (name !== "digits" && name !== "iris") throw new UsageError(`--dataset must be digits or iris, got "${name}"`);
  const ds = name === "digits" ? loadDigits(perClass) : loadIris();
  const { train, test } = trainTestSplit(ds, testFraction, new Rng(seed));
  if (name === "iris") {
    const [a, b] = standardize(train, test);
    return { train: a, test: b };
  }
  return { train, test };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

async function writePlot(path: string, losses: [number, number][], epochs: EpochInfo[]): Promise<void> {
  const svg = chartSvg([
    { series: [{ label: "training loss (per step)", color: "#1f5fbf", points: losses }], options: { title: "Loss", xLabel: "step", yLabel: "cross-entropy", yMin: 0 } },
    {
      series: [
        { label: "train", color: "#1a7f37", points: epochs.map((e) => [e.epoch, 100 * e.trainAccuracy]) },
        { label: "test", color: "#c2410c", points: epochs.map((e) => [e.epoch, 100 * (e.testAccuracy ?? NaN)]) },
      ],
      options: { title: "Accuracy", xLabel: "epoch", yLabel: "accuracy (%)" },
    },
  ]);
  writeFileAtomic(path, path.toLowerCase().endsWith(".png") ? await svgToPng(svg) : svg);
}

export async function trainCommand(o: TrainOptions, io: Io): Promise<number> {
  try {
    const seed = int("seed", o.seed, 0);
    const epochs = int("epochs", o.epochs);
    const batch = int("batch", o.batch);
    const lr = num("lr", o.lr);
    const hidden = o.hidden.split(",").filter((s) => s.trim() !== "").map((h) => int("hidden", h.trim()));
    const testFraction = Number(o.testFraction);
    if (!(testFraction > 0 && testFraction < 1)) throw new UsageError(`--test-fraction must be between 0 and 1, got "${o.testFraction}"`);
    const activation = o.activation as Activation;
    if (!["relu", "leakyrelu", "sigmoid", "tanh"].includes(activation)) throw new UsageError(`--activation must be relu, leakyrelu, sigmoid or tanh, got "${o.activation}"`);
    const { train, test } = prepareData(o.dataset, seed, testFraction, o.perClass ? int("per-class", o.perClass) : undefined);
    const rng = new Rng(seed);
    const sizes = [train.x.shape[1], ...hidden, train.classes.length];
    const model = mlp(sizes, { rng, activation });
    let optimizer: Optimizer;
    if (o.optimizer === "sgd") optimizer = new SGD(model.parameters(), { lr, momentum: Number(o.momentum) });
    else if (o.optimizer === "adam") optimizer = new Adam(model.parameters(), { lr });
    else throw new UsageError(`--optimizer must be sgd or adam, got "${o.optimizer}"`);
    const summary = o.json ? io.err : io.out;
    summary(`training ${sizes.join("-")} on ${o.dataset} (${train.y.length} train, ${test.y.length} test), ${o.optimizer} lr ${lr}, batch ${batch}, ${epochs} epochs, seed ${seed}`);
    for (const w of symmetryWarnings(model)) io.err(`warning: ${w}`);
    const tty = !!process.stderr.isTTY;
    const bar = new cliProgress.SingleBar(
      { format: "epoch {epoch} [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s", stream: process.stderr, hideCursor: true, clearOnComplete: true, noTTYOutput: false },
      cliProgress.Presets.shades_classic,
    );
    const losses: [number, number][] = [];
    let stepStart = performance.now();
    let globalStep = 0;
    const history = fit(model, train, {
      epochs,
      batchSize: batch,
      optimizer,
      rng,
      test,
      onStep: (s) => {
        globalStep++;
        losses.push([globalStep, s.loss]);
        if (!tty) return;
        if (s.step === 1) {
          stepStart = performance.now();
          bar.start(s.stepsPerEpoch, 0, { epoch: s.epoch, loss: s.loss.toFixed(4), rate: "-" });
        }
        const rate = (s.step / ((performance.now() - stepStart) / 1000)).toFixed(1);
        bar.update(s.step, { epoch: s.epoch, loss: s.loss.toFixed(4), rate });
        if (s.step === s.stepsPerEpoch) bar.stop();
      },
      onEpoch: (e) => summary(`epoch ${e.epoch}/${epochs}  train loss ${e.trainLoss.toFixed(4)}  train acc ${pct(e.trainAccuracy)}  test acc ${pct(e.testAccuracy ?? 0)}  ${e.seconds.toFixed(1)} s`),
    });
    const meta: ModelMeta = { architecture: { kind: "mlp", sizes, activation }, dataset: o.dataset, classes: train.classes, seed, testFraction, perClass: o.perClass ? Number(o.perClass) : null, testAccuracy: history.epochs[history.epochs.length - 1].testAccuracy };
    if (o.save) {
      saveModel(o.save, model, meta);
      summary(`saved ${o.save}`);
    }
    if (o.plot) {
      await writePlot(o.plot, losses, history.epochs);
      summary(`wrote ${o.plot}`);
    }
    const last = history.epochs[history.epochs.length - 1];
    const result = {
      testAccuracy: last.testAccuracy,
      trainAccuracy: last.trainAccuracy,
      trainLoss: history.epochs.map((e) => e.trainLoss),
      testAccuracies: history.epochs.map((e) => e.testAccuracy),
      epochs,
      steps: history.steps,
      seconds: history.seconds,
      stepsPerSecond: history.steps / history.seconds,
    };
    if (o.json) io.out(JSON.stringify(result));
    else summary(`test accuracy ${pct(last.testAccuracy ?? 0)} after ${history.steps} steps in ${history.seconds.toFixed(1)} s (${result.stepsPerSecond.toFixed(1)} steps/s)`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof Error) {
      io.err(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

export function predictCommand(o: { model: string; json?: boolean }, io: Io): number {
  try {
    const { model, meta } = loadModel(o.model);
    const { test } = prepareData(meta.dataset, meta.seed, meta.testFraction, typeof meta.perClass === "number" ? meta.perClass : undefined);
    const r = evaluate(model, test);
    if (o.json) {
      io.out(JSON.stringify({ accuracy: r.accuracy, examples: test.y.length, confusion: r.confusion, classes: test.classes }));
      return 0;
    }
    io.out(`${meta.architecture.sizes.join("-")} on the ${meta.dataset} test split (${test.y.length} examples): accuracy ${pct(r.accuracy)}`);
    io.out("confusion matrix (rows: true class, columns: predicted)");
    const w = Math.max(5, ...test.classes.map((c) => c.length + 1), ...r.confusion.flat().map((v) => String(v).length + 1));
    const names = test.classes;
    io.out(" ".repeat(12) + names.map((c) => c.padStart(w)).join(""));
    r.confusion.forEach((row, i) => io.out(names[i].padEnd(12) + row.map((v) => String(v).padStart(w)).join("")));
    return 0;
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

export function explainModelCommand(o: { sizes: string; batch: string; model?: string }, io: Io): number {
  try {
    const batch = int("batch", o.batch);
    const sizes = o.model ? loadModel(o.model).meta.architecture.sizes : o.sizes.split(",").map((s) => int("sizes", s.trim()));
    if (sizes.length < 2) throw new UsageError("--sizes needs at least an input and an output size, e.g. 8,10,10,3");
    const model = o.model ? loadModel(o.model).model : mlp(sizes, { rng: new Rng(0) });
    const counts = parameterCounts(model);
    io.out(`network ${sizes.join("-")}: ${counts.weights} weights + ${counts.biases} biases = ${counts.total} parameters`);
    for (const l of counts.layers) io.out(`  ${l.name}: ${l.weights} weights, ${l.biases} biases`);
    io.out("");
    io.out(`backward pass for a batch of ${batch} (each gradient has the shape of its variable: the denominator convention)`);
    for (const line of backwardShapes(model, batch, sizes[0], sizes[sizes.length - 1])) io.out(`  ${line}`);
    return 0;
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
