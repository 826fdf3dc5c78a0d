/**
 * One table-driven suite over every primitive: the kernel against an independent plain reference,
 * the VJP against central differences in float64 over shapes that broadcast, and the VJP's own
 * derivative (second order); the JVP against central differences, against the VJP (<w, J t> both ways),
 * and differentiated again (forward over reverse against differences of the gradient, and reverse over
 * forward). The table's type makes a primitive without a case a compile error.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";
import { assertClose, assertGradcheck, randTensor, ravel, readBroadcast, secondOrder, unravel, type Domain } from "./helpers.js";

interface Variant<P extends bp.Prim> {
  shapes: bp.Shape[];
  params: bp.ParamMap[P];
}

interface Case<P extends bp.Prim> {
  variants: Variant<P>[];
  /** Domain of each input (default "any"). */
  domains?: Domain[];
  /** Independent reference values of the output, row-major. */
  ref: (xs: bp.Tensor[], params: bp.ParamMap[P], out: bp.Shape) => ArrayLike<number>;
  /** Inputs held constant in the gradient check (a condition), with a maker for their values. */
  constant?: { index: number; make: (shape: bp.Shape, rng: bp.Rng) => bp.Tensor };
  /** Gradcheck tolerances where the op itself rounds (a cast to float32). */
  check?: bp.GradcheckOptions;
}

const UNARY_SHAPES: bp.Shape[] = [[], [3], [3, 1], [2, 3, 4]];
const BINARY_PAIRS: bp.Shape[][] = [
  [[], []],
  [[3], []],
  [[], [3]],
  [[3], [3]],
  [
    [3, 1],
    [1, 4],
  ],
  [
    [1, 4],
    [3, 1],
  ],
  [
    [2, 3, 4],
    [2, 1, 4],
  ],
  [
    [3, 1],
    [2, 3, 4],
  ],
  [[4], [2, 3, 1]],
];

function sizeOf(s: bp.Shape): number {
  return s.reduce((a, b) => a * b, 1);
}

function outIndices(out: bp.Shape): number[][] {
  return Array.from({ length: sizeOf(out) }, (_, k) => unravel(k, out));
}

function unary<P extends bp.Prim>(f: (v: number) => number, domain: Domain = "any"): Case<P> {
  return {
    variants: UNARY_SHAPES.map((s) => ({ shapes: [s], params: {} as bp.ParamMap[P] })),
    domains: [domain],
    ref: (xs) => Array.from(xs[0].data, f),
  };
}

function binary<P extends bp.Prim>(f: (a: number, b: number) => number, domains: Domain[] = ["any", "any"]): Case<P> {
  return {
    variants: BINARY_PAIRS.map((shapes) => ({ shapes, params: {} as bp.ParamMap[P] })),
    domains,
    ref: (xs, _p, out) => outIndices(out).map((i) => f(readBroadcast(xs[0], i), readBroadcast(xs[1], i))),
  };
}

/** Comparisons are tested on values drawn from a small set so that ties really occur. */
function comparison<P extends bp.Prim>(f: (a: number, b: number) => boolean): Case<P> {
  return {
    ...binary<P>((a, b) => (f(a, b) ? 1 : 0)),
    constant: {
      index: 0,
      make: (shape, rng) =>
        bp.tensor(
          Float64Array.from({ length: sizeOf(shape) }, () => rng.int(3)),
          { shape, dtype: "float64" },
        ),
    },
  };
}

function reduceVariants<P extends "sum" | "max">(): Variant<P>[] {
  return [
    { shapes: [[2, 3, 4]], params: { axes: [1], keepdims: false } },
    { shapes: [[2, 3, 4]], params: { axes: [0, 2], keepdims: true } },
    { shapes: [[2, 3, 4]], params: { axes: [0, 1, 2], keepdims: false } },
    { shapes: [[5]], params: { axes: [0], keepdims: false } },
    { shapes: [[]], params: { axes: [], keepdims: false } },
    { shapes: [[3, 1]], params: { axes: [1], keepdims: true } },
  ];
}

