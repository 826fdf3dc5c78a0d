/** Batched matrix product with NumPy batch broadcasting (inputs are at least 2-D here). */
import { allocate, type DType, type TypedArray } from "../../dtype.js";
import type { Kernel } from "../../prim.js";
import { sizeOf } from "../../shape.js";
import { broadcastStrides } from "./elementwise.js";

/**
 * C (m x n) = op(A) op(B) on row-major views, op(A) being m x k: A is stored k x m when `ta` (read
 * transposed), B n x k when `tb`. C is fresh and must be written in full.
 */
export type Gemm = (a: TypedArray, b: TypedArray, c: TypedArray, m: number, n: number, k: number, ta: boolean, tb: boolean) => void;

/** The reference product: i-k-j loops with a float64 row accumulator. */
export const referenceGemm: Gemm = (A, B, C, m, n, k, ta, tb) => {
  const row = new Float64Array(n);
  // Element strides of op(A) (rows, depth) and op(B) (depth, columns) in their stored layouts.
  const [ai, ap] = ta ? [1, m] : [k, 1];
  const [bp, bj] = tb ? [1, k] : [n, 1];
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = A[i * ai + p * ap];
      const bo = p * bp;
      if (bj === 1) for (let j = 0; j < n; j++) row[j] += av * B[bo + j];
      else for (let j = 0; j < n; j++) row[j] += av * B[bo + j * bj];
    }
    for (let j = 0; j < n; j++) C[i * n + j] = row[j];
  }
};

/**
 * A matmul kernel from a 2-D product: walks the (broadcast) batch and hands each pair of matrices to
 * `gemm`. `alloc` makes the output; a backend whose product writes every element may skip the zeros.
 */
export function batchedMatmul(gemm: Gemm, alloc: (dtype: DType, n: number) => TypedArray = allocate): Kernel<"matmul"> {
  return (ins, p, out) => {
    const [a, b] = ins;
    const ta = p.transposeX === true,
      tb = p.transposeY === true;
    const ra = a.shape.length,
      rb = b.shape.length;
    const m = a.shape[ta ? ra - 1 : ra - 2];
    const k = a.shape[ta ? ra - 2 : ra - 1];
    const n = b.shape[tb ? rb - 2 : rb - 1];
    const batchShape = out.shape.slice(0, -2);
    const batches = sizeOf(batchShape);
    const sa = broadcastStrides(a.shape.slice(0, -2), batchShape);
    const sb = broadcastStrides(b.shape.slice(0, -2), batchShape);
    const o = alloc(out.dtype, batches * m * n);
    for (let t = 0; t < batches; t++) {
      // Batch offsets from the flat batch index, honouring broadcast (stride-0) batch axes.
      let rest = t,
        offA = 0,
        offB = 0;
      for (let d = batchShape.length - 1; d >= 0; d--) {
        const i = rest % batchShape[d];
        rest = (rest - i) / batchShape[d];
        offA += i * sa[d];
        offB += i * sb[d];
      }
      gemm(
        a.data.subarray(offA * m * k, (offA + 1) * m * k),
        b.data.subarray(offB * k * n, (offB + 1) * k * n),
        o.subarray(t * m * n, (t + 1) * m * n),
        m,
        n,
        k,
        ta,
        tb,
      );
    }
    return o;
  };
}

export const matmulKernel: Kernel<"matmul"> = batchedMatmul(referenceGemm);
