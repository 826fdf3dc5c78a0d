/**
 * Forward mode on whole functions: jvp, jacfwd, jacrev and hessian against each other and central
 * differences (float64), derivatives of derivatives across the two modes, and the edge cases (integer
 * inputs, zero-size tensors, comparisons, bad tangents). Each primitive's JVP rule is checked in
 * primitives.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";
import { assertClose, randTensor } from "./helpers.js";

type Fn = (...a: bp.Tensor[]) => bp.Tensor;

/** Finite-difference Jacobian of f in argument `argnum`: shape [...y.shape, ...x.shape], row-major. */
function fdJacobian(f: Fn, args: bp.Tensor[], argnum = 0, h = 1e-6): Float64Array {
  const x = args[argnum];
  const m = f(...args).size;
  const out = new Float64Array(m * x.size);
  for (let j = 0; j < x.size; j++) {
    const at = (s: number) => {
      const d = Float64Array.from(x.data);
      d[j] += s * h;
      const moved = args.map((a, i) => (i === argnum ? bp.tensor(d, { shape: x.shape, dtype: "float64" }) : a));
      return f(...moved).data;
    };
    const p = at(1);
    const q = at(-1);
    for (let i = 0; i < m; i++) out[i * x.size + j] = (p[i] - q[i]) / (2 * h);
  }
  return out;
}

/** A small layer with broadcasting, fan-out and a reduction over some axes (vector output). */
const layer: Fn = (x, w, b) => bp.tanh(bp.add(bp.matmul(bp.reshape(x, [2, 3]), w), b));
const scalarLoss: Fn = (x, w) => bp.sum(bp.mul(bp.sigmoid(bp.matmul(bp.reshape(x, [1, 3]), w)), bp.exp(bp.mul(x, 0.3))));

