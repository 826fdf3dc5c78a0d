/**
 * The wasm backend's argmax, gather and scatterAdd along one axis (max pooling's forward and backward:
 * argmax over each window's taps, gather of the maxima, scatterAdd of their gradient), float32, in the
 * reference kernels' order so that results are identical. Float64, other output dtypes and small work
 * take the reference kernels.
 */
import type { Kernel, Prim } from "../../prim.js";
import { PRIMS } from "../../primitives.js";
import { sizeOf, type Shape } from "../../shape.js";
import type { WasmKernels } from "./backend.js";
import { MIN_ELEMENTS, PAR_ELEMENTS, splitJobs } from "./jobs.js";
import { fnIndex } from "./threads.js";

const ref = <P extends Prim>(p: P): Kernel<P> => PRIMS[p].kernel as Kernel<P>;

/** (outer, n, inner) around `axis`. */
const blocks = (shape: Shape, axis: number) => [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))] as const;

export function wasmIndexingKernels(w: WasmKernels): { argmax: Kernel<"argmax">; gather: Kernel<"gather">; scatterAdd: Kernel<"scatterAdd"> } {
  const argmaxFn = fnIndex("argmax_f32"),
    gatherFn = fnIndex("gather_f32"),
    scatterFn = fnIndex("scatter_add_f32"),
    checkFn = fnIndex("check_indices");

  /** Copies the indices in and checks them against the axis length n (the loops inside trust them); -1 when memory ran out. */
  const indicesIn = (prim: string, idx: Int32Array, n: number): number => {
    const at = w.putIndices(idx);
    if (at < 0) return -1;
    const bad = w.fns[checkFn](at, idx.length, n) as number;
    if (bad >= 0) throw new RangeError(`${prim}: index ${idx[bad]} at position ${bad} is out of range for an axis of length ${n}`);
    return at;
  };

  const argmax: Kernel<"argmax"> = (ins, p, out) => {
    const x = ins[0].data;
    const [outer, n, inner] = blocks(ins[0].shape, p.axis);
    if (n === 0 || x.length < MIN_ELEMENTS || out.dtype !== "float32" || !(x instanceof Float32Array)) return ref("argmax")(ins, p, out);
    w.reset();
    const xo = w.put(x);
    const o = w.alloc(outer * inner * 4);
    if (xo < 0 || o < 0) return ref("argmax")(ins, p, out);
    const t = x.length >= PAR_ELEMENTS ? Math.min(w.threads(), outer) : 1;
    w.run(splitJobs(outer, t, 1, (a, b) => ({ fn: argmaxFn, args: [xo + 4 * a * n * inner, o + 4 * a * inner, b - a, n, inner] })));
    return w.take(o, outer * inner);
  };

  const gather: Kernel<"gather"> = (ins, p, out) => {
    const x = ins[0].data;
    const [outer, n, inner] = blocks(ins[0].shape, p.axis);
    const m = p.indices.length;
    const size = outer * m * inner;
    if (size === 0 || x.length + size < MIN_ELEMENTS || out.dtype !== "float32" || !(x instanceof Float32Array)) return ref("gather")(ins, p, out);
    w.reset();
    const xo = w.put(x);
    const idx = indicesIn("gather", p.indices, n);
    const o = w.alloc(size * 4);
    if (xo < 0 || idx < 0 || o < 0) return ref("gather")(ins, p, out);
    // Every output row is written once: threads take ranges of the indices.
    const t = size >= PAR_ELEMENTS ? Math.min(w.threads(), m) : 1;
    w.run(splitJobs(m, t, 1, (k0, k1) => ({ fn: gatherFn, args: [xo, o, idx, outer, n, m, inner, k0, k1] })));
    return w.take(o, size);
  };

  const scatterAdd: Kernel<"scatterAdd"> = (ins, p, out) => {
    const x = ins[0].data;
    const [outer, n, inner] = blocks(out.shape, p.axis);
    const m = p.indices.length;
    const size = outer * n * inner;
    if (size === 0 || x.length + size < MIN_ELEMENTS || out.dtype !== "float32" || !(x instanceof Float32Array)) return ref("scatterAdd")(ins, p, out);
    w.reset();
    const xo = w.put(x);
    const idx = indicesIn("scatterAdd", p.indices, n);
    const o = w.alloc(size * 4);
    if (xo < 0 || idx < 0 || o < 0) return ref("scatterAdd")(ins, p, out);
    // Repeated indices add into one row in order: threads take whole blocks of the outer axes only.
    const t = size >= PAR_ELEMENTS ? Math.min(w.threads(), outer) : 1;
    w.run(splitJobs(outer, t, 1, (a, b) => ({ fn: scatterFn, args: [xo + 4 * a * m * inner, o + 4 * a * n * inner, idx, b - a, n, m, inner] })));
    return w.take(o, size);
  };

  return { argmax, gather, scatterAdd };
}
