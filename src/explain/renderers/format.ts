/** Text renderings of an explanation: the terminal table, Markdown and LaTeX. */
import { own } from "../language/ast.js";
import { fmtNumber, fmtValue, valueShape, type EdgeReport, type ExplainReport, type StageReport, type Value } from "../report/report.js";
import { printExpr } from "../language/print.js";
import { forwardLatexLines, forwardMarkdownLines, forwardTableLines } from "./forward.js";
import { pathsLatex, pathsMarkdown, pathsText } from "./paths-format.js";

/** A fan-out sum written out, shortened past 8 terms. */
export function sumText(terms: readonly string[]): string {
  return terms.length <= 8 ? terms.join(" + ") : `${terms.slice(0, 4).join(" + ")} + ... + ${terms[terms.length - 1]} (${terms.length} terms)`;
}

/** Why the symbolic derivatives are missing, when they were too large to compute. */
export function tooLargeText(r: ExplainReport): string | null {
  const t = r.derivativesTooLarge;
  if (!t) return null;
  // A program with abstract functions has no gradients to point to.
  return `too large to show: about ${fmtNumber(t.size)} nodes before simplification (the limit is ${t.limit})${r.abstract ? "" : "; the gradients above are exact"}`;
}

/** Said where the full derivatives are shown as read, the simplifier having run out of its budget. */
const UNSIMPLIFIED_NOTE = "not simplified: simplifying them took more than the simplifier's step budget; they are exact as written";

/** Heads the per-stage derivatives that stand in for full ones too large to show. */
const PER_STAGE_NOTE = "given per stage instead, each through the names that use it (the chain rule as backprop applies it)";

const counted = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`;

/**
 * The gradient check's cost beside backprop's, in operations: "central differences 2 × 3 inputs × 2 ops
 * = 12 ops; backprop 2 + 4 = 6 ops (2× fewer)". Null without --check.
 */
export function checkCostText(r: ExplainReport): string | null {
  const c = r.checkCost;
  if (!c) return null;
  const compared = c.ratio > 1 ? `${fmtNumber(c.ratio)}× fewer` : c.ratio === 1 ? "as many" : `${fmtNumber(1 / c.ratio)}× more`;
  const central = `central differences 2 × ${counted(c.inputs, "input")} × ${counted(c.forwardOps, "op")} = ${counted(c.centralDifferenceOps, "op")}`;
  return `${central}; backprop ${c.forwardOps} + ${c.backwardOps} = ${counted(c.forwardOps + c.backwardOps, "op")} (${compared})`;
}

function listText(names: readonly string[]): string {
  return names.length <= 8 ? names.join(", ") : `${names.slice(0, 4).join(", ")}, ... ${names[names.length - 1]} (${names.length} stages)`;
}

/** push(...items) overflows the stack for very long programs; this does not. */
function pushAll(to: string[], items: readonly string[]): void {
  for (const x of items) to.push(x);
}

function table(rows: string[][], indent = "  "): string[] {
  const widths = rows[0].map((_, c) => rows.reduce((m, r) => Math.max(m, r[c].length), 0));
  return rows.map(
    (r) =>
      indent +
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c])))
        .join("   ")
        .trimEnd(),
  );
}

/** Expansions longer than this (characters) are listed below the stage table instead of in a column. */
const EXPANSION_COLUMN_WIDTH = 60;

/** Arrays up to this many elements show their values beside their shape; larger ones show the shape. */
export const ARRAY_VALUES_SHOWN = 6;

function valueWithShape(v: Value, shape: readonly number[]): string {
  if (shape.length === 0) return fmtValue(v);
  const size = shape.reduce((a, b) => a * b, 1);
  return size <= ARRAY_VALUES_SHOWN ? `${fmtValue(v)} ${shapeText(shape)}` : shapeText(shape);
}

/** A value cell of the text formats: a number, or an array's values (when small) and shape: [1,2] (2,). */
export function valueCell(v: Value | null): string {
  return v === null || typeof v === "number" ? fmtValue(v) : valueWithShape(v, valueShape(v));
}

/** Shapes as the lecture writes them: (3×2), and (3,) for a vector. */
function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join("×")})`;
}

