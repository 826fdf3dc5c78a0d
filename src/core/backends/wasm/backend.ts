/**
 * The WebAssembly SIMD backend (Node and browsers): the kernels in wasm/kernels.mjs, assembled at
 * install. Operands are copied into the module's memory, computed on four lanes at a time (and on
 * several threads for large work when a platform supplies them), and copied out into ordinary typed
 * arrays, so tensors stay garbage-collected JS objects. Float64, odd layouts and small inputs take
 * the reference kernels.
 */
import type { Backend, KernelOverrides } from "../../backend.js";
import type { TypedArray } from "../../dtype.js";
import { batchedMatmul, referenceGemm, type Gemm } from "../js/matmul.js";
import { contiguous } from "../js/reduce.js";
import type { Buf, Kernel, ParamMap, Prim } from "../../prim.js";
import { PRIMS } from "../../primitives.js";
import { outputBuffer } from "../../recycle.js";
import { sizeOf, type Shape } from "../../shape.js";
import { WASM_EXPORTS, WASM_GEMM_MR, WASM_PLAIN, WASM_SHARED } from "./module.js";
import { foldGeometry, unfoldGeometry, usableGeometry } from "../window.js";
import { wasmIndexingKernels } from "./indexing.js";
import { MIN_ELEMENTS, PAR_ELEMENTS, splitJobs } from "./jobs.js";
import { canBlock, CONTROL_BYTES, fnIndex, MAX_THREADS, ThreadPool, type Job, type SpawnThread, type WasmFn } from "./threads.js";

/** Products are split over threads from this many flops. */
const PAR_FLOPS = 1 << 22;
const MAX_PAGES = 16384; // 1 GiB, as declared by the module

