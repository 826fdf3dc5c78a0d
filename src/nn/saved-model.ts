/**
 * Saved models as bytes, in Node and browsers alike: a checkpoint (checkpoint.ts) whose metadata holds
 * what prediction needs beyond the weights (the architecture, the shape of one sample, the class names
 * and the feature scaling), and `loadModel(bytes).predict(raw)` that uses all of it.
 * Writing files is the Node layer's job (src/cli/files.ts).
 */
import { noGrad } from "../core/bind.js";
import { Tensor } from "../core/tensor.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.js";
import { ACTIVATIONS, mlp, type Activation, type Sequential } from "./layers.js";
import type { Module } from "./module.js";
import { buildCnn, cnnArchitecture, cnnParameterCount, type CnnArchitecture } from "./cnn.js";

export type { CnnArchitecture } from "./cnn.js";

/** A multilayer perceptron: Linear layers of `sizes` with `activation` between them. */
export interface MlpArchitecture {
  kind: "mlp";
  sizes: number[];
  activation: Activation;
}

/** The network a checkpoint holds, told apart by `kind`. */
export type Architecture = MlpArchitecture | CnnArchitecture;

/** x' = (x - mean) / std per feature, with the training set's statistics. */
export interface Standardize {
  kind: "standardize";
  mean: number[];
  std: number[];
}

/** What is done to raw features before the network sees them; absent means nothing. */
export type Preprocess = Standardize;

/** How the model was trained (for the record; prediction does not need it). */
export interface TrainingSettings {
  optimizer: "sgd" | "adam";
  lr: number;
  momentum: number;
  batch: number;
  epochs: number;
  seed: number;
  /** "linear": lr fell linearly to 0 over the run; absent: it stayed at lr. */
  lrDecay?: "linear";
  /** Training digits were moved by up to this many pixels (data augmentation); absent: not moved. */
  shift?: number;
}

/** The metadata of a saved model. Extra fields are kept as they are. */
export interface ModelMeta {
  architecture: Architecture;
  /** The shape of one sample, e.g. [4] or [784]. */
  inputShape: number[];
  /** Class names, indexed by the network's outputs. */
  classes: string[];
  preprocess?: Preprocess;
  training?: TrainingSettings;
  /** The CLI's datasets ("digits", "iris") and the split it trained on. */
  dataset?: string;
  seed?: number;
  testFraction?: number;
  perClass?: number | null;
  testAccuracy?: number | null;
  [key: string]: unknown;
}

/** What saveModel takes: inputShape defaults to the network's input size, classes to "0", "1", ... */
export type ModelMetaInput = Omit<ModelMeta, "inputShape" | "classes"> & { inputShape?: number[]; classes?: string[] };

/** One sample's prediction: the class index, its name, and the softmax probability of every class. */
export interface Prediction {
  index: number;
  label: string;
  probabilities: number[];
}

/** Raw features: one sample (number[] or a Tensor of the input shape) or many (number[][] or a Tensor (n, ...inputShape)). */
export type ModelInput = Tensor | readonly number[] | readonly (readonly number[])[];

export interface LoadedModel {
  model: Sequential;
  meta: ModelMeta;
  /** Scales raw features as in training, runs the network and its softmax; one Prediction per sample, in order. */
  predict(x: ModelInput): Prediction[];
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);
const shapeText = (xs: readonly number[]): string => `(${xs.join(", ")})`;

function mlpParameterCount(sizes: readonly number[]): number {
  let n = 0;
  for (let i = 0; i + 1 < sizes.length; i++) n += sizes[i] * sizes[i + 1] + sizes[i + 1];
  return n;
}

/** The CNN a checkpoint's metadata describes, checked against its tensors before any layer is built. */
function checkCnnArchitecture(a: Partial<CnnArchitecture>, storedParameters: number): CnnArchitecture {
  let arch: CnnArchitecture;
  try {
    arch = cnnArchitecture({ image: a.image, channels: a.channels, hidden: a.hidden, outputs: a.outputs }, "the checkpoint's CNN architecture");
  } catch (e) {
    throw new CheckpointError(e instanceof Error ? e.message : String(e));
  }
  const needed = cnnParameterCount(arch);
  if (needed !== storedParameters)
    throw new CheckpointError(`the checkpoint's CNN (channels ${arch.channels.join(", ")}) needs ${needed} parameters, the checkpoint has ${storedParameters}`);
  return arch;
}

