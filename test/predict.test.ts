/**
 * Models a user can deploy: checkpoints that keep their feature scaling, input shape and class names;
 * bp.saveModel/loadModel/predict on raw features; `backprop predict --input` with JSON, CSV, .npy and
 * PNG digits; and the MNIST-style centring of digit pictures (src/data/digit-image.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode, type ImageData } from "fast-png";
import * as bp from "../src/index.js";
import { loadModel as loadModelNode } from "../src/node/saved-model.js";
import { loadIris } from "../src/node/datasets.js";
import { splitData } from "../src/cli/train.js";
import { encodeCheckpoint } from "../src/nn/checkpoint.js";
import { writeNpy } from "../src/data/npy.js";
import { centerDigit, grayFromRgba, DigitImageError } from "../src/data/digit-image.js";
import { readSamples } from "../src/cli/predict-input.js";
import { cli } from "./cli-helper.js";

const dir = mkdtempSync(join(tmpdir(), "backprop-predict-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Rows 0, 50 and 100 of Fisher's data: a clear setosa, versicolor and virginica, raw centimetres. */
const FLOWERS = [
  [5.1, 3.5, 1.4, 0.2],
  [7.0, 3.2, 4.7, 1.4],
  [6.3, 3.3, 6.0, 2.5],
];
const SPECIES = ["setosa", "versicolor", "virginica"];

async function trainIris(path: string): Promise<number> {
  const r = await cli("train", "--dataset", "iris", "--hidden", "16", "--epochs", "30", "--batch", "16", "--lr", "0.05", "--save", path, "--json");
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out.trim().split("\n").pop()!).testAccuracy;
}

describe("standardizer", () => {
  it("exposes the training set's mean and population std per feature; standardize applies the same", () => {
    const x = bp.tensor([1, 10, 3, 10, 5, 10], { shape: [3, 2] });
    const ds = { name: "t", x, y: Int32Array.from([0, 1, 0]), classes: ["a", "b"] };
    const s = bp.standardizer(ds);
    assert.deepEqual(s.mean, [3, 10]);
    // std of 1, 3, 5 = sqrt(8/3); a constant feature gets 1 so that it is left as it is.
    assert.ok(Math.abs(s.std[0] - Math.sqrt(8 / 3)) < 1e-12);
    assert.equal(s.std[1], 1);
    const [viaStandardize] = bp.standardize(ds);
    assert.deepEqual(Array.from(s.apply(ds).x.data), Array.from(viaStandardize.x.data));
    assert.ok(Math.abs(s.apply(ds).x.data[0] + 2 / Math.sqrt(8 / 3)) < 1e-6);
  });
});

