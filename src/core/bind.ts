/**
 * Applying a primitive: check shapes, run the kernel of the active backend, and record the node when
 * a gradient may flow through it. This is the only place tensors with a graph are made.
 */
import { getBackend } from "./backend.js";
import type { DType } from "./dtype.js";
import type { Shape } from "./shape.js";
import type { Kernel, ParamMap, Prim, Spec } from "./prim.js";
import { PRIMS } from "./primitives.js";
import { Tensor } from "./tensor.js";

let gradEnabled = true;

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

export function bind<P extends Prim>(prim: P, inputs: readonly Tensor[], params: ParamMap[P]): Tensor {
  const spec: Spec<P> = PRIMS[prim];
  if (spec.arity !== "n" && inputs.length !== spec.arity) {
    throw new Error(`${prim}: expected ${spec.arity} inputs, got ${inputs.length}`);
  }
  const shapes = new Array<Shape>(inputs.length);
  let dtype: DType = "float32";
  for (let i = 0; i < inputs.length; i++) {
    shapes[i] = inputs[i].shape;
    if (inputs[i].dtype === "float64") dtype = "float64";
  }
  const shape = spec.shape(shapes, params);
  if (spec.dtype) dtype = spec.dtype(inputs.map((t) => t.dtype), params);
  const kernel: Kernel<P> = (getBackend().kernels[prim] as Kernel<P> | undefined) ?? spec.kernel;
  const data = kernel(inputs, params, { shape, dtype });
  let tracked = false;
  if (gradEnabled && spec.vjp !== null) {
    for (const t of inputs) if (t.requiresGrad) tracked = true;
  }
  return new Tensor(data, shape, tracked ? { prim, inputs, params } : null, tracked);
}
