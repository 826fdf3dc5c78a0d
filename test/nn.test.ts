/** Neural networks: layers, explicit layer API vs autograd, optimizers, diagnostics, checkpoints, training, CLI. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bp from "../src/index.js";
import { loadDigits, loadIris } from "../src/node/datasets.js";
import { loadModel, saveModel, writeFileAtomic } from "../src/cli/files.js";
import { cli } from "./cli-helper.js";
import { assertClose, randTensor } from "./helpers.js";

const f64 = (shape: number[], seed: number) => randTensor(shape, new bp.Rng(seed));

describe("explicit layer API: each backward passes gradcheck", () => {
  const numeric = (f: (...xs: bp.Tensor[]) => bp.Tensor, xs: bp.Tensor[], index: number) => bp.gradcheck(f, xs).inputs[index].numeric;

  it("affineForward/affineBackward", () => {
    const [x, w, b, dout] = [f64([4, 3], 1), f64([3, 5], 2), f64([5], 3), f64([4, 5], 4)];
    const [out, cache] = bp.affineForward(x, w, b);
    assertClose(out.data, bp.add(bp.matmul(x, w), b).data, 1e-12, "out");
    const { dx, dw, db } = bp.affineBackward(dout, cache);
    // Central differences of the explicit forward itself.
    const f = (a: bp.Tensor, c: bp.Tensor, d: bp.Tensor) => bp.sum(bp.mul(bp.affineForward(a, c, d)[0], dout));
    assertClose(dx.data, numeric(f, [x, w, b], 0), 1e-6, "dx");
    assertClose(dw.data, numeric(f, [x, w, b], 1), 1e-6, "dw");
    assertClose(db.data, numeric(f, [x, w, b], 2), 1e-6, "db");
    assert.deepEqual([dx.shape, dw.shape, db.shape], [[4, 3], [3, 5], [5]]);
  });

  it("reluForward/reluBackward, and the gradient dies where the input was negative", () => {
    const x = bp.tensor(
      [
        [-1, 2],
        [3, -4],
      ],
      { dtype: "float64" },
    );
    const [out, cache] = bp.reluForward(x);
    assert.deepEqual(out.toArray(), [
      [0, 2],
      [3, 0],
    ]);
    assert.deepEqual(bp.reluBackward(bp.onesLike(x), cache).toArray(), [
      [0, 1],
      [1, 0],
    ]);
    const y = f64([3, 4], 5);
    const dout = f64([3, 4], 6);
    const f = (a: bp.Tensor) => bp.sum(bp.mul(bp.reluForward(a)[0], dout));
    assertClose(bp.reluBackward(dout, bp.reluForward(y)[1]).data, numeric(f, [y], 0), 1e-6, "relu");
  });

  it("sigmoidForward/sigmoidBackward", () => {
    const x = f64([3, 4], 7);
    const dout = f64([3, 4], 8);
    const [, cache] = bp.sigmoidForward(x);
    const f = (a: bp.Tensor) => bp.sum(bp.mul(bp.sigmoidForward(a)[0], dout));
    assertClose(bp.sigmoidBackward(dout, cache).data, numeric(f, [x], 0), 1e-6, "sigmoid");
  });

  it("softmaxLoss gives the mean cross-entropy and (softmax - onehot) / N", () => {
    const logits = f64([5, 4], 9);
    const y = [0, 3, 1, 2, 3];
    const { loss, dlogits } = bp.softmaxLoss(logits, y);
    assert.ok(Math.abs(loss - bp.crossEntropy(logits, y).item()) < 1e-12);
    assertClose(
      dlogits.data,
      numeric((a) => bp.crossEntropy(a, y), [logits], 0),
      1e-6,
      "dlogits",
    );
  });
});

describe("hand-chained layers equal autograd (the lecture's network)", () => {
  it("Linear -> ReLU -> Linear -> softmax cross-entropy, float64, to 1e-10", () => {
    const rng = new bp.Rng(11);
    const model = bp.mlp([6, 8, 3], { rng, dtype: "float64", init: "normal" });
    const [l1, , l2] = model.layers as [bp.Linear, bp.ReLU, bp.Linear];
    const x = f64([5, 6], 12);
    const y = [2, 0, 1, 1, 2];
    // autograd
    bp.crossEntropy(model.forward(x), y).backward();
    // by hand, right to left
    const [h1, c1] = bp.affineForward(x, l1.weight, l1.bias!);
    const [a1, cr] = bp.reluForward(h1);
    const [logits, c2] = bp.affineForward(a1, l2.weight, l2.bias!);
    const { dlogits } = bp.softmaxLoss(logits, y);
    const g2 = bp.affineBackward(dlogits, c2);
    const da1 = bp.reluBackward(g2.dx, cr);
    const g1 = bp.affineBackward(da1, c1);
    assertClose(g2.dw.data, l2.weight.grad!.data, 1e-10, "dW2");
    assertClose(g2.db.data, l2.bias!.grad!.data, 1e-10, "db2");
    assertClose(g1.dw.data, l1.weight.grad!.data, 1e-10, "dW1");
    assertClose(g1.db.data, l1.bias!.grad!.data, 1e-10, "db1");
  });
});

describe("optimizers: update math against hand-computed values", () => {
  const param = (values: number[]) => bp.tensor(values, { dtype: "float64", requiresGrad: true });
  const setGrad = (p: bp.Tensor, g: number[]) => (p.grad = bp.tensor(g, { dtype: "float64" }));

  it("SGD: weights -= lr * gradient", () => {
    const p = param([1, -2]);
    const opt = new bp.SGD([p], { lr: 0.1 });
    setGrad(p, [0.5, -1]);
    opt.step();
    assertClose(p.data, [0.95, -1.9], 1e-15, "sgd");
  });

  it("SGD with momentum, Nesterov and weight decay (PyTorch's formulas)", () => {
    const p = param([1]);
    const opt = new bp.SGD([p], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [1]);
    opt.step(); // v = 1, w = 0.9
    setGrad(p, [1]);
    opt.step(); // v = 1.9, w = 0.71
    assertClose(p.data, [0.71], 1e-15, "momentum");
    const q = param([1]);
    const nest = new bp.SGD([q], { lr: 0.1, momentum: 0.9, nesterov: true });
    setGrad(q, [1]);
    nest.step(); // v = 1, step g + mu v = 1.9 -> 0.81
    assertClose(q.data, [0.81], 1e-15, "nesterov");
    const r = param([2]);
    const wd = new bp.SGD([r], { lr: 0.1, weightDecay: 0.5 });
    setGrad(r, [1]);
    wd.step(); // g = 1 + 0.5 * 2 = 2 -> 1.8
    assertClose(r.data, [1.8], 1e-15, "weight decay");
    assert.throws(() => new bp.SGD([param([1])], { lr: -1 }), /SGD: invalid learning rate -1/);
  });

  it("Adam with bias correction: the first step moves each weight by lr", () => {
    const p = param([1, 1]);
    const opt = new bp.Adam([p], { lr: 0.01 });
    setGrad(p, [0.3, -5]);
    opt.step();
    assertClose(p.data, [1 - 0.01 * (0.3 / (0.3 + 1e-8)), 1 + 0.01 * (5 / (5 + 1e-8))], 1e-12, "adam step 1");
    setGrad(p, [0.1, -5]);
    opt.step();
    // step 2 by hand for the first weight
    const m = 0.9 * 0.1 * 0.3 + 0.1 * 0.1;
    const v = 0.999 * 0.001 * 0.09 + 0.001 * 0.01;
    const w = 1 - 0.01 * (0.3 / (0.3 + 1e-8)) - (0.01 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    assertClose([p.data[0]], [w], 1e-12, "adam step 2");
  });

  it("AdamW decouples weight decay from the gradient", () => {
    const p = param([2]);
    const opt = new bp.AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    setGrad(p, [1]);
    opt.step(); // w -= 0.1 * 0.5 * 2 -> 1.9, then the Adam step of size 0.1 -> 1.8
    assertClose(p.data, [1.8], 1e-7, "adamw");
    const q = param([2]);
    const l2 = new bp.Adam([q], { lr: 0.1, weightDecay: 0.5 });
    setGrad(q, [1]);
    l2.step(); // the L2 term only changes the gradient's size, and Adam's first step is lr in magnitude
    assertClose(q.data, [1.9], 1e-7, "adam l2");
  });

  it("updates in place, without replacing the parameter's buffer", () => {
    const p = param([1, 2, 3]);
    const data = p.data;
    const opt = new bp.Adam([p]);
    p.grad = bp.onesLike(p);
    opt.step();
    assert.equal(p.data, data);
  });
});

describe("diagnostics", () => {
  it("parameter counts: [8,10,10,3] has 210 weights and 233 parameters with biases", () => {
    const c = bp.parameterCounts(bp.mlp([8, 10, 10, 3]));
    assert.deepEqual([c.weights, c.biases, c.total], [210, 23, 233]);
    assert.deepEqual(
      c.layers.map((l) => [l.name, l.weights, l.biases]),
      [
        ["layers.0", 80, 10],
        ["layers.2", 100, 10],
        ["layers.4", 30, 3],
      ],
    );
  });

  it("names parameters by their place, and gradient norms per parameter", () => {
    const m = bp.mlp([3, 4, 2], { rng: new bp.Rng(1) });
    assert.deepEqual(
      m.namedParameters().map(([n]) => n),
      ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"],
    );
    assert.equal(bp.gradientNorms(m)[0].norm, null);
    bp.crossEntropy(m.forward(bp.ones([2, 3])), [0, 1]).backward();
    const norms = bp.gradientNorms(m);
    assert.ok(norms.every((n) => n.norm !== null && n.norm >= 0));
    const g = m.namedParameters()[3][1].grad!;
    assert.ok(Math.abs(norms[3].norm! - Math.hypot(...g.data)) < 1e-6);
  });

  it("warns when a layer's weights are all equal (symmetry never breaks)", () => {
    const m = bp.mlp([4, 3, 2]);
    (m.layers[0] as bp.Linear).weight.data.fill(0.5);
    const w = bp.symmetryWarnings(m);
    assert.equal(w.length, 1);
    assert.match(w[0], /^layers\.0\.weight: all 12 weights equal 0\.5/);
  });

  it("measures the fraction of dead ReLUs", () => {
    assert.equal(
      bp.deadFraction(
        bp.tensor([
          [0, 1, 0],
          [0, 2, 0],
        ]),
      ),
      2 / 3,
    );
    const m = bp.mlp([2, 4, 2], { rng: new bp.Rng(3) });
    (m.layers[0] as bp.Linear).bias!.data.set([-100, -100, 0, 0]);
    const dead = bp.deadRelus(m, bp.rand([16, 2], { rng: new bp.Rng(4) }));
    assert.equal(dead[0].layer, "layers.1");
    assert.ok(dead[0].fraction >= 0.5);
  });

  it("backward shapes in the denominator convention", () => {
    const lines = bp.backwardShapes(bp.mlp([8, 10, 3]), 4, 8, 3);
    assert.ok(
      lines.includes("  dout (4,3) -> dW = x^T dout (10,3) (as W), db = sum over the batch (3,) (as b), dx = dout W^T (4,10) (as x)"),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => l.includes("dx = dout * 1[x > 0] (4,10)")));
  });
});

describe("checkpoints", () => {
  const dir = mkdtempSync(join(tmpdir(), "backprop-ckpt-"));
  const model = bp.mlp([4, 5, 3], { rng: new bp.Rng(5) });
  const meta = {
    architecture: { kind: "mlp" as const, sizes: [4, 5, 3], activation: "relu" as const },
    dataset: "iris",
    classes: ["a", "b", "c"],
    seed: 0,
    testFraction: 0.2,
  };
  const x = bp.randn([6, 4], { rng: new bp.Rng(6) });

  it("save -> load gives identical predictions", () => {
    const path = join(dir, "m.bp");
    saveModel(path, model, meta);
    const { model: back, meta: m2 } = loadModel(path);
    assert.deepEqual(m2.architecture, meta.architecture);
    assert.deepEqual(Array.from(back.forward(x).data), Array.from(model.forward(x).data));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file left behind",
    );
  });

  it("rejects a truncated, corrupted or foreign file with a clear error", () => {
    const bytes = bp.encodeCheckpoint(model.namedParameters(), meta);
    assert.throws(() => bp.decodeCheckpoint(bytes.subarray(0, bytes.length - 10)), /checkpoint is truncated: expected \d+ bytes, got \d+/);
    const bad = bytes.slice();
    bad[bad.length - 20] ^= 0xff;
    assert.throws(() => bp.decodeCheckpoint(bad), /checksum mismatch: the file is corrupted/);
    assert.throws(() => bp.decodeCheckpoint(new TextEncoder().encode("hello world, not a model")), /not a backprop checkpoint/);
    const path = join(dir, "cut.bp");
    writeFileSync(path, bytes.subarray(0, 40));
    assert.throws(() => loadModel(path), /truncated/);
  });

  it("says which tensor does not match the model", () => {
    const other = bp.mlp([4, 6, 3]);
    assert.throws(() => other.loadStateDict(model.stateDict()), /tensor 'layers\.0\.weight' has shape \(4,5\) in the checkpoint but \(4,6\) in the model/);
    const missing = new Map(model.stateDict());
    missing.delete("layers.2.bias");
    assert.throws(() => model.loadStateDict(missing), /tensor 'layers\.2\.bias' is missing/);
  });

  it("writes atomically: the old file stays whole if the new write fails", () => {
    const path = join(dir, "keep.txt");
    writeFileAtomic(path, "old");
    assert.throws(() => writeFileAtomic(join(dir, "no-such-dir", "x"), "new"));
    assert.equal(readFileSync(path, "utf8"), "old");
    writeFileAtomic(path, "new");
    assert.equal(readFileSync(path, "utf8"), "new");
  });
});

describe("training on real data", () => {
  it("ships the digits (10,000 of 28x28) and Iris (150 of 4) in npm packages", () => {
    const d = loadDigits(5);
    assert.deepEqual(d.x.shape, [50, 784]);
    assert.deepEqual(Array.from(d.y.slice(0, 6)), [0, 0, 0, 0, 0, 1]);
    assert.ok(d.x.max().item() <= 1 && d.x.min().item() >= 0);
    const iris = loadIris();
    assert.deepEqual(iris.x.shape, [150, 4]);
    assert.deepEqual(iris.classes, ["setosa", "versicolor", "virginica"]);
  });

  it("a seeded split and shuffle are reproducible", () => {
    const iris = loadIris();
    const a = bp.trainTestSplit(iris, 0.2, new bp.Rng(1));
    const b = bp.trainTestSplit(iris, 0.2, new bp.Rng(1));
    assert.deepEqual(Array.from(a.test.y), Array.from(b.test.y));
    assert.equal(a.test.y.length, 30);
    const sizes = [...bp.batches(a.train, 32, new bp.Rng(2))].map((x) => x.y.length);
    assert.deepEqual(sizes, [32, 32, 32, 24]);
  });

  it("a small seeded digits subset reaches 75% test accuracy in 3 epochs", () => {
    const ds = loadDigits(60);
    const rng = new bp.Rng(0);
    const { train, test } = bp.trainTestSplit(ds, 0.2, rng);
    const model = bp.mlp([784, 32, 10], { rng });
    const h = bp.fit(model, train, { epochs: 3, batchSize: 64, optimizer: new bp.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), rng, test });
    assert.ok(h.epochs[2].trainLoss < h.epochs[0].trainLoss, "loss falls");
    assert.ok(h.epochs[2].testAccuracy! >= 0.75, `test accuracy ${h.epochs[2].testAccuracy}`);
  });

  it("Adam trains Iris to 90%", () => {
    const iris = loadIris();
    const rng = new bp.Rng(3);
    const split = bp.trainTestSplit(iris, 0.2, rng);
    const [train, test] = bp.standardize(split.train, split.test);
    const model = bp.mlp([4, 16, 3], { rng });
    bp.fit(model, train, { epochs: 40, batchSize: 16, optimizer: new bp.Adam(model.parameters(), { lr: 0.01 }), rng });
    assert.ok(bp.evaluate(model, test).accuracy >= 0.9);
  });
});

describe("CLI: train, predict, explain-model", () => {
  const dir = mkdtempSync(join(tmpdir(), "backprop-cli-"));

  it("train --json ends with one JSON line; --save and --plot write files; predict reads the model back", async () => {
    const model = join(dir, "iris.bp");
    const plot = join(dir, "loss.svg");
    const r = await cli(
      "train",
      "--dataset",
      "iris",
      "--hidden",
      "16",
      "--epochs",
      "20",
      "--batch",
      "16",
      "--lr",
      "0.05",
      "--save",
      model,
      "--plot",
      plot,
      "--json",
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n");
    const j = JSON.parse(lines[lines.length - 1]);
    assert.deepEqual(
      Object.keys(j)
        .filter((k) => ["testAccuracy", "trainLoss", "epochs", "seconds", "stepsPerSecond"].includes(k))
        .sort(),
      ["epochs", "seconds", "stepsPerSecond", "testAccuracy", "trainLoss"],
    );
    assert.equal(j.trainLoss.length, 20);
    assert.ok(j.testAccuracy >= 0.9);
    assert.match(r.err, /epoch 20\/20 {2}train loss/);
    assert.ok(existsSync(model));
    assert.match(readFileSync(plot, "utf8"), /^<svg[^>]*>[\s\S]*Accuracy[\s\S]*<\/svg>\n$/);
    const p = await cli("predict", "--model", model);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, new RegExp(`accuracy ${(100 * j.testAccuracy).toFixed(2)}%`));
    assert.match(p.out, /confusion matrix/);
    assert.match(p.out, /setosa/);
  });

  it("train --plot .png writes a PNG", async () => {
    const plot = join(dir, "curves.png");
    const r = await cli("train", "--dataset", "iris", "--epochs", "2", "--plot", plot);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([...readFileSync(plot).subarray(0, 4)], [137, 80, 78, 71]);
  });

  it("bad options and bad files give clear errors", async () => {
    assert.match((await cli("train", "--dataset", "cifar")).err, /--dataset must be digits or iris, got "cifar"/);
    assert.match((await cli("train", "--epochs", "0")).err, /--epochs needs an integer >= 1, got "0"/);
    assert.match((await cli("train", "--optimizer", "rmsprop", "--dataset", "iris")).err, /--optimizer must be sgd or adam/);
    const junk = join(dir, "junk.bp");
    writeFileSync(junk, "not a model");
    const r = await cli("predict", "--model", junk);
    assert.equal(r.code, 1);
    assert.match(r.err, /not a backprop checkpoint/);
  });

  it("explain-model prints counts and the backward pass shapes", async () => {
    const r = await cli("explain-model", "--sizes", "8,10,10,3", "--batch", "4");
    assert.equal(r.code, 0);
    assert.match(r.out, /network 8-10-10-3: 210 weights \+ 23 biases = 233 parameters/);
    assert.match(r.out, /layers\.4 Linear\(10 -> 3\): out = x W \+ b\n {4}dout \(4,3\) -> dW = x\^T dout \(10,3\)/);
  });
});
