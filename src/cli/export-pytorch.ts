/**
 * `backprop export --format safetensors` (the weights, for any safetensors reader) and
 * `--format pytorch` (a folder with model.py, train.py, README.md, the weights and the training data,
 * to run on PyTorch, with torchrun for more than one process or machine).
 *
 * The checkpoint is read by the Node entry's loader, which checks its metadata and gives old Iris
 * checkpoints back the standardization `backprop train` applied; the hyper-parameters (`training`) of
 * checkpoints that do not record them are train's defaults, which the output says.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Rng } from "../core/random.js";
import { trainTestSplit, type Dataset } from "../data/dataset.js";
import { readNpy, writeNpy, type NpyArray } from "../data/npy.js";
import { mlp, type Sequential } from "../nn/layers.js";
import { loadDigits, loadIris } from "../node/datasets.js";
import { modelPy, readmeMd, trainPy, WEIGHTS_FILE, type PytorchSpec, type PytorchTraining } from "../interop/pytorch.js";
import { saveSafetensors, type WeightLayout } from "../interop/state-dict.js";
import { architectureName, ends, type Architecture } from "../nn/saved-model.js";
import { buildCnn } from "../nn/cnn.js";
import { loadModel as loadSavedModel } from "../node/saved-model.js";
import { prepareOutputPath, readCheckpointFile, reasonOf, writeFileAtomic, type ModelMeta } from "./files.js";
import { UsageError, type Io } from "./command.js";
import type { ExportOptions } from "./export.js";

/** `backprop train`'s defaults (src/cli/train.ts), for checkpoints that do not record their hyper-parameters. */
export const TRAIN_DEFAULTS: Omit<PytorchTraining, "seed"> = { optimizer: "sgd", lr: 0.1, momentum: 0.9, batch: 64, epochs: 5 };

/** The checkpoint's metadata as a string map for the safetensors header (objects as JSON). */
function headerMetadata(meta: ModelMeta): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ["architecture", "classes", "preprocess", "dataset"]) {
    if (meta[key] !== undefined) out[`backprop.${key}`] = typeof meta[key] === "string" ? meta[key] : JSON.stringify(meta[key]);
  }
  return out;
}

export function exportSafetensors(o: ExportOptions, io: Io): number {
  const layout = (o.layout ?? "pytorch") as WeightLayout;
  if (layout !== "pytorch" && layout !== "backprop") throw new UsageError(`--layout must be pytorch or backprop, got "${o.layout}"`);
  if (o.data !== undefined || o.labels !== undefined) throw new UsageError("--data and --labels go with --format pytorch");
  const { model, meta } = loadSavedModel(readCheckpointFile(o.model), { source: o.model });
  prepareOutputPath(o.out, "--out", "model.safetensors");
  const metadata = headerMetadata(meta);
  writeFileAtomic(o.out, saveSafetensors(model, { layout, metadata }));
  const shape = layout === "pytorch" ? "Linear weights (out, in)" : "Linear weights (in, out)";
  io.out(`wrote ${o.out}: ${model.parameters().length} tensors, ${layout} layout (${shape})`);
  return 0;
}

/** What the checkpoint says of its data: the dataset, its split, and whether it can be re-created. */
interface Origin {
  dataset: "digits" | "iris";
  seed: number;
  testFraction: number;
  perClass?: number;
}

function originOf(meta: ModelMeta): Origin | null {
  const seed = (meta.training as { seed?: unknown } | undefined)?.seed ?? meta.seed;
  if ((meta.dataset !== "digits" && meta.dataset !== "iris") || !Number.isSafeInteger(seed) || (seed as number) < 0) return null;
  if (!(typeof meta.testFraction === "number" && meta.testFraction > 0 && meta.testFraction < 1)) return null;
  const perClass = typeof meta.perClass === "number" && Number.isSafeInteger(meta.perClass) && meta.perClass > 0 ? meta.perClass : undefined;
  return { dataset: meta.dataset, seed: seed as number, testFraction: meta.testFraction, perClass };
}

/** The training split before any standardization: what backprop's training saw, as raw features. */
export function rawTrainingSplit(origin: Origin): Dataset {
  const ds = origin.dataset === "digits" ? loadDigits(origin.perClass) : loadIris();
  return trainTestSplit(ds, origin.testFraction, new Rng(origin.seed)).train;
}

