/**
 * The code emitter: a combined forward/backward function in NumPy Python or TypeScript, in the
 * seeds' style: forward stages, then backward stages in reverse, `=` for the first contribution to a
 * gradient and `+=` only at fan-out (never on an array another name shares), each line pointing back
 * to its stage.
 * The code is correct for any shapes the program accepts, not only those given with --at: elementwise
 * stages print their simplified local derivatives (the same expression at every element), summed back
 * to an operand's shape where a binary operation may broadcast; sum, mean, transpose and matrix
 * products print shape-generic VJPs that read shapes at run time.
 */
import * as bp from "../core.js";
import { bin, call, freeVars, neg, num, postorder, v, type BinOp, type Expr, type FnName } from "../language/ast.js";
import { atom, graphCode } from "./graphcode.js";
import { printExpr, printText } from "../language/print.js";
import { simplify } from "./simplify.js";
import { ExplainError, refArgs, type Arg, type Stage, type StagedProgram } from "./stage.js";
import { abstractError, abstractFunctions } from "./abstract.js";
import type { StageRecord, Trace } from "./trace.js";
import { NotSymbolic, readGraph } from "./symbolic.js";
import { LOG_SOFTMAX, PY_LOG_SOFTMAX, TS_LOG_SOFTMAX, gateBackward, gateForward, isGateOp } from "./gatecode.js";
import { LAYER_HELPERS, isLayerOp, layerBackward, layerForward } from "./layercode.js";

export type CodeTarget = "python" | "ts";

interface Line {
  code: string;
  comment: string;
}

/**
 * Functions the generated code calls that neither NumPy nor Math has, defined at its top when the body
 * calls them (TypeScript over tensors has them as bp.sigmoid, bp.erf).
 */
const HELPERS: readonly { name: string; python: readonly string[]; ts: readonly string[] }[] = [
  {
    name: "sigmoid",
    python: ["def sigmoid(x):", "    return 1 / (1 + np.exp(-x))"],
    ts: ["function sigmoid(x: number): number {", "  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));", "}"],
  },
  {
    name: "erf",
    python: ["def erf(x):", "    import math", "    return np.vectorize(math.erf, otypes=[float])(x)"],
    // The core's kernel: the Maclaurin series below 2.5, 1 - erfc's continued fraction above.
    ts: [
      "function erf(v: number): number {",
      "  const x = Math.abs(v);",
      "  if (x === 0 || Number.isNaN(v)) return v;",
      "  if (x >= 6) return Math.sign(v);",
      "  let r: number;",
      "  if (x < 2.5) {",
      "    let term = x;",
      "    r = x;",
      "    for (let n = 1; n < 60 && Math.abs(term) > 1e-17 * r; n++) r += (term *= (-x * x) / n) / (2 * n + 1);",
      "    r *= 2 / Math.sqrt(Math.PI);",
      "  } else {",
      "    let f = x;",
      "    for (let k = 60; k >= 1; k--) f = x + k / 2 / f;",
      "    r = 1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / f;",
      "  }",
      "  return v < 0 ? -r : r;",
      "}",
    ],
  },
];

/** The helper definitions `body` needs (TypeScript over tensors needs none: bp has them). */
function helpersFor(body: string, target: CodeTarget, scalar: boolean): string[] {
  const calls = (name: string) => new RegExp(`(?<![\\w.])${name}\\(`).test(body);
  // The layer stages' helpers (layercode.ts): NumPy's forward and backward, TypeScript's backward.
  const layers = LAYER_HELPERS.filter((h) => calls(target === "python" ? h.name : (h.tsName ?? h.name)));
  const layerLines = layers.flatMap((h) => (target === "python" ? (h.python.length ? ["", ...h.python, ""] : []) : h.ts.length ? [...h.ts, ""] : []));
  if (target === "ts" && !scalar) return layerLines;
  return [...HELPERS.filter((h) => calls(h.name)).flatMap((h) => (target === "python" ? ["", ...h.python, ""] : [...h.ts, ""])), ...layerLines];
}

/** Keywords of each target and the generated code's own names (helpers, the module, the output). */
const RESERVED: Record<CodeTarget, ReadonlySet<string>> = {
  python: new Set(
    "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield np sigmoid erf out forward_backward".split(
      " ",
    ),
  ),
  ts: new Set(
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await arguments eval undefined NaN Infinity Math bp sigmoid erf out forwardBackward".split(
      " ",
    ),
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
    case "apply":
      return { ...e, args: e.args.map((a) => renameVars(a, id)) };
    default:
      return e;
  }
}

