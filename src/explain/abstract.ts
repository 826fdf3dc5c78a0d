/**
 * Programs with abstract functions (declared with `fn g, h`): names that have no definition, so no
 * values either. They are explained symbolically only: the stages, each stage's local derivatives
 * (g'(x) for a function of one argument, ∂₂f(a, b) for the partial in the second of several), the
 * chain rule per name, the expansions, and the full derivatives in terms of the inputs
 * (d/dx g(h(x)) = g'(h(x)) h'(x)). The VJP graphs that explain.ts reads need numbers, so the rules
 * here are written by hand, one per stage operation, and the backward pass is run on expressions.
 */
import { apply, bin, call, children, namedRecord, neg, num, v, type Expr } from "./ast.js";
import type { EdgeReport, Explanation, ExplainOptions, ExplainReport, StageReport } from "./explain.js";
import { addExpansions, stageExpansions, substitute } from "./expansion.js";
import { printDerivative, printText } from "./print.js";
import { simplify } from "./simplify.js";
import { ExplainError, refArgs, type Arg, type Stage, type StagedProgram } from "./stage.js";
import { WorkBudgetExceeded, charge, withinBudget, workDone } from "./work.js";

/** The abstract functions a staged program calls, in the order they are declared. */
export function abstractFunctions(staged: StagedProgram): string[] {
  const called = new Set(staged.stages.flatMap((s) => (s.op === "abstract" && s.fn !== undefined ? [s.fn] : [])));
  return [...(staged.functions?.keys() ?? [])].filter((f) => called.has(f));
}

/**
 * The one-line error for what needs numbers (code, figures, the gradient check, a step). `formats`
 * adds which output formats do work (the CLI's wording; the playground has no formats to pick).
 */
export function abstractError(fns: readonly string[], what: string, formats = true): string {
  const [first] = fns;
  const others = fns.length > 1 ? ` (and so ${fns.length > 2 ? "do" : "does"} ${fns.slice(1).join(", ")})` : "";
  return `${first} is an abstract function (declared with fn): ${what} needs a definition${others}${formats ? "; only the symbolic formats (table, markdown, latex, json) work without one" : ""}`;
}

const argExpr = (a: Arg): Expr => (a.kind === "ref" ? v(a.name) : a.expr);
const sq = (e: Expr): Expr => bin("^", e, num(2));

/**
 * The local derivative of stage `s` in its `k`-th argument, in terms of its arguments: the same
 * rules the core's VJPs implement (and explain.ts reads back from them), written as expressions.
 */
export function localRule(s: Stage, k: number): Expr {
  const A = s.args.map(argExpr);
  const [a, b] = A;
  switch (s.op) {
    case "add":
      return num(1);
    case "sub":
      return num(k === 0 ? 1 : -1);
    case "mul":
    case "matmul": // only scalars get here: a matrix product of scalars is their product
      return k === 0 ? b : a;
    case "div":
      return k === 0 ? bin("/", num(1), b) : neg(bin("/", a, sq(b)));
    case "pow":
      return k === 0 ? bin("*", b, bin("^", a, bin("-", b, num(1)))) : bin("*", bin("^", a, b), call("ln", a));
    case "neg":
      return num(-1);
    case "reciprocal":
      return neg(bin("/", num(1), sq(a)));
    case "id":
    case "sum":
    case "mean":
    case "transpose":
      return num(1);
    case "exp":
      return call("exp", a);
    case "ln":
      return bin("/", num(1), a);
    case "sqrt":
      return bin("/", num(1), bin("*", num(2), call("sqrt", a)));
    case "sin":
      return call("cos", a);
    case "cos":
      return neg(call("sin", a));
    case "tan":
      return bin("+", num(1), sq(call("tan", a)));
    case "tanh":
      return bin("-", num(1), sq(call("tanh", a)));
    case "sigmoid":
      return bin("*", call("sigmoid", a), bin("-", num(1), call("sigmoid", a)));
    case "relu":
      return call("step", a);
    case "abs":
      return call("sign", a);
    case "sign":
    case "step":
      return num(0);
    case "maximum":
      return k === 0 ? call("step", bin("-", a, b)) : bin("-", num(1), call("step", bin("-", a, b)));
    case "minimum":
      return k === 0 ? call("step", bin("-", b, a)) : bin("-", num(1), call("step", bin("-", b, a)));
    case "abstract":
      return apply(s.fn ?? "?", A, k + 1);
  }
}

/**
 * Number of nodes of the tree `e` stands for, counted over its DAG (shared subexpressions once each):
 * linear in the DAG however large the tree. Saturates at Number.MAX_VALUE.
 */