/** The checkpoint's hyper-parameters, each one checked, or train's default with a note. */
function trainingOf(meta: ModelMeta, origin: Origin | null): { training: PytorchTraining; source: string } {
  const t = (typeof meta.training === "object" && meta.training !== null ? meta.training : {}) as Record<string, unknown>;
  const missing: string[] = [];
  const pick = <K extends keyof typeof TRAIN_DEFAULTS>(k: K, ok: (v: unknown) => boolean): (typeof TRAIN_DEFAULTS)[K] => {
    if (ok(t[k])) return t[k] as (typeof TRAIN_DEFAULTS)[K];
    missing.push(k);
    return TRAIN_DEFAULTS[k];
  };
  const positiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  const training: PytorchTraining = {
    optimizer: pick("optimizer", (v) => v === "sgd" || v === "adam"),
    lr: pick("lr", (v) => typeof v === "number" && Number.isFinite(v) && v > 0),
    momentum: pick("momentum", (v) => typeof v === "number" && v >= 0 && v < 1),
    batch: pick("batch", positiveInt),
    epochs: pick("epochs", positiveInt),
    seed: origin?.seed ?? 0,
    // Recorded only when used (a checkpoint without them trained without them).
    ...(t.lrDecay === "linear" ? { lrDecay: "linear" as const } : {}),
    ...(Number.isSafeInteger(t.shift) && (t.shift as number) > 0 ? { shift: t.shift as number } : {}),
  };
  const source =
    missing.length === 0
      ? "from the checkpoint"
      : missing.length === 5
        ? "the checkpoint does not record them: backprop train's defaults"
        : `from the checkpoint, except ${missing.join(", ")}: backprop train's defaults`;
  return { training, source };
}

