/**
 * The safetensors format (Hugging Face's, the weight files of the PyTorch world), read and written as
 * bytes so that it works in browsers too. A file is: 8 bytes, the header's length N as a little-endian
 * unsigned 64-bit integer; N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__"?: {string: string}}; then the tensors' bytes, little-endian, row-major, packed without
 * gaps (offsets are relative to the end of the header).
 *
 * Written: F32 and F64 (a tensor's own dtype). Read: F32 and F64 as they are; F16 and BF16 into float32
 * (exact: every half and bfloat16 value is a float32 value); BOOL, U8, I8 and I16 into float32 (exact);
 * I32 and I64 into float64 (exact; an I64 beyond ±2^53 is an error, not a rounding). Other dtypes
 * (F8, U16, U32, U64) are errors naming the tensor.
 */
import { Tensor } from "../core/tensor.js";
import { allocate } from "../core/dtype.js";

export type SafetensorsDType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** Bytes per element of the dtypes read; the format also names these, which this reader refuses. */
const BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const KNOWN_UNSUPPORTED = ["F8_E4M3", "F8_E5M2", "U16", "U32", "U64"];

/** The reference implementation's bound on the header: a larger one is refused before it is read. */
export const MAX_HEADER_BYTES = 100_000_000;
const MAX_DIMS = 32;

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

export interface SafetensorsContents {
  /** The tensors in the order of their data in the file. */
  tensors: Map<string, Tensor>;
  /** The dtype each tensor was stored with (before the conversion described above). */
  dtypes: Map<string, SafetensorsDType>;
  /** The header's `__metadata__` (empty when it has none). */
  metadata: Record<string, string>;
}

/** Header space is padded with spaces so the data starts at a multiple of 8 bytes, as the reference writer does. */
const ALIGN = 8;

