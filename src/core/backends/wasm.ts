/**
 * The WebAssembly SIMD backend (Node and browsers): matrix products run in wasm/sgemm.wat, assembled
 * at install. Operands are copied into the module's memory; float64 stays on the reference path.
 */
import type { Backend } from "../backend.js";
import { batchedMatmul, referenceGemm, type Gemm } from "../kernels/matmul.js";
import { WASM_BASE64 } from "./wasm-module.js";

type Sgemm = (a: number, b: number, c: number, m: number, n: number, k: number) => void;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The backend, or null where WebAssembly or its SIMD instructions are missing. */
export function createWasmBackend(): Backend | null {
  if (typeof WebAssembly === "undefined" || typeof atob === "undefined") return null;
  const bytes = decode(WASM_BASE64);
  if (!WebAssembly.validate(bytes)) return null;
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  } catch {
    return null;
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const sgemm = instance.exports.sgemm as Sgemm;
  const gemm: Gemm = (A, B, C, m, n, k) => {
    if (!(A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) || m * n * k < 4096) {
      return referenceGemm(A, B, C, m, n, k);
    }
    const mp = (m + 3) & ~3; // the kernel takes rows four at a time: pad A with zero rows
    const aOff = 0;
    const bOff = mp * k;
    const cOff = bOff + k * n;
    const bytesNeeded = 4 * (cOff + mp * n);
    if (memory.buffer.byteLength < bytesNeeded) {
      try {
        memory.grow(Math.ceil((bytesNeeded - memory.buffer.byteLength) / 65536));
      } catch {
        return referenceGemm(A, B, C, m, n, k); // past what one wasm memory can hold
      }
    }
    const f = new Float32Array(memory.buffer);
    f.set(A, aOff);
    f.fill(0, aOff + m * k, bOff);
    f.set(B, bOff);
    sgemm(4 * aOff, 4 * bOff, 4 * cOff, mp, n, k);
    C.set(f.subarray(cOff, cOff + m * n));
  };
  return { name: "wasm", kernels: { matmul: batchedMatmul(gemm) } };
}
