/**
 * Reverse mode: the backward interpreter over the primitive table, and the PyTorch-style
 * (`backward`, `.grad`) and JAX-style (`grad`, `valueAndGrad`, `vjp`) fronts to it.
 */
import { bind, isGradEnabled, withGradMode } from "./bind.js";
import type { TypedArray } from "./dtype.js";
import type { Prim, Spec, VjpArgs } from "./prim.js";
import { PRIMS } from "./primitives.js";
import { formatShape, sameShape } from "./shape.js";
import { Tensor, type Operand } from "./tensor.js";
import { add } from "./ops/elementwise.js";
import { sumTo } from "./ops/reduce.js";
import { cast, detach } from "./ops/structure.js";
import { full, scalar } from "./ops/create.js";
import { Holders } from "./recycle.js";
import { anomalyOn, duringBackward, reportBackward } from "./anomaly.js";
import { topoOrder } from "./graph.js";

export interface BackwardOptions {
  /** Record the backward computation too, so the gradients can be differentiated again. */
  createGraph?: boolean;
}

function ruleFor(vjp: Spec<Prim>["vjp"], args: VjpArgs<Prim>, index: number): Tensor | null {
  if (vjp === null) return null;
  if (typeof vjp === "function") return vjp(args, index);
  const rule = vjp[index];
  return rule ? rule(args) : null;
}

/** Tensors of `order` (topological) from which a tensor of `stop` is reachable: only they need a cotangent. */
function reaching(order: readonly Tensor[], stop: ReadonlySet<Tensor>): Set<Tensor> {
  const relevant = new Set<Tensor>();
  for (const t of order) {
    if (stop.has(t) || (t.node && t.node.inputs.some((i) => relevant.has(i)))) relevant.add(t);
  }
  return relevant;
}

type RuleArgs = { -readonly [K in keyof VjpArgs<Prim>]: VjpArgs<Prim>[K] };

/**
 * One backward pass over a walk's tensors. Cotangents accumulate on the tensors themselves (a Map of
 * a million entries cost more than the arithmetic on scalar graphs); `run` clears them when it ends,
 * normally or not. Without a graph to record, a cotangent's buffer is dead once it has been pulled
 * back, unless a pending cotangent or a result shares it: recycle.ts counts those holders (Holders).
 */
class BackwardPass {
  readonly result = new Map<Tensor, Tensor>();
  private buffers = new Holders(null);
  /** One arguments object for every rule (rules read it and return; none keeps it). */
  private readonly args: RuleArgs;

  /**
   * `walk` marks exactly the tensors of this walk (a cotangent on one of them is this pass's);
   * `stop` holds the targets, if any (`relevant`: the tensors that reach one).
   */
  constructor(
    private readonly walk: number,
    private readonly stop: ReadonlySet<Tensor>,
    private readonly targets: boolean,
    private readonly relevant: ReadonlySet<Tensor> | null,
    any: Tensor,
  ) {
    this.args = { ct: any, out: any, x: any, y: any, z: any, inputs: [], params: {} as VjpArgs<Prim>["params"] };
  }

  run(outputs: readonly Tensor[], cts: readonly Tensor[], order: readonly Tensor[], createGraph: boolean): Map<Tensor, Tensor> {
    try {
      this.buffers = Holders.forPass(createGraph);
      outputs.forEach((o, i) => this.accumulate(o, cts[i]));
      for (let k = order.length - 1; k >= 0; k--) {
        const t = order[k];
        if (!t.ct) continue;
        const ct = t.ct;
        t.ct = null;
        if (!t.node || (this.targets && this.stop.has(t))) this.settle(t, ct);
        else this.pullInputs(t, ct);
      }
    } finally {
      this.buffers.stop();
      for (const o of outputs) o.ct = null;
      for (const t of order) t.ct = null;
    }
    return this.result;
  }

  private accumulate(t: Tensor, g: Tensor): void {
    const old = t.ct && t.visitMark === this.walk ? t.ct : null;
    if (old === null) {
      t.ct = g;
      this.buffers.hold(g);
      return;
    }
    const sum = add(old, g);
    t.ct = sum;
    this.buffers.replace(old, sum, g);
  }

  /** A leaf or a target: its cotangent is a result (which keeps its hold), or is dropped. */
  private settle(t: Tensor, ct: Tensor): void {
    if (this.targets ? this.stop.has(t) : t.node === null) this.result.set(t, ct);
    else this.buffers.drop(ct);
  }

