/**
 * Checkpoints as bytes, in Node and browsers alike: a magic header, a JSON manifest (names, shapes,
 * dtypes, offsets, and free-form metadata such as the architecture), the raw little-endian tensor
 * data, and a CRC-32 of everything before it, so a truncated or corrupted file is rejected.
 * (Writing it to disk atomically is the Node layer's job: src/cli/files.ts.)
 */
import { Tensor } from "../core/tensor.js";
import { allocate, isDType, type DType } from "../core/dtype.js";

const MAGIC = "BPCKPT01";

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  byteLength: number;
}

export interface Manifest {
  format: "backprop-checkpoint";
  version: 1;
  meta: Record<string, unknown>;
  tensors: TensorEntry[];
}

let table: Uint32Array | null = null;

export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const align8 = (n: number) => (n + 7) & ~7;

export function encodeCheckpoint(tensors: Iterable<[string, Tensor]>, meta: Record<string, unknown> = {}): Uint8Array {
  const entries: TensorEntry[] = [];
  const list = [...tensors];
  let offset = 0;
  for (const [name, t] of list) {
    const byteLength = t.data.byteLength;
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset, byteLength });
    offset = align8(offset + byteLength);
  }
  const manifest: Manifest = { format: "backprop-checkpoint", version: 1, meta, tensors: entries };
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const header = 8 + 4;
  const dataStart = align8(header + json.length);
  const total = dataStart + offset + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, json.length, true);
  out.set(json, header);
  list.forEach(([, t], i) => {
    const e = entries[i];
    const dst = new DataView(out.buffer, dataStart + e.offset, e.byteLength);
    const step = t.dtype === "float64" ? 8 : 4;
    for (let k = 0; k < t.size; k++) {
      if (step === 8) dst.setFloat64(k * 8, t.data[k], true);
      else dst.setFloat32(k * 4, t.data[k], true);
    }
  });
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Reads a checkpoint; throws CheckpointError saying what is wrong with it. */
export function decodeCheckpoint(bytes: Uint8Array): { meta: Record<string, unknown>; tensors: Map<string, Tensor> } {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CheckpointError("not a backprop checkpoint (bad magic bytes)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength > bytes.length) throw new CheckpointError(`checkpoint is truncated: its manifest needs ${12 + jsonLength} bytes, the file has ${bytes.length}`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength))) as Manifest;
  } catch {
    throw new CheckpointError("checkpoint manifest is not valid JSON (the file is corrupted)");
  }
  if (manifest.format !== "backprop-checkpoint" || manifest.version !== 1 || !Array.isArray(manifest.tensors)) {
    throw new CheckpointError("checkpoint manifest has an unknown format or version");
  }
  const dataStart = align8(12 + jsonLength);
  const dataBytes = manifest.tensors.reduce((end, e) => Math.max(end, align8(e.offset + e.byteLength)), 0);
  const expected = dataStart + dataBytes + 4;
  if (bytes.length < expected) throw new CheckpointError(`checkpoint is truncated: expected ${expected} bytes, got ${bytes.length}`);
  if (bytes.length > expected) throw new CheckpointError(`checkpoint has ${bytes.length - expected} unexpected trailing bytes`);
  const stored = view.getUint32(expected - 4, true);
  if (crc32(bytes.subarray(0, expected - 4)) !== stored) throw new CheckpointError("checkpoint checksum mismatch: the file is corrupted");
  const tensors = new Map<string, Tensor>();
  for (const e of manifest.tensors) {
    if (!isDType(e.dtype)) throw new CheckpointError(`tensor '${e.name}' has unknown dtype ${String(e.dtype)}`);
    const step = e.dtype === "float64" ? 8 : 4;
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n * step !== e.byteLength) throw new CheckpointError(`tensor '${e.name}': shape (${e.shape.join(",")}) does not match its ${e.byteLength} bytes`);
    const data = allocate(e.dtype, n);
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + e.offset, e.byteLength);
    for (let k = 0; k < n; k++) data[k] = step === 8 ? src.getFloat64(k * 8, true) : src.getFloat32(k * 4, true);
    tensors.set(e.name, new Tensor(data, e.shape));
  }
  return { meta: manifest.meta ?? {}, tensors };
}