/** The program with every input and stage named as `id` says (stage expressions are shallow). */
function renameProgram(staged: StagedProgram, id: (name: string) => string): StagedProgram {
  const stages = staged.stages.map((s): Stage => ({
    ...s,
    name: id(s.name),
    args: s.args.map((a) => (a.kind === "ref" ? { kind: "ref", name: id(a.name) } : a)),
    expr: renameVars(s.expr, id),
  }));
  return { ...staged, inputs: staged.inputs.map(id), stages, output: id(staged.output) };
}

function renameKeys<T>(m: ReadonlyMap<string, T>, id: (name: string) => string): Map<string, T> {
  return new Map([...m].map(([k, x]) => [id(k), x]));
}

/** The code of one argument: its name, or the constant (as written in Python, by value in TypeScript). */
function argCode(a: Arg, target: CodeTarget, scalar: boolean): string {
  if (a.kind === "ref") return a.name;
  if (target === "python") return printExpr(a.expr, "python");
  return scalar ? printExpr(a.expr, "ts") : graphCode(a.value, new Map(), "ts");
}

const TS_TENSOR_FN: Record<FnName, string> = {
  ln: "bp.log",
  log: "bp.log",
  exp: "bp.exp",
  sqrt: "bp.sqrt",
  sin: "bp.sin",
  cos: "bp.cos",
  tan: "bp.tan",
  tanh: "bp.tanh",
  sigmoid: "bp.sigmoid",
  erf: "bp.erf",
  relu: "bp.relu",
  abs: "bp.abs",
  sign: "bp.sign",
  step: "bp.gt",
  sum: "bp.sum",
  mean: "bp.mean",
  transpose: "bp.transpose",
};
const TS_TENSOR_BIN: Record<Exclude<BinOp, "@">, string> = { "+": "bp.add", "-": "bp.sub", "*": "bp.mul", "/": "bp.div", "^": "bp.pow" };

/** An expression over tensors as bp calls (the ops are immutable); parts without variables stay plain numbers. */
function tsTensorExpr(e: Expr): string {
  if (freeVars(e).length === 0) return printExpr(e, "ts");
  switch (e.kind) {
    case "var":
      return e.name;
    case "neg":
      return `bp.neg(${tsTensorExpr(e.arg)})`;
    case "call":
      // step(u) is the engine's u > 0.
      return e.fn === "step" ? `bp.gt(${tsTensorExpr(e.arg)}, 0)` : `${TS_TENSOR_FN[e.fn]}(${tsTensorExpr(e.arg)})`;
    case "bin":
      if (e.op === "@") return `bp.matmul(${tsTensorExpr(e.left)}, ${tsTensorExpr(e.right)})`;
      return `${TS_TENSOR_BIN[e.op]}(${tsTensorExpr(e.left)}, ${tsTensorExpr(e.right)})`;
    case "apply":
      if (e.fn === "max" || e.fn === "min") return `bp.${e.fn === "max" ? "maximum" : "minimum"}(${e.args.map(tsTensorExpr).join(", ")})`;
      return printExpr(e, "ts");
    default:
      return printExpr(e, "ts");
  }
}

/** The forward line of a stage on tensors in TypeScript. */
function tsTensorStage(s: Stage): string {
  const a = s.args.map((x) => argCode(x, "ts", false));
  if (isGateOp(s.op)) return gateForward(s.op, a, false);
  if (isLayerOp(s.op)) return layerForward(s.op, a, false);
  switch (s.op) {
    case "id":
      return a[0];
    case "step":
      return `bp.gt(${a[0]}, 0)`;
    case "ln":
      return `bp.log(${a[0]})`;
    default:
      return `bp.${s.op}(${a.join(", ")})`;
  }
}

/** One edge's share of an input's or stage's gradient, as code. */
interface Contribution {
  target: string;
  code: string;
  stage: Stage;
  /**
   * Whether `code` always makes a new array. A bare name or a view (np.transpose) shares memory with
   * another gradient, so it must never be the left side of an in-place `+=` (see emitBackward).
   */
  fresh: boolean;
}

/** `code` summed back to the shape of `x` (over the axes broadcasting added or stretched): the one spelling of it. */
function sumToCode(code: string, x: string, py: boolean): string {
  return py ? `_sum_to(${code}, np.shape(${x}))` : `bp.sumTo(${code}, ${x}.shape)`;
}

