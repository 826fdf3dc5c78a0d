/** The explainer's expression tree: what the parser builds, the simplifier rewrites and the printers print. */

export type BinOp = "+" | "-" | "*" | "/" | "^" | "@";

/** Functions of the input language (ln and log are both the natural logarithm). */
export const FUNCTIONS = [
  "ln",
  "log",
  "exp",
  "sqrt",
  "sin",
  "cos",
  "tan",
  "tanh",
  "sigmoid",
  "erf",
  "relu",
  "abs",
  "sign",
  "step",
  "sum",
  "mean",
  "transpose",
] as const;
export type FnName = (typeof FUNCTIONS)[number];

/**
 * Functions of several arguments, with their arity. They parse to `apply` nodes (one-argument
 * functions stay `call` nodes, which every printer and rewriter already knows).
 */
export const MULTI_FUNCTIONS: ReadonlyMap<string, number> = new Map([
  ["max", 2],
  ["min", 2],
  // The losses: mean squared error of a prediction against a target, and softmax cross-entropy of
  // logits against a target distribution (one-hot or probabilities).
  ["mse", 2],
  ["softmax_ce", 2],
  // The layers: an affine layer W @ x + b (the lecture's x⁽¹⁾ = W⁽¹⁾x + b, W of shape (out, in)) and the
  // softmax of a vector (over all its elements, as softmax_ce takes it).
  ["linear", 3],
  ["softmax", 1],
  // Normalization of x with scale γ and shift β: batchnorm over the batch (N, and H, W of a 4-d x) per
  // channel, with the batch's statistics (training mode); layernorm over the last axis of each example.
  ["batchnorm", 3],
  ["layernorm", 3],
]);

/** An integer hyperparameter of a window function, with its default (null: required; `kernel`: the kernel's size). */
export interface WindowParam {
  readonly name: string;
  readonly default: number | null | "kernel";
}

/**
 * The convolution and pooling functions: tensor arguments (`tensors`: fewest and most), then integer
 * hyperparameters. A hyperparameter is written by name (conv2d(x, w, b, stride=2, padding=1)), except a
 * pool's kernel size, which may also be its second argument (maxpool(x, 2)). The parser stores every one
 * of them, defaults filled in, as trailing number arguments in this order, so the stage, the printers and
 * the code see one canonical call; `windowArgs` splits them again.
 */
export interface WindowSpec {
  readonly tensors: readonly [number, number];
  readonly params: readonly WindowParam[];
}
const POOL: WindowSpec = {
  tensors: [1, 1],
  params: [
    { name: "kernel", default: null },
    { name: "stride", default: "kernel" },
    { name: "padding", default: 0 },
  ],
};
export const WINDOW_FUNCTIONS: ReadonlyMap<string, WindowSpec> = new Map<string, WindowSpec>([
  [
    "conv2d",
    {
      tensors: [2, 3],
      params: [
        { name: "stride", default: 1 },
        { name: "padding", default: 0 },
      ],
    },
  ],
  ["maxpool", POOL],
  ["avgpool", POOL],
]);

/** A window function's call split into its tensor arguments and its hyperparameters by name (null for other calls). */
export function windowArgs(e: Expr): { tensors: readonly Expr[]; params: Readonly<Record<string, number>> } | null {
  if (e.kind !== "apply") return null;
  const spec = WINDOW_FUNCTIONS.get(e.fn);
  if (spec === undefined) return null;
  const k = e.args.length - spec.params.length;
  const params: Record<string, number> = {};
  spec.params.forEach((p, i) => {
    const a = e.args[k + i];
    params[p.name] = a.kind === "num" ? a.value : Number.NaN;
  });
  return { tensors: e.args.slice(0, k), params };
}

/** Every built-in function name: these cannot be defined, declared with `fn` or used as variables. */
export const BUILTIN_FUNCTIONS: ReadonlySet<string> = new Set<string>([...FUNCTIONS, ...MULTI_FUNCTIONS.keys(), ...WINDOW_FUNCTIONS.keys()]);