export interface WasmBackend extends Backend {
  /** Whether the memory is shared, so that worker threads can join. */
  readonly shared: boolean;
  /**
   * Lets the backend use `count` threads in all (this one included), spawned with `spawn` on the
   * first job big enough to share. False where the memory is not shared or this thread may not block.
   */
  useThreads(spawn: SpawnThread, count: number, eager?: boolean): boolean;
  /** The thread pool, once spawned (tests and benchmarks wait for it to be ready). */
  pool(): ThreadPool | null;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A 2-D view of a broadcast: each input a full matrix, a row vector, a column vector or a scalar. */
export interface View2d {
  readonly rows: number;
  readonly cols: number;
  /** Row stride of each input in elements: cols (full), 0 (row vector or scalar), 1 (column vector). */
  readonly rs: readonly number[];
  /** 1 where the input varies along a row (loaded), 0 where it is constant along it (splatted). */
  readonly vec: readonly number[];
}

/**
 * Splits the output's axes into leading rows and trailing columns so that every input is one of the four
 * layouts. Called for every elementwise op a backend takes, so it allocates nothing but its answer.
 */
export function view2d(out: Shape, shapes: readonly Shape[]): View2d | null {
  const nd = out.length;
  const k = shapes.length;
  const rs = new Array<number>(k);
  const vec = new Array<number>(k);
  for (let s = 0; s <= nd; s++) {
    let rows = 1,
      cols = 1;
    for (let i = 0; i < s; i++) rows *= out[i];
    for (let i = s; i < nd; i++) cols *= out[i];
    let j = 0;
    for (; j < k; j++) {
      const shape = shapes[j];
      const pad = nd - shape.length; // leading axes the input lacks count as 1
      let leadFull = true,
        leadOne = true,
        trailFull = true,
        trailOne = true;
      for (let i = 0; i < nd; i++) {
        const d = i < pad ? 1 : shape[i - pad];
        if (i < s) {
          leadFull &&= d === out[i];
          leadOne &&= d === 1;
        } else {
          trailFull &&= d === out[i];
          trailOne &&= d === 1;
        }
      }
      if (!leadFull && !leadOne) break;
      if (trailFull) {
        vec[j] = 1;
        rs[j] = leadFull ? cols : 0;
      } else if (trailOne) {
        vec[j] = 0;
        rs[j] = leadFull ? 1 : 0;
      } else break;
    }
    if (j === k) return { rows, cols, rs, vec };
  }
  return null;
}

/** A batch of 2-D views: input k's view for batch b starts `bs[k] * b` elements in (0: the same view for every batch). */
export interface View3d extends View2d {
  readonly batches: number;
  readonly bs: readonly number[];
}

/** Whether axes [from, to) of `shape` (left-padded with ones to `out`'s rank) equal `out`'s, or are all 1. */
function axesAre(out: Shape, shape: Shape, from: number, to: number, full: boolean): boolean {
  const pad = out.length - shape.length;
  for (let i = from; i < to; i++) {
    const d = i < pad ? 1 : shape[i - pad];
    if (full ? d !== out[i] : d !== 1) return false;
  }
  return true;
}

/**
 * A 2-D view where there is one (batches = 1), else the output's axes split into batch, row and column
 * groups so that every input is, in each group, either the output's size or all ones: the bias of a
 * convolution (N, C, H*W) + (C, 1), or pooling windows (N*C, 4, L) against their maximum (N*C, 1, L).
 * Of several splits, the one with the longest rows. Allocates nothing but its answer, as view2d.
 */
export function view3d(out: Shape, shapes: readonly Shape[]): View3d | null {
  const flat = view2d(out, shapes);
  if (flat) return { ...flat, batches: 1, bs: shapes.map(() => 0) };
  const nd = out.length;
  let best: View3d | null = null;
  for (let s1 = 1; s1 < nd; s1++)
    for (let s2 = s1 + 1; s2 < nd; s2++) {
      const batches = sizeOf(out.slice(0, s1)),
        rows = sizeOf(out.slice(s1, s2)),
        cols = sizeOf(out.slice(s2));
      if (best && cols <= best.cols) continue;
      const rs: number[] = [],
        vec: number[] = [],
        bs: number[] = [];
      for (const shape of shapes) {
        const colsFull = axesAre(out, shape, s2, nd, true);
        const rowsFull = axesAre(out, shape, s1, s2, true);
        const batchFull = axesAre(out, shape, 0, s1, true);
        if ((!colsFull && !axesAre(out, shape, s2, nd, false)) || (!rowsFull && !axesAre(out, shape, s1, s2, false))) break;
        if (!batchFull && !axesAre(out, shape, 0, s1, false)) break;
        const along = colsFull ? cols : 1;
        vec.push(colsFull ? 1 : 0);
        rs.push(rowsFull ? along : 0);
        bs.push(batchFull ? (rowsFull ? rows : 1) * along : 0);
      }
      if (rs.length === shapes.length) best = { batches, rows, cols, rs, vec, bs };
    }
  return best;
}

export function allFloat32(ins: readonly Buf[]): boolean {
  for (const b of ins) if (!(b.data instanceof Float32Array)) return false;
  return true;
}

export class WasmKernels {
  readonly fns: WasmFn[];
  private f32: Float32Array;
  private top = CONTROL_BYTES;
  private spawn: SpawnThread | null = null;
  private wanted = 1;
  private threadPool: ThreadPool | null = null;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly module: WebAssembly.Module,
    readonly shared: boolean,
  ) {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.fns = WASM_EXPORTS.map((name) => instance.exports[name] as WasmFn);
    this.f32 = new Float32Array(memory.buffer);
  }

  useThreads(spawn: SpawnThread, count: number, eager = false): boolean {
    if (!this.shared || count < 2 || !canBlock()) return false;
    this.spawn = spawn;
    this.wanted = Math.min(count, MAX_THREADS);
    if (eager) this.threads();
    return true;
  }

  pool(): ThreadPool | null {
    return this.threadPool;
  }

  /** How many threads may take part in a job now (1 + ready workers); spawns them on first need. */
  threads(): number {
    if (this.wanted < 2 || !this.spawn) return 1;
    this.threadPool ??= new ThreadPool(this.memory, this.module, this.spawn, this.wanted - 1);
    return 1 + this.threadPool.ready();
  }

  run(jobs: Job[]): void {
    if (jobs.length === 1) this.fns[jobs[0].fn](...jobs[0].args);
    else this.threadPool!.run(this.fns, jobs);
  }

  reset(): void {
    this.top = CONTROL_BYTES;
  }