/** The local derivative cell: an array stage's textbook rule with its shapes, else the derivative. */
function localCell(s: StageReport, e: EdgeReport): string {
  const rule = own(s.rule, e.from);
  return rule ? `${rule.text}   ${rule.shapes}` : `d${s.name}/d${e.from} = ${e.local}`;
}

/** The closed-form matrix gradients, one equation a line (δ definitions first). */
function matrixLines(r: ExplainReport, lang: "text" | "latex"): string[] {
  return Object.values(r.matrixDerivatives ?? {}).map((d) => (lang === "text" ? d.text : d.latex));
}

/** Gradient of each input as its fan-out sum: gx = 4 + 0.8343 = 4.834. */
function gradientSums(r: ExplainReport): string[] {
  const used = new Set(r.stages.flatMap((s) => s.inputs));
  return r.inputs.map((name) => {
    const into = r.edges.filter((e) => e.from === name && e.contribution !== null);
    const total = fmtValue(own(r.gradients, name) ?? null);
    if (into.length === 0) return `g${name} = ${total}${used.has(name) ? "" : `   (the output does not use ${name})`}`;
    if (into.length === 1) return `g${name} = ${total}   (from ${into[0].to})`;
    return `g${name} = ${sumText(into.map((e) => fmtValue(e.contribution)))} = ${total}   (fan-out: ${listText(into.map((e) => e.to))})`;
  });
}

/** The local derivative's value, with the branch a piecewise op takes: 1 (z = 2.5 > 0). */
function localValueText(e: EdgeReport): string {
  const value = e.localValue === null ? "-" : fmtNumber(e.localValue);
  return e.branch ? `${value} (${e.branch})` : value;
}

/** A branch note in LaTeX math: comparisons as symbols, a sentence as text. */
function branchLatex(branch: string): string {
  const m = /^(\S+) = (\S+) (>|<=|<) 0$/.exec(branch);
  const text = (t: string) => `\\text{${t.replace(/[_#%&{}$]/g, (c) => `\\${c}`)}}`;
  // max and min: "x = 2 > y = 1", "x = 1 < 3", "x = y = 1, a tie: split 1/2 each".
  const pair = /^(\w+) = (\S+) (>|<) (?:(\w+) = )?(\S+)$/.exec(branch);
  const name = (n: string) => printExpr({ kind: "var", name: n }, "latex");
  if (pair) return `${name(pair[1])} = ${pair[2]} ${pair[3]} ${pair[4] ? `${name(pair[4])} = ` : ""}${pair[5]}`;
  const tie = /^((?:\w+ = )+)(\S+), (a tie: .*)$/.exec(branch);
  if (tie)
    return `${tie[1]
      .split(" = ")
      .filter((n) => n)
      .map(name)
      .join(" = ")} = ${tie[2]}${text(`, ${tie[3]}`)}`;
  if (!m) return text(branch);
  const op = m[3] === "<=" ? "\\leq" : m[3];
  return `${printExpr({ kind: "var", name: m[1] }, "latex")} = ${m[2]} ${op} 0`;
}

function edgeRows(r: ExplainReport): string[][] {
  const order = [...r.stages].reverse();
  const rows: string[][] = [["stage", "local derivative", "local", "upstream", "contribution"]];
  const into = new Map<string, EdgeReport[]>();
  for (const e of r.edges) {
    const list = into.get(e.to);
    if (list) list.push(e);
    else into.set(e.to, [e]);
  }
  for (const s of order) {
    for (const e of into.get(s.name) ?? []) {
      rows.push([s.equation, localCell(s, e), localValueText(e), valueCell(e.upstream), `${e.from} <- ${valueCell(e.contribution)}`]);
    }
  }
  return rows;
}

