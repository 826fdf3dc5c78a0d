/**
 * The backend boundary. A backend supplies faster kernels for any subset of the primitives; the rest
 * fall back to the reference kernels in the primitive table. Autodiff only ever calls `bind`, never a
 * backend directly, so a backend can be swapped without touching a gradient rule.
 */
import type { Kernel, Prim } from "./prim.js";

export type KernelOverrides = { readonly [P in Prim]?: Kernel<P> };

/**
 * In-place optimizer updates on float32 buffers (the formulas are in optim/optimizer.ts, whose JS loops
 * serve when a backend has none). Implementations compute in float64 and round each stored value to
 * float32 exactly as the JS loops do, so every backend takes bit-identical steps.
 */
export interface UpdateKernels {
  sgd(w: Float32Array, g: Float32Array, v: Float32Array | null, lr: number, momentum: number, weightDecay: number, nesterov: boolean, first: boolean): void;
  adam(
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    decoupled: boolean,
    c1: number,
    c2: number,
  ): void;
}

export interface Backend {
  readonly name: string;
  readonly kernels: KernelOverrides;
  readonly updates?: UpdateKernels;
  /**
   * Ops whose inputs and output all have at most this many elements go straight to the reference
   * kernels (a backend's copies and calls cost more than such work); unset: the backend sees every op.
   */
  readonly smallestWork?: number;
}

/** Plain JavaScript: every kernel is the table's reference kernel. */
export const jsBackend: Backend = { name: "js", kernels: {} };

const registry = new Map<string, Backend>([[jsBackend.name, jsBackend]]);
let active: Backend = jsBackend;

export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

export function setBackend(name: string): void {
  const b = registry.get(name);
  if (!b) throw new Error(`setBackend: unknown backend "${name}" (registered: ${[...registry.keys()].join(", ")})`);
  active = b;
}

export function getBackend(): Backend {
  return active;
}

export function listBackends(): string[] {
  return [...registry.keys()];
}
