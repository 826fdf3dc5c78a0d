/**
 * Forward mode in the table formats (text, Markdown, LaTeX): the tangents of each seeded input beside
 * the values and the reverse pass's gradients, and what each mode costs for n inputs and m outputs.
 * format.ts appends these sections; they read only the report's `forward` part.
 */
import { own } from "../language/ast.js";
import { printExpr } from "../language/print.js";
import { fmtNumber, fmtValue, type ExplainReport, type ForwardReport, type ModeCost, type Value } from "../report/report.js";

/** The rows of the tangent table: every input, then every stage, with its value, tangents and gradient. */
interface Row {
  name: string;
  /** The stage's equation, or the input's name. */
  label: string;
  value: Value;
  tangents: Value[];
  grad: Value | null;
}

function rows(r: ExplainReport, f: ForwardReport): Row[] {
  const tangentsOf = (name: string): Value[] => f.sweeps.map((s) => own(s.tangents, name) ?? 0);
  const inputs = r.inputs.map((n) => ({ name: n, label: n, value: own(r.inputValues, n) ?? 0, tangents: tangentsOf(n), grad: own(r.gradients, n) ?? null }));
  const stages = r.stages.map((s) => ({ name: s.name, label: s.equation, value: s.value, tangents: tangentsOf(s.name), grad: s.grad }));
  return [...inputs, ...stages];
}

