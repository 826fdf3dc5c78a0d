// Quiz mode of the Explain tab: the stage table with a box for every number a student works out (the
// cells answerCells lists: forward values, stage gradients, each edge's local derivative, upstream
// gradient and contribution, the inputs' gradients). Each box is checked as it is typed, by checkWork
// in the worker (teaching-jobs.ts), and marked right, wrong or carried forward, in words and colour;
// the first mistake is diagnosed in the words `backprop check` prints.
import katex from "katex";
import * as bp from "../src/index.js";
import type { CheckAnswer, ExplainDone } from "./explain-protocol.js";
import { JobRunner } from "./job-runner.js";

/** Typing pauses this long before a check starts, as in the Explain tab. */
const DEBOUNCE_MS = 120;
/** Programs with more stages than this are too long to fill in by hand: the quiz says so instead. */
export const MAX_QUIZ_STAGES = 40;

const MARKS: Record<"right" | "wrong" | "carried" | "unreadable", string> = {
  right: "✓ right",
  wrong: "✗ wrong",
  carried: "↪ carried",
  unreadable: "? not a number",
};

interface Box {
  cell: bp.Cell;
  input: HTMLInputElement;
  mark: HTMLElement;
  td: HTMLTableCellElement;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Typeset math with its plain text beside it for screen readers and checkers (KaTeX's own MathML is not read as a header's text everywhere). */
function math(latex: string, text: string): HTMLElement {
  const wrap = el("span");
  const span = el("span");
  span.setAttribute("aria-hidden", "true");
  katex.render(latex, span, { throwOnError: false });
  wrap.append(span, el("span", text, "visually-hidden"));
  return wrap;
}

/** How a box is read aloud: what the number is. */
function describe(c: bp.Cell): string {
  switch (c.kind) {
    case "value":
      return `forward value of ${c.name}`;
    case "grad":
      return `gradient ${c.label}`;
    case "local":
      return `local derivative ${c.label}`;
    case "upstream":
      return `upstream gradient on the edge ${c.from} to ${c.name}${c.label.match(/ \(#\d+\)$/)?.[0] ?? ""}`;
    case "contribution":
      return `contribution of ${c.from} through ${c.name}${c.label.match(/ \(#\d+\)$/)?.[0] ?? ""}`;
  }
}

/** Why a report has no boxes to fill in, or null when it has. */
function unfillable(r: bp.ExplainReport): string | null {
  if (r.abstract) return "A program with abstract functions has no numbers to fill in.";
  if (r.stages.length === 0) return "This program has no stages to work out.";
  if (r.stages.length > MAX_QUIZ_STAGES)
    return `This program has ${r.stages.length} stages, too many to fill in here (at most ${MAX_QUIZ_STAGES}): try a shorter one, or backprop check on the command line.`;
  return null;
}

export class QuizView {
  private boxes = new Map<string, Box>();
  /** What was typed, per program and values, so that toggling or re-explaining the same input keeps it. */
  private typed = new Map<string, Map<string, string>>();
  private done: ExplainDone | null = null;
  private readonly runner: JobRunner<"check">;
  private readonly diagnosis: HTMLElement;
  private readonly tables: HTMLElement;
  /** Called with the stage of the first mistake (null when there is none), to mark it in the graph. */
  onMistake: (stage: string | null) => void = () => {};

  constructor(root: HTMLElement, timeLimitMs: number) {
    this.diagnosis = root.querySelector<HTMLElement>("#quiz-diagnosis")!;
    this.tables = root.querySelector<HTMLElement>("#quiz-tables")!;
    this.runner = new JobRunner(
      "check",
      {
        answer: (a) => this.marked(a),
        busy: (on) => (on ? root.setAttribute("aria-busy", "true") : root.removeAttribute("aria-busy")),
        timedOut: (ms) => this.say([`The check took longer than ${ms / 1000} s and was stopped.`], "notice"),
      },
      timeLimitMs,
    );
  }

  private key(d: ExplainDone): string {
    return `${d.source}\u0000${d.at}`;
  }

