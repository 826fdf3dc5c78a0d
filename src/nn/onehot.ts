/** One-hot rows for class indices, in the logits' shape and dtype. */
import { Tensor } from "../core/tensor.js";
import { allocate, type DType } from "../core/dtype.js";
import type { Shape } from "../core/shape.js";
import { readIndices, type IndexLike } from "../core/ops/structure.js";

export function scatterOneHot(targets: IndexLike, shape: Shape, dtype: DType): Tensor {
  const idx = readIndices("oneHot", targets).values;
  const c = shape[shape.length - 1];
  const out = allocate(dtype, idx.length * c);
  idx.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 0 || k >= c) throw new Error(`oneHot: class index ${k} at position ${i} is out of range for ${c} classes`);
    out[i * c + k] = 1;
  });
  return new Tensor(out, shape);
}
