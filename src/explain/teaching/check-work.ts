/**
 * Check my work: a student's answer (answers.ts) against the explainer's one report, cell by cell in
 * computation order (forward values, then the backward pass from the output). The first wrong cell
 * is the first mistake; a later wrong cell that the student's own earlier numbers give (their wrong
 * value carried through a right rule) is marked carried forward, not a new mistake. Each mistake says
 * its kind (diagnose.ts).
 */
import { fmtValue, type Explanation, type Value } from "../report/report.js";
import { type Answer } from "./answers.js";
import { answerCells, trueValue, type Cell } from "./cells.js";
import { diagnose, type Mistake } from "./diagnose.js";
import { closeValue, DEFAULT_TOLERANCE, mapValues, type Tolerance } from "./tolerance.js";
import { StudentWorld } from "./world.js";

export type { Mistake, MistakeKind } from "./diagnose.js";

/** right; wrong (a new mistake); carried (wrong only because of an earlier mistake); blank (not given). */
export type Verdict = "right" | "wrong" | "carried" | "blank";

export interface CellResult {
  cell: Cell;
  verdict: Verdict;
  /** The student's number (null when blank). */
  given: Value | null;
  /** The true value (null where the report has none, as an array stage's local derivative). */
  expected: Value | null;
  /** What the student's own earlier numbers give here; differs from `expected` after an earlier mistake. */
  fromEarlier: Value | null;
  where?: string;
  /** For a wrong cell: the mistake. */
  mistake?: Mistake;
  /** For a carried cell (or a blank one downstream of a mistake): the key of the mistake it follows from. */
  carriedFrom?: string;
}

export interface CheckWorkOptions {
  /** Relative tolerance (default 1e-3); rounding to 3 significant digits is right whatever it is. */
  rtol?: number;
  /** Absolute floor for values that are zero up to rounding (default 1e-9). */
  atol?: number;
}

export interface CheckWorkResult {
  /** Every given cell is right (carried cells count as wrong answers, though not as new mistakes). */
  correct: boolean;
  /** The first mistake in computation order, or null. */
  first: Mistake | null;
  /** Every new mistake, in computation order. */
  mistakes: Mistake[];
  /** Every cell of the stage table in computation order, blank ones included. */
  cells: CellResult[];
  counts: Record<Verdict, number>;
  tolerance: Tolerance;
  /** One line: "all 2 answers are right", or the first mistake and the counts. */
  summary: string;
}

/** Zeros shaped like a value. */
const zerosOf = (v: Value): Value => mapValues(() => 0, v);

/** The cells a value of this cell depends on in the student's world (for tracing carried errors back). */
function dependencies(ex: Explanation, c: Cell): string[] {
  const r = ex.report;
  switch (c.kind) {
    case "value":
      return r.stages.find((s) => s.name === c.name)!.inputs.map((n) => `value:${n}`);
    case "grad":
      return r.edges.flatMap((e, i) => (e.from === c.name ? [`contribution#${i}`] : []));
    case "local":
      return r.stages.find((s) => s.name === c.name)!.inputs.map((n) => `value:${n}`);
    case "upstream":
      return [`grad:${c.name}`];
    case "contribution":
      return [`local#${c.edge}`, `upstream#${c.edge}`];
  }
}

/** An edge cell's internal id for dependencies (cell keys of repeated edges differ by occurrence, these by index). */
const edgeId = (c: Cell): string => (c.edge === undefined ? c.key : `${c.kind}#${c.edge}`);

