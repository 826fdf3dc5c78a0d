/**
 * Checkpoints as bytes, in Node and browsers alike: a magic header, a JSON manifest (names, shapes,
 * dtypes, offsets, and free-form metadata such as the architecture), the raw little-endian tensor
 * data, and a CRC-32 of everything before it, so a truncated or corrupted file is rejected.
 * (Writing it to disk atomically is the Node layer's job: src/cli/files.ts.)
 */
import { Tensor } from "../core/tensor.js";
import { allocate, isDType, type DType } from "../core/dtype.js";

/** The first eight bytes of every checkpoint. */
export const CHECKPOINT_MAGIC = "BPCKPT01";
const MAGIC = CHECKPOINT_MAGIC;

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

const MAX_DIMS = 32;

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Checks one manifest entry's fields and that its shape and dtype account for exactly its bytes.
 * The element count is bounded by `limit` (the file's length) while it is multiplied, so a hand-edited
 * shape can neither overflow nor ask for more memory than the file could hold.
 */
function checkEntry(raw: unknown, index: number, limit: number): TensorEntry {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CheckpointError(`tensor entry ${index + 1} is not an object`);
  const e = raw as Record<string, unknown>;
  if (typeof e.name !== "string" || e.name === "") throw new CheckpointError(`tensor entry ${index + 1} has no name`);
  const name = e.name;
  if (!isDType(e.dtype)) throw new CheckpointError(`tensor '${name}' has unknown dtype ${String(e.dtype)}`);
  const shape = e.shape;
  if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every(isCount)) {
    throw new CheckpointError(`tensor '${name}': shape must be an array of non-negative integers (at most ${MAX_DIMS}), got ${JSON.stringify(shape)}`);
  }
  if (!isCount(e.offset)) throw new CheckpointError(`tensor '${name}': offset must be a non-negative integer, got ${JSON.stringify(e.offset)}`);
  if (!isCount(e.byteLength)) throw new CheckpointError(`tensor '${name}': byteLength must be a non-negative integer, got ${JSON.stringify(e.byteLength)}`);
  const step = e.dtype === "float64" ? 8 : 4;
  let n = 1;
  for (const d of shape as number[]) n = Math.min(n * d, limit + 1);
  if (n > limit) throw new CheckpointError(`tensor '${name}': shape (${shape.join(",")}) needs more bytes than the file has`);
  if (n * step !== e.byteLength)
    throw new CheckpointError(`tensor '${name}': shape (${shape.join(",")}) ${e.dtype} needs ${n * step} bytes, the manifest says ${e.byteLength}`);
  return { name, dtype: e.dtype, shape: shape as number[], offset: e.offset, byteLength: e.byteLength };
}

/** Every tensor's bytes lie inside the data section and no two tensors share a byte. */
function checkRanges(entries: readonly TensorEntry[], dataBytes: number): void {
  for (const e of entries) {
    if (e.offset + e.byteLength > dataBytes) {
      throw new CheckpointError(`tensor '${e.name}' (bytes ${e.offset} to ${e.offset + e.byteLength}) lies outside the data section of ${dataBytes} bytes`);
    }
  }
  const sorted = entries.filter((e) => e.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a.offset + a.byteLength > b.offset) throw new CheckpointError(`tensors '${a.name}' and '${b.name}' overlap in the data section`);
  }
}

function parseManifest(bytes: Uint8Array, jsonLength: number): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength)));
  } catch {
    throw new CheckpointError("checkpoint manifest is not valid JSON (the file is corrupted)");
  }
  const m = parsed as Partial<Manifest> | null;
  if (typeof m !== "object" || m === null || m.format !== "backprop-checkpoint" || m.version !== 1 || !Array.isArray(m.tensors)) {
    throw new CheckpointError("checkpoint manifest has an unknown format or version");
  }
  if (m.meta !== undefined && (typeof m.meta !== "object" || m.meta === null || Array.isArray(m.meta))) {
    throw new CheckpointError("checkpoint manifest: meta must be an object");
  }
  return m as Manifest;
}

/**
 * Reads a checkpoint; throws CheckpointError saying what is wrong with it. Every size and offset in the
 * manifest is checked against the file before anything is allocated, so a damaged or hand-edited
 * manifest cannot make the reader allocate more than the file holds or read another tensor's bytes.
 */
export function decodeCheckpoint(bytes: Uint8Array): { meta: Record<string, unknown>; tensors: Map<string, Tensor> } {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new CheckpointError("not a backprop checkpoint (bad magic bytes)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength + 4 > bytes.length)
    throw new CheckpointError(`checkpoint is truncated: its manifest needs ${12 + jsonLength} bytes, the file has ${bytes.length}`);
  const manifest = parseManifest(bytes, jsonLength);
  const entries = manifest.tensors.map((raw, i) => checkEntry(raw, i, bytes.length));
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new CheckpointError(`tensor '${e.name}' appears twice in the manifest`);
    names.add(e.name);
  }
  const dataStart = align8(12 + jsonLength);
  const available = Math.max(0, bytes.length - 4 - dataStart);
  const outside = entries.find((e) => e.offset + e.byteLength > available);
  if (outside) {
    // Past the end: a truncated file when the checksum fails too, a lying manifest when it holds.
    if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true)) {
      throw new CheckpointError(`checkpoint is truncated: expected ${dataStart + align8(outside.offset + outside.byteLength) + 4} bytes, got ${bytes.length}`);
    }
    checkRanges(entries, available);
  }
  const dataBytes = entries.reduce((end, e) => Math.max(end, align8(e.offset + e.byteLength)), 0);
  const expected = dataStart + dataBytes + 4;
  if (bytes.length < expected) throw new CheckpointError(`checkpoint is truncated: expected ${expected} bytes, got ${bytes.length}`);
  if (bytes.length > expected) throw new CheckpointError(`checkpoint has ${bytes.length - expected} unexpected trailing bytes`);
  const stored = view.getUint32(expected - 4, true);
  if (crc32(bytes.subarray(0, expected - 4)) !== stored) throw new CheckpointError("checkpoint checksum mismatch: the file is corrupted");
  checkRanges(entries, dataBytes);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const step = e.dtype === "float64" ? 8 : 4;
    const n = e.byteLength / step;
    const data = allocate(e.dtype, n);
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + e.offset, e.byteLength);
    for (let k = 0; k < n; k++) data[k] = step === 8 ? src.getFloat64(k * 8, true) : src.getFloat32(k * 4, true);
    tensors.set(e.name, new Tensor(data, e.shape));
  }
  return { meta: manifest.meta ?? {}, tensors };
}