describe("saved models keep what prediction needs", () => {
  const path = join(dir, "iris.bp");
  let testAccuracy = 0;
  before(async () => {
    testAccuracy = await trainIris(path);
  });

  it("train --save stores inputShape, classes, the standardization and the training settings", () => {
    const { meta } = bp.modelFromCheckpoint(new Uint8Array(readFileSync(path)));
    assert.deepEqual(meta.inputShape, [4]);
    assert.deepEqual(meta.classes, SPECIES);
    assert.deepEqual(meta.architecture, { kind: "mlp", sizes: [4, 16, 3], activation: "relu" });
    assert.deepEqual(meta.training, { optimizer: "sgd", lr: 0.05, momentum: 0.9, batch: 16, epochs: 30, seed: 0 });
    // The statistics of the training split of seed 0, recomputed independently.
    const { train } = bp.trainTestSplit(loadIris(), 0.2, new bp.Rng(0));
    const s = bp.standardizer(train);
    assert.deepEqual(meta.preprocess, { kind: "standardize", mean: s.mean, std: s.std });
    assert.ok(meta.preprocess!.mean[2] > 3 && meta.preprocess!.mean[2] < 4.5, "petal length mean in cm");
  });

  it("the user's story: bp.loadModel(bytes).predict(raw flowers) gives setosa, versicolor, virginica", () => {
    const loaded = bp.loadModel(new Uint8Array(readFileSync(path)));
    const p = loaded.predict(FLOWERS);
    assert.deepEqual(
      p.map((q) => q.label),
      SPECIES,
    );
    assert.deepEqual(
      p.map((q) => q.index),
      [0, 1, 2],
    );
    for (const q of p) {
      assert.equal(q.probabilities.length, 3);
      assert.ok(Math.abs(q.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      assert.ok(q.probabilities[q.index] > 0.5);
    }
    // What went wrong before: the same network fed raw centimetres (no scaling) gets classes wrong.
    // (A new checkpoint without preprocess means identity, even for "iris": only old ones, without inputShape, are rescaled.)
    const unscaled = loadModelNode(bp.saveModel(loaded.model, { ...loaded.meta, preprocess: undefined }));
    assert.notDeepEqual(
      unscaled.predict(FLOWERS).map((q) => q.label),
      SPECIES,
    );
  });

  it("predict takes one sample, a list, or a Tensor (n, 4) or (4); probabilities are softmax(network(scaled x))", () => {
    const { model, meta, predict } = bp.loadModel(new Uint8Array(readFileSync(path)));
    // A float32 tensor holds the float32 nearest to each value: the lists compared with it hold the same.
    const f32 = FLOWERS.map((r) => r.map(Math.fround));
    const one = predict(f32[1]);
    assert.equal(one.length, 1);
    assert.deepEqual(predict(bp.tensor(FLOWERS[1])), one);
    assert.deepEqual(predict(bp.tensor(FLOWERS)), predict(f32));
    const { mean, std } = meta.preprocess!;
    const scaled = bp.tensor(FLOWERS.map((r) => r.map((v, j) => (v - mean[j]) / std[j])));
    const expected = bp.softmax(model.forward(scaled), -1).data;
    // float32 network, float64 softmax: the two agree to float32 rounding.
    predict(FLOWERS).forEach((q, i) => q.probabilities.forEach((v, j) => assert.ok(Math.abs(v - expected[i * 3 + j]) < 1e-6, `${i},${j}`)));
  });

  it("bad samples are errors that say which sample and what", () => {
    const { predict } = bp.loadModel(new Uint8Array(readFileSync(path)));
    assert.throws(() => predict([FLOWERS[0], [1, 2, 3, 4, 5]]), /sample 2 has 5 values, the model takes 4/);
    assert.throws(() => predict([1, 2, NaN, 4]), /sample 1, value 3 is NaN: features must be finite/);
    assert.throws(() => predict(bp.tensor([[1, 2, 3]])), /shape \(1, 3\) does not fit the model's input \(4\)/);
    assert.throws(() => predict([]), /at least one sample/);
  });

  it("saveModel checks its metadata as loading does; extra fields survive the round trip", () => {
    const model = bp.mlp([4, 5, 3], { rng: new bp.Rng(1) });
    const architecture = { kind: "mlp" as const, sizes: [4, 5, 3], activation: "tanh" as const };
    assert.throws(() => bp.saveModel(model, { architecture, classes: ["a", "b"] }), /names 2 classes, the network has 3 outputs/);
    assert.throws(() => bp.saveModel(model, { architecture, inputShape: [5] }), /inputShape \(5\) has 5 values per sample, the network takes 4/);
    assert.throws(
      () => bp.saveModel(model, { architecture, preprocess: { kind: "standardize", mean: [0, 0, 0, 0], std: [1, 0, 1, 1] } }),
      /preprocess.std must be 4 positive/,
    );
    assert.throws(() => bp.saveModel(model, { architecture: { ...architecture, sizes: [4, 6, 3] } }), /needs 51 parameters, the checkpoint has 43/);
    const loaded = bp.loadModel(bp.saveModel(model, { architecture, inputShape: [2, 2], note: "mine" }));
    assert.deepEqual(loaded.meta.inputShape, [2, 2]);
    assert.deepEqual(loaded.meta.classes, ["0", "1", "2"]);
    assert.equal(loaded.meta.note, "mine");
    assert.equal(loaded.meta.preprocess, undefined);
    assert.equal(
      loaded.predict(
        bp.tensor([
          [1, 2],
          [3, 4],
        ]),
      ).length,
      1,
    );
    assert.equal(loaded.predict([1, 2, 3, 4]).length, 1);
  });

  it("an iris checkpoint from before (no preprocess, no inputShape) still predicts right: the scaling is recomputed from its split", async () => {
    const current = bp.modelFromCheckpoint(new Uint8Array(readFileSync(path)));
    const legacyMeta = {
      architecture: current.meta.architecture,
      dataset: "iris",
      classes: SPECIES,
      seed: 0,
      testFraction: 0.2,
      perClass: null,
      testAccuracy,
    };
    const bytes = encodeCheckpoint(current.model.namedParameters(), legacyMeta);
    // The browser-safe loader cannot know the scaling and says so rather than answering wrongly.
    assert.throws(() => bp.loadModel(bytes).predict(FLOWERS), /predates stored feature scaling/);
    assert.deepEqual(
      loadModelNode(bytes)
        .predict(FLOWERS)
        .map((q) => q.label),
      SPECIES,
    );
    const legacyPath = join(dir, "legacy.bp");
    writeFileSync(legacyPath, bytes);
    const r = await cli("predict", "--model", legacyPath, "--input", JSON.stringify(FLOWERS));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sample 1: setosa \(\d+\.\d\d%\)\nsample 2: versicolor .*\nsample 3: virginica/);
    const split = await cli("predict", "--model", legacyPath, "--json");
    assert.equal(JSON.parse(split.out).accuracy, testAccuracy);
  });
});

describe("backprop predict --input", () => {
  const model = join(dir, "iris-cli.bp");
  let testAccuracy = 0;
  before(async () => {
    testAccuracy = await trainIris(model);
  });
  const predict = (...args: string[]) => cli("predict", "--model", model, ...args);

  it("without --input: accuracy and confusion matrix on the test split, as before", async () => {
    const r = await predict("--json");
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.accuracy, testAccuracy);
    assert.equal(j.examples, 30);
    assert.deepEqual(j.classes, SPECIES);
    assert.equal(
      j.confusion.flat().reduce((a: number, b: number) => a + b, 0),
      30,
    );
  });

  it("one sample or a list, as JSON on the command line; --json gives class, index and probabilities by name", async () => {
    const r = await predict("--input", "[5.1,3.5,1.4,0.2]");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sample 1: setosa \((\d+\.\d\d)%\)$/);
    const j = await predict("--input", JSON.stringify(FLOWERS), "--json");
    const { predictions } = JSON.parse(j.out);
    assert.deepEqual(
      predictions.map((p: { class: string }) => p.class),
      SPECIES,
    );
    assert.deepEqual(
      predictions.map((p: { index: number }) => p.index),
      [0, 1, 2],
    );
    assert.deepEqual(Object.keys(predictions[0]), ["index", "class", "probabilities"]);
    assert.deepEqual(Object.keys(predictions[0].probabilities), SPECIES);
    const lib = bp.loadModel(new Uint8Array(readFileSync(model))).predict(FLOWERS);
    assert.deepEqual(
      predictions.map((p: { probabilities: Record<string, number> }) => Object.values(p.probabilities)),
      lib.map((q) => q.probabilities),
    );
  });

  it("CSV with a header row, JSON and .npy files: one prediction per sample", async () => {
    const csv = join(dir, "flowers.csv");
    writeFileSync(csv, "sepal_length,sepal_width,petal_length,petal_width\n" + FLOWERS.map((r) => r.join(",")).join("\r\n") + "\n\n");
    const json = join(dir, "flowers.json");
    writeFileSync(json, JSON.stringify(FLOWERS));
    const npy = join(dir, "flowers.npy");
    writeFileSync(npy, writeNpy({ dtype: "float64", shape: [3, 4], data: Float64Array.from(FLOWERS.flat()) }));
    const headerless = join(dir, "one.csv");
    writeFileSync(headerless, "6.3, 3.3, 6.0, 2.5");
    for (const file of [csv, json, npy]) {
      const r = await predict("--input", file, "--json");
      assert.equal(r.code, 0, `${file}: ${r.err}`);
      assert.deepEqual(
        JSON.parse(r.out).predictions.map((p: { class: string }) => p.class),
        SPECIES,
        file,
      );
    }
    assert.match((await predict("--input", headerless)).out, /^sample 1: virginica/);
  });

  it("errors say what and where", async () => {
    const err = async (args: string[], pattern: RegExp) => {
      const r = await predict(...args);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, pattern);
    };
    const csv = join(dir, "bad.csv");
    writeFileSync(csv, "a,b,c,d\n5.1,3.5,1.4,0.2\n6.4,3.2,oops,1.5\n");
    await err(["--input", csv], /bad\.csv: line 3, column 3: "oops" is not a number/);
    writeFileSync(csv, "5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2,9\n");
    await err(["--input", csv], /sample 4 \(line 4 of .*bad\.csv\) has 5 values, the model takes 4/);
    writeFileSync(csv, "5.1,3.5,1e999,0.2\n");
    await err(["--input", csv], /line 1, column 3: 1e999 is not a finite number/);
    await err(["--input", "[[5.1,3.5,1.4,0.2],[1,2,3]]"], /sample 2 has 3 values, the model takes 4/);
    await err(["--input", "[5.1,3.5"], /--input is not valid JSON/);
    await err(["--input", '[[1,2,3,4],"x"]'], /sample 2 is not a list of numbers/);
    // JSON that is not a list is reported as such, not looked up as a file.
    await err(["--input", '{"x":1}'], /--input must be a non-empty list of numbers, or a list of such lists/);
    const npy = join(dir, "nan.npy");
    writeFileSync(npy, writeNpy({ dtype: "float32", shape: [2, 4], data: Float32Array.from([1, 2, 3, 4, NaN, 2, 3, 4]) }));
    await err(["--input", npy], /sample 2 of .*nan\.npy, value 1 is NaN: features must be finite numbers/);
    writeFileSync(npy, writeNpy({ dtype: "float32", shape: [2, 3], data: new Float32Array(6) }));
    await err(["--input", npy], /shape \(2, 3\) does not fit the model's input \(4\)/);
    writeFileSync(join(dir, "flowers.txt"), "5.1 3.5 1.4 0.2");
    await err(["--input", join(dir, "flowers.txt")], /give a \.csv, \.json, \.npy or \.png file, or a JSON list/);
    await err(["--input", join(dir, "missing.csv")], /missing\.csv: no such file/);
    await err(["--input", dir], /is a directory/);
    const png = join(dir, "x.png");
    writeFileSync(png, encode({ width: 2, height: 2, data: new Uint8Array(4), channels: 1, depth: 8 }));
    await err(["--input", png], /an image is read as 28x28 pixels for a digits model \(784 inputs\); this model takes 4/);
    const r = await predict("--input", "[1,2]", "--json");
    assert.match(JSON.parse(r.out).error, /sample 1 has 2 values, the model takes 4/);
  });
});

