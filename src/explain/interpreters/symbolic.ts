/**
 * The symbolic interpreter: reads a recorded graph of primitives (a forward program, or the backward
 * program that the VJP rules record when differentiated with a graph) back as an expression.
 * Local and full derivatives are therefore the core's own VJP rules, printed, not a second engine.
 * Only scalar programs are read this way; shapes make reshape/broadcast/sum identities here.
 */
import * as bp from "../core.js";
import { apply, bin, call, neg, num, type Expr } from "../language/ast.js";
import { aliasArgs, pieceInputs, pieceOf, type Piece } from "../language/functions.js";
import { charge } from "./work.js";
import { foldGraph } from "./walk.js";

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

/** The expression a noted untracked tensor stands for (relu's condition, abs's sign, ∂ₖg of an abstract g). */
function pieceExpr(p: Piece, of: readonly Expr[]): Expr {
  if (p.fn === "deriv") return apply(p.name, of, p.index + 1);
  if (p.fn === "sign") return call("sign", of[0]);
  return p.fn === "step" ? step(of[0]) : bin("-", num(1), step(of[0]));
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
  erf: (a) => call("erf", a[0]),
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
  unfold: unsupported("unfold (im2col)"),
  fold: unsupported("fold (col2im)"),
  cast: id,
};

/** The primitive table says which primitives are elementwise (an expression means the same at every element). */
const elementwise = (p: bp.Prim): boolean => bp.PRIMS[p].kind === "elementwise";

export interface ReadOptions {
  /**
   * Read broadcasts and sums of arrays as the identity: for an elementwise stage's VJP, whose only
   * shape operations are broadcasting and the sum back to an operand's shape, this gives the local
   * derivative at each element (the caller writes the sum back itself).
   */
  throughShapes?: boolean;
}

/**
 * Expression for tensor `t`: tensors in `names` are leaves (variables, or an expression standing for
 * them); untracked tensors are constants; everything else is rebuilt through READERS.
 * Throws NotSymbolic past `limit` nodes (a graph whose tree expansion explodes) or for non-scalars.
 */
export function readGraph(t: bp.Tensor, names: ReadonlyMap<bp.Tensor, Expr>, limit = 20000, options: ReadOptions = {}): Expr {
  let budget = limit;
  return foldGraph<Expr>(t, {
    stop(u) {
      const named = names.get(u);
      if (named) return named;
      if (u.node !== null || pieceOf(u)) return undefined;
      const v0 = u.data[0];
      // A NaN constant equals itself here (x !== x only for NaN).
      if (u.size === 0 || !Array.from(u.data).every((x) => x === v0 || (x !== x && v0 !== v0)))
        throw new NotSymbolic("array constants have no scalar expression");
      return num(v0);
    },
    inputs(u) {
      const piece = pieceOf(u);
      if (u.node === null) return piece ? pieceInputs(piece) : [];
      // A traced max or min (a p + b (1 - p), see ops.ts) reads back as max(a, b), from its operands.
      const alias = aliasArgs(u);
      if (alias) return alias.args;
      // Arrays are read only through elementwise primitives, where an expression means the same thing
      // at every element; reshapes, reductions and products of arrays have no such reading.
      const shapeOnly = u.node.prim === "reshape" || u.node.prim === "broadcast" || (options.throughShapes === true && u.node.prim === "sum");
      const identity = shapeOnly && (options.throughShapes === true || u.node.inputs[0].shape.join() === u.shape.join());
      if (u.size !== 1 && !identity && !elementwise(u.node.prim)) throw new NotSymbolic(`${u.node.prim} of arrays has no elementwise expression`);
      return u.node.inputs;
    },
    combine(u, args) {
      if (u.node === null) return pieceExpr(pieceOf(u)!, args);
      const alias = aliasArgs(u);
      if (alias) return apply(alias.fn, args);
      if (--budget < 0) throw new NotSymbolic("the expression is too large to print");
      charge();
      return READERS[u.node.prim](args, u.node);
    },
  });
}