/** How the backward code is written: NumPy, TypeScript on plain numbers, or TypeScript on bp tensors. */
type Style = "python" | "tsNumber" | "tsTensor";

/**
 * The local derivatives of an elementwise stage as expressions (one per referenced argument), read
 * from its recorded VJP in the explanation's trace, with the upstream leaf read as 1 and the shape
 * bookkeeping of broadcasting (broadcasts, sums back) read through: elementwise, the same expression
 * holds at every element of any shape, so the code is not tied to the shapes given with --at (the sum
 * back to an operand's shape is written separately). An array constant reads back as its code
 * (`constCode`), since only its elements matter. Null where no expression exists.
 */
function localDerivatives(r: StageRecord, s: Stage, constCode: (a: Arg) => string): Expr[] | null {
  const refs = refArgs(s);
  const names = new Map<bp.Tensor, Expr>(r.leaves.map((l, k) => [l, v(refs[k])]));
  r.constants.forEach((c, i) => {
    // An array constant written as an expression (1 + [1, 2, 3]) is one operand: parenthesised.
    if (c !== null && c.size !== 1) names.set(c, v(atom(constCode(s.args[i]))));
  });
  names.set(r.ct, num(1));
  names.set(r.out, v(s.name));
  try {
    return r.vjp.map((g) => simplify(readGraph(g, names, undefined, { throughShapes: true })));
  } catch (e) {
    if (e instanceof NotSymbolic) return null;
    throw e;
  }
}

/** `up * local` in the style's language; `up` alone where the local derivative is 1. */
function times(up: string, local: Expr, style: Style): { code: string; fresh: boolean } {
  if (local.kind === "num" && local.value === 1) return { code: up, fresh: false };
  if (local.kind === "num" && local.value === -1) return { code: style === "tsTensor" ? `bp.neg(${up})` : `-${up}`, fresh: true };
  const e = bin("*", v(up), local);
  return { code: style === "python" ? printExpr(e, "python") : style === "tsNumber" ? printExpr(e, "ts") : tsTensorExpr(e), fresh: true };
}

/**
 * Shape-generic VJPs of the structural stages (sum, mean, transpose, matrix products), written with
 * the arguments' shapes read at run time. Every matrix product has one: the lecture's forms for
 * vectors and matrices, swapped last axes for batches, and a vector against a batch (vectorBatchVjp).
 * A product's form follows its operands' ranks at --at (sizes are free, and so are the batch axes of
 * a batch): NumPy's @ means another product at another rank, so np.outer(ga, x) would be wrong for x
 * of 2 axes, where the lecture's form is ga @ x.T.
 */
function structuralVjp(s: Stage, up: string, args: readonly string[], ndims: readonly number[], style: Style): { code: string; fresh: boolean }[] | null {
  const py = style === "python";
  // A constant operand may print as an expression (np.array([1, 2]) * 2): it needs parentheses before .T or [:, None].
  const [a, b] = args.map(atom);
  switch (s.op) {
    case "id":
      return [{ code: up, fresh: false }];
    case "sum": // every element counts once: the upstream gradient, spread over a's shape
      return [{ code: py ? `${up} * np.ones_like(${a})` : `bp.mul(${up}, bp.onesLike(${a}))`, fresh: true }];
    case "mean":
      return [{ code: py ? `${up} * np.ones_like(${a}) / np.size(${a})` : `bp.div(bp.mul(${up}, bp.onesLike(${a})), ${a}.size)`, fresh: true }];
    case "transpose":
      return [{ code: py ? `np.transpose(${up})` : `bp.transpose(${up})`, fresh: false }];
    case "matmul":
      return matmulVjp(up, a, b, ndims, py).map((code) => ({ code, fresh: true }));
    case "mse":
    case "softmax_ce":
    case "linear":
    case "softmax":
      return gateBackward(
        s.op,
        up,
        args.map(atom),
        s.name,
        py,
        (code, x) => sumToCode(code, x, py),
        (u) => matmulVjp(u, a, b, ndims, py),
      ).map((code) => ({
        code,
        fresh: true,
      }));
    case "conv2d":
    case "maxpool":
    case "avgpool":
    case "batchnorm":
    case "layernorm":
      return layerBackward(s.op, up, args.map(atom), py).map((code) => ({ code, fresh: true }));
    default:
      return null;
  }
}

