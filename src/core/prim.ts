/**
 * The vocabulary of primitives: their names, their parameters, and the shape of one table entry.
 * Everything the library differentiates is built from these; the table itself is in primitives.ts.
 */
import type { DType, TypedArray } from "./dtype.js";
import type { Shape } from "./shape.js";
import type { Tensor } from "./tensor.js";

export interface ReduceParams {
  /** Sorted, non-negative axes to reduce. */
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

export interface IndexParams {
  /** Flat integer indices, already made non-negative and checked against the axis length. */
  readonly indices: Int32Array;
  readonly indexShape: Shape;
  readonly axis: number;
}

/**
 * A sliding window over the last two axes of (N, C, H, W), as PyTorch's F.unfold reads it: window
 * (oh, ow) covers rows oh*sh - top + i*dh for i < kh (columns the same way); positions in the padding
 * read zero. Ho = floor((H + top + bottom - dh*(kh-1) - 1)/sh) + 1, and the same for Wo.
 */
export interface WindowParams {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Zero padding [top, left, bottom, right]: asymmetric for "same" with an even kernel and for ceil_mode. */
  readonly padding: readonly [number, number, number, number];
  readonly dilation: readonly [number, number];
}

/** Parameters of every primitive. Adding a key here without a table entry fails to compile. */
export interface ParamMap {
  // unary elementwise
  neg: object;
  exp: object;
  log: object;
  sin: object;
  cos: object;
  tan: object;
  sqrt: object;
  tanh: object;
  sigmoid: object;
  abs: object;
  sign: object;
  reciprocal: object;
  erf: object;
  // binary elementwise (NumPy broadcasting)
  add: object;
  sub: object;
  mul: object;
  div: object;
  pow: object;
  maximum: object;
  minimum: object;
  // comparisons and selection (1 or 0 in the input dtype; no gradient through a condition)
  gt: object;
  ge: object;
  eq: object;
  where: object;
  // reductions
  sum: ReduceParams;
  max: ReduceParams;
  argmax: { readonly axis: number; readonly keepdims: boolean };
  // structure
  reshape: { readonly shape: Shape };
  broadcast: { readonly shape: Shape };
  transpose: { readonly perm: readonly number[] };
  /** Strided window: `sizes[i]` elements from `starts[i]` in steps of `steps[i]` (all positive). */
  slice: { readonly starts: readonly number[]; readonly sizes: readonly number[]; readonly steps: readonly number[] };
  /** The transpose of slice: places x at those strided positions in zeros of `shape`. */
  pad: { readonly starts: readonly number[]; readonly steps: readonly number[]; readonly shape: Shape };
  concat: { readonly axis: number };
  /** NumPy `take`: out.shape = x.shape[:axis] + indexShape + x.shape[axis+1:]. */
  gather: IndexParams;
  /** The transpose of gather: adds x's slices into zeros of length `size` along the axis. */
  scatterAdd: IndexParams & { readonly size: number };
  // linear algebra
  /**
   * Batched matrix product of the last two axes, either operand optionally read transposed in them
   * (as BLAS and XLA's dot_general do): the VJP multiplies by transposes without making them.
   */
  matmul: { readonly transposeX?: boolean; readonly transposeY?: boolean };
  // sliding windows (convolution and pooling are composites of these and matmul)
  /** im2col: (N, C, H, W) -> (N, C*kh*kw, Ho*Wo), row c*kh*kw + i*kw + j, column oh*Wo + ow. */
  unfold: WindowParams;
  /** col2im, unfold's adjoint: (N, C*kh*kw, Ho*Wo) -> (N, C, H, W) for `size` [H, W], overlaps summed, padding dropped. */
  fold: WindowParams & { readonly size: readonly [number, number] };
  // dtype
  cast: { readonly dtype: DType };
}

export type Prim = keyof ParamMap;

/** What a kernel reads: a contiguous row-major buffer and its shape (a Tensor is one). */
export interface Buf {
  readonly data: TypedArray;
  readonly shape: Shape;
}

/** Computes a primitive's output buffer, already knowing the output shape and dtype. */
export type Kernel<P extends Prim> = (inputs: readonly Buf[], params: ParamMap[P], out: { shape: Shape; dtype: DType }) => TypedArray;

/** What both derivative rules see of the primal computation: `out`, the inputs `x`, `y`, `z` (all of them in `inputs`), the parameters. */
export interface PrimalArgs<P extends Prim> {
  readonly out: Tensor;
  readonly x: Tensor;
  readonly y: Tensor;
  readonly z: Tensor;
  readonly inputs: readonly Tensor[];
  readonly params: ParamMap[P];
}

/** Arguments of a vector-Jacobian product rule: `ct` is the cotangent of `out`. */
export interface VjpArgs<P extends Prim> extends PrimalArgs<P> {
  readonly ct: Tensor;
}

/**
 * One rule per input (null: no gradient flows to that input). A rule may return a cotangent of the
 * broadcast output shape; the backward interpreter sums it back to the input's shape in one place.
 * Variadic primitives give a single function of the input index instead.
 */
export type VjpRule<P extends Prim> = (a: VjpArgs<P>) => Tensor;
export type Vjp<P extends Prim> = readonly (VjpRule<P> | null)[] | ((a: VjpArgs<P>, index: number) => Tensor);

/**
 * Arguments of a Jacobian-vector product rule: `t` is the tangent of the input the rule is for (the
 * primal names are the same as in a VJP rule).
 */
export interface JvpArgs<P extends Prim> extends PrimalArgs<P> {
  readonly t: Tensor;
}

/**
 * One rule per input, linear in `t`: that input's contribution to the output's tangent (null: the
 * output does not vary with that input). A rule may return a tangent of a shape that broadcasts to the
 * output's; the forward interpreter broadcasts it and sums the contributions in one place. Variadic
 * primitives give a single function of the input index instead, as for the VJP.
 */
export type JvpRule<P extends Prim> = (a: JvpArgs<P>) => Tensor;
export type Jvp<P extends Prim> = readonly (JvpRule<P> | null)[] | ((a: JvpArgs<P>, index: number) => Tensor);

/** Printers turn argument expressions into one expression in each target language. */
export type Printer<P extends Prim> = (args: readonly string[], params: ParamMap[P]) => string;
export interface Printers<P extends Prim> {
  readonly text: Printer<P>;
  readonly latex: Printer<P>;
  readonly python: Printer<P>;
  readonly ts: Printer<P>;
}

/**
 * What a primitive does to shapes and elements, read by whoever needs it (the symbolic reader prints
 * only elementwise ones of arrays as expressions; anomaly mode reports elementwise inputs by position):
 * elementwise maps elements one to one after broadcasting; a reduction combines along axes; structure
 * only moves or selects elements; linalg is the matrix product.
 */
export type PrimKind = "elementwise" | "reduction" | "structure" | "linalg";

export interface Spec<P extends Prim> {
  readonly kind: PrimKind;
  /** Number of inputs, or "n" for variadic (concat). */
  readonly arity: number | "n";
  /** Output shape from input shapes; throws a ShapeError naming the op and the shapes. */
  readonly shape: (shapes: readonly Shape[], params: ParamMap[P]) => Shape;
  /** The reference kernel, used when the active backend has no faster one. */
  readonly kernel: Kernel<P>;
  /** The same map on plain numbers, for elementwise primitives: one-element work skips buffers entirely. */
  readonly scalar?: (a: number, b: number, c: number) => number;
  /** null: the output is piecewise constant (comparisons, sign, argmax) and carries no gradient. */
  readonly vjp: Vjp<P> | null;
  /** Forward mode's rule; null exactly where `vjp` is (no tangent flows through a piecewise constant). */
  readonly jvp: Jvp<P> | null;
  /** Output dtype when it is not the promotion of the inputs (cast). */
  readonly dtype?: (inputs: readonly DType[], params: ParamMap[P]) => DType;
  readonly print: Printers<P>;
}

export type PrimTable = { readonly [P in Prim]: Spec<P> };
