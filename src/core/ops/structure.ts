/** Ops that rearrange elements: reshape, transpose, broadcast, slicing, concatenation and indexing. */
import { bind } from "../bind.js";
import { activeCapture, recordAlias } from "../capture.js";
import type { DType } from "../dtype.js";
import {
  broadcastShapes,
  checkShape,
  formatShape,
  MAX_DIMS,
  normalizeAxes,
  normalizeAxis,
  sameShape,
  ShapeError,
  sizeOf,
  stridesOf,
  type Shape,
} from "../shape.js";
import { Tensor, type Axes, type Nested, expectTensor } from "../tensor.js";

/** A tensor that shares x's values but is cut from the graph. */
export function detach(x: Tensor): Tensor {
  expectTensor("detach", x);
  const d = new Tensor(x.data, x.shape, null, false);
  if (activeCapture) recordAlias(x, d);
  return d;
}

/** Reshape, with at most one -1 standing for the size that fits. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor("reshape", x);
  if (!Array.isArray(shape) || shape.length > MAX_DIMS) checkShape(shape, "reshape");
  const unknown = shape.filter((d) => d === -1).length;
  const known = shape.reduce((acc, d) => (d === -1 ? acc : acc * d), 1);
  const bad = () => new ShapeError(`reshape: cannot reshape a tensor of shape ${formatShape(x.shape)} (${x.size} elements) into shape ${formatShape(shape)}`);
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw bad();
  let target = [...shape];
  if (unknown === 1) {
    if (known === 0 || x.size % known !== 0) throw bad();
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(target) !== x.size) throw bad();
  if (sameShape(target, x.shape)) return x;
  return bind("reshape", [x], { shape: target });
}

/** Permutes axes (reverses them when no permutation is given), like NumPy's transpose. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  expectTensor("transpose", x);
  const p = perm ? perm.map((a) => normalizeAxis(a, x.ndim, "transpose")) : x.shape.map((_, i) => x.ndim - 1 - i);
  if (p.length !== x.ndim || new Set(p).size !== p.length) {
    throw new ShapeError(
      `transpose: axes (${(perm ?? []).join(",")}) are not a permutation of the ${x.ndim} axes of a tensor of shape ${formatShape(x.shape)}`,
    );
  }
  if (p.every((a, i) => a === i)) return x;
  return bind("transpose", [x], { perm: p });
}

/** Swaps the last two axes (matrix transpose of each batch element); a 0-d or 1-d tensor is returned as is. */
export function mT(x: Tensor): Tensor {
  expectTensor("mT", x);
  if (x.ndim < 2) return x;
  const perm = x.shape.map((_, i) => i);
  perm[x.ndim - 2] = x.ndim - 1;
  perm[x.ndim - 1] = x.ndim - 2;
  return bind("transpose", [x], { perm });
}

export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  expectTensor("broadcastTo", x);
  // The primitive's shape rule checks that x broadcasts to it; this checks it is a shape at all.
  checkShape(shape, "broadcastTo");
  if (sameShape(x.shape, shape)) return x;
  return bind("broadcast", [x], { shape: [...shape] });
}

