/**
 * The report's derivatives: the full symbolic derivatives of a scalar program chained through the
 * trace (or past the size bound the per-stage form), the expansions and chain rules beside the
 * stages, and the matrix forms of an array program.
 */
import * as bp from "../core.js";
import { bin, children, namedRecord, num, v, type Expr } from "../language/ast.js";
import { EXPANSION_LIMIT, tooLongText, chainRules, partialLatex, partialText, type Expansion } from "../interpreters/expansion.js";
import { orderFactors } from "../interpreters/abstract.js";
import { closedForms, textbookRules } from "../interpreters/matrix.js";
import { printDerivative, printExpr } from "../language/print.js";
import { simplify } from "../interpreters/simplify.js";
import { type StagedProgram } from "../interpreters/stage.js";
import { NotSymbolic, readGraph } from "../interpreters/symbolic.js";
import { type Trace } from "../interpreters/trace.js";
import { charge, WorkBudgetExceeded, withinBudget } from "../interpreters/work.js";
import { DERIVATIVE_SIZE_LIMIT, type ExplainReport, type PerStageDerivative, type ExplainOptions } from "./report.js";
import { type LocalInfo } from "./locals.js";

/** Simplifier steps allowed per node of the trees it simplifies: measured at most ~50; this is a safety net. */
const SIMPLIFY_STEPS_PER_NODE = 400;

/** `simplified: false`: the simplifier ran out of its budget, so the derivatives are as read, unsimplified. */
type FullDerivatives = { kind: "ok"; exprs: Map<string, Expr>; simplified: boolean } | { kind: "tooLarge"; size: number } | { kind: "none" };

/**
 * Nodes of the expression tree that `e` stands for, counting shared subexpressions once per use (as
 * printing would), computed over the shared structure in linear time. Saturates at Number.MAX_VALUE.
 */
export function treeSize(e: Expr): number {
  const memo = new Map<Expr, number>();
  const stack: [Expr, boolean][] = [[e, false]];
  while (stack.length > 0) {
    const [u, expanded] = stack.pop()!;
    if (memo.has(u)) continue;
    const cs = children(u);
    if (!expanded && cs.length > 0) {
      stack.push([u, true]);
      for (const c of cs) if (!memo.has(c)) stack.push([c, false]);
      continue;
    }
    charge();
    memo.set(
      u,
      Math.min(
        Number.MAX_VALUE,
        cs.reduce((n, c) => n + memo.get(c)!, 1),
      ),
    );
  }
  return memo.get(e)!;
}

/**
 * Full derivatives of a scalar program in terms of its inputs, chained through the trace: each
 * stage's recorded VJP is read with its argument leaves as their expressions in the inputs and its
 * upstream leaf as the derivative reaching it, so the pieces share structure and reading is linear in
 * the program. Their tree size is measured on that shared structure before anything is simplified.
 */
function fullDerivatives(
  trace: Trace,
  staged: StagedProgram,
  inputs: readonly string[],
  stepsPerNode: number,
  exps: ReadonlyMap<string, Expansion>,
): FullDerivatives {
  if (inputs.some((n) => trace.values.get(n)!.size !== 1)) return { kind: "none" };
  // Each name as an expression in the inputs: the stages' expansions (shared, see expansion.ts).
  const fwd = new Map<string, Expr>(inputs.map((n) => [n, v(n)]));
  for (const [name, x] of exps) fwd.set(name, x.expr);
  const grad = new Map<string, Expr>([[staged.output, num(1)]]);
  try {
    for (let i = trace.records.length - 1; i >= 0; i--) {
      const r = trace.records[i];
      const up = grad.get(r.stage.name);
      if (!r.reached || up === undefined) continue;
      const names = new Map<bp.Tensor, Expr>(r.leaves.map((l, k) => [l, fwd.get(r.refs[k])!]));
      names.set(r.out, fwd.get(r.stage.name)!);
      names.set(r.ct, up);
      // Terms in the order of the stages that use a name (as a student sums them), arguments in order.
      const here = new Map<string, Expr>();
      r.refs.forEach((ref, k) => {
        const c = readGraph(r.vjp[k], names, Number.POSITIVE_INFINITY);
        const prev = here.get(ref);
        here.set(ref, prev ? bin("+", prev, c) : c);
      });
      for (const [ref, c] of here) {
        const later = grad.get(ref);
        grad.set(ref, later ? bin("+", c, later) : c);
      }
    }
  } catch (e) {
    if (e instanceof NotSymbolic) return { kind: "none" };
    throw e;
  }
  const roots = inputs.map((n) => grad.get(n) ?? num(0));
  // Sizes first (linear in the shared structure): the cap must not build what it caps.
  const sizes = roots.map(treeSize);
  const size = sizes.reduce((a, b) => Math.max(a, b), 0);
  if (size > DERIVATIVE_SIZE_LIMIT) return { kind: "tooLarge", size };
  const exprs = new Map<string, Expr>();
  try {
    const total = sizes.reduce((a, b) => a + b, 0);
    withinBudget(stepsPerNode * (total + 1), () => inputs.forEach((n, k) => exprs.set(n, simplify(roots[k]))));
  } catch (e) {
    // Under the size bound but past the simplifier's budget: shown as read, with a note, never a hang.
    if (e instanceof WorkBudgetExceeded) return { kind: "ok", exprs: new Map(inputs.map((n, k) => [n, roots[k]] as const)), simplified: false };
    throw e;
  }
  return { kind: "ok", exprs, simplified: true };
}

/**
 * Each name's derivative through the names that use it, output first: the chain rule as the backward
 * pass applies it, with every local derivative written out. What explain shows when the full
 * derivatives are too large: its size is that of the program.
 */