const counted = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`;

/** "n = 3 input numbers and m = 1 output number". */
const sizes = (c: ModeCost): string => `n = ${counted(c.inputs, "input number")} and m = ${counted(c.outputs, "output number")}`;

/** The two modes' operation counts, as lines: "forward mode: 2 + 3 × 6 = 20 ops (one tangent sweep per input)". */
export function modeCostLines(c: ModeCost): string[] {
  return [
    `forward mode: ${c.forwardOps} + n × ${c.tangentOps} = ${c.forwardOps} + ${c.inputs} × ${c.tangentOps} = ${counted(c.forwardMode, "op")} (the forward pass, then one tangent sweep per input number)`,
    `reverse mode: ${c.forwardOps} + m × ${c.backwardOps} = ${c.forwardOps} + ${c.outputs} × ${c.backwardOps} = ${counted(c.reverseMode, "op")} (the forward pass, then one backward sweep per output number)`,
    modeVerdict(c),
  ];
}

/** Which mode wins here, and why in general. */
export function modeVerdict(c: ModeCost): string {
  const why =
    "forward mode costs a sweep per input, reverse mode a sweep per output: reverse wins for a scalar loss of many inputs, forward for one input and many outputs";
  if (c.forwardMode === c.reverseMode) return `both cost the same here; in general ${why}`;
  const [winner, loser] = c.reverseMode < c.forwardMode ? ["reverse", c.forwardMode] : ["forward", c.reverseMode];
  const best = Math.min(c.forwardMode, c.reverseMode);
  const ratio = best === 0 ? "" : ` (${fmtNumber(loser / best)}× fewer)`;
  return `${winner} mode wins here${ratio}: n = ${c.inputs}, m = ${c.outputs}; ${why}`;
}

/** Said when a seeded input is an array: what its tangents mean. */
function arrayNote(r: ExplainReport, f: ForwardReport): string | null {
  const arrays = f.seeds.filter((n) => typeof own(r.inputValues, n) !== "number");
  if (arrays.length === 0) return null;
  return `${arrays.join(", ")} ${arrays.length === 1 ? "is an array" : "are arrays"}, seeded with ones: ${arrays.length === 1 ? "its" : "their"} tangents are derivatives along the all-ones direction (a full Jacobian takes a sweep per element)`;
}

function padTable(cells: string[][], indent = "  "): string[] {
  const widths = cells[0].map((_, c) => cells.reduce((m, row) => Math.max(m, row[c].length), 0));
  return cells.map(
    (row) =>
      indent +
      row
        .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c])))
        .join("   ")
        .trimEnd(),
  );
}

/** What the output's tangents say, beside the reverse pass's gradients. */
function outputLine(r: ExplainReport, f: ForwardReport): string {
  if (f.sweeps.length === 0) return `output ${r.output}: no input to seed (the program has none), so no sweep`;
  const fwd = f.sweeps.map((s) => `d${r.output}/d${s.seed} = ${fmtValue(s.output)}`).join(", ");
  const rev = f.seeds.map((n) => `g${n} = ${fmtValue(own(r.gradients, n) ?? null)}`).join(", ");
  return `output ${r.output}: forward mode ${fwd} (${counted(f.sweeps.length, "sweep")}); reverse mode ${rev} (one sweep)`;
}

/** The text table's forward-mode section (empty without forward mode). */
export function forwardTableLines(r: ExplainReport): string[] {
  const f = r.forward;
  if (!f) return [];
  const head = ["name", "value", ...f.seeds.map((n) => `d/d${n}`), "gradient (reverse)"];
  const body = rows(r, f).map((row) => [row.label, fmtValue(row.value), ...row.tangents.map(fmtValue), fmtValue(row.grad)]);
  const lines = ["", "Forward mode (one sweep per seeded input: each tangent d name/d seed rides forward with its value)", ...padTable([head, ...body])];
  lines.push(`  ${outputLine(r, f)}`);
  const note = arrayNote(r, f);
  if (note) lines.push(`  ${note}`);
  lines.push("", `Cost of each mode for ${sizes(f.cost)}`);
  for (const l of modeCostLines(f.cost)) lines.push(`  ${l}`);
  return lines;
}

const md = (s: string): string => s.replace(/\|/g, "\\|");

/** The Markdown report's forward-mode section (empty without forward mode). */
export function forwardMarkdownLines(r: ExplainReport): string[] {
  const f = r.forward;
  if (!f) return [];
  const out = ["", "#### Forward mode", "", `One sweep per seeded input; each tangent ∂name/∂seed rides forward with its value.`, ""];
  const mdRow = (cells: string[]) => `| ${cells.join(" | ")} |`;
  out.push(mdRow(["name", "value", ...f.seeds.map((n) => `∂/∂${md(n)}`), "gradient (reverse)"]), mdRow(["", "", ...f.seeds, ""].map(() => "---")));
  for (const row of rows(r, f))
    out.push(mdRow([`\`${md(row.label)}\``, md(fmtValue(row.value)), ...row.tangents.map((t) => md(fmtValue(t))), md(fmtValue(row.grad))]));
  out.push("", `- ${md(outputLine(r, f))}`);
  const note = arrayNote(r, f);
  if (note) out.push(`- ${md(note)}`);
  out.push("", `Cost of each mode for ${sizes(f.cost)}:`, "", ...modeCostLines(f.cost).map((l) => `- ${md(l)}`));
  return out;
}

const latexText = (s: string): string => s.replace(/([#%&_{}$])/g, "\\$1").replace(/×/g, "$\\times$");

/** The LaTeX report's forward-mode section (empty without forward mode). */
export function forwardLatexLines(r: ExplainReport): string[] {
  const f = r.forward;
  if (!f) return [];
  const name = (n: string) => printExpr({ kind: "var", name: n }, "latex");
  const out = ["", "% Forward mode: one sweep per seeded input, tangents beside the values and the reverse pass's gradients"];
  out.push(`\\begin{tabular}{l${"l".repeat(f.seeds.length + 2)}}`, "\\hline");
  const texRow = (cells: string[]) => `${cells.join(" & ")} \\\\`;
  out.push(texRow(["name", "value", ...f.seeds.map((n) => `$\\partial/\\partial ${name(n)}$`), "gradient (reverse)"]), "\\hline");
  for (const row of rows(r, f)) out.push(texRow([`$${name(row.name)}$`, fmtValue(row.value), ...row.tangents.map(fmtValue), fmtValue(row.grad)]));
  out.push("\\hline", "\\end{tabular}", "");
  out.push(`% Cost of each mode for ${sizes(f.cost)}`);
  out.push(...modeCostLines(f.cost).map((l) => `${latexText(l)}\\\\`));
  return out;
}
