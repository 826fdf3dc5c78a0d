/**
 * A small simplifier for scalar expressions, as a student would simplify: constant folding,
 * identities (x*1, x+0, x^1, --x), like terms (8t^4 + 2(t^4 - 4t) = 10t^4 - 8t), like factors
 * (x*x = x^2, t^2 t^3 = t^5, x^2/x = x), the sigmoid (e^x / (1 + e^x) = sigmoid(x)) and its derivative
 * (e^-x / (1 + e^-x)^2 = e^x / (1 + e^x)^2 = sigmoid(x) - sigmoid(x)^2 = sigmoid(x) (1 - sigmoid(x))).
 * It never expands functions: sigma stays sigma, ln stays ln; and it multiplies a sum out only where
 * its terms meet like terms, so 3z^2 (x^2 + 2y) stays factored.
 *
 * Cost is near linear in the size of the expression: the input is walked once without recursion,
 * whole chains of sums (and of products) are collected at their top node only, and terms and factors
 * are matched by canonical ids (interned keys built from the children's ids, sorted over commutative
 * operands), so sin(x) cos(x) and cos(x) sin(x) are the same monomial without comparing trees.
 */
import { bin, call, children, neg, num, postorder, type Expr } from "../language/ast.js";
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
  if (e.kind === "call" || e.kind === "apply") return 2;
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

// ---------------------------------------------------------------------------------------------
// Shapes of simplified expressions: a sum is a chain of +, - and unary minus; a product a chain of
// * and / (a division by the number 0 is kept whole, as an atom).

const ONE = num(1);

const isSumNode = (e: Expr): boolean => e.kind === "neg" || (e.kind === "bin" && (e.op === "+" || e.op === "-"));
const isDivByZero = (e: Expr): boolean => e.kind === "bin" && e.op === "/" && isNum(e.right, 0);
const isProductNode = (e: Expr): boolean => e.kind === "bin" && (e.op === "*" || (e.op === "/" && !isDivByZero(e)));

type Chain = "sum" | "product" | null;
const chainOf = (e: Expr): Chain => (isSumNode(e) ? "sum" : isProductNode(e) ? "product" : null);

interface Term {
  coef: number;
  /** null for a constant term. */
  term: Expr | null;
}

/** The signed operands of a sum chain (not recursing into the operands), without recursion. */
function sumOperands(e: Expr, sign: number, out: Term[]): Term[] {
  const stack: [Expr, number][] = [[e, sign]];
  while (stack.length > 0) {
    const [n, s] = stack.pop()!;
    charge();
    if (n.kind === "neg") stack.push([n.arg, -s]);
    else if (n.kind === "bin" && (n.op === "+" || n.op === "-")) stack.push([n.right, n.op === "-" ? -s : s], [n.left, s]);
    else if (n.kind === "num") out.push({ coef: s * n.value, term: null });
    else out.push({ coef: s, term: n });
  }
  return out;
}

interface Factor {
  base: Expr;
  exp: Expr;
}

/** A factor as written: base^exp, or base^-exp under a division (negated only when needed). */
interface RawFactor {
  base: Expr;
  exp: Expr;
  inverted: boolean;
}

const factorOf = (f: RawFactor): Factor => ({ base: f.base, exp: f.inverted ? negate(f.exp) : f.exp });

interface Product {
  coef: number;
  factors: RawFactor[];
  /** A divisor was the number 0: x / 0 is kept as it is. */
  byZero: boolean;
}

