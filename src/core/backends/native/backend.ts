/**
 * The native backend: the C++ kernels in native/ (gemm.cc, elementwise.cc), built at install by node-gyp
 * when a compiler is there. This file wraps a loaded addon as a backend and uses no Node API itself; the
 * Node entry (src/node/native.ts) loads the addon and hands it here.
 */
import type { Backend, KernelOverrides, UpdateKernels } from "../../backend.js";
import { allFloat32, view3d, type View3d } from "../wasm/backend.js";
import { foldGeometry, unfoldGeometry, usableGeometry } from "../window.js";
import { PRIMS } from "../../primitives.js";
import { sizeOf, type Shape } from "../../shape.js";
import { contiguous } from "../js/reduce.js";
import { allocate, type TypedArray } from "../../dtype.js";
import { batchedMatmul, referenceGemm, type Gemm } from "../js/matmul.js";
import { transposeKernel } from "../js/layout.js";
import { outputBuffer } from "../../recycle.js";
import type { Buf, Kernel, ParamMap, Prim } from "../../prim.js";

/** The compiled addon's methods (native/binding.cc). */
export interface Addon {
  /**
   * c[i] = op(a[i]) op(b[i]) for i < batches: a[i] starts strideA elements after a[i-1] (0: one a for
   * all), b[i] likewise, c[i] at i m n; small products go to the pool's threads whole.
   */
  sgemmBatched(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batches: number,
    strideA: number,
    strideB: number,
    m: number,
    n: number,
    k: number,
    threads?: number,
    transposeA?: boolean,
    transposeB?: boolean,
  ): void;
  /** c = op(a) op(b), op(a) m x k (a stored k x m when transposeA), op(b) k x n (b stored n x k when transposeB). */
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, threads?: number, transposeA?: boolean, transposeB?: boolean): void;
  isa(): string;
  transpose2d(src: Float32Array, dst: Float32Array, batches: number, rows: number, cols: number): void;
  threads(): number;
  /** [jobs shared with pool threads, pool threads that joined one, jobs that woke a sleeping thread]. */
  poolStats(): [number, number, number];
  map(op: number, x: Float32Array, out: Float32Array, n: number): void;
  reduce(isMax: boolean, x: Float32Array, out: Float32Array, outer: number, mid: number, inner: number): void;
  /** The same over any axes: x of shape dims, reduced[i] = 1 for the axes reduced, out holding the kept ones in order. */
  reduceAxes(isMax: boolean, x: Float32Array, out: Float32Array, dims: Int32Array, reduced: Int32Array): void;
  arithmetic(
    op: number,
    a: Float32Array,
    rsA: number,
    vecA: number,
    b: Float32Array,
    rsB: number,
    vecB: number,
    out: Float32Array,
    rows: number,
    cols: number,
    batches?: number,
    bsA?: number,
    bsB?: number,
  ): void;
  select(
    c: Float32Array,
    rsC: number,
    vecC: number,
    x: Float32Array,
    rsX: number,
    vecX: number,
    y: Float32Array,
    rsY: number,
    vecY: number,
    out: Float32Array,
    rows: number,
    cols: number,
    batches?: number,
    bsC?: number,
    bsX?: number,
    bsY?: number,
  ): void;
  sgd: UpdateKernels["sgd"];
  adam: UpdateKernels["adam"];
  /** Asks for transparent huge pages under an array not written yet (Linux; elsewhere nothing). */
  adviseHuge(x: Float32Array): void;
  /** The primitives `map` and `arithmetic` compute, each at its op code (native/opcodes.h: the one list). */
  opNames(): { map: string[]; arithmetic: string[] };
  /**
   * cols (n, c*kh*kw, ho*wo) = im2col of x (n, c, h, w), and fold its adjoint (native/conv.cc); geometry
   * [n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo] (src/core/backends/window.ts); both arrays
   * Float32Arrays or both Float64Arrays.
   */
  unfold(x: TypedArray, cols: TypedArray, geometry: Int32Array): void;
  fold(cols: TypedArray, x: TypedArray, geometry: Int32Array): void;
}

/** From this many elements (4 MB), outputs ask for huge pages. */
const HUGE_FROM = 1 << 20;