/** The matrix product's VJP code, a @ b, for the operands' ranks at --at (see structuralVjp). */
function matmulVjp(up: string, a: string, b: string, ndims: readonly number[], py: boolean): string[] {
  const T = (x: string) => (py ? `${x}.T` : `bp.mT(${x})`);
  const mm = (x: string, y: string) => (py ? `${x} @ ${y}` : `bp.matmul(${x}, ${y})`);
  const outer = (x: string, y: string) => (py ? `np.outer(${x}, ${y})` : `bp.mul(bp.unsqueeze(${x}, 1), ${y})`);
  const mul = (x: string, y: string) => (py ? `${x} * ${y}` : `bp.mul(${x}, ${y})`);
  const key = `${ndims[0]},${ndims[1]}`;
  if (ndims[0] >= 2 && ndims[1] >= 2 && key !== "2,2") {
    // Batched: transpose the last two axes, and sum the batch axes an operand was broadcast over.
    const sw = (x: string) => (py ? `np.swapaxes(${x}, -1, -2)` : `bp.mT(${x})`);
    return [sumToCode(mm(up, sw(b)), a, py), sumToCode(mm(sw(a), up), b, py)];
  }
  const codes =
    key === "2,2"
      ? [mm(up, T(b)), mm(T(a), up)]
      : key === "2,1"
        ? [outer(up, b), mm(T(a), up)]
        : key === "1,2"
          ? [mm(b, up), outer(a, up)]
          : key === "1,1"
            ? [mul(up, b), mul(up, a)]
            : null;
  return codes ?? vectorBatchVjp(up, a, b, ndims[0] === 1, py);
}

/**
 * The VJP of a matrix product of a vector with a batch of matrices (`vectorLeft`: v @ B, B of shape
 * (..., n, k)) or of a batch with a vector (A @ v, A of shape (..., m, n)), as NumPy reads them: the
 * vector is a row on the left and a column on the right of every matrix in the batch, and the axis it
 * gained is dropped from the result. The vector's gradient is summed over the batch axes; the batch's
 * is, per matrix, the outer product of the upstream gradient and the vector.
 */
function vectorBatchVjp(up: string, a: string, b: string, vectorLeft: boolean, py: boolean): [string, string] {
  // Python indexes with None to add an axis and 0 to drop it; TypeScript unsqueezes and squeezes.
  const col = (x: string) => (py ? `${x}[..., None]` : `bp.unsqueeze(${x}, -1)`);
  const row = (x: string) => (py ? `${x}[..., None, :]` : `bp.unsqueeze(${x}, -2)`);
  const mm = (x: string, y: string) => (py ? `(${x} @ ${y})` : `bp.matmul(${x}, ${y})`);
  const mul = (x: string, y: string) => (py ? `${x} * ${y}` : `bp.mul(${x}, ${y})`);
  const sumTo = (code: string, x: string) => sumToCode(code, x, py);
  if (vectorLeft) {
    // out[..., k] = Σ_n v[n] B[..., n, k]: gv = Σ_batch B @ up (as columns); gB[..., n, k] = v[n] up[..., k].
    const gv = py ? `${mm(b, col(up))}[..., 0]` : `bp.squeeze(${mm(b, col(up))}, -1)`;
    return [sumTo(gv, a), mul(py ? `${a}[:, None]` : `bp.unsqueeze(${a}, 1)`, row(up))];
  }
  // out[..., m] = Σ_n A[..., m, n] v[n]: gA[..., m, n] = up[..., m] v[n]; gv = Σ_batch up (as rows) @ A.
  const gv = py ? `${mm(row(up), a)}[..., 0, :]` : `bp.squeeze(${mm(row(up), a)}, -2)`;
  return [mul(col(up), b), sumTo(gv, b)];
}

/**
 * For each name, a set of sources whose broadcast is its shape, for any input shapes: an input is its
 * own source; an elementwise stage broadcasts its arguments' sources (a scalar constant adds none);
 * sum and mean give a scalar (no source); a matrix product, a transpose of an array or an array
 * constant is a source of its own. Two names with the same set surely have the same shape, so a
 * gradient flowing between them needs no summing back (`ga = gd` for d = a + c when both are x * y-shaped).
 */
