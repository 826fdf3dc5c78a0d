/**
 * A small simplifier for scalar expressions: constant folding, identities (x*1, x+0, x^1, --x),
 * like terms (x + x = 2x, 3x - x = 2x) and like factors (x*x = x^2, x^2/x = x). It never expands
 * functions: sigma stays sigma, ln stays ln.
 */
import { bin, call, neg, num, type Expr } from "./ast.js";
import { printText } from "./print.js";
import { charge } from "./work.js";

type Num = { readonly kind: "num"; readonly value: number };
function isNum(e: Expr): e is Num;
function isNum(e: Expr, v: number): boolean;
function isNum(e: Expr, v?: number): boolean {
  return e.kind === "num" && (v === undefined || e.value === v);
}

function clean(v: number): number {
  // Binary noise such as 0.30000000000000004 is rounded away; other values are kept exact.
  const r = Number(v.toPrecision(14));
  return Object.is(r, -0) ? 0 : Math.abs(r - v) <= 1e-15 * Math.abs(v) ? r : v;
}

/** p/q with a small denominator when `x` is one (so 1/3 prints as a division by 3). */
function rational(x: number): [number, number] {
  for (let q = 1; q <= 1000; q++) {
    const p = Math.round(x * q);
    if (Math.abs(p / q - x) <= 1e-12 * Math.max(1, Math.abs(x))) return [p, q];
  }
  return [x, 1];
}

/** Order of factors in a printed product: names, then powers, then functions, then groups. */
function factorRank(e: Expr): number {
  if (e.kind === "var" || e.kind === "const") return 0;
  if (e.kind === "bin" && e.op === "^") return 1;
  if (e.kind === "call") return 2;
  return 3;
}

function foldNumber(op: string, a: number, b: number): number | null {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return b === 0 ? null : a / b;
    case "^": {
      const r = Math.pow(a, b);
      return Number.isFinite(r) ? r : null;
    }
  }
  return null;
}

/** A product as coefficient times factors with exponents (keyed by the factor's text). */
interface Product {
  coef: number;
  factors: Map<string, { base: Expr; exp: Expr }>;
}

/** Text key of a factor or term; printing costs its length in work steps. */
function keyOf(e: Expr): string {
  const k = printText(e);
  charge(k.length);
  return k;
}

function addExp(a: Expr, b: Expr): Expr {
  return simplify(bin("+", a, b));
}

function toProduct(e: Expr, p: Product = { coef: 1, factors: new Map() }, sign = 1): Product {
  if (e.kind === "num") {
    p.coef = sign === 1 ? p.coef * e.value : p.coef / e.value;
    return p;
  }
  if (e.kind === "neg") {
    p.coef = -p.coef;
    return toProduct(e.arg, p, sign);
  }
  if (e.kind === "bin" && e.op === "*") {
    toProduct(e.left, p, sign);
    return toProduct(e.right, p, sign);
  }
  if (e.kind === "bin" && e.op === "/") {
    toProduct(e.left, p, sign);
    return toProduct(e.right, p, -sign);
  }
  let base: Expr = e;
  let exp: Expr = num(1);
  if (e.kind === "bin" && e.op === "^") {
    base = e.left;
    exp = e.right;
  }
  if (sign === -1) exp = simplify(neg(exp));
  const key = keyOf(base);
  const prev = p.factors.get(key);
  p.factors.set(key, { base, exp: prev ? addExp(prev.exp, exp) : exp });
  return p;
}

function fromProduct(p: Product): Expr {
  const up: Expr[] = [];
  const down: Expr[] = [];
  for (const { base, exp: exp0 } of p.factors.values()) {
    if (isNum(exp0, 0)) continue;
    // An indicator is 0 or 1, so its positive powers are itself: 1[c] * 1[c] = 1[c].
    const exp = base.kind === "call" && base.fn === "step" && isNum(exp0) && exp0.value > 0 ? num(1) : exp0;
    if (isNum(exp) && exp.value < 0) {
      down.push(exp.value === -1 ? base : bin("^", base, num(-exp.value)));
    } else up.push(isNum(exp, 1) ? base : bin("^", base, exp));
  }
  const coef = clean(p.coef);
  if (coef === 0) return num(0);
  const [pn, qd] = rational(Math.abs(coef));
  up.sort((a, b) => factorRank(a) - factorRank(b));
  down.sort((a, b) => factorRank(a) - factorRank(b));
  const numerFactors: Expr[] = pn !== 1 || up.length === 0 ? [num(pn), ...up] : up;
  const denomFactors: Expr[] = qd !== 1 ? [num(qd), ...down] : down;
  const numer = numerFactors.reduce((a, b) => bin("*", a, b));
  const body = denomFactors.length ? bin("/", numer, denomFactors.reduce((a, b) => bin("*", a, b))) : numer;
  return coef < 0 ? neg(body) : body;
}

