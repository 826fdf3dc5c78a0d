/**
 * Question text written once for Markdown and LaTeX: words, and math given in both forms
 * (`code` in Markdown, $math$ in LaTeX).
 */
import { parseProgram } from "../../language/parser.js";
import { printExpr } from "../../language/print.js";
import type { Value } from "../../report/report.js";
import { fmtNumber } from "../../report/report.js";

export interface Math {
  md: string;
  tex: string;
}
export type Part = string | Math;

export const m = (md: string, tex: string): Math => ({ md, tex });

/** Plain words made safe for LaTeX (the few special characters a question may contain). */
export function texWords(s: string): string {
  return s
    .replace(/\\/g, "\\textbackslash{}")
    .replace(/([%&#_$])/g, "\\$1")
    .replace(/~/g, "\\textasciitilde{}");
}

export function joinParts(parts: readonly Part[]): { md: string; tex: string } {
  return {
    md: parts.map((p) => (typeof p === "string" ? p : `\`${p.md}\``)).join(""),
    tex: parts.map((p) => (typeof p === "string" ? texWords(p) : `$${p.tex}$`)).join(""),
  };
}

/** A name as the explainer's LaTeX writes it (w0 -> w_{0}). */
export function nameTex(name: string): string {
  return printExpr({ kind: "var", name }, "latex");
}

/** ∂f/∂x in both forms. */
export function partial(f: string, x: string): Math {
  return m(`∂${f}/∂${x}`, `\\frac{\\partial ${nameTex(f)}}{\\partial ${nameTex(x)}}`);
}

/** A number or nested array to 4 significant digits, as text. */
export function valueText(v: Value): string {
  if (typeof v === "number") return fmtNumber(v);
  return `[${(v as Value[]).map(valueText).join(", ")}]`;
}

/** A number or array in LaTeX: vectors as columns, matrices as bmatrix. */
export function valueTex(v: Value): string {
  if (typeof v === "number") return fmtNumber(v).replace(/e(-?\d+)$/, "\\times 10^{$1}");
  const rows = v as Value[];
  if (rows.length && Array.isArray(rows[0])) return `\\begin{bmatrix}${rows.map((r) => (r as Value[]).map(valueTex).join(" & ")).join(" \\\\ ")}\\end{bmatrix}`;
  return `\\begin{bmatrix}${rows.map(valueTex).join(" \\\\ ")}\\end{bmatrix}`;
}

/** "x = 1, y = -2" for the given values. */
export function valuesMath(at: Record<string, Value>): Math {
  const entries = Object.entries(at);
  return m(entries.map(([k, v]) => `${k} = ${valueText(v)}`).join(", "), entries.map(([k, v]) => `${nameTex(k)} = ${valueTex(v)}`).join(",\\ "));
}

/** A program (definitions separated by ';') in both forms: the source, and its statements in LaTeX. */
export function programMath(source: string): Math {
  const statements = parseProgram(source).statements;
  const tex = statements.map((s) => (s.name !== null ? `${nameTex(s.name)} = ` : "") + printExpr(s.expr, "latex")).join(",\\quad ");
  return m(source, tex);
}

/** A shape as NumPy prints it: (2,), (3, 4). */
export function shapeText(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}
