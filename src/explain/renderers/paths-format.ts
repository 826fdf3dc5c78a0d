/**
 * The sum over paths (report.paths, see report/paths.ts) in the text formats: each input's paths to the
 * output with the product of the local derivatives on each, and their sum, the gradient; past the limit,
 * how many paths there are and the fan-out sums instead.
 */
import { own } from "../language/ast.js";
import { printExpr } from "../language/print.js";
import { fmtNumber, type ExplainReport, type FanOutSum, type GradientPath, type InputPaths } from "../report/report.js";

const TITLE = "Paths (each input's gradient as the sum over its paths to the output of the product of the local derivatives along each)";

function countText(p: InputPaths): string {
  return `${p.countText} path${p.countText === "1" ? "" : "s"}`;
}

/** Why an input's paths are not listed. */
function cappedText(p: InputPaths, limit: number): string {
  return `${countText(p)}, more than the limit of ${limit}: see the fan-out sums below`;
}

/** Heads the fan-out sums that stand in for paths past the limit. */
function fanOutTitle(r: ExplainReport): string {
  const capped = r.paths!.inputs.filter((p) => !p.paths).map((p) => p.input);
  return `Fan-out sums instead, for ${capped.join(", ")} (the chain rule per name with its contributions, backward)`;
}

/** A sum of numbers written out, shortened past 8 terms. */
function termsText(terms: readonly string[]): string {
  return terms.length <= 8 ? terms.join(" + ") : `${terms.slice(0, 4).join(" + ")} + ... + ${terms[terms.length - 1]} (${terms.length} terms)`;
}

/** A fan-out sum written out: the name's chain rule from the report (or ∂out/∂name), its contributions and their total. */
function fanOutLine(r: ExplainReport, f: FanOutSum, lang: "text" | "latex", stages: ReadonlyMap<string, { chain?: string; chainLatex?: string }>): string {
  const stage = stages.get(f.name);
  const chain = stage ? (stage.chain === undefined ? undefined : { text: stage.chain, latex: stage.chainLatex ?? stage.chain }) : own(r.inputChains, f.name);
  const name = (n: string) => printExpr({ kind: "var", name: n }, "latex");
  const lhs = lang === "text" ? `∂${r.output}/∂${f.name}` : `\\frac{\\partial ${name(r.output)}}{\\partial ${name(f.name)}}`;
  const total = lang === "text" ? value(f.total) : latexNumber(f.total);
  const terms = termsText(f.terms.map((t) => (lang === "text" ? value(t) : latexNumber(t))));
  return `${chain ? chain[lang] : lhs} = ${f.terms.length > 1 ? `${terms} = ` : ""}${total}`;
}

function fanOutLines(r: ExplainReport, lang: "text" | "latex"): string[] {
  const stages = new Map(r.stages.map((s) => [s.name, s]));
  return (r.paths?.fanOut ?? []).map((f) => fanOutLine(r, f, lang, stages));
}

/**
 * Which stages use a name more than once (x * x): their wires are told apart by operand, since each is
 * a path of its own.
 */
export function repeatedUses(r: ExplainReport): Set<string> {
  return new Set(r.stages.filter((s) => s.inputs.length !== new Set(s.inputs).size).map((s) => s.name));
}

/** The chain of names of a path, x -> a -> f, a wire into a stage that uses its source twice marked by operand: a (operand 2). */
export function pathNames(p: GradientPath, repeated: ReadonlySet<string>, arrow = " -> "): string {
  return p.names.map((n, i) => (i > 0 && repeated.has(n) ? `${n} (operand ${p.argIndices[i - 1] + 1})` : n)).join(arrow);
}

const value = (v: number | null | undefined): string => (v === null || v === undefined ? "-" : fmtNumber(v));

/** The sum line: sum = 1.472 + 4 = 5.472 (the gradient gx = 5.472). */
function sumText(r: ExplainReport, p: InputPaths): string {
  const terms = (p.paths ?? []).map((q) => value(q.value));
  const shown = terms.length <= 8 ? terms.join(" + ") : `${terms.slice(0, 4).join(" + ")} + ... + ${terms[terms.length - 1]}`;
  const grad = own(r.gradients, p.input);
  return `sum = ${terms.length > 1 ? `${shown} = ` : ""}${value(p.sum)}${typeof grad === "number" ? `   (backprop: g${p.input} = ${fmtNumber(grad)})` : ""}`;
}

