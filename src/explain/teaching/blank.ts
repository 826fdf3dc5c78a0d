/**
 * Blank stage tables (`explain --blank`): the explainer's table layout with the numbers left out, for a
 * student to fill in and hand to `check`. Every format parses back as an answer (answers.ts): the stage
 * table (stage, equation, value, gradient), the backward table (stage, local derivative, local,
 * upstream, contribution; the local derivative named, not given) and the inputs' gradients. With a
 * `fill`, the same tables come filled in (a test's seeded mistakes, a playground's prefilled quiz).
 */
import { printExpr } from "../language/print.js";
import { fmtValue, type ExplainReport, type Value } from "../report/report.js";
import { toJson } from "../renderers/json.js";
import { answerCells, type Cell } from "./cells.js";
import { type AnswerFileFormat } from "./answers.js";

/** What a blank cell of the text table shows (columns there are set apart by spaces, so it cannot be empty). */
export const TEXT_BLANK = "____";

const HEAD_STAGES = ["stage", "equation", "value", "gradient"];
const HEAD_EDGES = ["stage", "local derivative", "local", "upstream", "contribution"];
const HEAD_INPUTS = ["input", "gradient"];

/** What a student wrote in a cell (null: left blank): for filled-in tables (tests, a playground's prefilled quiz). */
export type Fill = (cell: Cell) => Value | null;

const NO_FILL: Fill = () => null;

/** A filled-in number as a table cell: as given (a student writes 5.47, not 5.472). */
function cellText(v: Value | null): string {
  return v === null ? "" : JSON.stringify(v, (_k, x: unknown) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x)).replace(/"/g, "");
}

interface BlankRows {
  stages: string[][];
  edges: string[][];
  inputs: string[][];
}

/** The rows of the three tables (blank cells empty); the local derivative named as dc/da. */
function rows(r: ExplainReport, fill: Fill): BlankRows {
  const stageOf = (n: string) => r.stages.find((s) => s.name === n)!;
  const cells = answerCells(r);
  const at = (key: string) => cellText(fill(cells.find((c) => c.key === key)!));
  const edgeKey = (kind: string, c: Cell) => c.key.replace(/^local:/, `${kind}:`);
  return {
    stages: r.stages.map((s) => [s.name, s.equation, at(`value:${s.name}`), at(`grad:${s.name}`)]),
    edges: cells
      .filter((c) => c.kind === "local")
      .map((c) => [stageOf(c.name).equation, `d${c.name}/d${c.from}`, at(c.key), at(edgeKey("upstream", c)), `${c.from} <- ${at(edgeKey("contribution", c))}`]),
    inputs: cells.filter((c) => c.kind === "grad" && r.inputs.includes(c.name)).map((c) => [c.name, at(c.key)]),
  };
}

function atText(r: ExplainReport): string {
  return r.inputs.map((n) => `${n} = ${fmtValue(r.inputValues[n] ?? null)}`).join(", ");
}

function alignTable(table: string[][]): string[] {
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return table.map((row) => `  ${row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join("   ")}`.trimEnd());
}

function blankText(r: ExplainReport, fillWith: Fill): string {
  const b = rows(r, fillWith);
  const fill = (row: string[], from: number) => row.map((c, i) => (i < from ? c : c.endsWith("<- ") ? `${c}${TEXT_BLANK}` : c === "" ? TEXT_BLANK : c));
  const lines = [`${r.source.trim()}   at ${atText(r)}`, "", `Fill in every ${TEXT_BLANK} (then: backprop check PROGRAM --at ... --answer-file FILE)`, ""];
  lines.push("Forward pass (one operation per stage)", ...alignTable([HEAD_STAGES, ...b.stages.map((row) => fill(row, 2))]), "");
  lines.push("Backward pass (stages in reverse: contribution = upstream x local)", ...alignTable([HEAD_EDGES, ...b.edges.map((row) => fill(row, 2))]), "");
  const cells = answerCells(r).filter((c) => c.kind === "grad" && r.inputs.includes(c.name));
  lines.push("Gradients", ...cells.map((c) => `  ${c.label} = ${cellText(fillWith(c)) || TEXT_BLANK}`));
  return lines.join("\n");
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|");

function blankMarkdown(r: ExplainReport, fill: Fill): string {
  const b = rows(r, fill);
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

function blankCsv(r: ExplainReport, fill: Fill): string {
  const b = rows(r, fill);
  const block = (head: string[], body: string[][]) => [head, ...body].map((row) => row.map(csvField).join(","));
  // The contribution column holds only the number here (the edge is named by its local derivative).
  const edges = b.edges.map((row) => [...row.slice(0, 4), row[4].replace(/^\S+ <- /, "")]);
  return [...block(HEAD_STAGES, b.stages), "", ...block(HEAD_EDGES, edges), "", ...block(HEAD_INPUTS, b.inputs), ""].join("\n");
}

function blankLatex(r: ExplainReport, fill: Fill): string {
  const b = rows(r, fill);
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
  const locals = cells.filter((c) => c.kind === "local");
  return [
    `% Backprop through ${r.source.trim().replace(/\n/g, " ")} at ${atText(r)}: fill in the blanks`,
    "",
    ...tabular(
      HEAD_STAGES,
      r.stages.map((s, i) => [name(s.name), eq(s.name), b.stages[i][2], b.stages[i][3]]),
    ),
    "",
    "\\bigskip",
    "",
    ...tabular(
      HEAD_EDGES,
      locals.map((c, i) => [eq(c.name), partial(c.name, c.from!), b.edges[i][2], b.edges[i][3], b.edges[i][4].replace(/^\S+ <- /, "")]),
    ),
    "",
    "\\bigskip",
    "",
    ...tabular(
      HEAD_INPUTS,
      b.inputs.map((row) => [name(row[0]), row[1]]),
    ),
    "",
  ].join("\n");
}

function blankJson(r: ExplainReport, fill: Fill): string {
  const cells = answerCells(r);
  const at = (key: string) => fill(cells.find((c) => c.key === key)!);
  return toJson(
    {
      source: r.source,
      at: r.inputValues,
      stages: r.stages.map((s) => ({ name: s.name, equation: s.equation, value: at(`value:${s.name}`), grad: at(`grad:${s.name}`) })),
      edges: cells
        .filter((c) => c.kind === "local")
        .map((c) => ({
          to: c.name,
          from: c.from,
          local: `d${c.name}/d${c.from}`,
          localValue: fill(c),
          upstream: at(c.key.replace(/^local:/, "upstream:")),
          contribution: at(c.key.replace(/^local:/, "contribution:")),
        })),
      gradients: Object.fromEntries(r.inputs.map((n) => [n, at(`grad:${n}`)])),
    },
    2,
  );
}

/** The blank stage table of a report in one of the answer formats. */
export function blankTable(r: ExplainReport, format: AnswerFileFormat, fill: Fill = NO_FILL): string {
  if (r.abstract) throw new Error(`a program with abstract functions (${r.abstract.functions.join(", ")}) has no values to fill in`);
  switch (format) {
    case "table":
      return blankText(r, fill);
    case "markdown":
      return blankMarkdown(r, fill);
    case "csv":
      return blankCsv(r, fill);
    case "latex":
      return blankLatex(r, fill);
    case "json":
      return blankJson(r, fill);
  }
}