/** The network a checkpoint's metadata describes, checked against its tensors before any layer is built. */
function checkArchitecture(a: unknown, storedParameters: number): Architecture {
  if (typeof a === "object" && a !== null && (a as { kind?: unknown }).kind === "cnn")
    return checkCnnArchitecture(a as Partial<CnnArchitecture>, storedParameters);
  const arch = a as Partial<MlpArchitecture> | null;
  const sizes = arch?.sizes;
  if (
    typeof arch !== "object" ||
    arch === null ||
    arch.kind !== "mlp" ||
    !Array.isArray(sizes) ||
    sizes.length < 2 ||
    !sizes.every((s) => Number.isSafeInteger(s) && s > 0)
  ) {
    throw new CheckpointError("the checkpoint does not describe an MLP or CNN architecture");
  }
  const activation = arch.activation ?? "relu";
  if (!(ACTIVATIONS as readonly string[]).includes(activation))
    throw new CheckpointError(`the checkpoint's architecture has an unknown activation "${String(activation)}"`);
  const needed = mlpParameterCount(sizes);
  // Checked before mlp() allocates: sizes like 4-1000000000-2 would otherwise take gigabytes.
  if (needed !== storedParameters)
    throw new CheckpointError(`the checkpoint's architecture ${sizes.join("-")} needs ${needed} parameters, the checkpoint has ${storedParameters}`);
  return { kind: "mlp", sizes: [...sizes], activation };
}

/** Input and output sizes of the network (a CNN takes its images flat: 784 values for 1x28x28). */
export function ends(arch: Architecture): { inputs: number; outputs: number } {
  if (arch.kind === "cnn") return { inputs: product(arch.image), outputs: arch.outputs };
  return { inputs: arch.sizes[0], outputs: arch.sizes[arch.sizes.length - 1] };
}

/** A one-line name of the network for messages: "784-128-10" or "CNN 16-32 (784 -> 10)". */
export function architectureName(arch: Architecture): string {
  if (arch.kind === "mlp") return arch.sizes.join("-");
  const hidden = arch.hidden.length > 0 ? `, hidden ${arch.hidden.join("-")}` : "";
  return `CNN ${arch.channels.join("-")}${hidden} (${arch.image.join("x")} -> ${arch.outputs})`;
}

function finiteList(v: unknown, length: number): v is number[] {
  return Array.isArray(v) && v.length === length && v.every((x) => typeof x === "number" && Number.isFinite(x));
}

function checkPreprocess(p: unknown, features: number): Preprocess | undefined {
  if (p === undefined || p === null) return undefined;
  const s = p as Partial<Standardize>;
  if (typeof p !== "object" || s.kind !== "standardize")
    throw new CheckpointError(`the checkpoint's preprocess must be {"kind": "standardize", ...}, got ${JSON.stringify(p).slice(0, 80)}`);
  if (!finiteList(s.mean, features)) throw new CheckpointError(`the checkpoint's preprocess.mean must be ${features} finite numbers`);
  if (!finiteList(s.std, features) || !s.std.every((x) => x > 0))
    throw new CheckpointError(`the checkpoint's preprocess.std must be ${features} positive finite numbers`);
  return { kind: "standardize", mean: [...s.mean], std: [...s.std] };
}

function checkTraining(t: unknown): TrainingSettings | undefined {
  if (t === undefined || t === null) return undefined;
  const s = t as Partial<TrainingSettings>;
  const num = (k: keyof TrainingSettings) => typeof s[k] === "number" && Number.isFinite(s[k]);
  if (typeof t !== "object" || (s.optimizer !== "sgd" && s.optimizer !== "adam") || !(["lr", "momentum", "batch", "epochs", "seed"] as const).every(num))
    throw new CheckpointError("the checkpoint's training settings must have optimizer sgd or adam and numbers lr, momentum, batch, epochs, seed");
  if (s.lrDecay !== undefined && s.lrDecay !== "linear")
    throw new CheckpointError(`the checkpoint's training.lrDecay must be "linear" or absent, got ${JSON.stringify(s.lrDecay)}`);
  if (s.shift !== undefined && !(Number.isSafeInteger(s.shift) && s.shift >= 0))
    throw new CheckpointError(`the checkpoint's training.shift must be a non-negative integer, got ${JSON.stringify(s.shift)}`);
  return {
    optimizer: s.optimizer,
    lr: s.lr!,
    momentum: s.momentum!,
    batch: s.batch!,
    epochs: s.epochs!,
    seed: s.seed!,
    ...(s.lrDecay ? { lrDecay: s.lrDecay } : {}),
    ...(s.shift ? { shift: s.shift } : {}),
  };
}