export function treeSize(e: Expr): number {
  const memo = new Map<Expr, number>();
  const stack: [Expr, boolean][] = [[e, false]];
  while (stack.length > 0) {
    const [n, expanded] = stack.pop()!;
    if (memo.has(n)) continue;
    const kids = children(n);
    if (!expanded) {
      stack.push([n, true]);
      for (const c of kids) if (!memo.has(c)) stack.push([c, false]);
      continue;
    }
    charge();
    memo.set(n, Math.min(Number.MAX_VALUE, kids.reduce((t, c) => t + memo.get(c)!, 1)));
  }
  return memo.get(e)!;
}

/**
 * Derivative trees over this many nodes are reported by size: explain.ts's DERIVATIVE_SIZE_LIMIT, not
 * imported from there, since explain.ts imports this file.
 */
const DERIVATIVE_SIZE_LIMIT = 5000;

/** Simplifier steps allowed per node of the derivative trees (as in explain.ts: a safety net). */
const SIMPLIFY_STEPS_PER_NODE = 400;

/**
 * The backward pass on expressions: d out / d name for every name, as expressions in the inputs
 * (stage names replaced by their expansions). Contributions are summed at fan-out, exactly as the
 * numeric backward pass does. Trees over DERIVATIVE_SIZE_LIMIT are reported by size instead.
 */
function symbolicGradients(staged: StagedProgram): { kind: "ok"; exprs: Map<string, Expr> } | { kind: "tooLarge"; size: number } {
  const env = new Map([...stageExpansions(staged)].map(([n, x]) => [n, x.expr] as const));
  // Contributions per name; a name's gradient is their sum, complete once every consumer (a later
  // stage) has been visited. Summed in stage order, so the terms read as the program is written.
  const terms = new Map<string, Expr[]>([[staged.output, [num(1)]]]);
  const total = (n: string): Expr | undefined => terms.get(n)?.reduceRight((acc, t) => bin("+", acc, t));
  for (let i = staged.stages.length - 1; i >= 0; i--) {
    const s = staged.stages[i];
    const up = total(s.name);
    if (up === undefined) continue;
    s.args.forEach((a, k) => {
      if (a.kind !== "ref") return;
      const list = terms.get(a.name) ?? [];
      list.push(bin("*", up, substitute(localRule(s, k), env)));
      terms.set(a.name, list);
    });
  }
  const inputs = staged.inputs.map((n) => total(n) ?? num(0));
  const sizes = inputs.map(treeSize);
  const size = sizes.reduce((m, x) => Math.max(m, x), 0);
  if (size > DERIVATIVE_SIZE_LIMIT) return { kind: "tooLarge", size };
  const totalSize = sizes.reduce((t, x) => t + x, 0);
  try {
    const exprs = new Map<string, Expr>();
    // Declaration order (fn f, g1, g2): the outer function is usually declared first.
    const order = new Map([...(staged.functions?.keys() ?? [])].map((f, k) => [f, k]));
    withinBudget(SIMPLIFY_STEPS_PER_NODE * (totalSize + 1), () => staged.inputs.forEach((n, k) => exprs.set(n, orderFactors(simplify(inputs[k]), order))));
    return { kind: "ok", exprs };
  } catch (e) {
    if (e instanceof WorkBudgetExceeded) return { kind: "tooLarge", size };
    throw e;
  }
}

/**
 * Products with abstract functions in them, their factors reordered: the abstract ones after the
 * others and in the order the functions are declared, so the product rule reads
 * g'(x) h(x) + g(x) h'(x) and the chain rule g'(h(x)) h'(x), as textbooks write them. `e` is a
 * simplified tree (bounded by the size cap), walked without recursion.
 */
function orderFactors(e: Expr, order: ReadonlyMap<string, number>): Expr {
  const done = new Map<Expr, Expr>();
  const isProduct = (n: Expr): n is Expr & { kind: "bin" } => n.kind === "bin" && n.op === "*";
  const rank = (n: Expr): number => (n.kind === "apply" ? (order.get(n.fn) ?? -1) : -1);
  for (const n of postorderNodes(e)) {
    const get = (c: Expr) => done.get(c) ?? c;
    let out: Expr;
    switch (n.kind) {
      case "bin": {
        if (!isProduct(n)) {
          out = bin(n.op, get(n.left), get(n.right));
          break;
        }
        // The whole chain of factors of this product (children already reordered).
        const factors: Expr[] = [];
        const walk: Expr[] = [n.right, n.left].map(get);
        while (walk.length > 0) {
          const f = walk.pop()!;
          if (isProduct(f)) walk.push(f.right, f.left);
          else factors.push(f);
        }
        const sorted = factors.map((f, k) => ({ f, k })).sort((a, b) => (rank(a.f) === rank(b.f) ? a.k - b.k : rank(a.f) - rank(b.f)));
        out = sorted.map((x) => x.f).reduce((a, b) => bin("*", a, b));
        break;
      }
      case "neg":
        out = neg(get(n.arg));
        break;
      case "call":
        out = call(n.fn, get(n.arg));
        break;
      case "apply":
        out = { ...n, args: n.args.map(get) };
        break;
      default:
        out = n;
    }
    done.set(n, out);
  }
  return done.get(e) ?? e;
}