  /** Pulls `t`'s cotangent back to each of its inputs that needs one, by the primitive's VJP rule. */
  private pullInputs(t: Tensor, ct: Tensor): void {
    const { prim, inputs, params, site } = t.node!;
    const vjp = (PRIMS[prim] as Spec<Prim>).vjp;
    const args = this.args;
    args.ct = ct;
    args.out = t;
    args.x = inputs[0];
    args.y = inputs[1];
    args.z = inputs[2];
    args.inputs = inputs;
    args.params = params;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      if (!input.requiresGrad || (this.relevant && !this.relevant.has(input))) continue;
      const g0 = ruleFor(vjp, args, i);
      if (!g0) continue;
      if (anomalyOn)
        reportBackward(
          prim,
          site,
          inputs.map((u) => u.shape),
          i,
          ct,
          g0,
        );
      // The one place where broadcasting is undone: sum the cotangent back to the input's shape.
      const g1 = sameShape(g0.shape, input.shape) ? g0 : sumTo(g0, input.shape);
      const g = g1.dtype === input.dtype ? g1 : cast(g1, input.dtype);
      this.accumulate(input, g);
      if (g1 !== g) this.buffers.discard(g1);
      if (g0 !== g1) this.buffers.discard(g0);
    }
    this.buffers.drop(ct);
  }
}

/**
 * Pulls the cotangents `cts` of `outputs` back through the graph. With `targets`, returns their
 * cotangents (only paths that reach a target are walked); without, returns the leaves'.
 */
export function pullback(outputs: readonly Tensor[], cts: readonly Tensor[], targets: readonly Tensor[] | null, createGraph: boolean): Map<Tensor, Tensor> {
  const stop = new Set(targets ?? []);
  const { order, done: walk } = topoOrder(outputs, stop);
  const pass = new BackwardPass(walk, stop, targets !== null, targets ? reaching(order, stop) : null, cts[0]);
  // In anomaly mode the rules' own ops are not checked as forward ops; their results are, in pullInputs.
  const walkBack = (): Map<Tensor, Tensor> => pass.run(outputs, cts, order, createGraph);
  return withGradMode(createGraph, () => (anomalyOn ? duringBackward(walkBack) : walkBack()));
}

function seed(y: Tensor, ct: Tensor | number | undefined, op: string): Tensor {
  if (ct === undefined) {
    if (y.size !== 1) {
      throw new Error(`${op}: a gradient can only be created implicitly for a scalar output, got shape ${formatShape(y.shape)}; pass the upstream gradient`);
    }
    return full(y.shape, 1, { dtype: y.dtype });
  }
  const c = typeof ct === "number" ? full(y.shape, ct, { dtype: y.dtype }) : ct;
  if (!sameShape(c.shape, y.shape)) {
    throw new Error(`${op}: upstream gradient of shape ${formatShape(c.shape)} does not match output of shape ${formatShape(y.shape)}`);
  }
  return c;
}

/**
 * `y.backward()`: accumulates dy/dleaf into `.grad` of every leaf that requires grad. Fan-out sums,
 * and repeated calls add up until `zeroGrad`.
 */
export function backward(y: Tensor, ct?: Tensor | number, options: BackwardOptions = {}): void {
  if (!y.requiresGrad) {
    throw new Error("backward: this tensor does not require grad (no input of it has requiresGrad set, or it was computed under noGrad)");
  }
  const createGraph = options.createGraph ?? false;
  const seeded = seed(y, ct, "backward");
  const leaves = pullback([y], [seeded], null, createGraph);
  // Buffers already handed out (reshape views share their input's buffer, so track buffers, not tensors).
  const given = new Set<TypedArray>([seeded.data]);
  for (const [leaf, g0] of leaves) {
    // A leaf keeps its own gradient tensor, never one shared with another leaf or the caller
    // (add's rule hands one cotangent to both inputs), so copy only what would be shared.
    const shared = given.has(g0.data) || g0.data.length <= 16;
    given.add(g0.data);
    const g = createGraph || !shared ? g0 : new Tensor(g0.data.slice(), g0.shape);
    leaf.grad = leaf.grad ? withGradMode(createGraph, () => add(leaf.grad as Tensor, g)) : g;
  }
}

/** Clears `.grad` on each tensor (the parameters of a model, say). */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.grad = null;
}

export type Args = readonly (Tensor | number)[];

/** How many grad/vjp functions are running right now (a closure may capture their traced tensors). */
let transformDepth = 0;

export function traced<T>(fn: () => T): T {
  transformDepth++;
  try {
    return withGradMode(true, fn);
  } finally {
    transformDepth--;
  }
}