/** The chain rule per name, the full derivatives (or why not, and the per-stage form), as text lines. */
function symbolicText(r: ExplainReport): string[] {
  const lines: string[] = [];
  const chain = chainLines(r, "text");
  if (chain.length) {
    lines.push("", "Chain rule (each name's derivative over the stages that consume it)");
    pushAll(
      lines,
      chain.map((l) => `  ${l}`),
    );
  }
  if (r.derivatives) {
    lines.push("", "Symbolic derivatives");
    if (r.derivativesUnsimplified) lines.push(`  (${UNSIMPLIFIED_NOTE})`);
    for (const n of r.inputs) lines.push(`  d${r.output}/d${n} = ${own(r.derivatives, n)}`);
  }
  const tooLarge = tooLargeText(r);
  if (tooLarge) lines.push("", "Symbolic derivatives", `  ${tooLarge}`);
  if (r.derivativesPerStage) lines.push(`  ${PER_STAGE_NOTE}:`, ...r.derivativesPerStage.map((d) => `    ${d.text}`));
  return lines;
}

/**
 * A program with abstract functions has no values: its table shows the stages with their
 * expansions, the local derivatives, the chain rule and the full derivatives, and says why.
 */
function formatAbstractTable(r: ExplainReport): string {
  const lines: string[] = [`${r.source.trim()}   (symbolic: no values)`, ""];
  lines.push("Stages (one operation each) and their expansions");
  pushAll(lines, table([["stage", "expansion"], ...r.stages.map((s) => [s.equation, s.expansion ?? ""])]));
  lines.push(`  output ${r.output}`, "");
  lines.push("Local derivatives (stages in reverse)");
  pushAll(
    lines,
    table([
      ["stage", "local derivative"],
      ...r.edges.map((e) => [r.stages.find((s) => s.name === e.to)?.equation ?? e.to, `∂${e.to}/∂${e.from} = ${e.local}`]),
    ]),
  );
  pushAll(lines, symbolicText(r));
  pushAll(lines, pathsText(r));
  lines.push("", `Note: ${r.abstract?.note ?? ""}`);
  if (r.warnings.length) lines.push("", "Warnings", ...r.warnings.map((w) => `  ! ${w}`));
  return lines.join("\n");
}

export function formatTable(r: ExplainReport): string {
  if (r.abstract) return formatAbstractTable(r);
  const lines: string[] = [];
  const at = r.inputs.map((n) => `${n} = ${fmtValue(valueOfInput(r, n))}`).join(", ");
  lines.push(`${r.source.trim()}   at ${at}`, "");
  pushAll(lines, forwardPassText(r));
  lines.push("Backward pass (stages in reverse: contribution = upstream x local)");
  pushAll(lines, table(edgeRows(r)));
  lines.push("", "Gradients (contributions summed where an input fans out)");
  pushAll(
    lines,
    gradientSums(r).map((l) => `  ${l}`),
  );
  pushAll(lines, pathsText(r));
  pushAll(lines, symbolicText(r));
  if (r.matrixDerivatives) {
    lines.push("", "Matrix derivatives (denominator convention, checked against the gradients)");
    pushAll(
      lines,
      matrixLines(r, "text").map((l) => `  ${l}`),
    );
  }
  pushAll(lines, checkAndStepText(r));
  pushAll(lines, forwardTableLines(r));
  if (r.warnings.length) {
    lines.push("", "Warnings");
    pushAll(
      lines,
      r.warnings.map((w) => `  ! ${w}`),
    );
  }
  return lines.join("\n");
}

/** The forward pass: the stage table (with short expansions as a column) and long expansions below it. */
function forwardPassText(r: ExplainReport): string[] {
  const lines: string[] = [];
  lines.push("Forward pass (one operation per stage)");
  // Short expansions are a column of the stage table (Table 1); long ones would stretch every row,
  // so they get a section of their own below it.
  const expanded = r.stages.some((s) => s.expansion !== undefined);
  const inColumn = expanded && r.stages.every((s) => (s.expansion ?? "").length <= EXPANSION_COLUMN_WIDTH);
  pushAll(
    lines,
    table([
      ["stage", "value", ...(inColumn ? ["expansion"] : [])],
      ...r.stages.map((s) => [s.equation, valueWithShape(s.value, s.shape), ...(inColumn ? [s.expansion ?? ""] : [])]),
    ]),
  );
  lines.push(`  output ${r.output} = ${fmtValue(r.value)}`, "");
  if (expanded && !inColumn) {
    lines.push("Expansions (earlier stages substituted, in terms of the inputs)");
    pushAll(
      lines,
      r.stages.map((s) => `  ${s.name} = ${s.expansion ?? ""}`),
    );
    lines.push("");
  }
  return lines;
}