  /** Reserves `bytes` (rounded up to 16, so vector loops may run over a tail) and returns the byte offset, or -1. */
  alloc(bytes: number): number {
    const off = this.top;
    const end = off + ((bytes + 15) & ~15);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      if (have / 65536 + pages > MAX_PAGES) return -1;
      try {
        this.memory.grow(pages);
      } catch {
        return -1;
      }
    }
    this.top = end;
    return off;
  }

  view(): Float32Array {
    // Growing detaches a plain memory's buffer and gives a shared one a longer successor: look again.
    if (this.f32.byteLength !== this.memory.buffer.byteLength) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  put(data: TypedArray): number {
    const off = this.alloc(data.length * 4);
    if (off >= 0) this.view().set(data, off >> 2);
    return off;
  }

  /** Copies integer indices in (an Int32Array view: a Float32Array one would convert them). */
  putIndices(idx: Int32Array): number {
    const off = this.alloc(idx.length * 4);
    if (off >= 0) new Int32Array(this.memory.buffer, off, idx.length).set(idx);
    return off;
  }

  take(off: number, n: number): Float32Array {
    // new + set, not slice: V8 copies out of a shared buffer element by element in slice. The
    // output may be a buffer the backward pass recycled (recycle.ts): set overwrites all of it.
    const out = new Float32Array(outputBuffer(n * 4, newBuffer), 0, n);
    out.set(this.view().subarray(off >> 2, (off >> 2) + n));
    return out;
  }
}

const newBuffer = (bytes: number): ArrayBuffer => new ArrayBuffer(bytes);

export function createWasmKernels(): WasmKernels | null {
  if (typeof WebAssembly === "undefined" || typeof atob === "undefined") return null;
  // A shared memory needs SharedArrayBuffer (in browsers: a cross-origin isolated page).
  for (const shared of [true, false]) {
    if (shared && typeof SharedArrayBuffer === "undefined") continue;
    try {
      const bytes = decode(shared ? WASM_SHARED : WASM_PLAIN);
      if (!WebAssembly.validate(bytes)) continue;
      const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
      return new WasmKernels(memory, new WebAssembly.Module(bytes), shared);
    } catch {
      // no SIMD, or no shared memory here: try the next variant
    }
  }
  return null;
}

const ref = <P extends Prim>(p: P): Kernel<P> => PRIMS[p].kernel as Kernel<P>;

/**
 * Binary ops and `where`: the 2-D broadcast view, or a batch of them (view3d: a bias over channels), split
 * by batches, else by rows (or by columns of a single row), over threads.
 */
function broadcastKernel<P extends Prim>(w: WasmKernels, prim: P, fn: number): Kernel<P> {
  const fallback = ref(prim);
  return (ins, p, out) => {
    const n = sizeOf(out.shape);
    if (n < MIN_ELEMENTS || out.dtype !== "float32" || !allFloat32(ins)) return fallback(ins, p, out);
    const v = view3d(
      out.shape,
      ins.map((b) => b.shape),
    );
    if (!v) return fallback(ins, p, out);
    w.reset();
    const ptrs = ins.map((b) => w.put(b.data));
    const o = w.alloc(n * 4);
    if (o < 0 || ptrs.includes(-1)) return fallback(ins, p, out);
    let t = n >= PAR_ELEMENTS ? w.threads() : 1;
    let jobs: Job[];
    if (v.batches > 1) {
      jobs = splitJobs(v.batches, Math.min(t, v.batches), 1, (a, b) => {
        const args: number[] = [];
        for (let k = 0; k < ins.length; k++) args.push(ptrs[k] + 4 * a * v.bs[k], v.rs[k], v.vec[k], v.bs[k]);
        args.push(o + 4 * a * v.rows * v.cols, v.rows, v.cols, b - a);
        return { fn, args };
      });
    } else {
      if (v.rows < t && v.rows !== 1) t = 1; // a few long rows: not worth splitting each
      const byRows = v.rows >= t;
      jobs = splitJobs(byRows ? v.rows : v.cols, t, byRows ? 1 : 4, (a, b) => {
        const args: number[] = [];
        for (let k = 0; k < ins.length; k++) {
          const skip = byRows ? a * v.rs[k] : a * v.vec[k];
          args.push(ptrs[k] + 4 * skip, v.rs[k], v.vec[k], 0);
        }
        if (byRows) args.push(o + 4 * a * v.cols, b - a, v.cols, 1);
        else args.push(o + 4 * a, 1, b - a, 1); // one row split by columns: each piece a row of its own width
        return { fn, args };
      });
    }
    w.run(jobs);
    return w.take(o, n);
  };
}

function unaryKernel<P extends Prim>(w: WasmKernels, prim: P, fn: number): Kernel<P> {
  const fallback = ref(prim);
  return (ins, p, out) => {
    const x = ins[0].data;
    const n = x.length;
    if (n < MIN_ELEMENTS || out.dtype !== "float32" || !(x instanceof Float32Array)) return fallback(ins, p, out);
    w.reset();
    const xo = w.put(x);
    const o = w.alloc(n * 4);
    if (xo < 0 || o < 0) return fallback(ins, p, out);
    const t = n >= PAR_ELEMENTS ? w.threads() : 1;
    w.run(splitJobs(n, t, 4, (a, b) => ({ fn, args: [xo + 4 * a, o + 4 * a, b - a] })));
    return w.take(o, n);
  };
}

