/**
 * Each stage's local derivatives, read back from its recorded VJP: expressions for elementwise stages,
 * VJP code for the others, and the branch a piecewise stage takes at the point.
 */
import * as bp from "../core.js";
import { type Expr } from "../language/ast.js";
import { graphCode } from "../interpreters/graphcode.js";
import { simplify } from "../interpreters/simplify.js";
import { type Stage } from "../interpreters/stage.js";
import { NotSymbolic, readGraph } from "../interpreters/symbolic.js";
import { localNames, localValues, type StageRecord } from "../interpreters/trace.js";
import { fmtNumber } from "./report.js";

export interface LocalInfo {
  /** Per argument position: its local derivative (expression for scalars, VJP code for arrays). */
  perArg: (Expr | string)[];
  perArgValue: (number | null)[];
}

/** Local derivatives read back from the stage's recorded VJP (the symbolic interpreter over the trace). */
export function localDerivatives(r: StageRecord, gName: (n: string) => string): LocalInfo {
  const out = r.out;
  // Elementwise stages (every scalar stage among them) read back as expressions, with the upstream
  // gradient read as 1: the local derivative. Other array stages print their VJP with the upstream named.
  const sameShapes = r.leaves.every((l) => l.shape.join() === out.shape.join() || l.size === 1);
  const values = localValues(r);
  try {
    if (!sameShapes) throw new NotSymbolic("broadcasting stage");
    const names = localNames(r);
    const perArg = r.vjp.map((g) => simplify(readGraph(g, names)));
    return { perArg, perArgValue: values.map((g) => (g.size === 1 ? g.item() : null)) };
  } catch (e) {
    if (!(e instanceof NotSymbolic)) throw e;
  }
  const names = new Map<bp.Tensor, string>(r.leaves.map((l, k) => [l, r.refs[k]]));
  names.set(r.ct, gName(r.stage.name));
  names.set(out, r.stage.name);
  return { perArg: r.vjp.map((g) => graphCode(g, names, "text")), perArgValue: r.vjp.map(() => null) };
}

/**
 * The branch of a piecewise stage taken at the point, beside its rule: relu's 1[z > 0] is 1 because
 * z = 2.5 > 0. Step's derivative is 0 wherever it is defined. Null for other ops and for arrays.
 */
export function branchTaken(s: Stage, from: string, x: bp.Tensor): string | null {
  if (s.op === "step") return "0 almost everywhere: step only jumps, at 0";
  if ((s.op !== "relu" && s.op !== "abs") || x.size !== 1) return null;
  const z = x.item();
  const at = `${from} = ${fmtNumber(z)}`;
  if (s.op === "relu") return `${at} ${z > 0 ? ">" : "<="} 0`;
  return z > 0 ? `${at} > 0` : z < 0 ? `${at} < 0` : `${at}, the kink, where sign(0) = 0`;
}
