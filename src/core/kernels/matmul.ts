/** Reference batched matrix product with NumPy batch broadcasting (inputs are at least 2-D here). */
import { allocate } from "../dtype.js";
import type { Kernel } from "../prim.js";
import { sizeOf } from "../shape.js";
import { broadcastStrides } from "./elementwise.js";

export const matmulKernel: Kernel<"matmul"> = (ins, _p, out) => {
  const [a, b] = ins;
  const m = a.shape[a.shape.length - 2];
  const k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  const batchShape = out.shape.slice(0, -2);
  const batches = sizeOf(batchShape);
  const sa = broadcastStrides(a.shape.slice(0, -2), batchShape);
  const sb = broadcastStrides(b.shape.slice(0, -2), batchShape);
  const o = allocate(out.dtype, batches * m * n);
  const A = a.data, B = b.data;
  const row = new Float64Array(n);
  for (let t = 0; t < batches; t++) {
    // Batch offsets from the flat batch index, honouring broadcast (stride-0) batch axes.
    let rest = t, offA = 0, offB = 0;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      const i = rest % batchShape[d];
      rest = (rest - i) / batchShape[d];
      offA += i * sa[d];
      offB += i * sb[d];
    }
    offA *= m * k;
    offB *= k * n;
    const offO = t * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const av = A[offA + i * k + p];
        const bo = offB + p * n;
        for (let j = 0; j < n; j++) row[j] += av * B[bo + j];
      }
      for (let j = 0; j < n; j++) o[offO + i * n + j] = row[j];
    }
  }
  return o;
};
