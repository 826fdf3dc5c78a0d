/**
 * The numbers of a stage table that a student fills in ("cells"), read off the explainer's report in
 * computation order: every stage's forward value, then backward from the output, each stage's gradient
 * followed by its edges' local derivative, upstream gradient and contribution, and last the inputs'
 * gradients. Check-my-work, the blank tables and the answer readers all name cells this way.
 */
import { own } from "../language/ast.js";
import { gradName, type EdgeReport, type ExplainReport, type Value } from "../report/report.js";

/**
 * What a cell holds: a stage's forward `value`; `grad`, d out / d a stage or input (the stage table's
 * gradient column, the final gradients gx); per edge `local` (d to / d from), `upstream` (d out / d to,
 * as written on that edge's row) and `contribution` (upstream × local, the edge's share of d out / d from).
 */
export type CellKind = "value" | "grad" | "local" | "upstream" | "contribution";

export interface Cell {
  /** Stable id: value:a, grad:x, local:c:a, upstream:c:a, contribution:c:a (#2 on a name's second edge into one stage, as in x * x). */
  key: string;
  kind: CellKind;
  /** value and grad: the stage or input; edge cells: the consuming stage (the edge's `to`). */
  name: string;
  /** Edge cells: the argument the edge comes from, and the edge's index in `report.edges`. */
  from?: string;
  edge?: number;
  /** How the answer names it: a, ga (or d_a), da/dx, upstream c<-a, contribution c<-a. */
  label: string;
}

/** The key of an edge cell: kind:to:from, with #k for the k-th edge from the same name into the same stage. */
function edgeKey(kind: CellKind, e: EdgeReport, occurrence: number): string {
  return `${kind}:${e.to}:${e.from}${occurrence > 1 ? `#${occurrence}` : ""}`;
}

/** The names a program uses (inputs and stages): gradient names avoid them as the report does. */
export function takenNames(r: ExplainReport): Set<string> {
  return new Set<string>([...r.inputs, ...r.stages.map((s) => s.name)]);
}

/** Each edge's occurrence number among edges with the same from and to (1 for most). */
function occurrences(r: ExplainReport): number[] {
  const seen = new Map<string, number>();
  return r.edges.map((e) => {
    const k = `${e.to}\u0000${e.from}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return n;
  });
}

/** Every cell of the report's stage table, in computation order (forward, then backward). */
export function answerCells(r: ExplainReport): Cell[] {
  const taken = takenNames(r);
  const g = (n: string) => gradName(n, taken);
  const cells: Cell[] = r.stages.map((s) => ({ key: `value:${s.name}`, kind: "value", name: s.name, label: s.name }));
  const occ = occurrences(r);
  const edgesInto = new Map<string, number[]>();
  r.edges.forEach((e, i) => edgesInto.set(e.to, [...(edgesInto.get(e.to) ?? []), i]));
  for (const s of [...r.stages].reverse()) {
    cells.push({ key: `grad:${s.name}`, kind: "grad", name: s.name, label: g(s.name) });
    for (const i of edgesInto.get(s.name) ?? []) {
      const e = r.edges[i];
      const tag = occ[i] > 1 ? ` (#${occ[i]})` : "";
      for (const kind of ["local", "upstream", "contribution"] as const) {
        const label = kind === "local" ? `d${e.to}/d${e.from}${tag}` : `${kind} ${e.to}<-${e.from}${tag}`;
        cells.push({ key: edgeKey(kind, e, occ[i]), kind, name: e.to, from: e.from, edge: i, label });
      }
    }
  }
  for (const n of r.inputs) cells.push({ key: `grad:${n}`, kind: "grad", name: n, label: g(n) });
  return cells;
}

/** The edge index of the `occurrence`-th edge from `from` into `to` (1-based), or undefined. */
export function findEdge(r: ExplainReport, to: string, from: string, occurrence = 1): number | undefined {
  let k = 0;
  for (let i = 0; i < r.edges.length; i++) {
    const e = r.edges[i];
    if (e.to === to && e.from === from && ++k === occurrence) return i;
  }
  return undefined;
}

/** The key of an edge cell given by names (the occurrence counts edges from `from` into `to`). */
export function edgeCellKey(kind: "local" | "upstream" | "contribution", to: string, from: string, occurrence = 1): string {
  return `${kind}:${to}:${from}${occurrence > 1 ? `#${occurrence}` : ""}`;
}

/** The name whose gradient `label` is (gx, or d_x where gx is a program name), or undefined. */
export function gradientOf(r: ExplainReport, label: string): string | undefined {
  const taken = takenNames(r);
  return [...r.inputs, ...r.stages.map((s) => s.name)].find((n) => gradName(n, taken) === label);
}

/** The report's true value of a cell (null where there is none: an array stage's local derivative, a gradient not computed). */
export function trueValue(r: ExplainReport, c: Cell): Value | null {
  switch (c.kind) {
    case "value":
      return r.stages.find((s) => s.name === c.name)?.value ?? null;
    case "grad": {
      const s = r.stages.find((st) => st.name === c.name);
      return s ? s.grad : (own(r.gradients, c.name) ?? null);
    }
    case "local":
      return r.edges[c.edge!].localValue;
    case "upstream":
      return r.edges[c.edge!].upstream;
    case "contribution":
      return r.edges[c.edge!].contribution;
  }
}
