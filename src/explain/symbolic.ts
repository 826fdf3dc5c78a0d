/**
 * The symbolic interpreter: reads a recorded graph of primitives (a forward program, or the backward
 * program that the VJP rules record when differentiated with a graph) back as an expression.
 * Local and full derivatives are therefore the core's own VJP rules, printed, not a second engine.
 * Only scalar programs are read this way; shapes make reshape/broadcast/sum identities here.
 */
import * as bp from "./core.js";
import { bin, call, neg, num, type Expr } from "./ast.js";
import { aliasOf, pieceOf, type Piece } from "./ops.js";
import { charge } from "./work.js";

export class NotSymbolic extends Error {}

type Reader = (args: readonly Expr[], node: bp.Node) => Expr;

const id: Reader = (a) => a[0];
const unsupported =
  (what: string): Reader =>
  () => {
    throw new NotSymbolic(`${what} has no expression in the input language`);
  };

/** step(u) is 1 where u > 0: how comparisons (relu's and abs's derivatives) are written back. */
const step = (e: Expr): Expr => call("step", e);

/** The expression a noted untracked tensor stands for (relu's condition, abs's sign). */
function pieceExpr(p: Piece, of: Expr): Expr {
  if (p.fn === "sign") return call("sign", of);
  return p.fn === "step" ? step(of) : bin("-", num(1), step(of));
}

const READERS: { [P in bp.Prim]: Reader } = {
  neg: (a) => neg(a[0]),
  exp: (a) => call("exp", a[0]),
  log: (a) => call("ln", a[0]),
  sin: (a) => call("sin", a[0]),
  cos: (a) => call("cos", a[0]),
  tan: (a) => call("tan", a[0]),
  sqrt: (a) => call("sqrt", a[0]),
  tanh: (a) => call("tanh", a[0]),
  sigmoid: (a) => call("sigmoid", a[0]),
  abs: (a) => call("abs", a[0]),
  sign: (a) => call("sign", a[0]),
  reciprocal: (a) => bin("/", num(1), a[0]),
  add: (a) => bin("+", a[0], a[1]),
  sub: (a) => bin("-", a[0], a[1]),
  mul: (a) => bin("*", a[0], a[1]),
  div: (a) => bin("/", a[0], a[1]),
  pow: (a) => bin("^", a[0], a[1]),
  maximum: unsupported("maximum"),
  minimum: unsupported("minimum"),
  gt: (a) => step(bin("-", a[0], a[1])),
  ge: (a) => bin("-", num(1), step(bin("-", a[1], a[0]))),
  eq: unsupported("an equality test"),
  // where(c, x, y) with c in {0, 1}
  where: (a) => bin("+", bin("*", a[0], a[1]), bin("*", bin("-", num(1), a[0]), a[2])),
  sum: id,
  max: id,
  argmax: unsupported("argmax"),
  reshape: id,
  broadcast: id,
  transpose: id,
  slice: id,
  pad: id,
  concat: unsupported("concat"),
  gather: id,
  scatterAdd: id,
  matmul: (a) => bin("*", a[0], a[1]),
  cast: id,
};

const ELEMENTWISE = new Set<bp.Prim>(["neg", "exp", "log", "sin", "cos", "tan", "sqrt", "tanh", "sigmoid", "abs", "sign", "reciprocal", "add", "sub", "mul", "div", "pow", "maximum", "minimum", "gt", "ge", "eq", "where", "cast"]);

/**
 * Expression for tensor `t`: tensors in `names` are leaves (variables, or an expression standing for
 * them); untracked tensors are constants; everything else is rebuilt through READERS.
 * Throws NotSymbolic past `limit` nodes (a graph whose tree expansion explodes) or for non-scalars.
 */
export function readGraph(t: bp.Tensor, names: ReadonlyMap<bp.Tensor, Expr>, limit = 20000): Expr {
  const memo = new Map<bp.Tensor, Expr>();
  let budget = limit;
  // Iterative post-order so that deep graphs cannot overflow the stack.
  const stack: [bp.Tensor, boolean][] = [[t, false]];
  while (stack.length > 0) {
    const [u, expanded] = stack.pop()!;
    if (memo.has(u)) continue;
    const named = names.get(u);
    if (named) {
      memo.set(u, named);
      continue;
    }
    if (u.node === null) {
      const piece = pieceOf(u);
      if (piece) {
        const of = memo.get(piece.of);
        if (of === undefined) stack.push([u, true], [piece.of, false]);
        else memo.set(u, pieceExpr(piece, of));
        continue;
      }
      const v0 = u.data[0];
      // A NaN constant equals itself here (x !== x only for NaN).
      if (u.size === 0 || !Array.from(u.data).every((x) => x === v0 || (x !== x && v0 !== v0))) throw new NotSymbolic("array constants have no scalar expression");
      memo.set(u, num(v0));
      continue;
    }
    // Arrays are read only through elementwise primitives, where an expression means the same thing
    // at every element; reshapes, reductions and products of arrays have no such reading.
    const identity = (u.node.prim === "reshape" || u.node.prim === "broadcast") && u.node.inputs[0].shape.join() === u.shape.join();
    if (u.size !== 1 && !identity && !ELEMENTWISE.has(u.node.prim)) throw new NotSymbolic(`${u.node.prim} of arrays has no elementwise expression`);
    if (!expanded) {
      stack.push([u, true]);
      for (const i of u.node.inputs) if (!memo.has(i)) stack.push([i, false]);
      continue;
    }
    if (--budget < 0) throw new NotSymbolic("the expression is too large to print");
    charge();
    memo.set(u, aliasOf(u, (x) => memo.get(x)) ?? READERS[u.node.prim](u.node.inputs.map((i) => memo.get(i)!), u.node));
  }
  return memo.get(t)!;
}

/**
 * Number of nodes of the expression tree that readGraph(t, names) would print, counted over the graph
 * (linear in its nodes) without building it: a graph with shared nodes (fan-out) can stand for a tree
 * exponentially larger than itself. Saturates at Number.MAX_VALUE rather than overflowing to Infinity.
 */
export function expressionSize(t: bp.Tensor, names: ReadonlyMap<bp.Tensor, Expr>): number {
  const memo = new Map<bp.Tensor, number>();
  const stack: [bp.Tensor, boolean][] = [[t, false]];
  while (stack.length > 0) {
    const [u, expanded] = stack.pop()!;
    if (memo.has(u)) continue;
    const piece = u.node === null && !names.has(u) ? pieceOf(u) : undefined;
    if (piece) {
      // 1 - step(of): three nodes and the operand's tree.
      const of = memo.get(piece.of);
      if (of === undefined) stack.push([u, true], [piece.of, false]);
      else memo.set(u, Math.min(Number.MAX_VALUE, of + 3));
      continue;
    }
    if (names.has(u) || u.node === null) {
      memo.set(u, 1);
      continue;
    }
    if (!expanded) {
      stack.push([u, true]);
      for (const i of u.node.inputs) if (!memo.has(i)) stack.push([i, false]);
      continue;
    }
    charge();
    // Readers that pass their input through (reshape, sum of a scalar, ...) add no node.
    const own = READERS[u.node.prim] === id ? 0 : 1;
    memo.set(u, Math.min(Number.MAX_VALUE, u.node.inputs.reduce((s, i) => s + memo.get(i)!, own)));
  }
  return memo.get(t)!;
}
