/** Reverse mode: PyTorch-style backward and .grad, JAX-style grad/valueAndGrad/vjp, higher order, long chains. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";
import { assertClose } from "./helpers.js";

const f64 = { dtype: "float64" as const, requiresGrad: true };

describe("backward and .grad", () => {
  it("computes the seeds' q2a: f = (x + y) z at 1, 3, 2 gives gradients 2, 2, 4", () => {
    const x = bp.tensor(1, f64),
      y = bp.tensor(3, f64),
      z = bp.tensor(2, f64);
    const f = x.add(y).mul(z);
    f.backward();
    assert.equal(f.item(), 8);
    assert.deepEqual([x.grad?.item(), y.grad?.item(), z.grad?.item()], [2, 2, 4]);
  });

  it("sums gradients at fan-out (copy gates): x * x keeps two edges", () => {
    const x = bp.tensor(3, f64);
    x.mul(x).backward();
    assert.equal(x.grad?.item(), 6);
    const w = bp.tensor(2, f64);
    // w feeds three consumers: w*w, 4w and sin(w)
    w.mul(w).add(w.mul(4)).add(w.sin()).backward();
    assert.ok(Math.abs((w.grad?.item() ?? NaN) - (2 * 2 + 4 + Math.cos(2))) < 1e-12);
  });

  it("accumulates across backward calls until zeroGrad", () => {
    const x = bp.tensor([1, 2], f64);
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    assert.deepEqual(x.grad?.toArray(), [6, 6]);
    x.zeroGrad();
    assert.equal(x.grad, null);
    x.square().sum().backward();
    assert.deepEqual((x.grad as bp.Tensor | null)?.toArray(), [2, 4]);
    bp.zeroGrad([x]);
    assert.equal(x.grad, null);
  });

  it("takes an explicit upstream gradient for a non-scalar output, and refuses to guess one", () => {
    const x = bp.tensor([1, 2, 3], f64);
    const y = x.mul(x);
    assert.throws(() => y.backward(), /scalar output, got shape \(3,\)/);
    y.backward(bp.tensor([1, 0.5, -1], { dtype: "float64" }));
    assert.deepEqual(x.grad?.toArray(), [2, 2, -6]);
    assert.throws(() => y.backward(bp.tensor([1, 2], { dtype: "float64" })), /upstream gradient of shape \(2,\) does not match output of shape \(3,\)/);
  });

  it("gives an unused input no gradient and a broadcast input the summed one", () => {
    const x = bp.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      f64,
    );
    const b = bp.tensor([10, 20, 30], f64);
    const unused = bp.tensor(5, f64);
    x.add(b).sum().backward();
    assert.deepEqual(b.grad?.toArray(), [2, 2, 2]);
    assert.equal(unused.grad, null);
  });

  it("detach and noGrad cut the graph", () => {
    const x = bp.tensor(2, f64);
    const y = x.mul(x.detach());
    y.backward();
    assert.equal(x.grad?.item(), 2);
    const z = bp.noGrad(() => x.mul(x));
    assert.equal(z.requiresGrad, false);
    assert.throws(() => z.backward(), /does not require grad/);
    assert.equal(bp.isGradEnabled(), true);
  });

  it("gives every leaf its own gradient tensor (add's rule passes one cotangent to both inputs)", () => {
    const a = bp.tensor([1, 2], f64),
      b = bp.tensor([3, 4], f64);
    a.add(b).sum().backward();
    assert.notEqual(a.grad, b.grad);
    a.grad!.data[0] = 100;
    assert.equal(b.grad!.data[0], 1);
  });

  it("keeps float32 leaves' gradients in float32 when mixed with float64", () => {
    const a = bp.tensor([1, 2], { requiresGrad: true });
    const b = bp.tensor([3, 4], f64);
    const y = a.mul(b).sum();
    assert.equal(y.dtype, "float64");
    y.backward();
    assert.equal(a.grad?.dtype, "float32");
    assert.deepEqual(a.grad?.toArray(), [3, 4]);
  });

  it("backpropagates through a chain of 1,000,000 nodes without overflowing the stack", () => {
    const x = bp.tensor(1, f64);
    let t = x;
    for (let i = 0; i < 1_000_000; i++) t = t.mul(1.000001);
    t.backward();
    assert.ok(Math.abs((x.grad?.item() ?? NaN) - Math.pow(1.000001, 1_000_000)) < 1e-6);
  });
});

describe("grad, valueAndGrad, vjp", () => {
  it("grad of a scalar function, with numbers or tensors as arguments", () => {
    const g = bp.grad((x) => x.mul(x).mul(x).sum());
    assert.equal(g(2).item(), 12);
    assert.deepEqual(g(bp.tensor([1, 2], { dtype: "float64" })).toArray(), [3, 12]);
  });

  it("valueAndGrad with several arguments and argnums", () => {
    const f = (x: bp.Tensor, y: bp.Tensor) => x.log().add(y.sin()).square().add(x.mul(4));
    const [value, [gx, gy]] = bp.valueAndGrad(f, [0, 1])(Math.E, Math.PI / 2);
    // The seeds' q2c: g = (ln x + sin y)^2 + 4x at x = e, y = pi/2: 4e + 4, dg/dx = 4/e + 4, dg/dy = 0
    assert.ok(Math.abs(value.item() - (4 + 4 * Math.E)) < 1e-12);
    assert.ok(Math.abs(gx.item() - (4 / Math.E + 4)) < 1e-12);
    assert.ok(Math.abs(gy.item()) < 1e-15);
    const [, gy1] = bp.valueAndGrad(f, 1)(Math.E, Math.PI / 2);
    assert.ok(Math.abs(gy1.item()) < 1e-15);
  });

  it("grad gives zeros for an argument the function ignores", () => {
    const g = bp.grad((_x: bp.Tensor, y: bp.Tensor) => y.mul(2), [0, 1]);
    const [gx, gy] = g(bp.tensor([1, 2, 3], { dtype: "float64" }), 5);
    assert.deepEqual(gx.toArray(), [0, 0, 0]);
    assert.equal(gy.item(), 2);
  });

  it("grad requires a scalar output", () => {
    assert.throws(() => bp.grad((x) => x.mul(2))(bp.tensor([1, 2])), /must return a scalar, got shape \(2,\)/);
  });

  it("vjp returns the output and a pullback without forming a Jacobian (the seeds' ||Wx||^2)", () => {
    const W = bp.tensor(
      [
        [0.1, 0.5],
        [-0.3, 0.8],
      ],
      { dtype: "float64" },
    );
    const x = bp.tensor([0.2, 0.4], { dtype: "float64" });
    const [y, back] = bp.vjp((w, v) => bp.sum(bp.square(bp.matmul(w, v))), W, x);
    // Wx = (0.22, 0.26): f = 0.116; grad_W = 2 (Wx) x^T, grad_x = 2 W^T (Wx)
    assert.ok(Math.abs(y.item() - 0.116) < 1e-12);
    const [gW, gx] = back(1);
    assertClose(gW.data, [0.088, 0.176, 0.104, 0.208], 1e-12, "grad W");
    assertClose(gx.data, [2 * (0.1 * 0.22 - 0.3 * 0.26), 2 * (0.5 * 0.22 + 0.8 * 0.26)], 1e-12, "grad x");
  });

  it("does not leave gradients or graph on the caller's tensors", () => {
    const x = bp.tensor([1, 2], { dtype: "float64" });
    const g = bp.grad((t) => t.square().sum())(x);
    assert.equal(x.grad, null);
    assert.equal(x.requiresGrad, false);
    assert.equal(g.requiresGrad, false);
  });
});

describe("higher order", () => {
  const x0 = 0.7;
  const cases: [string, (x: bp.Tensor) => bp.Tensor, (x: number) => number, (x: number) => number][] = [
    ["tanh", (x) => x.tanh(), (x) => 1 - Math.tanh(x) ** 2, (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    [
      "sigmoid",
      (x) => x.sigmoid(),
      (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 - s);
      },
      (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 - s) * (1 - 2 * s);
      },
    ],
    ["exp", (x) => x.exp(), Math.exp, Math.exp],
    ["log", (x) => x.log(), (x) => 1 / x, (x) => -1 / (x * x)],
    ["pow x^3.5", (x) => x.pow(3.5), (x) => 3.5 * x ** 2.5, (x) => 3.5 * 2.5 * x ** 1.5],
    ["pow 2^x", (x) => bp.pow(bp.scalar(2, "float64"), x), (x) => Math.LN2 * 2 ** x, (x) => Math.LN2 ** 2 * 2 ** x],
  ];
  for (const [name, f, d1, d2] of cases) {
    it(`grad(grad(${name})) is the second derivative`, () => {
      assert.ok(Math.abs(bp.grad(f)(x0).item() - d1(x0)) < 1e-12);
      assert.ok(Math.abs(bp.grad(bp.grad(f))(x0).item() - d2(x0)) < 1e-12, `${bp.grad(bp.grad(f))(x0).item()} vs ${d2(x0)}`);
    });
  }

  it("third derivative of x^4 is 24x", () => {
    const d3 = bp.grad(bp.grad(bp.grad((x) => x.pow(4))));
    assert.ok(Math.abs(d3(1.5).item() - 36) < 1e-9);
  });

  it("backward with createGraph lets .grad be differentiated again", () => {
    const x = bp.tensor(0.3, f64);
    x.sin().mul(x).backward(undefined, { createGraph: true });
    const g = x.grad!;
    assert.ok(g.requiresGrad);
    x.zeroGrad();
    g.backward();
    // d2/dx2 (x sin x) = 2 cos x - x sin x
    assert.ok(Math.abs((x.grad?.item() ?? NaN) - (2 * Math.cos(0.3) - 0.3 * Math.sin(0.3))) < 1e-12);
  });

  it("mixed partials through grad of a two-argument function", () => {
    // f = x^2 y^3: d/dy (df/dx) = 6 x y^2
    const dfdx = (x: bp.Tensor, y: bp.Tensor) => bp.grad((a: bp.Tensor, b: bp.Tensor) => a.square().mul(b.pow(3)))(x, y);
    const mixed = bp.grad(dfdx, 1)(2, 3);
    assert.ok(Math.abs(mixed.item() - 6 * 2 * 9) < 1e-9);
  });

  it("a nested grad that closes over the outer variable still differentiates (no perturbation confusion)", () => {
    // d/dx [ d/dy (x y) at y = 1 ] = d/dx x = 1
    const outer = bp.grad((x) => bp.grad((y) => x.mul(y))(1));
    assert.equal(outer(2).item(), 1);
    // d/dx [ x * d/dy (x + y) ] = 1 (the inner derivative is 1, not x-dependent)
    assert.equal(
      bp
        .grad((x) => x.mul(bp.grad((y) => x.add(y))(1)))(5)
        .item(),
      1,
    );
  });
});

describe("numerical stability at extreme logits", () => {
  it("sigmoid and its gradient at +-1000 are finite", () => {
    const x = bp.tensor([-1000, -30, 0, 30, 1000], f64);
    const s = x.sigmoid();
    s.sum().backward();
    assert.deepEqual(
      Array.from(s.data).map((v) => Number.isFinite(v)),
      [true, true, true, true, true],
    );
    assert.equal(s.data[0], 0);
    assert.equal(s.data[4], 1);
    assert.equal(s.data[2], 0.5);
    assert.ok(Array.from(x.grad!.data).every(Number.isFinite));
    assert.equal(x.grad!.data[2], 0.25);
  });

  it("logsumexp, softmax and logSoftmax at +-1000", () => {
    const x = bp.tensor(
      [
        [1000, -1000, 0],
        [-1000, -1000, -1000],
      ],
      f64,
    );
    assertClose(bp.logsumexp(x, 1).data, [1000, -1000 + Math.log(3)], 1e-12, "lse");
    const sm = bp.softmax(x);
    assertClose(sm.data, [1, 0, 0, 1 / 3, 1 / 3, 1 / 3], 1e-12, "softmax");
    const lsm = bp.logSoftmax(x);
    assert.ok(Array.from(lsm.data).every(Number.isFinite));
    bp.logsumexp(x).backward();
    assert.ok(Array.from(x.grad!.data).every(Number.isFinite));
  });

  it("logsumexp of an all -Infinity row is -Infinity, not NaN", () => {
    const x = bp.tensor([-Infinity, -Infinity]);
    assert.equal(bp.logsumexp(x).item(), -Infinity);
  });

  it("logsumexp rows with infinite maxima next to finite rows: -Infinity, Infinity and the finite value", () => {
    const x = bp.tensor(
      [
        [-Infinity, -Infinity],
        [1, 2],
        [Infinity, 0],
      ],
      f64,
    );
    const got = Array.from(bp.logsumexp(x, 1).data);
    assert.deepEqual([got[0], got[2]], [-Infinity, Infinity]);
    assert.ok(Math.abs(got[1] - Math.log(Math.E + Math.E ** 2)) < 1e-12, `finite row: ${got[1]}`);
  });

  it("softmax cross-entropy at logits of +-1000: finite loss, gradient softmax - onehot", () => {
    const logits = bp.tensor(
      [
        [1000, -1000, 0],
        [-1000, 1000, 0],
      ],
      f64,
    );
    const loss = bp.crossEntropy(logits, [1, 1]);
    assert.ok(Math.abs(loss.item() - 1000) < 1e-9);
    loss.backward();
    assertClose(logits.grad!.data, [0.5, -0.5, 0, 0, 0, 0], 1e-12, "dlogits");
  });

  it("float32 cross-entropy at +-1000 is finite too", () => {
    const logits = bp.tensor([[1000, -1000, 0]], { requiresGrad: true });
    const loss = bp.crossEntropy(logits, [2]);
    loss.backward();
    assert.equal(loss.item(), 1000);
    assert.ok(Array.from(logits.grad!.data).every(Number.isFinite));
  });
});

describe("gradient buffers", () => {
  it("leaves never share a gradient buffer, even through reshape views", () => {
    const a = bp.tensor([1, 2, 3, 4], { requiresGrad: true });
    const b = bp.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    a.reshape(2, 2).add(b).sum().backward();
    a.grad!.data[0] = 42;
    assert.equal(b.grad!.data[0], 1);
    const big = bp.ones([100], { requiresGrad: true });
    const ct = bp.ones([10, 10]);
    big.reshape(10, 10).backward(ct); // reshape's VJP is a view of ct itself
    big.grad!.data[0] = 5;
    assert.equal(ct.data[0], 1, "the caller's upstream gradient is not handed out as .grad");
  });
});
