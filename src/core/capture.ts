/**
 * Capturing a computation as a dataflow graph, for exporters (the ONNX training step): every primitive
 * applied to a captured tensor is recorded, whatever the grad mode, along with the primitives
 * autodiff never records (comparisons, argmax: no VJP) and through `detach` (an alias here). Reverse
 * mode's graph is not enough for that: logSoftmax takes its max under noGrad on a detached input, and
 * relu's mask comes from a comparison, so both would be frozen into constants of the capture batch.
 * Tensors that no captured tensor flows into are constants of the computation.
 */
import type { ParamMap, Prim } from "./prim.js";
import type { Tensor } from "./tensor.js";

/** One recorded application of a primitive. */
export interface CapturedNode {
  readonly prim: Prim;
  readonly inputs: readonly Tensor[];
  readonly params: ParamMap[Prim];
}

/** What a capture found: the node that made each captured tensor (sources have none). */
export interface Capture {
  /** Tensors the computation starts from (graph inputs), and every tensor computed from them. */
  readonly captured: Set<Tensor>;
  readonly nodes: Map<Tensor, CapturedNode>;
  /** `detach(x)` results, mapped to x. */
  readonly aliases: Map<Tensor, Tensor>;
}

/** The capture in progress (null almost always: bind checks it once per op). */
export let activeCapture: Capture | null = null;

/** Called by bind for every primitive applied: records it if any input is captured. */
export function recordBind(prim: Prim, inputs: readonly Tensor[], params: ParamMap[Prim], out: Tensor): void {
  const c = activeCapture!;
  if (!inputs.some((t) => c.captured.has(t))) return;
  c.captured.add(out);
  c.nodes.set(out, { prim, inputs: [...inputs], params });
}

/** Called by detach: the detached tensor stands for the same value in the captured graph. */
export function recordAlias(from: Tensor, to: Tensor): void {
  const c = activeCapture!;
  if (!c.captured.has(from)) return;
  c.captured.add(to);
  c.aliases.set(to, from);
}

/**
 * Runs `fn` recording every primitive applied to `sources` or to what is computed from them. Not
 * reentrant: a capture inside a capture is an error.
 */
export function capture<T>(sources: readonly Tensor[], fn: () => T): { result: T; capture: Capture } {
  if (activeCapture) throw new Error("capture: a capture is already running");
  const c: Capture = { captured: new Set(sources), nodes: new Map(), aliases: new Map() };
  activeCapture = c;
  try {
    return { result: fn(), capture: c };
  } finally {
    activeCapture = null;
  }
}
