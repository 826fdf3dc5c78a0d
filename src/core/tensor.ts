/**
 * The tensor: an immutable row-major typed array with a shape, and, when it was computed from tensors
 * that require grad, the node that made it. Memory is the garbage collector's: nothing to dispose.
 */
import type { DType, TypedArray } from "./dtype.js";
import { allocate, dtypeOf } from "./dtype.js";
import type { ParamMap, Prim } from "./prim.js";
import { checkShape, formatShape, ShapeError, sizeOf, stridesOf, type Shape } from "./shape.js";
import * as ops from "./ops.js";
import { backward, type BackwardOptions } from "./autodiff.js";

export type Nested = number | Nested[];

/** How a tensor was computed: the primitive, its inputs and parameters. */
export interface Node {
  readonly prim: Prim;
  readonly inputs: readonly Tensor[];
  readonly params: ParamMap[Prim];
  /** The caller's stack frame, recorded only in anomaly mode (see anomaly.ts). */
  readonly site?: string;
}

export type Axes = number | readonly number[] | null | undefined;

/** Throws a TypeError naming the op and the argument when `v` is not a Tensor (JS callers, or `any`). */
export function expectTensor(op: string, v: unknown, arg = "x"): asserts v is Tensor {
  if (!(v instanceof Tensor)) {
    const what = v === null ? "null" : Array.isArray(v) ? "an array (wrap it with bp.tensor)" : typeof v;
    throw new TypeError(`${op}: ${arg} must be a Tensor, got ${what}`);
  }
}
export type Operand = Tensor | number;

export class Tensor {
  // The values; null for a one-element result of the scalar fast path until someone reads `data`
  // (a typed array per scalar was most of the garbage of a long scalar graph).
  private _data: TypedArray | null;
  private _value: number;
  readonly shape: Shape;
  readonly dtype: DType;
  /** The primitive application that produced this tensor; null for leaves and untracked results. */
  readonly node: Node | null;
  /** Whether gradients flow to this tensor. Set it on leaves (parameters) you want `.grad` for. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after `backward()`; null until then or after `zeroGrad()`. */
  grad: Tensor | null = null;
  /** Marks of the backward interpreter's graph walk (internal; cheaper than a Map per sweep). */
  visitMark = 0;
  /** The cotangent the backward interpreter is accumulating for this tensor during a walk (internal). */
  ct: Tensor | null = null;

  /** `data` null (internal: the scalar fast path in bind) makes a one-element tensor holding `value` of `dtype`. */
  constructor(data: TypedArray | null, shape: Shape, node: Node | null = null, requiresGrad = false, dtype: DType = "float32", value = 0) {
    if (data === null) {
      if (!(shape.length === 0 || (shape.length === 1 && shape[0] === 1))) {
        throw new Error(`Tensor: a tensor without a buffer holds one value, got shape ${formatShape(shape)}`);
      }
    } else {
      // Cheap enough for every op's result, and a wrong length would read garbage or crash a kernel later.
      if (!(data instanceof Float32Array || data instanceof Float64Array)) {
        throw new TypeError("Tensor: data must be a Float32Array or a Float64Array (bp.tensor takes plain arrays)");
      }
      let n = 1;
      let ok = Array.isArray(shape);
      for (let i = 0; ok && i < shape.length; i++) {
        const d = shape[i];
        if (!(d >= 0 && Number.isInteger(d))) ok = false;
        n *= d;
      }
      if (!ok) checkShape(shape, "Tensor");
      if (n !== data.length) throw new ShapeError(`Tensor: ${data.length} values cannot have shape ${formatShape(shape)} (${n} elements)`);
    }
    this._data = data;
    this._value = value;
    this.shape = shape;
    this.dtype = data === null ? dtype : dtypeOf(data);
    this.node = node;
    this.requiresGrad = requiresGrad;
  }

  /** Row-major values. Writing into it in place (as optimizers do) is allowed but bypasses autodiff. */
  get data(): TypedArray {
    return this._data ?? this.materialize();
  }

  private materialize(): TypedArray {
    const d = allocate(this.dtype, 1);
    d[0] = this._value;
    this._data = d;
    return d;
  }

  /** The value of a one-element tensor, without making its buffer (internal). */
  scalarValue(): number {
    return this._data === null ? this._value : this._data[0];
  }

