/**
 * The student's world: what each cell of the stage table comes to from the student's own earlier
 * numbers (their value where they gave one, else what their earlier numbers give), recomputed on the
 * explainer's one trace: a stage forward with the stage's own function, a local derivative or
 * contribution by replaying the stage's recorded VJP with the student's values in its leaves.
 * A wrong cell that matches this world only carried an earlier mistake forward.
 */
import * as bp from "../core.js";
import { refArgs, stageFunction } from "../interpreters/stage.js";
import { replay, type StageRecord } from "../interpreters/trace.js";
import { type Explanation, type Value } from "../report/report.js";
import { mapValues } from "./tolerance.js";

/** A value as a float64 tensor shaped like `like` (null when the sizes differ). */
export function tensorLike(v: Value, like: bp.Tensor): bp.Tensor | null {
  const t = typeof v === "number" ? bp.scalar(v, "float64") : bp.tensor(v, { dtype: "float64" });
  if (t.size !== like.size) return null;
  return t.shape.join() === like.shape.join() ? t : bp.reshape(t, like.shape);
}

/** What the student's numbers are so far, name by name, and the recomputations over the trace. */
export class StudentWorld {
  /** Forward values of inputs and stages. */
  readonly values = new Map<string, Value>();
  /** d out / d name. */
  readonly grads = new Map<string, Value>();
  /** Per edge index: local derivative, upstream, contribution. */
  readonly locals = new Map<number, Value>();
  readonly upstreams = new Map<number, Value>();
  readonly contributions = new Map<number, Value>();
  private readonly records: Map<string, StageRecord>;

  constructor(readonly ex: Explanation) {
    for (const [n, v] of Object.entries(ex.report.inputValues)) this.values.set(n, v);
    this.records = new Map(ex.trace.records.map((r) => [r.stage.name, r]));
  }

  /** The stage's value from the student's values of its arguments (null when it cannot be computed). */
  forward(stage: string): Value | null {
    const s = this.records.get(stage)!.stage;
    const args = refArgs(s).map((n, k) => {
      const v = this.values.get(n);
      return v === undefined ? null : tensorLike(v, this.records.get(stage)!.leaves[k]);
    });
    if (args.some((a) => a === null)) return null;
    try {
      return bp.noGrad(() => stageFunction(s)(...(args as bp.Tensor[])).toArray());
    } catch {
      return null;
    }
  }

  /**
   * The edge's local derivative (upstream null: read with the upstream as ones) or contribution (with
   * the given upstream), replayed from the recorded VJP at the student's values of the stage's arguments.
   */
  replayEdge(to: string, argIndex: number, upstream: Value | null): Value | null {
    const r = this.records.get(to)!;
    const subst = new Map<bp.Tensor, bp.Tensor>();
    for (let k = 0; k < r.leaves.length; k++) {
      const v = this.values.get(r.refs[k]);
      const t = v === undefined ? null : tensorLike(v, r.leaves[k]);
      if (t === null) return null;
      subst.set(r.leaves[k], t);
    }
    const ct = upstream === null ? bp.onesLike(r.ct) : tensorLike(upstream, r.ct);
    if (ct === null) return null;
    subst.set(r.ct, ct);
    try {
      return replay(r.vjp[argIndex], subst).toArray();
    } catch {
      return null;
    }
  }

  /** Sum of values of one shape (a fan-out sum). */
  static sum(vs: readonly Value[]): Value | null {
    if (vs.length === 0) return null;
    return vs.slice(1).reduce<Value>((a, b) => mapValues((x, y) => x + y, a, b), vs[0]);
  }
}
