/**
 * The digits CNN end to end: cnn() and Unflatten, `train --model cnn` (a short run that must learn),
 * its checkpoint, `predict` on the test split and on a PNG, and the exports (ONNX run in ONNX Runtime,
 * safetensors in PyTorch's layout, read back by PyTorch when Debian's python3-torch is installed).
 * The full default run (98% on the 2,000 held-out digits) takes minutes and is measured in docs/performance.md.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "fast-png";
import * as bp from "../src/index.js";
import { splitData } from "../src/cli/train.js";
import { readSamples } from "../src/cli/predict-input.js";
import { encodeCheckpoint, decodeCheckpoint } from "../src/nn/checkpoint.js";
import { predictRaw } from "../src/nn/saved-model.js";
import { randomShift } from "../src/data/augment.js";
import { cli } from "./cli-helper.js";
import { PY, noPythonTorch, runOrt } from "./onnx-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "backprop-cnn-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("cnn() and Unflatten", () => {
  it("builds the digits CNN: (N, 784) -> (N, 10) through 3x3 convolutions 1->16->32 and two 2x2 max pools", () => {
    const model = bp.cnn({ rng: new bp.Rng(0) });
    const names = model.layers.map((l) => l.constructor.name);
    assert.deepEqual(names, ["Unflatten", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]);
    const shapes = Object.fromEntries([...model.stateDict()].map(([k, t]) => [k, t.shape]));
    assert.deepEqual(shapes, {
      "layers.1.weight": [16, 1, 3, 3],
      "layers.1.bias": [16],
      "layers.4.weight": [32, 16, 3, 3],
      "layers.4.bias": [32],
      "layers.8.weight": [1568, 10],
      "layers.8.bias": [10],
    });
    // 16*9+16 + 32*16*9+32 + 1568*10+10
    assert.equal(
      model.parameters().reduce((n, p) => n + p.size, 0),
      20490,
    );
    assert.deepEqual(model.forward(bp.zeros([3, 784])).shape, [3, 10]);
  });

  it("hidden layers and channels are options; bad ones are named", () => {
    const model = bp.cnn({ channels: [4], hidden: [20], outputs: 3, rng: new bp.Rng(0) });
    assert.deepEqual(model.forward(bp.zeros([2, 784])).shape, [2, 3]);
    assert.deepEqual((model.layers[5] as bp.Linear).weight.shape, [4 * 14 * 14, 20]);
    assert.throws(() => bp.cnn({ channels: [] }), /cnn: channels must be a non-empty list of positive integers, got \[\]/);
    assert.throws(() => bp.cnn({ channels: [2, 2, 2, 2, 2, 2] }), /6 pooling steps leave nothing of a 28x28 image/);
    assert.throws(() => bp.cnn({ kernel: 5 } as unknown as bp.CnnOptions), /cnn: unknown option "kernel"/);
  });

  it("Unflatten splits one axis as nn.Unflatten does, and says what does not fit", () => {
    const x = bp.tensor([
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 11, 12],
    ]);
    const y = new bp.Unflatten(1, [2, 3]).forward(x);
    assert.deepEqual(y.shape, [2, 2, 3]);
    assert.deepEqual(y.toArray(), [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
    ]);
    assert.deepEqual(new bp.Unflatten(-1, [3, 2]).forward(x).shape, [2, 3, 2]);
    assert.throws(() => new bp.Unflatten(1, [4, 2]).forward(x), /Unflatten: axis 1 of a tensor of shape \(2, 6\) has 6 values, sizes \(4, 2\) need 8/);
    assert.throws(() => new bp.Unflatten(1, [0, 2]), /sizes must be a non-empty list of positive integers/);
  });
});

describe("randomShift (the CNN's data augmentation)", () => {
  const [h, w] = [3, 4];
  const image = Array.from({ length: h * w }, (_, k) => k + 1);
  const shifted = (dy: number, dx: number) =>
    Array.from({ length: h * w }, (_, k) => {
      const [y, x] = [Math.floor(k / w) - dy, (k % w) - dx];
      return y >= 0 && y < h && x >= 0 && x < w ? image[y * w + x] : 0;
    });

  it("moves each image by its own (dy, dx) in -max..max, zero filling, every shift drawn", () => {
    const n = 200;
    const x = new bp.Tensor(
      Float32Array.from({ length: n * h * w }, (_, k) => image[k % (h * w)]),
      [n, h * w],
    );
    const y = randomShift(x, { image: [1, h, w], max: 1 }, new bp.Rng(3));
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const row = Array.from(y.data.subarray(i * h * w, (i + 1) * h * w));
      const match = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => [dy, dx])).find(([dy, dx]) => shifted(dy, dx).join() === row.join());
      assert.ok(match, `row ${i} is no shift of the image: ${row}`);
      seen.add(match.join());
    }
    assert.equal(seen.size, 9);
    assert.deepEqual(Array.from(x.data.subarray(0, h * w)), image, "the input is untouched");
    assert.deepEqual(Array.from(randomShift(x, { image: [1, h, w], max: 0 }, new bp.Rng(3)).data), Array.from(x.data));
    assert.throws(
      () => randomShift(x, { image: [1, 28, 28], max: 1 }, new bp.Rng(0)),
      /expected rows of 1x28x28 = 784 values, got a tensor of shape \(200, 12\)/,
    );
  });
});

describe("backprop train --model cnn, its checkpoint, predict and export", () => {
  const modelPath = join(dir, "cnn.bp");
  let result: { testAccuracy: number; steps: number; seconds: number; stepsPerSecond: number };

  before(async () => {
    // 100 digits of each class (800 to train on, 200 held out), 2 epochs, the CNN's other defaults: a few seconds.
    const r = await cli("train", "--model", "cnn", "--per-class", "100", "--epochs", "2", "--save", modelPath, "--json");
    assert.equal(r.code, 0, r.err);
    result = JSON.parse(r.out);
    console.log(
      `# cnn, 800 digits, 2 epochs: ${(100 * result.testAccuracy).toFixed(1)}% in ${result.seconds.toFixed(1)} s (${result.stepsPerSecond.toFixed(1)} steps/s)`,
    );
  });

  it("learns: above 85% on the 200 held-out digits after 50 steps (chance is 10%)", () => {
    // 800 / 32 = 25 steps per epoch; seed 0 gives 89.5% (any backend: the same float32 arithmetic up to summation order).
    assert.equal(result.steps, 50);
    assert.ok(result.testAccuracy > 0.85, `test accuracy ${result.testAccuracy}`);
  });

  it("the checkpoint records the CNN and rebuilds it with the same outputs", () => {
    const bytes = new Uint8Array(readFileSync(modelPath));
    const loaded = bp.loadModel(bytes);
    assert.deepEqual(loaded.meta.architecture, { kind: "cnn", image: [1, 28, 28], channels: [16, 32], hidden: [], outputs: 10 });
    assert.deepEqual(loaded.meta.inputShape, [784]);
    assert.deepEqual(loaded.meta.training, { optimizer: "sgd", lr: 0.05, momentum: 0.9, batch: 32, epochs: 2, seed: 0, lrDecay: "linear", shift: 2 });
    // Saved again from the loaded network: the same bytes (weights and metadata round-trip exactly).
    assert.deepEqual(bp.saveModel(loaded.model, loaded.meta), bytes);
    // A fresh CNN with other weights disagrees, so the equality above is about the weights.
    const { test } = splitData("digits", 0, 0.2, 100);
    const fresh = predictRaw(bp.cnn({ rng: new bp.Rng(5) }), loaded.meta, test.x);
    const saved = loaded.predict(test.x);
    assert.ok(fresh.some((p, i) => p.index !== saved[i].index));
  });

  it("a CNN checkpoint whose tensors do not fit its architecture is refused before any layer is built", () => {
    const { meta, tensors } = decodeCheckpoint(new Uint8Array(readFileSync(modelPath)));
    const wider = encodeCheckpoint(tensors, { ...meta, architecture: { kind: "cnn", image: [1, 28, 28], channels: [16, 64], hidden: [], outputs: 10 } });
    assert.throws(
      () => bp.loadModel(wider, { source: "x.bp" }),
      /x\.bp: the checkpoint's CNN \(channels 16, 64\) needs \d+ parameters, the checkpoint has 20490/,
    );
    const bad = encodeCheckpoint(tensors, { ...meta, architecture: { kind: "cnn", image: [1, 28], channels: [16, 32], hidden: [], outputs: 10 } });
    assert.throws(() => bp.loadModel(bad), /the checkpoint's CNN architecture: image must be \[channels, height, width\]/);
  });

  it("predict measures it on its test split with the accuracy training reported", async () => {
    const r = await cli("predict", "--model", modelPath, "--json");
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.examples, 200);
    assert.equal(out.accuracy, result.testAccuracy);
    const text = await cli("predict", "--model", modelPath);
    assert.match(text.out, /^CNN 16-32 \(1x28x28 -> 10\) on the digits test split \(200 examples\): accuracy /);
  });

  it("predict --input digit.png goes through the CNN", async () => {
    const loaded = bp.loadModel(new Uint8Array(readFileSync(modelPath)));
    const { test } = splitData("digits", 0, 0.2, 100);
    let agree = 0;
    for (let d = 0; d < 10; d++) {
      const k = test.y.indexOf(d);
      const digit = test.x.data.subarray(k * 784, (k + 1) * 784);
      // Black ink on white, as a scan or a drawing would be.
      const file = join(dir, `digit-${d}.png`);
      writeFileSync(file, encode({ width: 28, height: 28, data: Uint8Array.from(digit, (v) => Math.round(255 * (1 - v))), channels: 1, depth: 8 }));
      const r = await cli("predict", "--model", modelPath, "--input", file, "--json");
      assert.equal(r.code, 0, r.err);
      const got = JSON.parse(r.out).predictions[0];
      const expected = loaded.predict(readSamples(file, [784]).rows)[0];
      assert.equal(got.index, expected.index);
      assert.deepEqual(Object.values(got.probabilities), expected.probabilities);
      if (got.index === loaded.predict(Array.from(digit))[0].index) agree++;
    }
    // The PNG is re-centred as MNIST's digits were, so it is close to, not the same as, the original.
    assert.ok(agree >= 9, `PNG and original agree on ${agree} of 10`);
  });

  it("--hidden and --activation are refused for the CNN, and so is iris", async () => {
    let r = await cli("train", "--model", "cnn", "--hidden", "64");
    assert.equal(r.code, 1);
    assert.match(r.err, /--hidden applies to --model mlp only/);
    r = await cli("train", "--model", "cnn", "--activation", "tanh");
    assert.match(r.err, /--activation applies to --model mlp only/);
    r = await cli("train", "--model", "cnn", "--dataset", "iris");
    assert.match(r.err, /--model cnn needs --dataset digits/);
    r = await cli("train", "--model", "resnet");
    assert.match(r.err, /--model must be mlp or cnn, got "resnet"/);
  });

  it("export --format onnx: ONNX Runtime gives our probabilities within 1e-5, and fromOnnx reads the CNN back", async () => {
    const onnxPath = join(dir, "cnn.onnx");
    const r = await cli("export", "--format", "onnx", "--model", modelPath, "--out", onnxPath);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /CNN 16-32 \(1x28x28 -> 10\), input "input" \[batch, 784\]/);
    const loaded = bp.loadModel(new Uint8Array(readFileSync(modelPath)));
    const { test } = splitData("digits", 0, 0.2, 100);
    const n = 16;
    const x = Float32Array.from(test.x.data.subarray(0, n * 784));
    const bytes = new Uint8Array(readFileSync(onnxPath));
    const ort = await runOrt(bytes, x, [n, 784]);
    const ours = loaded.predict(new bp.Tensor(x, [n, 784]));
    // float32 throughout, summed in different orders: differences of a few ulps, far below 1e-5.
    ours.forEach((p, i) => p.probabilities.forEach((v, j) => assert.ok(Math.abs(v - ort.probabilities.data[i * 10 + j]) < 1e-5, `${i},${j}`)));
    const back = bp.fromOnnx(bytes);
    assert.deepEqual(
      back.model.layers.map((l) => l.constructor.name),
      loaded.model.layers.map((l) => l.constructor.name),
    );
    const a = loaded.model.forward(new bp.Tensor(x, [n, 784])).data;
    const b = back.model.forward(new bp.Tensor(x, [n, 784])).data;
    assert.deepEqual(Array.from(b), Array.from(a));
  });

  it("export --format safetensors writes the state dict in PyTorch's layout; --format pytorch says it writes MLPs", async () => {
    const out = join(dir, "cnn.safetensors");
    const r = await cli("export", "--format", "safetensors", "--model", modelPath, "--out", out);
    assert.equal(r.code, 0, r.err);
    const { tensors } = bp.loadSafetensors(new Uint8Array(readFileSync(out)));
    const shapes = Object.fromEntries([...tensors].map(([k, t]) => [k, t.shape]));
    assert.deepEqual(shapes["layers.1.weight"], [16, 1, 3, 3]);
    assert.deepEqual(shapes["layers.8.weight"], [10, 1568]);
    const p = await cli("export", "--format", "pytorch", "--model", modelPath, "--out", join(dir, "torch"));
    assert.equal(p.code, 1);
    assert.match(p.err, /--format pytorch writes MLPs only; this checkpoint holds a CNN 16-32/);
  });

  it("PyTorch loads the safetensors into the same network and gives our logits", { skip: noPythonTorch || undefined }, async () => {
    const st = join(dir, "cnn.safetensors");
    const loaded = bp.loadModel(new Uint8Array(readFileSync(modelPath)));
    const { test } = splitData("digits", 0, 0.2, 100);
    const n = 8;
    const xs = Array.from({ length: n }, (_, i) => Array.from(test.x.data.subarray(i * 784, (i + 1) * 784)));
    const script = `
import sys, json, torch
from torch import nn
sd = {}
# safetensors without the safetensors package: an 8-byte header length, a JSON header, raw little-endian data.
raw = open(sys.argv[1], "rb").read()
n = int.from_bytes(raw[:8], "little")
header = json.loads(raw[8:8 + n])
for k, v in header.items():
    if k == "__metadata__": continue
    a, b = v["data_offsets"]
    sd[k] = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=torch.float32).reshape(v["shape"])
inner = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10))
model = nn.Module(); model.layers = inner
model.load_state_dict(sd)
x = torch.tensor(json.loads(sys.stdin.read()), dtype=torch.float32)
print(json.dumps(inner(x).tolist()))
`;
    const out = execFileSync(PY, ["-c", script, st], { input: JSON.stringify(xs) }).toString();
    const theirs: number[][] = JSON.parse(out);
    const ours = loaded.model.forward(new bp.Tensor(Float32Array.from(xs.flat()), [n, 784])).data;
    // float32 convolutions summed in other orders: logits of size ~10 agree to about 1e-5.
    theirs.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - ours[i * 10 + j]) < 1e-4, `${i},${j}: ${v} vs ${ours[i * 10 + j]}`)));
  });

  it("explain-model --model says it describes MLPs (no crash)", async () => {
    const r = await cli("explain-model", "--model", modelPath);
    assert.equal(r.code, 1);
    assert.match(r.err, /explain-model describes MLPs; this checkpoint holds a CNN 16-32/);
  });
});