function shapeSources(staged: StagedProgram): Map<string, ReadonlySet<string>> {
  const src = new Map<string, ReadonlySet<string>>(staged.inputs.map((n) => [n, new Set([n])]));
  for (const s of staged.stages) {
    const of = (a: Arg, i: number): ReadonlySet<string> =>
      a.kind === "ref" ? (src.get(a.name) ?? new Set([a.name])) : a.value.size === 1 && a.value.ndim === 0 ? new Set() : new Set([`${s.name}#${i}`]);
    const args = s.args.map(of);
    let key: ReadonlySet<string>;
    if (s.op === "sum" || s.op === "mean") key = new Set();
    else if (s.op === "matmul" || s.op === "conv2d" || s.op === "maxpool" || s.op === "avgpool" || (s.op === "transpose" && args[0].size > 0))
      key = new Set([`${s.name}#`]);
    // A normalization has x's shape (γ and β have the channels' or the last axis').
    else if (s.op === "batchnorm" || s.op === "layernorm") key = args[0];
    else key = new Set(args.flatMap((a) => [...a]));
    src.set(s.name, key);
  }
  return src;
}

const sameSources = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean => a.size === b.size && [...a].every((x) => b.has(x));

/** The contributions of one stage to its referenced arguments' gradients. */
function stageContributions(
  s: Stage,
  r: StageRecord,
  values: ReadonlyMap<string, bp.Tensor>,
  g: (n: string) => string,
  style: Style,
  sources: ReadonlyMap<string, ReadonlySet<string>>,
): Contribution[] {
  const up = g(s.name);
  const refIndex = s.args.flatMap((a, i) => (a.kind === "ref" ? [i] : []));
  const refs = refArgs(s);
  const codeOfArg = (a: Arg) => argCode(a, style === "python" ? "python" : "ts", style === "tsNumber");
  let parts: { code: string; fresh: boolean }[] | null = null;
  if (style !== "tsNumber" && (["id", "sum", "mean", "transpose", "matmul"].includes(s.op) || isGateOp(s.op) || isLayerOp(s.op))) {
    const all = structuralVjp(
      s,
      up,
      s.args.map(codeOfArg),
      s.args.map((a) => (a.kind === "ref" ? values.get(a.name)!.ndim : a.value.ndim)),
      style,
    );
    parts = all && refIndex.map((i) => all[i]);
  } else {
    const locals = localDerivatives(r, s, codeOfArg);
    parts =
      locals &&
      locals.map((local, k) => {
        const p = times(up, local, style);
        // A binary operation broadcasts its operands; each one's gradient is summed back to its shape.
        const r = refs[k];
        if (style === "tsNumber" || s.args.length < 2 || sameSources(sources.get(r)!, sources.get(s.name)!)) return p;
        return { code: sumToCode(p.code, r, style === "python"), fresh: p.fresh };
      });
  }
  // Every stage op has a shape-generic form above (fuzzed over ~3,000 programs of every op and shape);
  // code tied to the --at shapes would be wrong elsewhere, so a gap is an error, not such code.
  if (!parts) throw new ExplainError(`cannot generate shape-generic backward code for stage ${s.name} = ${printText(s.expr)}`);
  return refs.map((r, k) => ({ target: r, code: parts![k].code, fresh: parts![k].fresh, stage: s }));
}

/**
 * Backward lines from the contributions, in order. At fan-out the gradient is a sum, and the form of
 * each line is chosen so that no array is changed in place while another name still points at it
 * (`gx = gb` followed by `gx += ...` would change gb, and every gradient copied from it, too):
 * - the first contribution is written `gx = <expr>` when <expr> makes a new array;
 * - when it is only a name (or a view), it is held back and written with the second as one sum,
 *   `gx = gb + ga * y`, which makes a new array;
 * - every later contribution adds in place, `gx += ...`, safe on the array gx alone owns.
 * TypeScript writes the same lines (bp tensors are immutable, so `gx = bp.add(gx, ...)` for `+=`).
 */