function reduceRef(init: number, combine: (acc: number, v: number) => number) {
  return (xs: bp.Tensor[], p: bp.ReduceParams, out: bp.Shape): number[] => {
    const x = xs[0];
    const acc = new Array<number>(sizeOf(out)).fill(init);
    for (let k = 0; k < x.size; k++) {
      const idx = unravel(k, x.shape);
      const o = p.keepdims ? idx.map((v, d) => (p.axes.includes(d) ? 0 : v)) : idx.filter((_, d) => !p.axes.includes(d));
      const j = ravel(o, out);
      acc[j] = combine(acc[j], x.data[k]);
    }
    return acc;
  };
}

/** Sum over p of op(a)[i, p] op(b)[p, j], reading a transposed operand by swapped indices. */
function naiveMatmul(a: bp.Tensor, b: bp.Tensor, p: bp.ParamMap["matmul"], out: bp.Shape): number[] {
  const k = p.transposeX ? a.shape[a.ndim - 2] : a.shape[a.ndim - 1];
  return outIndices(out).map((idx) => {
    const batch = idx.slice(0, -2);
    const i = idx[idx.length - 2],
      j = idx[idx.length - 1];
    let s = 0;
    for (let q = 0; q < k; q++) {
      s += readBroadcast(a, [...batch, ...(p.transposeX ? [q, i] : [i, q])]) * readBroadcast(b, [...batch, ...(p.transposeY ? [j, q] : [q, j])]);
    }
    return s;
  });
}

