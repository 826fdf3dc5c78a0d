/**
 * The core API the explainer uses, taken from the core modules themselves. The explainer must not import
 * the package entry (src/index.ts): that re-exports the explainer and selects a backend on import, which
 * made an import cycle through every explainer file.
 */
export { Tensor, type Nested, type Node } from "../core/tensor.js";
export * from "../core/ops.js";
export { vjp } from "../core/autodiff.js";
export { jvp } from "../core/forward.js";
export { bind, noGrad } from "../core/bind.js";
export { gradcheck } from "../core/gradcheck.js";
export { formatShape } from "../core/shape.js";
export { PRIMS } from "../core/primitives.js";
export type { Prim, Spec } from "../core/prim.js";
export { Rng } from "../core/random.js";
export { broadcastShapes, matmulShape, ShapeError } from "../core/shape.js";