/** A .npy file given by the user, read with its size bounded by what a regular file holds. */
function readNpyFile(path: string, flag: string): NpyArray {
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${reasonOf(e)}`);
  }
  try {
    return readNpy(bytes);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** --data and --labels, checked against the network: (N, inputs) features and N class indices. */
function userData(o: ExportOptions, sizes: number[]): { x: NpyArray; y: NpyArray } {
  if (o.data === undefined || o.labels === undefined) throw new UsageError("--data and --labels go together: features (N, inputs) and labels (N,), both .npy");
  const x = readNpyFile(o.data, "--data");
  const y = readNpyFile(o.labels, "--labels");
  if (x.shape.length !== 2 || x.shape[1] !== sizes[0] || (x.dtype !== "float32" && x.dtype !== "float64")) {
    throw new UsageError(`--data ${o.data}: must be float32 or float64 of shape (N, ${sizes[0]}), got ${x.dtype} (${x.shape.join(", ")})`);
  }
  const classes = sizes[sizes.length - 1];
  if (y.shape.length !== 1 || y.shape[0] !== x.shape[0] || y.dtype === "float32" || y.dtype === "float64") {
    throw new UsageError(`--labels ${o.labels}: must be ${x.shape[0]} integers (one per row of --data), got ${y.dtype} (${y.shape.join(", ")})`);
  }
  const bad = Array.from(y.data as ArrayLike<number>).findIndex((v) => !(v >= 0 && v < classes));
  if (bad >= 0) throw new UsageError(`--labels ${o.labels}: label ${bad} is ${y.data[bad]}, the model has classes 0 to ${classes - 1}`);
  if (x.shape[0] === 0) throw new UsageError(`--data ${o.data}: has no rows`);
  return {
    x: { dtype: "float32", shape: x.shape, data: Float32Array.from(x.data as ArrayLike<number>) },
    y: { dtype: "int64", shape: y.shape, data: Array.from(y.data as ArrayLike<number>) },
  };
}

/**
 * The weights `backprop train --seed S` started from, and the order its `fit` visited the examples in
 * each epoch: train initializes the network from Rng(seed) and shuffles each epoch with the same
 * generator, continued (src/cli/train.ts, src/data/dataset.ts `batches`).
 */
export function trainingStart(arch: Architecture, seed: number, n: number, epochs: number) {
  const rng = new Rng(seed);
  const init: Sequential = arch.kind === "cnn" ? buildCnn(arch, { rng }) : mlp(arch.sizes, { rng, activation: arch.activation });
  const order: number[] = [];
  for (let e = 0; e < epochs; e++) order.push(...rng.shuffle(Array.from({ length: n }, (_, i) => i)));
  return { init, order };
}

export function exportPytorch(o: ExportOptions, io: Io): number {
  if (o.layout !== undefined) throw new UsageError("--layout goes with --format safetensors (the pytorch format is always in PyTorch's layout)");
  const { model, meta } = loadSavedModel(readCheckpointFile(o.model), { source: o.model });
  const arch = meta.architecture;
  const sizes = arch.kind === "mlp" ? arch.sizes : [ends(arch).inputs, arch.outputs];
  const activation = arch.kind === "mlp" ? arch.activation : "relu";
  const origin = originOf(meta);
  const own = o.data === undefined && o.labels === undefined;
  if (own && !origin) throw new UsageError(`${o.model} does not say which data it was trained on: give --data x.npy --labels y.npy`);
  const raw = origin ? rawTrainingSplit(origin) : null;
  if (raw && raw.x.shape[1] !== sizes[0])
    throw new UsageError(`${o.model}: the model ${architectureName(arch)} does not fit ${origin!.dataset} (${raw.x.shape[1]} features)`);
  const { training, source: trainingSource } = trainingOf(meta, origin);
  const spec: PytorchSpec = {
    sizes,
    ...(arch.kind === "cnn" ? { cnn: { image: arch.image, channels: arch.channels, hidden: arch.hidden } } : {}),
    activation,
    classes: meta.classes,
    preprocess: meta.preprocess && { mean: meta.preprocess.mean, std: meta.preprocess.std },
    training,
    trainingSource,
    source: basename(o.model),
    files: [],
    hasInit: false,
    hasOrder: false,
  };
  const data = own
    ? {
        x: { dtype: "float32", shape: [...raw!.x.shape], data: Float32Array.from(raw!.x.data) } as NpyArray,
        y: { dtype: "int64", shape: [raw!.y.length], data: Array.from(raw!.y) } as NpyArray,
      }
    : userData(o, sizes);
  const n = data.y.shape[0];
  const files: [string, Uint8Array | string, string][] = [];
  const metadata = headerMetadata(meta);
  files.push([WEIGHTS_FILE, saveSafetensors(model, { layout: "pytorch", metadata }), "the trained weights (PyTorch layout)"]);
  if (own && origin) {
    // Only for backprop train's own runs (the seed drove the initialization and the shuffles).
    const start = trainingStart(arch, origin.seed, n, training.epochs);
    files.push(["init.safetensors", saveSafetensors(start.init, { layout: "pytorch" }), `the weights backprop train --seed ${origin.seed} started from`]);
    spec.hasInit = true;
    // With random shifts the generator also drew the shifts between the shuffles: the order would be wrong after epoch 1.
    if (!training.shift) {
      files.push([
        "order.npy",
        writeNpy({ dtype: "int64", shape: [training.epochs, n], data: start.order }),
        `(${training.epochs}, ${n}) int64: the example order of each epoch of that training`,
      ]);
      spec.hasOrder = true;
    }
  }
  const what = own ? `of the ${origin!.dataset} training split backprop trained on` : `from ${o.data}`;
  files.push(["x.npy", writeNpy(data.x), `(${n}, ${sizes[0]}) float32: raw features ${what}`]);
  files.push(["y.npy", writeNpy(data.y), `(${n},) int64: their class indices`]);
  spec.files = [
    { name: "model.py", what: "the network as an nn.Module, and a safetensors reader and writer in plain Python" },
    { name: "train.py", what: "the training (one process, or DistributedDataParallel under torchrun)" },
    ...files.map(([name, , w]) => ({ name, what: w })),
  ];
  const code: [string, string][] = [
    ["model.py", modelPy(spec)],
    ["train.py", trainPy(spec)],
    ["README.md", readmeMd(spec)],
  ];
  prepareOutputPath(join(o.out, "model.py"), "--out");
  for (const [name, bytes] of [...code, ...files.map(([name, b]) => [name, b] as const)]) writeFileAtomic(join(o.out, name), bytes);
  io.out(`wrote ${o.out}: model.py, train.py, README.md, ${files.map(([name]) => name).join(", ")}`);
  if (trainingSource !== "from the checkpoint") io.out(`hyper-parameters: ${trainingSource} (train.py takes --epochs, --lr, --batch, --momentum, --optimizer)`);
  io.out(`train with: torchrun --nproc_per_node=2 ${join(o.out, "train.py")}   (or python3 ${join(o.out, "train.py")} for one process)`);
  return 0;
}
