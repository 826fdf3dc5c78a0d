/**
 * Printers of expressions: the input language (which parses back), LaTeX, NumPy Python, and
 * TypeScript on plain numbers. Parentheses are added by precedence only where needed.
 */
import { MULTI_FUNCTIONS, WINDOW_FUNCTIONS, windowArgs, type Expr, type FnName } from "./ast.js";
import { PRIMS, type Prim } from "../core.js";

export type Lang = "text" | "latex" | "python" | "ts";

export interface PrintOptions {
  /**
   * Print step(u) as the indicator 1[u > 0] (LaTeX \mathbb{1}[u > 0]) in text and LaTeX: how derivatives
   * of relu and step read. Not the input language, so equations (which must parse back) leave it off.
   */
  indicators?: boolean;
}

// Precedence levels: sums 1, products 2, unary minus 3, powers 4, atoms 5.
interface Printed {
  s: string;
  level: number;
}

/**
 * A number in `lang`. Infinity and NaN have no literal in the input language, so text writes them as
 * 1 / 0 and 0 / 0, which our parser reads back to the same values (String() gave "Infinity", a name).
 */
function formatNumber(v: number, lang: Lang): Printed {
  if (Number.isFinite(v)) return { s: String(v), level: v < 0 || Object.is(v, -0) ? 3 : 5 };
  const sign = v < 0 ? "-" : "";
  switch (lang) {
    case "python":
      return { s: Number.isNaN(v) ? "np.nan" : `${sign}np.inf`, level: sign ? 3 : 5 };
    case "ts":
      return { s: Number.isNaN(v) ? "NaN" : `${sign}Infinity`, level: sign ? 3 : 5 };
    case "latex":
      return { s: Number.isNaN(v) ? "\\mathrm{NaN}" : `${sign}\\infty`, level: sign ? 3 : 5 };
    case "text":
      return { s: Number.isNaN(v) ? "0 / 0" : `${sign}1 / 0`, level: 2 };
  }
}

/**
 * The primitive a function of the input language is, read from the table (ln is log): a one-argument
 * elementwise primitive of the same name. Its Python and LaTeX come from the table's printers, declared
 * once with the primitive. sum and transpose share a primitive's name but are not elementwise (the
 * primitives take axes), so their printers are the composites' below.
 */
export function primitiveOf(fn: FnName): Prim | undefined {
  const name = fn === "ln" ? "log" : fn;
  if (!Object.hasOwn(PRIMS, name)) return undefined;
  const spec = PRIMS[name as Prim];
  return spec.kind === "elementwise" && spec.arity === 1 ? (name as Prim) : undefined;
}

function tablePrinter(fn: FnName, lang: "python" | "latex"): ((a: string) => string) | undefined {
  const prim = primitiveOf(fn);
  // Every one-argument elementwise primitive takes no parameters.
  return prim && ((a) => (PRIMS[prim].print[lang] as (args: readonly string[], params: object) => string)([a], {}));
}

/** The composites' Python (relu, step, the reductions), which no primitive prints. */
const PY_COMPOSITE: Partial<Record<FnName, (a: string) => string>> = {
  relu: (a) => `np.maximum(${a}, 0)`,
  step: (a) => `np.heaviside(${a}, 0.0)`,
  sum: (a) => `np.sum(${a})`,
  mean: (a) => `np.mean(${a})`,
  transpose: (a) => `np.transpose(${a})`,
};

