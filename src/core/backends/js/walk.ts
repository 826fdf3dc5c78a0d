/** The row-major walk over a shape with a strided second offset, shared by layout and reduction kernels. */
import { sizeOf, type Shape } from "../../shape.js";

/** Visits each position of `shape` in row-major order `i` with its source offset base + sum(idx*strides). */
export function walkStrided(base: number, strides: readonly number[], shape: Shape, visit: (i: number, off: number) => void): void {
  const total = sizeOf(shape);
  const n = shape.length;
  if (total === 0) return;
  if (n === 0) {
    visit(0, base);
    return;
  }
  const idx = new Array<number>(n).fill(0);
  const last = n - 1;
  const len = shape[last];
  const step = strides[last];
  let off = base;
  for (let i = 0; i < total; i += len) {
    for (let j = 0; j < len; j++) visit(i + j, off + j * step);
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}
