/** Text renderings of an explanation: the terminal table, Markdown and LaTeX. */
import { own } from "./ast.js";
import { fmtNumber, fmtValue, type EdgeReport, type ExplainReport, type StageReport, type Value } from "./explain.js";
import { parseExpression } from "./parser.js";
import { printExpr } from "./print.js";

/** A fan-out sum written out, shortened past 8 terms. */
export function sumText(terms: readonly string[]): string {
  return terms.length <= 8 ? terms.join(" + ") : `${terms.slice(0, 4).join(" + ")} + ... + ${terms[terms.length - 1]} (${terms.length} terms)`;
}

/** Why the symbolic derivatives are missing, when they were too large to compute. */
export function tooLargeText(r: ExplainReport): string | null {
  const t = r.derivativesTooLarge;
  return t ? `too large to show: about ${fmtNumber(t.size)} nodes before simplification (the limit is ${t.limit}); the gradients above are exact` : null;
}

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
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("   ").trimEnd());
}

/** Arrays up to this many elements show their values beside their shape; larger ones show the shape. */
export const ARRAY_VALUES_SHOWN = 6;

function valueWithShape(v: Value, shape: readonly number[]): string {
  if (shape.length === 0) return fmtValue(v);
  const size = shape.reduce((a, b) => a * b, 1);
  return size <= ARRAY_VALUES_SHOWN ? `${fmtValue(v)} ${shapeText(shape)}` : shapeText(shape);
}

/** A value cell of the text formats: a number, or an array's values (when small) and shape: [1,2] (2,). */
export function valueCell(v: Value | null): string {
  return v === null || typeof v === "number" ? fmtValue(v) : valueWithShape(v, nestedShape(v));
}

function nestedShape(v: Value): number[] {
  const shape: number[] = [];
  for (let x: Value = v; typeof x !== "number"; x = (x as Value[])[0]) {
    shape.push((x as Value[]).length);
    if ((x as Value[]).length === 0) break;
  }
  return shape;
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
  if (!m) return `\\text{${branch.replace(/[_#%&{}$]/g, (c) => `\\${c}`)}}`;
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

export function formatTable(r: ExplainReport): string {
  const lines: string[] = [];
  const at = r.inputs.map((n) => `${n} = ${fmtValue(valueOfInput(r, n))}`).join(", ");
  lines.push(`${r.source.trim()}   at ${at}`, "");
  lines.push("Forward pass (one operation per stage)");
  pushAll(lines, table([["stage", "value"], ...r.stages.map((s) => [s.equation, valueWithShape(s.value, s.shape)])]));
  lines.push(`  output ${r.output} = ${fmtValue(r.value)}`, "");
  lines.push("Backward pass (stages in reverse: contribution = upstream x local)");
  pushAll(lines, table(edgeRows(r)));
  lines.push("", "Gradients (contributions summed where an input fans out)");
  pushAll(lines, gradientSums(r).map((l) => `  ${l}`));
  if (r.derivatives) {
    lines.push("", "Symbolic derivatives");
    for (const n of r.inputs) lines.push(`  d${r.output}/d${n} = ${own(r.derivatives, n)}`);
  }
  const tooLarge = tooLargeText(r);
  if (tooLarge) lines.push("", "Symbolic derivatives", `  ${tooLarge}`);
  if (r.matrixDerivatives) {
    lines.push("", "Matrix derivatives (denominator convention, checked against the gradients)");
    pushAll(lines, matrixLines(r, "text").map((l) => `  ${l}`));
  }
  if (r.check) {
    lines.push("", "Gradient check (central differences, float64)");
    pushAll(lines, table([["input", "backprop", "numeric", "rel. error", "verdict"], ...r.check.map((c) => [c.name, fmtValue(c.analytic), fmtValue(c.numeric), c.relError.toExponential(1), c.ok ? "ok" : "MISMATCH"])]));
    const cost = checkCostText(r);
    if (cost) lines.push(`  cost: ${cost}`);
  }
  if (r.step) {
    lines.push("", `One gradient-descent step (step size ${r.step.lr}: x -= step * gx)`);
    for (const u of r.step.updates) lines.push(`  ${u.name} = ${fmtValue(u.from)} -> ${fmtValue(u.to)}`);
  }
  if (r.warnings.length) {
    lines.push("", "Warnings");
    pushAll(lines, r.warnings.map((w) => `  ! ${w}`));
  }
  return lines.join("\n");
}

function valueOfInput(r: ExplainReport, name: string): Value | null {
  return r.step?.updates.find((u) => u.name === name)?.from ?? own(r.inputValues, name) ?? null;
}

function md(s: string): string {
  return s.replace(/\|/g, "\\|");
}

export function formatMarkdown(r: ExplainReport): string {
  const out: string[] = [];
  out.push(`### Backprop through \`${md(r.source.trim())}\``, "");
  out.push(`At ${r.inputs.map((n) => `\`${n} = ${fmtValue(own(r.inputValues, n) ?? null)}\``).join(", ")}.`, "");
  out.push("| stage | equation | value | gradient |", "|---|---|---|---|");
  for (const s of r.stages) out.push(`| ${s.name} | \`${md(s.equation)}\` | ${md(valueWithShape(s.value, s.shape))} | ${md(valueCell(s.grad))} |`);
  out.push("", "| stage | local derivative | local | upstream | contribution |", "|---|---|---|---|---|");
  for (const row of edgeRows(r).slice(1)) out.push(`| \`${md(row[0])}\` | \`${md(row[1])}\` | ${md(row[2])} | ${md(row[3])} | ${md(row[4])} |`);
  out.push("", ...gradientSums(r).map((l) => `- \`${md(l)}\``));
  if (r.derivatives) {
    out.push("", "Symbolic derivatives:", "");
    for (const n of r.inputs) out.push(`- $\\frac{\\partial ${r.output}}{\\partial ${n}} = ${own(r.derivativesLatex, n) ?? own(r.derivatives, n)}$`);
  }
  const tooLarge = tooLargeText(r);
  if (tooLarge) out.push("", `Symbolic derivatives: ${tooLarge}.`);
  if (r.matrixDerivatives) out.push("", "Matrix derivatives (denominator convention):", "", ...matrixLines(r, "latex").map((l) => `- $${l}$`));
  const cost = checkCostText(r);
  if (cost) out.push("", `Cost of the gradient check: ${cost}.`);
  if (r.warnings.length) out.push("", ...r.warnings.map((w) => `> **Warning:** ${md(w)}`));
  return out.join("\n") + "\n";
}

