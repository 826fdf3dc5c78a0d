/**
 * Forward mode: the forward interpreter over the primitive table, and the JAX-style `jvp` front to it.
 * The function is traced once (the graph reverse mode records), then tangents are pushed through that
 * graph in computation order by each primitive's JVP rule: one sweep per tangent direction.
 */
import { isGradEnabled, withGradMode } from "./bind.js";
import type { JvpArgs, Prim, Spec } from "./prim.js";
import { PRIMS } from "./primitives.js";
import { formatShape, sameShape } from "./shape.js";
import { Tensor, type Operand } from "./tensor.js";
import { add } from "./ops/elementwise.js";
import { broadcastTo, cast, detach } from "./ops/structure.js";
import { full, scalar } from "./ops/create.js";
import { asTensor, prepare, traced, type Args } from "./autodiff.js";
import { topoOrder } from "./graph.js";

function ruleFor(jvp: Spec<Prim>["jvp"], args: JvpArgs<Prim>, index: number): Tensor | null {
  if (jvp === null) return null;
  if (typeof jvp === "function") return jvp(args, index);
  const rule = jvp[index];
  return rule ? rule(args) : null;
}

/** The tangent of `t` from its inputs' tangents (null: none of them has one, so it is zero). */
function tangentOf(t: Tensor, tangents: ReadonlyMap<Tensor, Tensor>): Tensor | null {
  const node = t.node;
  if (!node) return null;
  const jvp = (PRIMS[node.prim] as Spec<Prim>).jvp;
  if (jvp === null) return null;
  const { inputs, params } = node;
  let total: Tensor | null = null;
  for (let i = 0; i < inputs.length; i++) {
    const dx = tangents.get(inputs[i]);
    if (!dx) continue;
    const args: JvpArgs<Prim> = { t: dx, out: t, x: inputs[0], y: inputs[1], z: inputs[2], inputs, params };
    const c0 = ruleFor(jvp, args, i);
    if (!c0) continue;
    // The one place where broadcasting is applied to tangents (reverse mode's sumTo, transposed).
    const c1 = sameShape(c0.shape, t.shape) ? c0 : broadcastTo(c0, t.shape);
    const c = c1.dtype === t.dtype ? c1 : cast(c1, t.dtype);
    total = total === null ? c : add(total, c);
  }
  return total;
}

/**
 * Pushes `tangents` of `inputs` forward through the graph recorded from them to `outputs`, returning
 * each output's tangent (zeros where an output does not depend on the inputs). With `createGraph`, the
 * tangents are recorded too, so they can be differentiated again (forward over reverse and back).
 */
export function pushforward(outputs: readonly Tensor[], inputs: readonly Tensor[], tangents: readonly Tensor[], createGraph: boolean): Tensor[] {
  const known = new Map<Tensor, Tensor>();
  inputs.forEach((x, i) => known.set(x, tangents[i]));
  const { order } = topoOrder(outputs, new Set(inputs));
  return withGradMode(createGraph, () => {
    for (const t of order) {
      if (known.has(t)) continue;
      const dt = tangentOf(t, known);
      if (dt) known.set(t, dt);
    }
    return outputs.map((o) => known.get(o) ?? full(o.shape, 0, { dtype: o.dtype }));
  });
}

/** A function traced once on prepared inputs, ready for any number of forward or backward sweeps. */
export interface Traced {
  readonly inputs: Tensor[];
  readonly outputs: Tensor[];
  /** Whether an enclosing transformation traces these values (then results stay differentiable). */
  readonly nested: boolean;
  /** Whether f returned an array of outputs rather than one. */
  readonly many: boolean;
}

/** Traces f on `args`, the ones in `argnums` (default all) prepared to be differentiated. */
export function traceFunction(f: (...args: Tensor[]) => Operand | readonly Operand[], args: Args, op: string, argnums?: readonly number[]): Traced {
  const { inputs, nested } = prepare(args, argnums ?? args.map((_, i) => i), op);
  const result = traced(() => f(...inputs));
  const many = Array.isArray(result);
  const outputs = (many ? (result as readonly Operand[]) : [result as Operand]).map((r) => asTensor(r, op));
  return { inputs, outputs, nested, many };
}

/** Tangents as tensors of their primals' shapes and dtypes; a wrong count or shape is an error naming it. */
export function checkTangents(primals: readonly Tensor[], tangents: readonly (Tensor | number)[], op: string): Tensor[] {
  if (!Array.isArray(tangents) || tangents.length !== primals.length) {
    throw new Error(
      `${op}: expected ${primals.length} tangent${primals.length === 1 ? "" : "s"} (one per primal), got ${Array.isArray(tangents) ? tangents.length : typeof tangents}`,
    );
  }
  return tangents.map((v, i) => {
    const p = primals[i];
    const t = v instanceof Tensor ? v : typeof v === "number" ? full(p.shape, v, { dtype: p.dtype }) : null;
    if (t === null) throw new TypeError(`${op}: tangent ${i} must be a Tensor or a number, got ${typeof v}`);
    if (!sameShape(t.shape, p.shape)) {
      throw new Error(`${op}: tangent ${i} has shape ${formatShape(t.shape)} but its primal has shape ${formatShape(p.shape)}`);
    }
    return t.dtype === p.dtype ? t : cast(t, p.dtype);
  });
}

type JvpResult<R> = R extends readonly Operand[] ? [Tensor[], Tensor[]] : [Tensor, Tensor];

/**
 * JAX-style Jacobian-vector product: `const [y, dy] = jvp(f, [x, w], [dx, dw])` gives f's value and its
 * directional derivative along the tangents (each of its primal's shape), in one forward sweep. No
 * Jacobian is formed. If f returns an array of tensors, both results are arrays.
 */
export function jvp<R extends Operand | readonly Operand[]>(
  f: (...args: Tensor[]) => R,
  primals: readonly (Tensor | number)[],
  tangents: readonly (Tensor | number)[],
): JvpResult<R> {
  if (!Array.isArray(primals)) throw new TypeError(`jvp: primals must be an array of Tensors or numbers, got ${typeof primals}`);
  const given = primals.map((p, i) => {
    if (p instanceof Tensor) return p;
    if (typeof p === "number") return scalar(p, "float64");
    throw new TypeError(`jvp: primal ${i} must be a Tensor or a number, got ${typeof p}`);
  });
  const ts = checkTangents(given, tangents, "jvp");
  const tr = traceFunction(f, primals, "jvp");
  // Tangents an enclosing transformation traces keep the result differentiable too (vjp of jvp).
  const nested = tr.nested || (isGradEnabled() && ts.some((t) => t.requiresGrad));
  const dys = pushforward(tr.outputs, tr.inputs, ts, nested);
  const ys = nested ? tr.outputs : tr.outputs.map(detach);
  const dts = nested ? dys : dys.map(detach);
  return (tr.many ? [ys, dts] : [ys[0], dts[0]]) as JvpResult<R>;
}
