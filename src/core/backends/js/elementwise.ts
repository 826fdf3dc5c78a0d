/** Reference elementwise kernels: unary maps, broadcasting binary maps and the three-way `where`. */
import { allocate, type TypedArray } from "../../dtype.js";
import type { Buf, Kernel, Prim } from "../../prim.js";
import { sameShape, sizeOf, type Shape } from "../../shape.js";

/** Strides of `shape` seen from `outShape`: right-aligned, 0 along broadcast dimensions. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const n = outShape.length;
  const s = new Array<number>(n).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = i + n - shape.length;
    s[j] = shape[i] === 1 && outShape[j] !== 1 ? 0 : acc;
    acc *= shape[i];
  }
  return s;
}

export function unaryKernel<P extends Prim>(f: (v: number) => number): Kernel<P> {
  return (ins, _p, out) => {
    const x = ins[0].data;
    const o = allocate(out.dtype, x.length);
    for (let i = 0; i < x.length; i++) o[i] = f(x[i]);
    return o;
  };
}

/**
 * Walks the output in row-major order, calling `row` once per innermost run with each input's offset
 * and innermost stride. Shared by binary ops and `where` so broadcasting is indexed in one place.
 */
function forEachRow(outShape: Shape, inputs: readonly Buf[], row: (o: number, len: number, offs: number[], steps: number[]) => void): void {
  const n = outShape.length;
  const total = sizeOf(outShape);
  if (total === 0) return;
  if (n === 0) {
    row(
      0,
      1,
      inputs.map(() => 0),
      inputs.map(() => 0),
    );
    return;
  }
  const strides = inputs.map((b) => broadcastStrides(b.shape, outShape));
  const last = n - 1;
  const len = outShape[last];
  const steps = strides.map((s) => s[last]);
  const offs = inputs.map(() => 0);
  const idx = new Array<number>(n).fill(0);
  for (let o = 0; o < total; o += len) {
    row(o, len, offs, steps);
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/**
 * Arithmetic written out per operator: a closure call per element is what makes a generic kernel
 * slow (the call site sees every operator), so the common layouts get their own loops.
 */
export function arithmeticKernel<P extends Prim>(op: "+" | "-" | "*" | "/", f: (a: number, b: number) => number): Kernel<P> {
  const general = binaryKernel<P>(f);
  return (ins, p, out) => {
    const A = ins[0].data;
    const B = ins[1].data;
    const same = sameShape(ins[0].shape, ins[1].shape);
    if (!same && B.length !== 1) {
      // A row vector against a matrix (adding a bias to a batch): B repeats along A's leading axes.
      const sa = ins[0].shape,
        sb = ins[1].shape;
      const rowwise = sb.length <= sa.length && sb.length > 0 && A.length === sizeOf(out.shape) && sb.every((d, i) => d === sa[sa.length - sb.length + i]);
      if (!rowwise) return general(ins, p, out);
      const m = B.length;
      const o = allocate(out.dtype, A.length);
      for (let r = 0; r < A.length; r += m) {
        if (op === "+") for (let j = 0; j < m; j++) o[r + j] = A[r + j] + B[j];
        else if (op === "-") for (let j = 0; j < m; j++) o[r + j] = A[r + j] - B[j];
        else if (op === "*") for (let j = 0; j < m; j++) o[r + j] = A[r + j] * B[j];
        else for (let j = 0; j < m; j++) o[r + j] = A[r + j] / B[j];
      }
      return o;
    }
    const n = A.length;
    const o = allocate(out.dtype, n);
    if (same) {
      if (op === "+") for (let i = 0; i < n; i++) o[i] = A[i] + B[i];
      else if (op === "-") for (let i = 0; i < n; i++) o[i] = A[i] - B[i];
      else if (op === "*") for (let i = 0; i < n; i++) o[i] = A[i] * B[i];
      else for (let i = 0; i < n; i++) o[i] = A[i] / B[i];
    } else {
      const b = B[0];
      if (op === "+") for (let i = 0; i < n; i++) o[i] = A[i] + b;
      else if (op === "-") for (let i = 0; i < n; i++) o[i] = A[i] - b;
      else if (op === "*") for (let i = 0; i < n; i++) o[i] = A[i] * b;
      else for (let i = 0; i < n; i++) o[i] = A[i] / b;
    }
    return o;
  };
}

export function binaryKernel<P extends Prim>(f: (a: number, b: number) => number): Kernel<P> {
  return (ins, _p, out) => {
    const A = ins[0].data;
    const B = ins[1].data;
    const o = allocate(out.dtype, sizeOf(out.shape));
    if (sameShape(ins[0].shape, ins[1].shape)) {
      for (let i = 0; i < o.length; i++) o[i] = f(A[i], B[i]);
    } else if (B.length === 1) {
      const b = B[0];
      for (let i = 0; i < o.length; i++) o[i] = f(A[i], b);
    } else if (A.length === 1) {
      const a = A[0];
      for (let i = 0; i < o.length; i++) o[i] = f(a, B[i]);
    } else {
      forEachRow(out.shape, ins, (off, len, offs, steps) => {
        const ia = offs[0],
          sa = steps[0],
          ib = offs[1],
          sb = steps[1];
        for (let j = 0; j < len; j++) o[off + j] = f(A[ia + j * sa], B[ib + j * sb]);
      });
    }
    return o;
  };
}

export const whereKernel: Kernel<"where"> = (ins, _p, out) => {
  const o: TypedArray = allocate(out.dtype, sizeOf(out.shape));
  const C = ins[0].data,
    X = ins[1].data,
    Y = ins[2].data;
  // relu and its gradient: condition and one branch of the output's shape, the other a scalar.
  if (C.length === o.length && X.length === o.length && Y.length === 1) {
    const y = Y[0];
    for (let i = 0; i < o.length; i++) o[i] = C[i] !== 0 ? X[i] : y;
    return o;
  }
  if (C.length === o.length && Y.length === o.length && X.length === 1) {
    const x = X[0];
    for (let i = 0; i < o.length; i++) o[i] = C[i] !== 0 ? x : Y[i];
    return o;
  }
  forEachRow(out.shape, ins, (off, len, offs, steps) => {
    for (let j = 0; j < len; j++) {
      o[off + j] = C[offs[0] + j * steps[0]] !== 0 ? X[offs[1] + j * steps[1]] : Y[offs[2] + j * steps[2]];
    }
  });
  return o;
};

/** NumPy's sign: -1, 0 or 1, and NaN for NaN. */
export function sign(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : NaN;
}

/** Logistic function without overflow: exp is only ever taken of a non-positive number. */
export function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/**
 * log(1 + e^x) without overflow or log(0): x + log1p(e^-x) above 0, log1p(e^x) at and below it, so exp
 * only sees non-positive numbers, and log1p keeps the tiny values of very negative x (e^-40 ≈ 4e-18,
 * which log(1 + e^x) rounds to 0).
 */
export function softplus(v: number): number {
  return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
}

/**
 * The error function, to a few 1e-15 relative in float64 (checked against mpmath): its Maclaurin series below |x| = 2.5 (the
 * alternating terms stay below 20, so little is lost to cancellation), above that 1 - erfc(x) with
 * erfc's continued fraction, which converges fast there. Odd; ±1 beyond |x| = 6; NaN for NaN.
 */
export function erf(v: number): number {
  if (Number.isNaN(v)) return NaN;
  const x = Math.abs(v);
  if (x === 0) return v; // ±0
  if (x >= 6) return Math.sign(v);
  if (x < 2.5) {
    // 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)), each term from the last.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (v < 0 ? -1 : 1) * sum * (2 / Math.sqrt(Math.PI));
  }
  // erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated from the tail.
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  const erfc = Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
  return (v < 0 ? -1 : 1) * (1 - erfc);
}