function postorderNodes(e: Expr): Expr[] {
  const out: Expr[] = [];
  const stack: [Expr, boolean][] = [[e, false]];
  while (stack.length > 0) {
    const [n, expanded] = stack.pop()!;
    if (expanded) {
      out.push(n);
      continue;
    }
    stack.push([n, true]);
    const kids = children(n);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], false]);
  }
  return out;
}

/** The sentence that says why there are no numbers. */
export function abstractNote(fns: readonly string[]): string {
  const list = fns.length === 1 ? fns[0] : `${fns.slice(0, -1).join(", ")} and ${fns[fns.length - 1]}`;
  return `${list} ${fns.length === 1 ? "is an abstract function" : "are abstract functions"} (declared with fn): there are no values, so this explanation is symbolic only (stages, local derivatives, the chain rule and the full derivatives)`;
}

/**
 * Explains a program that calls abstract functions. Values given for its inputs are not used (the
 * report says so); --check and --step, which need numbers, are errors.
 */
export function explainAbstract(source: string, staged: StagedProgram, given: ReadonlyMap<string, unknown>, options: ExplainOptions, work0 = workDone()): Explanation {
  const fns = abstractFunctions(staged);
  if (options.check) throw new ExplainError(abstractError(fns, "the gradient check", false));
  if (options.step !== undefined) throw new ExplainError(abstractError(fns, "a gradient-descent step", false));
  const defined = new Set(staged.stages.filter((s) => s.userDefined).map((s) => s.name));
  for (const name of given.keys()) {
    if (defined.has(name)) throw new ExplainError(`'${name}' is defined in the program, so it cannot also be given a value`, { kind: "defined-input", name });
  }
  const rules = staged.stages.map((s) => s.args.map((a, k) => (a.kind === "ref" ? simplify(localRule(s, k)) : null)));
  const stages: StageReport[] = staged.stages.map((s, i) => {
    const refs = refArgs(s);
    const local = new Map<string, string>();
    const localLatex = new Map<string, string>();
    // Where one name feeds a stage twice (x * x) its local derivative is the sum over both edges.
    for (const n of new Set(refs)) {
      const parts = s.args.flatMap((a, k) => (a.kind === "ref" && a.name === n ? [rules[i][k]!] : []));
      const sum = simplify(parts.reduce((x, y) => bin("+", x, y)));
      local.set(n, printDerivative(sum));
      localLatex.set(n, printDerivative(sum, "latex"));
    }
    return {
      name: s.name,
      op: s.op === "abstract" ? (s.fn ?? s.op) : s.op,
      inputs: refs,
      equation: `${s.name} = ${printText(s.expr)}`,
      expression: printText(s.expr),
      shape: [],
      value: Number.NaN,
      grad: null,
      local: namedRecord(local),
      localLatex: namedRecord(localLatex),
      localValue: namedRecord([...local.keys()].map((n) => [n, null] as const)),
      span: s.span ? [s.span.start, s.span.end] : null,
    };
  });
  // Edges in the order the numeric backward pass records them: stages in reverse, arguments in order.
  const edges: EdgeReport[] = [];
  for (let i = staged.stages.length - 1; i >= 0; i--) {
    staged.stages[i].args.forEach((a, k) => {
      if (a.kind !== "ref") return;
      const rule = rules[i][k]!;
      edges.push({ from: a.name, to: staged.stages[i].name, argIndex: k, local: printDerivative(rule), localLatex: printDerivative(rule, "latex"), localValue: null, branch: null, upstream: null, contribution: null });
    });
  }
  const unused = [...given.keys()];
  const report: ExplainReport = {
    source,
    inputs: [...staged.inputs],
    inputValues: {},
    output: staged.output,
    scalar: true,
    value: Number.NaN,
    gradients: {},
    stages,
    edges,
    warnings: unused.length ? [`unused values: ${unused.join(", ")} (a program with abstract functions has no values)`] : [],
    abstract: { functions: fns, note: abstractNote(fns) },
  };
  const full = symbolicGradients(staged);
  if (full.kind === "tooLarge") report.derivativesTooLarge = { size: full.size, limit: DERIVATIVE_SIZE_LIMIT };
  else {
    report.derivatives = namedRecord(staged.inputs.map((n) => [n, printDerivative(full.exprs.get(n)!)] as const));
    report.derivativesLatex = namedRecord(staged.inputs.map((n) => [n, printDerivative(full.exprs.get(n)!, "latex")] as const));
  }
  addExpansions(report, staged);
  return { report, work: workDone() - work0, staged, values: new Map(), grads: new Map() };
}