/** Checks `answer` against the explanation's report; see CheckWorkResult. */
export function checkWork(ex: Explanation, answer: Answer, options: CheckWorkOptions = {}): CheckWorkResult {
  const r = ex.report;
  if (r.abstract) throw new Error(`a program with abstract functions (${r.abstract.functions.join(", ")}) has no values to check`);
  const tol: Tolerance = { rtol: options.rtol ?? DEFAULT_TOLERANCE.rtol, atol: options.atol ?? DEFAULT_TOLERANCE.atol };
  if (!(tol.rtol >= 0) || !(tol.atol >= 0)) throw new Error("the tolerances must be numbers >= 0");
  const givenBy = new Map(answer.entries.map((e) => [e.cell.key, e]));
  const world = new StudentWorld(ex);
  const ctx = { r, world, tol, given: new Map([...givenBy].map(([k, e]) => [k, e.value])) };
  /** Per cell id: the key of the mistake its value in the student's world descends from. */
  const origin = new Map<string, string>();
  const results: CellResult[] = [];
  const mistakes: Mistake[] = [];

  for (const cell of answerCells(r)) {
    const truth = trueValue(r, cell) ?? (cell.kind === "grad" ? zerosLike(ex, cell.name) : null);
    const fromEarlier = earlier(ex, world, cell);
    const entry = givenBy.get(cell.key);
    const id = edgeId(cell);
    const inherited = dependencies(ex, cell)
      .map((d) => origin.get(d))
      .find((o) => o !== undefined);
    const res: CellResult = { cell, verdict: "blank", given: entry?.value ?? null, expected: truth, fromEarlier };
    if (entry) res.where = entry.where;
    let value = entry?.value ?? fromEarlier ?? truth;
    if (entry && truth !== null) {
      judge(res, entry, truth, inherited, results, ctx);
      if (res.mistake) mistakes.push(res.mistake);
    } else if (entry) {
      // No true value to compare with (an array stage's local derivative): not checked.
      value = entry.value;
    }
    if (res.verdict === "wrong") origin.set(id, cell.key);
    else if (
      res.verdict === "carried" ||
      (res.verdict === "blank" && inherited !== undefined && value !== null && truth !== null && !closeValue(value, truth, tol))
    ) {
      origin.set(id, inherited!);
      if (res.verdict === "blank") res.carriedFrom = inherited;
    }
    if (value !== null) record(world, cell, value);
    // An upstream written on an edge's row, where the stage's gradient was left blank, is the student's gradient of that stage.
    if (entry && cell.kind === "upstream" && !givenBy.has(`grad:${cell.name}`)) world.grads.set(cell.name, entry.value);
    results.push(res);
  }
  const counts: Record<Verdict, number> = { right: 0, wrong: 0, carried: 0, blank: 0 };
  for (const c of results) counts[c.verdict]++;
  const first = mistakes[0] ?? null;
  return { correct: counts.wrong + counts.carried === 0, first, mistakes, cells: results, counts, tolerance: tol, summary: summaryLine(counts, first) };
}

/**
 * The verdict on a given value with a true one: right, carried (it matches the student's own earlier
 * values, or is the upstream half of a swap), or wrong with its diagnosis.
 */
function judge(
  res: CellResult,
  entry: Answer["entries"][number],
  truth: Value,
  inherited: string | undefined,
  results: readonly CellResult[],
  ctx: Parameters<typeof diagnose>[0],
): void {
  const { cell, fromEarlier } = res;
  if (closeValue(entry.value, truth, ctx.tol)) res.verdict = "right";
  else if (fromEarlier !== null && closeValue(entry.value, fromEarlier, ctx.tol) && inherited !== undefined) {
    res.verdict = "carried";
    res.carriedFrom = inherited;
  } else if (swapPartner(results, cell)) {
    // The upstream half of a swap already reported on the edge's local derivative.
    res.verdict = "carried";
    res.carriedFrom = swapPartner(results, cell);
  } else {
    res.verdict = "wrong";
    res.mistake = diagnose(ctx, cell, entry.value, fromEarlier ?? truth, truth, entry.where);
  }
}

/** For an upstream cell: the key of its edge's local derivative when that was diagnosed as swapped with it. */
function swapPartner(results: readonly CellResult[], cell: Cell): string | undefined {
  if (cell.kind !== "upstream") return undefined;
  const local = results.find((c) => c.cell.kind === "local" && c.cell.edge === cell.edge);
  return local?.mistake?.kind === "swapped" ? local.cell.key : undefined;
}

function zerosLike(ex: Explanation, name: string): Value {
  const v = ex.report.inputValues[name] ?? ex.report.stages.find((s) => s.name === name)?.value ?? 0;
  return zerosOf(v);
}