/** Centre of mass in pixel indices (as MNIST's digits have theirs near pixel (14, 14)) and the ink's bounding box. */
function geometry(img: Float32Array, w = 28) {
  let [m, mx, my] = [0, 0, 0];
  let [x0, y0, x1, y1] = [w, w, -1, -1];
  img.forEach((v, k) => {
    const [x, y] = [k % w, Math.floor(k / w)];
    m += v;
    mx += v * x;
    my += v * y;
    if (v > 0) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  });
  return { cx: mx / m, cy: my / m, x0, y0, y1, width: x1 - x0 + 1, height: y1 - y0 + 1, mass: m };
}

/** A white-background picture with black shapes drawn by `ink(x, y)` (true = ink). */
function paper(width: number, height: number, ink: (x: number, y: number) => boolean): Float32Array {
  return Float32Array.from({ length: width * height }, (_, k) => (ink(k % width, Math.floor(k / width)) ? 0 : 1));
}

describe("digit pictures are centred like MNIST's", () => {
  // An L: a tall bar and a foot, so that the centre of mass is far from the box's centre. Off-centre in 100x60.
  const L = paper(100, 60, (x, y) => (x >= 60 && x < 66 && y >= 10 && y < 50) || (x >= 60 && x < 80 && y >= 44 && y < 50));

  it("centre of mass at (14, 14) within half a pixel; the box fits 20x20 with its long side 20", () => {
    const g = geometry(centerDigit(L, 100, 60));
    assert.ok(Math.abs(g.cx - 14) <= 0.5 && Math.abs(g.cy - 14) <= 0.5, `centre of mass (${g.cx}, ${g.cy})`);
    assert.equal(g.height, 20);
    // 20 of 40 pixels high is a scale of 1/2: the 20-pixel foot becomes 10.
    assert.equal(g.width, 10);
    // The L's mass sits left in its box, so the box lands right of where centring the box would put it (x 9).
    assert.equal(g.x0, 12);
  });

  it("area averaging keeps the ink: a 40x40 solid square becomes 20x20 of ones", () => {
    const sq = centerDigit(
      paper(90, 70, (x, y) => x >= 10 && x < 50 && y >= 5 && y < 45),
      90,
      70,
    );
    const g = geometry(sq);
    assert.deepEqual([g.width, g.height, g.mass], [20, 20, 400]);
    // Its centre of mass is at index 9.5 of the 20x20 box: half a pixel off is as close as whole pixels get.
    assert.deepEqual([g.cx, g.cy], [14.5, 14.5]);
  });

  it("black on white and white on black give the same input; so do strokes on a transparent background", () => {
    const inverted = Float32Array.from(L, (v) => 1 - v);
    assert.deepEqual(centerDigit(inverted, 100, 60), centerDigit(L, 100, 60));
    const rgba = new Uint8Array(4 * L.length);
    L.forEach((v, k) => rgba.set([200, 30, 30, v === 0 ? 255 : 0], 4 * k)); // red strokes, transparent elsewhere
    assert.deepEqual(centerDigit(grayFromRgba(rgba, 100, 60), 100, 60), centerDigit(L, 100, 60));
  });

  it("a thin digit keeps its aspect ratio; a gray background is removed", () => {
    const one = Float32Array.from(
      paper(50, 80, (x, y) => x >= 20 && x < 25 && y >= 10 && y < 70),
      (v) => 0.3 + 0.5 * v, // dark gray ink on light gray paper
    );
    const out = centerDigit(one, 50, 80);
    const g = geometry(out);
    assert.equal(g.height, 20);
    assert.equal(g.width, 2); // 5 * 20/60 = 1.67 rounds to 2
    assert.equal(Math.max(...out), 1);
  });

  it("a digit whose mass sits at one end stays whole inside the field", () => {
    // A bar with a heavy blob at its top: centring the mass would push the bar's foot out of the field.
    const img = paper(60, 60, (x, y) => (x >= 28 && x < 30 && y >= 10 && y < 50) || (x >= 20 && x < 38 && y >= 10 && y < 18));
    const g = geometry(centerDigit(img, 60, 60));
    // 208 ink pixels at a scale of 1/2 (the 40-pixel height to 20): all 52 of the ink is there.
    assert.ok(Math.abs(g.mass - 52) < 1e-4, `mass ${g.mass}`);
    assert.deepEqual([g.height, g.y1], [20, 27]);
    assert.ok(Math.abs(g.cy - 14) < 1.5, `centre of mass y ${g.cy}`);
  });

  it("a blank or malformed image is an error, not a guess", () => {
    assert.throws(
      () => centerDigit(new Float32Array(100).fill(0.7), 10, 10),
      (e: Error) => e instanceof DigitImageError && /no digit/.test(e.message),
    );
    assert.throws(() => centerDigit(new Float32Array(10), 4, 4), /a 4x4 image has 16 pixels, got 10/);
    assert.throws(
      () =>
        centerDigit(
          Float32Array.from({ length: 4 }, () => NaN),
          2,
          2,
        ),
      /pixel 0,0 is NaN/,
    );
  });
});