/**
 * The metadata checked against the network: every field prediction uses is validated here, so that a
 * damaged or hand-edited file fails at load with a CheckpointError rather than at predict with NaNs.
 * Checkpoints from before inputShape and classes were required get them from the architecture.
 */
function checkMeta(raw: Record<string, unknown>, storedParameters: number): ModelMeta {
  const architecture = checkArchitecture(raw.architecture, storedParameters);
  const { inputs, outputs } = ends(architecture);
  const inputShape = raw.inputShape ?? [inputs];
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isSafeInteger(d) && d > 0))
    throw new CheckpointError(`the checkpoint's inputShape must be a list of positive integers, got ${JSON.stringify(raw.inputShape).slice(0, 80)}`);
  if (product(inputShape) !== inputs)
    throw new CheckpointError(`the checkpoint's inputShape ${shapeText(inputShape)} has ${product(inputShape)} values per sample, the network takes ${inputs}`);
  const classes = raw.classes ?? Array.from({ length: outputs }, (_, i) => String(i));
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === "string")) throw new CheckpointError("the checkpoint's classes must be a list of names");
  if (classes.length !== outputs) throw new CheckpointError(`the checkpoint names ${classes.length} classes, the network has ${outputs} outputs`);
  const meta: ModelMeta = { ...raw, architecture, inputShape: [...inputShape], classes: [...classes] };
  const preprocess = checkPreprocess(raw.preprocess, inputs);
  const training = checkTraining(raw.training);
  if (preprocess) meta.preprocess = preprocess;
  else delete meta.preprocess;
  if (training) meta.training = training;
  else delete meta.training;
  return meta;
}

function buildNetwork(arch: Architecture): Sequential {
  switch (arch.kind) {
    case "mlp":
      return mlp(arch.sizes, { activation: arch.activation });
    case "cnn":
      return buildCnn(arch);
  }
}

/** Checkpoint bytes of `model` and its metadata; the metadata is checked as loading would check it. */
export function saveModel(model: Module, meta: ModelMetaInput): Uint8Array {
  // The whole state dict: parameters and buffers (running statistics), as loadStateDict expects.
  const params = [...model.stateDict()];
  const stored = params.reduce((n, [, p]) => n + p.size, 0);
  const { inputs, outputs } = ends(checkArchitecture(meta.architecture, stored));
  const full = checkMeta(
    { ...meta, inputShape: meta.inputShape ?? [inputs], classes: meta.classes ?? Array.from({ length: outputs }, (_, i) => String(i)) },
    stored,
  );
  return encodeCheckpoint(params, full as unknown as Record<string, unknown>);
}

/**
 * Rebuilds the network recorded in checkpoint bytes and loads its weights; `source` names the file in errors.
 * `legacyScaling` marks an Iris checkpoint from before checkpoints stored their feature scaling (and their
 * inputShape): it was trained on standardized features but does not say with which statistics. The Node
 * entry recomputes them from the stored split.
 */