/** Coefficient and factors (base^exp, exp negated under a division) of a product chain. */
function productParts(e: Expr, sign: number, p: Product): Product {
  const stack: [Expr, number][] = [[e, sign]];
  while (stack.length > 0) {
    const [n, s] = stack.pop()!;
    charge();
    if (n.kind === "num") {
      if (s < 0 && n.value === 0) p.byZero = true;
      else p.coef = s > 0 ? p.coef * n.value : p.coef / n.value;
    } else if (n.kind === "neg") {
      p.coef = -p.coef;
      stack.push([n.arg, s]);
    } else if (isProductNode(n)) {
      const b = n as Extract<Expr, { kind: "bin" }>;
      stack.push([b.right, b.op === "/" ? -s : s], [b.left, s]);
    } else if (n.kind === "bin" && n.op === "^" && !(isNum(n.left) && isNum(n.right))) {
      // (A number to a number is left whole: it did not fold, as 0^(-2) does not.)
      p.factors.push({ base: n.left, exp: n.right, inverted: s < 0 });
    } else p.factors.push({ base: n, exp: ONE, inverted: s < 0 });
  }
  return p;
}

const emptyProduct = (): Product => ({ coef: 1, factors: [], byZero: false });

// ---------------------------------------------------------------------------------------------
// Canonical ids: equal ids mean the same expression up to the order of terms and factors.

interface Context {
  keys: Map<string, number>;
  ids: Map<Expr, number>;
  contents: Map<Expr, { content: number; rest: Expr }>;
}

let ctx: Context | null = null;

function context(): Context {
  if (ctx === null) throw new Error("simplify: no context");
  return ctx;
}

/** The nodes a node's canonical key is built from, and the key once their ids are known. */
function canonParts(e: Expr): { deps: Expr[]; key: (id: (d: Expr) => number) => string } {
  if (isSumNode(e)) {
    const terms = sumOperands(e, 1, []);
    const deps = terms.flatMap((t) => (t.term ? [t.term] : []));
    return {
      deps,
      key: (id) =>
        "S" +
        terms
          .map((t) => `${t.coef}:${t.term ? id(t.term) : ""}`)
          .sort()
          .join(","),
    };
  }
  if (isProductNode(e)) {
    const p = productParts(e, 1, emptyProduct());
    // Numeric exponents are keyed by value: nodes made here would be new on every visit.
    const exp = (f: RawFactor, id: (d: Expr) => number) => (f.inverted ? "-" : "") + (isNum(f.exp) ? `n${f.exp.value}` : id(f.exp));
    const deps = p.factors.flatMap((f) => (isNum(f.exp) ? [f.base] : [f.base, f.exp]));
    return {
      deps,
      key: (id) =>
        `P${p.coef}:` +
        p.factors
          .map((f) => `${id(f.base)}^${exp(f, id)}`)
          .sort()
          .join(","),
    };
  }
  const kids = children(e);
  const head =
    e.kind === "num"
      ? `n${e.value}`
      : e.kind === "var"
        ? `v${e.name}`
        : e.kind === "const"
          ? `c${e.name}`
          : e.kind === "call"
            ? `f${e.fn}`
            : e.kind === "apply"
              ? `a${e.fn}'${e.deriv ?? 0}`
              : e.kind === "bin"
                ? `b${e.op}`
                : e.kind;
  return { deps: [...kids], key: (id) => `${head}(${kids.map(id).join(",")})` };
}

/** Canonical id of a simplified expression, memoised per node; iterative, for deep trees. */
function canonId(root: Expr): number {
  const { keys, ids } = context();
  const stack: Expr[] = [root];
  while (stack.length > 0) {
    const e = stack[stack.length - 1];
    if (ids.has(e)) {
      stack.pop();
      continue;
    }
    const parts = canonParts(e);
    const missing = parts.deps.filter((d) => !ids.has(d));
    if (missing.length > 0) {
      stack.push(...missing);
      continue;
    }
    stack.pop();
    const key = parts.key((d) => ids.get(d)!);
    charge(1 + parts.deps.length);
    let id = keys.get(key);
    if (id === undefined) keys.set(key, (id = keys.size));
    ids.set(e, id);
  }
  return ids.get(root)!;
}

// ---------------------------------------------------------------------------------------------
// Sums: terms with numeric coefficients, merged by the canonical id of the monomial.

