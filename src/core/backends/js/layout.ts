/** Reference kernels that move data without arithmetic (or only add it up): layout and indexing. */
import { allocate, type DType, type TypedArray } from "../../dtype.js";
import type { Kernel } from "../../prim.js";
import { sizeOf, stridesOf, type Shape } from "../../shape.js";
import { broadcastStrides } from "./elementwise.js";
import { walkStrided } from "./walk.js";

/**
 * out[i] = src[base + idx(i) . strides] in row-major order: walkStrided's odometer with the copy inline
 * (broadcast, slice and transposes run through here, and a callback per element cost ~10 ns).
 */
function gatherStrided(src: TypedArray, base: number, strides: readonly number[], outShape: Shape, dtype: DType): TypedArray {
  const total = sizeOf(outShape);
  const o = allocate(dtype, total);
  const n = outShape.length;
  if (total === 0) return o;
  if (n === 0) {
    o[0] = src[base];
    return o;
  }
  const idx = new Array<number>(n).fill(0);
  const len = outShape[n - 1];
  const step = strides[n - 1];
  let off = base;
  for (let i = 0; i < total; i += len) {
    if (len > 16 && step === 1) o.set(src.subarray(off, off + len), i);
    else if (len > 16 && step === 0) o.fill(src[off], i, i + len);
    else for (let j = 0; j < len; j++) o[i + j] = src[off + j * step];
    for (let d = n - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < outShape[d]) break;
      off -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return o;
}

function sliceBase(starts: readonly number[], strides: readonly number[]): number {
  let base = 0;
  for (let i = 0; i < strides.length; i++) base += starts[i] * strides[i];
  return base;
}

/** Reshape keeps the buffer: tensors are immutable row-major arrays, so a reshape is a free view. */
export const reshapeKernel: Kernel<"reshape"> = (ins) => ins[0].data;

export const broadcastKernel: Kernel<"broadcast"> = (ins, p, out) => gatherStrided(ins[0].data, 0, broadcastStrides(ins[0].shape, p.shape), p.shape, out.dtype);

export const transposeKernel: Kernel<"transpose"> = (ins, p, out) => {
  const nd = p.perm.length;
  if (nd >= 2 && p.perm[nd - 2] === nd - 1 && p.perm[nd - 1] === nd - 2 && p.perm.slice(0, -2).every((a, i) => a === i)) {
    return swapLastTwo(ins[0].data, ins[0].shape, out.dtype);
  }
  const s = stridesOf(ins[0].shape);
  return gatherStrided(
    ins[0].data,
    0,
    p.perm.map((a) => s[a]),
    out.shape,
    out.dtype,
  );
};

/** Matrix transposes of every batch element. */
function swapLastTwo(x: TypedArray, shape: Shape, dtype: DType): TypedArray {
  const r = shape[shape.length - 2];
  const c = shape[shape.length - 1];
  const o = allocate(dtype, x.length);
  const per = r * c;
  const batches = per === 0 ? 0 : x.length / per;
  for (let b = 0; b < batches; b++) transposeInto(x.subarray(b * per, (b + 1) * per), r, c, o, b * per);
  return o;
}

/**
 * Writes the rows x cols matrix `src` transposed (cols x rows) into `dst` from `offset`, in 32 x 32
 * tiles so that both the rows read and the rows written stay in cache.
 */
export function transposeInto(src: ArrayLike<number>, rows: number, cols: number, dst: TypedArray, offset = 0): void {
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(rows, i0 + T);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(cols, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[offset + j * rows + i] = src[i * cols + j];
    }
  }
}

export const sliceKernel: Kernel<"slice"> = (ins, p, out) => {
  const s = stridesOf(ins[0].shape);
  return gatherStrided(
    ins[0].data,
    sliceBase(p.starts, s),
    s.map((st, i) => st * p.steps[i]),
    out.shape,
    out.dtype,
  );
};

export const padKernel: Kernel<"pad"> = (ins, p, out) => {
  const x = ins[0].data;
  const o = allocate(out.dtype, sizeOf(p.shape));
  const s = stridesOf(p.shape);
  // x lands exactly where slice (same starts and steps) would read from.
  walkStrided(
    sliceBase(p.starts, s),
    s.map((st, i) => st * p.steps[i]),
    ins[0].shape,
    (i, off) => {
      o[off] = x[i];
    },
  );
  return o;
};

export const concatKernel: Kernel<"concat"> = (ins, p, out) => {
  const o = allocate(out.dtype, sizeOf(out.shape));
  const outer = sizeOf(out.shape.slice(0, p.axis));
  const outRow = sizeOf(out.shape.slice(p.axis));
  let col = 0;
  for (const x of ins) {
    const row = sizeOf(x.shape.slice(p.axis));
    for (let a = 0; a < outer; a++) o.set(x.data.subarray(a * row, (a + 1) * row), a * outRow + col);
    col += row;
  }
  return o;
};

export const gatherKernel: Kernel<"gather"> = (ins, p, out) => {
  const x = ins[0];
  const o = allocate(out.dtype, sizeOf(out.shape));
  const outer = sizeOf(x.shape.slice(0, p.axis));
  const inner = sizeOf(x.shape.slice(p.axis + 1));
  const n = x.shape[p.axis];
  const m = p.indices.length;
  for (let a = 0; a < outer; a++) {
    for (let k = 0; k < m; k++) {
      const from = (a * n + p.indices[k]) * inner;
      const to = (a * m + k) * inner;
      // A subarray per index costs more than copying a few elements.
      if (inner > 16) o.set(x.data.subarray(from, from + inner), to);
      else for (let j = 0; j < inner; j++) o[to + j] = x.data[from + j];
    }
  }
  return o;
};

export const scatterAddKernel: Kernel<"scatterAdd"> = (ins, p, out) => {
  const x = ins[0];
  const o = allocate(out.dtype, sizeOf(out.shape));
  const outer = sizeOf(out.shape.slice(0, p.axis));
  const inner = sizeOf(out.shape.slice(p.axis + 1));
  const n = p.size;
  const m = p.indices.length;
  for (let a = 0; a < outer; a++) {
    for (let k = 0; k < m; k++) {
      const to = (a * n + p.indices[k]) * inner;
      const from = (a * m + k) * inner;
      for (let j = 0; j < inner; j++) o[to + j] += x.data[from + j];
    }
  }
  return o;
};

export const castKernel: Kernel<"cast"> = (ins, _p, out) => {
  const o = allocate(out.dtype, ins[0].data.length);
  o.set(ins[0].data);
  return o;
};
