/**
 * The table of primitives: for each one, in one place, its shape rule, reference kernel, vector-Jacobian
 * product and Jacobian-vector product (written with other ops, so derivatives can be differentiated
 * again) and printers.
 * The type `PrimTable` makes a primitive without an entry a compile error.
 */
import { bind } from "./bind.js";
import { argmaxKernel, maxKernel, reducedShape, sumKernel } from "./backends/js/reduce.js";
import { arithmeticKernel, binaryKernel, erf as erfOf, sigmoid, sign as signOf, unaryKernel, whereKernel } from "./backends/js/elementwise.js";
import {
  broadcastKernel,
  castKernel,
  concatKernel,
  gatherKernel,
  padKernel,
  reshapeKernel,
  scatterAddKernel,
  sliceKernel,
  transposeKernel,
} from "./backends/js/layout.js";
import { matmulKernel } from "./backends/js/matmul.js";
import type { Prim, PrimTable, Printers, ReduceParams, Spec, WindowParams } from "./prim.js";
import { broadcastAll, broadcastShapes, formatShape, matmulShape, sameShape, ShapeError, sizeOf, type Shape } from "./shape.js";
import { add, cos, div, eq, exp, gt, log, mul, neg, pow, sign, sin, sub, where } from "./ops/elementwise.js";
import { sumTo } from "./ops/reduce.js";
import { broadcastTo, cast, reshape, transpose } from "./ops/structure.js";
import type { Tensor } from "./tensor.js";
import { foldKernel, foldShape, unfoldKernel, unfoldShape } from "./unfold.js";

type Print = (a: readonly string[]) => string;

/** Printers for a function-call primitive such as exp(x). */
function call<P extends Prim>(name: string, latex: Print, python: string): Printers<P> {
  return {
    text: (a) => `${name}(${a.join(", ")})`,
    latex,
    python: (a) => `${python}(${a.join(", ")})`,
    ts: (a) => `bp.${name}(${a.join(", ")})`,
  };
}

/** Printers for an infix primitive; operands arrive already parenthesised where needed. */
function infix<P extends Prim>(op: string, latex: Print, tsName: string): Printers<P> {
  return {
    text: (a) => `${a[0]} ${op} ${a[1]}`,
    latex,
    python: (a) => `${a[0]} ${op === "^" ? "**" : op} ${a[1]}`,
    ts: (a) => `bp.${tsName}(${a[0]}, ${a[1]})`,
  };
}

function hasZero(t: Tensor): boolean {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (d[i] === 0) return true;
  return false;
}

const fnLatex =
  (cmd: string): Print =>
  (a) =>
    `${cmd}\\left(${a[0]}\\right)`;

const same = (s: readonly Shape[]): Shape => s[0];

function elementwise(name: string) {
  // Equal shapes and a scalar second operand are the common cases: no new array for them.
  return (s: readonly Shape[]): Shape => (sameShape(s[0], s[1]) || (s[1].length === 0 && s[0].length > 0) ? s[0] : broadcastShapes(s[0], s[1], name));
}

function unary<P extends Prim>(f: (v: number) => number, vjp: Spec<P>["vjp"], jvp: Spec<P>["jvp"], print: Spec<P>["print"]): Spec<P> {
  return { kind: "elementwise", arity: 1, shape: same, kernel: unaryKernel<P>(f), scalar: f, vjp, jvp, print };
}

function binary<P extends Prim>(
  name: string,
  f: (a: number, b: number) => number,
  vjp: Spec<P>["vjp"],
  jvp: Spec<P>["jvp"],
  print: Spec<P>["print"],
  op?: "+" | "-" | "*" | "/",
): Spec<P> {
  return { kind: "elementwise", arity: 2, shape: elementwise(name), kernel: op ? arithmeticKernel<P>(op, f) : binaryKernel<P>(f), scalar: f, vjp, jvp, print };
}

