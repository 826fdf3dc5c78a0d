/**
 * Programs with abstract functions (declared with `fn g, h`): names that have no definition, so no
 * values either. They are explained symbolically only: the stages, each stage's local derivatives
 * (g'(x) for a function of one argument, ∂₂f(a, b) for the partial in the second of several), the
 * chain rule per name, the expansions, and the full derivatives in terms of the inputs
 * (d/dx g(h(x)) = g'(h(x)) h'(x)). They go through the same trace as every program (ops.ts records an
 * abstract call with its derivatives noted), at a placeholder point whose numbers the report leaves out.
 */
import * as bp from "../core.js";
import { bin, call, children, neg, type Expr } from "../language/ast.js";
import { ExplainError, type StagedProgram } from "./stage.js";

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

/** Placeholder values for a program with abstract functions: NaN for every input (it has no values). */
export function abstractPoint(staged: StagedProgram, given: ReadonlyMap<string, unknown>): Map<string, bp.Tensor> {
  const defined = new Set(staged.stages.filter((s) => s.userDefined).map((s) => s.name));
  for (const name of given.keys()) {
    if (defined.has(name)) throw new ExplainError(`'${name}' is defined in the program, so it cannot also be given a value`, { kind: "defined-input", name });
  }
  return new Map(staged.inputs.map((n) => [n, bp.scalar(Number.NaN, "float64")] as const));
}

/**
 * Products with abstract functions in them, their factors reordered: the abstract ones after the
 * others and in the order the functions are declared, so the product rule reads
 * g'(x) h(x) + g(x) h'(x) and the chain rule g'(h(x)) h'(x), as textbooks write them. `e` is a
 * simplified tree (bounded by the size cap), walked without recursion.
 */
export function orderFactors(e: Expr, staged: StagedProgram): Expr {
  // Declaration order (fn f, g1, g2): the outer function is usually declared first.
  const order = new Map([...(staged.functions?.keys() ?? [])].map((f, k) => [f, k]));
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