/** Named constants. A Map, not an object literal: `name in {...}` is true for "constructor" or "toString". */
export const CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["e", Math.E],
  ["pi", Math.PI],
]);

/**
 * A record keyed by user names (inputs, stages), built from entries: Object.fromEntries makes own data
 * properties, so "__proto__" is a key and not the prototype setter that `out[name] = v` would call.
 */
export function namedRecord<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  return Object.fromEntries(entries) as Record<string, T>;
}

/** `rec[key]` when it is the record's own key; a plain `rec["constructor"]` would be Object. */
export function own<T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** Where a node came from in the source text: [start, end) character offsets. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Expr =
  | { readonly kind: "num"; readonly value: number; readonly span?: Span }
  | { readonly kind: "const"; readonly name: "e" | "pi"; readonly span?: Span }
  | { readonly kind: "var"; readonly name: string; readonly span?: Span }
  | { readonly kind: "neg"; readonly arg: Expr; readonly span?: Span }
  | { readonly kind: "bin"; readonly op: BinOp; readonly left: Expr; readonly right: Expr; readonly span?: Span }
  | { readonly kind: "call"; readonly fn: FnName; readonly arg: Expr; readonly span?: Span }
  | { readonly kind: "array"; readonly items: readonly Expr[]; readonly span?: Span }
  /**
   * A call of several arguments (max, min) or of an abstract function declared with `fn`. `deriv`,
   * set only in derivatives, makes it the partial derivative of `fn` in that argument (1-based):
   * g'(x), or ∂₂f(a, b) for a function of several arguments.
   */
  | { readonly kind: "apply"; readonly fn: string; readonly args: readonly Expr[]; readonly deriv?: number; readonly span?: Span };

export interface Statement {
  /** The defined name, or null for the final bare expression. */
  readonly name: string | null;
  readonly expr: Expr;
  readonly span: Span;
}

export interface Program {
  readonly source: string;
  readonly statements: readonly Statement[];
  /** Abstract functions declared with `fn`, with their arity (from the first use; 0 if never used). */
  readonly functions?: ReadonlyMap<string, number>;
}

export const num = (value: number): Expr => ({ kind: "num", value });
export const v = (name: string): Expr => ({ kind: "var", name });
export const neg = (arg: Expr): Expr => ({ kind: "neg", arg });
export const bin = (op: BinOp, left: Expr, right: Expr): Expr => ({ kind: "bin", op, left, right });
export const call = (fn: FnName, arg: Expr): Expr => ({ kind: "call", fn, arg });
export const apply = (fn: string, args: readonly Expr[], deriv?: number): Expr =>
  deriv === undefined ? { kind: "apply", fn, args } : { kind: "apply", fn, args, deriv };

export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case "neg":
    case "call":
      return [e.arg];
    case "bin":
      return [e.left, e.right];
    case "array":
      return e.items;
    case "apply":
      return e.args;
    default:
      return [];
  }
}

/**
 * Nodes in post-order (children left to right, then the parent), without recursion: a sum of
 * 100,000 terms is a tree that deep.
 */
export function postorder(root: Expr): Expr[] {
  const out: Expr[] = [];
  const stack: [Expr, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const kids = children(top[0]);
    if (top[1] < kids.length) stack.push([kids[top[1]++], 0]);
    else {
      stack.pop();
      out.push(top[0]);
    }
  }
  return out;
}

/** Free variable names in order of first appearance. */
export function freeVars(e: Expr, out: string[] = []): string[] {
  const seen = new Set(out);
  for (const n of postorder(e)) {
    if (n.kind === "var" && !seen.has(n.name)) {
      seen.add(n.name);
      out.push(n.name);
    }
  }
  return out;
}

export function size(e: Expr): number {
  return postorder(e).length;
}

/** Height of the tree (a leaf is 1). */
export function depth(e: Expr): number {
  const h = new Map<Expr, number>();
  for (const n of postorder(e)) h.set(n, 1 + children(n).reduce((m, c) => Math.max(m, h.get(c)!), 0));
  return h.get(e)!;
}
