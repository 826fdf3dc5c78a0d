/**
 * backprop: tensors, one table of primitives, and reverse-mode autodiff over it.
 * `import * as bp from "backprop"`.
 */
export { Tensor, type Nested, type Node, type Axes, type Operand } from "./core/tensor.js";
export * from "./core/ops.js";
export { backward, grad, valueAndGrad, vjp, zeroGrad, pullback, type BackwardOptions } from "./core/autodiff.js";
export { noGrad, isGradEnabled, withGradMode, bind } from "./core/bind.js";
export { gradcheck, type GradcheckOptions, type GradcheckReport, type InputReport } from "./core/gradcheck.js";
export { broadcastShapes, broadcastAll, matmulShape, formatShape, parseShape, ShapeError, type Shape } from "./core/shape.js";
export { Rng, manualSeed } from "./core/random.js";
export type { DType, TypedArray } from "./core/dtype.js";
export { PRIMS } from "./core/primitives.js";
export type { Prim, ParamMap, Spec, PrimTable, VjpArgs, Kernel, Printers, ReduceParams, IndexParams, Buf } from "./core/prim.js";
export { registerBackend, setBackend, getBackend, listBackends, jsBackend, type Backend } from "./core/backend.js";