const TS_FN: Record<FnName, (a: string) => string> = {
  ln: (a) => `Math.log(${a})`,
  log: (a) => `Math.log(${a})`,
  exp: (a) => `Math.exp(${a})`,
  sqrt: (a) => `Math.sqrt(${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  tan: (a) => `Math.tan(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  sigmoid: (a) => `sigmoid(${a})`,
  // No Math.erf: generated scalar code defines erf (codegen.ts).
  erf: (a) => `erf(${a})`,
  relu: (a) => `Math.max(${a}, 0)`,
  abs: (a) => `Math.abs(${a})`,
  sign: (a) => `Math.sign(${a})`,
  step: (a) => `(${a} > 0 ? 1 : 0)`,
  // On plain numbers these are identities.
  sum: (a) => a,
  mean: (a) => a,
  transpose: (a) => a,
};

const LATEX_COMPOSITE: Partial<Record<FnName, (a: string) => string>> = {
  relu: (a) => `\\operatorname{ReLU}\\left(${a}\\right)`,
  step: (a) => `H\\left(${a}\\right)`,
  sum: (a) => `\\sum ${a}`,
  mean: (a) => `\\operatorname{mean}\\left(${a}\\right)`,
  transpose: (a) => `${a}^{\\top}`,
};

/** Python and LaTeX of a function: the primitive table's printer, else the composite's own. */
const PY_FN = (fn: FnName): ((a: string) => string) => tablePrinter(fn, "python") ?? PY_COMPOSITE[fn]!;
const LATEX_FN = (fn: FnName): ((a: string) => string) => tablePrinter(fn, "latex") ?? LATEX_COMPOSITE[fn]!;

/** LaTeX names for variables such as lam, w1, x_2. */
function latexVar(name: string): string {
  const greek = ["alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "nu", "rho", "sigma", "tau", "phi", "omega"];
  const m = /^([A-Za-z]+)_?(\d+)$/.exec(name);
  const base = (n: string) => (n === "lam" ? "\\lambda" : greek.includes(n) ? `\\${n}` : n.length > 1 ? `\\mathit{${n}}` : n);
  if (m) return `${base(m[1])}_{${m[2]}}`;
  if (name.includes("_")) {
    const [a, ...rest] = name.split("_");
    return `${base(a)}_{${rest.join("\\_")}}`;
  }
  return base(name);
}

function wrap(p: Printed, min: number, lang: Lang): string {
  if (p.level >= min) return p.s;
  return lang === "latex" ? `\\left(${p.s}\\right)` : `(${p.s})`;
}

type Printer<K extends Expr["kind"]> = (e: Expr & { kind: K }, lang: Lang, o: PrintOptions) => Printed;

/** One printer for each kind of expression node. */
const PRINTERS: { [K in Expr["kind"]]: Printer<K> } = {
  num: (e, lang) => formatNumber(e.value, lang),
  const: (e, lang) => ({
    s: lang === "python" ? `np.${e.name}` : lang === "ts" ? (e.name === "e" ? "Math.E" : "Math.PI") : lang === "latex" && e.name === "pi" ? "\\pi" : e.name,
    level: 5,
  }),
  var: (e, lang) => ({ s: lang === "latex" ? latexVar(e.name) : e.name, level: 5 }),
  array: (e, lang, o) => {
    const items = e.items.map((i) => pr(i, lang, o).s).join(", ");
    return { s: lang === "python" ? `np.array([${items}])` : `[${items}]`, level: 5 };
  },
  apply: (e, lang, o) => printApply(e, lang, o),
  call: (e, lang, o) => printCall(e, lang, o),
  neg: (e, lang, o) => {
    const a = pr(e.arg, lang, o);
    // -x^2 means -(x^2) everywhere but JavaScript, which rejects -x ** 2 (we print Math.pow there).
    return { s: `-${wrap(a, a.s.startsWith("-") ? 5 : 2, lang)}`, level: 3 };
  },
  bin: (e, lang, o) => printBin(e, lang, o),
};

function pr(e: Expr, lang: Lang, o: PrintOptions): Printed {
  // The table is keyed by kind, so e has the kind its printer takes.
  return (PRINTERS[e.kind] as Printer<Expr["kind"]>)(e, lang, o);
}

function printCall(e: Expr & { kind: "call" }, lang: Lang, o: PrintOptions): Printed {
  const a = pr(e.arg, lang, o).s;
  if (e.fn === "step" && o.indicators && (lang === "text" || lang === "latex")) return indicator(e.arg, ">", lang, o);
  const printer = lang === "python" ? PY_FN(e.fn) : lang === "ts" ? TS_FN[e.fn] : lang === "latex" ? LATEX_FN(e.fn) : null;
  if (printer) {
    const s = printer(lang === "latex" && e.fn === "transpose" ? wrap(pr(e.arg, lang, o), 5, lang) : a);
    return { s, level: lang === "latex" && e.fn === "exp" ? 4 : 5 };
  }
  return { s: `${e.fn}(${a})`, level: 5 };
}

function printBin(e: Expr & { kind: "bin" }, lang: Lang, o: PrintOptions): Printed {
  // 1 - step(u) is the other branch of a comparison: 1[u <= 0] (max's 1[a <= b]).
  if (
    o.indicators &&
    (lang === "text" || lang === "latex") &&
    e.op === "-" &&
    e.left.kind === "num" &&
    e.left.value === 1 &&
    e.right.kind === "call" &&
    e.right.fn === "step"
  ) {
    return indicator(e.right.arg, "<=", lang, o);
  }
  const l = pr(e.left, lang, o);
  const r = pr(e.right, lang, o);
  switch (e.op) {
    case "+":
    case "-":
      return { s: `${wrap(l, 1, lang)} ${e.op} ${wrap(r, e.op === "-" ? 2 : 2, lang)}`, level: 1 };
    case "*":
    case "@":
      return printProduct(e, l, r, lang);
    case "/":
      if (lang === "latex") return { s: `\\frac{${l.s}}{${r.s}}`, level: 5 };
      return { s: `${wrap(l, 2, lang)} / ${wrap(r, 4, lang)}`, level: 2 };
    case "^":
      if (lang === "ts") return { s: `Math.pow(${l.s}, ${r.s})`, level: 5 };
      if (lang === "latex") return { s: `{${wrap(l, 5, lang)}}^{${r.s}}`, level: 4 };
      return { s: `${wrap(l, 5, lang)}${lang === "python" ? " ** " : "^"}${wrap(r, 5, lang)}`, level: 4 };
  }
}

/** a * b and a @ b, with `l` and `r` the operands printed. */
function printProduct(e: Expr & { kind: "bin" }, l: Printed, r: Printed, lang: Lang): Printed {
  if (lang === "ts" && e.op === "@") throw new Error("matrix products have no plain-number TypeScript form");
  const ls = wrap(l, 2, lang);
  const rs = wrap(r, 4, lang);
  if (e.op === "@") return { s: lang === "latex" ? `${ls} ${rs}` : `${ls} @ ${rs}`, level: 2 };
  // Implicit multiplication for a coefficient: 2x, 4sin(y), 2(x + y).
  // Not before an indicator: 2\mathbb{1}[...] reads as 21[...].
  const implicit =
    e.left.kind === "num" &&
    e.left.value >= 0 &&
    (lang === "text" || lang === "latex") &&
    /^[A-Za-z(\\]/.test(rs) &&
    !/^[eE]\d/.test(rs) &&
    !rs.startsWith("\\mathbb");
  if (implicit) return { s: `${ls}${rs}`, level: 2 };
  return { s: `${ls} ${lang === "latex" ? "\\cdot" : "*"} ${rs}`, level: 2 };
}

const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";

/**
 * 1[u > 0] for step(u), and 1[a > b] where u is a difference a - b: how max and min's local
 * derivatives read (their rule is step(a - b)). `op` "<=" is the complement.
 */
function indicator(u: Expr, op: ">" | "<=", lang: Lang, o: PrintOptions): Printed {
  const [l, r] = u.kind === "bin" && u.op === "-" ? [u.left, u.right] : [u, { kind: "num", value: 0 } as const];
  const rel = lang === "latex" ? (op === ">" ? ">" : "\\leq") : op;
  const body = `${pr(l, lang, o).s} ${rel} ${pr(r, lang, o).s}`;
  return { s: lang === "latex" ? `\\mathbb{1}[${body}]` : `1[${body}]`, level: 5 };
}

/**
 * max and min; an abstract function g(x), f(a, b); and an abstract function's derivative: g'(x) for
 * one argument, ∂₂f(a, b) (LaTeX \partial_2 f) for the partial in the second of several.
 */
function printApply(e: Expr & { kind: "apply" }, lang: Lang, o: PrintOptions): Printed {
  const window = windowArgs(e);
  if (window !== null) return printWindow(e.fn, window, lang, o);
  const args = e.args.map((a) => pr(a, lang, o).s);
  const builtin = e.fn === "max" || e.fn === "min";
  if (builtin && lang === "python") return { s: `np.${e.fn === "max" ? "maximum" : "minimum"}(${args.join(", ")})`, level: 5 };
  if (builtin && lang === "ts") return { s: `Math.${e.fn}(${args.join(", ")})`, level: 5 };
  if (lang === "latex") {
    const name = builtin
      ? `\\${e.fn}`
      : MULTI_FUNCTIONS.has(e.fn) || WINDOW_FUNCTIONS.has(e.fn)
        ? `\\operatorname{${e.fn.replace("_", "\\_")}}`
        : latexVar(e.fn);
    const head = e.deriv === undefined ? name : e.args.length === 1 ? `${name}'` : `\\partial_{${e.deriv}} ${name}`;
    return { s: `${head}\\left(${args.join(", ")}\\right)`, level: 5 };
  }
  const sub = (k: number) => [...String(k)].map((d) => SUBSCRIPTS[Number(d)]).join("");
  const head = e.deriv === undefined ? e.fn : e.args.length === 1 ? `${e.fn}'` : `∂${sub(e.deriv)}${e.fn}`;
  return { s: `${head}(${args.join(", ")})`, level: 5 };
}

/**
 * conv2d(x, w, b, stride=2), maxpool(x, 2): the hyperparameters by name, those at their defaults left out
 * (a pool's kernel size second, positionally), so the text parses back to the same call.
 */
function printWindow(fn: string, w: NonNullable<ReturnType<typeof windowArgs>>, lang: Lang, o: PrintOptions): Printed {
  const args = w.tensors.map((a) => pr(a, lang, o).s);
  const spec = WINDOW_FUNCTIONS.get(fn)!;
  const extra: string[] = [];
  for (const p of spec.params) {
    const value = w.params[p.name];
    if (p.name === "kernel") {
      args.push(String(value));
      continue;
    }
    const d = p.default === "kernel" ? w.params.kernel : p.default;
    if (value !== d) extra.push(lang === "latex" ? `\\text{${p.name}}=${value}` : `${p.name}=${value}`);
  }
  if (lang === "latex") {
    const tail = extra.length > 0 ? `;\\, ${extra.join(",\\, ")}` : "";
    return { s: `\\operatorname{${fn}}\\left(${args.join(", ")}${tail}\\right)`, level: 5 };
  }
  return { s: `${fn}(${[...args, ...extra].join(", ")})`, level: 5 };
}

export function printExpr(e: Expr, lang: Lang, options: PrintOptions = {}): string {
  return pr(e, lang, options).s;
}

export const printText = (e: Expr): string => printExpr(e, "text");
/** Text of a derivative: step(u) reads 1[u > 0]. */
export const printDerivative = (e: Expr, lang: "text" | "latex" = "text"): string => printExpr(e, lang, { indicators: true });