/** A sum as terms with numeric coefficients (keyed by the term's text without its coefficient). */
function collectTerms(e: Expr, out: { coef: number; term: Expr | null }[], sign = 1): void {
  if (e.kind === "bin" && (e.op === "+" || e.op === "-")) {
    collectTerms(e.left, out, sign);
    collectTerms(e.right, out, e.op === "-" ? -sign : sign);
    return;
  }
  if (e.kind === "neg") {
    collectTerms(e.arg, out, -sign);
    return;
  }
  if (e.kind === "num") {
    out.push({ coef: sign * e.value, term: null });
    return;
  }
  const p = toProduct(e);
  const coef = p.coef;
  p.coef = 1;
  out.push({ coef: sign * coef, term: fromProduct(p) });
}

function fromTerms(terms: { coef: number; term: Expr | null }[]): Expr {
  const merged = new Map<string, { coef: number; term: Expr | null }>();
  for (const t of terms) {
    const key = t.term ? keyOf(t.term) : "";
    const prev = merged.get(key);
    if (prev) prev.coef += t.coef;
    else merged.set(key, { ...t });
  }
  // Positive terms first and constants after the other positive terms, as people write them:
  // 2x + 4, 1 - sigmoid(b), 3 - x.
  const rank = (t: { coef: number; term: Expr | null }) => (t.coef < 0 ? 2 : 0) + (t.term === null ? 1 : 0);
  const list = [...merged.values()].filter((t) => clean(t.coef) !== 0);
  list.sort((a, b) => rank(a) - rank(b));
  if (list.length === 0) return num(0);
  let out: Expr | null = null;
  for (const { coef, term } of list) {
    const c = clean(coef);
    const mag: Expr = term === null ? num(Math.abs(c)) : Math.abs(c) === 1 ? term : simplifyProduct(bin("*", num(Math.abs(c)), term));
    if (out === null) out = c < 0 ? neg(mag) : mag;
    else out = bin(c < 0 ? "-" : "+", out, mag);
  }
  return out!;
}

function simplifyProduct(e: Expr): Expr {
  return fromProduct(toProduct(e));
}

export function simplify(e: Expr): Expr {
  charge();
  switch (e.kind) {
    case "num":
      return num(clean(e.value));
    case "const":
    case "var":
    case "array":
      return e;
    case "call": {
      const a = simplify(e.arg);
      if (isNum(a) && (e.fn === "sum" || e.fn === "mean" || e.fn === "transpose")) return a;
      if (isNum(a)) {
        const v = evalFn(e.fn, a.value);
        if (v !== null && Number.isInteger(v)) return num(v);
      }
      return call(e.fn, a);
    }
    case "neg": {
      const a = simplify(e.arg);
      if (isNum(a)) return num(clean(-a.value));
      if (a.kind === "neg") return a.arg;
      return fromTerms([{ coef: -1, term: a }].flatMap((t) => (t.term ? expandTerm(t.term, t.coef) : [])));
    }
    case "bin": {
      const l = simplify(e.left);
      const r = simplify(e.right);
      // 1/3 stays a fraction; divisions that come out even are folded.
      const inexact = e.op === "/" && isNum(l) && isNum(r) && Number.isInteger(l.value) && Number.isInteger(r.value) && !Number.isInteger(l.value / r.value);
      if (isNum(l) && isNum(r) && e.op !== "@" && !inexact) {
        const v = foldNumber(e.op, l.value, r.value);
        if (v !== null && Number.isFinite(v)) return num(clean(v));
      }
      switch (e.op) {
        case "+":
        case "-": {
          const terms: { coef: number; term: Expr | null }[] = [];
          collectTerms(bin(e.op, l, r), terms);
          return fromTerms(terms);
        }
        case "*":
        case "/":
          if (e.op === "/" && isNum(r, 0)) return bin("/", l, r);
          return simplifyProduct(bin(e.op, l, r));
        case "^":
          if (isNum(r, 0)) return num(1);
          if (isNum(r, 1)) return l;
          if (isNum(l, 1)) return num(1);
          if (l.kind === "bin" && l.op === "^" && isNum(r) && isNum(l.right)) return bin("^", l.left, num(clean(l.right.value * r.value)));
          return bin("^", l, r);
        default:
          return bin(e.op, l, r);
      }
    }
  }
}

function expandTerm(term: Expr, coef: number): { coef: number; term: Expr | null }[] {
  const out: { coef: number; term: Expr | null }[] = [];
  collectTerms(term, out);
  return out.map((t) => ({ coef: t.coef * coef, term: t.term }));
}

function evalFn(fn: string, x: number): number | null {
  switch (fn) {
    case "exp":
      return x === 0 ? 1 : null;
    case "ln":
    case "log":
      return x === 1 ? 0 : null;
    case "sin":
    case "tan":
    case "tanh":
      return x === 0 ? 0 : null;
    case "cos":
      return x === 0 ? 1 : null;
    case "sqrt":
      return Number.isInteger(Math.sqrt(x)) ? Math.sqrt(x) : null;
    case "abs":
      return Math.abs(x);
    case "sign":
      return Math.sign(x);
    case "step":
      return x > 0 ? 1 : 0;
    case "relu":
      return Math.max(x, 0);
    case "sigmoid":
      return x === 0 ? 0.5 : null;
  }
  return null;
}