/** The gradient check (--check) and the gradient-descent step (--step), where asked for. */
function checkAndStepText(r: ExplainReport): string[] {
  const lines: string[] = [];
  if (r.check) {
    lines.push("", "Gradient check (central differences, float64)");
    pushAll(
      lines,
      table([
        ["input", "backprop", "numeric", "rel. error", "verdict"],
        ...r.check.map((c) => [c.name, fmtValue(c.analytic), fmtValue(c.numeric), c.relError.toExponential(1), c.ok ? "ok" : "MISMATCH"]),
      ]),
    );
    const cost = checkCostText(r);
    if (cost) lines.push(`  cost: ${cost}`);
  }
  if (r.step) {
    lines.push("", `One gradient-descent step (step size ${r.step.lr}: x -= step * gx)`);
    for (const u of r.step.updates) lines.push(`  ${u.name} = ${fmtValue(u.from)} -> ${fmtValue(u.to)}`);
  }
  return lines;
}

/**
 * The chain rule of every name with one (expansion.ts), backward: the stages from the output down,
 * then the inputs, as the homework's derivation unrolls it.
 */
function chainLines(r: ExplainReport, lang: "text" | "latex"): string[] {
  const pick = (c: { text: string; latex: string } | undefined) => (c === undefined ? [] : [lang === "text" ? c.text : c.latex]);
  const stages = [...r.stages].reverse().flatMap((s) => pick(s.chain === undefined ? undefined : { text: s.chain, latex: s.chainLatex ?? s.chain }));
  return [...stages, ...r.inputs.flatMap((n) => pick(own(r.inputChains, n)))];
}

function valueOfInput(r: ExplainReport, name: string): Value | null {
  return r.step?.updates.find((u) => u.name === name)?.from ?? own(r.inputValues, name) ?? null;
}