/**
 * Prepares the arguments to differentiate. When an enclosing transformation is tracing an argument,
 * it gets a fresh node connected to it, so the result can be differentiated again (grad of grad);
 * otherwise a fresh leaf that shares its values.
 */
export function prepare(args: Args, argnums: readonly number[], op: string): { inputs: Tensor[]; nested: boolean } {
  const tensors = args.map((a, i) => (a instanceof Tensor ? a : scalar(checkNumber(a, op, i), "float64")));
  // Inside another transformation's function (even one that only closes over its tensors), or given
  // tensors that are being traced, the gradient must stay differentiable.
  const nested = isGradEnabled() && (transformDepth > 0 || tensors.some((t) => t.requiresGrad));
  const wanted = new Set(argnums);
  const inputs = tensors.map((t, i) => {
    if (!wanted.has(i)) return t;
    return t.requiresGrad && nested ? bind("reshape", [t], { shape: t.shape }) : new Tensor(t.data, t.shape, null, true);
  });
  for (const n of argnums) {
    if (!Number.isInteger(n) || n < 0 || n >= args.length) throw new Error(`${op}: argnum ${n} is out of range for ${args.length} arguments`);
  }
  return { inputs, nested };
}

function checkNumber(v: unknown, op: string, i: number): number {
  if (typeof v !== "number") throw new TypeError(`${op}: argument ${i} must be a Tensor or a number, got ${typeof v}`);
  return v;
}

export function asTensor(v: Operand, op: string): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === "number") return scalar(v, "float64");
  throw new TypeError(`${op}: the function must return a Tensor, got ${typeof v}`);
}

/** Gradients for `targets` (zeros for a target the output does not depend on). */
function gradsOf(y: Tensor, ct: Tensor, targets: readonly Tensor[], createGraph: boolean): Tensor[] {
  const found = y.requiresGrad ? pullback([y], [ct], targets, createGraph) : new Map<Tensor, Tensor>();
  return targets.map((t) => {
    const g = found.get(t);
    if (!g) return full(t.shape, 0, { dtype: t.dtype });
    return createGraph ? g : detach(g);
  });
}

type GradResult<A extends number | readonly number[]> = A extends number ? Tensor : Tensor[];

/**
 * JAX-style value and gradient of a scalar function: `valueAndGrad(f)(x, y)` gives
 * `[f(x, y), df/dx]`; with `argnums` an array, the gradients for those arguments as an array.
 */
export function valueAndGrad<A extends number | readonly number[] = 0>(
  f: (...args: Tensor[]) => Operand,
  argnums?: A,
): (...args: Args) => [Tensor, GradResult<A>] {
  const nums: number[] = argnums === undefined ? [0] : typeof argnums === "number" ? [argnums] : [...(argnums as readonly number[])];
  return (...args: Args) => {
    const { inputs, nested } = prepare(args, nums, "grad");
    const y = traced(() => asTensor(f(...inputs), "grad"));
    if (y.size !== 1) throw new Error(`grad: the function must return a scalar, got shape ${formatShape(y.shape)} (use vjp for other outputs)`);
    const grads = gradsOf(
      y,
      full(y.shape, 1, { dtype: y.dtype }),
      nums.map((n) => inputs[n]),
      nested,
    );
    const value = nested ? y : detach(y);
    return [value, (typeof argnums === "object" ? grads : grads[0]) as GradResult<A>];
  };
}

/** JAX-style gradient of a scalar function; `grad(grad(f))` gives second derivatives. */
export function grad<A extends number | readonly number[] = 0>(f: (...args: Tensor[]) => Operand, argnums?: A): (...args: Args) => GradResult<A> {
  const vg = valueAndGrad(f, argnums);
  return (...args: Args) => vg(...args)[1];
}

/**
 * JAX-style vector-Jacobian product: `const [y, back] = vjp(f, x, w)`; `back(ct)` returns the
 * cotangent of every argument for the output cotangent `ct` (of y's shape). No Jacobian is formed.
 */
export function vjp(f: (...args: Tensor[]) => Operand, ...args: Args): [Tensor, (ct: Tensor | number) => Tensor[]] {
  const nums = args.map((_, i) => i);
  const { inputs, nested } = prepare(args, nums, "vjp");
  const y = traced(() => asTensor(f(...inputs), "vjp"));
  const back = (ct: Tensor | number): Tensor[] => gradsOf(y, seed(y, ct, "vjp"), inputs, nested);
  return [nested ? y : detach(y), back];
}