function emitBackward(
  contributions: readonly Contribution[],
  g: (n: string) => string,
  style: Style,
): { lines: Line[]; seen: Set<string>; reassigned: Set<string> } {
  const counts = new Map<string, number>();
  for (const c of contributions) counts.set(c.target, (counts.get(c.target) ?? 0) + 1);
  const seen = new Set<string>();
  const held = new Map<string, Contribution>();
  const reassigned = new Set<string>();
  const lines: Line[] = [];
  const where = (c: Contribution) => `${c.stage.name} = ${printText(c.stage.expr)}`;
  const plus = (x: string, y: string) => (style === "tsTensor" ? `bp.add(${x}, ${y})` : `${x} + ${y}`);
  for (const c of contributions) {
    const n = counts.get(c.target) ?? 0;
    const name = g(c.target);
    const first = !seen.has(c.target);
    seen.add(c.target);
    const h = held.get(c.target);
    if (first && n > 1 && !c.fresh) {
      held.set(c.target, c);
    } else if (first) {
      lines.push({ code: `${name} = ${c.code}`, comment: n > 1 ? `${where(c)}  (first of ${n} contributions: ${c.target} fans out)` : where(c) });
    } else if (h) {
      held.delete(c.target);
      lines.push({ code: `${name} = ${plus(h.code, c.code)}`, comment: `${where(h)} and ${where(c)}  (first 2 of ${n} contributions: ${c.target} fans out)` });
    } else {
      reassigned.add(name);
      lines.push({
        code: style === "tsTensor" ? `${name} = bp.add(${name}, ${c.code})` : `${name} += ${c.code}`,
        comment: `${where(c)}  (fan-out: add this contribution)`,
      });
    }
  }
  return { lines, seen, reassigned };
}

/**
 * linear(W, x, b)'s code passes the upstream gradient straight to W @ x's rules, which holds when b does
 * not stretch W @ x (b of its shape, or broadcast into it: the layer's usual bias). Checked at --at.
 */
function checkLinearBias(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>): void {
  for (const s of staged.stages) {
    if (s.op !== "linear") continue;
    const [w, x] = s.args.map((a) => (a.kind === "ref" ? values.get(a.name)! : a.value));
    const mm = bp.noGrad(() => bp.matmul(w, x)).shape;
    const out = values.get(s.name)!.shape;
    if (mm.join() !== out.join()) {
      throw new ExplainError(
        `code for ${s.name} = ${printText(s.expr)} needs b to fit W @ x (shape (${mm.join(", ")})), not stretch it to (${out.join(", ")}); write it as W @ x + b (--granularity primitives)`,
      );
    }
  }
}

/** The code of conv2d and the pools is written for batches of images, (N, C, H, W): a single (C, H, W) image is an error here. */
function checkLayerRanks(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>): void {
  for (const s of staged.stages) {
    if (s.op !== "conv2d" && s.op !== "maxpool" && s.op !== "avgpool") continue;
    const x = s.args[0].kind === "ref" ? values.get(s.args[0].name)! : s.args[0].value;
    if (x.ndim !== 4)
      throw new ExplainError(`code for ${s.name} = ${printText(s.expr)} needs x as a batch of images (N, C, H, W), got shape ${bp.formatShape(x.shape)}`);
  }
}

/** What the code is printed from: an explanation's staged program and its trace (see explain.ts). */
export interface CodeSource {
  readonly staged: StagedProgram;
  readonly trace: Trace;
}

/**
 * Emits `function f(inputs) -> (out, g<input>...)` from the explanation's one trace: its values give
 * ranks (the code works for any sizes that the program accepts), its recorded VJPs the local
 * derivatives. Names that are keywords or helpers of the target (lambda, new, np, Math, out) get a
 * trailing _.
 */
