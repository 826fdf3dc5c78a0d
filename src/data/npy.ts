/**
 * NumPy's .npy format (version 1.0, 2.0 and 3.0 headers), read and written as bytes so that it works in
 * browsers too: the door for arrays made by NumPy and PyTorch, and the data files `export --format
 * pytorch` writes. Little-endian float32, float64, int32, int64, uint8 and bool in C order; anything
 * else is an error that names the header's dtype.
 */

export type NpyDType = "float32" | "float64" | "int32" | "int64" | "uint8" | "bool";

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  /** int64 values are converted to numbers; one outside ±2^53 is an error rather than a silent rounding. */
  data: Float32Array | Float64Array | Int32Array | Uint8Array | number[];
}

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NpyError";
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const DESCR: Record<string, NpyDType> = { "<f4": "float32", "<f8": "float64", "<i4": "int32", "<i8": "int64", "|u1": "uint8", "<u1": "uint8", "|b1": "bool" };
const BYTES: Record<NpyDType, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };
const WRITE_DESCR: Record<NpyDType, string> = { float32: "<f4", float64: "<f8", int32: "<i4", int64: "<i8", uint8: "|u1", bool: "|b1" };

/** The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. */
function parseHeader(text: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new NpyError(`not a valid .npy header: ${JSON.stringify(text.trim().slice(0, 120))}`);
  const dims = shape[1]
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (!dims.every((d) => /^[0-9]+$/.test(d))) throw new NpyError(`.npy shape must be non-negative integers, got (${shape[1]})`);
  return { descr: descr[1], fortran: fortran[1] === "True", shape: dims.map(Number) };
}

export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError("not a .npy file (bad magic bytes)");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major !== 1 && major !== 2 && major !== 3) throw new NpyError(`unsupported .npy version ${major}.${bytes[7]}`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) throw new NpyError(`.npy header needs ${start + headerLength} bytes, the file has ${bytes.length}`);
  const decoder = new TextDecoder(major === 3 ? "utf-8" : "latin1");
  const { descr, fortran, shape } = parseHeader(decoder.decode(bytes.subarray(start, start + headerLength)));
  const dtype = DESCR[descr];
  if (!dtype) throw new NpyError(`unsupported .npy dtype '${descr}' (supported: little-endian float32, float64, int32, int64, uint8, bool)`);
  if (fortran && shape.length > 1) throw new NpyError(".npy arrays in Fortran order are not supported; save with np.ascontiguousarray first");
  const dataStart = start + headerLength;
  let count = 1;
  for (const d of shape) count = Math.min(count * d, bytes.length + 1);
  const need = count * BYTES[dtype];
  if (dataStart + need !== bytes.length) {
    throw new NpyError(`.npy data for shape (${shape.join(", ")}) ${dtype} needs ${need} bytes, the file has ${Math.max(0, bytes.length - dataStart)}`);
  }
  // Copied, so the result is aligned and owns its memory whatever the input's offset (and Node's
  // Buffer.slice would not copy).
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(dataStart, dataStart + need));
  const raw = copy.buffer;
  switch (dtype) {
    case "float32":
      return { dtype, shape, data: new Float32Array(raw) };
    case "float64":
      return { dtype, shape, data: new Float64Array(raw) };
    case "int32":
      return { dtype, shape, data: new Int32Array(raw) };
    case "uint8":
    case "bool":
      return { dtype, shape, data: new Uint8Array(raw) };
    case "int64": {
      const big = new BigInt64Array(raw);
      const out: number[] = new Array(big.length);
      for (let i = 0; i < big.length; i++) {
        const v = Number(big[i]);
        if (!Number.isSafeInteger(v)) throw new NpyError(`.npy int64 element ${i} (${big[i]}) is outside the range a number holds exactly`);
        out[i] = v;
      }
      return { dtype, shape, data: out };
    }
  }
}

/** Writes a version 1.0 file (2.0 when the header is too long for it), padded so the data is 64-byte aligned as NumPy does. */
export function writeNpy(array: NpyArray): Uint8Array {
  const { dtype, shape, data } = array;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new NpyError(`writeNpy: shape (${shape.join(", ")}) has ${count} elements, the data ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${WRITE_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const v1 = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 <= 65535;
  const prefix = v1 ? 10 : 12;
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix;
  const header = dict + " ".repeat(padded - dict.length - 1) + "\n";
  const out = new Uint8Array(prefix + padded + count * BYTES[dtype]);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  const at = prefix + padded;
  for (let i = 0; i < count; i++) {
    const v = Number(data[i]);
    switch (dtype) {
      case "float32":
        view.setFloat32(at + 4 * i, v, true);
        break;
      case "float64":
        view.setFloat64(at + 8 * i, v, true);
        break;
      case "int32":
        view.setInt32(at + 4 * i, v, true);
        break;
      case "int64":
        view.setBigInt64(at + 8 * i, BigInt(Math.trunc(v)), true);
        break;
      case "uint8":
      case "bool":
        out[at + i] = v;
        break;
    }
  }
  return out;
}
