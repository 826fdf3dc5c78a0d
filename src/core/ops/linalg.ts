/** Matrix products with NumPy's matmul semantics. */
import { bind } from "../bind.js";
import { matmulShape } from "../shape.js";
import { expectTensor, type Tensor } from "../tensor.js";
import { reshape } from "./structure.js";

/**
 * `x @ y`: a 1-D x is a row vector and a 1-D y a column vector (that axis is removed from the result);
 * batch axes broadcast, so (2,5,4) @ (3,2,4,8) is (3,2,5,8). The primitive sees only 2-D-or-more operands.
 */
export function matmul(x: Tensor, y: Tensor): Tensor {
  expectTensor("matmul", x);
  expectTensor("matmul", y, "y");
  const outShape = matmulShape(x.shape, y.shape);
  const a = x.ndim === 1 ? reshape(x, [1, x.shape[0]]) : x;
  const b = y.ndim === 1 ? reshape(y, [y.shape[0], 1]) : y;
  return reshape(bind("matmul", [a, b], {}), outShape);
}

/** Inner product of two 1-D tensors, or matmul otherwise. */
export function dot(x: Tensor, y: Tensor): Tensor {
  expectTensor("dot", x);
  expectTensor("dot", y, "y");
  return matmul(x, y);
}