/** -e, simplified. */
function negate(e: Expr): Expr {
  if (isNum(e)) return num(clean(-e.value));
  return makeSum([{ coef: -1, term: e }]);
}

/** A term's numeric coefficient and the rest (null for a number). */
function splitCoef(t: Expr): { coef: number; rest: Expr | null } {
  if (!isProductNode(t)) return { coef: 1, rest: t };
  const p = productParts(t, 1, emptyProduct());
  if (p.byZero) return { coef: 1, rest: t };
  const coef = p.coef;
  p.coef = 1;
  const rest = fromProduct(p);
  return isNum(rest) ? { coef: coef * rest.value, rest: null } : { coef, rest };
}

/** coef * t as a coefficient and a monomial (null for a number). */
function splitTerm(t: Expr, coef: number): Term {
  const { coef: c, rest } = splitCoef(t);
  return { coef: coef * c, term: rest };
}

/** Simplified sum of already simplified operands with coefficients. */
function makeSum(parts: readonly Term[]): Expr {
  const merged = new Map<number, Term>();
  const add = (coef: number, term: Expr | null) => {
    const key = term === null ? -1 : canonId(term);
    const prev = merged.get(key);
    if (prev) prev.coef += coef;
    else merged.set(key, { coef, term });
  };
  const operands: Term[] = [];
  for (const p of parts)
    if (p.term === null) add(p.coef, null);
    else sumOperands(p.term, p.coef, operands);
  for (const t of operands) {
    charge();
    if (t.term === null) {
      add(t.coef, null);
      continue;
    }
    // A number times a sum, 2(t^4 - 4t), is a term whose monomial is the sum: expandLikeTerms
    // multiplies it out where it meets like terms.
    const { coef, rest } = splitCoef(t.term);
    add(t.coef * coef, rest);
  }
  expandLikeTerms(merged, add);
  const terms = [...merged.values()];
  return sigmoidFactored(terms) ?? fromTerms(terms);
}

/**
 * c M sigmoid(u)^a - c M sigmoid(u)^(a+1) as c M sigmoid(u)^a (1 - sigmoid(u)), as a student writes the
 * sigmoid's derivative; only for a sum of exactly these two terms (c > 0), so that it costs one
 * division of the two terms and a larger sum keeps its like terms apart.
 */
function sigmoidFactored(terms: readonly Term[]): Expr | null {
  const live = terms.filter((t) => clean(t.coef) !== 0);
  if (live.length !== 2) return null;
  for (const [lo, hi] of [
    [live[0], live[1]],
    [live[1], live[0]],
  ]) {
    if (lo.term === null || hi.term === null || !(lo.coef > 0) || clean(lo.coef + hi.coef) !== 0 || !hasSigmoidFactor(hi.term)) continue;
    const ratio = makeProduct([
      { coef: 1, term: hi.term },
      { coef: -1, term: lo.term },
    ]);
    if (ratio.kind !== "call" || ratio.fn !== "sigmoid") continue;
    const rest = makeSum([
      { coef: 1, term: null },
      { coef: -1, term: ratio },
    ]);
    return makeProduct([
      { coef: 1, term: num(lo.coef) },
      { coef: 1, term: lo.term },
      { coef: 1, term: rest },
    ]);
  }
  return null;
}

/** Whether a simplified term has a factor sigmoid(u) or sigmoid(u)^k at its top (a cheap test before dividing). */
function hasSigmoidFactor(t: Expr): boolean {
  const isSig = (e: Expr) => e.kind === "call" && e.fn === "sigmoid";
  if (isSig(t) || (t.kind === "bin" && t.op === "^" && isSig(t.left))) return true;
  return isProductNode(t) && productParts(t, 1, emptyProduct()).factors.some((f) => isSig(f.base) && !f.inverted);
}

