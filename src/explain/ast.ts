/** The explainer's expression tree: what the parser builds, the simplifier rewrites and the printers print. */

export type BinOp = "+" | "-" | "*" | "/" | "^" | "@";

/** Functions of the input language (ln and log are both the natural logarithm). */
export const FUNCTIONS = ["ln", "log", "exp", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "sign", "step", "sum", "mean", "transpose"] as const;
export type FnName = (typeof FUNCTIONS)[number];

export const CONSTANTS: Record<string, number> = { e: Math.E, pi: Math.PI };

/** Where a node came from in the source text: [start, end) character offsets. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Expr =
  | { readonly kind: "num"; readonly value: number; readonly span?: Span }
  | { readonly kind: "const"; readonly name: "e" | "pi"; readonly span?: Span }
  | { readonly kind: "var"; readonly name: string; readonly span?: Span }
  | { readonly kind: "neg"; readonly arg: Expr; readonly span?: Span }
  | { readonly kind: "bin"; readonly op: BinOp; readonly left: Expr; readonly right: Expr; readonly span?: Span }
  | { readonly kind: "call"; readonly fn: FnName; readonly arg: Expr; readonly span?: Span }
  | { readonly kind: "array"; readonly items: readonly Expr[]; readonly span?: Span };

export interface Statement {
  /** The defined name, or null for the final bare expression. */
  readonly name: string | null;
  readonly expr: Expr;
  readonly span: Span;
}

export interface Program {
  readonly source: string;
  readonly statements: readonly Statement[];
}

export const num = (value: number): Expr => ({ kind: "num", value });
export const v = (name: string): Expr => ({ kind: "var", name });
export const neg = (arg: Expr): Expr => ({ kind: "neg", arg });
export const bin = (op: BinOp, left: Expr, right: Expr): Expr => ({ kind: "bin", op, left, right });
export const call = (fn: FnName, arg: Expr): Expr => ({ kind: "call", fn, arg });

/** Free variable names in order of first appearance. */
export function freeVars(e: Expr, out: string[] = []): string[] {
  switch (e.kind) {
    case "var":
      if (!out.includes(e.name)) out.push(e.name);
      break;
    case "neg":
    case "call":
      freeVars(e.arg, out);
      break;
    case "bin":
      freeVars(e.left, out);
      freeVars(e.right, out);
      break;
    case "array":
      e.items.forEach((i) => freeVars(i, out));
      break;
  }
  return out;
}

export function size(e: Expr): number {
  switch (e.kind) {
    case "neg":
    case "call":
      return 1 + size(e.arg);
    case "bin":
      return 1 + size(e.left) + size(e.right);
    case "array":
      return 1 + e.items.reduce((a, i) => a + size(i), 0);
    default:
      return 1;
  }
}
