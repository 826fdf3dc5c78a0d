/** Conv2d and the pooling modules, a small CNN that learns, and the lecture's explicit conv/pool layers against autograd. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";
import { assertClose, randTensor } from "./helpers.js";

describe("Conv2d and the pooling modules", () => {
  it("Conv2d has PyTorch's weight layout and default init (uniform in +-1/sqrt(fanIn), bias too)", () => {
    const conv = new bp.Conv2d(6, 8, [3, 2], { groups: 2, rng: new bp.Rng(1) });
    assert.deepEqual(conv.weight.shape, [8, 3, 3, 2]);
    assert.deepEqual(conv.bias?.shape, [8]);
    assert.deepEqual(
      conv.namedParameters().map(([n]) => n),
      ["weight", "bias"],
    );
    const bound = 1 / Math.sqrt(3 * 3 * 2);
    const w = Array.from(conv.weight.data);
    assert.ok(w.every((v) => Math.abs(v) <= bound));
    // 144 uniform draws: the extremes come near the bound and the mean near 0 (loose, seeded).
    assert.ok(Math.max(...w.map(Math.abs)) > 0.9 * bound, "spread over the whole interval");
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) / w.length) < 0.1 * bound);
    assert.ok(Array.from(conv.bias!.data).every((v) => Math.abs(v) <= bound && v !== 0));
  });

  it("Conv2d's kaiming init is He normal with a zero bias; bias: false leaves it out", () => {
    const conv = new bp.Conv2d(16, 32, 3, { init: "kaiming", rng: new bp.Rng(2), dtype: "float64" });
    const w = Array.from(conv.weight.data);
    const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    // 4608 draws: the sample std is within a few percent of sqrt(2/144).
    assert.ok(Math.abs(std / Math.sqrt(2 / 144) - 1) < 0.05, `std ${std}`);
    assert.ok(Array.from(conv.bias!.data).every((v) => v === 0));
    assert.equal(conv.weight.dtype, "float64");
    assert.equal(new bp.Conv2d(1, 1, 1, { bias: false }).bias, null);
  });

  it("the modules compute the ops", () => {
    const rng = new bp.Rng(3);
    const x = randTensor([2, 4, 9, 8], rng, "any", "float32");
    const conv = new bp.Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2, rng });
    assert.deepEqual(conv.forward(x).data, bp.conv2d(x, conv.weight, conv.bias, { stride: 2, padding: 1, groups: 2 }).data);
    assert.deepEqual(new bp.Conv2d(4, 2, 4, { padding: "same" }).forward(x).shape, [2, 2, 9, 8]);
    assert.deepEqual(new bp.MaxPool2d(2, { ceilMode: true }).forward(x).data, bp.maxPool2d(x, { kernelSize: 2, ceilMode: true }).data);
    assert.deepEqual(new bp.AvgPool2d(3, { stride: 2, padding: 1 }).forward(x).data, bp.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }).data);
    assert.deepEqual(new bp.AdaptiveAvgPool2d([2, 3]).forward(x).shape, [2, 4, 2, 3]);
    assert.deepEqual(new bp.Flatten().forward(x).shape, [2, 288]);
  });

  it("bad layer arguments are errors naming the layer", () => {
    assert.throws(() => new bp.Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: groups 2 must divide both inChannels 3 and outChannels 4/);
    assert.throws(() => new bp.Conv2d(3, 4, 0), /Conv2d: kernelSize must be a positive integer or a pair of them, got 0/);
    assert.throws(() => new bp.Conv2d(3, 4, 3, { padding: "same", stride: 2 }), /Conv2d: padding "same" needs stride 1/);
    assert.throws(() => new bp.Conv2d(3, 4, 3, { padding: -1 }), /Conv2d: padding must be a non-negative integer/);
    assert.throws(() => new bp.Conv2d(3, 4, 3, { init: "he" as bp.ConvInit }), /Conv2d: unknown init "he"/);
    assert.throws(() => new bp.Conv2d(3, 4, 3, { kernel: 3 } as bp.Conv2dLayerOptions), /Conv2d: unknown option "kernel"/);
    assert.throws(() => new bp.MaxPool2d(2, { returnIndices: true } as object), /MaxPool2d: unknown option "returnIndices"/);
  });

  it("a small CNN learns to tell vertical from horizontal bars", () => {
    const rng = new bp.Rng(4);
    // 8x8 images with one bright bar (plus noise); label 0 for a vertical bar, 1 for a horizontal one.
    const n = 32;
    const data = new Float32Array(n * 64);
    const labels: number[] = [];
    for (let k = 0; k < n; k++) {
      const label = k % 2;
      const at = rng.int(8);
      for (let p = 0; p < 64; p++) {
        const [r, c] = [Math.floor(p / 8), p % 8];
        data[k * 64 + p] = ((label === 0 ? c : r) === at ? 1 : 0) + 0.1 * (rng.uniform() - 0.5);
      }
      labels.push(label);
    }
    const x = bp.tensor(data, { shape: [n, 1, 8, 8] });
    const model = new bp.Sequential(
      new bp.Conv2d(1, 4, 3, { padding: 1, rng }),
      new bp.ReLU(),
      new bp.MaxPool2d(2),
      new bp.Flatten(),
      new bp.Linear(4 * 4 * 4, 2, { rng }),
    );
    const opt = new bp.Adam(model.parameters(), { lr: 0.02 });
    let first = 0;
    let last = 0;
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = bp.crossEntropy(model.forward(x), labels);
      loss.backward();
      opt.step();
      if (step === 0) first = loss.item();
      last = loss.item();
    }
    const predicted = bp.argmax(model.forward(x), 1).toArray() as number[];
    assert.ok(last < 0.1 * first, `loss ${first} -> ${last}`);
    assert.deepEqual(predicted, labels);
  });
});

describe("the explicit conv and pool layers equal autograd (float64)", () => {
  const rng = new bp.Rng(5);
  for (const { stride, pad } of [
    { stride: 1, pad: 1 },
    { stride: 2, pad: 1 },
    { stride: 3, pad: 0 },
  ]) {
    it(`convForward / convBackward, stride ${stride}, pad ${pad}`, () => {
      const x = randTensor([2, 3, 7, 6], rng);
      const w = randTensor([4, 3, 3, 3], rng);
      const b = randTensor([4], rng);
      const [out, cache] = bp.convForward(x, w, b, { stride, pad });
      const f = (a: bp.Tensor, k: bp.Tensor, c: bp.Tensor) => bp.conv2d(a, k, c, { stride, padding: pad });
      const [y, back] = bp.vjp(f, x, w, b);
      assert.deepEqual(out.shape, y.shape);
      // Both sum the same products in different orders: float64 rounding only.
      assertClose(out.data, y.data, 1e-12, "out");
      const dout = randTensor(out.shape, rng);
      const { dx, dw, db } = bp.convBackward(dout, cache);
      const [gx, gw, gb] = back(dout);
      assertClose(dx.data, gx.data, 1e-12, "dx");
      assertClose(dw.data, gw.data, 1e-12, "dw");
      assertClose(db.data, gb.data, 1e-12, "db");
    });
  }

  it("maxPoolForward / maxPoolBackward, also with tied maxima", () => {
    for (const ties of [false, true]) {
      const x = ties
        ? bp.tensor(
            Array.from({ length: 2 * 2 * 6 * 7 }, () => rng.int(3)),
            { shape: [2, 2, 6, 7], dtype: "float64" },
          )
        : randTensor([2, 2, 6, 7], rng);
      for (const poolParam of [
        { poolHeight: 2, poolWidth: 2, stride: 2 },
        { poolHeight: 3, poolWidth: 2, stride: 1 },
      ]) {
        const [out, cache] = bp.maxPoolForward(x, poolParam);
        const f = (a: bp.Tensor) => bp.maxPool2d(a, { kernelSize: [poolParam.poolHeight, poolParam.poolWidth], stride: poolParam.stride });
        const [y, back] = bp.vjp(f, x);
        assert.deepEqual(Array.from(out.data), Array.from(y.data));
        const dout = randTensor(out.shape, rng);
        assertClose(bp.maxPoolBackward(dout, cache).data, back(dout)[0].data, 1e-14, `dx ${JSON.stringify(poolParam)} ties ${ties}`);
      }
    }
  });

  it("checks its arguments", () => {
    const x = bp.zeros([1, 2, 4, 4]);
    assert.throws(() => bp.convForward(x, bp.zeros([3, 1, 3, 3]), bp.zeros([3]), { stride: 1, pad: 0 }), /convForward: expected x \(N, C, H, W\) and w/);
    assert.throws(() => bp.convForward(x, bp.zeros([3, 2, 3, 3]), bp.zeros([3]), { stride: 0, pad: 0 }), /convForward: stride must be an integer >= 1/);
    const [, cache] = bp.convForward(x, bp.zeros([3, 2, 3, 3]), bp.zeros([3]), { stride: 1, pad: 0 });
    assert.throws(() => bp.convBackward(bp.zeros([1, 3, 3, 3]), cache), /convBackward: dout of shape \(1,3,3,3\) is not the output shape \(1,3,2,2\)/);
    assert.throws(
      () => bp.maxPoolForward(x, { poolHeight: 5, poolWidth: 2, stride: 2 }),
      /maxPoolForward: expected x \(N, C, H, W\) of at least one 5x2 window/,
    );
  });
});