/** Sums with more terms than this are not multiplied out (the cost is terms times factors). */
const EXPAND_MAX_TERMS = 16;

const termKey = (t: Term): number => (t.term === null ? -1 : canonId(t.term));

/** M (s1 + s2 + ...) as M s1 + M s2 + ... (coefficients per unit of the term), for a monomial with one sum factor or a sum. */
function expansion(term: Expr | null): Term[] | null {
  if (term !== null && isSumNode(term)) {
    const inner = sumOperands(term, 1, []);
    return inner.length > EXPAND_MAX_TERMS ? null : inner.map((t) => (t.term === null ? t : splitTerm(t.term, t.coef)));
  }
  if (term === null || !isProductNode(term)) return null;
  const p = productParts(term, 1, emptyProduct());
  const sums = p.factors.filter((f) => !f.inverted && isNum(f.exp, 1) && isSumNode(f.base));
  if (p.byZero || sums.length !== 1) return null;
  const inner = sumOperands(sums[0].base, p.coef, []);
  if (inner.length > EXPAND_MAX_TERMS) return null;
  const m = fromProduct({ coef: 1, factors: p.factors.filter((f) => f !== sums[0]), byZero: false });
  return inner.map((t) => {
    const prod = makeProduct([
      { coef: 1, term: m },
      { coef: 1, term: t.term ?? num(1) },
    ]);
    return isNum(prod) ? { coef: t.coef * prod.value, term: null } : splitTerm(prod, t.coef);
  });
}

/**
 * Multiplies out a term such as 2t(t^3 - 4) where that meets like terms (8t^4 + 2t(t^3 - 4) = 10t^4 - 8t),
 * and leaves 3z^2 (x^2 + 2y) alone otherwise. A worklist, so that each term is multiplied out at most once.
 */
function expandLikeTerms(merged: Map<number, Term>, add: (coef: number, term: Expr | null) => void): void {
  const pending = new Map<number, Term[]>();
  const owners = new Map<number, Set<number>>();
  for (const [k, t] of merged) {
    const ex = expansion(t.term);
    if (ex === null) continue;
    pending.set(k, ex);
    for (const e of ex) {
      const key = termKey(e);
      if (!owners.has(key)) owners.set(key, new Set());
      owners.get(key)!.add(k);
    }
  }
  const meets = (k: number) => pending.get(k)!.some((e) => merged.has(termKey(e)) || owners.get(termKey(e))!.size > 1);
  const queue = [...pending.keys()].filter(meets);
  while (queue.length > 0) {
    const k = queue.pop()!;
    const ex = pending.get(k);
    const t = merged.get(k);
    if (ex === undefined || t === undefined) continue;
    pending.delete(k);
    merged.delete(k);
    for (const e of ex) {
      charge();
      add(t.coef * e.coef, e.term);
      for (const o of owners.get(termKey(e)) ?? []) if (pending.has(o)) queue.push(o);
    }
  }
}

function fromTerms(terms: Term[]): Expr {
  // Positive terms first and constants after the other positive terms, as people write them:
  // 2x + 4, 1 - sigmoid(b), 3 - x.
  const rank = (t: Term) => (t.coef < 0 ? 2 : 0) + (t.term === null ? 1 : 0);
  const list = terms.map((t) => ({ coef: clean(t.coef), term: t.term })).filter((t) => t.coef !== 0);
  list.sort((a, b) => rank(a) - rank(b));
  if (list.length === 0) return num(0);
  // Constants print as fractions where they are one (1 / 3), as the product 1/3 does.
  if (list.length === 1 && list[0].term === null) return fromFactors(list[0].coef, []);
  // One term is a product: -2(x - y) reads 2(y - x) as a product of a sum does.
  if (list.length === 1)
    return makeProduct([
      { coef: 1, term: num(list[0].coef) },
      { coef: 1, term: list[0].term },
    ]);
  let out: Expr | null = null;
  for (const { coef, term } of list) {
    const c = Math.abs(coef);
    const mag: Expr =
      term === null
        ? fromFactors(c, [])
        : c === 1
          ? term
          : makeProduct([
              { coef: 1, term: num(c) },
              { coef: 1, term },
            ]);
    if (out === null) out = coef < 0 ? negate1(mag) : mag;
    else out = bin(coef < 0 ? "-" : "+", out, mag);
  }
  return out!;
}

