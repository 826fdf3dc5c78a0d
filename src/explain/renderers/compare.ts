/**
 * `--compare-granularity`: both views of one program (gates one stage each, gates staged into
 * primitives), each printed as its own report, then their gradients side by side.
 */
import { fmtNumber, fmtValue } from "../report/report.js";
import { type GranularityComparison } from "../report/granularity.js";
import { formatLatex, formatMarkdown, formatTable, valueCell } from "./format.js";
import { toJson } from "./json.js";

export type CompareFormat = "table" | "markdown" | "latex" | "json";
export const COMPARE_FORMATS: readonly CompareFormat[] = ["table", "markdown", "latex", "json"];

const verdict = (c: GranularityComparison): string =>
  c.gates.abstract
    ? "no gradients to compare: a program with abstract functions has no values (compare the symbolic derivatives above)"
    : c.agree
      ? `the gradients agree (to ${c.tolerance} of the larger magnitude, or absolutely below 1): one gate with its local derivative and its primitive stages chained give the same gradient`
      : "the gradients DIFFER between the two views";

function heading(c: GranularityComparison, which: "gates" | "primitives"): string {
  const n = c.stageCounts[which];
  return which === "gates" ? `Gates, one stage each (${n} stages)` : `Gates staged into primitives (${n} stages)`;
}

/** Rows of the gradient comparison: input, both gradients, the largest difference, agreement. */
function rows(c: GranularityComparison): string[][] {
  return c.gradients.map((g) => [g.name, valueCell(g.gates), valueCell(g.primitives), fmtNumber(g.maxAbsDiff), g.agree ? "yes" : "NO"]);
}

const HEAD = ["input", "gradient (gates)", "gradient (primitives)", "max |difference|", "agree"];

function textTable(table: string[][]): string {
  const widths = table[0].map((_, j) => Math.max(...table.map((r) => r[j].length)));
  return table
    .map(
      (r) =>
        "  " +
        r
          .map((x, j) => x.padEnd(widths[j]))
          .join("   ")
          .trimEnd(),
    )
    .join("\n");
}

export function compareTable(c: GranularityComparison): string {
  return [
    `Granularity: ${c.source}`,
    "",
    `=== ${heading(c, "gates")} ===`,
    formatTable(c.gates),
    "",
    `=== ${heading(c, "primitives")} ===`,
    formatTable(c.primitives),
    "",
    "=== Gradients, side by side ===",
    textTable([HEAD, ...rows(c)]),
    `  ${verdict(c)}`,
  ].join("\n");
}

export function compareMarkdown(c: GranularityComparison): string {
  const line = (r: string[]) => `| ${r.map((x) => x.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [
    `# Granularity: \`${c.source}\``,
    "",
    `## ${heading(c, "gates")}`,
    "",
    formatMarkdown(c.gates),
    "",
    `## ${heading(c, "primitives")}`,
    "",
    formatMarkdown(c.primitives),
    "",
    "## Gradients, side by side",
    "",
    line(HEAD),
    line(HEAD.map(() => "---")),
    ...rows(c).map(line),
    "",
    verdict(c),
  ].join("\n");
}

export function compareLatex(c: GranularityComparison): string {
  const esc = (s: string) => s.replace(/[_&%#$]/g, (m) => `\\${m}`);
  return [
    `% ${heading(c, "gates")}`,
    formatLatex(c.gates),
    "",
    `% ${heading(c, "primitives")}`,
    formatLatex(c.primitives),
    "",
    "% Gradients, side by side",
    "\\begin{tabular}{lllll}",
    "\\hline",
    `${HEAD.map(esc).join(" & ")} \\\\`,
    "\\hline",
    ...c.gradients.map(
      (g) => `$${esc(g.name)}$ & ${fmtValue(g.gates)} & ${fmtValue(g.primitives)} & ${fmtNumber(g.maxAbsDiff)} & ${g.agree ? "yes" : "no"} \\\\`,
    ),
    "\\hline",
    "\\end{tabular}",
    "",
    `% ${verdict(c)}`,
  ].join("\n");
}

/** The comparison as JSON: both reports whole, the stage counts and the gradients side by side. */
export function compareJson(c: GranularityComparison): string {
  return toJson({ granularity: c }, 2);
}

export const COMPARE_RENDER: { readonly [F in CompareFormat]: (c: GranularityComparison) => string } = {
  table: compareTable,
  markdown: compareMarkdown,
  latex: compareLatex,
  json: compareJson,
};
