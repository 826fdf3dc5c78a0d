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

export function allocate(dtype: DType, size: number): TypedArray {
  if (size <= SMALL) {
    const bytes = size * 8;
    if (slabUsed + bytes > SLAB_BYTES) {
      slab = new ArrayBuffer(SLAB_BYTES);
      slabUsed = 0;
    }
    const off = slabUsed;
    slabUsed += bytes;
    return dtype === "float64" ? new Float64Array(slab, off, size) : new Float32Array(slab, off, size);
  }
  return dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
}

export function dtypeOf(data: TypedArray): DType {
  return data instanceof Float64Array ? "float64" : "float32";
}

/** Result type of an op over several inputs: float64 wins, as in NumPy. */
export function promote(dtypes: readonly DType[]): DType {
  return dtypes.includes("float64") ? "float64" : "float32";
}

export function isDType(x: unknown): x is DType {
  return x === "float32" || x === "float64";
}
