/**
 * Loads the native backend's addon (built at install by node-gyp when a compiler is there) and wraps it
 * with src/core/backends/native/backend.ts. `useNativeBackend()` registers and selects it, or leaves the
 * current backend in place where the addon was not built.
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { registerBackend, setBackend } from "../core/backend.js";
import { createNativeBackend, type Addon } from "../core/backends/native/backend.js";
import { createWasmBackend } from "../core/backends/wasm/backend.js";

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

/** A buffer of its own (offset 0, exactly `bytes` long), not zero-filled: every native kernel writes all of its output. */
const unzeroed = (bytes: number): ArrayBuffer => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;

/** Registers the native backend and makes it the active one; returns its description, or null. */
export function useNativeBackend(): { isa: string; threads: number } | null {
  const a = nativeAddon();
  if (!a) return null;
  registerBackend(createNativeBackend(a, createWasmBackend()?.kernels ?? {}, unzeroed));
  setBackend("native");
  return { isa: a.isa(), threads: a.threads() };
}
