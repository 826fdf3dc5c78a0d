/**
 * The homework's Table 1 beside the stages: each stage's expansion (its right-hand side with the
 * earlier stages substituted, in terms of the inputs: q = ln(w * x), f = b * (exp(b * x) * w + ...))
 * and the chain rule written per name over its consumers, as the worked derivation does:
 * ∂f/∂b = ∂f/∂r · ∂r/∂b + ∂f/∂b (a fan-out gives one term per consuming stage).
 */
import { v, type Expr } from "../language/ast.js";
import { printExpr } from "../language/print.js";
import type { StagedProgram } from "./stage.js";
import { charge } from "./work.js";

/**
 * Expansions with more nodes than this are not printed ("too long to expand"): with fan-out the
 * substituted tree grows exponentially with the program, and nobody reads a page-long formula.
 */
export const EXPANSION_LIMIT = 200;

/**
 * A stage's expansion (sharing the earlier ones') and the size in nodes of the tree it stands for;
 * it is printed only when that is at most EXPANSION_LIMIT.
 */
export interface Expansion {
  readonly expr: Expr;
  readonly size: number;
}

/**
 * `e` with names replaced by their expressions in `env` (shared, not copied). Meant for stage
 * expressions and local derivatives, which are shallow, so the recursion is bounded.
 */
export function substitute(e: Expr, env: ReadonlyMap<string, Expr>): Expr {
  charge();
  switch (e.kind) {
    case "var":
      return env.get(e.name) ?? e;
    case "neg":
      return { kind: "neg", arg: substitute(e.arg, env) };
    case "call":
      return { kind: "call", fn: e.fn, arg: substitute(e.arg, env) };
    case "bin":
      return { kind: "bin", op: e.op, left: substitute(e.left, env), right: substitute(e.right, env) };
    case "apply":
      return { ...e, args: e.args.map((a) => substitute(a, env)) };
    case "array":
      return { kind: "array", items: e.items.map((a) => substitute(a, env)) };
    default:
      return e;
  }
}

/** Tree size of a stage expression with each stage name counted as the size of its expansion. */
function substitutedSize(e: Expr, sizes: ReadonlyMap<string, number>): number {
  switch (e.kind) {
    case "var":
      return sizes.get(e.name) ?? 1;
    case "neg":
    case "call":
      return 1 + substitutedSize(e.arg, sizes);
    case "bin":
      return 1 + substitutedSize(e.left, sizes) + substitutedSize(e.right, sizes);
    case "apply":
      return e.args.reduce((n, a) => n + substitutedSize(a, sizes), 1);
    case "array":
      return e.items.reduce((n, a) => n + substitutedSize(a, sizes), 1);
    default:
      return 1;
  }
}

/**
 * Every stage's expansion. The substituted expressions share the earlier stages' (a DAG, linear in
 * the program), and sizes are counted on the DAG before anything is printed, so the work is linear
 * however large the trees they stand for.
 */
export function stageExpansions(staged: StagedProgram): Map<string, Expansion> {
  const env = new Map<string, Expr>();
  const sizes = new Map<string, number>();
  const out = new Map<string, Expansion>();
  for (const s of staged.stages) {
    // Saturates rather than overflowing: a chain of 2000 doublings is still "too long".
    const size = Math.min(Number.MAX_VALUE, substitutedSize(s.expr, sizes));
    const expr = substitute(s.expr, env);
    env.set(s.name, expr);
    sizes.set(s.name, size);
    out.set(s.name, { expr, size });
  }
  return out;
}

export interface ChainRule {
  readonly text: string;
  readonly latex: string;
}

/** ∂y/∂x as text and as LaTeX (names typeset as variables). */
export const partialText = (y: string, x: string): string => `∂${y}/∂${x}`;
export const partialLatex = (y: string, x: string): string => `\\frac{\\partial ${printExpr(v(y), "latex")}}{\\partial ${printExpr(v(x), "latex")}}`;

/**
 * The chain rule for d out / d name over the stages that consume `name`, in stage order: one term
 * ∂out/∂c · ∂c/∂name per consumer c; where the output consumes the name itself, its term is the
 * local ∂out/∂name, marked "(direct)" (the factor ∂out/∂out = 1 is left out; the homework writes it
 * as ∂f/∂b ∂b/∂b). None for the output itself, nor for a name only the output uses.
 */
export function chainRules(staged: StagedProgram): Map<string, ChainRule> {
  const out = staged.output;
  const consumers = new Map<string, string[]>();
  for (const s of staged.stages) {
    for (const a of new Set(s.args.flatMap((x) => (x.kind === "ref" ? [x.name] : [])))) {
      const list = consumers.get(a);
      if (list) list.push(s.name);
      else consumers.set(a, [s.name]);
    }
  }
  const rules = new Map<string, ChainRule>();
  for (const name of [...staged.inputs, ...staged.stages.map((s) => s.name)]) {
    if (name === out) continue;
    const cs = consumers.get(name) ?? [];
    const head = partialText(out, name);
    const headLatex = partialLatex(out, name);
    if (cs.length === 0) {
      rules.set(name, { text: `${head} = 0   (${out} does not use ${name})`, latex: `${headLatex} = 0` });
      continue;
    }
    // Used by the output alone: its derivative is the output's local derivative, no chain to write.
    if (cs.length === 1 && cs[0] === out) continue;
    const text = cs.map((c) => (c === out ? `${partialText(out, name)} (direct)` : `${partialText(out, c)} · ${partialText(c, name)}`));
    const latex = cs.map((c) => (c === out ? `\\left.${partialLatex(out, name)}\\right|_{\\text{direct}}` : `${partialLatex(out, c)}${partialLatex(c, name)}`));
    rules.set(name, { text: `${head} = ${text.join(" + ")}`, latex: `${headLatex} = ${latex.join(" + ")}` });
  }
  return rules;
}

/** The text shown for an expansion over the limit. */
export function tooLongText(size: number): string {
  return `too long to expand (${size >= 1e6 ? "over a million" : size} nodes; the limit is ${EXPANSION_LIMIT})`;
}
