/**
 * Applying a primitive: check shapes, run the kernel of the active backend, and record the node when
 * a gradient may flow through it. This is the only place tensors with a graph are made.
 */
import { getBackend } from "./backend.js";
import { AllocationError, allocationError, MAX_ELEMENTS, promote, type DType } from "./dtype.js";
import { anomalyOn, callSite, inBackward, reportForward } from "./anomaly.js";
import type { Shape } from "./shape.js";
import type { Kernel, ParamMap, Prim, Spec } from "./prim.js";
import { PRIMS } from "./primitives.js";
import { Tensor, type Node } from "./tensor.js";
import { activeCapture, recordBind } from "./capture.js";

let gradEnabled = true;

/** Outputs from this many elements up: a RangeError from their kernel is taken as memory running out. */
const LARGE = 1 << 24;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with gradient recording switched on or off, restoring the previous mode afterwards. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` without recording a graph: results never require grad (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

// Scratch arrays for the input shapes of unary and binary ops (shape rules read them and keep nothing):
// on scalar graphs every allocation per op shows in the time.
const SHAPES1: Shape[] = [[]];
const SHAPES2: Shape[] = [[], []];

export function bind<P extends Prim>(prim: P, inputs: readonly Tensor[], params: ParamMap[P]): Tensor {
  return bindSpec(PRIMS[prim], prim, inputs, params);
}

/**
 * The active backend's kernel for an op whose largest input or output has `largest` elements, or
 * undefined for the reference kernel: a backend's `smallestWork` keeps tiny work on the reference.
 */
function overrideFor<P extends Prim>(prim: P, largest: number): Kernel<P> | undefined {
  const backend = getBackend();
  return largest <= (backend.smallestWork ?? -1) ? undefined : (backend.kernels[prim] as Kernel<P> | undefined);
}

/** A one-element result of the scalar path: float32 rounded as a Float32Array store would, no buffer until read. */
function scalarResult(v: number, shape: Shape, node: Node | null, tracked: boolean, dtype: DType): Tensor {
  return new Tensor(null, shape, node, tracked, dtype, dtype === "float32" ? Math.fround(v) : v);
}

/**
 * A binary op. Two one-element operands with nothing to record (the cotangents of a backward pass,
 * constants) are computed on numbers without an inputs array: on scalar graphs those arrays were a
 * third of the objects a backward pass made. The result is the one `bindSpec` would give.
 */
export function bindPair<P extends Prim>(spec: Spec<P>, prim: P, x: Tensor, y: Tensor, params: ParamMap[P]): Tensor {
  const f = spec.scalar;
  if (
    f !== undefined &&
    !anomalyOn &&
    spec.dtype === undefined &&
    x.size === 1 &&
    y.size === 1 &&
    x.shape.length <= 1 &&
    y.shape.length <= 1 &&
    !(gradEnabled && spec.vjp !== null && (x.requiresGrad || y.requiresGrad))
  ) {
    if (overrideFor(prim, 1) === undefined) {
      const dtype = promote(x.dtype, y.dtype);
      const r = scalarResult(f(x.scalarValue(), y.scalarValue(), 0), x.shape.length >= y.shape.length ? x.shape : y.shape, null, false, dtype);
      if (activeCapture) recordBind(prim, [x, y], params, r);
      return r;
    }
  }
  return bindSpec(spec, prim, [x, y], params);
}

/**
 * `bind` with the primitive's spec already looked up: hot callers (the elementwise ops) keep theirs,
 * since a table lookup by a varying name is a hash probe per op on scalar graphs.
 */
export function bindSpec<P extends Prim>(spec: Spec<P>, prim: P, inputs: readonly Tensor[], params: ParamMap[P]): Tensor {
  const n = inputs.length;
  if (spec.arity !== "n" && n !== spec.arity) {
    throw new Error(`${prim}: expected ${spec.arity} inputs, got ${n}`);
  }
  const shapes = n === 1 ? SHAPES1 : n === 2 ? SHAPES2 : new Array<Shape>(n);
  let dtype: DType = "float32";
  let largest = 0;
  let ones = true;
  let tracked = false;
  const recording = gradEnabled && spec.vjp !== null;
  for (let i = 0; i < n; i++) {
    const t = inputs[i];
    shapes[i] = t.shape;
    dtype = promote(dtype, t.dtype);
    const size = t.size;
    if (size > largest) largest = size;
    if (size !== 1) ones = false;
    if (recording && t.requiresGrad) tracked = true;
  }
  const shape = spec.shape(shapes, params);
  if (spec.dtype)
    dtype = spec.dtype(
      inputs.map((t) => t.dtype),
      params,
    );
  let size = 1;
  for (const d of shape) size *= d;
  const override = overrideFor(prim, Math.max(largest, size));
  const node = tracked ? (anomalyOn ? { prim, inputs, params, site: callSite() } : { prim, inputs, params }) : null;
  // One element in, one out, on the reference path: compute on numbers.
  if (ones && spec.scalar && override === undefined && (shape.length === 0 || (shape.length === 1 && shape[0] === 1))) {
    const a = inputs[0].scalarValue();
    const v =
      n === 1 ? spec.scalar(a, 0, 0) : n === 2 ? spec.scalar(a, inputs[1].scalarValue(), 0) : spec.scalar(a, inputs[1].scalarValue(), inputs[2].scalarValue());
    const r = scalarResult(v, shape, node, tracked, dtype);
    if (anomalyOn && !inBackward) reportForward(prim, inputs, r, spec.kind === "elementwise");
    if (activeCapture) recordBind(prim, inputs, params, r);
    return r;
  }
  if (size > MAX_ELEMENTS) throw allocationError(dtype, shape, prim);
  let data;
  try {
    data = (override ?? spec.kernel)(inputs, params, { shape, dtype });
  } catch (e) {
    // Out of memory inside a kernel (any backend's): say so as NumPy does, naming this op's output.
    if (e instanceof AllocationError || (e instanceof RangeError && size > LARGE)) throw allocationError(dtype, shape, prim);
    throw e;
  }
  const r = new Tensor(data, shape, node, tracked);
  if (anomalyOn && !inBackward) reportForward(prim, inputs, r, spec.kind === "elementwise");
  if (activeCapture) recordBind(prim, inputs, params, r);
  return r;
}
