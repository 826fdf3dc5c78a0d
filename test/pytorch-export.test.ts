/**
 * `backprop export --format pytorch|safetensors`: the generated code, the files, the errors, and (where
 * /usr/bin/python3 has PyTorch) the exported network and training run under PyTorch: model.py's outputs
 * equal ours, and train.py, in one process and under `torchrun --nproc_per_node=2` (DistributedDataParallel
 * over gloo), follows backprop's own training loss from the same initial weights and example order.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bp from "../src/index.js";
import { readNpy, writeNpy } from "../src/data/npy.js";
import { encodeModel, loadModel, type ModelMeta } from "../src/cli/files.js";
import { prepareData } from "../src/cli/train.js";
import { rawTrainingSplit, trainingStart } from "../src/cli/export-pytorch.js";
import { modelPy, trainPy, readmeMd, type PytorchSpec } from "../src/interop/pytorch.js";
import { cli } from "./cli-helper.js";
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

const PY = DEBIAN_PYTHON;

/** The mean and standard deviation train scales a training split with. */
function standardization(train: bp.Dataset): { mean: number[]; std: number[] } {
  const { mean, std } = bp.standardizer(train);
  return { mean, std };
}
const torchMissing = pythonLacks("torch, numpy, torch.distributed.run", "python3-torch python3-numpy", "assert torch.distributed.is_gloo_available()");
if (torchMissing) console.log(`skipping the PyTorch runs: ${torchMissing}`);

const tmp = () => mkdtempSync(join(tmpdir(), "pytorch-export-"));
const ENV = { ...process.env, OMP_NUM_THREADS: "1" };
const py = (args: string[], cwd?: string) => execFileSync(PY, args, { cwd, env: ENV, timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] }).toString();

const SPEC: PytorchSpec = {
  sizes: [4, 8, 3],
  activation: "leakyrelu",
  classes: ["a", 'b"\n__import__("os")', "c"],
  preprocess: { mean: [1, 2, 3, 4], std: [0.5, 1, 2, 4] },
  training: { optimizer: "adam", lr: 0.05, momentum: 0, batch: 16, epochs: 3, seed: 7 },
  trainingSource: "from the checkpoint",
  source: "m.bp\nimport shutil",
  files: [],
  hasInit: true,
  hasOrder: true,
};

/** A checkpoint as the newer `backprop train` writes it (the meta contract: preprocess and training recorded). */
function contractCheckpoint(dir: string): { path: string; meta: ModelMeta; model: bp.Sequential } {
  const sizes = [784, 16, 10];
  const model = bp.mlp(sizes, { rng: new bp.Rng(11), activation: "tanh" });
  const meta: ModelMeta = {
    architecture: { kind: "mlp", sizes, activation: "tanh" },
    dataset: "digits",
    classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    seed: 3,
    testFraction: 0.2,
    perClass: 5,
    inputShape: [784],
    // One mean and deviation for every pixel (the usual normalization of MNIST).
    preprocess: { kind: "standardize", mean: new Array<number>(784).fill(0.13), std: new Array<number>(784).fill(0.31) },
    training: { optimizer: "adam", lr: 0.01, momentum: 0, batch: 8, epochs: 2, seed: 3 },
  };
  const path = join(dir, "digits.bp");
  writeFileSync(path, encodeModel(model, meta));
  return { path, meta, model };
}

