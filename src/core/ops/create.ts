/** Creating tensors: from nested arrays or typed arrays, constants, ranges, and seeded random values. */
import { allocate, isDType, type DType, type TypedArray } from "../dtype.js";
import { defaultRng, type Rng } from "../random.js";
import { checkShape, formatShape, sizeOf, type Shape } from "../shape.js";
import { Tensor, type Nested, expectTensor } from "../tensor.js";

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface TensorOptions extends CreateOptions {
  /** Shape for flat data (a typed array or a flat list). */
  shape?: Shape;
}

export interface RandomOptions extends CreateOptions {
  /** Generator to draw from; the global one (see manualSeed) otherwise. */
  rng?: Rng;
}

function checkOptions(op: string, dtype: unknown): DType {
  if (dtype === undefined) return "float32";
  if (!isDType(dtype)) throw new Error(`${op}: unknown dtype "${String(dtype)}" (use "float32" or "float64")`);
  return dtype;
}

function inferShape(data: Nested, path: number[] = []): number[] {
  if (typeof data === "number") return [];
  if (!Array.isArray(data)) throw new Error(`tensor: expected a number or an array at [${path.join("][")}], got ${typeof data}`);
  if (data.length === 0) return [0];
  return [data.length, ...inferShape(data[0], [...path, 0])];
}

function fillFlat(data: Nested, shape: Shape, out: TypedArray): void {
  let k = 0;
  const walk = (v: Nested, dim: number, path: number[]): void => {
    if (dim === shape.length) {
      if (typeof v !== "number") throw new Error(`tensor: ragged nested array: expected a number at [${path.join("][")}]`);
      out[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      const got = Array.isArray(v) ? `length ${v.length}` : typeof v;
      throw new Error(`tensor: ragged nested array at [${path.join("][")}]: expected length ${shape[dim]}, got ${got}`);
    }
    for (let i = 0; i < v.length; i++) walk(v[i], dim + 1, [...path, i]);
  };
  walk(data, 0, []);
}

/**
 * `tensor([[1, 2], [3, 4]])`, `tensor(new Float64Array(6), { shape: [2, 3] })`, `tensor(3)`.
 * Float32 unless a dtype is given or the data is a Float64Array.
 */
export function tensor(data: Nested | TypedArray | readonly number[], options: TensorOptions = {}): Tensor {
  const fromTyped = data instanceof Float32Array || data instanceof Float64Array;
  const dtype = options.dtype !== undefined ? checkOptions("tensor", options.dtype) : data instanceof Float64Array ? "float64" : "float32";
  let values: TypedArray;
  let shape: number[];
  if (fromTyped || (options.shape && Array.isArray(data) && data.every((v) => typeof v === "number"))) {
    const flat = data as ArrayLike<number>;
    shape = options.shape ? [...options.shape] : [flat.length];
    checkShape(shape, "tensor");
    if (sizeOf(shape) !== flat.length) {
      throw new Error(`tensor: ${flat.length} values cannot have shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
    }
    values = fromTyped && data instanceof Float64Array === (dtype === "float64") ? (data as TypedArray) : allocate(dtype, flat.length);
    if (values !== data) values.set(flat);
  } else {
    shape = inferShape(data as Nested);
    values = allocate(dtype, sizeOf(shape), shape, "tensor");
    fillFlat(data as Nested, shape, values);
    if (options.shape) {
      checkShape(options.shape, "tensor");
      if (sizeOf(options.shape) !== values.length) {
        throw new Error(`tensor: data of shape ${formatShape(shape)} cannot have shape ${formatShape(options.shape)}`);
      }
      shape = [...options.shape];
    }
  }
  return new Tensor(values, shape, null, options.requiresGrad ?? false);
}

/** A tensor of `shape` filled with `value`; `op` names the caller in errors. */
function filled(op: string, shape: Shape, value: number, options: CreateOptions): Tensor {
  checkShape(shape, op);
  const data = allocate(checkOptions(op, options.dtype), sizeOf(shape), shape, op);
  if (!Object.is(value, 0)) data.fill(value);
  return new Tensor(data, [...shape], null, options.requiresGrad ?? false);
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  return filled("full", shape, value, options);
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return filled("zeros", shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return filled("ones", shape, 1, options);
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  expectTensor("zerosLike", t, "t");
  return full(t.shape, 0, { dtype: t.dtype, ...options });
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  expectTensor("onesLike", t, "t");
  return full(t.shape, 1, { dtype: t.dtype, ...options });
}

/** NumPy's arange: `arange(5)`, `arange(1, 4)`, `arange(0, 1, 0.25)`. */
export function arange(start: number, stop?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a finite non-zero number, got ${step}`);
  if (!Number.isFinite(start) || !Number.isFinite(stop)) throw new Error(`arange: bounds must be finite, got ${start}, ${stop}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocate(checkOptions("arange", options.dtype), n, [n], "arange");
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n], null, options.requiresGrad ?? false);
}

/** `num` evenly spaced values from start to stop inclusive. */
export function linspace(start: number, stop: number, num = 50, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(num) || num < 0) throw new Error(`linspace: num must be a non-negative integer, got ${num}`);
  const data = allocate(checkOptions("linspace", options.dtype), num, [num], "linspace");
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) data[i] = start + i * step;
  if (num > 1) data[num - 1] = stop;
  return new Tensor(data, [num], null, options.requiresGrad ?? false);
}

/** Identity matrix of n rows and m (default n) columns. */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  checkShape([n, m], "eye");
  const data = allocate(checkOptions("eye", options.dtype), n * m, [n, m], "eye");
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return new Tensor(data, [n, m], null, options.requiresGrad ?? false);
}

/** Uniform values in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, "rand");
  const rng = options.rng ?? defaultRng();
  const data = allocate(checkOptions("rand", options.dtype), sizeOf(shape), shape, "rand");
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return new Tensor(data, [...shape], null, options.requiresGrad ?? false);
}

/** Standard normal values. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, "randn");
  const rng = options.rng ?? defaultRng();
  const data = allocate(checkOptions("randn", options.dtype), sizeOf(shape), shape, "randn");
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return new Tensor(data, [...shape], null, options.requiresGrad ?? false);
}

// Constants that enter ops as JS numbers repeat (x * 2, t + 1e-7 in a loop): reuse their tensors.
// They are internal and untracked, so sharing one is safe; the caches are bounded.
const constants = { float32: new Map<number, Tensor>(), float64: new Map<number, Tensor>() };
const NO_SHAPE: readonly number[] = Object.freeze([]);

/** An untracked 0-d tensor holding one number. */
export function scalar(value: number, dtype: DType = "float32"): Tensor {
  const data = allocate(dtype, 1);
  data[0] = value;
  return new Tensor(data, [], null, false);
}

/** How JS numbers enter ops: like scalar(), but shared (internal only: nobody may write into it). */
export function constant(value: number, dtype: DType = "float32"): Tensor {
  const cache = constants[dtype];
  const hit = cache.get(value);
  if (hit && !Object.is(value, -0)) return hit;
  const data = allocate(dtype, 1);
  data[0] = value;
  const t = new Tensor(data, NO_SHAPE, null, false);
  if (cache.size >= 1024) cache.clear();
  cache.set(value, t);
  return t;
}