describe("jvp", () => {
  it("gives f's value and its directional derivative (float64 central differences)", () => {
    const rng = new bp.Rng(1);
    const x = randTensor([6], rng);
    const w = randTensor([3, 4], rng);
    const b = randTensor([4], rng);
    const ts = [randTensor([6], rng), randTensor([3, 4], rng), randTensor([4], rng)];
    const [y, dy] = bp.jvp(layer, [x, w, b], ts);
    assert.deepEqual(y.shape, [2, 4]);
    assert.deepEqual(dy.shape, [2, 4]);
    assertClose(y.data, layer(x, w, b).data, 0, "value");
    const h = 1e-6;
    const at = (s: number) => layer(...[x, w, b].map((a, i) => bp.add(a, bp.mul(ts[i], s * h)))).data;
    const p = at(1);
    const q = at(-1);
    assertClose(
      dy.data,
      Array.from(p, (v, i) => (v - q[i]) / (2 * h)),
      1e-7,
      "tangent",
    );
  });

  it("returns arrays when f returns an array, with zero tangents for outputs that do not depend on the inputs", () => {
    const c = bp.tensor([5, 6], { dtype: "float64" });
    const [ys, dys] = bp.jvp((a: bp.Tensor) => [bp.mul(a, a), c], [bp.tensor([1, 2], { dtype: "float64" })], [bp.tensor([1, 1], { dtype: "float64" })]);
    assert.equal(ys.length, 2);
    assert.deepEqual(Array.from(dys[0].data), [2, 4]);
    assert.deepEqual(Array.from(dys[1].data), [0, 0]);
  });

  it("takes integer numbers and integer-valued tensors as primals and tangents", () => {
    const [y, dy] = bp.jvp((a: bp.Tensor, b: bp.Tensor) => bp.mul(bp.mul(a, a), b), [3, 2], [1, 0]);
    assert.equal(y.item(), 18);
    assert.equal(dy.item(), 12);
    const [, dz] = bp.jvp((a: bp.Tensor) => bp.pow(a, 3), [bp.tensor([1, 2, 3])], [bp.tensor([1, 1, 1])]);
    assert.deepEqual(Array.from(dz.data), [3, 12, 27]);
  });

  it("gives zero-size tangents for zero-size inputs", () => {
    const x = bp.zeros([0, 3], { dtype: "float64" });
    const [y, dy] = bp.jvp((a: bp.Tensor) => bp.sum(bp.exp(a), 0), [x], [x]);
    assert.deepEqual(y.shape, [3]);
    assert.deepEqual(Array.from(dy.data), [0, 0, 0]);
    const [, de] = bp.jvp((a: bp.Tensor) => bp.sin(a), [x], [x]);
    assert.deepEqual(de.shape, [0, 3]);
  });

  it("gives zero tangents through comparisons and argmax (piecewise constant)", () => {
    const x = bp.tensor([0.5, -1, 2], { dtype: "float64" });
    const [, d1] = bp.jvp((a: bp.Tensor) => bp.gt(a, 0), [x], [bp.onesLike(x)]);
    assert.deepEqual(Array.from(d1.data), [0, 0, 0]);
    const [, d2] = bp.jvp((a: bp.Tensor) => bp.argmax(a), [x], [bp.onesLike(x)]);
    assert.equal(d2.item(), 0);
    // relu as where(x > 0, x, 0): the condition carries nothing, the selected branch does.
    const [, d3] = bp.jvp((a: bp.Tensor) => bp.where(bp.gt(a, 0), a, 0), [x], [bp.tensor([1, 1, 1], { dtype: "float64" })]);
    assert.deepEqual(Array.from(d3.data), [1, 0, 1]);
  });

  it("says which tangent is wrong, and how", () => {
    const x = bp.tensor([1, 2], { dtype: "float64" });
    assert.throws(() => bp.jvp((a: bp.Tensor) => a, [x], [bp.tensor([1, 2, 3])]), /jvp: tangent 0 has shape \(3,\) but its primal has shape \(2,\)/);
    assert.throws(() => bp.jvp((a: bp.Tensor) => a, [x], []), /jvp: expected 1 tangent \(one per primal\), got 0/);
    assert.throws(() => bp.jvp((a: bp.Tensor) => a, ["x" as unknown as number], [1]), /jvp: primal 0 must be a Tensor or a number, got string/);
  });

  it("is differentiable again: jvp of jvp is the second directional derivative", () => {
    const f = (a: bp.Tensor) => bp.sum(bp.mul(bp.sin(a), a));
    const x = bp.tensor([0.3, -1.2], { dtype: "float64" });
    const t = bp.tensor([1, 2], { dtype: "float64" });
    const [, d2] = bp.jvp((a: bp.Tensor) => bp.jvp(f, [a], [t])[1], [x], [t]);
    // f'' along t: sum t_i^2 (2 cos x_i - x_i sin x_i).
    const expected = [0, 1].reduce((s, i) => s + t.data[i] ** 2 * (2 * Math.cos(x.data[i]) - x.data[i] * Math.sin(x.data[i])), 0);
    assertClose([d2.item()], [expected], 1e-12, "second directional derivative");
  });

  it("reverse over forward and forward over reverse agree (grad of jvp = jvp of grad)", () => {
    const rng = new bp.Rng(2);
    const x = randTensor([3], rng);
    const w = randTensor([3, 1], rng);
    const t = randTensor([3], rng);
    const f = (a: bp.Tensor) => scalarLoss(a, w);
    const revOverFwd = bp.grad((a: bp.Tensor) => bp.jvp(f, [a], [t])[1])(x);
    const [, fwdOverRev] = bp.jvp(bp.grad(f), [x], [t]);
    assertClose(revOverFwd.data, fwdOverRev.data, 1e-12, "hvp");
    // And both match differences of the gradient.
    const g = bp.grad(f);
    const h = 1e-5;
    const p = g(bp.add(x, bp.mul(t, h))).data;
    const q = g(bp.sub(x, bp.mul(t, h))).data;
    assertClose(
      fwdOverRev.data,
      Array.from(p, (v, i) => (v - q[i]) / (2 * h)),
      1e-7,
      "hvp vs differences",
    );
  });
});

