/**
 * Reuse of cotangent buffers. Tensors are freed by the garbage collector, late and in bulk, so a
 * kernel's output usually lands in memory last touched long before: cold in cache, where writing
 * 128 KB took 26 us against 7.5 us in memory just freed. The backward pass knows better than the
 * collector: a cotangent it has pulled back, that no pending cotangent or result shares, is dead.
 * It hands such buffers back here, and kernels that overwrite their whole output (the native and
 * wasm backends') take them first.
 *
 * Only buffers handed out by `outputBuffer` during the same backward pass can come back: never a
 * forward value, a parameter or a caller's tensor. Nothing is kept beyond a few per size.
 */

/** Buffers handed out while a backward pass is recording (null: none is). */
let recording: Set<ArrayBuffer> | null = null;
const free = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;
/** At most this many buffers of one size, and this many bytes in all, wait for reuse. */
const PER_SIZE = 4;
const MAX_BYTES = 32 << 20;

/**
 * An ArrayBuffer of `bytes` for a kernel that writes every element of its output: the last one
 * recycled at that size, or `fresh(bytes)`.
 */
export function outputBuffer(bytes: number, fresh: (bytes: number) => ArrayBuffer): ArrayBuffer {
  const reused = free.get(bytes)?.pop();
  if (reused) freeBytes -= bytes;
  const b = reused ?? fresh(bytes);
  recording?.add(b);
  return b;
}

/**
 * Starts recording the buffers handed out, for the backward pass that calls it; null when one is
 * recording already (a nested pass recycles nothing: the outer one's cotangents are not its own).
 */
export function startRecording(): Set<ArrayBuffer> | null {
  if (recording) return null;
  return (recording = new Set());
}

export function stopRecording(record: Set<ArrayBuffer> | null): void {
  if (record && recording === record) recording = null;
}

/** Takes back a buffer that `record` handed out and that nothing refers to any more. */
export function recycle(record: Set<ArrayBuffer>, b: ArrayBuffer): void {
  if (!record.delete(b)) return;
  const bytes = b.byteLength;
  if (bytes === 0 || freeBytes + bytes > MAX_BYTES) return;
  let list = free.get(bytes);
  if (!list) free.set(bytes, (list = []));
  if (list.length >= PER_SIZE) return;
  list.push(b);
  freeBytes += bytes;
}

/** How many bytes wait for reuse (for tests). */
export function recycledBytes(): number {
  return freeBytes;
}