/** (x - mean) / std in float64, rounded to float32: as backprop standardizes. */
function standardize(x: Float32Array, mean: number[], std: number[]): Float32Array {
  const d = mean.length;
  return Float32Array.from(x, (v, k) => (v - mean[k % d]) / std[k % d]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

describe("PyTorch code generation", () => {
  it("puts the architecture, the standardization and the hyper-parameters in as literals, and user text only as JSON strings", () => {
    const model = modelPy(SPEC);
    assert.match(model, /nn\.Linear\(4, 8\),  # layers\.0: weight \(8, 4\)/);
    assert.match(model, /nn\.LeakyReLU\(0\.01\),\n\s+nn\.Linear\(8, 3\),  # layers\.2/);
    assert.match(model, /^MEAN = \[1, 2, 3, 4\]$/m);
    assert.match(model, /^STD = \[0\.5, 1, 2, 4\]$/m);
    assert.ok(model.includes(`CLASSES = ["a","b\\"\\n__import__(\\"os\\")","c"]`), "class names are JSON (= Python) string literals");
    assert.ok(!/^import shutil/m.test(model) && model.includes("m.bp import shutil"), "the source name cannot break out of its comment");
    const train = trainPy(SPEC);
    for (const line of ['OPTIMIZER = "adam"', "LR = 0.05", "MOMENTUM = 0", "BATCH = 16", "EPOCHS = 3", "SEED = 7"])
      assert.ok(train.includes(`\n${line}\n`), line);
    assert.match(train, /backend="nccl" if cuda else "gloo"/);
    assert.match(readmeMd(SPEC), /torchrun --nproc_per_node=N train\.py/);
    const noPre = modelPy({ ...SPEC, preprocess: undefined, activation: "sigmoid" });
    assert.match(noPre, /^MEAN = None/m);
    assert.match(noPre, /nn\.Sigmoid\(\)/);
    assert.throws(() => modelPy({ ...SPEC, preprocess: { mean: [NaN, 0, 0, 0], std: [1, 1, 1, 1] } }), /mean 0 must be a finite number/);
    assert.throws(() => modelPy({ ...SPEC, preprocess: { mean: [0, 0, 0, 0], std: [1, 0, 1, 1] } }), /standard deviation 1 must be positive/);
    assert.throws(() => trainPy({ ...SPEC, classes: ["a"] }), /1 class names for 3 outputs/);
    assert.throws(() => trainPy({ ...SPEC, training: { ...SPEC.training, lr: Infinity } }), /learning rate/);
  });
});

describe("backprop export (command line)", () => {
  it("--format safetensors: the weights in PyTorch's layout (or ours) with the checkpoint's metadata", async () => {
    const dir = tmp();
    const m = join(dir, "m.bp");
    assert.equal((await cli("train", "--dataset", "iris", "--hidden", "5", "--epochs", "1", "--save", m)).code, 0);
    const { model } = loadModel(m);
    let r = await cli("export", "--format", "safetensors", "--model", m, "--out", join(dir, "w.safetensors"));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote .*w\.safetensors: 4 tensors, pytorch layout \(Linear weights \(out, in\)\)/);
    const file = bp.decodeSafetensors(readFileSync(join(dir, "w.safetensors")));
    assert.deepEqual(file.tensors.get("layers.0.weight")!.shape, [5, 4]);
    assert.equal(file.metadata["backprop.dataset"], "iris");
    // train records the standardization of its training split.
    const pre = JSON.parse(file.metadata["backprop.preprocess"]) as { kind: string; mean: number[]; std: number[] };
    assert.deepEqual(pre, { kind: "standardize", ...standardization(rawTrainingSplit({ dataset: "iris", seed: 0, testFraction: 0.2 })) });
    assert.deepEqual(JSON.parse(file.metadata["backprop.architecture"]), { kind: "mlp", sizes: [4, 5, 3], activation: "relu" });
    const back = bp.mlp([4, 5, 3]);
    bp.loadSafetensorsInto(back, readFileSync(join(dir, "w.safetensors")));
    for (const [k, p] of model.stateDict()) assert.deepEqual(Array.from(back.stateDict().get(k)!.data), Array.from(p.data), k);
    r = await cli("export", "--format", "safetensors", "--layout", "backprop", "--model", m, "--out", join(dir, "own.safetensors"));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(bp.decodeSafetensors(readFileSync(join(dir, "own.safetensors"))).tensors.get("layers.0.weight")!.shape, [4, 5]);
    // A checkpoint from before train stored its scaling: the loader recomputes it from the stored split.
    const saved = bp.decodeCheckpoint(new Uint8Array(readFileSync(m)));
    const { inputShape: _s, preprocess: _p, training: _t, ...legacy } = saved.meta;
    writeFileSync(join(dir, "old.bp"), bp.encodeCheckpoint(saved.tensors, legacy));
    r = await cli("export", "--format", "safetensors", "--model", join(dir, "old.bp"), "--out", join(dir, "old.safetensors"));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(bp.decodeSafetensors(readFileSync(join(dir, "old.safetensors"))).metadata["backprop.preprocess"]), pre);
  });

  it("--format pytorch on a checkpoint of train: the raw training split, its standardization, its hyper-parameters, the start and the order", async () => {
    const dir = tmp();
    const m = join(dir, "m.bp");
    assert.equal((await cli("train", "--dataset", "iris", "--hidden", "6", "--epochs", "1", "--seed", "5", "--save", m)).code, 0);
    const out = join(dir, "out");
    const r = await cli("export", "--format", "pytorch", "--model", m, "--out", out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /model\.py, train\.py, README\.md, model\.safetensors, init\.safetensors, order\.npy, x\.npy, y\.npy/);
    assert.doesNotMatch(r.out, /defaults/); // train records its hyper-parameters
    const x = readNpy(readFileSync(join(out, "x.npy")));
    const y = readNpy(readFileSync(join(out, "y.npy")));
    const { train } = prepareData("iris", 5, 0.2);
    assert.deepEqual(x.shape, [120, 4]);
    assert.equal(y.dtype, "int64");
    assert.deepEqual(y.data, Array.from(train.y));
    // model.py's literals standardize the raw features into exactly what train trained on.
    const model = readFileSync(join(out, "model.py"), "utf8");
    const mean = JSON.parse(/^MEAN = (.*)$/m.exec(model)![1]) as number[];
    const std = JSON.parse(/^STD = (.*)$/m.exec(model)![1]) as number[];
    assert.deepEqual(Array.from(standardize(x.data as Float32Array, mean, std)), Array.from(train.x.data));
    assert.match(readFileSync(join(out, "train.py"), "utf8"), /\nLR = 0\.1\nMOMENTUM = 0\.9\nBATCH = 64\nEPOCHS = 1\nSEED = 5\n/);
    // init.safetensors is the network train --seed 5 starts from; order.npy the shuffles its fit makes.
    const order = readNpy(readFileSync(join(out, "order.npy")));
    assert.deepEqual(order.shape, [1, 120]);
    const rng = new bp.Rng(5);
    const init = bp.mlp([4, 6, 3], { rng });
    const first = [...bp.batches(train, 120, rng)][0];
    assert.deepEqual(Array.from(bp.subset(train, (order.data as number[]).slice(0, 120)).x.data), Array.from(first.x.data));
    const start = bp.mlp([4, 6, 3]);
    bp.loadSafetensorsInto(start, readFileSync(join(out, "init.safetensors")));
    for (const [k, p] of init.stateDict()) assert.deepEqual(Array.from(start.stateDict().get(k)!.data), Array.from(p.data), k);
  });

  it("--format pytorch on a checkpoint that records its standardization and hyper-parameters uses them", async () => {
    const dir = tmp();
    const { path, meta } = contractCheckpoint(dir);
    const r = await cli("export", "--format", "pytorch", "--model", path, "--out", join(dir, "out"));
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /defaults/);
    const train = readFileSync(join(dir, "out", "train.py"), "utf8");
    assert.match(train, /\nOPTIMIZER = "adam"\nLR = 0\.01\nMOMENTUM = 0\nBATCH = 8\nEPOCHS = 2\nSEED = 3\n/);
    const model = readFileSync(join(dir, "out", "model.py"), "utf8");
    assert.deepEqual(JSON.parse(/^MEAN = (.*)$/m.exec(model)![1]), (meta.preprocess as { mean: number[] }).mean);
    assert.match(model, /nn\.Tanh\(\)/);
    assert.deepEqual(readNpy(readFileSync(join(dir, "out", "x.npy"))).shape, [40, 784]);
  });

  it("--data and --labels: the user's data, checked against the network", async () => {
    const dir = tmp();
    const m = join(dir, "m.bp");
    assert.equal((await cli("train", "--dataset", "iris", "--hidden", "3", "--epochs", "1", "--save", m)).code, 0);
    const put = (name: string, a: Parameters<typeof writeNpy>[0]) => (writeFileSync(join(dir, name), writeNpy(a)), join(dir, name));
    const x = put("x.npy", { dtype: "float64", shape: [3, 4], data: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) });
    const y = put("y.npy", { dtype: "int32", shape: [3], data: Int32Array.from([0, 2, 1]) });
    const out = join(dir, "out");
    const r = await cli("export", "--format", "pytorch", "--model", m, "--out", out, "--data", x, "--labels", y);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /model\.safetensors, x\.npy, y\.npy$/m, "no init or order for data backprop did not train on");
    assert.deepEqual(readNpy(readFileSync(join(out, "x.npy"))), {
      dtype: "float32",
      shape: [3, 4],
      data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    });
    assert.deepEqual(readNpy(readFileSync(join(out, "y.npy"))).data, [0, 2, 1]);
    const fails = async (args: string[], pattern: RegExp) => {
      const e = await cli("export", ...args);
      assert.equal(e.code, 1, args.join(" "));
      assert.match(e.err, pattern);
    };
    const base = ["--model", m, "--out", join(dir, "bad")];
    await fails(["--format", "onnx2", ...base], /--format must be one of onnx, safetensors, pytorch, got "onnx2"/);
    await fails(["--format", "pytorch", ...base, "--data", x], /--data and --labels go together/);
    await fails(["--format", "pytorch", ...base, "--layout", "backprop"], /--layout goes with --format safetensors/);
    await fails(["--format", "safetensors", ...base, "--layout", "torch"], /--layout must be pytorch or backprop, got "torch"/);
    await fails(["--format", "safetensors", ...base, "--data", x], /--data and --labels go with --format pytorch/);
    const wide = put("w.npy", { dtype: "float32", shape: [3, 5], data: new Float32Array(15) });
    await fails(
      ["--format", "pytorch", ...base, "--data", wide, "--labels", y],
      /--data .*w\.npy: must be float32 or float64 of shape \(N, 4\), got float32 \(3, 5\)/,
    );
    const big = put("big.npy", { dtype: "int64", shape: [3], data: [0, 3, 1] });
    await fails(["--format", "pytorch", ...base, "--data", x, "--labels", big], /--labels .*big\.npy: label 1 is 3, the model has classes 0 to 2/);
    await fails(["--format", "pytorch", ...base, "--data", x, "--labels", join(dir, "none.npy")], /--labels .*none\.npy: no such file or folder/);
    await fails(["--format", "pytorch", "--model", m, "--out", m], /--out: .*m\.bp is not a folder/);
    // A checkpoint that does not say its dataset needs the data given.
    const lib = join(dir, "lib.bp");
    writeFileSync(lib, encodeModel(bp.mlp([4, 3, 3]), { architecture: { kind: "mlp", sizes: [4, 3, 3], activation: "relu" } } as unknown as ModelMeta));
    await fails(
      ["--format", "pytorch", "--model", lib, "--out", join(dir, "o")],
      /does not say which data it was trained on: give --data x\.npy --labels y\.npy/,
    );
    assert.ok(!existsSync(join(dir, "bad")) && !existsSync(join(dir, "o")), "nothing is written when the export is refused");
  });
});