/** A Float32Array of n elements for a kernel that writes every one of them. */
type Uninitialized = (n: number) => Float32Array;

/**
 * Output arrays: a buffer the backward pass recycled, or a new one from `fresh` (the Node entry's is not
 * zero-filled: zeroing cost more than the kernels that filled it, ~140 us against ~15-30 us for a
 * 784x256 weight gradient). The addon keeps memory the garbage collector frees for reuse (tuneMalloc in
 * binding.cc), and from 4 MB asks for huge pages (a fresh 40 MB output: 10,000 page faults fewer).
 */
function outputs(a: Addon, fresh: (bytes: number) => ArrayBuffer): Uninitialized {
  const make = (bytes: number): ArrayBuffer => {
    const b = fresh(bytes);
    if (bytes >= HUGE_FROM * 4) a.adviseHuge(new Float32Array(b, 0, bytes >> 2));
    return b;
  };
  return (n) => new Float32Array(outputBuffer(n * 4, make), 0, n);
}

/** float32 products go to the native GEMM (which writes all of C and reads transposed operands in place); anything else to the reference loops. */
function nativeGemm(a: Addon): Gemm {
  return (A: TypedArray, B: TypedArray, C: TypedArray, m, n, k, ta, tb) => {
    if (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) a.sgemm(A, B, C, m, n, k, undefined, ta, tb);
    else referenceGemm(A, B, C, m, n, k, ta, tb);
  };
}

/**
 * Batched float32 products in one call when each operand is either one matrix for every batch or one
 * per batch (a convolution's weight against each image's columns, and its gradients): the addon hands
 * small products to its threads whole. Other batch broadcasts and dtypes go through `perProduct`.
 */
function nativeMatmul(a: Addon, uninitialized: Uninitialized): Kernel<"matmul"> {
  const perProduct = batchedMatmul(nativeGemm(a), (dtype, n) => (dtype === "float32" ? uninitialized(n) : allocate(dtype, n)));
  return (ins, p, out) => {
    const [x, y] = ins;
    const batches = sizeOf(out.shape) === 0 ? 0 : sizeOf(out.shape.slice(0, -2));
    const bx = sizeOf(x.shape.slice(0, -2)),
      by = sizeOf(y.shape.slice(0, -2));
    if (batches < 2 || !(x.data instanceof Float32Array && y.data instanceof Float32Array) || out.dtype !== "float32" || (bx !== 1 && bx !== batches) || (by !== 1 && by !== batches))
      return perProduct(ins, p, out);
    const ta = p.transposeX === true,
      tb = p.transposeY === true;
    const m = out.shape[out.shape.length - 2],
      n = out.shape[out.shape.length - 1];
    const k = x.shape[x.shape.length - (ta ? 2 : 1)];
    const o = uninitialized(batches * m * n);
    a.sgemmBatched(x.data, y.data, o, batches, bx === 1 ? 0 : m * k, by === 1 ? 0 : k * n, m, n, k, undefined, ta, tb);
    return o;
  };
}

/** Matrix transposes of float32 batches (the matmul VJP's x^T and W^T) natively; other permutations as before. */
function nativeTranspose(a: Addon, uninitialized: Uninitialized): Kernel<"transpose"> {
  return (ins, p, out) => {
    const x = ins[0];
    const nd = p.perm.length;
    const swap = nd >= 2 && p.perm[nd - 2] === nd - 1 && p.perm[nd - 1] === nd - 2 && p.perm.slice(0, -2).every((v, i) => v === i);
    if (!swap || !(x.data instanceof Float32Array) || out.dtype !== "float32") return transposeKernel(ins, p, out);
    const rows = x.shape[nd - 2];
    const cols = x.shape[nd - 1];
    const o = uninitialized(x.data.length);
    a.transpose2d(x.data, o, rows * cols === 0 ? 0 : x.data.length / (rows * cols), rows, cols);
    return o;
  };
}

