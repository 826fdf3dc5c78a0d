/**
 * The LaTeX sheets: an article for pdflatex, each exercise with its question and, where it has a
 * program, the explainer's TikZ graph: blank on the handout (only the given inputs' values), filled in
 * the key (forward values, gradients, local derivatives), followed by the explainer's LaTeX derivation.
 */
import { toTikz } from "../../renderers/figures.js";
import { valueCell, verbatimLatex } from "../../renderers/format.js";
import { buildGraph, type Graph } from "../../renderers/graph.js";
import type { EdgeReport, ExplainReport, StageReport } from "../../report/report.js";
import { sheetCommand, sheetTitle, type SheetInfo } from "./render.js";
import { nameTex, texWords, valueTex } from "./text.js";
import type { Exercise } from "./types.js";

/** Characters the explainer's text may carry that pdflatex's default fonts lack, mapped to math. */
const UNICODE: readonly [string, string][] = [
  ["×", "\\times"],
  ["−", "-"],
  ["·", "\\cdot"],
  ["∂", "\\partial"],
  ["σ", "\\sigma"],
  ["→", "\\to"],
  ["←", "\\leftarrow"],
  ["≠", "\\neq"],
  ["≤", "\\leq"],
  ["≥", "\\geq"],
  ["ᵀ", "^{\\top}"],
  ["⊙", "\\odot"],
  ["η", "\\eta"],
  ["θ", "\\theta"],
  ["Σ", "\\Sigma"],
  ["π", "\\pi"],
  ["δ", "\\delta"],
];

function preamble(title: string, colors: readonly string[]): string[] {
  return [
    "\\documentclass[11pt]{article}",
    "\\usepackage[margin=2cm]{geometry}",
    "\\usepackage[utf8]{inputenc}",
    "\\usepackage{amsmath,amssymb,graphicx,tikz,newunicodechar}",
    "\\usetikzlibrary{arrows.meta}",
    ...UNICODE.map(([c, t]) => `\\newunicodechar{${c}}{\\ensuremath{${t}}}`),
    ...colors,
    "\\setlength{\\parindent}{0pt}",
    "\\setlength{\\parskip}{0.6em}",
    "\\begin{document}",
    `\\section*{${texWords(title)}}`,
  ];
}

/** The handout's graph: the same layout, with only the inputs' given values on their wires. */
function blankGraph(r: ExplainReport): Graph {
  const g = buildGraph(r);
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, sum: null })),
    edges: g.edges.map((e) => ({ ...e, value: Object.hasOwn(r.inputValues, e.from) ? e.value : "", grad: "", computed: true, localLatex: "" })),
  };
}

/** The tikzpicture of toTikz's standalone document, scaled down to the line width when wider, and its colour definitions. */
function figure(r: ExplainReport, blank: boolean): { body: string[]; colors: string[] } {
  const doc = toTikz(r, blank ? blankGraph(r) : buildGraph(r));
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => l.startsWith("\\begin{tikzpicture}"));
  const end = lines.findIndex((l) => l.startsWith("\\end{tikzpicture}"));
  return {
    colors: lines.filter((l) => l.startsWith("\\definecolor")),
    body: ["\\begin{center}", "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%", ...lines.slice(start, end + 1), "}", "\\end{center}"],
  };
}

/** A table scaled down to the line width when wider. */
function fitted(lines: readonly string[]): string[] {
  return ["\\begin{center}", "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%", ...lines, "}", "\\end{center}"];
}

/** A value cell (number, or small array with its shape) as LaTeX text. */
function cell(v: Parameters<typeof valueCell>[0]): string {
  return texWords(valueCell(v));
}

/** An edge's local derivative: an array stage's matrix rule with its shapes, the derivative in LaTeX, or its code verbatim. */
function localTex(s: StageReport, e: EdgeReport): string {
  const rule = s.rule && Object.hasOwn(s.rule, e.from) ? s.rule[e.from] : undefined;
  if (rule) return `$${rule.latex}$ \\ ${texWords(rule.shapes)}`;
  // Slashed, not stacked: a table row has no room for a stacked fraction.
  const d = `\\partial ${nameTex(s.name)} / \\partial ${nameTex(e.from)}`;
  return e.localLatex !== null ? `$${d} = ${e.localLatex}$` : `$${d}$: ${verbatimLatex(e.local)}`;
}

/**
 * The explainer's stage table in LaTeX: the forward pass (each stage's equation, value and gradient), then
 * the backward pass in reverse (each edge's local derivative, its value, the upstream gradient and the
 * contribution it passes on), then the symbolic derivatives and the chain rule where the report has them.
 */