/** -mag for a positive magnitude (a number prints as a negative number). */
const negate1 = (mag: Expr): Expr => (isNum(mag) ? num(-mag.value) : neg(mag));

// ---------------------------------------------------------------------------------------------
// Products: a coefficient times factors base^exp, merged by the canonical id of the base.

function addExp(a: Expr, b: Expr): Expr {
  if (isNum(a) && isNum(b)) return num(clean(a.value + b.value));
  return makeSum([
    { coef: 1, term: a },
    { coef: 1, term: b },
  ]);
}

/** u when `e` is 1 + exp(-u) (so 1 / e is sigmoid(u)), else null. */
function sigmoidDenominator(e: Expr): Expr | null {
  // Simplified, 1 + exp(-u) reads exp(-u) + 1; matched by shape, in constant time.
  if (e.kind !== "bin" || e.op !== "+") return null;
  const [ex, one] = isNum(e.right, 1) ? [e.left, e.right] : [e.right, e.left];
  if (!isNum(one, 1) || ex.kind !== "call" || ex.fn !== "exp" || !leadsNegative(ex.arg)) return null;
  return negate(ex.arg);
}

/** Whether a simplified expression prints with a leading minus (-x, -2x, -x - y, -3). */
function leadsNegative(e: Expr): boolean {
  let n = e;
  while (n.kind === "bin" && (n.op === "+" || n.op === "-")) n = n.left;
  return n.kind === "neg" || (isNum(n) && n.value < 0);
}

const isPositiveInteger = (e: Expr): e is Num => isNum(e) && Number.isInteger(e.value) && e.value > 0;