  get size(): number {
    return this._data === null ? 1 : this._data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True for tensors not computed by a tracked op (user-created parameters and constants). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new Error(`item: only a tensor with one element can be converted to a number, got shape ${formatShape(this.shape)}`);
    }
    return this.scalarValue();
  }

  /** Nested JS arrays (a number for a 0-d tensor). */
  toArray(): Nested {
    const build = (dim: number, offset: number): Nested => {
      if (dim === this.shape.length) return this.data[offset];
      const n = this.shape[dim];
      let stride = 1;
      for (let i = dim + 1; i < this.shape.length; i++) stride *= this.shape[i];
      const out: Nested[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }

  /**
   * `tensor([[1, 2], [3, 4]], shape=(2,2), dtype=float32)`. Past 1000 elements each axis shows its
   * first and last 3 entries around `...`, as NumPy prints, so a billion elements print in a line.
   */
  toString(): string {
    return `tensor(${formatValues(this.data, this.shape)}, shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  /** Backpropagates from this tensor into `.grad` of every leaf that requires grad. */
  backward(ct?: Tensor | number, options?: BackwardOptions): void {
    backward(this, ct, options);
  }

  zeroGrad(): void {
    this.grad = null;
  }

  /** Marks this tensor as a parameter to differentiate with respect to (returns itself). */
  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  detach(): Tensor {
    return ops.detach(this);
  }

  // Elementwise
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  tan(): Tensor {
    return ops.tan(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  erf(): Tensor {
    return ops.erf(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  add(y: Operand): Tensor {
    return ops.add(this, y);
  }
  sub(y: Operand): Tensor {
    return ops.sub(this, y);
  }
  mul(y: Operand): Tensor {
    return ops.mul(this, y);
  }
  div(y: Operand): Tensor {
    return ops.div(this, y);
  }
  pow(y: Operand): Tensor {
    return ops.pow(this, y);
  }
  maximum(y: Operand): Tensor {
    return ops.maximum(this, y);
  }
  minimum(y: Operand): Tensor {
    return ops.minimum(this, y);
  }
  gt(y: Operand): Tensor {
    return ops.gt(this, y);
  }
  ge(y: Operand): Tensor {
    return ops.ge(this, y);
  }
  lt(y: Operand): Tensor {
    return ops.lt(this, y);
  }
  le(y: Operand): Tensor {
    return ops.le(this, y);
  }
  eq(y: Operand): Tensor {
    return ops.eq(this, y);
  }
  ne(y: Operand): Tensor {
    return ops.ne(this, y);
  }
  matmul(y: Tensor): Tensor {
    return ops.matmul(this, y);
  }

  // Reductions
  sum(axis?: Axes, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  mean(axis?: Axes, keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  max(axis?: Axes, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  min(axis?: Axes, keepdims = false): Tensor {
    return ops.min(this, axis, keepdims);
  }
  logsumexp(axis?: Axes, keepdims = false): Tensor {
    return ops.logsumexp(this, axis, keepdims);
  }
  argmax(axis?: number, keepdims = false): Tensor {
    return ops.argmax(this, axis, keepdims);
  }
  argmin(axis?: number, keepdims = false): Tensor {
    return ops.argmin(this, axis, keepdims);
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }

  // Structure
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    const s = Array.isArray(shape[0]) ? (shape[0] as readonly number[]) : (shape as number[]);
    return ops.reshape(this, s);
  }
  flatten(): Tensor {
    return ops.reshape(this, [-1]);
  }
  transpose(perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  permute(...perm: number[]): Tensor {
    return ops.transpose(this, perm);
  }
  /** Matrix transpose: swaps the last two axes (a 1-D tensor is returned as is). */
  get T(): Tensor {
    return ops.mT(this);
  }
  broadcastTo(shape: Shape): Tensor {
    return ops.broadcastTo(this, shape);
  }
  squeeze(axis?: Axes): Tensor {
    return ops.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  slice(...spec: ops.SliceSpec[]): Tensor {
    return ops.slice(this, spec);
  }
  take(indices: ops.IndexLike, axis?: number): Tensor {
    return ops.take(this, indices, axis);
  }
  takeAlongAxis(indices: ops.IndexLike | Tensor, axis: number): Tensor {
    return ops.takeAlongAxis(this, indices, axis);
  }
  astype(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
}

/** NumPy's print options: summarise past `THRESHOLD` elements, keeping `EDGE` items at each end of an axis. */
const THRESHOLD = 1000;
const EDGE = 3;

function formatValues(data: TypedArray, shape: Shape): string {
  const summarise = sizeOf(shape) > THRESHOLD;
  const strides = stridesOf(shape);
  const walk = (dim: number, offset: number): string => {
    if (dim === shape.length) return String(data[offset]);
    const n = shape[dim];
    const parts: string[] = [];
    const item = (i: number) => walk(dim + 1, offset + i * strides[dim]);
    if (summarise && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) parts.push(item(i));
      parts.push("...");
      for (let i = n - EDGE; i < n; i++) parts.push(item(i));
    } else {
      for (let i = 0; i < n; i++) parts.push(item(i));
    }
    return `[${parts.join(", ")}]`;
  };
  return walk(0, 0);
}