function reduceShape(name: string, needsElements: boolean) {
  return (s: readonly Shape[], p: ReduceParams): Shape => {
    const x = s[0];
    for (const a of p.axes) {
      if (!Number.isInteger(a) || a < 0 || a >= x.length) throw new ShapeError(`${name}: axis ${a} is out of bounds for shape ${formatShape(x)}`);
      if (needsElements && x[a] === 0) {
        throw new ShapeError(`${name}: zero-size axis ${a} of shape ${formatShape(x)} has no ${name} (the reduction has no identity)`);
      }
    }
    return reducedShape(x, p.axes, p.keepdims);
  };
}

/** Shape of x with reduced axes kept as 1, so a reduced cotangent broadcasts back over x. */
function keptShape(x: Shape, axes: readonly number[]): number[] {
  return x.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** A shape with its last two axes swapped (an operand matmul reads transposed). */
function swapLastTwo(s: Shape): Shape {
  const out = s.slice();
  out[s.length - 2] = s[s.length - 1];
  out[s.length - 1] = s[s.length - 2];
  return out;
}

/** An operand (printers get atoms: names, calls or parenthesized), written transposed when matmul reads it so. */
function operand(arg: string, transposed: boolean | undefined, write: (a: string) => string): string {
  return transposed ? write(arg) : arg;
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** erf's derivative 2/√π e^(-x²), with ops (so it is differentiable again). */
const erfSlope = (x: Tensor): Tensor => mul(2 / Math.sqrt(Math.PI), exp(neg(mul(x, x))));

/** The window parameters without fold's `size` (unfold's own, and what fold's VJP passes on). */
function windowOf(p: WindowParams): WindowParams {
  return { kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation };
}

const tuple = (v: readonly number[]) => `(${v.join(", ")})`;
const windowText = (p: WindowParams) => `kernel=${tuple(p.kernel)}, stride=${tuple(p.stride)}, padding=${tuple(p.padding)}, dilation=${tuple(p.dilation)}`;
const windowTs = (p: WindowParams) => `{ stride: [${p.stride.join(", ")}], padding: [${p.padding.join(", ")}], dilation: [${p.dilation.join(", ")}] }`;

const cmpPrint = <P extends Prim>(op: string, name: string): Printers<P> =>
  infix<P>(op, (a) => `\\left[${a[0]} ${op === "==" ? "=" : op === ">=" ? "\\geq" : op} ${a[1]}\\right]`, name);

export const PRIMS: PrimTable = {
  neg: unary((v) => -v, [({ ct }) => neg(ct)], [({ t }) => neg(t)], {
    text: (a) => `-${a[0]}`,
    latex: (a) => `-${a[0]}`,
    python: (a) => `-${a[0]}`,
    ts: (a) => `bp.neg(${a[0]})`,
  }),
  exp: unary(
    Math.exp,
    [({ ct, out }) => mul(ct, out)],
    [({ t, out }) => mul(t, out)],
    call("exp", (a) => `e^{${a[0]}}`, "np.exp"),
  ),
  log: unary(Math.log, [({ ct, x }) => div(ct, x)], [({ t, x }) => div(t, x)], call("log", fnLatex("\\ln"), "np.log")),
  sin: unary(Math.sin, [({ ct, x }) => mul(ct, cos(x))], [({ t, x }) => mul(t, cos(x))], call("sin", fnLatex("\\sin"), "np.sin")),
  cos: unary(Math.cos, [({ ct, x }) => neg(mul(ct, sin(x)))], [({ t, x }) => neg(mul(t, sin(x)))], call("cos", fnLatex("\\cos"), "np.cos")),
  tan: unary(
    Math.tan,
    [({ ct, out }) => mul(ct, add(1, mul(out, out)))],
    [({ t, out }) => mul(t, add(1, mul(out, out)))],
    call("tan", fnLatex("\\tan"), "np.tan"),
  ),
  sqrt: unary(
    Math.sqrt,
    [({ ct, out }) => div(ct, mul(2, out))],
    [({ t, out }) => div(t, mul(2, out))],
    call("sqrt", (a) => `\\sqrt{${a[0]}}`, "np.sqrt"),
  ),
  tanh: unary(
    Math.tanh,
    [({ ct, out }) => mul(ct, sub(1, mul(out, out)))],
    [({ t, out }) => mul(t, sub(1, mul(out, out)))],
    call("tanh", fnLatex("\\tanh"), "np.tanh"),
  ),
  sigmoid: unary(
    sigmoid,
    [({ ct, out }) => mul(ct, mul(out, sub(1, out)))],
    [({ t, out }) => mul(t, mul(out, sub(1, out)))],
    call("sigmoid", fnLatex("\\sigma"), "sigmoid"),
  ),
  abs: unary(
    Math.abs,
    [({ ct, x }) => mul(ct, sign(x))],
    [({ t, x }) => mul(t, sign(x))],
    call("abs", (a) => `\\left|${a[0]}\\right|`, "np.abs"),
  ),
  sign: unary(signOf, null, null, call("sign", fnLatex("\\operatorname{sign}"), "np.sign")),
  reciprocal: unary((v) => 1 / v, [({ ct, out }) => neg(mul(ct, mul(out, out)))], [({ t, out }) => neg(mul(t, mul(out, out)))], {
    text: (a) => `1 / ${a[0]}`,
    latex: (a) => `\\frac{1}{${a[0]}}`,
    python: (a) => `1 / ${a[0]}`,
    ts: (a) => `bp.reciprocal(${a[0]})`,
  }),
  // d/dx erf(x) = 2/√π e^(-x²). Python has no NumPy erf: generated code defines `erf` (codegen.ts).
  erf: unary(erfOf, [({ ct, x }) => mul(ct, erfSlope(x))], [({ t, x }) => mul(t, erfSlope(x))], call("erf", fnLatex("\\operatorname{erf}"), "erf")),

  add: binary(
    "add",
    (a, b) => a + b,
    [({ ct }) => ct, ({ ct }) => ct],
    [({ t }) => t, ({ t }) => t],
    infix("+", (a) => `${a[0]} + ${a[1]}`, "add"),
    "+",
  ),
  sub: binary(
    "sub",
    (a, b) => a - b,
    [({ ct }) => ct, ({ ct }) => neg(ct)],
    [({ t }) => t, ({ t }) => neg(t)],
    infix("-", (a) => `${a[0]} - ${a[1]}`, "sub"),
    "-",
  ),
  mul: binary(
    "mul",
    (a, b) => a * b,
    [({ ct, y }) => mul(ct, y), ({ ct, x }) => mul(ct, x)],
    [({ t, y }) => mul(t, y), ({ t, x }) => mul(t, x)],
    infix("*", (a) => `${a[0]} \\cdot ${a[1]}`, "mul"),
    "*",
  ),
  div: binary(
    "div",
    (a, b) => a / b,
    [({ ct, y }) => div(ct, y), ({ ct, out, y }) => neg(div(mul(ct, out), y))],
    [({ t, y }) => div(t, y), ({ t, out, y }) => neg(div(mul(t, out), y))],
    infix("/", (a) => `\\frac{${a[0]}}{${a[1]}}`, "div"),
    "/",
  ),
  pow: binary(
    "pow",
    Math.pow,
    [
      // d/dx x^y = y x^(y-1), which is 0 * 0^-1 = NaN at y = 0, x = 0: where y is 0 the base is
      // taken as 1, so the derivative there is 0 at every order (as in PyTorch and JAX). Only
      // exponents holding a 0 get the where, so x^2's rule still reads (and prints) as 2 x^1.
      ({ ct, x, y }) => mul(ct, mul(y, pow(hasZero(y) ? where(eq(y, 0), 1, x) : x, sub(y, 1)))),
      // d/dy x^y = x^y ln x; at x = 0 the limit is 0, so ln is fed 1 there (no 0 * -inf = NaN).
      ({ ct, x, out }) => mul(ct, mul(out, log(where(eq(x, 0), 1, x)))),
    ],
    // The same local derivatives (the Jacobian is diagonal after broadcasting), times the tangent.
    [({ t, x, y }) => mul(t, mul(y, pow(hasZero(y) ? where(eq(y, 0), 1, x) : x, sub(y, 1)))), ({ t, x, out }) => mul(t, mul(out, log(where(eq(x, 0), 1, x))))],
    infix("^", (a) => `{${a[0]}}^{${a[1]}}`, "pow"),
  ),
  // Ties split the gradient evenly, as in PyTorch and JAX.
  maximum: binary(
    "maximum",
    (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
    [({ ct, x, y }) => mul(ct, add(gt(x, y), mul(eq(x, y), 0.5))), ({ ct, x, y }) => mul(ct, add(gt(y, x), mul(eq(x, y), 0.5)))],
    [({ t, x, y }) => mul(t, add(gt(x, y), mul(eq(x, y), 0.5))), ({ t, x, y }) => mul(t, add(gt(y, x), mul(eq(x, y), 0.5)))],
    call("maximum", (a) => `\\max\\left(${a[0]}, ${a[1]}\\right)`, "np.maximum"),
  ),
  minimum: binary(
    "minimum",
    (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
    [({ ct, x, y }) => mul(ct, add(gt(y, x), mul(eq(x, y), 0.5))), ({ ct, x, y }) => mul(ct, add(gt(x, y), mul(eq(x, y), 0.5)))],
    [({ t, x, y }) => mul(t, add(gt(y, x), mul(eq(x, y), 0.5))), ({ t, x, y }) => mul(t, add(gt(x, y), mul(eq(x, y), 0.5)))],
    call("minimum", (a) => `\\min\\left(${a[0]}, ${a[1]}\\right)`, "np.minimum"),
  ),

  gt: binary("gt", (a, b) => (a > b ? 1 : 0), null, null, cmpPrint(">", "gt")),
  ge: binary("ge", (a, b) => (a >= b ? 1 : 0), null, null, cmpPrint(">=", "ge")),
  eq: binary("eq", (a, b) => (a === b ? 1 : 0), null, null, cmpPrint("==", "eq")),
  where: {
    kind: "elementwise",
    arity: 3,
    shape: (s) => broadcastAll(s, "where"),
    kernel: whereKernel,
    scalar: (c, x, y) => (c !== 0 ? x : y),
    vjp: [null, ({ ct, x: cond }) => where(cond, ct, 0), ({ ct, x: cond }) => where(cond, 0, ct)],
    jvp: [null, ({ t, x: cond }) => where(cond, t, 0), ({ t, x: cond }) => where(cond, 0, t)],
    print: call("where", (a) => `\\begin{cases}${a[1]} & ${a[0]}\\\\ ${a[2]} & \\text{otherwise}\\end{cases}`, "np.where"),
  },

  sum: {
    kind: "reduction",
    arity: 1,
    shape: reduceShape("sum", false),
    kernel: sumKernel,
    vjp: [({ ct, x, params }) => broadcastTo(reshape(ct, keptShape(x.shape, params.axes)), x.shape)],
    jvp: [({ t, params }) => bind("sum", [t], params)],
    print: {
      text: (a, p) => `sum(${a[0]}, axis=(${p.axes.join(",")}))`,
      latex: (a) => `\\sum ${a[0]}`,
      python: (a, p) => `np.sum(${a[0]}, axis=(${p.axes.join(", ")}${p.axes.length === 1 ? "," : ""}), keepdims=${p.keepdims ? "True" : "False"})`,
      ts: (a, p) => `bp.sum(${a[0]}, [${p.axes.join(", ")}], ${p.keepdims})`,
    },
  },
  max: {
    kind: "reduction",
    arity: 1,
    shape: reduceShape("max", true),
    kernel: maxKernel,
    // The gradient goes to the maximal entries, shared evenly among ties.
    vjp: [
      ({ ct, out, x, params }) => {
        const kept = keptShape(x.shape, params.axes);
        const mask = eq(x, reshape(out, kept));
        return div(mul(mask, reshape(ct, kept)), bind("sum", [mask], { axes: params.axes, keepdims: true }));
      },
    ],
    // The mean of the tangent over the maximal entries (the VJP's even split, transposed).
    jvp: [
      ({ t, out, x, params }) => {
        const mask = eq(x, reshape(out, keptShape(x.shape, params.axes)));
        return div(bind("sum", [mul(mask, t)], params), bind("sum", [mask], params));
      },
    ],
    print: {
      text: (a, p) => `max(${a[0]}, axis=(${p.axes.join(",")}))`,
      latex: (a) => `\\max ${a[0]}`,
      python: (a, p) => `np.max(${a[0]}, axis=(${p.axes.join(", ")}${p.axes.length === 1 ? "," : ""}), keepdims=${p.keepdims ? "True" : "False"})`,
      ts: (a, p) => `bp.max(${a[0]}, [${p.axes.join(", ")}], ${p.keepdims})`,
    },
  },
  argmax: {
    kind: "reduction",
    arity: 1,
    shape: (s, p) => reduceShape("argmax", true)(s, { axes: [p.axis], keepdims: p.keepdims }),
    kernel: argmaxKernel,
    vjp: null,
    jvp: null,
    print: {
      text: (a, p) => `argmax(${a[0]}, axis=${p.axis})`,
      latex: (a) => `\\operatorname{argmax} ${a[0]}`,
      python: (a, p) => `np.argmax(${a[0]}, axis=${p.axis}, keepdims=${p.keepdims ? "True" : "False"})`,
      ts: (a, p) => `bp.argmax(${a[0]}, ${p.axis}, ${p.keepdims})`,
    },
  },

  reshape: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      if (sizeOf(s[0]) !== sizeOf(p.shape)) {
        throw new ShapeError(`reshape: cannot reshape a tensor of shape ${formatShape(s[0])} into shape ${formatShape(p.shape)}`);
      }
      return p.shape;
    },
    kernel: reshapeKernel,
    vjp: [({ ct, x }) => reshape(ct, x.shape)],
    jvp: [({ t, params }) => reshape(t, params.shape)],
    print: {
      text: (a, p) => `reshape(${a[0]}, ${formatShape(p.shape)})`,
      latex: (a) => a[0],
      python: (a, p) => `np.reshape(${a[0]}, ${formatShape(p.shape)})`,
      ts: (a, p) => `bp.reshape(${a[0]}, [${p.shape.join(", ")}])`,
    },
  },
  broadcast: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      let ok = true;
      try {
        ok = sameShape(broadcastShapes(s[0], p.shape), p.shape);
      } catch {
        ok = false;
      }
      if (!ok) throw new ShapeError(`broadcastTo: cannot broadcast a tensor of shape ${formatShape(s[0])} to shape ${formatShape(p.shape)}`);
      return p.shape;
    },
    kernel: broadcastKernel,
    vjp: [({ ct, x }) => sumTo(ct, x.shape)],
    jvp: [({ t, params }) => broadcastTo(t, params.shape)],
    print: {
      text: (a, p) => `broadcast(${a[0]}, ${formatShape(p.shape)})`,
      latex: (a) => a[0],
      python: (a, p) => `np.broadcast_to(${a[0]}, ${formatShape(p.shape)})`,
      ts: (a, p) => `bp.broadcastTo(${a[0]}, [${p.shape.join(", ")}])`,
    },
  },
  transpose: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      const x = s[0];
      if (p.perm.length !== x.length || [...p.perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
        throw new ShapeError(`transpose: (${p.perm.join(",")}) is not a permutation of the axes of shape ${formatShape(x)}`);
      }
      return p.perm.map((a) => x[a]);
    },
    kernel: transposeKernel,
    vjp: [({ ct, params }) => transpose(ct, inverse(params.perm))],
    jvp: [({ t, params }) => transpose(t, params.perm)],
    print: {
      text: (a, p) => `transpose(${a[0]}, (${p.perm.join(",")}))`,
      latex: (a) => `${a[0]}^{\\top}`,
      python: (a, p) => `np.transpose(${a[0]}, (${p.perm.join(", ")}${p.perm.length === 1 ? "," : ""}))`,
      ts: (a, p) => `bp.transpose(${a[0]}, [${p.perm.join(", ")}])`,
    },
  },
  slice: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      const x = s[0];
      const ok =
        p.starts.length === x.length &&
        p.sizes.length === x.length &&
        p.steps.length === x.length &&
        x.every((n, i) => p.steps[i] > 0 && p.starts[i] >= 0 && p.sizes[i] >= 0 && (p.sizes[i] === 0 || p.starts[i] + (p.sizes[i] - 1) * p.steps[i] < n));
      if (!ok) throw new ShapeError(`slice: window (starts ${p.starts}, sizes ${p.sizes}, steps ${p.steps}) does not fit shape ${formatShape(x)}`);
      return p.sizes;
    },
    kernel: sliceKernel,
    vjp: [({ ct, x, params }) => bind("pad", [ct], { starts: params.starts, steps: params.steps, shape: x.shape })],
    jvp: [({ t, params }) => bind("slice", [t], params)],
    print: {
      text: (a, p) => `${a[0]}[${p.starts.map((b, i) => `${b}:${b + p.sizes[i] * p.steps[i]}${p.steps[i] === 1 ? "" : `:${p.steps[i]}`}`).join(", ")}]`,
      latex: (a) => a[0],
      python: (a, p) => `${a[0]}[${p.starts.map((b, i) => `${b}:${b + p.sizes[i] * p.steps[i]}${p.steps[i] === 1 ? "" : `:${p.steps[i]}`}`).join(", ")}]`,
      ts: (a, p) => `bp.slice(${a[0]}, [${p.starts.map((b, i) => `[${b}, ${b + p.sizes[i] * p.steps[i]}, ${p.steps[i]}]`).join(", ")}])`,
    },
  },
  pad: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      const x = s[0];
      const ok = x.length === p.shape.length && x.every((n, i) => n === 0 || p.starts[i] + (n - 1) * p.steps[i] < p.shape[i]);
      if (!ok) throw new ShapeError(`pad: shape ${formatShape(x)} does not fit into ${formatShape(p.shape)} at starts ${p.starts} with steps ${p.steps}`);
      return p.shape;
    },
    kernel: padKernel,
    vjp: [({ ct, x, params }) => bind("slice", [ct], { starts: params.starts, steps: params.steps, sizes: x.shape })],
    jvp: [({ t, params }) => bind("pad", [t], params)],
    print: {
      text: (a, p) => `pad(${a[0]}, ${formatShape(p.shape)})`,
      latex: (a) => a[0],
      python: (a, p) => `pad_into(${a[0]}, ${formatShape(p.shape)}, (${p.starts.join(", ")}), (${p.steps.join(", ")}))`,
      ts: (a, p) => `bp.padInto(${a[0]}, [${p.shape.join(", ")}], [${p.starts.join(", ")}], [${p.steps.join(", ")}])`,
    },
  },
  concat: {
    kind: "structure",
    arity: "n",
    shape: (s, p) => {
      const first = s[0];
      const bad = () => new ShapeError(`concat: all dimensions except axis ${p.axis} must match, got shapes ${s.map(formatShape).join(" ")}`);
      if (p.axis < 0 || p.axis >= first.length) throw new ShapeError(`concat: axis ${p.axis} is out of bounds for shape ${formatShape(first)}`);
      let total = 0;
      for (const t of s) {
        if (t.length !== first.length || t.some((d, i) => i !== p.axis && d !== first[i])) throw bad();
        total += t[p.axis];
      }
      return first.map((d, i) => (i === p.axis ? total : d));
    },
    kernel: concatKernel,
    vjp: ({ ct, inputs, params }, i) => {
      let offset = 0;
      for (let k = 0; k < i; k++) offset += inputs[k].shape[params.axis];
      const shape = inputs[i].shape;
      return bind("slice", [ct], { starts: shape.map((_, d) => (d === params.axis ? offset : 0)), sizes: shape, steps: shape.map(() => 1) });
    },
    // Input i's tangent in its place along the axis, zeros elsewhere (the transpose of the VJP's slice).
    jvp: ({ t, out, inputs, params }, i) => {
      let offset = 0;
      for (let k = 0; k < i; k++) offset += inputs[k].shape[params.axis];
      return bind("pad", [t], { starts: t.shape.map((_, d) => (d === params.axis ? offset : 0)), steps: t.shape.map(() => 1), shape: out.shape });
    },
    print: {
      text: (a, p) => `concat([${a.join(", ")}], axis=${p.axis})`,
      latex: (a) => `\\left[${a.join(", ")}\\right]`,
      python: (a, p) => `np.concatenate([${a.join(", ")}], axis=${p.axis})`,
      ts: (a, p) => `bp.concat([${a.join(", ")}], ${p.axis})`,
    },
  },
  gather: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      const x = s[0];
      if (p.axis < 0 || p.axis >= x.length) throw new ShapeError(`gather: axis ${p.axis} is out of bounds for shape ${formatShape(x)}`);
      return [...x.slice(0, p.axis), ...p.indexShape, ...x.slice(p.axis + 1)];
    },
    kernel: gatherKernel,
    vjp: [({ ct, x, params }) => bind("scatterAdd", [ct], { ...params, size: x.shape[params.axis] })],
    jvp: [({ t, params }) => bind("gather", [t], params)],
    print: {
      text: (a, p) => `take(${a[0]}, indices, axis=${p.axis})`,
      latex: (a) => `${a[0]}_{\\text{idx}}`,
      python: (a, p) => `np.take(${a[0]}, indices, axis=${p.axis})`,
      ts: (a, p) => `bp.take(${a[0]}, indices, ${p.axis})`,
    },
  },
  scatterAdd: {
    kind: "structure",
    arity: 1,
    shape: (s, p) => {
      const x = s[0];
      const inner = x.slice(p.axis, p.axis + p.indexShape.length);
      if (!sameShape(inner, p.indexShape)) {
        throw new ShapeError(`scatterAdd: shape ${formatShape(x)} does not hold indices of shape ${formatShape(p.indexShape)} at axis ${p.axis}`);
      }
      return [...x.slice(0, p.axis), p.size, ...x.slice(p.axis + p.indexShape.length)];
    },
    kernel: scatterAddKernel,
    vjp: [({ ct, params }) => bind("gather", [ct], { indices: params.indices, indexShape: params.indexShape, axis: params.axis })],
    jvp: [({ t, params }) => bind("scatterAdd", [t], params)],
    print: {
      text: (a, p) => `scatterAdd(${a[0]}, indices, axis=${p.axis}, size=${p.size})`,
      latex: (a) => a[0],
      python: (a, p) => `scatter_add(${a[0]}, indices, axis=${p.axis}, size=${p.size})`,
      ts: (a, p) => `bp.scatterAdd(${a[0]}, indices, ${p.axis}, ${p.size})`,
    },
  },

  matmul: {
    kind: "linalg",
    arity: 2,
    shape: (s, p) => {
      if (s[0].length < 2 || s[1].length < 2) {
        throw new ShapeError(`matmul: the primitive takes operands of at least 2 dimensions, got ${formatShape(s[0])} @ ${formatShape(s[1])}`);
      }
      // Shapes as the product reads them; the error says which operand was read transposed.
      const read = [p.transposeX ? "x" : "", p.transposeY ? "y" : ""].filter(Boolean).join(" and ");
      return matmulShape(
        p.transposeX ? swapLastTwo(s[0]) : s[0],
        p.transposeY ? swapLastTwo(s[1]) : s[1],
        read ? `matmul (${read} read transposed)` : "matmul",
      );
    },
    kernel: matmulKernel,
    // out = X Y with X = op(x), Y = op(y): dX = ct Y^T, dY = X^T ct; an input read transposed gets the
    // transpose of those, which is again one product with flags (no transposed copies).
    vjp: [
      ({ ct, y, params: { transposeX: tx = false, transposeY: ty = false } }) =>
        tx ? bind("matmul", [y, ct], { transposeX: ty, transposeY: true }) : bind("matmul", [ct, y], { transposeY: !ty }),
      ({ ct, x, params: { transposeX: tx = false, transposeY: ty = false } }) =>
        ty ? bind("matmul", [ct, x], { transposeX: true, transposeY: tx }) : bind("matmul", [x, ct], { transposeX: !tx }),
    ],
    // The product is bilinear: d(XY) = dX Y + X dY, each read as the primal reads its operand.
    jvp: [({ t, y, params }) => bind("matmul", [t, y], params), ({ t, x, params }) => bind("matmul", [x, t], params)],
    print: {
      text: (a, p) => `${operand(a[0], p.transposeX, (v) => `${v}.mT`)} @ ${operand(a[1], p.transposeY, (v) => `${v}.mT`)}`,
      latex: (a, p) => `${operand(a[0], p.transposeX, (v) => `{${v}}^{\\top}`)} \\, ${operand(a[1], p.transposeY, (v) => `{${v}}^{\\top}`)}`,
      // np.swapaxes rather than .mT, which needs NumPy 2.
      python: (a, p) =>
        `${operand(a[0], p.transposeX, (v) => `np.swapaxes(${v}, -1, -2)`)} @ ${operand(a[1], p.transposeY, (v) => `np.swapaxes(${v}, -1, -2)`)}`,
      ts: (a, p) => `bp.matmul(${operand(a[0], p.transposeX, (v) => `bp.mT(${v})`)}, ${operand(a[1], p.transposeY, (v) => `bp.mT(${v})`)})`,
    },
  },
  // unfold and fold are linear and each other's transpose, so each one's VJP is the other (and the JVP
  // is the op itself on the tangent): second derivatives of convolution and pooling come free.
  unfold: {
    kind: "structure",
    arity: 1,
    shape: unfoldShape,
    kernel: unfoldKernel,
    vjp: [({ ct, x, params }) => bind("fold", [ct], { ...windowOf(params), size: [x.shape[2], x.shape[3]] })],
    jvp: [({ t, params }) => bind("unfold", [t], params)],
    print: {
      text: (a, p) => `unfold(${a[0]}, ${windowText(p)})`,
      latex: (a) => `\operatorname{unfold}\left(${a[0]}\right)`,
      python: (a, p) => `unfold(${a[0]}, ${windowText(p)})`,
      ts: (a, p) => `bp.unfold(${a[0]}, [${p.kernel.join(", ")}], ${windowTs(p)})`,
    },
  },
  fold: {
    kind: "structure",
    arity: 1,
    shape: foldShape,
    kernel: foldKernel,
    vjp: [({ ct, params }) => bind("unfold", [ct], windowOf(params))],
    jvp: [({ t, params }) => bind("fold", [t], params)],
    print: {
      text: (a, p) => `fold(${a[0]}, size=${tuple(p.size)}, ${windowText(p)})`,
      latex: (a) => `\operatorname{fold}\left(${a[0]}\right)`,
      python: (a, p) => `fold(${a[0]}, size=${tuple(p.size)}, ${windowText(p)})`,
      ts: (a, p) => `bp.fold(${a[0]}, [${p.size.join(", ")}], [${p.kernel.join(", ")}], ${windowTs(p)})`,
    },
  },
  cast: {
    kind: "elementwise",
    arity: 1,
    shape: same,
    kernel: castKernel,
    vjp: [({ ct, x }) => cast(ct, x.dtype)],
    jvp: [({ t, params }) => cast(t, params.dtype)],
    dtype: (_d, p) => p.dtype,
    print: {
      text: (a, p) => `${p.dtype}(${a[0]})`,
      latex: (a) => a[0],
      python: (a, p) => `${a[0]}.astype(np.${p.dtype})`,
      ts: (a, p) => `bp.cast(${a[0]}, "${p.dtype}")`,
    },
  },
};