export function stageTablesLatex(r: ExplainReport): string[] {
  const out = [
    "Forward pass (one operation per stage):",
    ...fitted([
      "\\begin{tabular}{llll}",
      "\\hline",
      "stage & equation & value & gradient \\\\",
      "\\hline",
      ...r.stages.map((s) => `$${nameTex(s.name)}$ & $${nameTex(s.name)} = ${s.expressionLatex}$ & ${cell(s.value)} & ${cell(s.grad)} \\\\`),
      "\\hline",
      "\\end{tabular}",
    ]),
    "Backward pass (stages in reverse):",
  ];
  const rows: string[] = [];
  for (const s of [...r.stages].reverse()) {
    for (const e of r.edges.filter((x) => x.to === s.name)) {
      const local = localTex(s, e).split(" \\\\ ");
      rows.push(
        `$${nameTex(s.name)}$ & ${local[0]}${local[1] ? ` \\quad ${local[1]}` : ""} & ${e.localValue === null ? "" : cell(e.localValue)} & ${cell(e.upstream)} & $${nameTex(e.from)}$ $\\leftarrow$ ${cell(e.contribution)} \\\\`,
      );
    }
  }
  out.push(
    ...fitted([
      "\\begin{tabular}{lllll}",
      "\\hline",
      "stage & local derivative & local & upstream & contribution \\\\",
      "\\hline",
      ...rows,
      "\\hline",
      "\\end{tabular}",
    ]),
  );
  const grads = r.inputs.map((x) => `\\frac{\\partial ${nameTex(r.output)}}{\\partial ${nameTex(x)}} &= ${valueTex(r.gradients[x])}`);
  out.push("Gradients of the inputs (fan-out contributions summed):", "\\begin{align*}", grads.join(" \\\\\n"), "\\end{align*}");
  if (r.inputChains) {
    out.push(
      "Chain rule (each input over the stages that consume it):",
      "\\begin{align*}",
      Object.values(r.inputChains)
        .map((c) => c.latex.replace(" = ", " &= "))
        .join(" \\\\\n"),
      "\\end{align*}",
    );
  }
  if (r.derivativesLatex) {
    const lines = Object.entries(r.derivativesLatex).map(([x, d]) => `\\frac{\\partial ${nameTex(r.output)}}{\\partial ${nameTex(x)}} &= ${d}`);
    out.push("Symbolic derivatives:", "\\begin{align*}", lines.join(" \\\\\n"), "\\end{align*}");
  }
  if (r.step) {
    const lines = r.step.updates.map(
      (u) => `${nameTex(u.name)} &\\leftarrow ${cell(u.from)} - ${r.step!.lr} \\cdot (${cell(r.gradients[u.name])}) = ${cell(u.to)}`,
    );
    out.push(`One descent step, learning rate ${r.step.lr}:`, "\\begin{align*}", lines.join(" \\\\\n"), "\\end{align*}");
  }
  return out;
}

function sheet(exercises: readonly Exercise[], title: string, intro: string, body: (ex: Exercise, i: number, colors: Set<string>) => string[]): string {
  const colors = new Set<string>();
  const parts = exercises.flatMap((ex, i) => [`\\subsection*{${i + 1}. ${texWords(ex.title)}}`, ...body(ex, i, colors), ""]);
  return [...preamble(title, [...colors]), intro, "", ...parts, "\\end{document}", ""].join("\n");
}

export function latexHandout(exercises: readonly Exercise[], info: SheetInfo): string {
  const intro = `${exercises.length} exercise${exercises.length > 1 ? "s" : ""}; the answer key is a separate sheet. Regenerate with \\texttt{${texWords(sheetCommand(info))}}.`;
  return sheet(exercises, `Exercises: ${sheetTitle(info)}`, intro, (ex, _i, colors) => {
    // One box per exercise, so that a question and its graph stay on the same page.
    const out = ["\\begin{minipage}{\\linewidth}", "\\setlength{\\parskip}{0.6em}", ex.questionLatex];
    if (ex.figure && ex.key.report) {
      const f = figure(ex.key.report, true);
      f.colors.forEach((c) => colors.add(c));
      out.push("", "The computational graph, to fill in: forward values above the wires, gradients below.", ...f.body);
    }
    out.push("\\end{minipage}", "\\vspace{2em}");
    return out;
  });
}

export function latexKey(exercises: readonly Exercise[], info: SheetInfo): string {
  const intro = `Computed by the explainer (every stage, checked by central differences). Regenerate with \\texttt{${texWords(sheetCommand(info))}}.`;
  return sheet(exercises, `Answer key: ${sheetTitle(info)}`, intro, (ex, _i, colors) => {
    const out = ["\\emph{Answers}", "\\begin{itemize}\\setlength{\\itemsep}{0pt}"];
    for (const a of ex.key.answers)
      out.push(`\\item $${a.labelLatex} = ${a.latex}$${a.value === null && a.text.startsWith("error") ? `: ${texWords(a.text.replace(/^error: /, ""))}` : ""}`);
    out.push("\\end{itemize}");
    if (ex.key.stepsLatex)
      out.push("Working:", "\\begin{itemize}\\setlength{\\itemsep}{0pt}", ...ex.key.stepsLatex.map((s) => `\\item ${s}`), "\\end{itemize}");
    const r = ex.key.report;
    if (r) {
      const f = figure(r, false);
      f.colors.forEach((c) => colors.add(c));
      out.push(...f.body, "{\\small", ...stageTablesLatex(r), "}");
    }
    return out;
  });
}