function md(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** The chain rule per name, the full derivatives (or why not, and the per-stage form), as markdown. */
function symbolicMarkdown(r: ExplainReport): string[] {
  const out: string[] = [];
  const chain = chainLines(r, "latex");
  if (chain.length) out.push("", "Chain rule (each name over the stages that consume it):", "", ...chain.map((l) => `- $${l}$`));
  if (r.derivatives) {
    out.push("", "Symbolic derivatives:", "");
    if (r.derivativesUnsimplified) out.push(`_${UNSIMPLIFIED_NOTE[0].toUpperCase()}${UNSIMPLIFIED_NOTE.slice(1)}._`, "");
    for (const n of r.inputs) out.push(`- $\\frac{\\partial ${r.output}}{\\partial ${n}} = ${own(r.derivativesLatex, n) ?? own(r.derivatives, n)}$`);
  }
  const tooLarge = tooLargeText(r);
  if (tooLarge) out.push("", `Symbolic derivatives: ${tooLarge}.`);
  if (r.derivativesPerStage)
    out.push("", `${PER_STAGE_NOTE[0].toUpperCase()}${PER_STAGE_NOTE.slice(1)}:`, "", ...r.derivativesPerStage.map((d) => `- $${d.latex}$`));
  return out;
}

function formatAbstractMarkdown(r: ExplainReport): string {
  const out: string[] = [`### Derivatives of \`${md(r.source.trim())}\``, "", `> **Note:** ${md(r.abstract?.note ?? "")}.`, ""];
  out.push("| stage | equation | expansion |", "|---|---|---|");
  for (const s of r.stages)
    out.push(`| ${s.name} | \`${md(s.equation)}\` | ${s.expansion?.startsWith("too long") ? md(s.expansion) : `$${md(s.expansionLatex ?? "")}$`} |`);
  out.push("", "| stage | local derivative |", "|---|---|");
  for (const e of r.edges)
    out.push(
      `| \`${md(r.stages.find((s) => s.name === e.to)?.equation ?? e.to)}\` | $\\frac{\\partial ${e.to}}{\\partial ${e.from}} = ${md(e.localLatex ?? e.local)}$ |`,
    );
  out.push(...symbolicMarkdown(r), ...pathsMarkdown(r));
  if (r.warnings.length) out.push("", ...r.warnings.map((w) => `> **Warning:** ${md(w)}`));
  return out.join("\n") + "\n";
}

export function formatMarkdown(r: ExplainReport): string {
  if (r.abstract) return formatAbstractMarkdown(r);
  const out: string[] = [];
  out.push(`### Backprop through \`${md(r.source.trim())}\``, "");
  out.push(`At ${r.inputs.map((n) => `\`${n} = ${fmtValue(own(r.inputValues, n) ?? null)}\``).join(", ")}.`, "");
  const expanded = r.stages.some((s) => s.expansion !== undefined);
  out.push(`| stage | equation | value | gradient |${expanded ? " expansion |" : ""}`, `|---|---|---|---|${expanded ? "---|" : ""}`);
  for (const s of r.stages) {
    const expansion = expanded
      ? ` ${s.expansionLatex !== undefined && s.expansion !== undefined && !s.expansion.startsWith("too long") ? `$${md(s.expansionLatex)}$` : md(s.expansion ?? "")} |`
      : "";
    out.push(`| ${s.name} | \`${md(s.equation)}\` | ${md(valueWithShape(s.value, s.shape))} | ${md(valueCell(s.grad))} |${expansion}`);
  }
  out.push("", "| stage | local derivative | local | upstream | contribution |", "|---|---|---|---|---|");
  for (const row of edgeRows(r).slice(1)) out.push(`| \`${md(row[0])}\` | \`${md(row[1])}\` | ${md(row[2])} | ${md(row[3])} | ${md(row[4])} |`);
  out.push("", ...gradientSums(r).map((l) => `- \`${md(l)}\``));
  out.push(...pathsMarkdown(r));
  out.push(...symbolicMarkdown(r));
  if (r.matrixDerivatives) out.push("", "Matrix derivatives (denominator convention):", "", ...matrixLines(r, "latex").map((l) => `- $${l}$`));
  const cost = checkCostText(r);
  if (cost) out.push("", `Cost of the gradient check: ${cost}.`);
  out.push(...forwardMarkdownLines(r));
  if (r.warnings.length) out.push("", ...r.warnings.map((w) => `> **Warning:** ${md(w)}`));
  return out.join("\n") + "\n";
}

/** Text that has no LaTeX form (an array stage's VJP as code), typeset verbatim. */
export function verbatimLatex(text: string): string {
  return `\\texttt{${text.replace(/[_#%&{}$^~\\]/g, (c) => (c === "\\" ? "\\textbackslash{}" : c === "^" || c === "~" ? `\\${c}{}` : `\\${c}`))}}`;
}

function stageLatex(s: StageReport): string {
  return `${s.name} &= ${s.expressionLatex}`;
}

/** A rule's shapes in LaTeX math: (3\times 2) = (3\times 1)(1\times 2), words as text. */
function shapesLatex(shapes: string): string {
  const [math, words] = shapes.split(": ");
  const m = math
    .replace(/×/g, "\\times ")
    .replace(/ᵀ/g, "^\\top")
    .replace(/⊙/g, "\\odot")
    .replace(/⊘/g, "\\oslash")
    .replace(/Σ/g, "\\sum")
    .replace(/scalar/g, "\\text{scalar}")
    .replace(/ broadcast to /g, "\\text{ broadcast to }");
  return words ? `${m}\\text{: ${words}}` : m;
}

function edgeLatex(e: EdgeReport, stages: readonly StageReport[]): string {
  const matrixRule = own(stages.find((s) => s.name === e.to)?.rule, e.from);
  if (matrixRule) return `${matrixRule.latex.replace(" = ", " &= ")} \\quad ${shapesLatex(matrixRule.shapes)}`;
  const rule = `\\frac{\\partial ${e.to}}{\\partial ${e.from}} &= ${e.localLatex ?? verbatimLatex(e.local)}`;
  if (!e.branch) return rule;
  const value = e.localValue === null || e.local === fmtNumber(e.localValue) ? "" : ` = ${fmtNumber(e.localValue)}`;
  return `${rule}${value} \\quad (${branchLatex(e.branch)})`;
}