function sumKernel(w: WasmKernels): Kernel<"sum"> {
  const fallback = ref("sum");
  const rowsFn = fnIndex("sum_rows"),
    colsFn = fnIndex("sum_cols");
  const kernel: Kernel<"sum"> = (ins, p, out) => {
    const x = ins[0];
    const blocks = contiguous(x.shape, p.axes);
    if (!blocks && p.axes.length > 1 && x.data.length >= MIN_ELEMENTS && out.dtype === "float32" && x.data instanceof Float32Array) {
      // Axes in several runs (a convolution's bias gradient: batch and pixels around the channels): the
      // last run first, then the rest of the axes on its float32 result (one rounding more than the
      // reference's one float64 pass; the walk it would take instead is ten times slower).
      let first = p.axes.length - 1;
      while (first > 0 && p.axes[first - 1] === p.axes[first] - 1) first--;
      const last = p.axes.slice(first);
      const partShape = x.shape.map((d, i) => (last.includes(i) ? 1 : d));
      const part = kernel(ins, { axes: last, keepdims: true }, { shape: partShape, dtype: "float32" });
      return kernel([{ data: part, shape: partShape }], { axes: p.axes.slice(0, first), keepdims: p.keepdims }, out);
    }
    if (!blocks || blocks[1] === 0 || x.data.length < MIN_ELEMENTS || out.dtype !== "float32" || !(x.data instanceof Float32Array))
      return fallback(ins, p, out);
    const [outer, mid, inner] = blocks;
    w.reset();
    const xo = w.put(x.data);
    const o = w.alloc(outer * inner * 4);
    const acc = inner > 1 ? w.alloc(inner * 8) : 0;
    if (xo < 0 || o < 0 || acc < 0) return fallback(ins, p, out);
    if (inner === 1) w.fns[rowsFn](xo, o, outer, mid);
    else for (let a = 0; a < outer; a++) w.fns[colsFn](xo + 4 * a * mid * inner, o + 4 * a * inner, acc, mid, inner);
    return w.take(o, outer * inner);
  };
  return kernel;
}

function maxKernel(w: WasmKernels): Kernel<"max"> {
  const fallback = ref("max");
  const fn = fnIndex("max_rows");
  return (ins, p, out) => {
    const x = ins[0];
    const blocks = contiguous(x.shape, p.axes);
    if (!blocks || blocks[2] !== 1 || blocks[1] === 0 || x.data.length < MIN_ELEMENTS || out.dtype !== "float32" || !(x.data instanceof Float32Array))
      return fallback(ins, p, out);
    const [outer, mid] = blocks;
    w.reset();
    const xo = w.put(x.data);
    const o = w.alloc(outer * 4);
    if (xo < 0 || o < 0) return fallback(ins, p, out);
    w.fns[fn](xo, o, outer, mid);
    return w.take(o, outer);
  };
}

/**
 * im2col (unfold) or col2im (fold) on float32, whole (n, c) planes to a job, split over threads when
 * large; float64, empty and small work go to `fallback`.
 */
function windowKernel<P extends "unfold" | "fold">(
  w: WasmKernels,
  prim: P,
  geometryOf: (shape: Shape, p: ParamMap[P]) => Int32Array,
  fallback: Kernel<P>,
): Kernel<P> {
  const isUnfold = prim === "unfold";
  const fn = fnIndex(isUnfold ? "unfold_planes" : "fold_planes");
  return (ins, p, out) => {
    const x = ins[0].data;
    const n = sizeOf(out.shape);
    const g = geometryOf(ins[0].shape, p);
    if (x.length + n < MIN_ELEMENTS || n === 0 || x.length === 0 || out.dtype !== "float32" || !(x instanceof Float32Array) || !usableGeometry(g))
      return fallback(ins, p, out);
    w.reset();
    const xo = w.put(x);
    const o = w.alloc(n * 4);
    if (xo < 0 || o < 0) return fallback(ins, p, out);
    const planes = g[0] * g[1];
    const image = g[2] * g[3],
      cols = g[4] * g[5] * g[12] * g[13];
    const [from, to] = isUnfold ? [image, cols] : [cols, image];
    const t = x.length + n >= PAR_ELEMENTS ? Math.min(w.threads(), planes) : 1;
    const rest = [...g.subarray(2)];
    w.run(splitJobs(planes, t, 1, (a, b) => ({ fn, args: [xo + 4 * a * from, o + 4 * a * to, b - a, ...rest] })));
    return w.take(o, n);
  };
}