describe("the exported code under PyTorch", { skip: torchMissing }, () => {
  it("model.py's outputs equal ours on random raw inputs (standardization in the model)", async () => {
    const dir = tmp();
    const cases: { name: string; path: string; model: bp.Sequential; mean?: number[]; std?: number[]; d: number; range: number }[] = [];
    const m = join(dir, "iris.bp");
    assert.equal((await cli("train", "--dataset", "iris", "--hidden", "7,5", "--activation", "sigmoid", "--epochs", "2", "--save", m)).code, 0);
    const iris = standardization(rawTrainingSplit({ dataset: "iris", seed: 0, testFraction: 0.2 }));
    cases.push({ name: "iris 4-7-5-3 sigmoid (standardization re-computed)", path: m, model: loadModel(m).model, ...iris, d: 4, range: 8 });
    const digits = contractCheckpoint(dir);
    const pre = digits.meta.preprocess as { mean: number[]; std: number[] };
    cases.push({
      name: "digits 784-16-10 tanh (standardization recorded)",
      path: digits.path,
      model: digits.model,
      mean: pre.mean,
      std: pre.std,
      d: 784,
      range: 1,
    });
    for (const c of cases) {
      const out = join(dir, `out-${cases.indexOf(c)}`);
      assert.equal((await cli("export", "--format", "pytorch", "--model", c.path, "--out", out)).code, 0);
      const rng = new bp.Rng(9);
      const n = 64;
      // Where the features live: Iris measurements in cm, pixels in [0, 1].
      const raw = Float32Array.from({ length: n * c.d }, () => c.range * rng.uniform());
      writeFileSync(join(dir, "in.npy"), writeNpy({ dtype: "float32", shape: [n, c.d], data: raw }));
      py(
        [
          "-c",
          `import numpy as np, torch
from model import load_model, predict_proba
m = load_model()
x = np.load(${JSON.stringify(join(dir, "in.npy"))})
with torch.no_grad():
    np.save(${JSON.stringify(join(dir, "logits.npy"))}, m(torch.from_numpy(x)).double().numpy())
np.save(${JSON.stringify(join(dir, "p.npy"))}, predict_proba(m, x).double().numpy())`,
        ],
        out,
      );
      const theirs = readNpy(readFileSync(join(dir, "logits.npy"))).data as Float64Array;
      const probs = readNpy(readFileSync(join(dir, "p.npy"))).data as Float64Array;
      const x = bp.tensor(standardize(raw, c.mean!, c.std!), { shape: [n, c.d] });
      const ours = bp.noGrad(() => c.model.eval().forward(x));
      const oursP = bp.noGrad(() => bp.softmax(ours, -1));
      let dl = 0;
      let dp = 0;
      for (let i = 0; i < ours.size; i++) dl = Math.max(dl, Math.abs(ours.data[i] - theirs[i]));
      for (let i = 0; i < oursP.size; i++) dp = Math.max(dp, Math.abs(oursP.data[i] - probs[i]));
      const k = probs.length / n;
      const same = Array.from(bp.predict(c.model, x)).every((cls, i) => {
        const row = Array.from(probs.subarray(i * k, (i + 1) * k));
        return row.indexOf(Math.max(...row)) === cls;
      });
      console.log(
        `${c.name}: model.py vs ours on ${n} random inputs: max |logit difference| ${dl.toExponential(2)}, max |probability difference| ${dp.toExponential(2)}`,
      );
      // float32 arithmetic in two engines, summed in different orders: a few ulps of values of order 10.
      assert.ok(dl < 1e-5 && dp < 1e-5, `${c.name}: ${dl}, ${dp}`);
      assert.ok(same, `${c.name}: the predicted classes differ`);
    }
  });

  it("train.py in one process and under torchrun --nproc_per_node=2 follows backprop's training (same start, order, losses)", async () => {
    const dir = tmp();
    const m = join(dir, "m.bp");
    const args = ["--dataset", "iris", "--hidden", "8", "--epochs", "2", "--batch", "16", "--lr", "0.1", "--seed", "2", "--save", m, "--json"];
    const trained = await cli("train", ...args);
    assert.equal(trained.code, 0, trained.err);
    const ours = (JSON.parse(trained.out.split("\n").pop()!) as { trainLoss: number[] }).trainLoss;
    const out = join(dir, "out");
    assert.equal((await cli("export", "--format", "pytorch", "--model", m, "--out", out)).code, 0);
    // Today's checkpoints do not record the hyper-parameters: they are given as train.py's flags.
    const flags = ["--epochs", "2", "--batch", "16", "--lr", "0.1", "--momentum", "0.9"];
    const t0 = performance.now();
    py([join(out, "train.py"), ...flags, "--history", join(dir, "one.json"), "--out", join(dir, "one.safetensors")], dir);
    const t1 = performance.now();
    const port = await freePort();
    // --redirects 1 --tee 1: Debian's torch 1.13 under Python 3.11 cannot parse torchrun's default "--redirects 0".
    const log = py(
      [
        "-m",
        "torch.distributed.run",
        "--redirects",
        "1",
        "--tee",
        "1",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        `--master_port=${port}`,
        join(out, "train.py"),
        ...flags,
        "--history",
        join(dir, "two.json"),
        "--out",
        join(dir, "two.safetensors"),
      ],
      dir,
    );
    const t2 = performance.now();
    const one = JSON.parse(readFileSync(join(dir, "one.json"), "utf8")) as { loss: number[]; processes: number };
    const two = JSON.parse(readFileSync(join(dir, "two.json"), "utf8")) as { loss: number[]; processes: number };
    assert.equal(one.processes, 1);
    assert.equal(two.processes, 2, log);
    assert.match(log, /epoch 2\/2 .*\(2 processes\)/);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    console.log(`backprop's epoch losses:                ${ours.map((l) => l.toFixed(7)).join(", ")}`);
    console.log(`train.py, 1 process (${((t1 - t0) / 1000).toFixed(1)} s):           ${one.loss.map((l) => l.toFixed(7)).join(", ")}`);
    console.log(`torchrun, 2 processes, gloo (${((t2 - t1) / 1000).toFixed(1)} s): ${two.loss.map((l) => l.toFixed(7)).join(", ")}`);
    for (const [name, run] of [
      ["1 process", one],
      ["2 processes", two],
    ] as const) {
      const diffs = run.loss.map((l, i) => rel(l, ours[i]));
      console.log(`${name}: relative difference of the epoch losses to backprop's: ${diffs.map((d) => d.toExponential(2)).join(", ")}`);
      // Same start, order, loss and update rule: only float32 rounding differs (summation order in two
      // engines, and the all-reduce), 16 steps of it.
      assert.ok(
        diffs.every((d) => d < 1e-4),
        `${name}: ${diffs}`,
      );
    }
    // The trained weights come back into backprop and agree with backprop's own.
    const { model } = loadModel(m);
    const back = bp.mlp([4, 8, 3]);
    bp.loadSafetensorsInto(back, readFileSync(join(dir, "two.safetensors")));
    let dw = 0;
    for (const [k, p] of model.stateDict()) {
      const q = back.stateDict().get(k)!;
      for (let i = 0; i < p.size; i++) dw = Math.max(dw, Math.abs(p.data[i] - q.data[i]));
    }
    console.log(`trained weights, torchrun vs backprop: max |difference| ${dw.toExponential(2)}`);
    assert.ok(dw < 1e-4, `weights differ by ${dw}`);
  });

  it("Adam and a recorded standardization: train.py matches backprop's fit on the same split", async () => {
    const dir = tmp();
    const { path, meta } = contractCheckpoint(dir);
    {
      const out = join(dir, "out");
      assert.equal((await cli("export", "--format", "pytorch", "--model", path, "--out", out)).code, 0);
      py([join(out, "train.py"), "--history", join(dir, "h.json"), "--out", join(dir, "t.safetensors")], dir);
      const theirs = (JSON.parse(readFileSync(join(dir, "h.json"), "utf8")) as { loss: number[] }).loss;
      // What backprop train does with these settings: initialize from Rng(seed), then fit with that generator.
      const raw = rawTrainingSplit({ dataset: "digits", seed: 3, testFraction: 0.2, perClass: 5 });
      const pre = meta.preprocess as { mean: number[]; std: number[] };
      const train = { ...raw, x: bp.tensor(standardize(raw.x.data as Float32Array, pre.mean, pre.std), { shape: raw.x.shape }) };
      const rng = new bp.Rng(3);
      const model = bp.mlp([784, 16, 10], { rng, activation: "tanh" });
      const start = trainingStart({ kind: "mlp", sizes: [784, 16, 10], activation: "tanh" }, 3, 40, 2).init;
      assert.deepEqual(Array.from(start.stateDict().get("layers.0.weight")!.data), Array.from(model.stateDict().get("layers.0.weight")!.data));
      const history = bp.fit(model, train, { epochs: 2, batchSize: 8, optimizer: new bp.Adam(model.parameters(), { lr: 0.01 }), rng });
      const ours = history.epochs.map((e) => e.trainLoss);
      const diffs = theirs.map((l, i) => Math.abs(l - ours[i]) / ours[i]);
      console.log(
        `Adam, digits 784-16-10: backprop ${ours.map((l) => l.toFixed(7)).join(", ")}; train.py ${theirs.map((l) => l.toFixed(7)).join(", ")}; relative ${diffs.map((d) => d.toExponential(2)).join(", ")}`,
      );
      assert.ok(
        diffs.every((d) => d < 1e-4),
        String(diffs),
      );
    }
  });
});
