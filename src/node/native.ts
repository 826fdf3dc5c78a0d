/**
 * The native backend (Node only): the C++ kernels in native/gemm.cc, built at install by node-gyp when
 * a compiler is there. `useNativeBackend()` registers and selects it, or leaves the JS backend in place.
 */
import { createRequire } from "node:module";
import { registerBackend, setBackend } from "../core/backend.js";
import type { TypedArray } from "../core/dtype.js";
import { batchedMatmul, referenceGemm, type Gemm } from "../core/kernels/matmul.js";

interface Addon {
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, threads?: number): void;
  isa(): string;
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

/** Registers the native backend and makes it the active one; returns its description, or null. */
export function useNativeBackend(): { isa: string; threads: number } | null {
  const a = nativeAddon();
  if (!a) return null;
  registerBackend({ name: "native", kernels: { matmul: batchedMatmul(nativeGemm(a)) } });
  setBackend("native");
  return { isa: a.isa(), threads: a.threads() };
}
