/**
 * The stager: turns a program into staged computation (one operation per equation, named a, b, c...
 * skipping the inputs), each stage a function of its arguments over the core's ops. trace.ts runs it.
 */
import * as bp from "../core.js";
import {
  BUILTIN_FUNCTIONS,
  CONSTANTS,
  apply,
  bin,
  call,
  children,
  depth,
  freeVars,
  neg,
  num,
  v,
  type Expr,
  type Program,
  type Span,
  type Statement,
} from "../language/ast.js";
import { BIN_OPS, MULTI_OPS, applyOp, type StageOp } from "../language/functions.js";
import { ExplainSyntaxError, type ErrorHint } from "../language/parser.js";
import { evalConstant } from "../language/values.js";
import { DEFAULT_GRANULARITY, type Granularity } from "../language/gates.js";
import { expandGates, postorderOnce } from "./granularity.js";

export type Arg = { readonly kind: "ref"; readonly name: string } | { readonly kind: "const"; readonly expr: Expr; readonly value: bp.Tensor };

export interface Stage {
  readonly name: string;
  readonly op: StageOp;
  readonly args: readonly Arg[];
  /** The stage's right-hand side with its arguments as names (and constants as written). */
  readonly expr: Expr;
  /** Where its operation is in the source text. */
  readonly span?: Span;
  readonly userDefined: boolean;
  /** For op "abstract": the abstract function (declared with fn) that the stage calls. */
  readonly fn?: string;
}

export interface StagedProgram {
  readonly program: Program;
  /** Free variables, in order of first appearance. */
  readonly inputs: readonly string[];
  readonly stages: readonly Stage[];
  /** Name of the output (the last stage). */
  readonly output: string;
  /** Abstract functions the program declares with `fn`, with their arity (absent when none). */
  readonly functions?: ReadonlyMap<string, number>;
}

const RESERVED = new Set<string>([...BUILTIN_FUNCTIONS, ...CONSTANTS.keys()]);