/** Simplified product of simplified operands; coef 1 multiplies, -1 divides. */
function makeProduct(parts: readonly Term[]): Expr {
  const p = emptyProduct();
  for (const part of parts) if (part.term) productParts(part.term, part.coef, p);
  const merged = new Map<number, Factor>();
  const put = (f: Factor) => {
    const key = canonId(f.base);
    const prev = merged.get(key);
    if (prev) prev.exp = addExp(prev.exp, f.exp);
    else merged.set(key, { ...f });
  };
  const pending = p.factors.map(factorOf);
  for (let i = 0; i < pending.length; i++) {
    charge();
    let f = pending[i];
    if (isNum(f.exp) && Number.isInteger(f.exp.value)) {
      const k = f.exp.value;
      if (isSumNode(f.base)) {
        // A common integer factor of a sum's terms moves to the coefficient: (2s - 2y) w = 2(s - y) w.
        const { content, rest } = sumContent(f.base);
        p.coef *= Math.pow(content, k);
        f = { base: rest, exp: f.exp };
      }
      if (isProductNode(f.base) || (f.base.kind === "bin" && f.base.op === "^" && !(isNum(f.base.left) && isNum(f.base.right)))) {
        // An integer power of a product is the product of the powers, which meet the other factors:
        // (1/x)^-1 / x = 1, (-x^2)^-1 x = -1/x.
        const q = productParts(f.base, 1, emptyProduct());
        p.coef *= Math.pow(q.coef, k);
        for (const g of q.factors.map(factorOf))
          pending.push({
            base: g.base,
            exp: isNum(g.exp)
              ? num(clean(g.exp.value * k))
              : makeProduct([
                  { coef: 1, term: num(k) },
                  { coef: 1, term: g.exp },
                ]),
          });
        continue;
      }
    }
    // 1 / (1 + exp(-u))^k = sigmoid(u)^k, for every numeric k (the base is positive).
    const u = isNum(f.exp) && f.exp.value < 0 ? sigmoidDenominator(f.base) : null;
    put(u ? { base: call("sigmoid", u), exp: num(-(f.exp as Num).value) } : f);
  }
  logisticQuotients(merged, put);
  sigmoidDerivatives(merged, put);
  const factors = [...merged.values()].filter((f) => !isNum(f.exp, 0));
  // -2(x + y) would print as a negated product, which reads back as a sum: -2x - 2y.
  const out =
    p.coef < 0 && factors.length === 1 && isNum(factors[0].exp, 1) && isSumNode(factors[0].base)
      ? negatedSum(p.coef, factors[0].base)
      : fromFactors(p.coef, factors);
  return p.byZero ? bin("/", out, num(0)) : out;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** sum = content * rest, where content is the gcd of integer coefficients (negative when all are); memoised. */
function sumContent(sum: Expr): { content: number; rest: Expr } {
  const memo = context().contents;
  let out = memo.get(sum);
  if (out === undefined) {
    const terms: Term[] = sumOperands(sum, 1, []).map((t) => {
      if (t.term === null) return t;
      const { coef, rest } = splitCoef(t.term);
      return { coef: t.coef * coef, term: rest };
    });
    let g = terms.every((t) => Number.isSafeInteger(t.coef)) ? terms.reduce((a, t) => gcd(a, Math.abs(t.coef)), 0) : 1;
    if (terms.every((t) => t.coef < 0)) g = -g;
    out = g === 1 || g === 0 ? { content: 1, rest: sum } : { content: g, rest: makeSum(terms.map((t) => ({ coef: t.coef / g, term: t.term }))) };
    memo.set(sum, out);
  }
  return out;
}

/** u when `e` is 1 + exp(u) with u not leading negative (so exp(u) / e is sigmoid(u)), else null. */
function logisticDenominator(e: Expr): Expr | null {
  if (e.kind !== "bin" || e.op !== "+") return null;
  const [ex, one] = isNum(e.right, 1) ? [e.left, e.right] : [e.right, e.left];
  return isNum(one, 1) && ex.kind === "call" && ex.fn === "exp" && !leadsNegative(ex.arg) ? ex.arg : null;
}

/** u when `e` is 1 - sigmoid(u), which is 1 / (1 + exp(u)), as makeSum prints it; else null. */
function complementSigmoid(e: Expr): Expr | null {
  return e.kind === "bin" && e.op === "-" && isNum(e.left, 1) && e.right.kind === "call" && e.right.fn === "sigmoid" ? e.right.arg : null;
}

/** u and k when a factor is 1 / (1 + exp(u))^k: (1 + exp(u))^-k or (1 - sigmoid(u))^k, k a positive integer. */
function logisticFactor(f: Factor): { u: Expr; k: number } | null {
  if (!isNum(f.exp) || !Number.isInteger(f.exp.value) || f.exp.value === 0) return null;
  const k = f.exp.value;
  const u = k < 0 ? logisticDenominator(f.base) : complementSigmoid(f.base);
  return u === null ? null : { u, k: Math.abs(k) };
}

/**
 * exp(u)^m / (1 + exp(u))^k = sigmoid(u)^m (1 - sigmoid(u))^(k-m), for integers 0 < m <= k: the
 * quotient form of the sigmoid, exp(u) / (1 + exp(u)), and of its derivative, exp(u) / (1 + exp(u))^2,
 * also where part of it was read already: exp(u) (1 - sigmoid(u)) = sigmoid(u).
 * (1 + exp(-u), the other sigmoid's denominator, was read as a factor sigmoid(u) before this.)
 */
function logisticQuotients(merged: Map<number, Factor>, put: (f: Factor) => void): void {
  for (const f of [...merged.values()]) {
    const lf = logisticFactor(f);
    if (lf === null) continue;
    const { u, k } = lf;
    const e = merged.get(canonId(call("exp", u)));
    if (!e || !isPositiveInteger(e.exp) || e.exp.value > k) continue;
    const m = e.exp.value;
    e.exp = num(0);
    f.exp = num(0);
    const sig = call("sigmoid", u);
    put({ base: sig, exp: num(m) });
    if (k > m)
      put({
        base: makeSum([
          { coef: 1, term: null },
          { coef: -1, term: sig },
        ]),
        exp: num(k - m),
      });
  }
}

/** sigmoid(u)^k exp(-u)^m = sigmoid(u)^(k-m) (1 - sigmoid(u))^m, for integers 0 < m <= k. */
function sigmoidDerivatives(merged: Map<number, Factor>, put: (f: Factor) => void): void {
  for (const f of [...merged.values()]) {
    if (f.base.kind !== "call" || f.base.fn !== "exp" || !isPositiveInteger(f.exp) || !leadsNegative(f.base.arg)) continue;
    const sig = call("sigmoid", negate(f.base.arg));
    const s = merged.get(canonId(sig));
    if (!s || !isPositiveInteger(s.exp) || s.exp.value < f.exp.value) continue;
    const m = f.exp.value;
    s.exp = num(s.exp.value - m);
    f.exp = num(0);
    put({
      base: makeSum([
        { coef: 1, term: null },
        { coef: -1, term: s.base },
      ]),
      exp: num(m),
    });
  }
}

/**
 * c * sum for c < 0, which would print as a negated product and read back as a sum: the sum negated
 * under a positive coefficient, -2(x - y) = 2(y - x), or multiplied out where all its terms are
 * positive, -(x + y) = -x - y.
 */
function negatedSum(c: number, sum: Expr): Expr {
  const flipped = negate(sum);
  return leadsNegative(flipped) ? makeSum([{ coef: c, term: sum }]) : fromFactors(-c, [{ base: flipped, exp: ONE }]);
}

const fromProduct = (p: Product): Expr => fromFactors(p.coef, p.factors.map(factorOf));

function fromFactors(coef0: number, factors: readonly Factor[]): Expr {
  const up: Expr[] = [];
  const down: Expr[] = [];
  for (const { base, exp: exp0 } of factors) {
    if (isNum(exp0, 0)) continue;
    // An indicator is 0 or 1, so its positive powers are itself: 1[c] * 1[c] = 1[c].
    const exp = base.kind === "call" && base.fn === "step" && isNum(exp0) && exp0.value > 0 ? num(1) : exp0;
    if (isNum(exp) && exp.value < 0) {
      down.push(exp.value === -1 ? base : power(base, num(-exp.value)));
    } else up.push(isNum(exp, 1) ? base : power(base, exp));
  }
  const coef = clean(coef0);
  if (coef === 0) return num(0);
  const [pn, qd] = rational(Math.abs(coef));
  up.sort((a, b) => factorRank(a) - factorRank(b));
  down.sort((a, b) => factorRank(a) - factorRank(b));
  const numerFactors: Expr[] = pn !== 1 || up.length === 0 ? [num(pn), ...up] : up;
  const denomFactors: Expr[] = qd !== 1 ? [num(qd), ...down] : down;
  const numer = numerFactors.reduce((a, b) => bin("*", a, b));
  const body = denomFactors.length
    ? bin(
        "/",
        numer,
        denomFactors.reduce((a, b) => bin("*", a, b)),
      )
    : numer;
  return coef < 0 ? negate1(body) : body;
}

/** l^r of simplified operands. */
function power(l: Expr, r: Expr): Expr {
  if (isNum(l) && isNum(r)) {
    const v = foldNumber("^", l.value, r.value);
    if (v !== null) return num(clean(v));
  }
  if (isNum(r, 0) || isNum(l, 1)) return num(1);
  if (isNum(r, 1)) return l;
  // (a^p)^q = a^(pq) for integer q, or where a^p keeps a's sign; not (x^2)^(1/2), which is |x|.
  if (l.kind === "bin" && l.op === "^" && isNum(r) && isNum(l.right)) {
    const p = l.right.value;
    if (Number.isInteger(r.value) || !(Number.isInteger(p) && p % 2 === 0)) return power(l.left, num(clean(p * r.value)));
  }
  return bin("^", l, r);
}

// ---------------------------------------------------------------------------------------------

function simplifyCall(e: Extract<Expr, { kind: "call" }>, a: Expr): Expr {
  if (isNum(a) && (e.fn === "sum" || e.fn === "mean" || e.fn === "transpose")) return a;
  if (isNum(a)) {
    const v = evalFn(e.fn, a.value);
    if (v !== null && Number.isInteger(v)) return num(v);
  }
  return call(e.fn, a);
}

/** The signed operands of the chain of kind `kind` at `e`, simplified (they were visited first). */
function chainOperands(e: Expr, kind: Chain, done: ReadonlyMap<Expr, Expr>): Term[] {
  const out: Term[] = [];
  const stack: [Expr, number][] = [[e, 1]];
  while (stack.length > 0) {
    const [n, s] = stack.pop()!;
    charge();
    if (chainOf(n) === kind && n.kind === "neg") stack.push([n.arg, -s]);
    else if (chainOf(n) === kind && n.kind === "bin") stack.push([n.right, n.op === "-" || n.op === "/" ? -s : s], [n.left, s]);
    else out.push({ coef: s, term: done.get(n)! });
  }
  return out;
}

/** Chain nodes (sums, products) whose value is needed on its own: the root, or under another kind of node. */
function chainRoots(nodes: readonly Expr[], root: Expr): Set<Expr> {
  const roots = new Set<Expr>([root]);
  for (const n of nodes) {
    const k = chainOf(n);
    for (const c of children(n)) if (chainOf(c) !== null && chainOf(c) !== k) roots.add(c);
  }
  return roots;
}

function simplifyNode(e: Expr, done: ReadonlyMap<Expr, Expr>): Expr {
  const get = (c: Expr) => done.get(c)!;
  switch (e.kind) {
    case "num":
      return num(clean(e.value));
    case "const":
    case "var":
    case "array":
      return e;
    case "call":
      return simplifyCall(e, get(e.arg));
    case "apply":
      // max, min and abstract functions are atoms: only their arguments simplify.
      return { kind: "apply", fn: e.fn, args: e.args.map(get), ...(e.deriv === undefined ? {} : { deriv: e.deriv }) };
    case "neg":
      return makeSum(chainOperands(e, "sum", done));
    case "bin": {
      if (e.op === "+" || e.op === "-") return makeSum(chainOperands(e, "sum", done));
      // Products and quotients (1/3 stays a fraction, 6/3 is 2): the chain's operands are simplified already.
      if (e.op === "*" || (e.op === "/" && !isDivByZero(e))) return makeProduct(chainOperands(e, "product", done));
      const l = get(e.left);
      const r = get(e.right);
      switch (e.op) {
        case "^":
          return power(l, r);
        default:
          return bin(e.op, l, r);
      }
    }
  }
}

export function simplify(e: Expr): Expr {
  const outer = ctx === null;
  if (outer) ctx = { keys: new Map(), ids: new Map(), contents: new Map() };
  try {
    const nodes = postorder(e);
    const roots = chainRoots(nodes, e);
    const done = new Map<Expr, Expr>();
    for (const n of nodes) {
      charge();
      if (done.has(n) || (chainOf(n) !== null && !roots.has(n))) continue;
      done.set(n, simplifyNode(n, done));
    }
    return done.get(e)!;
  } finally {
    if (outer) ctx = null;
  }
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
    case "erf":
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