  /** Builds the boxes for an explained program (the values typed for the same input come back). */
  show(d: ExplainDone): void {
    this.runner.cancel();
    this.done = d;
    this.boxes = new Map();
    const r = d.report;
    const why = unfillable(r);
    if (why) {
      this.tables.replaceChildren();
      this.say([why], "notice");
      this.onMistake(null);
      return;
    }
    const cells = bp.answerCells(r);
    const typed = this.typed.get(this.key(d)) ?? new Map<string, string>();
    this.typed.set(this.key(d), typed);
    const byKey = new Map(cells.map((c) => [c.key, c]));
    const box = (c: bp.Cell) => this.box(c, typed);
    const boxOf = (key: string) => box(byKey.get(key)!);
    // Built in this order, so that the marks' ids count down the page.
    const stages = this.stageTable(d, boxOf);
    const edges = this.edgeTable(r, cells, box, boxOf);
    const inputs = this.inputTable(r, boxOf);
    this.tables.replaceChildren(...stages, ...edges, ...inputs);
    if (typed.size > 0) this.check(0);
    else this.intro();
  }

  /** A box for one cell, filled with what was typed for it, checked as it is typed. */
  private box(c: bp.Cell, typed: Map<string, string>): HTMLTableCellElement {
    const td = el("td", undefined, "quiz-cell");
    const input = el("input");
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.dataset.cell = c.key;
    input.setAttribute("aria-label", describe(c));
    input.value = typed.get(c.key) ?? "";
    const mark = el("span", "", "mark");
    mark.id = `quiz-mark-${this.boxes.size}`;
    input.setAttribute("aria-describedby", mark.id);
    input.addEventListener("input", () => {
      if (input.value.trim() === "") typed.delete(c.key);
      else typed.set(c.key, input.value);
      this.check();
    });
    td.append(input, mark);
    this.boxes.set(c.key, { cell: c, input, mark, td });
    return td;
  }

  /** Forward values and stage gradients, one row per stage. */
  private stageTable(d: ExplainDone, box: (key: string) => HTMLTableCellElement): HTMLElement[] {
    const stages = this.table("Forward pass and the gradient of each stage", ["stage", "value", "gradient"]);
    d.report.stages.forEach((s, i) => {
      const tr = stages.body.insertRow();
      tr.dataset.stage = s.name;
      const th = el("th");
      th.scope = "row";
      th.append(math(`${s.name} = ${d.stageLatex[i].equation}`, s.equation));
      tr.append(th, box(`value:${s.name}`), box(`grad:${s.name}`));
    });
    return stages.wrap;
  }