export function modelFromCheckpoint(bytes: Uint8Array, source = "checkpoint"): { model: Sequential; meta: ModelMeta; legacyScaling: boolean } {
  try {
    const { meta: raw, tensors } = decodeCheckpoint(bytes);
    const stored = [...tensors.values()].reduce((n, t) => n + t.size, 0);
    const meta = checkMeta(raw, stored);
    const model = buildNetwork(meta.architecture);
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      throw new CheckpointError(e instanceof Error ? e.message : String(e));
    }
    return { model, meta, legacyScaling: raw.dataset === "iris" && raw.inputShape === undefined && meta.preprocess === undefined };
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${source}: ${e.message}`);
    throw e;
  }
}

/** The samples as one (n, features) float64 array; errors number the samples from 1. */
function samplesOf(x: ModelInput, inputShape: readonly number[]): { n: number; data: Float64Array } {
  const d = product(inputShape);
  if (x instanceof Tensor) {
    const s = x.shape;
    const one = s.length === inputShape.length && s.every((v, i) => v === inputShape[i]);
    const many = s.length === inputShape.length + 1 && s.slice(1).every((v, i) => v === inputShape[i]);
    if (!one && !many)
      throw new Error(
        `a tensor of shape ${shapeText(s)} does not fit the model's input ${shapeText(inputShape)}: give (n, ${inputShape.join(", ")}) or ${shapeText(inputShape)}`,
      );
    const data = Float64Array.from(x.data);
    checkFinite(data, d);
    return { n: one ? 1 : s[0], data };
  }
  if (!Array.isArray(x)) throw new Error("predict takes a Tensor, a list of numbers (one sample) or a list of such lists");
  const rows: readonly unknown[] = x.length > 0 && x.every((v) => typeof v === "number") ? [x] : x;
  if (rows.length === 0) throw new Error("predict needs at least one sample");
  const data = new Float64Array(rows.length * d);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || !row.every((v) => typeof v === "number")) throw new Error(`sample ${i + 1} is not a list of numbers`);
    if (row.length !== d) throw new Error(`sample ${i + 1} has ${row.length} values, the model takes ${d}`);
    data.set(row as number[], i * d);
  });
  checkFinite(data, d);
  return { n: rows.length, data };
}

function checkFinite(data: Float64Array, d: number): void {
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) throw new Error(`sample ${Math.floor(k / d) + 1}, value ${(k % d) + 1} is ${data[k]}: features must be finite numbers`);
  }
}

/** Softmax of each row of logits, in float64 with the maximum subtracted. */
function softmaxRows(logits: ArrayLike<number>, n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]);
    const e = Array.from({ length: k }, (_, j) => Math.exp(logits[i * k + j] - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(e.map((v) => v / s));
  }
  return out;
}

/** Predictions for raw features: preprocess, network, softmax. */
export function predictRaw(model: Module, meta: ModelMeta, x: ModelInput): Prediction[] {
  const preprocess = meta.preprocess;
  const { n, data } = samplesOf(x, meta.inputShape);
  const d = product(meta.inputShape);
  if (preprocess) for (let k = 0; k < data.length; k++) data[k] = (data[k] - preprocess.mean[k % d]) / preprocess.std[k % d];
  const k = meta.classes.length;
  const logits = new Float64Array(n * k);
  const batch = 1024;
  model.eval();
  noGrad(() => {
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(n, s + batch) - s;
      const out = model.forward(new Tensor(Float32Array.from(data.subarray(s * d, (s + m) * d)), [m, d]));
      logits.set(out.data, s * k);
    }
  });
  return softmaxRows(logits, n, k).map((probabilities) => {
    let index = 0;
    for (let j = 1; j < k; j++) if (probabilities[j] > probabilities[index]) index = j;
    return { index, label: meta.classes[index], probabilities };
  });
}

/**
 * A saved model, ready to predict from raw features. `options.preprocess` supplies the scaling of an old
 * iris checkpoint (`legacyScaling`), which otherwise refuses to predict (the Node entry's loadModel does this itself).
 */
export function loadModel(bytes: Uint8Array, options: { source?: string; preprocess?: Preprocess } = {}): LoadedModel {
  const { model, meta, legacyScaling } = modelFromCheckpoint(bytes, options.source);
  if (legacyScaling && options.preprocess) meta.preprocess = checkPreprocess(options.preprocess, ends(meta.architecture).inputs);
  const unscaled = legacyScaling && !meta.preprocess;
  return {
    model,
    meta,
    predict(x: ModelInput): Prediction[] {
      if (unscaled)
        throw new CheckpointError(
          `${options.source ?? "checkpoint"}: this iris model predates stored feature scaling; load it with the Node entry of backprop (it recomputes the scaling from the stored split) or retrain it`,
        );
      return predictRaw(model, meta, x);
    },
  };
}
