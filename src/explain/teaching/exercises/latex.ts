/**
 * The LaTeX sheets: an article for pdflatex, each exercise with its question and, where it has a
 * program, the explainer's TikZ graph: blank on the handout (only the given inputs' values), filled in
 * the key (forward values, gradients, local derivatives), followed by the explainer's LaTeX derivation.
 */
import { toTikz } from "../../renderers/figures.js";
import { formatLatex } from "../../renderers/format.js";
import { buildGraph, type Graph } from "../../renderers/graph.js";
import type { ExplainReport } from "../../report/report.js";
import { sheetCommand, sheetTitle, type SheetInfo } from "./render.js";
import { texWords } from "./text.js";
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
    "\\usepackage[T1]{fontenc}",
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

function sheet(exercises: readonly Exercise[], title: string, intro: string, body: (ex: Exercise, i: number, colors: Set<string>) => string[]): string {
  const colors = new Set<string>();
  const parts = exercises.flatMap((ex, i) => [`\\subsection*{${i + 1}. ${texWords(ex.title)}}`, ...body(ex, i, colors), ""]);
  return [...preamble(title, [...colors]), intro, "", ...parts, "\\end{document}", ""].join("\n");
}

export function latexHandout(exercises: readonly Exercise[], info: SheetInfo): string {
  const intro = `${exercises.length} exercise${exercises.length > 1 ? "s" : ""}; the answer key is a separate sheet. Regenerate with \\texttt{${texWords(sheetCommand(info))}}.`;
  return sheet(exercises, `Exercises: ${sheetTitle(info)}`, intro, (ex, _i, colors) => {
    const out = [ex.questionLatex];
    if (ex.figure && ex.key.report) {
      const f = figure(ex.key.report, true);
      f.colors.forEach((c) => colors.add(c));
      out.push("", "The computational graph, to fill in: forward values above the wires, gradients below.", ...f.body);
    }
    out.push("\\vspace{2em}");
    return out;
  });
}

export function latexKey(exercises: readonly Exercise[], info: SheetInfo): string {
  const intro = `Computed by the explainer (every stage, checked by central differences). Regenerate with \\texttt{${texWords(sheetCommand(info))}}.`;
  return sheet(exercises, `Answer key: ${sheetTitle(info)}`, intro, (ex, _i, colors) => {
    const out = [`\\emph{${ex.questionLatex.split("\n")[0].length > 0 ? "Answers" : ""}}`, "\\begin{itemize}"];
    for (const a of ex.key.answers)
      out.push(`\\item $${a.labelLatex} = ${a.latex}$${a.value === null && a.text.startsWith("error") ? `: ${texWords(a.text.replace(/^error: /, ""))}` : ""}`);
    out.push("\\end{itemize}");
    if (ex.key.stepsLatex) out.push("Working:", "\\begin{itemize}", ...ex.key.stepsLatex.map((s) => `\\item ${s}`), "\\end{itemize}");
    const r = ex.key.report;
    if (r) {
      const f = figure(r, false);
      f.colors.forEach((c) => colors.add(c));
      out.push(...f.body, "Every stage (the explainer's derivation):", "", "{\\small", formatLatex(r).trimEnd(), "}");
    }
    return out;
  });
}