  /** Each edge's local derivative, upstream gradient and contribution, in backward order. */
  private edgeTable(
    r: bp.ExplainReport,
    cells: bp.Cell[],
    box: (c: bp.Cell) => HTMLTableCellElement,
    boxOf: (key: string) => HTMLTableCellElement,
  ): HTMLElement[] {
    const edges = this.table("Backward pass, edge by edge", ["local derivative", "local", "upstream", "contribution"]);
    for (const c of cells) {
      if (c.kind !== "local") continue;
      const tr = edges.body.insertRow();
      const th = el("th");
      th.scope = "row";
      const tag = c.label.match(/\(#\d+\)$/)?.[0];
      th.append(math(`\\dfrac{\\partial ${c.name}}{\\partial ${c.from}}`, `d${c.name}/d${c.from}`));
      if (tag) th.append(` ${tag}`);
      const same = (kind: string) => c.key.replace(/^local:/, `${kind}:`);
      // An array stage's local derivative is a Jacobian the report does not hold (it applies a vector-Jacobian product): not asked.
      const local = r.edges[c.edge!].localValue === null ? el("td", "not asked (a Jacobian)", "quiz-na") : box(c);
      tr.append(th, local, boxOf(same("upstream")), boxOf(same("contribution")));
    }
    return edges.wrap;
  }

  /** The inputs' gradients, beside their given values. */
  private inputTable(r: bp.ExplainReport, box: (key: string) => HTMLTableCellElement): HTMLElement[] {
    const inputs = this.table("Gradients of the inputs", ["input", "value", "gradient"]);
    for (const n of r.inputs) {
      const tr = inputs.body.insertRow();
      const th = el("th", n);
      th.scope = "row";
      tr.append(th, el("td", bp.fmtValue(r.inputValues[n])), box(`grad:${n}`));
    }
    return inputs.wrap;
  }

  private intro(): void {
    this.say(["Fill in the boxes: each number is checked as you type it (rounding to 3 significant digits counts as right)."], "intro");
    this.onMistake(null);
  }

  /** A titled table in a scrolling region (a heading, not a caption: a caption is only as wide as its table). */
  private table(title: string, headers: string[]): { wrap: HTMLElement[]; body: HTMLTableSectionElement } {
    const h = el("h3", title);
    h.id = `quiz-h-${title.split(" ")[0].toLowerCase()}`;
    const wrap = el("div", undefined, "scroll");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-labelledby", h.id);
    const t = el("table", undefined, "quiz-table");
    const head = t.createTHead().insertRow();
    for (const h of headers) {
      const th = el("th", h);
      th.scope = "col";
      head.append(th);
    }
    wrap.append(t);
    return { wrap: [h, wrap], body: t.createTBody() };
  }

  /** Starts a check of every filled box (after the debounce, unless `delay` is 0). */
  private check(delay = DEBOUNCE_MS): void {
    const d = this.done;
    if (!d) return;
    const values: Record<string, string> = {};
    for (const b of this.boxes.values()) if (b.input.value.trim() !== "") values[b.cell.label] = b.input.value;
    if (Object.keys(values).length === 0) {
      this.runner.cancel();
      for (const b of this.boxes.values()) this.setMark(b, null);
      return this.intro();
    }
    this.runner.schedule(() => ({ kind: "check", source: d.source, at: d.at, values }), delay);
  }

  private marked(a: CheckAnswer): void {
    if (!a.ok) {
      this.say([a.error], "error");
      return;
    }
    const res = a.result;
    const labelOf = (key: string) => res.cells.find((c) => c.cell.key === key)?.cell.label ?? key;
    for (const c of res.cells) {
      const b = this.boxes.get(c.cell.key);
      if (!b) continue;
      if (a.unreadable[c.cell.key]) this.setMark(b, "unreadable", a.unreadable[c.cell.key]);
      else if (c.verdict === "blank") this.setMark(b, null);
      else if (c.verdict === "carried") this.setMark(b, "carried", `right from your earlier numbers: carried forward from ${labelOf(c.carriedFrom!)}`);
      else if (c.verdict === "wrong")
        this.setMark(b, "wrong", c.mistake ? `${c.mistake.kind}${c.cell.key === res.first?.cell ? ": the first mistake" : ""}` : "");
      else this.setMark(b, "right", "");
    }
    const lines: string[] = [];
    if (res.first) {
      lines.push(`First mistake: ${res.first.message}`);
      if (res.first.rule && !res.first.message.includes(res.first.rule)) lines.push(`Rule needed: ${res.first.rule}`);
    } else if (res.counts.right > 0) lines.push("All right so far.");
    const bad = Object.keys(a.unreadable).length;
    if (bad) lines.push(`${bad} box${bad > 1 ? "es are" : " is"} not a number: ${Object.values(a.unreadable)[0]}`);
    lines.push(res.summary);
    if (res.first && this.done?.report.stages.some((s) => s.name === res.first!.stage))
      lines.push(`The stage of the first mistake, ${res.first.stage}, is ringed in red in the graph.`);
    this.say(lines, res.first ? "mistake" : bad ? "error" : "right");
    this.diagnosis.dataset.text = a.text;
    this.onMistake(res.first?.stage ?? null);
  }

  private setMark(b: Box, verdict: keyof typeof MARKS | null, detail = ""): void {
    b.td.dataset.verdict = verdict ?? "blank";
    b.mark.textContent = verdict ? MARKS[verdict] : "";
    b.mark.title = detail;
    // The detail is read with the mark (aria-describedby), not only shown on hover.
    if (detail) b.mark.append(el("span", `: ${detail}`, "visually-hidden"));
    if (verdict === "wrong" || verdict === "unreadable") b.input.setAttribute("aria-invalid", "true");
    else b.input.removeAttribute("aria-invalid");
  }

  private say(lines: string[], tone: string): void {
    this.diagnosis.className = `quiz-diagnosis ${tone}`;
    this.diagnosis.replaceChildren(...lines.map((l) => el("p", l)));
  }

  /** Quiz mode was left or the program changed: no check is pending. */
  stop(): void {
    this.runner.cancel();
  }
}