/** The 28x28 image at a fractional position, 0 outside. */
function bilinear(img: readonly number[], x: number, y: number): number {
  const at = (i: number, j: number) => (i >= 0 && i < 28 && j >= 0 && j < 28 ? img[j * 28 + i] : 0);
  const [i, j] = [Math.floor(x), Math.floor(y)];
  const [fx, fy] = [x - i, y - j];
  return (1 - fy) * ((1 - fx) * at(i, j) + fx * at(i + 1, j)) + fy * ((1 - fx) * at(i, j + 1) + fx * at(i + 1, j + 1));
}

describe("backprop predict --input digit.png", () => {
  it("a real test digit rendered as a 90x70 black-on-white PNG, off-centre, gets the same class as the original 28x28 (at least 9 of 10)", async () => {
    const modelPath = join(dir, "digits.bp");
    // The default model on all the digits (5 s with the native backend); the digits come from its test split, unseen.
    const t = await cli("train", "--dataset", "digits", "--epochs", "5", "--save", modelPath, "--json");
    assert.equal(t.code, 0, t.err);
    const loaded = bp.loadModel(new Uint8Array(readFileSync(modelPath)));
    const { test } = splitData("digits", 0, 0.2);
    const agree: boolean[] = [];
    const originals: number[] = [];
    for (let d = 0; d < 10; d++) {
      const k = test.y.indexOf(d); // the first test example of digit d
      const original = Array.from(test.x.data.subarray(k * 784, (k + 1) * 784));
      const expected = loaded.predict(original)[0].index;
      originals.push(expected);
      // 2.1 times the size (bilinear), at an offset that moves with d, black ink on white.
      const [w, h, ox, oy, size] = [90, 70, 4 + 3 * d, 2 + d, 59];
      const gray = new Uint8Array(w * h).fill(255);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          gray[(oy + y) * w + ox + x] = Math.round(255 * (1 - bilinear(original, ((x + 0.5) * 28) / size - 0.5, ((y + 0.5) * 28) / size - 0.5)));
      // Each of four PNG colour types: gray, RGB, RGBA and a palette.
      let png: ImageData;
      if (d % 4 === 0) png = { width: w, height: h, data: gray, channels: 1, depth: 8 };
      else if (d % 4 === 1)
        png = { width: w, height: h, data: Uint8Array.from({ length: 3 * w * h }, (_, i) => gray[Math.floor(i / 3)]), channels: 3, depth: 8 };
      else if (d % 4 === 2)
        png = { width: w, height: h, data: Uint8Array.from({ length: 4 * w * h }, (_, i) => (i % 4 === 3 ? 255 : gray[i >> 2])), channels: 4, depth: 8 };
      else png = { width: w, height: h, data: gray, channels: 1, depth: 8, palette: Array.from({ length: 256 }, (_, v) => [v, v, v]) };
      const file = join(dir, `digit-${d}.png`);
      writeFileSync(file, encode(png));
      const r = await cli("predict", "--model", modelPath, "--input", file, "--json");
      assert.equal(r.code, 0, r.err);
      agree.push(JSON.parse(r.out).predictions[0].index === expected);
    }
    // The model is not trivial (it tells most of these apart), so agreement means something.
    assert.ok(new Set(originals).size >= 7, `the model's classes for the 10 originals: ${originals}`);
    assert.ok(agree.filter(Boolean).length >= 9, `agreement: ${agree}`);
    console.log(`# PNG and original agree on ${agree.filter(Boolean).length} of 10`);
  });
});