/** Removes axes of length 1 (all of them, or the ones named). */
export function squeeze(x: Tensor, axis?: Axes): Tensor {
  expectTensor("squeeze", x);
  const axes = axis === undefined || axis === null ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes(axis, x.ndim, "squeeze");
  for (const a of axes) {
    if (x.shape[a] !== 1) throw new ShapeError(`squeeze: cannot squeeze axis ${a} of length ${x.shape[a]} in shape ${formatShape(x.shape)}`);
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
}

/** Inserts an axis of length 1 at `axis` (which may be ndim, or negative as in NumPy's expand_dims). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  expectTensor("unsqueeze", x);
  const a = normalizeAxis(axis, x.ndim + 1, "unsqueeze");
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** One axis of a slice: an index (the axis is dropped), null (all), or [start, stop, step] as in Python. */
export type SliceSpec = number | null | Range | { start?: number | null; stop?: number | null; step?: number | null };

type Range = readonly [(number | null)?, (number | null)?, (number | null)?];

function isRange(s: SliceSpec): s is Range {
  return Array.isArray(s);
}

/** Python-style basic slicing: `slice(x, [0, [1, null], [null, null, 2]])` is `x[0, 1:, ::2]`. */
export function slice(x: Tensor, spec: readonly SliceSpec[]): Tensor {
  expectTensor("slice", x);
  if (spec.length > x.ndim) {
    throw new ShapeError(`slice: too many indices (${spec.length}) for a tensor of shape ${formatShape(x.shape)}`);
  }
  const starts: number[] = [];
  const sizes: number[] = [];
  const steps: number[] = [];
  const keep: number[] = [];
  x.shape.forEach((n, axis) => {
    const s = axis < spec.length ? spec[axis] : null;
    if (typeof s === "number") {
      if (!Number.isInteger(s) || s < -n || s >= n) throw new ShapeError(`slice: index ${s} is out of bounds for axis ${axis} with size ${n}`);
      starts.push(s < 0 ? s + n : s);
      sizes.push(1);
      steps.push(1);
      return;
    }
    const [start, stop, step] = s === null ? [] : isRange(s) ? s : [s.start, s.stop, s.step];
    const st = step ?? 1;
    if (!Number.isInteger(st) || st <= 0) throw new ShapeError(`slice: step must be a positive integer, got ${st} on axis ${axis}`);
    const clamp = (v: number | null | undefined, dflt: number): number => {
      if (v === undefined || v === null) return dflt;
      if (!Number.isInteger(v)) throw new ShapeError(`slice: bound ${v} on axis ${axis} is not an integer`);
      const r = v < 0 ? v + n : v;
      return Math.min(Math.max(r, 0), n);
    };
    const b = clamp(start, 0);
    const e = clamp(stop, n);
    starts.push(b);
    sizes.push(Math.max(0, Math.ceil((e - b) / st)));
    steps.push(st);
    keep.push(axis);
  });
  const whole = starts.every((b, i) => b === 0 && sizes[i] === x.shape[i] && steps[i] === 1);
  const cut = whole ? x : bind("slice", [x], { starts, sizes, steps });
  return keep.length === x.ndim
    ? cut
    : reshape(
        cut,
        keep.map((a) => sizes[a]),
      );
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs)) throw new TypeError(`concat: expected an array of tensors, got ${typeof xs}`);
  if (xs.length === 0) throw new ShapeError("concat: need at least one tensor");
  xs.forEach((t, i) => expectTensor("concat", t, `tensor ${i}`));
  const a = normalizeAxis(axis, xs[0].ndim, "concat");
  return xs.length === 1 ? xs[0] : bind("concat", xs, { axis: a });
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs)) throw new TypeError(`stack: expected an array of tensors, got ${typeof xs}`);
  if (xs.length === 0) throw new ShapeError("stack: need at least one tensor");
  xs.forEach((t, i) => expectTensor("stack", t, `tensor ${i}`));
  for (const t of xs) {
    if (!sameShape(t.shape, xs[0].shape)) {
      throw new ShapeError(`stack: all tensors must have the same shape, got ${xs.map((u) => formatShape(u.shape)).join(" ")}`);
    }
  }
  const a = normalizeAxis(axis, xs[0].ndim + 1, "stack");
  return bind(
    "concat",
    xs.map((t) => unsqueeze(t, a)),
    { axis: a },
  );
}

/** Integer indices: a number, nested arrays, an Int32Array, or a tensor of whole numbers. */
export type IndexLike = number | Nested | Int32Array | Tensor;

/** Flattens numbers of any accepted index form, with their shape (ragged arrays are an error naming `op`). */
export function flattenIndices(op: string, idx: IndexLike): { flat: ArrayLike<number>; shape: number[] } {
  if (idx instanceof Tensor) return { flat: idx.data, shape: [...idx.shape] };
  if (idx instanceof Int32Array) return { flat: idx, shape: [idx.length] };
  if (typeof idx === "number") return { flat: [idx], shape: [] };
  const dims: number[] = [];
  let v: Nested = idx;
  while (Array.isArray(v)) {
    dims.push(v.length);
    v = v.length > 0 ? v[0] : 0;
  }
  const out: number[] = [];
  const walk = (u: Nested, d: number): void => {
    if (d === dims.length) {
      if (typeof u !== "number") throw new ShapeError(`${op}: ragged index array`);
      out.push(u);
      return;
    }
    if (!Array.isArray(u) || u.length !== dims[d]) throw new ShapeError(`${op}: ragged index array`);
    for (const w of u) walk(w, d + 1);
  };
  walk(idx, 0);
  return { flat: out, shape: dims };
}

