/** One-hot rows for class indices, in the logits' shape and dtype. */
import { Tensor } from "../core/tensor.js";
import { allocate, type DType } from "../core/dtype.js";
import type { Shape } from "../core/shape.js";
import { readClassLabels, type IndexLike } from "../core/ops/structure.js";

export function scatterOneHot(targets: IndexLike, shape: Shape, dtype: DType): Tensor {
  const c = shape[shape.length - 1];
  const idx = readClassLabels("oneHot", targets, c).values;
  const out = allocate(dtype, idx.length * c);
  idx.forEach((k, i) => (out[i * c + k] = 1));
  return new Tensor(out, shape);
}
