/** The element types a tensor can hold. Float32 is the default; float64 is for checking gradients. */

export type DType = "float32" | "float64";
export type TypedArray = Float32Array | Float64Array;

/**
 * Small arrays are carved out of shared 64 KiB slabs: one ArrayBuffer per scalar makes the garbage
 * collector the bottleneck of long scalar graphs (a slab lives while any view of it does).
 */
const SLAB_BYTES = 65536;
const SMALL = 16;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** An array too large for this machine or for JavaScript; the message is NumPy's. */
export class AllocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AllocationError";
  }
}

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** NumPy's wording: `Unable to allocate 3.64 TiB for an array with shape (1000000, 1000000) and data type float32`. */
export function allocationError(dtype: DType, shape: readonly number[], op?: string): AllocationError {
  let bytes = (dtype === "float64" ? 8 : 4) * shape.reduce((a, b) => a * b, 1);
  let u = 0;
  while (bytes >= 1024 && u < UNITS.length - 1) {
    bytes /= 1024;
    u++;
  }
  const amount = u === 0 ? `${bytes} bytes` : `${bytes.toPrecision(3)} ${UNITS[u]}`;
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  return new AllocationError(`${op ? `${op}: ` : ""}Unable to allocate ${amount} for an array with shape ${dims} and data type ${dtype}`);
}

/** The most elements a typed array may hold here (V8's limit). */
export const MAX_ELEMENTS = 2 ** 32;

/**
 * A zero-filled array of `size` elements. `shape` and `op` only word the error if the memory cannot
 * be had (the engine's RangeError becomes an AllocationError naming them).
 */
export function allocate(dtype: DType, size: number, shape?: readonly number[], op?: string): TypedArray {
  if (size > MAX_ELEMENTS) throw allocationError(dtype, shape ?? [size], op);
  if (size > SMALL) {
    try {
      return dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
    } catch (e) {
      if (e instanceof RangeError) throw allocationError(dtype, shape ?? [size], op);
      throw e;
    }
  }
  const bytes = size * 8;
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const off = slabUsed;
  slabUsed += bytes;
  return dtype === "float64" ? new Float64Array(slab, off, size) : new Float32Array(slab, off, size);
}

export function dtypeOf(data: TypedArray): DType {
  return data instanceof Float64Array ? "float64" : "float32";
}

/** Result type of an op over several inputs: float64 wins, as in NumPy. */
/** The dtype of an op on two operands: float64 if either is (the one home of the promotion rule). */
export function promote(a: DType, b: DType): DType {
  return a === "float64" || b === "float64" ? "float64" : "float32";
}

export function isDType(x: unknown): x is DType {
  return x === "float32" || x === "float64";
}