/**
 * Integer indices into an axis of `size`, checked as numbers before they are stored in 32 bits (so
 * 2^32 + 1 is out of bounds rather than wrapped to 1); negative ones count from the end and are
 * returned made non-negative.
 */
export function readIndices(op: string, idx: IndexLike, size: number, axis: number): { values: Int32Array; shape: number[] } {
  const { flat, shape } = flattenIndices(op, idx);
  const values = new Int32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (!Number.isInteger(v)) throw new ShapeError(`${op}: index ${v} at position ${i} is not an integer`);
    if (v < -size || v >= size) throw new ShapeError(`${op}: index ${v} is out of bounds for axis ${axis} with size ${size}`);
    values[i] = v < 0 ? v + size : v;
  }
  return { values, shape };
}

/** Class labels for `classes` classes: integers in [0, classes), never negative (a -1 is a bug, not the last class). */
export function readClassLabels(op: string, labels: IndexLike, classes: number): { values: Int32Array; shape: number[] } {
  const { flat, shape } = flattenIndices(op, labels);
  const values = new Int32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new ShapeError(`${op}: class label ${v} at position ${i} is not a class index in [0, ${classes})`);
    }
    values[i] = v;
  }
  return { values, shape };
}

export function take(x: Tensor, indices: IndexLike, axis?: number): Tensor {
  expectTensor("take", x);
  const src = axis === undefined ? reshape(x, [-1]) : x;
  const a = axis === undefined ? 0 : normalizeAxis(axis, x.ndim, "take");
  const { values, shape } = readIndices("take", indices, src.shape[a], a);
  return bind("gather", [src], { indices: values, indexShape: shape, axis: a });
}

/**
 * NumPy `take_along_axis`: indices have x's number of dimensions and broadcast against it on every
 * other axis; used to pick each row's target class. Implemented as one gather on the flat tensor.
 */
export function takeAlongAxis(x: Tensor, indices: IndexLike, axis: number): Tensor {
  expectTensor("takeAlongAxis", x);
  const a = normalizeAxis(axis, x.ndim, "takeAlongAxis");
  const { values, shape } = readIndices("takeAlongAxis", indices, x.shape[a], a);
  if (shape.length !== x.ndim) {
    throw new ShapeError(`takeAlongAxis: indices of shape ${formatShape(shape)} must have as many dimensions as x of shape ${formatShape(x.shape)}`);
  }
  const xOther = x.shape.map((d, i) => (i === a ? 1 : d));
  const iOther = shape.map((d, i) => (i === a ? 1 : d));
  let outShape: number[];
  try {
    outShape = broadcastShapes(xOther, iOther);
  } catch {
    throw new ShapeError(`takeAlongAxis: shapes ${formatShape(x.shape)} and ${formatShape(shape)} do not broadcast outside axis ${a}`);
  }
  outShape[a] = shape[a];
  const xs = stridesOf(x.shape);
  const is = stridesOf(shape);
  const total = sizeOf(outShape);
  const flat = new Int32Array(total);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let k = 0; k < total; k++) {
    let src = 0;
    let io = 0;
    for (let d = 0; d < outShape.length; d++) io += (shape[d] === 1 ? 0 : idx[d]) * is[d];
    for (let d = 0; d < outShape.length; d++) src += (d === a ? values[io] : x.shape[d] === 1 ? 0 : idx[d]) * xs[d];
    flat[k] = src;
    for (let d = outShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return bind("gather", [reshape(x, [-1])], { indices: flat, indexShape: outShape, axis: 0 });
}

export function cast(x: Tensor, dtype: DType): Tensor {
  expectTensor("cast", x);
  return x.dtype === dtype ? x : bind("cast", [x], { dtype });
}