function nameGenerator(taken: Set<string>): () => string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  let i = 0;
  return () => {
    for (;;) {
      const name = i < letters.length ? letters[i] : `t${i - letters.length + 1}`;
      i++;
      if (!taken.has(name) && !RESERVED.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
}

/** The state of staging one program: what is defined, the inputs found, the stages made, fresh names. */
interface Stager {
  readonly src: string;
  readonly defined: Map<string, Span>;
  readonly inputs: string[];
  readonly inputSet: Set<string>;
  readonly stages: Stage[];
  readonly fresh: () => string;
  /** Every statement's defined name, with where it is defined (to catch a use before the definition). */
  readonly laterDefs: ReadonlyMap<string, Span>;
  readonly granularity: Granularity;
}

/**
 * `reserved`: further names stage names must avoid (values given for names the program does not use).
 * `granularity`: "gates" stages sigmoid, tanh, mse and softmax_ce as one stage each, "primitives" as
 * their primitive operations (language/gates.ts).
 */
export function stageProgram(program: Program, reserved: ReadonlySet<string> = new Set(), granularity: Granularity = DEFAULT_GRANULARITY): StagedProgram {
  const st0: Stager = {
    src: program.source,
    defined: new Map(),
    inputs: [],
    inputSet: new Set(),
    stages: [],
    fresh: nameGenerator(takenNames(program, reserved)),
    laterDefs: new Map(program.statements.filter((s) => s.name).map((s) => [s.name as string, s.span])),
    granularity,
  };
  let output = "";
  for (const st of program.statements) output = stageTopLevel(st0, st);
  const { inputs, stages } = st0;
  return program.functions ? { program, inputs, stages, output, functions: program.functions } : { program, inputs, stages, output };
}

/** Names the generated stage names must avoid: the reserved ones, abstract functions, every name the program uses. */
function takenNames(program: Program, reserved: ReadonlySet<string>): Set<string> {
  const all = new Set<string>(reserved);
  // Stage names must not be the names of abstract functions either (fn a; a(x) would print a = a(x)).
  for (const f of program.functions?.keys() ?? []) all.add(f);
  for (const st of program.statements) {
    freeVars(st.expr).forEach((n) => all.add(n));
    if (st.name) all.add(st.name);
  }
  return all;
}

/** Stages one statement of the program and returns the name holding its value (the output so far). */
function stageTopLevel(ctx: Stager, st: Statement): string {
  const { defined, inputSet, stages } = ctx;
  if (st.name && (defined.has(st.name) || inputSet.has(st.name))) {
    throw new ExplainSyntaxError(`'${st.name}' is ${defined.has(st.name) ? "defined twice" : "used before its definition"}`, st.span.start, ctx.src);
  }
  const expr = ctx.granularity === "primitives" ? expandGates(st.expr) : st.expr;
  let output = stageStatement(ctx, expr, st.name, st.span.start);
  if (st.name === null && output !== stages[stages.length - 1]?.name) {
    // The program ends in a bare name: give the output its own stage.
    const nm = ctx.fresh();
    stages.push({ name: nm, op: "id", args: [{ kind: "ref", name: output }], expr: v(output), span: st.expr.span, userDefined: false });
    output = nm;
  }
  if (st.name) defined.set(st.name, st.span);
  return output;
}

const argExpr = (a: Arg): Expr => (a.kind === "ref" ? v(a.name) : a.expr);

/** A deep constant subexpression (1+1+...+1) is shown by its value, so printing stays shallow. */
function constArg(e: Expr, src: string): Arg {
  const value = evalConstant(e, src);
  return { kind: "const", expr: value.size === 1 && depth(e) > 40 ? num(value.item()) : e, value };
}

/** A variable used at offset `at`: an error before its definition, else an input the first time it is seen. */
function useVar(ctx: Stager, x: Expr & { kind: "var" }, at: number): void {
  const { defined, laterDefs, inputSet } = ctx;
  if (!defined.has(x.name) && laterDefs.has(x.name) && (laterDefs.get(x.name)?.start ?? 0) >= at) {
    throw new ExplainSyntaxError(`'${x.name}' is used before its definition`, x.span?.start ?? at, ctx.src);
  }
  if (!defined.has(x.name) && !inputSet.has(x.name)) {
    ctx.inputs.push(x.name);
    inputSet.add(x.name);
  }
}

/** Per node (post-order), whether it is a constant subexpression; notes the variables as used. */
function constantNodes(ctx: Stager, nodes: readonly Expr[], at: number): Map<Expr, boolean> {
  const constant = new Map<Expr, boolean>();
  for (const n of nodes) {
    // A call of an abstract function has no value, even of constants (g(2)): it is always a stage.
    const abstract = n.kind === "apply" && !BUILTIN_FUNCTIONS.has(n.fn);
    constant.set(n, n.kind !== "var" && !abstract && children(n).every((c) => constant.get(c)));
    if (n.kind === "var") useVar(ctx, n, at);
  }
  return constant;
}

/**
 * Stages one statement, children before parents (post-order, no recursion), and returns the name
 * that holds its value. Maximal constant subexpressions become constant arguments, not stages.
 */
function stageStatement(ctx: Stager, root: Expr, name: string | null, at: number): string {
  const { stages, src } = ctx;
  // A gate written in primitives shares its argument's node (tanh's e^u): each node is staged once.
  const nodes = postorderOnce(root);
  const constant = constantNodes(ctx, nodes, at);
  if (constant.get(root)) {
    const nm = name ?? ctx.fresh();
    stages.push({ name: nm, op: "id", args: [constArg(root, src)], expr: root, span: root.span, userDefined: name !== null });
    return nm;
  }
  const argOf = new Map<Expr, Arg>();
  const arg = (c: Expr): Arg => (constant.get(c) ? constArg(c, src) : argOf.get(c)!);
  for (const e of nodes) {
    if (constant.get(e)) continue;
    if (e.kind === "var" && (e !== root || name === null)) {
      argOf.set(e, { kind: "ref", name: e.name });
      continue;
    }
    const { op, args, fn } = nodeOperation(e, arg, src);
    const stageName = e === root && name !== null ? name : ctx.fresh();
    stages.push({
      name: stageName,
      op,
      args,
      expr: stageExpr(op, args.map(argExpr), fn),
      span: e.span,
      userDefined: e === root && name !== null,
      ...(fn === undefined ? {} : { fn }),
    });
    argOf.set(e, { kind: "ref", name: stageName });
  }
  const out = argOf.get(root)!;
  return out.kind === "ref" ? out.name : "";
}

/** The stage operation of one non-constant node and its arguments (`arg` gives a child's). */
function nodeOperation(e: Expr, arg: (c: Expr) => Arg, src: string): { op: StageOp; args: Arg[]; fn?: string } {
  switch (e.kind) {
    case "var":
      return { op: "id", args: [{ kind: "ref", name: e.name }] };
    case "neg":
      return { op: "neg", args: [arg(e.arg)] };
    case "call":
      return { op: e.fn === "log" ? "ln" : e.fn, args: [arg(e.arg)] };
    case "apply":
      // max, min and the losses are one stage each; any other name is an abstract function declared with fn.
      if (MULTI_OPS.has(e.fn)) return { op: MULTI_OPS.get(e.fn)!, args: e.args.map(arg) };
      return { op: "abstract", args: e.args.map(arg), fn: e.fn };
    case "bin":
      if (e.op === "^" && e.left.kind === "const" && e.left.name === "e") return { op: "exp", args: [arg(e.right)] }; // e^u is exp(u): one stage, local derivative e^u
      if (e.op === "/" && e.left.kind === "num" && e.left.value === 1) return { op: "reciprocal", args: [arg(e.right)] }; // 1/u, as the seeds stage sigmoid
      return { op: BIN_OPS[e.op], args: [arg(e.left), arg(e.right)] };
    default:
      throw new ExplainSyntaxError("an array literal with variables in it cannot be staged", e.span?.start ?? 0, src, { kind: "array-values" });
  }
}

/** The right-hand side of a stage, for equations and local derivatives; `fn` names an abstract function. */
export function stageExpr(op: StageOp, a: readonly Expr[], fn?: string): Expr {
  switch (op) {
    case "maximum":
    case "minimum":
      return apply(op === "maximum" ? "max" : "min", a);
    case "mse":
    case "softmax_ce":
    case "linear":
    case "softmax":
    case "conv2d":
    case "maxpool":
    case "avgpool":
    case "batchnorm":
    case "layernorm":
      return apply(op, a);
    case "abstract":
      return apply(fn ?? "?", a);
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "pow":
    case "matmul":
      return bin(({ add: "+", sub: "-", mul: "*", div: "/", pow: "^", matmul: "@" } as const)[op], a[0], a[1]);
    case "neg":
      return neg(a[0]);
    case "reciprocal":
      return bin("/", { kind: "num", value: 1 }, a[0]);
    case "id":
      return a[0];
    default:
      return call(op, a[0]);
  }
}

/** An error in explaining a program; `hint`, when there is one, is for the front end to word. */
export class ExplainError extends Error {
  readonly hint?: ErrorHint;
  constructor(message: string, hint?: ErrorHint) {
    super(message);
    this.name = "ExplainError";
    if (hint !== undefined) this.hint = hint;
  }
}

/**
 * The stage's operation as a function of its referenced arguments. Constants are closed over, except
 * those `lifted` marks (per argument position): those come as further arguments, after the references,
 * so that a recording sees them as leaves.
 */
export function stageFunction(s: Stage, lifted: readonly boolean[] = []): (...xs: bp.Tensor[]) => bp.Tensor {
  const refCount = s.args.filter((a) => a.kind === "ref").length;
  return (...xs) => {
    let r = 0;
    let c = refCount;
    return applyOp(
      s.op,
      s.args.map((a, i) => (a.kind === "ref" ? xs[r++] : lifted[i] ? xs[c++] : a.value)),
      s.fn,
    );
  };
}

/** The whole staged program as a function of the named inputs, in that order. */
export function programFunction(staged: StagedProgram, names: readonly string[]): (...xs: bp.Tensor[]) => bp.Tensor {
  return (...xs) => {
    const env = new Map<string, bp.Tensor>(names.map((n, k) => [n, xs[k]]));
    for (const s of staged.stages) env.set(s.name, stageFunction(s)(...refArgs(s).map((r) => env.get(r)!)));
    return env.get(staged.output)!;
  };
}

export function refArgs(s: Stage): string[] {
  return s.args.flatMap((a) => (a.kind === "ref" ? [a.name] : []));
}

export function equationText(s: Stage, print: (e: Expr) => string): string {
  return `${s.name} = ${print(s.expr)}`;
}
