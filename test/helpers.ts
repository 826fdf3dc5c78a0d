/** Shared test helpers: seeded random tensors, NumPy-style index mapping, closeness checks, and running on a backend. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as bp from "../src/index.js";

export type Domain = "any" | "pos" | "nonzero" | "small";

export function sample(rng: bp.Rng, domain: Domain): number {
  const u = rng.uniform();
  switch (domain) {
    case "pos":
      return 0.5 + 1.5 * u;
    case "nonzero":
      return (rng.uniform() < 0.5 ? -1 : 1) * (0.5 + 1.5 * u);
    case "small":
      return -1 + 2 * u;
    default:
      return -2 + 4 * u;
  }
}

export function randTensor(shape: bp.Shape, rng: bp.Rng, domain: Domain = "any", dtype: bp.DType = "float64"): bp.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = sample(rng, domain);
  return bp.tensor(data, { shape, dtype });
}

/** Row-major multi-index of flat position `k` in `shape`. */
export function unravel(k: number, shape: bp.Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: bp.Shape): number {
  let k = 0;
  for (let d = 0; d < shape.length; d++) k = k * shape[d] + idx[d];
  return k;
}

/** Value of a tensor of `shape` read at an index of the broadcast shape `out` (NumPy's rule, written plainly). */
export function readBroadcast(t: bp.Tensor, outIdx: readonly number[]): number {
  const lead = outIdx.length - t.ndim;
  const idx = t.shape.map((d, i) => (d === 1 ? 0 : outIdx[i + lead]));
  return t.data[ravel(idx, t.shape)];
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9, what = ""): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
      continue;
    }
    const err = Math.abs(a - e);
    assert.ok(err <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a} != ${e} (|diff| ${err})`);
  }
}

export function assertGradcheck(f: (...xs: bp.Tensor[]) => bp.Tensor, inputs: bp.Tensor[], what: string, options: bp.GradcheckOptions = {}): void {
  const r = bp.gradcheck(f, inputs, options);
  assert.ok(r.ok, `${what}: gradient check failed\n${r.summary}\n${r.inputs.map((i) => JSON.stringify(i.worst)).join("\n")}`);
}

/**
 * Second order: the gradient-of-(weighted gradient) of f must itself pass gradcheck, which checks
 * that the VJP rules are correctly differentiable (they are written with ops).
 */
export function secondOrder(f: (...xs: bp.Tensor[]) => bp.Tensor, inputs: bp.Tensor[], rng: bp.Rng): (...xs: bp.Tensor[]) => bp.Tensor {
  const y = f(...inputs);
  const w = randTensor(y.shape, rng, "any");
  const r = inputs.map((x) => randTensor(x.shape, rng, "any"));
  return (...xs: bp.Tensor[]) => {
    const [, back] = bp.vjp(f, ...xs);
    const gs = back(w);
    let total: bp.Tensor = bp.scalar(0, "float64");
    gs.forEach((g, i) => (total = bp.add(total, bp.sum(bp.mul(g, r[i])))));
    return total;
  };
}

/** Runs `fn` with `name` as the active backend, then restores the one before. */
export function withBackend<T>(name: string, fn: () => T): T {
  const prev = bp.getBackend().name;
  bp.setBackend(name);
  try {
    return fn();
  } finally {
    bp.setBackend(prev);
  }
}

/**
 * describe(), or, when `missing` names what this machine lacks, one skipped test in its place: node's
 * runner leaves the tests of a skipped suite out of its counts, so a summary would say "skipped 0".
 */
export function describeIf(name: string, missing: string | false, fn: () => void): void {
  if (missing) it(`${name} (skipped: ${missing})`, { skip: missing }, () => {});
  else describe(name, fn);
}