export function generateCode(ex: CodeSource, inputNames0: readonly string[], target: CodeTarget): string {
  const { staged: staged0, trace } = ex;
  const abstract = abstractFunctions(staged0);
  if (abstract.length > 0) throw new ExplainError(abstractError(abstract, "code"));
  checkLinearBias(staged0, trace.values);
  checkLayerRanks(staged0, trace.values);
  const values0 = trace.values;
  const grads0 = trace.grads;
  const taken = new Set<string>([
    ...inputNames0,
    ...staged0.stages.map((s) => s.name),
    "out",
    "_sum_to",
    LOG_SOFTMAX.python,
    LOG_SOFTMAX.ts,
    ...LAYER_HELPERS.flatMap((h) => [h.name, ...(h.tsName ? [h.tsName] : [])]),
  ]);
  const id = safeNamer(target, taken);
  const staged = renameProgram(staged0, id);
  const values = renameKeys(values0, id);
  const grads = renameKeys(grads0, id);
  const inputNames = inputNames0.map(id);
  // The gates mse, softmax_ce, linear and softmax are written on arrays (NumPy, or bp tensors in TypeScript).
  const scalar =
    !staged.stages.some((s) => isGateOp(s.op) || isLayerOp(s.op)) &&
    inputNames.every((n) => values.get(n)!.size === 1) &&
    staged.stages.every((s) => s.args.every((a) => a.kind === "ref" || !postorder(a.expr).some((e) => e.kind === "array")));
  const style: Style = target === "python" ? "python" : scalar ? "tsNumber" : "tsTensor";
  const g = (n: string) => id(taken.has(`g${n}`) ? `d_${n}` : `g${n}`);
  const forward: Line[] = staged.stages.map((s) => ({
    code: `${s.name} = ${
      style === "tsTensor"
        ? tsTensorStage(s)
        : isGateOp(s.op)
          ? gateForward(
              s.op,
              s.args.map((a) => atom(argCode(a, "python", false))),
              true,
            )
          : isLayerOp(s.op)
            ? layerForward(
                s.op,
                s.args.map((a) => atom(argCode(a, "python", false))),
                true,
              )
            : printExpr(s.expr, target)
    }`,
    comment: `${s.name} = ${printText(s.expr)}`,
  }));
  const live = staged.stages.filter((s) => grads.get(s.name));
  const recordOf = new Map(staged.stages.map((s, i) => [s.name, trace.records[i]]));
  const contributions: Contribution[] = [];
  const sources = shapeSources(staged);
  for (let i = live.length - 1; i >= 0; i--) contributions.push(...stageContributions(live[i], recordOf.get(live[i].name)!, values, g, style, sources));

  const out = staged.output;
  const seed = style === "python" ? `np.ones_like(${out})` : style === "tsNumber" ? "1" : `bp.onesLike(${out})`;
  const { lines, seen, reassigned } = emitBackward(contributions, g, style);
  const backward: Line[] = [{ code: `${g(out)} = ${seed}`, comment: `d out / d ${out}` }, ...lines];
  for (const n of inputNames) {
    if (seen.has(n)) continue;
    const zero = style === "python" ? `np.zeros_like(${n})` : style === "tsNumber" ? "0" : `bp.zerosLike(${n})`;
    backward.push({ code: `${g(n)} = ${zero}`, comment: `the output does not use ${n}, so its gradient is 0` });
  }
  const gradsOut = inputNames.map(g);
  const body = [...forward, ...backward].map((l) => l.code).join("\n");
  return target === "python"
    ? pythonFunction(
        staged,
        inputNames,
        forward,
        backward,
        gradsOut,
        helpersFor(body, target, scalar),
        body.includes("_sum_to("),
        body.includes(`${LOG_SOFTMAX.python}(`),
      )
    : tsFunction(staged, inputNames, forward, backward, gradsOut, scalar, helpersFor(body, target, scalar), reassigned, body.includes(`${LOG_SOFTMAX.ts}(`));
}

function align(lines: Line[], indent: string, commentMark: string): string[] {
  const width = Math.min(
    60,
    lines.reduce((m, l) => Math.max(m, l.code.length), 0),
  );
  return lines.map((l) => `${indent}${l.code.padEnd(width)}  ${commentMark} ${l.comment}`);
}

/** Emitted once where a broadcasting operation's gradient is summed back to an operand's shape. */
const PY_SUM_TO = [
  "def _sum_to(g, shape):",
  '    """g summed over the axes that broadcasting added or stretched, so that it has `shape` (a new array)."""',
  "    g = np.sum(g, axis=tuple(range(np.ndim(g) - len(shape))))",
  "    return np.sum(g, axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)",
];

function pythonFunction(
  staged: StagedProgram,
  inputs: readonly string[],
  forward: Line[],
  backward: Line[],
  grads: string[],
  helpers: readonly string[],
  sumTo: boolean,
  logSoftmax: boolean,
): string {
  const src = staged.program.source.replace(/\s*\n\s*/g, "; ");
  return [
    "import numpy as np",
    "",
    ...helpers,
    ...(sumTo ? ["", ...PY_SUM_TO, ""] : []),
    ...(logSoftmax ? ["", ...PY_LOG_SOFTMAX, ""] : []),
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

function tsFunction(
  staged: StagedProgram,
  inputs: readonly string[],
  forward: Line[],
  backward: Line[],
  grads: string[],
  scalar: boolean,
  helpers: readonly string[],
  reassigned: Set<string>,
  logSoftmax: boolean,
): string {
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
    ...helpers,
    ...(logSoftmax ? [...TS_LOG_SOFTMAX, ""] : []),
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