/** What the student's earlier numbers give for a cell (null where nothing can be computed). */
function earlier(ex: Explanation, world: StudentWorld, cell: Cell): Value | null {
  const r = ex.report;
  switch (cell.kind) {
    case "value":
      return world.forward(cell.name);
    case "grad": {
      if (cell.name === r.output) return mapValues(() => 1, r.value);
      const parts = r.edges.flatMap((e, i) => (e.from === cell.name ? [world.contributions.get(i) ?? null] : []));
      if (parts.length === 0) return zerosLike(ex, cell.name);
      return parts.some((p) => p === null) ? null : StudentWorld.sum(parts as Value[]);
    }
    case "local": {
      const e = r.edges[cell.edge!];
      return e.localValue === null ? null : world.replayEdge(e.to, e.argIndex, null);
    }
    case "upstream":
      return world.grads.get(cell.name) ?? null;
    case "contribution": {
      const e = r.edges[cell.edge!];
      const up = world.upstreams.get(cell.edge!) ?? null;
      const local = world.locals.get(cell.edge!);
      // With the student's own local and upstream it is their product; else the VJP replayed at their values.
      if (up !== null && local !== undefined && e.localValue !== null) return mapValues((a, b) => a * b, up, local);
      return up === null ? null : world.replayEdge(e.to, e.argIndex, up);
    }
  }
}

/** Records a cell's value in the student's world. */
function record(world: StudentWorld, cell: Cell, v: Value): void {
  switch (cell.kind) {
    case "value":
      world.values.set(cell.name, v);
      return;
    case "grad":
      world.grads.set(cell.name, v);
      return;
    case "local":
      world.locals.set(cell.edge!, v);
      return;
    case "upstream":
      world.upstreams.set(cell.edge!, v);
      return;
    case "contribution":
      world.contributions.set(cell.edge!, v);
  }
}

function summaryLine(counts: Record<Verdict, number>, first: Mistake | null): string {
  const given = counts.right + counts.wrong + counts.carried;
  if (given === 0) return "nothing to check: the answer gives no values";
  if (first === null) return `all ${given} answer${given === 1 ? " is" : "s are"} right`;
  const more = counts.wrong > 1 ? `, ${counts.wrong - 1} more mistake${counts.wrong > 2 ? "s" : ""}` : "";
  const carried = counts.carried ? `, ${counts.carried} carried forward` : "";
  return `first mistake at ${first.label} (${first.where}): ${first.kind}; ${counts.right} of ${given} right${carried}${more}`;
}

/** The result as text lines: the first mistake, then every given cell with its verdict. */
export function formatCheckWork(res: CheckWorkResult): string {
  const lines: string[] = [];
  if (res.first) lines.push(`First mistake: ${res.first.message}`, ...(res.first.rule ? [`  rule needed: ${res.first.rule}`] : []), "");
  else lines.push(res.counts.right > 0 ? "All right." : "Nothing to check.", "");
  const shown = res.cells.filter((c) => c.verdict !== "blank");
  const w = Math.max(4, ...shown.map((c) => c.cell.label.length));
  for (const c of shown) {
    const mark = c.verdict === "right" ? "ok" : c.verdict === "carried" ? "carried" : "WRONG";
    const detail =
      c.verdict === "wrong"
        ? `  ${c.mistake!.kind}${c.mistake!.inferred ? " (inferred)" : ""}`
        : c.verdict === "carried"
          ? `  (right from your earlier numbers: carried from ${labelOf(res, c.carriedFrom!)})`
          : "";
    const expected = c.verdict === "right" ? "" : `  right: ${fmtValue(c.expected)}`;
    lines.push(`  ${c.cell.label.padEnd(w)}  ${fmtValue(c.given)}  ${mark}${expected}${detail}`);
  }
  if (res.mistakes.length > 1) lines.push("", "Further mistakes:", ...res.mistakes.slice(1).map((m) => `  ${m.message}`));
  lines.push("", res.summary);
  return lines.join("\n");
}

function labelOf(res: CheckWorkResult, key: string): string {
  return res.cells.find((c) => c.cell.key === key)?.cell.label ?? key;
}