/** erf by Simpson's rule on 2/√π e^(-t²) over [0, x] (2000 panels: error far below the tolerances), independent of the kernel's series. */
function erfBySimpson(x: number): number {
  const n = 2000;
  const h = x / n;
  const f = (t: number) => Math.exp(-t * t);
  let s = f(0) + f(x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(i * h);
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}

/**
 * unfold written plainly, one output element at a time: column (oh, ow) and row (c, i, j) read the image
 * at (oh*sh - top + i*dh, ow*sw - left + j*dw), zero outside it (PyTorch's F.unfold layout).
 */
function naiveUnfold(x: bp.Tensor, p: bp.WindowParams, out: bp.Shape): number[] {
  const [, , h, w] = x.shape;
  const [kh, kw] = p.kernel;
  const wo = Math.floor((w + p.padding[1] + p.padding[3] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
  return outIndices(out).map(([n, row, col]) => {
    const c = Math.floor(row / (kh * kw));
    const i = Math.floor((row % (kh * kw)) / kw);
    const j = row % kw;
    const ih = Math.floor(col / wo) * p.stride[0] - p.padding[0] + i * p.dilation[0];
    const iw = (col % wo) * p.stride[1] - p.padding[1] + j * p.dilation[1];
    return ih >= 0 && ih < h && iw >= 0 && iw < w ? x.data[ravel([n, c, ih, iw], x.shape)] : 0;
  });
}

/** fold as the transpose of naiveUnfold: each column entry is added where unfold would have read it. */
function naiveFold(x: bp.Tensor, p: bp.ParamMap["fold"], out: bp.Shape): number[] {
  const o = new Array<number>(sizeOf(out)).fill(0);
  for (let k = 0; k < sizeOf(out); k++) {
    // The unfold of a one-hot image says which column entries read pixel k.
    const hot = new Float64Array(sizeOf(out));
    hot[k] = 1;
    const read = naiveUnfold(bp.tensor(hot, { shape: out, dtype: "float64" }), p, x.shape);
    for (let q = 0; q < read.length; q++) if (read[q] !== 0) o[k] += x.data[q];
  }
  return o;
}

const window = (kernel: [number, number], stride: [number, number], padding: [number, number, number, number], dilation: [number, number]) => ({
  kernel,
  stride,
  padding,
  dilation,
});

const CASES: { [P in bp.Prim]: Case<P> } = {
  neg: unary((v) => -v),
  exp: unary(Math.exp),
  log: unary(Math.log, "pos"),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan, "small"),
  sqrt: unary(Math.sqrt, "pos"),
  tanh: unary(Math.tanh),
  sigmoid: unary((v) => 1 / (1 + Math.exp(-v))),
  abs: unary(Math.abs, "nonzero"),
  sign: unary(Math.sign, "nonzero"),
  reciprocal: unary((v) => 1 / v, "nonzero"),
  erf: unary(erfBySimpson),
  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: binary((a, b) => a / b, ["any", "nonzero"]),
  pow: binary(Math.pow, ["pos", "any"]),
  maximum: binary(Math.max),
  minimum: binary(Math.min),
  gt: comparison((a, b) => a > b),
  ge: comparison((a, b) => a >= b),
  eq: comparison((a, b) => a === b),
  where: {
    variants: [
      { shapes: [[3], [3], [3]], params: {} },
      { shapes: [[2, 1], [1, 3], []], params: {} },
      { shapes: [[], [2, 3], [3]], params: {} },
      {
        shapes: [
          [2, 3, 1],
          [3, 4],
          [2, 1, 4],
        ],
        params: {},
      },
    ],
    ref: (xs, _p, out) => outIndices(out).map((i) => (readBroadcast(xs[0], i) !== 0 ? readBroadcast(xs[1], i) : readBroadcast(xs[2], i))),
    constant: {
      index: 0,
      make: (shape, rng) =>
        bp.tensor(
          Float64Array.from({ length: sizeOf(shape) }, () => rng.int(2)),
          { shape, dtype: "float64" },
        ),
    },
  },
  sum: { variants: reduceVariants(), ref: reduceRef(0, (a, v) => a + v) },
  max: { variants: reduceVariants(), ref: reduceRef(-Infinity, Math.max) },
  argmax: {
    variants: [
      { shapes: [[2, 3, 4]], params: { axis: 1, keepdims: false } },
      { shapes: [[2, 3, 4]], params: { axis: 2, keepdims: true } },
      { shapes: [[5]], params: { axis: 0, keepdims: false } },
    ],
    ref: (xs, p, out) =>
      outIndices(out).map((o) => {
        const base = p.keepdims ? [...o] : [...o.slice(0, p.axis), 0, ...o.slice(p.axis)];
        let best = 0;
        for (let k = 1; k < xs[0].shape[p.axis]; k++) {
          base[p.axis] = k;
          const v = xs[0].data[ravel(base, xs[0].shape)];
          base[p.axis] = best;
          if (v > xs[0].data[ravel(base, xs[0].shape)]) best = k;
        }
        return best;
      }),
  },
  reshape: {
    variants: [
      { shapes: [[2, 3]], params: { shape: [3, 2] } },
      { shapes: [[2, 3, 4]], params: { shape: [4, 6] } },
      { shapes: [[]], params: { shape: [1, 1] } },
    ],
    ref: (xs) => xs[0].data,
  },
  broadcast: {
    variants: [
      { shapes: [[3]], params: { shape: [2, 3] } },
      { shapes: [[3, 1]], params: { shape: [2, 3, 4] } },
      { shapes: [[]], params: { shape: [2, 2] } },
    ],
    ref: (xs, _p, out) => outIndices(out).map((i) => readBroadcast(xs[0], i)),
  },
  transpose: {
    variants: [
      { shapes: [[2, 3]], params: { perm: [1, 0] } },
      { shapes: [[2, 3, 4]], params: { perm: [2, 0, 1] } },
      { shapes: [[2, 3, 4]], params: { perm: [0, 2, 1] } },
    ],
    ref: (xs, p, out) =>
      outIndices(out).map((i) => {
        const src = new Array<number>(i.length);
        p.perm.forEach((a, d) => (src[a] = i[d]));
        return xs[0].data[ravel(src, xs[0].shape)];
      }),
  },
  slice: {
    variants: [
      { shapes: [[5]], params: { starts: [1], sizes: [3], steps: [1] } },
      { shapes: [[4, 6]], params: { starts: [1, 0], sizes: [2, 3], steps: [2, 2] } },
      { shapes: [[2, 3, 4]], params: { starts: [0, 2, 1], sizes: [2, 1, 2], steps: [1, 1, 2] } },
    ],
    ref: (xs, p, out) =>
      outIndices(out).map(
        (i) =>
          xs[0].data[
            ravel(
              i.map((v, d) => p.starts[d] + v * p.steps[d]),
              xs[0].shape,
            )
          ],
      ),
  },
  pad: {
    variants: [
      { shapes: [[3]], params: { starts: [1], steps: [1], shape: [5] } },
      { shapes: [[2, 3]], params: { starts: [1, 0], steps: [2, 2], shape: [4, 6] } },
    ],
    ref: (xs, p, out) => {
      const o = new Array<number>(sizeOf(out)).fill(0);
      for (let k = 0; k < xs[0].size; k++) {
        const i = unravel(k, xs[0].shape);
        o[
          ravel(
            i.map((v, d) => p.starts[d] + v * p.steps[d]),
            out,
          )
        ] = xs[0].data[k];
      }
      return o;
    },
  },
  concat: {
    variants: [
      { shapes: [[2], [3]], params: { axis: 0 } },
      {
        shapes: [
          [2, 3],
          [2, 1],
          [2, 2],
        ],
        params: { axis: 1 },
      },
      {
        shapes: [
          [1, 3, 2],
          [2, 3, 2],
        ],
        params: { axis: 0 },
      },
    ],
    ref: (xs, p, out) =>
      outIndices(out).map((i) => {
        let pos = i[p.axis];
        for (const x of xs) {
          if (pos < x.shape[p.axis])
            return x.data[
              ravel(
                i.map((v, d) => (d === p.axis ? pos : v)),
                x.shape,
              )
            ];
          pos -= x.shape[p.axis];
        }
        throw new Error("unreachable");
      }),
  },
  gather: {
    variants: [
      { shapes: [[5]], params: { indices: Int32Array.from([4, 0, 0, 2]), indexShape: [4], axis: 0 } },
      { shapes: [[3, 4]], params: { indices: Int32Array.from([3, 1, 3, 0, 2, 2]), indexShape: [2, 3], axis: 1 } },
      { shapes: [[3, 2, 2]], params: { indices: Int32Array.from([2]), indexShape: [], axis: 0 } },
    ],
    ref: (xs, p, out) =>
      outIndices(out).map((i) => {
        const k = p.indexShape.length;
        const which = p.indices[ravel(i.slice(p.axis, p.axis + k), p.indexShape)];
        return xs[0].data[ravel([...i.slice(0, p.axis), which, ...i.slice(p.axis + k)], xs[0].shape)];
      }),
  },
  scatterAdd: {
    variants: [
      { shapes: [[4]], params: { indices: Int32Array.from([4, 0, 0, 2]), indexShape: [4], axis: 0, size: 5 } },
      { shapes: [[3, 2, 3]], params: { indices: Int32Array.from([3, 1, 3, 0, 2, 2]), indexShape: [2, 3], axis: 1, size: 4 } },
    ],
    ref: (xs, p, out) => {
      const o = new Array<number>(sizeOf(out)).fill(0);
      const k = p.indexShape.length;
      for (let j = 0; j < xs[0].size; j++) {
        const i = unravel(j, xs[0].shape);
        const which = p.indices[ravel(i.slice(p.axis, p.axis + k), p.indexShape)];
        o[ravel([...i.slice(0, p.axis), which, ...i.slice(p.axis + k)], out)] += xs[0].data[j];
      }
      return o;
    },
  },
  matmul: {
    variants: [
      {
        shapes: [
          [2, 3],
          [3, 4],
        ],
        params: {},
      },
      {
        shapes: [
          [1, 3],
          [3, 1],
        ],
        params: {},
      },
      {
        shapes: [
          [2, 2, 3],
          [3, 4],
        ],
        params: {},
      },
      {
        shapes: [
          [2, 5, 4],
          [3, 2, 4, 3],
        ],
        params: {},
      },
      {
        shapes: [
          [3, 1, 2, 3],
          [2, 3, 2],
        ],
        params: {},
      },
      // Operands read transposed in their last two axes (the VJP's products).
      {
        shapes: [
          [3, 2],
          [3, 4],
        ],
        params: { transposeX: true },
      },
      {
        shapes: [
          [2, 3],
          [4, 3],
        ],
        params: { transposeY: true },
      },
      {
        shapes: [
          [3, 2],
          [4, 3],
        ],
        params: { transposeX: true, transposeY: true },
      },
      {
        shapes: [
          [2, 3, 2],
          [4, 3],
        ],
        params: { transposeX: true, transposeY: true },
      },
      {
        shapes: [
          [3, 1, 3, 2],
          [2, 3, 4],
        ],
        params: { transposeX: true, transposeY: false },
      },
      {
        shapes: [
          [1, 3, 2],
          [2, 4, 2],
        ],
        params: { transposeX: false, transposeY: true },
      },
    ],
    ref: (xs, p, out) => naiveMatmul(xs[0], xs[1], p, out),
  },
  unfold: {
    variants: [
      { shapes: [[2, 2, 4, 4]], params: window([3, 3], [1, 1], [0, 0, 0, 0], [1, 1]) },
      { shapes: [[1, 2, 5, 4]], params: window([3, 2], [2, 1], [1, 0, 1, 1], [1, 2]) },
      // Asymmetric padding ("same" with an even kernel), stride past the edge, a 1x1 kernel, dilation 2.
      { shapes: [[1, 1, 4, 5]], params: window([2, 2], [2, 3], [0, 0, 1, 1], [1, 1]) },
      { shapes: [[2, 3, 2, 3]], params: window([1, 1], [1, 2], [0, 0, 0, 0], [1, 1]) },
      { shapes: [[1, 1, 5, 5]], params: window([2, 2], [1, 1], [1, 1, 1, 1], [2, 2]) },
    ],
    ref: (xs, p, out) => naiveUnfold(xs[0], p, out),
  },
  fold: {
    variants: [
      // 4x5 image, 2x2 kernel: 3x4 windows.
      { shapes: [[1, 8, 12]], params: { ...window([2, 2], [1, 1], [0, 0, 0, 0], [1, 1]), size: [4, 5] } },
      // 5x4 image, 3x2 kernel, stride (2,1), padding (1,0,1,1), dilation (1,2): 3x3 windows.
      { shapes: [[2, 6, 9]], params: { ...window([3, 2], [2, 1], [1, 0, 1, 1], [1, 2]), size: [5, 4] } },
      // Stride larger than the kernel: some pixels are read by no window and get 0.
      { shapes: [[1, 2, 4]], params: { ...window([1, 2], [2, 3], [0, 0, 0, 0], [1, 1]), size: [3, 5] } },
    ],
    ref: (xs, p, out) => naiveFold(xs[0], p, out),
  },
  cast: {
    variants: [
      { shapes: [[3]], params: { dtype: "float32" } },
      { shapes: [[2, 2]], params: { dtype: "float64" } },
    ],
    ref: (xs, p) => (p.dtype === "float32" ? Float32Array.from(xs[0].data) : xs[0].data),
    check: { eps: 1e-2, atol: 1e-4, rtol: 1e-3 },
  },
};

function makeInputs<P extends bp.Prim>(c: Case<P>, v: Variant<P>, rng: bp.Rng): bp.Tensor[] {
  return v.shapes.map((s, i) => (c.constant?.index === i ? c.constant.make(s, rng) : randTensor(s, rng, c.domains?.[i] ?? "any")));
}

/** The primitive as a function of its free inputs (a constant condition is closed over). */
function differentiable<P extends bp.Prim>(prim: P, c: Case<P>, v: Variant<P>, rng: bp.Rng): { f: (...a: bp.Tensor[]) => bp.Tensor; free: bp.Tensor[] } {
  const xs = makeInputs(c, v, rng);
  const k = c.constant?.index;
  const f = (...a: bp.Tensor[]) => {
    const all = [...a];
    if (k !== undefined) all.splice(k, 0, xs[k]);
    return bp.bind(prim, all, v.params);
  };
  return { f, free: xs.filter((_, i) => i !== k) };
}

/** (f(x + h t) - f(x - h t)) / 2h, all inputs moved along their tangents at once. */
function centralJvp(f: (...a: bp.Tensor[]) => bp.Tensor | bp.Tensor[], xs: bp.Tensor[], ts: bp.Tensor[], h: number): Float64Array[] {
  const at = (s: number) => {
    const r = f(...xs.map((x, i) => bp.add(x, bp.mul(ts[i], s * h))));
    return Array.isArray(r) ? r : [r];
  };
  const plus = at(1);
  const minus = at(-1);
  return plus.map((p, k) => Float64Array.from(p.data, (v, j) => (v - minus[k].data[j]) / (2 * h)));
}

function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= atol + rtol * Math.abs(expected[i]), `${what}[${i}]: ${actual[i]} != ${expected[i]} (|diff| ${err})`);
  }
}