function perStageDerivatives(
  staged: StagedProgram,
  edges: readonly { from: string; to: string; argIndex: number; contribution: bp.Tensor | null }[],
  locals: ReadonlyMap<string, LocalInfo>,
  inputs: readonly string[],
): PerStageDerivative[] {
  const out = lossName(staged);
  const partial = (n: string, lang: "text" | "latex"): string => (lang === "text" ? partialText(out, n) : partialLatex(out, n));
  const factor = (e: Expr, lang: "text" | "latex"): string => {
    const t = printDerivative(e, lang);
    const loose = e.kind === "neg" || (e.kind === "bin" && (e.op === "+" || e.op === "-"));
    return loose ? (lang === "text" ? `(${t})` : `\\left(${t}\\right)`) : t;
  };
  // Per name, the stages that use it (backward order) with the local derivative summed over the
  // stage's edges from it (x^x uses x twice: x^x ln(x) + x^x).
  const uses = new Map<string, Map<string, Expr>>();
  for (const e of edges) {
    if (e.contribution === null) continue;
    const local = locals.get(e.to)?.perArg[e.argIndex];
    if (local === undefined || typeof local === "string") continue;
    const byStage = uses.get(e.from) ?? new Map<string, Expr>();
    const prev = byStage.get(e.to);
    byStage.set(e.to, prev ? simplify(bin("+", prev, local)) : local);
    uses.set(e.from, byStage);
  }
  const names = [
    ...staged.stages
      .map((s) => s.name)
      .reverse()
      .filter((n) => n !== staged.output),
    ...inputs,
  ];
  return names.flatMap((n) => {
    const terms = uses.get(n);
    if (!terms) return [];
    const side = (lang: "text" | "latex") => {
      // Consumers in program order, as the sums elsewhere in the report are written.
      const parts = [...terms].reverse().map(([to, local]) => {
        // The output's own derivative is 1: its term is the local derivative alone.
        if (to === staged.output) return printDerivative(local, lang);
        return local.kind === "num" && local.value === 1
          ? partial(to, lang)
          : `${partial(to, lang)} ${lang === "text" ? "·" : "\\cdot"} ${factor(local, lang)}`;
      });
      return `${partial(n, lang)} = ${parts.join(" + ")}`;
    };
    return [{ name: n, text: side("text"), latex: side("latex") }];
  });
}

/** The name derivatives are written with: the output's own name when the program names it, else "out". */
function lossName(staged: StagedProgram): string {
  return staged.stages.find((s) => s.name === staged.output)?.userDefined ? staged.output : "out";
}

/** Full symbolic derivatives of a scalar program, or past the bound the per-stage form (see fullDerivatives). */
export function addDerivatives(
  report: ExplainReport,
  staged: StagedProgram,
  ev: Trace,
  locals: ReadonlyMap<string, LocalInfo>,
  inputNames: readonly string[],
  abstract: readonly string[],
  options: ExplainOptions,
  exps: ReadonlyMap<string, Expansion>,
): void {
  const full = fullDerivatives(ev, staged, staged.inputs, options.simplifyStepsPerNode ?? SIMPLIFY_STEPS_PER_NODE, exps);
  if (full.kind === "tooLarge") {
    report.derivativesTooLarge = { size: full.size, limit: DERIVATIVE_SIZE_LIMIT };
    report.derivativesPerStage = perStageDerivatives(staged, ev.edges, locals, inputNames);
  }
  if (full.kind === "ok") {
    // Abstract factors after the others, in declaration order: g'(x) h(x) + g(x) h'(x).
    const d = abstract.length > 0 ? new Map([...full.exprs].map(([n, e]) => [n, orderFactors(e, staged)] as const)) : full.exprs;
    // A name given with --at that the program does not use has derivative 0.
    const exprOf = (n: string) => d.get(n) ?? num(0);
    report.derivatives = namedRecord(inputNames.map((n) => [n, printDerivative(exprOf(n))] as const));
    report.derivativesLatex = namedRecord(inputNames.map((n) => [n, printDerivative(exprOf(n), "latex")] as const));
    report.derivativeExprs = namedRecord(inputNames.map((n) => [n, exprOf(n)] as const));
    if (!full.simplified) report.derivativesUnsimplified = true;
  }
}

/** Textbook rules of the array stages and the closed-form matrix gradients (see matrix.ts). */
export function addMatrixForms(report: ExplainReport, staged: StagedProgram, ev: Trace): void {
  const out = lossName(staged);
  staged.stages.forEach((s, k) => {
    const rule = textbookRules(s, ev.values, ev.records[k], out);
    if (rule) report.stages[k].rule = rule;
  });
  const forms = closedForms(staged, ev.values, ev.grads, out);
  if (forms) report.matrixDerivatives = forms;
}

/**
 * Adds expansions (`exps`, from stageExpansions) and chain rules to a scalar program's report:
 * `expansion`, `expansionLatex`, `chain` and `chainLatex` on each stage, and `inputChains` for the inputs.
 */
export function addExpansions(report: ExplainReport, staged: StagedProgram, exps: ReadonlyMap<string, Expansion>): void {
  const rules = chainRules(staged);
  report.stages.forEach((sr) => {
    const x = exps.get(sr.name);
    if (x) {
      const ok = x.size <= EXPANSION_LIMIT;
      sr.expansion = ok ? printExpr(x.expr, "text") : tooLongText(x.size);
      sr.expansionLatex = ok ? printExpr(x.expr, "latex") : `\\text{${tooLongText(x.size)}}`;
    }
    const r = rules.get(sr.name);
    if (r) {
      sr.chain = r.text;
      sr.chainLatex = r.latex;
    }
  });
  report.inputChains = Object.fromEntries(staged.inputs.flatMap((n) => (rules.has(n) ? [[n, rules.get(n)!]] : [])));
}
