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
import type { Tensor } from "./tensor.js";

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

/**
 * The backward pass's bookkeeping of the buffers its kernels handed out (`record`, null when it
 * records a graph and recycles nothing): how many pending cotangents and results hold each, so that a
 * buffer is recycled when the last holder lets go. Buffers held elsewhere (forward values, the
 * caller's seeds) were never recorded, so never come back.
 */
export class Holders {
  private readonly counts = new Map<ArrayBufferLike, number>();
  constructor(private readonly record: Set<ArrayBuffer> | null) {}

  /** The bookkeeping of a backward pass starting now: one that records a graph recycles nothing. */
  static forPass(recordsGraph: boolean): Holders {
    return new Holders(recordsGraph ? null : startRecording());
  }

  private bufferOf(g: Tensor): ArrayBufferLike | null {
    // Nothing recorded yet: no buffer of this pass's can be held (and a scalar keeps its lazy value).
    return this.record === null || this.record.size === 0 ? null : g.data.buffer;
  }

  /** `g` is now a pending cotangent or a result. */
  hold(g: Tensor): void {
    const b = this.bufferOf(g);
    if (b !== null && this.record!.has(b as ArrayBuffer)) this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
  }

  /** `g` was pulled back or replaced by a sum: one holder fewer. */
  drop(g: Tensor): void {
    const b = this.bufferOf(g);
    if (b === null) return;
    const n = this.counts.get(b);
    if (n === undefined) return;
    if (n > 1) this.counts.set(b, n - 1);
    else {
      this.counts.delete(b);
      recycle(this.record!, b as ArrayBuffer);
    }
  }

  /**
   * A value only passed through (a summand, a cotangent before it was summed to its input's shape):
   * called after what was made from it is held, so a shared buffer is never recycled.
   */
  discard(g: Tensor): void {
    const b = this.bufferOf(g);
    if (b !== null && !this.counts.has(b)) recycle(this.record!, b as ArrayBuffer);
  }

  /** `sum` replaces `old` as a pending cotangent; the summand `g` was only passed through. */
  replace(old: Tensor, sum: Tensor, g: Tensor): void {
    this.hold(sum);
    this.drop(old);
    this.discard(g);
  }

  /** The pass is over: later kernels' outputs are no longer this pass's to recycle. */
  stop(): void {
    stopRecording(this.record);
  }
}