function latexOf(text: string): string {
  try {
    return printExpr(parseExpression(text), "latex");
  } catch {
    return `\\texttt{${text.replace(/[_#%&{}$]/g, (c) => `\\${c}`)}}`;
  }
}

function stageLatex(s: StageReport): string {
  return `${s.name} &= ${latexOf(s.expression)}`;
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
  const rule = `\\frac{\\partial ${e.to}}{\\partial ${e.from}} &= ${e.localLatex ?? latexOf(e.local)}`;
  if (!e.branch) return rule;
  const value = e.localValue === null || e.local === fmtNumber(e.localValue) ? "" : ` = ${fmtNumber(e.localValue)}`;
  return `${rule}${value} \\quad (${branchLatex(e.branch)})`;
}

export function formatLatex(r: ExplainReport): string {
  const out: string[] = [];
  out.push("% Staged computation (forward pass)", "\\begin{align*}");
  out.push(r.stages.map(stageLatex).join(" \\\\\n"));
  out.push("\\end{align*}", "", "% Local derivatives (backward pass, stages in reverse)", "\\begin{align*}");
  out.push([...r.edges].map((e) => edgeLatex(e, r.stages)).join(" \\\\\n"));
  out.push("\\end{align*}", "", "\\begin{tabular}{llll}", "\\hline", "stage & value & gradient \\\\", "\\hline");
  for (const s of r.stages) out.push(`$${s.name}$ & ${valueCell(s.value)} & ${valueCell(s.grad)} \\\\`);
  out.push("\\hline", "\\end{tabular}");
  if (r.derivativesLatex) {
    out.push("", "\\begin{align*}");
    out.push(r.inputs.map((n) => `\\frac{\\partial ${r.output}}{\\partial ${n}} &= ${own(r.derivativesLatex, n)}`).join(" \\\\\n"));
    out.push("\\end{align*}");
  }
  const tooLarge = tooLargeText(r);
  if (tooLarge) out.push("", `% Symbolic derivatives: ${tooLarge}`);
  const cost = checkCostText(r);
  if (cost) out.push("", `% Cost of the gradient check: ${cost}`);
  if (r.matrixDerivatives) out.push("", "% Matrix derivatives (denominator convention)", "\\begin{align*}", matrixLines(r, "latex").map((l) => l.replace(" = ", " &= ")).join(" \\\\\n"), "\\end{align*}");
  if (r.warnings.length) out.push("", ...r.warnings.map((w) => `% Warning: ${w.replace(/\n/g, " ")}`));
  return out.join("\n") + "\n";
}
