/**
 * The optimizers' updates written with our ops, so that a capture records them as a graph: the same
 * formulas as the in-place loops of src/optim/optimizer.ts (PyTorch's momentum v = mu v + g, Adam's
 * bias correction by the step count), step by step in the same order.
 */
import { add, div, mul, pow, sqrt, sub } from "../../core/ops/elementwise.js";
import { cast } from "../../core/ops/structure.js";
import type { Tensor } from "../../core/tensor.js";
import { Adam, SGD, type Optimizer } from "../../optim/optimizer.js";

/** One optimizer's update as ops, with the names of its per-parameter state. */
export interface GraphUpdate {
  /** "SGD", "Adam" or "AdamW", for messages and the model's description. */
  readonly kind: string;
  /** Per-parameter state buffers, in the order `update` takes and returns them. */
  readonly stateNames: readonly string[];
  /** Whether the update reads the count of steps taken (Adam's bias correction). */
  readonly usesStep: boolean;
  /**
   * The new parameter and state from the parameter `p`, its gradient `g`, its state, and `t` (a
   * float64 scalar: the count of steps including this one) when `usesStep`.
   */
  update(p: Tensor, g: Tensor, state: readonly Tensor[], t: Tensor | null): { p: Tensor; state: Tensor[] };
}

/** The update of `optimizer` as ops; an optimizer we cannot write is an error naming it. */
export function graphUpdate(optimizer: Optimizer): GraphUpdate {
  if (optimizer instanceof SGD) return sgdUpdate(optimizer);
  if (optimizer instanceof Adam) return adamUpdate(optimizer);
  const name = (optimizer as object)?.constructor?.name ?? typeof optimizer;
  throw new TypeError(`toOnnxTraining: optimizer ${name} is not supported (SGD, Adam and AdamW are)`);
}

function sgdUpdate(o: SGD): GraphUpdate {
  const { lr, momentum: mu, nesterov, weightDecay: wd } = o;
  return {
    kind: "SGD",
    stateNames: mu === 0 ? [] : ["velocity"],
    usesStep: false,
    update(p, g, state) {
      const gi = wd === 0 ? g : add(g, mul(p, wd));
      if (mu === 0) return { p: sub(p, mul(gi, lr)), state: [] };
      // A first step's v = g is mu * 0 + g from a zero buffer: the same value.
      const v = add(mul(state[0], mu), gi);
      const d = nesterov ? add(gi, mul(v, mu)) : v;
      return { p: sub(p, mul(d, lr)), state: [v] };
    },
  };
}

function adamUpdate(o: Adam): GraphUpdate {
  const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = o;
  const decoupled = o.decoupledDecay;
  // The bias corrections depend on the step alone: made once per dtype and shared by every parameter.
  const corrections = new Map<string, [Tensor, Tensor]>();
  return {
    kind: decoupled ? "AdamW" : "Adam",
    stateNames: ["m", "v"],
    usesStep: true,
    update(p0, g, [m0, v0], t) {
      let c = corrections.get(p0.dtype);
      // In float64, as the loop computes them: 1 - 0.999^t in float32 would lose five digits to cancellation.
      if (!c) corrections.set(p0.dtype, (c = [cast(sub(1, pow(b1, t!)), p0.dtype), cast(sub(1, pow(b2, t!)), p0.dtype)]));
      const [c1, c2] = c;
      const gi = decoupled || wd === 0 ? g : add(g, mul(p0, wd));
      const m = add(mul(m0, b1), mul(gi, 1 - b1));
      const v = add(mul(v0, b2), mul(mul(gi, 1 - b2), gi));
      const p = decoupled && wd !== 0 ? sub(p0, mul(p0, lr * wd)) : p0;
      return { p: sub(p, div(mul(div(m, c1), lr), add(sqrt(div(v, c2)), eps))), state: [m, v] };
    },
  };
}
