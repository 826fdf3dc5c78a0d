/** The tensor API: creation, dtypes, conversion, random generation, structure ops and their errors. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";

describe("creation", () => {
  it("tensor() from nested arrays, typed arrays and numbers", () => {
    const t = bp.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, "float32");
    assert.ok(t.data instanceof Float32Array);
    assert.deepEqual(t.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const d = bp.tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
    assert.equal(d.dtype, "float64");
    assert.deepEqual(d.toArray(), [
      [1, 2],
      [3, 4],
    ]);
    const s = bp.tensor(2.5);
    assert.deepEqual(s.shape, []);
    assert.equal(s.item(), 2.5);
    assert.equal(s.toArray(), 2.5);
    assert.deepEqual(bp.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }).toArray(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(bp.tensor([]).shape, [0]);
    assert.equal(bp.tensor([0.1], { dtype: "float64" }).data[0], 0.1);
    assert.equal(bp.tensor([0.1]).data[0], Math.fround(0.1));
  });

  it("rejects ragged arrays, wrong sizes and unknown dtypes with a clear message", () => {
    assert.throws(() => bp.tensor([[1, 2], [3]]), /ragged nested array at \[1\]: expected length 2, got length 1/);
    assert.throws(() => bp.tensor(new Float32Array(5), { shape: [2, 3] }), /5 values cannot have shape \(2,3\) \(6 elements\)/);
    assert.throws(() => bp.tensor([1], { dtype: "int8" as bp.DType }), /unknown dtype "int8"/);
    assert.throws(() => bp.zeros([2, -1]), /invalid shape \(2,-1\)/);
    assert.throws(() => bp.tensor([1, 2]).item(), /only a tensor with one element.*shape \(2,\)/);
  });

  it("zeros, ones, full, *Like, arange, linspace, eye", () => {
    assert.deepEqual(bp.zeros([2, 2]).toArray(), [
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(bp.ones([3]).toArray(), [1, 1, 1]);
    assert.deepEqual(bp.full([2], 7, { dtype: "float64" }).toArray(), [7, 7]);
    assert.equal(bp.onesLike(bp.zeros([2], { dtype: "float64" })).dtype, "float64");
    assert.deepEqual(bp.zerosLike(bp.ones([1, 2])).toArray(), [[0, 0]]);
    assert.deepEqual(bp.arange(5).toArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(bp.arange(1, 4).toArray(), [1, 2, 3]);
    assert.deepEqual(bp.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(bp.arange(3, 0, -1).toArray(), [3, 2, 1]);
    assert.throws(() => bp.arange(0, 1, 0), /step must be a finite non-zero number/);
    assert.deepEqual(bp.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(bp.eye(2, 3).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assert.equal(bp.ones([2], { requiresGrad: true }).requiresGrad, true);
  });

  it("rand and randn are reproducible from a seed and have the right moments", () => {
    const a = bp.randn([1000], { rng: new bp.Rng(42) });
    const b = bp.randn([1000], { rng: new bp.Rng(42) });
    assert.deepEqual(a.toArray(), b.toArray());
    const c = bp.randn([1000], { rng: new bp.Rng(43) });
    assert.notDeepEqual(a.toArray(), c.toArray());
    const big = bp.randn([20000], { rng: new bp.Rng(1), dtype: "float64" });
    const mean = big.mean().item();
    const std = Math.sqrt(big.sub(mean).square().mean().item());
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.03, `std ${std}`);
    const u = bp.rand([20000], { rng: new bp.Rng(2), dtype: "float64" });
    assert.ok(u.min().item() >= 0 && u.max().item() < 1);
    assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01);
    bp.manualSeed(7);
    const g1 = bp.rand([5]).toArray();
    bp.manualSeed(7);
    assert.deepEqual(bp.rand([5]).toArray(), g1);
  });
});

describe("elementwise values", () => {
  it("unary and binary ops compute the expected numbers", () => {
    const x = bp.tensor([-1, 0, 2], { dtype: "float64" });
    assert.deepEqual(x.neg().toArray(), [1, -0, -2]);
    assert.deepEqual(x.abs().toArray(), [1, 0, 2]);
    assert.deepEqual(x.sign().toArray(), [-1, 0, 1]);
    assert.deepEqual(x.relu().toArray(), [0, 0, 2]);
    assert.deepEqual(x.square().toArray(), [1, 0, 4]);
    assert.deepEqual(x.pow(bp.tensor([2, 3, 0.5], { dtype: "float64" })).toArray(), [1, 0, Math.SQRT2]);
    assert.deepEqual(x.maximum(0.5).toArray(), [0.5, 0.5, 2]);
    assert.deepEqual(x.minimum(0.5).toArray(), [-1, 0, 0.5]);
    assert.deepEqual(x.reciprocal().toArray(), [-1, Infinity, 0.5]);
    assert.deepEqual(bp.tensor([4, 9]).sqrt().toArray(), [2, 3]);
  });

  it("comparisons give 1/0 and where selects with broadcasting", () => {
    const x = bp.tensor([1, 2, 3]);
    assert.deepEqual(x.gt(2).toArray(), [0, 0, 1]);
    assert.deepEqual(x.ge(2).toArray(), [0, 1, 1]);
    assert.deepEqual(x.lt(2).toArray(), [1, 0, 0]);
    assert.deepEqual(x.le(2).toArray(), [1, 1, 0]);
    assert.deepEqual(x.eq(2).toArray(), [0, 1, 0]);
    assert.deepEqual(x.ne(2).toArray(), [1, 0, 1]);
    assert.deepEqual(bp.where(bp.tensor([[1], [0]]), x, bp.tensor(-1)).toArray(), [
      [1, 2, 3],
      [-1, -1, -1],
    ]);
  });

  it("numbers take the dtype of the tensor beside them", () => {
    assert.equal(bp.add(bp.tensor([1], { dtype: "float64" }), 0.1).dtype, "float64");
    assert.equal(bp.mul(2, bp.tensor([1])).dtype, "float32");
    assert.equal(bp.add(bp.tensor([1]), bp.tensor([1], { dtype: "float64" })).dtype, "float64");
  });
});

describe("structure ops", () => {
  const x = bp.arange(24).reshape(2, 3, 4);

  it("reshape with -1, and its errors", () => {
    assert.deepEqual(x.reshape(4, -1).shape, [4, 6]);
    assert.deepEqual(x.flatten().shape, [24]);
    assert.throws(() => x.reshape(5, -1), /cannot reshape a tensor of shape \(2,3,4\) \(24 elements\) into shape \(5,-1\)/);
    assert.throws(() => x.reshape(-1, -1), /cannot reshape/);
  });

  it("transpose, permute and .T", () => {
    assert.deepEqual(bp.arange(6).reshape(2, 3).T.toArray(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(x.transpose().shape, [4, 3, 2]);
    assert.deepEqual(x.permute(1, 0, 2).shape, [3, 2, 4]);
    assert.equal((x.permute(2, 0, 1).toArray() as number[][][])[3][1][2], 23);
    assert.throws(() => x.permute(0, 0, 1), /not a permutation/);
  });

  it("slicing like Python: indices, ranges, steps, negatives, clamping", () => {
    const m = bp.arange(20).reshape(4, 5);
    assert.deepEqual(m.slice(1).toArray(), [5, 6, 7, 8, 9]);
    assert.deepEqual(m.slice(-1, -1).toArray(), 19);
    assert.deepEqual(m.slice([1, 3], [null, null, 2]).toArray(), [
      [5, 7, 9],
      [10, 12, 14],
    ]);
    assert.deepEqual(m.slice(null, [3, 100]).toArray(), [
      [3, 4],
      [8, 9],
      [13, 14],
      [18, 19],
    ]);
    assert.deepEqual(m.slice([-2], { start: 1, step: 3 }).toArray(), [
      [11, 14],
      [16, 19],
    ]);
    assert.deepEqual(m.slice([3, 1]).shape, [0, 5]);
    assert.throws(() => m.slice(4), /index 4 is out of bounds for axis 0 with size 4/);
    assert.throws(() => m.slice(null, [null, null, -1]), /step must be a positive integer, got -1 on axis 1/);
    assert.throws(() => m.slice(0, 0, 0), /too many indices \(3\) for a tensor of shape \(4,5\)/);
  });

  it("squeeze, unsqueeze, broadcastTo", () => {
    const t = bp.zeros([1, 3, 1]);
    assert.deepEqual(t.squeeze().shape, [3]);
    assert.deepEqual(t.squeeze(2).shape, [1, 3]);
    assert.throws(() => t.squeeze(1), /cannot squeeze axis 1 of length 3/);
    assert.deepEqual(bp.zeros([3]).unsqueeze(-1).shape, [3, 1]);
    assert.deepEqual(bp.zeros([3]).unsqueeze(0).shape, [1, 3]);
    assert.deepEqual(bp.tensor([1, 2]).broadcastTo([2, 2]).toArray(), [
      [1, 2],
      [1, 2],
    ]);
    assert.throws(() => bp.zeros([3]).broadcastTo([2, 2]), /cannot broadcast a tensor of shape \(3,\) to shape \(2,2\)/);
  });

  it("concat and stack", () => {
    const a = bp.tensor([[1, 2]]),
      b = bp.tensor([
        [3, 4],
        [5, 6],
      ]);
    assert.deepEqual(bp.concat([a, b]).toArray(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(bp.concat([b, b], -1).toArray(), [
      [3, 4, 3, 4],
      [5, 6, 5, 6],
    ]);
    assert.throws(() => bp.concat([a, b], 1), /all dimensions except axis 1 must match, got shapes \(1,2\) \(2,2\)/);
    assert.deepEqual(bp.stack([bp.tensor([1, 2]), bp.tensor([3, 4])], 1).toArray(), [
      [1, 3],
      [2, 4],
    ]);
    assert.throws(() => bp.stack([a, b]), /same shape/);
  });

  it("take, takeAlongAxis and argmax pick class entries", () => {
    const logits = bp.tensor([
      [0.1, 0.7, 0.2],
      [0.5, 0.1, 0.4],
    ]);
    assert.deepEqual(logits.argmax(-1).toArray(), [1, 0]);
    assert.deepEqual(logits.takeAlongAxis([[1], [2]], 1).toArray(), [[Math.fround(0.7)], [Math.fround(0.4)]]);
    assert.deepEqual(bp.arange(6).reshape(2, 3).take([2, -1, 0], 1).toArray(), [
      [2, 2, 0],
      [5, 5, 3],
    ]);
    assert.deepEqual(bp.arange(6).reshape(2, 3).take(4).toArray(), 4);
    assert.throws(() => logits.take([3], 1), /index 3 is out of bounds for axis 1 with size 3/);
    assert.throws(() => logits.take([1.5], 1), /not an integer/);
    assert.throws(() => logits.takeAlongAxis([1, 2], 1), /must have as many dimensions/);
  });

  it("matmul follows NumPy, with clear errors", () => {
    const a = bp.arange(6).reshape(2, 3);
    const b = bp.arange(3);
    assert.deepEqual(bp.matmul(a, b).toArray(), [5, 14]);
    assert.deepEqual(bp.matmul(b, b).toArray(), 5);
    assert.deepEqual(bp.matmul(a, a.T).toArray(), [
      [5, 14],
      [14, 50],
    ]);
    assert.deepEqual(bp.matmul(bp.ones([2, 5, 4]), bp.ones([3, 2, 4, 8])).shape, [3, 2, 5, 8]);
    assert.throws(() => bp.matmul(a, a), /matmul: inner dimensions do not match for \(2,3\) @ \(2,3\)/);
    assert.throws(() => bp.matmul(bp.ones([3, 5, 4]), bp.ones([5, 4, 8])), /batch dimensions could not be broadcast together for \(3,5,4\) @ \(5,4,8\)/);
  });

  it("NaN propagates through max like NumPy; an empty max is an error", () => {
    assert.ok(Number.isNaN(bp.tensor([1, NaN, 3]).max().item()));
    assert.throws(() => bp.zeros([0, 3]).max(0), /zero-size axis 0 of shape \(0,3\)/);
    assert.deepEqual(bp.zeros([0, 3]).sum(0).toArray(), [0, 0, 0]);
  });

  it("reductions reject bad axes", () => {
    assert.throws(() => x.sum(3), /axis 3 is out of bounds for a tensor of dimension 3/);
    assert.throws(() => x.sum([0, 0]), /repeated axis/);
  });
});

describe("backends", () => {
  it("a registered backend's kernels are used, others fall back to the reference", () => {
    let calls = 0;
    bp.registerBackend({
      name: "counting",
      kernels: {
        exp: (ins, p, out) => {
          calls++;
          return bp.PRIMS.exp.kernel(ins, p, out);
        },
      },
    });
    assert.ok(bp.listBackends().includes("counting"));
    bp.setBackend("counting");
    try {
      assert.deepEqual(bp.tensor([0]).exp().add(1).toArray(), [2]);
      assert.equal(calls, 1);
    } finally {
      bp.setBackend("js");
    }
    assert.throws(() => bp.setBackend("nope"), /unknown backend "nope"/);
  });
});
