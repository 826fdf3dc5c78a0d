/**
 * Blank stage tables (`explain --blank`): the explainer's table layout with the numbers left out, for a
 * student to fill in and hand to `check`. Every format parses back as an answer (answers.ts): the stage
 * table (stage, equation, value, gradient), the backward table (stage, local derivative, local,
 * upstream, contribution; the local derivative named, not given) and the inputs' gradients.
 */
import { printExpr } from "../language/print.js";
import { fmtValue, type ExplainReport } from "../report/report.js";
import { toJson } from "../renderers/json.js";
import { answerCells } from "./cells.js";
import { type AnswerFileFormat } from "./answers.js";

/** What a blank cell of the text table shows (columns there are set apart by spaces, so it cannot be empty). */
export const TEXT_BLANK = "____";

const HEAD_STAGES = ["stage", "equation", "value", "gradient"];
const HEAD_EDGES = ["stage", "local derivative", "local", "upstream", "contribution"];
const HEAD_INPUTS = ["input", "gradient"];

interface BlankRows {
  stages: string[][];
  edges: string[][];
  inputs: string[][];
}

/** The rows of the three tables with empty cells; the local derivative named as dc/da. */
function rows(r: ExplainReport): BlankRows {
  const stageOf = (n: string) => r.stages.find((s) => s.name === n)!;
  const cells = answerCells(r);
  return {
    stages: r.stages.map((s) => [s.name, s.equation, "", ""]),
    edges: cells.filter((c) => c.kind === "local").map((c) => [stageOf(c.name).equation, `d${c.name}/d${c.from}`, "", "", `${c.from} <- `]),
    inputs: cells.filter((c) => c.kind === "grad" && r.inputs.includes(c.name)).map((c) => [c.name, ""]),
  };
}

function atText(r: ExplainReport): string {
  return r.inputs.map((n) => `${n} = ${fmtValue(r.inputValues[n] ?? null)}`).join(", ");
}

function alignTable(table: string[][]): string[] {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return table.map((row) => `  ${row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join("   ")}`.trimEnd());
}

function blankText(r: ExplainReport): string {
  const b = rows(r);
  const fill = (row: string[], from: number) => row.map((c, i) => (i < from ? c : c.endsWith("<- ") ? `${c}${TEXT_BLANK}` : TEXT_BLANK));
  const lines = [`${r.source.trim()}   at ${atText(r)}`, "", `Fill in every ${TEXT_BLANK} (then: backprop check PROGRAM --at ... --answer-file FILE)`, ""];
  lines.push("Forward pass (one operation per stage)", ...alignTable([HEAD_STAGES, ...b.stages.map((row) => fill(row, 2))]), "");
  lines.push("Backward pass (stages in reverse: contribution = upstream x local)", ...alignTable([HEAD_EDGES, ...b.edges.map((row) => fill(row, 2))]), "");
  const cells = answerCells(r).filter((c) => c.kind === "grad" && r.inputs.includes(c.name));
  lines.push("Gradients", ...cells.map((c) => `  ${c.label} = ${TEXT_BLANK}`));
  return lines.join("\n");
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|");

function blankMarkdown(r: ExplainReport): string {
  const b = rows(r);
  const table = (head: string[], body: string[][], code: number[]) => [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...body.map((row) => `| ${row.map((c, i) => (code.includes(i) && c ? `\`${mdCell(c)}\`` : mdCell(c))).join(" | ")} |`.replace(/ {2,}\|/g, " |")),
  ];
  return [
    `### Backprop through \`${mdCell(r.source.trim())}\`: fill in the blanks`,
    "",
    `At ${r.inputs.map((n) => `\`${n} = ${fmtValue(r.inputValues[n] ?? null)}\``).join(", ")}.`,
    "",
    ...table(HEAD_STAGES, b.stages, [1]),
    "",
    ...table(HEAD_EDGES, b.edges, [0, 1]),
    "",
    ...table(HEAD_INPUTS, b.inputs, []),
    "",
  ].join("\n");
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function blankCsv(r: ExplainReport): string {
  const b = rows(r);
  const block = (head: string[], body: string[][]) => [head, ...body].map((row) => row.map(csvField).join(","));
  return [
    ...block(HEAD_STAGES, b.stages),
    "",
    ...block(
      HEAD_EDGES,
      b.edges.map((row) => [...row.slice(0, 4), ""]),
    ),
    "",
    ...block(HEAD_INPUTS, b.inputs),
    "",
  ].join("\n");
}

function blankLatex(r: ExplainReport): string {
  const name = (n: string) => `$${printExpr({ kind: "var", name: n }, "latex")}$`;
  const stageOf = (n: string) => r.stages.find((s) => s.name === n)!;
  const eq = (n: string) => `$${printExpr({ kind: "var", name: n }, "latex")} = ${stageOf(n).expressionLatex}$`;
  const cells = answerCells(r);
  const tabular = (head: string[], body: string[][]) => [
    `\\begin{tabular}{${"l".repeat(head.length)}}`,
    "\\hline",
    `${head.join(" & ")} \\\\`,
    "\\hline",
    ...body.map((row) => `${row.join(" & ")} \\\\`),
    "\\hline",
    "\\end{tabular}",
  ];
  const partial = (to: string, from: string) =>
    `$\\frac{\\partial ${printExpr({ kind: "var", name: to }, "latex")}}{\\partial ${printExpr({ kind: "var", name: from }, "latex")}}$`;
  return [
    `% Backprop through ${r.source.trim().replace(/\n/g, " ")} at ${atText(r)}: fill in the blanks`,
    "",
    ...tabular(
      HEAD_STAGES,
      r.stages.map((s) => [name(s.name), eq(s.name), "", ""]),
    ),
    "",
    "\\bigskip",
    "",
    ...tabular(
      HEAD_EDGES,
      cells.filter((c) => c.kind === "local").map((c) => [eq(c.name), partial(c.name, c.from!), "", "", ""]),
    ),
    "",
    "\\bigskip",
    "",
    ...tabular(
      HEAD_INPUTS,
      cells.filter((c) => c.kind === "grad" && r.inputs.includes(c.name)).map((c) => [name(c.name), ""]),
    ),
    "",
  ].join("\n");
}

function blankJson(r: ExplainReport): string {
  const cells = answerCells(r);
  return toJson(
    {
      source: r.source,
      at: r.inputValues,
      stages: r.stages.map((s) => ({ name: s.name, equation: s.equation, value: null, grad: null })),
      edges: cells
        .filter((c) => c.kind === "local")
        .map((c) => ({ to: c.name, from: c.from, local: `d${c.name}/d${c.from}`, localValue: null, upstream: null, contribution: null })),
      gradients: Object.fromEntries(r.inputs.map((n) => [n, null])),
    },
    2,
  );
}

/** The blank stage table of a report in one of the answer formats. */
export function blankTable(r: ExplainReport, format: AnswerFileFormat): string {
  if (r.abstract) throw new Error(`a program with abstract functions (${r.abstract.functions.join(", ")}) has no values to fill in`);
  switch (format) {
    case "table":
      return blankText(r);
    case "markdown":
      return blankMarkdown(r);
    case "csv":
      return blankCsv(r);
    case "latex":
      return blankLatex(r);
    case "json":
      return blankJson(r);
  }
}
