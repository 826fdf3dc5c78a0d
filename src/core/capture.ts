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

/** Equal parameter values (numbers, strings, arrays, typed arrays, plain objects), compared by value. */
function sameParams(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (ArrayBuffer.isView(a) || Array.isArray(a)) {
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (!(ArrayBuffer.isView(b) || Array.isArray(b)) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameParams(x[i], y[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => sameParams((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Where two captures of one computation, run on different input values, differ: the first primitive
 * whose parameters or constant operands (tensors outside the capture) are not the same, or null when
 * the graphs agree. A difference means the computation took a value from its inputs into JavaScript
 * (indices computed in JavaScript from the values, a dropout mask drawn anew), which a static graph
 * recorded once would freeze.
 */
export function firstDifference(a: Capture, b: Capture): { index: number; prim: Prim; what: string } | null {
  const na = [...a.nodes.values()];
  const nb = [...b.nodes.values()];
  for (let i = 0; i < Math.min(na.length, nb.length); i++) {
    const [x, y] = [na[i], nb[i]];
    if (x.prim !== y.prim) return { index: i, prim: x.prim, what: `became ${y.prim} on other inputs` };
    if (!sameParams(x.params, y.params)) return { index: i, prim: x.prim, what: "has parameters that depend on the input values" };
    for (let k = 0; k < x.inputs.length; k++) {
      const [u, v] = [x.inputs[k], y.inputs[k]];
      if (!a.captured.has(u) && !b.captured.has(v) && !sameParams(u.data, v.data))
        return { index: i, prim: x.prim, what: `has a constant operand ${k + 1} that changes from run to run` };
    }
  }
  if (na.length !== nb.length)
    return { index: Math.min(na.length, nb.length), prim: (na[nb.length] ?? nb[na.length]).prim, what: "is applied on some inputs only" };
  return null;
}