/**
 * Binary ops and where, in place on the typed arrays (no copies in or out, unlike wasm), on the 2-D
 * broadcast layouts of the wasm kernels and batches of them (view3d: a bias over channels, a maximum
 * against its pooling windows); other layouts and dtypes go to `fallback`. `run` gets the view and the
 * output and calls the addon with each input's data, row stride and varies-along-the-row flag, then
 * the batch count and batch strides.
 */
function nativeBroadcast<P extends Prim>(
  uninitialized: Uninitialized,
  fallback: Kernel<P>,
  run: (ins: readonly Buf[], v: View3d, out: Float32Array) => void,
): Kernel<P> {
  return (ins, p, out) => {
    const n = sizeOf(out.shape);
    if (n < 64 || out.dtype !== "float32" || !allFloat32(ins)) return fallback(ins, p, out);
    const v = view3d(out.shape, ins.length === 2 ? shapesOf2(ins[0].shape, ins[1].shape) : ins.map((b) => b.shape));
    if (!v) return fallback(ins, p, out);
    const o = uninitialized(n);
    run(ins, v, o);
    return o;
  };
}

const SHAPES2: Shape[] = [[], []];
/** The two shapes of a binary op in a scratch array (view2d keeps nothing). */
function shapesOf2(a: Shape, b: Shape): Shape[] {
  SHAPES2[0] = a;
  SHAPES2[1] = b;
  return SHAPES2;
}

/**
 * sum and max in place, in the reference kernels' order (sums identical to theirs): over contiguous
 * axes as (outer, mid, inner) blocks, over any other set (a convolution's bias gradient sums the batch
 * and pixel axes around the channels) by a walk of the input.
 */
function nativeReduce<P extends "sum" | "max">(a: Addon, uninitialized: Uninitialized, prim: P, fallback: Kernel<P>): Kernel<P> {
  return (ins, p, out) => {
    const x = ins[0].data;
    if (out.dtype !== "float32" || !(x instanceof Float32Array) || p.axes.length === 0 || x.length === 0) return fallback(ins, p, out);
    const blocks = contiguous(ins[0].shape, p.axes);
    if (blocks) {
      const [outer, mid, inner] = blocks;
      const o = uninitialized(outer * inner);
      a.reduce(prim === "max", x, o, outer, mid, inner);
      return o;
    }
    const shape = ins[0].shape;
    const o = uninitialized(sizeOf(out.shape));
    a.reduceAxes(prim === "max", x, o, Int32Array.from(shape), Int32Array.from(shape, (_, i) => (p.axes.includes(i) ? 1 : 0)));
    return o;
  };
}

/** Unary maps in place on the typed arrays (exp, log, sigmoid, tanh vectorized with AVX2); `op` is the addon's code. */
function nativeMap<P extends Prim>(a: Addon, uninitialized: Uninitialized, op: number, fallback: Kernel<P>): Kernel<P> {
  return (ins, p, out) => {
    const x = ins[0].data;
    if (x.length < 64 || out.dtype !== "float32" || !(x instanceof Float32Array)) return fallback(ins, p, out);
    const o = uninitialized(x.length);
    a.map(op, x, o, x.length);
    return o;
  };
}

/** im2col or col2im in C++ on float32 and float64, zero-copy; empty outputs and geometries the addon refuses go to `fallback`. */
function nativeWindow<P extends "unfold" | "fold">(
  run: (x: TypedArray, o: TypedArray, g: Int32Array) => void,
  geometryOf: (shape: Shape, p: ParamMap[P]) => Int32Array,
  uninitialized: Uninitialized,
  fallback: Kernel<P>,
): Kernel<P> {
  return (ins, p, out) => {
    const x = ins[0].data;
    const n = sizeOf(out.shape);
    const g = geometryOf(ins[0].shape, p);
    if (n === 0 || x.length === 0 || (out.dtype === "float32") !== x instanceof Float32Array || !usableGeometry(g)) return fallback(ins, p, out);
    const o = x instanceof Float32Array ? uninitialized(n) : allocate("float64", n);
    run(x, o, g);
    return o;
  };
}