/** The section of the terminal table. */
export function pathsText(r: ExplainReport): string[] {
  if (!r.paths) return [];
  const repeated = repeatedUses(r);
  const lines = ["", TITLE];
  for (const p of r.paths.inputs) {
    if (!p.paths) {
      lines.push(`  ${p.input}: ${cappedText(p, r.paths.limit)}`);
      continue;
    }
    lines.push(`  ${p.input}: ${countText(p)}`);
    const names = p.paths.map((q) => pathNames(q, repeated));
    const width = Math.max(0, ...names.map((n) => n.length));
    p.paths.forEach((q, i) => lines.push(`    ${i + 1}. ${names[i].padEnd(width)}   ${q.product}${q.value === null ? "" : ` = ${value(q.value)}`}`));
    // A program with abstract functions has no values to sum.
    if (p.paths.length && p.sum !== null) lines.push(`    ${sumText(r, p)}`);
  }
  if (r.paths.fanOut) lines.push(`  ${fanOutTitle(r)}`, ...fanOutLines(r, "text").map((l) => `    ${l}`));
  return lines;
}

function md(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** The section in Markdown: a table of paths per input. */
export function pathsMarkdown(r: ExplainReport): string[] {
  if (!r.paths) return [];
  const repeated = repeatedUses(r);
  const out = ["", `${TITLE}:`];
  for (const p of r.paths.inputs) {
    if (!p.paths) {
      out.push("", `**${md(p.input)}**: ${md(cappedText(p, r.paths.limit))}.`);
      continue;
    }
    out.push("", `**${md(p.input)}**: ${countText(p)}.`);
    if (!p.paths.length) continue;
    out.push("", "| # | path | product | value |", "|---|---|---|---|");
    p.paths.forEach((q, i) =>
      out.push(
        `| ${i + 1} | ${md(pathNames(q, repeated, " → "))} | ${q.productLatex === null ? `\`${md(q.product)}\`` : `$${md(q.productLatex)}$`} | ${value(q.value)} |`,
      ),
    );
    if (p.sum !== null) out.push("", md(sumText(r, p)));
  }
  if (r.paths.fanOut) out.push("", `${md(fanOutTitle(r))}:`, "", ...fanOutLines(r, "latex").map((l) => `- $${md(l)}$`));
  return out;
}

/** A number in LaTeX math: 2.449e-16 as 2.449 \\times 10^{-16}. */
function latexNumber(v: number | null | undefined): string {
  return value(v).replace(/^(-?[\d.]+)e([+-]?)(\d+)$/, (_, m: string, s: string, e: string) => `${m} \\times 10^{${s === "-" ? "-" : ""}${e}}`);
}

/** The section in LaTeX: one aligned line per path, then the sum. */
export function pathsLatex(r: ExplainReport): string[] {
  if (!r.paths) return [];
  const repeated = repeatedUses(r);
  const name = (n: string) => printExpr({ kind: "var", name: n }, "latex");
  const out = ["", `% ${TITLE}`];
  for (const p of r.paths.inputs) {
    if (!p.paths) {
      out.push(`% ${p.input}: ${cappedText(p, r.paths.limit)}`);
      continue;
    }
    out.push(`% ${p.input}: ${countText(p)}`);
    if (!p.paths.length) continue;
    const rows = p.paths.map((q) => {
      const chain = q.names.map((n, i) => (i > 0 && repeated.has(n) ? `${name(n)}_{(${q.argIndices[i - 1] + 1})}` : name(n))).join(" \\to ");
      const product = q.productLatex ?? `\\texttt{${q.product.replace(/[_#%&{}$^~\\]/g, (c) => (c === "\\" || c === "^" || c === "~" ? "?" : `\\${c}`))}}`;
      return `${chain} &: ${product}${q.value === null ? "" : ` = ${latexNumber(q.value)}`}`;
    });
    out.push("\\begin{align*}", [...rows, ...(p.sum === null ? [] : [`\\textstyle\\sum &= ${latexNumber(p.sum)}`])].join(" \\\\\n"), "\\end{align*}");
  }
  const fan = fanOutLines(r, "latex");
  if (fan.length) out.push(`% ${fanOutTitle(r)}`, "\\begin{align*}", fan.map((l) => l.replace(" = ", " &= ")).join(" \\\\\n"), "\\end{align*}");
  return out;
}
