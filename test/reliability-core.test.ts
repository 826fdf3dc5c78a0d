/**
 * Issue 14, the library's side: each defect a probe found (a wrong number, a silently accepted bad
 * argument, a stack trace where a message belongs) pinned by a test that failed before its fix.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";
import { useNativeBackend } from "../src/node/native.js";

const BACKENDS = ["js", "wasm", ...(useNativeBackend() ? ["native"] : [])];
bp.setBackend("wasm");

function onEach(fn: (backend: string) => void): void {
  for (const b of BACKENDS) {
    const prev = bp.getBackend().name;
    bp.setBackend(b);
    try {
      fn(b);
    } finally {
      bp.setBackend(prev);
    }
  }
}

describe("softmax family on large equal logits", () => {
  for (const big of [1e5, 1e6, 1e8, 3e38]) {
    it(`is exact at logits of ${big} in float32 (softmax 1/3, logSoftmax -ln 3, loss ln 3)`, () => {
      onEach((b) => {
        const x = bp.tensor([[big, big, big]]);
        const third = Math.fround(1 / 3);
        for (const v of bp.softmax(x).data) assert.equal(v, third, `${b}: softmax`);
        for (const v of bp.logSoftmax(x).data) assert.ok(Math.abs(v + Math.log(3)) < 1e-6, `${b}: logSoftmax ${v}`);
        const loss = bp.crossEntropy(x, [1]).item();
        assert.ok(Math.abs(loss - Math.log(3)) < 1e-6, `${b}: loss ${loss}`);
      });
    });
  }

  it("keeps the gradient softmax - onehot at large logits", () => {
    const x = bp.tensor([[1e8, 1e8, 1e8 - 2 ** 27]], { requiresGrad: true });
    bp.crossEntropy(x, [0]).backward();
    const g = x.grad!.data;
    assert.ok(Math.abs(g[0] - (0.5 - 1)) < 1e-6 && Math.abs(g[1] - 0.5) < 1e-6 && Math.abs(g[2]) < 1e-6, String([...g]));
  });

  it("still differs from the unshifted value only by rounding on ordinary logits (float64)", () => {
    const x = bp.tensor(
      [
        [0.3, -1.2, 2.5],
        [4, 4, -7],
      ],
      { dtype: "float64" },
    );
    const lsm = bp.logSoftmax(x).toArray() as number[][];
    const ref = [
      [0.3, -1.2, 2.5],
      [4, 4, -7],
    ].map((r) => {
      const lse = Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
      return r.map((v) => v - lse);
    });
    lsm.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - ref[i][j]) < 1e-14)));
  });
});

describe("NaN is never hidden", () => {
  it("relu(NaN) is NaN on every backend, relu(-inf) is 0, relu(0) is 0 with gradient 0", () => {
    onEach((b) => {
      const x = bp.tensor([NaN, -Infinity, 0, 2, -3], { requiresGrad: true });
      const y = bp.relu(x);
      assert.ok(Number.isNaN(y.data[0]), `${b}: relu(NaN) = ${y.data[0]}`);
      assert.deepEqual([...y.data].slice(1), [0, 0, 2, 0]);
      bp.sum(y).backward();
      assert.deepEqual([...x.grad!.data].slice(1), [0, 0, 1, 0]);
    });
    assert.ok(Number.isNaN(bp.tensor(NaN).relu().item()), "scalar path");
  });
});

describe("pow at zero exponents", () => {
  const d = (f: (t: bp.Tensor) => bp.Tensor, at: number) => bp.grad((t: bp.Tensor) => f(t))(bp.tensor(at, { dtype: "float64" })) as bp.Tensor;

  it("d/dx x^0 is 0 at x = 0, and so is every higher derivative (as in PyTorch and JAX)", () => {
    const f = (t: bp.Tensor) => bp.pow(t, 0);
    assert.equal(d(f, 0).item(), 0);
    assert.equal(d(f, 2).item(), 0);
    const d1 = (t: bp.Tensor) => bp.grad((u: bp.Tensor) => f(u))(t) as bp.Tensor;
    const d2 = (t: bp.Tensor) => bp.grad((u: bp.Tensor) => d1(u))(t) as bp.Tensor;
    const d3 = (t: bp.Tensor) => bp.grad((u: bp.Tensor) => d2(u))(t) as bp.Tensor;
    assert.equal(d2(bp.tensor(0, { dtype: "float64" })).item(), 0);
    assert.equal(d3(bp.tensor(0, { dtype: "float64" })).item(), 0);
  });

  it("leaves other exponents as they were: x^1 -> 1, x^2 -> 0, x^0.5 -> inf at 0; broadcast exponents with a zero", () => {
    assert.equal(d((t) => bp.pow(t, 1), 0).item(), 1);
    assert.equal(d((t) => bp.pow(t, 2), 0).item(), 0);
    assert.equal(d((t) => bp.pow(t, 0.5), 0).item(), Infinity);
    assert.equal(d((t) => bp.pow(t, 3), 2).item(), 12);
    const x = bp.tensor([0, 0, 3], { dtype: "float64", requiresGrad: true });
    const y = bp.tensor([[0], [2]], { dtype: "float64", requiresGrad: true });
    bp.sum(bp.pow(x, y)).backward();
    assert.deepEqual([...x.grad!.data], [0, 0, 6]);
    // d/dy x^y = x^y ln x; 0^y ln 0 is taken as 0, 3^0 ln 3 + 9 ln 3.
    assert.ok(Math.abs(y.grad!.data[0] - Math.log(3)) < 1e-12 && Math.abs(y.grad!.data[1] - 9 * Math.log(3)) < 1e-12);
  });
});

describe("integer indices and class labels", () => {
  it("indices beyond 32 bits are out of range, not wrapped", () => {
    assert.throws(() => bp.take(bp.arange(5), 2 ** 32 + 1), /take: index 4294967297 is out of bounds for axis 0 with size 5/);
    assert.throws(() => bp.take(bp.arange(5), -(2 ** 32) + 1), /take: index -4294967295 is out of bounds/);
    assert.throws(() => bp.take(bp.arange(5), [1, 2 ** 40]), /index 1099511627776 is out of bounds/);
    assert.equal(bp.take(bp.arange(5), -1).item(), 4);
  });

  it("crossEntropy rejects class labels that are negative, fractional or beyond the classes, naming the position", () => {
    const logits = bp.zeros([3, 4]);
    assert.throws(() => bp.crossEntropy(logits, [0, 2 ** 32, 1]), /crossEntropy: class label 4294967296 at position 1 is not a class index in \[0, 4\)/);
    assert.throws(() => bp.crossEntropy(logits, [0, -1, 1]), /crossEntropy: class label -1 at position 1 is not a class index in \[0, 4\)/);
    assert.throws(() => bp.crossEntropy(logits, [0, 1, 4]), /class label 4 at position 2/);
    assert.throws(() => bp.softmaxCrossEntropy(logits, [0, -2, 1]), /class label -2 at position 1/);
    assert.equal(bp.crossEntropy(logits, [0, 1, 3]).item(), Math.fround(Math.log(4)));
  });
});

describe("tensor construction", () => {
  it("new Tensor(data, shape) rejects data whose length does not match the shape", () => {
    assert.throws(() => new bp.Tensor(new Float32Array(3), [2, 2]), /Tensor: 3 values cannot have shape \(2,2\) \(4 elements\)/);
    assert.throws(() => new bp.Tensor(new Float32Array(4), [2, -2]), /invalid shape/);
    assert.deepEqual(new bp.Tensor(new Float32Array(4), [2, 2]).shape, [2, 2]);
  });

  it("shape arguments must be arrays of non-negative integers, with the op named", () => {
    const bad: unknown[] = ["3", 3, null, { length: 2 }, [2, "3"], [1.5], [NaN]];
    for (const s of bad) {
      assert.throws(() => bp.zeros(s as bp.Shape), bp.ShapeError, `zeros(${JSON.stringify(s)})`);
      assert.throws(() => bp.reshape(bp.zeros([1]), s as number[]), bp.ShapeError, `reshape(${JSON.stringify(s)})`);
      assert.throws(() => bp.broadcastTo(bp.zeros([1]), s as bp.Shape), bp.ShapeError, `broadcastTo(${JSON.stringify(s)})`);
    }
    assert.throws(() => bp.zeros("3" as unknown as bp.Shape), /zeros: a shape is an array of non-negative integers, got "3"/);
  });

  it("broadcastTo rejects negative and fractional targets", () => {
    assert.throws(() => bp.broadcastTo(bp.zeros([1]), [-3]), /broadcastTo: invalid shape \(-3,\)/);
    assert.throws(() => bp.broadcastTo(bp.zeros([1]), [2.5]), /broadcastTo: invalid shape \(2.5,\)/);
    assert.throws(() => bp.broadcastTo(bp.zeros([3]), [2]), /broadcastTo: cannot broadcast a tensor of shape \(3,\) to shape \(2,\)/);
    assert.deepEqual(bp.broadcastTo(bp.tensor([1, 2]), [2, 2]).toArray(), [
      [1, 2],
      [1, 2],
    ]);
  });

  it("more than 64 axes is an error, as in NumPy", () => {
    const shape = new Array<number>(65).fill(1);
    assert.throws(() => bp.zeros(shape), /zeros: a tensor has at most 64 dimensions, got 65/);
    assert.throws(() => bp.reshape(bp.zeros([1]), shape), /reshape: a tensor has at most 64 dimensions, got 65/);
    assert.equal(bp.zeros(new Array<number>(64).fill(1)).ndim, 64);
  });

  it("sizes beyond 2^53 and allocations that cannot succeed get NumPy's message, not a RangeError", () => {
    assert.throws(
      () => bp.zeros([2 ** 30, 2 ** 30, 2 ** 30]),
      /zeros: array is too big: shape \(1073741824,1073741824,1073741824\) has more than 2\^53 elements/,
    );
    assert.throws(() => bp.zeros([1e6, 1e6]), /Unable to allocate 3.64 TiB for an array with shape \(1000000, 1000000\) and data type float32/);
    assert.throws(() => bp.zeros([1e6, 1e6], { dtype: "float64" }), /Unable to allocate 7.28 TiB .* data type float64/);
    assert.throws(() => bp.randn([1e6, 1e6]), bp.AllocationError);
    const a = bp.zeros([1e5, 1]);
    const b = bp.zeros([1, 1e5]);
    onEach((be) => assert.throws(() => bp.add(a, b), /add: Unable to allocate 37.3 GiB for an array with shape \(100000, 100000\)/, be));
    assert.throws(() => bp.matmul(a, b), /matmul: Unable to allocate 37.3 GiB/);
  });
});

describe("arguments of the wrong kind", () => {
  it("name the op and the argument instead of failing inside it", () => {
    const t = bp.tensor([
      [1, 2],
      [3, 4],
    ]);
    const bad = (v: unknown) => v as bp.Tensor;
    assert.throws(() => bp.sum(bad(null)), /^TypeError: sum: x must be a Tensor, got null$/);
    assert.throws(() => bp.matmul(t, bad([1, 2])), /matmul: y must be a Tensor, got an array \(wrap it with bp.tensor\)/);
    assert.throws(() => bp.reshape(bad("x"), [2]), /reshape: x must be a Tensor, got string/);
    assert.throws(() => bp.crossEntropy(bad({}), [0]), /crossEntropy: logits must be a Tensor, got object/);
    assert.throws(() => bp.concat([t, bad(3)]), /concat: tensor 1 must be a Tensor, got number/);
    assert.throws(
      () => bp.gradcheck(3 as unknown as (x: bp.Tensor) => bp.Tensor, [t]),
      /gradcheck: the first argument must be a function of tensors, got number/,
    );
  });
});

describe("options are checked, not ignored", () => {
  it("mlp rejects an unknown activation and unknown option keys", () => {
    assert.throws(() => bp.mlp([2, 3, 1], { activation: "tahn" as bp.Activation }), /mlp: unknown activation "tahn" \(use relu, leakyrelu, sigmoid or tanh\)/);
    assert.throws(() => bp.mlp([2, 3, 1], { activaton: "tanh" } as bp.MlpOptions), /mlp: unknown option "activaton"/);
    assert.throws(() => bp.mlp([2, 0, 1]), /mlp: layer sizes must be positive integers, got \[2, 0, 1\]/);
    assert.throws(() => new bp.Linear(2, 3, { bais: false } as bp.LinearOptions), /Linear: unknown option "bais"/);
    assert.ok(bp.mlp([2, 3, 1], { activation: "tanh" }).layers[1] instanceof bp.Tanh);
  });

  it("optimizers validate their settings as PyTorch does", () => {
    const p = () => [bp.zeros([2], { requiresGrad: true })];
    const bad: [string, () => unknown, RegExp][] = [
      ["negative lr", () => new bp.SGD(p(), { lr: -1 }), /SGD: invalid learning rate -1/],
      ["NaN lr", () => new bp.Adam(p(), { lr: NaN }), /Adam: invalid learning rate NaN/],
      ["negative momentum", () => new bp.SGD(p(), { lr: 0.1, momentum: -0.5 }), /SGD: invalid momentum -0.5/],
      ["NaN momentum", () => new bp.SGD(p(), { lr: 0.1, momentum: NaN }), /SGD: invalid momentum NaN/],
      ["beta1 = 1", () => new bp.Adam(p(), { betas: [1, 0.999] }), /Adam: invalid beta at index 0: 1/],
      ["beta2 < 0", () => new bp.Adam(p(), { betas: [0.9, -0.1] }), /Adam: invalid beta at index 1: -0.1/],
      ["eps = 0", () => new bp.Adam(p(), { eps: 0 }), /Adam: invalid epsilon 0/],
      ["infinite weight decay", () => new bp.AdamW(p(), { weightDecay: Infinity }), /AdamW: invalid weight decay Infinity/],
      ["negative weight decay", () => new bp.SGD(p(), { lr: 0.1, weightDecay: -1 }), /SGD: invalid weight decay -1/],
      ["unknown key", () => new bp.Adam(p(), { beta1: 0.9 } as bp.AdamOptions), /Adam: unknown option "beta1" \(known: lr, betas, eps, weightDecay\)/],
      ["unknown SGD key", () => new bp.SGD(p(), { lr: 0.1, nestrov: true } as bp.SgdOptions), /SGD: unknown option "nestrov"/],
      ["betas not a pair", () => new bp.Adam(p(), { betas: [0.9] as unknown as [number, number] }), /Adam: betas must be two numbers/],
    ];
    for (const [what, make, re] of bad) assert.throws(make, re, what);
    // The good settings still construct, and a step moves the weights by the expected amount.
    const w = bp.tensor([1, 2], { requiresGrad: true });
    const opt = new bp.SGD([w], { lr: 0.5, momentum: 0 });
    w.grad = bp.tensor([1, 1]);
    opt.step();
    assert.deepEqual([...w.data], [0.5, 1.5]);
    assert.ok(new bp.Adam(p(), { betas: [0, 0] }));
  });
});

describe("printing large tensors", () => {
  it("toString summarises as NumPy does past 1000 elements, with the edges shown", () => {
    const s = bp.arange(1e6).toString();
    assert.ok(s.length < 200, s);
    assert.match(s, /^tensor\(\[0, 1, 2, \.\.\., 999997, 999998, 999999\], shape=\(1000000,\), dtype=float32\)$/);
    const m = bp.reshape(bp.arange(2000), [40, 50]).toString();
    assert.match(
      m,
      /^tensor\(\[\[0, 1, 2, \.\.\., 47, 48, 49\], \[50, 51, 52, \.\.\., 97, 98, 99\], \[100, 101, 102, \.\.\., 147, 148, 149\], \.\.\., \[1850, /,
    );
    assert.ok(m.length < 400, m);
    assert.equal(
      bp
        .tensor([
          [1, 2],
          [3, 4],
        ])
        .toString(),
      "tensor([[1, 2], [3, 4]], shape=(2,2), dtype=float32)",
    );
    assert.equal(bp.tensor([NaN, Infinity, -Infinity]).toString(), "tensor([NaN, Infinity, -Infinity], shape=(3,), dtype=float32)");
  });

  it("a huge tensor of zeros prints without walking its elements", () => {
    const big = bp.zeros([1e4, 1e4]);
    const s = big.toString();
    assert.ok(s.length < 300, s);
    assert.match(s, /shape=\(10000,10000\)/);
  });
});