/** The wasm unfold and fold kernels over `fallbacks` (the backend's are the reference kernels). */
export function wasmWindowKernels(
  w: WasmKernels,
  fallbacks: { unfold: Kernel<"unfold">; fold: Kernel<"fold"> },
): { unfold: Kernel<"unfold">; fold: Kernel<"fold"> } {
  return { unfold: windowKernel(w, "unfold", unfoldGeometry, fallbacks.unfold), fold: windowKernel(w, "fold", foldGeometry, fallbacks.fold) };
}

/** C = A B: B packed into 8-column panels once, panels and then rows of C (whole micro-tiles) split over threads. */
function wasmGemm(w: WasmKernels): Gemm {
  const pack = fnIndex("pack_b"),
    rows = fnIndex("gemm_rows");
  return (A, B, C, m, n, k, ta, tb) => {
    if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) || m * n * k < 4096)
      return referenceGemm(A, B, C, m, n, k, ta, tb);
    const MR = WASM_GEMM_MR;
    const mp = Math.ceil(m / MR) * MR;
    const np = (n + 7) & ~7;
    w.reset();
    const a = w.alloc(mp * k * 4),
      b = w.alloc(k * n * 4),
      bp = w.alloc(np * k * 4),
      c = w.alloc(mp * np * 4);
    if (a < 0 || b < 0 || bp < 0 || c < 0) return referenceGemm(A, B, C, m, n, k, false, false);
    const f = w.view();
    // Operands go in as they are stored: the kernels read either layout through strides. A's rows are
    // zero-padded up to a whole micro-tile (as more rows, or as more columns of A stored transposed).
    if (!ta) {
      f.set(A, a >> 2);
      f.fill(0, (a >> 2) + m * k, (a >> 2) + mp * k);
    } else {
      for (let p = 0; p < k; p++) {
        f.set(A.subarray(p * m, (p + 1) * m), (a >> 2) + p * mp);
        f.fill(0, (a >> 2) + p * mp + m, (a >> 2) + (p + 1) * mp);
      }
    }
    const [ars, acs] = ta ? [4, 4 * mp] : [4 * k, 4];
    f.set(B, b >> 2);
    const t = 2 * m * n * k >= PAR_FLOPS ? Math.min(w.threads(), mp / MR) : 1;
    // Panels of B packed side by side by the threads (a 784x256 weight took 0.4 ms on one), then rows of C.
    w.run(splitJobs(np, t, 8, (q0, q1) => ({ fn: pack, args: [b, bp, k, n, tb ? 1 : n, tb ? k : 1, q0, q1] })));
    w.run(splitJobs(mp, t, MR, (i0, i1) => ({ fn: rows, args: [a, bp, c, i0, i1, np, k, ars, acs] })));
    const g = w.view();
    if (np === n) C.set(g.subarray(c >> 2, (c >> 2) + m * n));
    else for (let i = 0; i < m; i++) C.set(g.subarray((c >> 2) + i * np, (c >> 2) + i * np + n), i * n);
  };
}

/**
 * Batched products where each operand is one matrix for every batch or one per batch (a convolution's
 * weight against each image's columns, and its gradients): the operands copied in once, every product
 * packed and computed inside the module (gemm_batch), ranges of products on threads, each with a packing
 * buffer of its own. Other batches, dtypes and small work go through `perProduct`.
 */