/** The chain rule per name and the full derivatives (or why not, and the per-stage form), as LaTeX. */
function chainAndDerivativesLatex(r: ExplainReport): string[] {
  const out: string[] = [];
  const chain = chainLines(r, "latex");
  if (chain.length)
    out.push(
      "",
      "% Chain rule (each name over the stages that consume it)",
      "\\begin{align*}",
      chain.map((l) => l.replace(" = ", " &= ")).join(" \\\\\n"),
      "\\end{align*}",
    );
  if (r.derivativesLatex) {
    out.push("", ...(r.derivativesUnsimplified ? [`% ${UNSIMPLIFIED_NOTE}`] : []), "\\begin{align*}");
    out.push(r.inputs.map((n) => `\\frac{\\partial ${r.output}}{\\partial ${n}} &= ${own(r.derivativesLatex, n)}`).join(" \\\\\n"));
    out.push("\\end{align*}");
  }
  const tooLarge = tooLargeText(r);
  if (tooLarge) out.push("", `% Symbolic derivatives: ${tooLarge}`);
  if (r.derivativesPerStage)
    out.push(`% ${PER_STAGE_NOTE}`, "\\begin{align*}", r.derivativesPerStage.map((d) => d.latex.replace(" = ", " &= ")).join(" \\\\\n"), "\\end{align*}");
  return out;
}

function formatAbstractLatex(r: ExplainReport): string {
  const out: string[] = [`% ${r.abstract?.note ?? ""}`, "", "% Staged computation and expansions", "\\begin{align*}"];
  out.push(r.stages.map((s) => `${printExpr({ kind: "var", name: s.name }, "latex")} &= ${s.expressionLatex} && ${s.expansionLatex ?? ""}`).join(" \\\\\n"));
  out.push("\\end{align*}", "", "% Local derivatives (stages in reverse)", "\\begin{align*}");
  out.push(r.edges.map((e) => edgeLatex(e, r.stages)).join(" \\\\\n"));
  out.push("\\end{align*}");
  out.push(...chainAndDerivativesLatex(r), ...pathsLatex(r));
  return out.join("\n") + "\n";
}

export function formatLatex(r: ExplainReport): string {
  if (r.abstract) return formatAbstractLatex(r);
  const out: string[] = [];
  out.push("% Staged computation (forward pass)", "\\begin{align*}");
  out.push(r.stages.map(stageLatex).join(" \\\\\n"));
  if (r.stages.some((s) => s.expansionLatex !== undefined)) {
    out.push("\\end{align*}", "", "% Expansions (earlier stages substituted, in terms of the inputs)", "\\begin{align*}");
    out.push(r.stages.map((s) => `${printExpr({ kind: "var", name: s.name }, "latex")} &= ${s.expansionLatex ?? "\\text{-}"}`).join(" \\\\\n"));
  }
  out.push("\\end{align*}", "", "% Local derivatives (backward pass, stages in reverse)", "\\begin{align*}");
  out.push([...r.edges].map((e) => edgeLatex(e, r.stages)).join(" \\\\\n"));
  out.push("\\end{align*}", "", "\\begin{tabular}{llll}", "\\hline", "stage & value & gradient \\\\", "\\hline");
  for (const s of r.stages) out.push(`$${s.name}$ & ${valueCell(s.value)} & ${valueCell(s.grad)} \\\\`);
  out.push("\\hline", "\\end{tabular}");
  out.push(...chainAndDerivativesLatex(r));
  out.push(...pathsLatex(r));
  const cost = checkCostText(r);
  if (cost) out.push("", `% Cost of the gradient check: ${cost}`);
  if (r.matrixDerivatives)
    out.push(
      "",
      "% Matrix derivatives (denominator convention)",
      "\\begin{align*}",
      matrixLines(r, "latex")
        .map((l) => l.replace(" = ", " &= "))
        .join(" \\\\\n"),
      "\\end{align*}",
    );
  out.push(...forwardLatexLines(r));
  if (r.warnings.length) out.push("", ...r.warnings.map((w) => `% Warning: ${w.replace(/\n/g, " ")}`));
  return out.join("\n") + "\n";
}
