/**
 * `backprop predict`: a saved model's accuracy and confusion matrix on the test split it was trained
 * beside, or with --input, the class of each given sample (raw features, scaled as in training).
 */
import { loadModel as loadSavedModel } from "../node/saved-model.js";
import { CheckpointError } from "../nn/checkpoint.js";
import { architectureName, ends, type LoadedModel, type ModelMeta, type Prediction } from "../nn/saved-model.js";
import { readCheckpointFile } from "./files.js";
import { readSamples } from "./predict-input.js";
import { MAX_SEED, pct, splitData } from "./train.js";
import type { AddCommand, Io } from "./command.js";

export interface PredictOptions {
  model: string;
  input?: string;
  json?: boolean;
}

/** The checkpoint's training metadata, checked: predict re-creates the test split from it. */
function checkTrainingMeta(meta: ModelMeta, path: string): { dataset: string; seed: number; testFraction: number; perClass?: number } {
  const bad = (what: string) => new CheckpointError(`${path}: the checkpoint's ${what}`);
  if (meta.dataset !== "digits" && meta.dataset !== "iris")
    throw bad(`dataset must be digits or iris to measure it on a test split, got ${JSON.stringify(meta.dataset)} (--input classifies samples of any model)`);
  const seed = meta.seed;
  if (!(typeof seed === "number" && Number.isSafeInteger(seed) && seed >= 0 && seed <= MAX_SEED)) throw bad(`seed is not an integer from 0 to ${MAX_SEED}`);
  const testFraction = meta.testFraction;
  if (!(typeof testFraction === "number" && testFraction > 0 && testFraction < 1)) throw bad("testFraction is not between 0 and 1");
  const perClass = meta.perClass;
  if (perClass !== undefined && perClass !== null && !(Number.isSafeInteger(perClass) && perClass > 0)) throw bad("perClass is not a positive integer");
  return { dataset: meta.dataset, seed, testFraction, perClass: typeof perClass === "number" ? perClass : undefined };
}

function testSplit(loaded: LoadedModel, path: string, io: Io, json: boolean): number {
  const { meta } = loaded;
  const m = checkTrainingMeta(meta, path);
  const { test } = splitData(m.dataset, m.seed, m.testFraction, m.perClass);
  const { inputs, outputs } = ends(meta.architecture);
  const name = architectureName(meta.architecture);
  if (inputs !== test.x.shape[1] || outputs !== test.classes.length) {
    throw new CheckpointError(`${path}: the model ${name} does not fit ${m.dataset} (${test.x.shape[1]} features, ${test.classes.length} classes)`);
  }
  const predicted = loaded.predict(test.x);
  const k = test.classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  predicted.forEach((p, i) => {
    confusion[test.y[i]][p.index]++;
    if (p.index === test.y[i]) correct++;
  });
  const accuracy = correct / predicted.length;
  if (json) {
    io.out(JSON.stringify({ accuracy, examples: test.y.length, confusion, classes: test.classes }));
    return 0;
  }
  io.out(`${name} on the ${m.dataset} test split (${test.y.length} examples): accuracy ${pct(accuracy)}`);
  io.out("confusion matrix (rows: true class, columns: predicted)");
  const names = test.classes;
  const w = Math.max(5, ...names.map((c) => c.length + 1), ...confusion.flat().map((v) => String(v).length + 1));
  io.out(" ".repeat(12) + names.map((c) => c.padStart(w)).join(""));
  confusion.forEach((row, i) => io.out(names[i].padEnd(12) + row.map((v) => String(v).padStart(w)).join("")));
  return 0;
}

function printPredictions(predictions: Prediction[], classes: readonly string[], io: Io, json: boolean): void {
  if (json) {
    const list = predictions.map((p) => ({
      index: p.index,
      class: p.label,
      probabilities: Object.fromEntries(classes.map((c, j) => [c, p.probabilities[j]])),
    }));
    io.out(JSON.stringify({ predictions: list }));
    return;
  }
  predictions.forEach((p, i) => io.out(`sample ${i + 1}: ${p.label} (${pct(p.probabilities[p.index])})`));
}

export function predictCommand(o: PredictOptions, io: Io): number {
  const loaded = loadSavedModel(readCheckpointFile(o.model), { source: o.model });
  if (o.input === undefined) return testSplit(loaded, o.model, io, !!o.json);
  const samples = readSamples(o.input, loaded.meta.inputShape);
  printPredictions(loaded.predict(samples.rows), loaded.meta.classes, io, !!o.json);
  return 0;
}

/** Declares `backprop predict`. */
export const addPredict: AddCommand = (program, ctx) => {
  program
    .command("predict")
    .description("classify samples with a saved model (--input), or measure it on its dataset's test split")
    .requiredOption("--model <file>", "a model saved by backprop train --save")
    .option("--input <samples>", "a JSON list such as [5.1,3.5,1.4,0.2] or [[...],[...]], or a .csv, .json, .npy or .png file")
    .option("--json", "print the result as JSON")
    .action((opts: PredictOptions) => {
      ctx.setJson(!!opts.json);
      ctx.setCode(predictCommand(opts, ctx.io));
    });
};