function wasmBatchedMatmul(w: WasmKernels): Kernel<"matmul"> {
  const perProduct = batchedMatmul(wasmGemm(w));
  const fn = fnIndex("gemm_batch");
  return (ins, p, out) => {
    const [x, y] = ins;
    const X = x.data,
      Y = y.data;
    const batches = sizeOf(out.shape) === 0 ? 0 : sizeOf(out.shape.slice(0, -2));
    const bx = sizeOf(x.shape.slice(0, -2)),
      by = sizeOf(y.shape.slice(0, -2));
    const ta = p.transposeX === true,
      tb = p.transposeY === true;
    const m = out.shape[out.shape.length - 2],
      n = out.shape[out.shape.length - 1];
    const k = x.shape[x.shape.length - (ta ? 2 : 1)];
    const shared = (bx === 1 || bx === batches) && (by === 1 || by === batches);
    if (
      batches < 2 ||
      !shared ||
      k === 0 ||
      !(X instanceof Float32Array && Y instanceof Float32Array) ||
      out.dtype !== "float32" ||
      m * n * k * batches < 1 << 16
    )
      return perProduct(ins, p, out);
    const MR = WASM_GEMM_MR;
    const mp = Math.ceil(m / MR) * MR;
    const np = (n + 7) & ~7;
    const t = 2 * m * n * k * batches >= PAR_FLOPS ? Math.min(w.threads(), batches) : 1;
    w.reset();
    const a = w.alloc(bx * mp * k * 4),
      b = w.alloc(by * k * n * 4),
      bp = w.alloc(t * np * k * 4),
      c = w.alloc(batches * mp * np * 4);
    if (a < 0 || b < 0 || bp < 0 || c < 0) return perProduct(ins, p, out);
    const f = w.view();
    // Each A as wasmGemm stores it: rows padded to a whole micro-tile (as more columns when stored transposed).
    for (let i = 0; i < bx; i++) {
      const src = X.subarray(i * m * k, (i + 1) * m * k);
      const at = (a >> 2) + i * mp * k;
      if (!ta) {
        f.set(src, at);
        f.fill(0, at + m * k, at + mp * k);
      } else if (mp === m) f.set(src, at);
      else
        for (let q = 0; q < k; q++) {
          f.set(src.subarray(q * m, (q + 1) * m), at + q * mp);
          f.fill(0, at + q * mp + m, at + (q + 1) * mp);
        }
    }
    f.set(Y.subarray(0, by * k * n), b >> 2);
    const [ars, acs] = ta ? [4, 4 * mp] : [4 * k, 4];
    const sa = bx === 1 ? 0 : mp * k * 4,
      sb = by === 1 ? 0 : k * n * 4,
      sc = mp * np * 4;
    let job = 0; // each job packs into a buffer of its own
    const jobs = splitJobs(batches, t, 1, (i0, i1) => ({
      fn,
      args: [a + i0 * sa, sa, b + i0 * sb, sb, bp + job++ * np * k * 4, c + i0 * sc, sc, i1 - i0, k, n, np, mp, tb ? 1 : n, tb ? k : 1, ars, acs],
    }));
    w.run(jobs);
    const g = w.view();
    const o = new Float32Array(outputBuffer(batches * m * n * 4, newBuffer), 0, batches * m * n);
    if (np === n && mp === m) o.set(g.subarray(c >> 2, (c >> 2) + batches * m * n));
    else
      for (let i = 0; i < batches; i++)
        for (let r = 0; r < m; r++) {
          const from = (c >> 2) + i * mp * np + r * np;
          o.set(g.subarray(from, from + n), (i * m + r) * n);
        }
    return o;
  };
}

const BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "gt", "ge", "eq"] as const;
const UNARY = ["neg", "abs", "sqrt", "reciprocal", "exp", "log", "sigmoid", "tanh"] as const;

function kernelsOf(w: WasmKernels): KernelOverrides {
  const k: { -readonly [P in Prim]?: Kernel<P> } = {
    where: broadcastKernel(w, "where", fnIndex("where_2d")),
    sum: sumKernel(w),
    max: maxKernel(w),
    matmul: wasmBatchedMatmul(w),
    ...wasmWindowKernels(w, { unfold: ref("unfold"), fold: ref("fold") }),
    ...wasmIndexingKernels(w),
  };
  const set = <P extends Prim>(prim: P, kernel: Kernel<P>) => {
    (k as Record<P, Kernel<P>>)[prim] = kernel;
  };
  for (const prim of BINARY) set(prim, broadcastKernel(w, prim, fnIndex(`${prim}_2d`)));
  for (const prim of UNARY) set(prim, unaryKernel(w, prim, fnIndex(prim)));
  return k;
}

let singleton: WasmBackend | null | undefined;

/** The backend (one per thread), or null where WebAssembly or its SIMD instructions are missing. */
export function createWasmBackend(): WasmBackend | null {
  if (singleton !== undefined) return singleton;
  const w = createWasmKernels();
  singleton = w && {
    name: "wasm",
    kernels: kernelsOf(w),
    smallestWork: 16,
    shared: w.shared,
    useThreads: (spawn, count, eager) => w.useThreads(spawn, count, eager),
    pool: () => w.pool(),
  };
  return singleton;
}