describe("jacfwd, jacrev, hessian", () => {
  it("jacfwd == jacrev == finite differences, in every argument, with shape [...y, ...x]", () => {
    const rng = new bp.Rng(3);
    const args = [randTensor([6], rng), randTensor([3, 4], rng), randTensor([4], rng)];
    for (let argnum = 0; argnum < 3; argnum++) {
      const jf = bp.jacfwd(layer, argnum)(...args);
      const jr = bp.jacrev(layer, argnum)(...args);
      assert.deepEqual(jf.shape, [2, 4, ...args[argnum].shape]);
      assert.deepEqual(jr.shape, jf.shape);
      assertClose(jf.data, jr.data, 1e-12, `argnum ${argnum}: jacfwd vs jacrev`);
      assertClose(jf.data, fdJacobian(layer, args, argnum), 1e-7, `argnum ${argnum}: jacfwd vs differences`);
    }
  });

  it("agree on a scalar output and a scalar input", () => {
    const f = (a: bp.Tensor) => bp.stack([bp.sin(a), bp.mul(a, a), bp.exp(a)]);
    const jf = bp.jacfwd(f)(0.5);
    const jr = bp.jacrev(f)(0.5);
    assert.deepEqual(jf.shape, [3]);
    assertClose(jf.data, [Math.cos(0.5), 1, Math.exp(0.5)], 1e-12, "jacfwd");
    assertClose(jr.data, jf.data, 1e-12, "jacrev");
  });

  it("hessian (forward over reverse) matches differences of the gradient and is symmetric", () => {
    const rng = new bp.Rng(4);
    const x = randTensor([3], rng);
    const w = randTensor([3, 1], rng);
    const H = bp.hessian(scalarLoss)(x, w);
    assert.deepEqual(H.shape, [3, 3]);
    const g = (a: bp.Tensor) => bp.grad(scalarLoss)(a, w);
    assertClose(H.data, fdJacobian(g, [x], 0, 1e-5), 1e-7, "hessian vs differences");
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assertClose([H.data[i * 3 + j]], [H.data[j * 3 + i]], 1e-12, `symmetry ${i},${j}`);
    // Also equal to reverse over reverse.
    assertClose(H.data, bp.jacrev(g)(x).data, 1e-12, "hessian vs jacrev of grad");
    // In the second argument: shape [...w.shape, ...w.shape].
    assert.deepEqual(bp.hessian(scalarLoss, 1)(x, w).shape, [3, 1, 3, 1]);
  });

  it("hessian of a quadratic form is A + A^T, exactly", () => {
    const A = bp.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "float64" },
    );
    const H = bp.hessian((v: bp.Tensor) => bp.sum(bp.mul(v, bp.reshape(bp.matmul(A, bp.reshape(v, [2, 1])), [2]))))(
      bp.tensor([0.1, 0.2], { dtype: "float64" }),
    );
    assert.deepEqual(Array.from(H.data), [2, 5, 5, 8]);
  });

  it("zero-size inputs or outputs give an empty Jacobian of the right shape; bad calls are errors", () => {
    assert.deepEqual(bp.jacfwd((a: bp.Tensor) => bp.sum(a))(bp.zeros([0])).shape, [0]);
    assert.deepEqual(bp.jacrev((a: bp.Tensor) => bp.exp(a))(bp.zeros([0, 2])).shape, [0, 2, 0, 2]);
    assert.throws(() => bp.jacfwd((a: bp.Tensor) => a, 2)(bp.zeros([1])), /jacfwd: argnum 2 is out of range for 1 arguments/);
    assert.throws(() => bp.hessian((a: bp.Tensor) => a)(bp.zeros([2])), /grad: the function must return a scalar/);
  });
});
