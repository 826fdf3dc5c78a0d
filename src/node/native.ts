/**
 * The native backend (Node only): the C++ kernels in native/gemm.cc, built at install by node-gyp when
 * a compiler is there. `useNativeBackend()` registers and selects it, or leaves the JS backend in place.
 */
import { createRequire } from "node:module";
import { registerBackend, setBackend } from "../core/backend.js";
import { createWasmBackend } from "../core/backends/wasm.js";
import type { TypedArray } from "../core/dtype.js";
import { batchedMatmul, referenceGemm, type Gemm } from "../core/kernels/matmul.js";
import { transposeKernel } from "../core/kernels/layout.js";
import type { Kernel } from "../core/prim.js";

interface Addon {
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, threads?: number): void;
  isa(): string;
  transpose2d(src: Float32Array, dst: Float32Array, batches: number, rows: number, cols: number): void;
  threads(): number;
}

let addon: Addon | null | undefined;

/** The compiled addon, or null where it was not built. */
export function nativeAddon(): Addon | null {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)("../../native/build/Release/backprop_native.node") as Addon;
  } catch {
    addon = null;
  }
  return addon;
}

/** float32 products go to the native GEMM; anything else to the reference loops. */
function nativeGemm(a: Addon): Gemm {
  return (A: TypedArray, B: TypedArray, C: TypedArray, m, n, k) => {
    if (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) a.sgemm(A, B, C, m, n, k);
    else referenceGemm(A, B, C, m, n, k);
  };
}

/** Matrix transposes of float32 batches (the matmul VJP's x^T and W^T) natively; other permutations as before. */
function nativeTranspose(a: Addon): Kernel<"transpose"> {
  return (ins, p, out) => {
    const x = ins[0];
    const nd = p.perm.length;
    const swap = nd >= 2 && p.perm[nd - 2] === nd - 1 && p.perm[nd - 1] === nd - 2 && p.perm.slice(0, -2).every((v, i) => v === i);
    if (!swap || !(x.data instanceof Float32Array) || out.dtype !== "float32") return transposeKernel(ins, p, out);
    const rows = x.shape[nd - 2];
    const cols = x.shape[nd - 1];
    const o = new Float32Array(x.data.length);
    a.transpose2d(x.data, o, rows * cols === 0 ? 0 : x.data.length / (rows * cols), rows, cols);
    return o;
  };
}

/** Registers the native backend and makes it the active one; returns its description, or null. */
export function useNativeBackend(): { isa: string; threads: number } | null {
  const a = nativeAddon();
  if (!a) return null;
  // Products and transposes in C++; the elementwise and reduction kernels are the wasm backend's.
  const wasm = createWasmBackend()?.kernels ?? {};
  registerBackend({ name: "native", kernels: { ...wasm, matmul: batchedMatmul(nativeGemm(a)), transpose: nativeTranspose(a) } });
  setBackend("native");
  return { isa: a.isa(), threads: a.threads() };
}