/** The native unfold and fold kernels over `fallbacks` (the backend's are the wasm or reference kernels). */
export function nativeWindowKernels(
  a: Addon,
  fallbacks: { unfold: Kernel<"unfold">; fold: Kernel<"fold"> },
  fresh: (bytes: number) => ArrayBuffer = (n) => new ArrayBuffer(n),
): { unfold: Kernel<"unfold">; fold: Kernel<"fold"> } {
  return windowKernels(a, outputs(a, fresh), fallbacks);
}

function windowKernels(a: Addon, uninitialized: Uninitialized, fallbacks: { unfold: Kernel<"unfold">; fold: Kernel<"fold"> }) {
  return {
    unfold: nativeWindow<"unfold">((x, o, g) => a.unfold(x, o, g), unfoldGeometry, uninitialized, fallbacks.unfold),
    fold: nativeWindow<"fold">((x, o, g) => a.fold(x, o, g), foldGeometry, uninitialized, fallbacks.fold),
  };
}

/**
 * The backend over a loaded addon: everything below in C++, and what these decline to `wasm` (the wasm
 * backend's kernels, or none) and then the reference kernels. `fresh` allocates output buffers.
 */
export function createNativeBackend(a: Addon, wasm: KernelOverrides, fresh: (bytes: number) => ArrayBuffer = (n) => new ArrayBuffer(n)): Backend {
  const uninitialized = outputs(a, fresh);
  const fallback = <P extends Prim>(prim: P): Kernel<P> => (wasm[prim] ?? PRIMS[prim].kernel) as Kernel<P>;
  // The elementwise kernels, keyed by the addon's own op lists: the code of each is its index there.
  const ops = a.opNames();
  const elementwise: { [P in Prim]?: Kernel<P> } = {};
  const put = <P extends Prim>(prim: P, kernel: Kernel<P>) => Object.assign(elementwise, { [prim]: kernel });
  ops.arithmetic.forEach((name, op) => {
    const prim = primitiveNamed(name, 2);
    put(
      prim,
      nativeBroadcast(uninitialized, fallback(prim), ([x, y], v, o) =>
        a.arithmetic(op, x.data as Float32Array, v.rs[0], v.vec[0], y.data as Float32Array, v.rs[1], v.vec[1], o, v.rows, v.cols, v.batches, v.bs[0], v.bs[1]),
      ),
    );
  });
  ops.map.forEach((name, op) => {
    const prim = primitiveNamed(name, 1);
    put(prim, nativeMap(a, uninitialized, op, fallback(prim)));
  });
  return {
    name: "native",
    smallestWork: 16,
    kernels: {
      ...wasm,
      ...elementwise,
      where: nativeBroadcast(uninitialized, (wasm.where ?? PRIMS.where.kernel) as Kernel<"where">, ([c, x, y], v, o) =>
        a.select(
          c.data as Float32Array,
          v.rs[0],
          v.vec[0],
          x.data as Float32Array,
          v.rs[1],
          v.vec[1],
          y.data as Float32Array,
          v.rs[2],
          v.vec[2],
          o,
          v.rows,
          v.cols,
          v.batches,
          v.bs[0],
          v.bs[1],
          v.bs[2],
        ),
      ),
      sum: nativeReduce(a, uninitialized, "sum", (wasm.sum ?? PRIMS.sum.kernel) as Kernel<"sum">),
      max: nativeReduce(a, uninitialized, "max", (wasm.max ?? PRIMS.max.kernel) as Kernel<"max">),
      matmul: nativeMatmul(a, uninitialized),
      transpose: nativeTranspose(a, uninitialized),
      ...windowKernels(a, uninitialized, { unfold: fallback("unfold"), fold: fallback("fold") }),
    },
    // Optimizer steps in C++ too (bit-identical to the JS loops).
    updates: { sgd: a.sgd, adam: a.adam },
  };
}

/** An elementwise primitive of `arity` named by the addon, or an error naming the mismatch (an addon built from other sources). */
function primitiveNamed(name: string, arity: number): Prim {
  const spec = Object.hasOwn(PRIMS, name) ? PRIMS[name as Prim] : undefined;
  if (!spec || spec.kind !== "elementwise" || spec.arity !== arity)
    throw new Error(`native addon: its op "${name}" is not an elementwise primitive of ${arity} argument${arity === 1 ? "" : "s"}`);
  return name as Prim;
}
