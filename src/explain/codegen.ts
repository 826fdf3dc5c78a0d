/**
 * The code emitter: a combined forward/backward function in NumPy Python or TypeScript, in the
 * seeds' style: forward stages, then backward stages in reverse, `=` for the first contribution to a
 * gradient and `+=` only at fan-out, each line pointing back to its stage.
 * Scalar programs print simplified local derivatives on plain numbers; array programs print the
 * recorded VJP graphs with the primitive table's printers (shapes and reductions exact).
 */
import * as bp from "../index.js";
import { bin, call, neg, num, v, type Expr } from "./ast.js";
import { graphCode } from "./graphcode.js";
import { printExpr, printText } from "./print.js";
import { simplify } from "./simplify.js";
import { recordStageVjp, refArgs, stageFunction, type Stage, type StagedProgram } from "./stage.js";
import { readGraph } from "./symbolic.js";

export type CodeTarget = "python" | "ts";

interface Line {
  code: string;
  comment: string;
}

interface Contribution {
  target: string;
  code: string;
  stage: Stage;
}

function usesSigmoid(text: string): boolean {
  return /\bsigmoid\(/.test(text);
}

/** Keywords of each target and the generated code's own names (helpers, the module, the output). */
const RESERVED: Record<CodeTarget, ReadonlySet<string>> = {
  python: new Set(
    "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield np sigmoid out forward_backward".split(" "),
  ),
  ts: new Set(
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await arguments eval undefined NaN Infinity Math bp sigmoid out forwardBackward".split(" "),
  ),
};

/** A namer that keeps names, except reserved ones, which get trailing underscores until free. */
function safeNamer(target: CodeTarget, taken: Set<string>): (name: string) => string {
  const memo = new Map<string, string>();
  return (name) => {
    let safe = memo.get(name);
    if (safe === undefined) {
      safe = name;
      if (RESERVED[target].has(name)) {
        while (taken.has(safe) || RESERVED[target].has(safe)) safe += "_";
        taken.add(safe);
      }
      memo.set(name, safe);
    }
    return safe;
  };
}

function renameVars(e: Expr, id: (name: string) => string): Expr {
  switch (e.kind) {
    case "var":
      return v(id(e.name));
    case "neg":
      return neg(renameVars(e.arg, id));
    case "call":
      return call(e.fn, renameVars(e.arg, id));
    case "bin":
      return bin(e.op, renameVars(e.left, id), renameVars(e.right, id));
    default:
      return e;
  }
}

/** The program with every input and stage named as `id` says (stage expressions are shallow). */
function renameProgram(staged: StagedProgram, id: (name: string) => string): StagedProgram {
  const stages = staged.stages.map((s): Stage => ({ ...s, name: id(s.name), args: s.args.map((a) => (a.kind === "ref" ? { kind: "ref", name: id(a.name) } : a)), expr: renameVars(s.expr, id) }));
  return { ...staged, inputs: staged.inputs.map(id), stages, output: id(staged.output) };
}

function renameKeys<T>(m: ReadonlyMap<string, T>, id: (name: string) => string): Map<string, T> {
  return new Map([...m].map(([k, x]) => [id(k), x]));
}

/**
 * Emits `function f(inputs) -> (out, g<input>...)`. `values` are the inputs' values (for shapes).
 * Names that are keywords or helpers of the target (lambda, new, np, Math, out) get a trailing _.
 */
export function generateCode(staged0: StagedProgram, values0: ReadonlyMap<string, bp.Tensor>, inputNames0: readonly string[], target: CodeTarget, grads0: ReadonlyMap<string, bp.Tensor | null>): string {
  const taken = new Set<string>([...inputNames0, ...staged0.stages.map((s) => s.name), "out"]);
  const id = safeNamer(target, taken);
  const staged = renameProgram(staged0, id);
  const values = renameKeys(values0, id);
  const grads = renameKeys(grads0, id);
  const inputNames = inputNames0.map(id);
  const scalar = inputNames.every((n) => values.get(n)!.size === 1);
  const g = (n: string) => id(taken.has(`g${n}`) ? `d_${n}` : `g${n}`);
  const forward: Line[] = [];
  const contributions: Contribution[] = [];
  const live = staged.stages.filter((s) => grads.get(s.name));

  if (scalar) {
    for (const s of staged.stages) forward.push({ code: `${s.name} = ${printExpr(s.expr, target)}`, comment: `${s.name} = ${printText(s.expr)}` });
    for (let i = live.length - 1; i >= 0; i--) {
      const s = live[i];
      const { refs, leaves, ct, out: y, grads: gs } = recordStageVjp(s, values);
      const names = new Map<bp.Tensor, Expr>(leaves.map((l, k) => [l, v(refs[k])]));
      names.set(ct, num(1));
      names.set(y, v(s.name));
      refs.forEach((r, k) => {
        const local = simplify(readGraph(gs[k], names));
        const up = v(g(s.name));
        const e: Expr = local.kind === "num" && local.value === 1 ? up : { kind: "bin", op: "*", left: up, right: local };
        contributions.push({ target: r, code: printExpr(e, target), stage: s });
      });
    }
  } else {
    // Trace the forward program once so each stage can be printed from its recorded graph.
    const env = new Map<string, bp.Tensor>();
    const names = new Map<bp.Tensor, string>();
    for (const n of inputNames) {
      const leaf = new bp.Tensor(values.get(n)!.data, values.get(n)!.shape, null, true);
      env.set(n, leaf);
      names.set(leaf, n);
    }
    bp.withGradMode(true, () => {
      for (const s of staged.stages) {
        const t = stageFunction(s)(...refArgs(s).map((r) => env.get(r)!));
        forward.push({ code: `${s.name} = ${graphCode(t, names, target)}`, comment: `${s.name} = ${printText(s.expr)}` });
        env.set(s.name, t);
        names.set(t, s.name);
      }
    });
    for (let i = live.length - 1; i >= 0; i--) {
      const s = live[i];
      const { refs, leaves, ct, out: y, grads: gs } = recordStageVjp(s, values);
      const nm = new Map<bp.Tensor, string>(leaves.map((l, k) => [l, refs[k]]));
      nm.set(ct, g(s.name));
      nm.set(y, s.name);
      refs.forEach((r, k) => contributions.push({ target: r, code: graphCode(gs[k], nm, target), stage: s }));
    }
  }

  const counts = new Map<string, number>();
  for (const c of contributions) counts.set(c.target, (counts.get(c.target) ?? 0) + 1);
  const seen = new Set<string>();
  const backward: Line[] = [];
  const out = staged.output;
  const seed = scalar ? (target === "python" ? "1.0" : "1") : target === "python" ? `np.ones_like(${out})` : `bp.onesLike(${out})`;
  backward.push({ code: `${g(out)} = ${seed}`, comment: `d out / d ${out}` });
  for (const c of contributions) {
    const first = !seen.has(c.target);
    seen.add(c.target);
    const fanout = (counts.get(c.target) ?? 0) > 1;
    const where = `${c.stage.name} = ${printText(c.stage.expr)}`;
    const name = g(c.target);
    if (first) {
      const copy = !scalar && target === "python" && fanout && /^[A-Za-z_]\w*$/.test(c.code) ? `${c.code}.copy()` : c.code;
      backward.push({ code: `${name} = ${copy}`, comment: fanout ? `${where}  (first of ${counts.get(c.target)} contributions: ${c.target} fans out)` : where });
    } else if (!scalar && target === "ts") {
      backward.push({ code: `${name} = bp.add(${name}, ${c.code})`, comment: `${where}  (+= at fan-out)` });
    } else {
      backward.push({ code: `${name} += ${c.code}`, comment: `${where}  (fan-out: add this contribution)` });
    }
  }
  for (const n of inputNames) {
    if (seen.has(n)) continue;
    const zero = scalar ? (target === "python" ? "0.0" : "0") : target === "python" ? `np.zeros_like(${n})` : `bp.zerosLike(${n})`;
    backward.push({ code: `${g(n)} = ${zero}`, comment: `the output does not use ${n}, so its gradient is 0` });
  }
  const gradsOut = inputNames.map(g);
  const body = [...forward, ...backward].map((l) => l.code).join("\n");
  return target === "python" ? pythonFunction(staged, inputNames, forward, backward, gradsOut, usesSigmoid(body)) : tsFunction(staged, inputNames, forward, backward, gradsOut, scalar, usesSigmoid(body), new Set(contributions.filter((c) => (counts.get(c.target) ?? 0) > 1).map((c) => g(c.target))));
}

function align(lines: Line[], indent: string, commentMark: string): string[] {
  const width = Math.min(60, lines.reduce((m, l) => Math.max(m, l.code.length), 0));
  return lines.map((l) => `${indent}${l.code.padEnd(width)}  ${commentMark} ${l.comment}`);
}

function pythonFunction(staged: StagedProgram, inputs: readonly string[], forward: Line[], backward: Line[], grads: string[], sigmoid: boolean): string {
  const src = staged.program.source.replace(/\s*\n\s*/g, "; ");
  return [
    "import numpy as np",
    "",
    ...(sigmoid ? ["", "def sigmoid(x):", "    return 1 / (1 + np.exp(-x))", ""] : []),
    "",
    `# inputs: ${inputs.join(", ")}; outputs: the forward value \`out\` and ${grads.map((x) => `\`${x}\``).join(", ")}, d out / d each input`,
    `def forward_backward(${inputs.join(", ")}):`,
    `    """Forward and backward pass of ${src}."""`,
    "    # forward pass: one operation per stage",
    ...align(forward, "    ", "#"),
    `    out = ${staged.output}`,
    "",
    "    # backward pass: stages in reverse, upstream gradient times local derivative",
    ...align(backward, "    ", "#"),
    "",
    `    return out, ${grads.join(", ")}`,
    "",
  ].join("\n");
}

function tsFunction(staged: StagedProgram, inputs: readonly string[], forward: Line[], backward: Line[], grads: string[], scalar: boolean, sigmoid: boolean, reassigned: Set<string>): string {
  const T = scalar ? "number" : "bp.Tensor";
  const src = staged.program.source.replace(/\s*\n\s*/g, "; ");
  // const for every name but the gradients that fan-out adds to, which are let.
  const declared = new Set<string>();
  const decl = (l: Line): Line => {
    const m = /^([A-Za-z_]\w*) = /.exec(l.code);
    if (!m || declared.has(m[1])) return l;
    declared.add(m[1]);
    return { ...l, code: `${reassigned.has(m[1]) ? "let" : "const"} ${l.code}` };
  };
  const semi = (s: string) => s.replace(/^(\s*)(.*?)(\s+\/\/)/, (_m, a: string, c: string, d: string) => `${a}${c};${d}`);
  return [
    ...(scalar ? [] : ['import * as bp from "backprop";', ""]),
    ...(sigmoid && scalar ? ["function sigmoid(x: number): number {", "  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));", "}", ""] : []),
    `/** Forward and backward pass of ${src}: returns [out, ${grads.join(", ")}]. */`,
    `export function forwardBackward(${inputs.map((n) => `${n}: ${T}`).join(", ")}): [${[T, ...grads.map(() => T)].join(", ")}] {`,
    "  // forward pass: one operation per stage",
    ...align(forward.map(decl), "  ", "//").map(semi),
    `  const out = ${staged.output};`,
    "",
    "  // backward pass: stages in reverse, upstream gradient times local derivative",
    ...align(backward.map(decl), "  ", "//").map(semi),
    "",
    `  return [out, ${grads.join(", ")}];`,
    "}",
    "",
  ].join("\n");
}
