/** Reference reductions over any set of axes, and argmax along one axis. */
import { allocate } from "../../dtype.js";
import type { Buf, Kernel, ReduceParams } from "../../prim.js";
import { sizeOf, stridesOf, type Shape } from "../../shape.js";
import { walkStrided } from "./walk.js";

/** Visits each input element with its output offset: output strides with 0 along reduced axes. */
function reduceWalk(x: Buf, axes: readonly number[], visit: (inIndex: number, outIndex: number) => void): void {
  const ks = stridesOf(x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  walkStrided(
    0,
    x.shape.map((_, i) => (axes.includes(i) ? 0 : ks[i])),
    x.shape,
    visit,
  );
}

export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** outer x reduced x inner: the reduced axes are contiguous, so three plain loops do (no callbacks). */
export function contiguous(shape: Shape, axes: readonly number[]): [number, number, number] | null {
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return null;
  const a0 = axes[0];
  const a1 = axes[axes.length - 1] + 1;
  return [sizeOf(shape.slice(0, a0)), sizeOf(shape.slice(a0, a1)), sizeOf(shape.slice(a1))];
}

export const sumKernel: Kernel<"sum"> = (ins, p: ReduceParams, out) => {
  const x = ins[0];
  const blocks = contiguous(x.shape, p.axes);
  if (blocks) {
    const [outer, mid, inner] = blocks;
    const X = x.data;
    const o = allocate(out.dtype, outer * inner);
    const acc = new Float64Array(inner);
    for (let a = 0; a < outer; a++) {
      acc.fill(0);
      for (let m = 0; m < mid; m++) {
        const base = (a * mid + m) * inner;
        for (let k = 0; k < inner; k++) acc[k] += X[base + k];
      }
      o.set(acc, a * inner);
    }
    return o;
  }
  const acc = new Float64Array(sizeOf(out.shape));
  const X = x.data;
  reduceWalk(x, p.axes, (i, o) => {
    acc[o] += X[i];
  });
  const o = allocate(out.dtype, acc.length);
  o.set(acc);
  return o;
};

export const maxKernel: Kernel<"max"> = (ins, p: ReduceParams, out) => {
  const x = ins[0];
  const o = allocate(out.dtype, sizeOf(out.shape)).fill(-Infinity);
  const X = x.data;
  reduceWalk(x, p.axes, (i, k) => {
    const v = X[i];
    // NaN propagates, as in NumPy: once o[k] is NaN no comparison replaces it.
    if (v > o[k] || v !== v) o[k] = v;
  });
  return o;
};

export const argmaxKernel: Kernel<"argmax"> = (ins, p, out) => {
  const x = ins[0];
  const shape = x.shape;
  const n = shape[p.axis];
  const inner = sizeOf(shape.slice(p.axis + 1));
  const outer = sizeOf(shape.slice(0, p.axis));
  const o = allocate(out.dtype, outer * inner);
  const X = x.data;
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const base = a * n * inner + b;
      let best = 0;
      let bestV = X[base];
      for (let k = 1; k < n && bestV === bestV; k++) {
        const v = X[base + k * inner];
        if (v > bestV || v !== v) {
          best = k;
          bestV = v;
        }
      }
      o[a * inner + b] = best;
    }
  }
  return o;
};