describe("PNG colour types and bit depths", () => {
  // A black L on white, 30x20, as 8-bit gray: the reference every other encoding must reproduce.
  const [w, h] = [30, 20];
  const ink = (x: number, y: number) => (x >= 8 && x < 12 && y >= 3 && y < 17) || (x >= 8 && x < 20 && y >= 13 && y < 17);
  const reference = Array.from(centerDigit(paper(w, h, ink), w, h));
  const read = (png: ImageData, name: string) => {
    const file = join(dir, name);
    writeFileSync(file, encode(png));
    return readSamples(file, [784]).rows[0];
  };
  const gray8 = Uint8Array.from({ length: w * h }, (_, k) => (ink(k % w, Math.floor(k / w)) ? 0 : 255));

  it("8 and 16-bit gray, gray with alpha, RGB, RGBA, a palette and 1-bit gray all give the same 784 values", () => {
    const variants: [string, ImageData][] = [
      ["gray8.png", { width: w, height: h, data: gray8, channels: 1, depth: 8 }],
      ["gray16.png", { width: w, height: h, data: Uint16Array.from(gray8, (v) => v * 257), channels: 1, depth: 16 }],
      ["ga.png", { width: w, height: h, data: Uint8Array.from({ length: 2 * w * h }, (_, i) => (i % 2 ? 255 : gray8[i >> 1])), channels: 2, depth: 8 }],
      ["rgb16.png", { width: w, height: h, data: Uint16Array.from({ length: 3 * w * h }, (_, i) => gray8[Math.floor(i / 3)] * 257), channels: 3, depth: 16 }],
      [
        "palette.png",
        {
          width: w,
          height: h,
          data: Uint8Array.from(gray8, (v) => (v ? 1 : 0)),
          channels: 1,
          depth: 8,
          palette: [
            [0, 0, 0],
            [255, 255, 255],
          ],
        },
      ],
    ];
    // 1-bit gray: 30 pixels a row packed in 4 bytes, the first pixel in the high bit.
    const packed = new Uint8Array(4 * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (!ink(x, y)) packed[y * 4 + (x >> 3)] |= 0x80 >> (x & 7);
    variants.push(["gray1.png", { width: w, height: h, data: packed, channels: 1, depth: 1 }]);
    for (const [name, png] of variants) {
      const got = read(png, name);
      assert.equal(got.length, 784, name);
      // Rec. 601 weights sum to 1 up to rounding, so gray from RGB may differ in the last bits.
      got.forEach((v, k) => assert.ok(Math.abs(v - reference[k]) < 1e-6, `${name} pixel ${k}: ${v} vs ${reference[k]}`));
    }
  });

  it("a PNG that is not one, or one of a single colour, is an error naming the file", () => {
    const bad = join(dir, "bad.png");
    writeFileSync(bad, "not a png");
    assert.throws(() => readSamples(bad, [784]), /bad\.png: not a readable PNG/);
    const flat = join(dir, "flat.png");
    writeFileSync(flat, encode({ width: 8, height: 8, data: new Uint8Array(64).fill(200), channels: 1, depth: 8 }));
    assert.throws(() => readSamples(flat, [784]), /flat\.png: the image has no digit: it is all one shade/);
  });
});