function dot(a: bp.Tensor, b: bp.Tensor): number {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.data[i] * b.data[i];
  return s;
}

describe("primitive table", () => {
  it("has a test case for every primitive and a complete spec for each", () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(bp.PRIMS).sort());
    for (const [name, spec] of Object.entries(bp.PRIMS)) {
      for (const lang of ["text", "latex", "python", "ts"] as const) {
        assert.equal(typeof spec.print[lang], "function", `${name} has no ${lang} printer`);
      }
    }
  });

  for (const prim of Object.keys(CASES) as bp.Prim[]) {
    const c = CASES[prim] as Case<bp.Prim>;
    const spec = bp.PRIMS[prim] as bp.Spec<bp.Prim>;
    describe(prim, () => {
      it("kernel matches the reference on every variant", () => {
        const rng = new bp.Rng(1);
        for (const v of c.variants) {
          const xs = makeInputs(c, v, rng);
          const out = bp.bind(prim, xs, v.params);
          const expected = c.ref(xs, v.params, out.shape);
          assert.equal(out.size, expected.length, `${prim} ${JSON.stringify(v.shapes)}: size`);
          assertClose(out.data, expected, prim === "cast" ? 0 : 1e-12, `${prim} ${JSON.stringify(v.shapes)}`);
        }
      });

      it("has a JVP rule exactly where it has a VJP rule", () => {
        assert.equal(spec.jvp === null, spec.vjp === null, `${prim}: jvp and vjp must both be rules or both null`);
      });

      if (spec.vjp === null) {
        it("JVP gives zero tangents (a piecewise constant output)", () => {
          const rng = new bp.Rng(12);
          for (const v of c.variants) {
            const xs = makeInputs(c, v, rng);
            const ts = xs.map((x) => randTensor(x.shape, rng));
            const [y, dy] = bp.jvp((...a: bp.Tensor[]) => bp.bind(prim, a, v.params), xs, ts);
            assert.deepEqual(dy.shape, y.shape);
            assert.ok(
              Array.from(dy.data).every((d) => d === 0),
              `${prim}: nonzero tangent ${Array.from(dy.data)}`,
            );
          }
        });
        it("is not differentiable: its output never requires grad", () => {
          const rng = new bp.Rng(2);
          const v = c.variants[0];
          const xs = makeInputs(c, v, rng).map((x) => x.requireGrad());
          assert.equal(bp.bind(prim, xs, v.params).requiresGrad, false);
        });
        return;
      }

      it("VJP passes gradcheck (float64 central differences) on every variant", () => {
        const rng = new bp.Rng(3);
        for (const v of c.variants) {
          const { f, free } = differentiable(prim, c, v, rng);
          assertGradcheck(f, free, `${prim} ${JSON.stringify(v.shapes)}`, c.check);
        }
      });

      it("JVP matches central differences (float64) on every variant", () => {
        const rng = new bp.Rng(5);
        for (const v of c.variants) {
          const { f, free } = differentiable(prim, c, v, rng);
          const ts = free.map((x) => randTensor(x.shape, rng));
          const [y, dy] = bp.jvp(f, free, ts);
          assert.deepEqual(dy.shape, y.shape, `${prim}: tangent shape`);
          assert.equal(dy.dtype, y.dtype, `${prim}: tangent dtype`);
          const fd = centralJvp(f, free, ts, c.check?.eps ?? 1e-6)[0];
          assertNear(dy.data, fd, c.check?.atol ?? 1e-7, c.check?.rtol ?? 1e-6, `${prim} jvp ${JSON.stringify(v.shapes)}`);
        }
      });

      it("JVP agrees with the VJP: <w, J t> = <J^T w, t>", () => {
        const rng = new bp.Rng(6);
        for (const v of c.variants) {
          const { f, free } = differentiable(prim, c, v, rng);
          const ts = free.map((x) => randTensor(x.shape, rng));
          const [y, dy] = bp.jvp(f, free, ts);
          const w = randTensor(y.shape, rng);
          const [, back] = bp.vjp(f, ...free);
          const gs = back(w);
          const forward = dot(w, dy);
          const reverse = gs.reduce((acc, g, i) => acc + dot(g, ts[i]), 0);
          // A cast to float32 rounds the forward tangent; everything else agrees to float64 rounding.
          const tol = c.check ? 1e-6 : 1e-9;
          assert.ok(Math.abs(forward - reverse) <= tol * (1 + Math.abs(forward)), `${prim} ${JSON.stringify(v.shapes)}: ${forward} != ${reverse}`);
        }
      });

      it("JVP differentiates again: forward over reverse matches differences of the gradient, and reverse over forward", () => {
        const rng = new bp.Rng(7);
        for (const v of c.variants) {
          const { f, free } = differentiable(prim, c, v, rng);
          const w = randTensor(f(...free).shape, rng);
          const ts = free.map((x) => randTensor(x.shape, rng));
          // g(x) = J(x)^T w; its directional derivative along t is the Hessian-vector product.
          const g = (...a: bp.Tensor[]) => bp.vjp(f, ...a)[1](w);
          const [, hvp] = bp.jvp(g, free, ts);
          const fd = centralJvp(g, free, ts, 1e-5);
          hvp.forEach((h, i) => assertNear(h.data, fd[i], 1e-6, 1e-5, `${prim} forward over reverse ${JSON.stringify(v.shapes)} input ${i}`));
          // Reverse over forward: d/dx <w, J(x) t> is the same product (each Hessian is symmetric).
          const inner = (...a: bp.Tensor[]) => bp.sum(bp.mul(w, bp.jvp(f, a, ts)[1]));
          const [, back] = bp.vjp(inner, ...free);
          back(1).forEach((r, i) => assertNear(r.data, hvp[i].data, 1e-9, 1e-9, `${prim} reverse over forward ${JSON.stringify(v.shapes)} input ${i}`));
        }
      });

      it("VJP is itself differentiable (second order passes gradcheck)", () => {
        const rng = new bp.Rng(4);
        for (const v of c.variants) {
          const { f, free } = differentiable(prim, c, v, rng);
          assertGradcheck(secondOrder(f, free, rng), free, `${prim} second order ${JSON.stringify(v.shapes)}`, c.check ?? { atol: 1e-5, rtol: 1e-4 });
        }
      });
    });
  }
});