export function encodeSafetensors(tensors: Iterable<[string, Tensor]>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const list = [...tensors];
  const header: Record<string, unknown> = {};
  const meta = Object.entries(metadata);
  for (const [k, v] of meta) if (typeof v !== "string") throw new SafetensorsError(`metadata '${k}' must be a string, got ${typeof v}`);
  if (meta.length > 0) header.__metadata__ = Object.fromEntries(meta);
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "__metadata__") throw new SafetensorsError("a tensor cannot be named __metadata__ (the header's metadata key)");
    if (Object.prototype.hasOwnProperty.call(header, name)) throw new SafetensorsError(`tensor '${name}' is given twice`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype === "float64" ? "F64" : "F32", shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = json.length + ((ALIGN - ((8 + json.length) % ALIGN)) % ALIGN);
  const out = new Uint8Array(8 + n + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  for (const [, t] of list) {
    const d = t.data;
    if (d instanceof Float64Array) for (let i = 0; i < d.length; i++) view.setFloat64(at + 8 * i, d[i], true);
    else for (let i = 0; i < d.length; i++) view.setFloat32(at + 4 * i, d[i], true);
    at += d.byteLength;
  }
  return out;
}

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/**
 * The keys of the header's top-level object, in order, duplicates included (JSON.parse keeps only the
 * last of a repeated key, so a second tensor of the same name would vanish without this). `text` is
 * already known to be valid JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k])) k++;
        if (text[k] === ":") keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return keys;
}

function checkEntry(name: string, raw: unknown, limit: number): Entry {
  const bad = (what: string) => new SafetensorsError(`tensor '${name}': ${what}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("its header entry is not an object");
  const e = raw as Record<string, unknown>;
  if (typeof e.dtype !== "string") throw bad(`dtype must be a string, got ${JSON.stringify(e.dtype)}`);
  if (!(e.dtype in BYTES)) {
    if (KNOWN_UNSUPPORTED.includes(e.dtype)) throw bad(`dtype ${e.dtype} is not supported (supported: ${Object.keys(BYTES).join(", ")})`);
    throw bad(`unknown dtype ${JSON.stringify(e.dtype)}`);
  }
  const dtype = e.dtype as SafetensorsDType;
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every(isCount)) {
    throw bad(`shape must be an array of at most ${MAX_DIMS} non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw bad(`data_offsets must be two non-negative integers [begin, end], got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) throw bad(`data_offsets [${begin}, ${end}] end before they begin`);
  // Bounded while multiplying, so a hand-edited shape can neither overflow nor pass for a small one.
  let count = 1;
  for (const d of shape as number[]) count = Math.min(count * d, limit + 1);
  const need = count * BYTES[dtype];
  if (need !== end - begin) {
    const what = count > limit ? "more bytes than the file has" : `${need} bytes`;
    throw bad(`shape (${shape.join(", ")}) of ${dtype} needs ${what}, its data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Every byte of the data buffer belongs to exactly one tensor: no gap, no overlap, nothing past either end. */
function checkLayout(entries: Entry[], dataBytes: number): void {
  for (const e of entries) {
    if (e.end > dataBytes) {
      throw new SafetensorsError(
        `tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] lie past the end of the data (${dataBytes} bytes): the file is truncated or the header is wrong`,
      );
    }
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: Entry | null = null;
  for (const e of entries) {
    if (e.begin < at) throw new SafetensorsError(`tensors '${previous!.name}' and '${e.name}' overlap (bytes ${e.begin} to ${Math.min(at, e.end)})`);
    if (e.begin > at) throw new SafetensorsError(`bytes ${at} to ${e.begin} of the data belong to no tensor (before tensor '${e.name}')`);
    at = e.end;
    previous = e;
  }
  if (at < dataBytes) throw new SafetensorsError(`the file has ${dataBytes - at} bytes of trailing data after its last tensor`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const scratch = new DataView(new ArrayBuffer(4));

/** The values of one tensor, converted as the file comment says. */
function readValues(e: Entry, view: DataView, start: number): Float32Array | Float64Array {
  const n = (e.end - e.begin) / BYTES[e.dtype];
  const wide = e.dtype === "F64" || e.dtype === "I64" || e.dtype === "I32";
  const out = allocate(wide ? "float64" : "float32", n, e.shape, `safetensors tensor '${e.name}'`);
  const at = start + e.begin;
  for (let i = 0; i < n; i++) {
    switch (e.dtype) {
      case "F64":
        out[i] = view.getFloat64(at + 8 * i, true);
        break;
      case "F32":
        out[i] = view.getFloat32(at + 4 * i, true);
        break;
      case "F16":
        out[i] = halfToFloat(view.getUint16(at + 2 * i, true));
        break;
      case "BF16":
        // bfloat16 is the top half of a float32.
        scratch.setUint32(0, view.getUint16(at + 2 * i, true) << 16);
        out[i] = scratch.getFloat32(0);
        break;
      case "I64": {
        const v = view.getBigInt64(at + 8 * i, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new SafetensorsError(`tensor '${e.name}': I64 element ${i} (${v}) is outside ±2^53, where a number holds it exactly`);
        }
        out[i] = Number(v);
        break;
      }
      case "I32":
        out[i] = view.getInt32(at + 4 * i, true);
        break;
      case "I16":
        out[i] = view.getInt16(at + 2 * i, true);
        break;
      case "I8":
        out[i] = view.getInt8(at + i);
        break;
      case "U8":
      case "BOOL":
        out[i] = view.getUint8(at + i);
        break;
    }
  }
  return out;
}

function parseHeader(bytes: Uint8Array, n: number): Record<string, unknown> {
  if (bytes[8] !== 0x7b) throw new SafetensorsError("the header is not a JSON object (it must begin with '{')");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new SafetensorsError("the header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new SafetensorsError("the header is not a JSON object");
  const seen = new Set<string>();
  for (const k of topLevelKeys(text)) {
    if (seen.has(k)) throw new SafetensorsError(k === "__metadata__" ? "the header has __metadata__ twice" : `tensor '${k}' appears twice in the header`);
    seen.add(k);
  }
  return header as Record<string, unknown>;
}

function checkMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new SafetensorsError("__metadata__ must be an object of strings");
  for (const [k, v] of Object.entries(raw))
    if (typeof v !== "string") throw new SafetensorsError(`__metadata__ '${k}' must be a string, got ${JSON.stringify(v)}`);
  return raw as Record<string, string>;
}

/**
 * Reads a safetensors file; throws SafetensorsError saying what is wrong (and naming the tensor). The
 * header's length, every shape and every offset are checked against the file before anything is
 * allocated, so a damaged or hostile header cannot make the reader allocate more than the file holds.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (bytes.length < 8) throw new SafetensorsError(`not a safetensors file: ${bytes.length} bytes, fewer than the 8 of the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    const n = hi * 2 ** 32 + lo;
    throw new SafetensorsError(`the header length ${n} is more than the ${MAX_HEADER_BYTES} bytes allowed (not a safetensors file, or a damaged one)`);
  }
  const n = lo;
  if (8 + n > bytes.length) throw new SafetensorsError(`the header needs ${n} bytes after the first 8, the file has ${bytes.length - 8}: it is truncated`);
  if (n === 0) throw new SafetensorsError("the header is empty (it must be a JSON object)");
  const header = parseHeader(bytes, n);
  const metadata = checkMetadata(header.__metadata__);
  const dataBytes = bytes.length - 8 - n;
  const entries = Object.entries(header)
    .filter(([k]) => k !== "__metadata__")
    .map(([name, raw]) => checkEntry(name, raw, bytes.length));
  checkLayout(entries, dataBytes);
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, SafetensorsDType>();
  for (const e of entries) {
    tensors.set(e.name, new Tensor(readValues(e, view, 8 + n), e.shape));
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, dtypes, metadata };
}