describe("matmul reading an operand transposed", () => {
  it("prints the transpose in every language (the VJP's products appear in printed gradient graphs)", () => {
    const print = bp.PRIMS.matmul.print;
    assert.equal(print.text(["a", "b"], { transposeX: true }), "a.mT @ b");
    assert.equal(print.python(["a", "b"], { transposeY: true }), "a @ np.swapaxes(b, -1, -2)");
    assert.equal(print.ts(["a", "b"], { transposeX: true, transposeY: true }), "bp.matmul(bp.mT(a), bp.mT(b))");
    assert.equal(print.latex(["a", "b"], { transposeY: true }), "a \\, {b}^{\\top}");
    assert.equal(print.text(["a", "b"], {}), "a @ b");
  });

  it("names the operand read transposed when the inner dimensions disagree", () => {
    const x = bp.zeros([2, 3]);
    assert.throws(
      () => bp.bind("matmul", [x, bp.zeros([3, 4])], { transposeX: true }),
      /matmul \(x read transposed\): inner dimensions do not match for \(3,2\) @ \(3,4\)/,
    );
  });
});

describe("erf's kernel", () => {
  it("matches mpmath to a few ulps on both sides of the series/continued fraction switch at 2.5", () => {
    const want: [number, number][] = [
      [1e-10, 1.1283791670955126e-10],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-1.5, -0.9661051464753108],
      [2, 0.9953222650189527],
      [2.4999, 0.9995928300996666],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [5.9, 0.9999999999999999],
    ];
    const got = bp
      .erf(
        bp.tensor(
          want.map(([x]) => x),
          { dtype: "float64" },
        ),
      )
      .toArray() as number[];
    want.forEach(([x, v], i) => assert.ok(Math.abs(got[i] - v) <= 4e-15 * Math.abs(v), `erf(${x}) = ${got[i]}, want ${v}`));
  });
  it("is odd, ±1 at the infinities, keeps -0 and NaN", () => {
    const got = bp.erf(bp.tensor([-0, Infinity, -Infinity, NaN, -0.7], { dtype: "float64" })).toArray() as number[];
    assert.ok(Object.is(got[0], -0));
    assert.deepEqual(got.slice(1, 4), [1, -1, NaN]);
    assert.equal(got[4], -(bp.erf(bp.tensor([0.7], { dtype: "float64" })).toArray() as number[])[0]);
    assert.deepEqual(bp.tensor([0.25, -3]).erf().toArray(), bp.erf(bp.tensor([0.25, -3])).toArray(), "the Tensor method");
  });
});
