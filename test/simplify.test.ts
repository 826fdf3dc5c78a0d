/**
 * The explainer's simplifier (issue 15): like terms and powers, the sigmoid's derivative, cost linear
 * in the size of the expression (an op count, not a timer), and every result checked numerically.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bin, call, num, size, v, type Expr, type FnName } from "../src/explain/language/ast.js";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { parseExpression } from "../src/explain/language/parser.js";
import { printText } from "../src/explain/language/print.js";
import { simplify } from "../src/explain/interpreters/simplify.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { workDone } from "../src/explain/interpreters/work.js";
import { erf } from "../src/core/backends/js/elementwise.js";

const FN: Record<FnName, (x: number) => number> = {
  ln: Math.log,
  log: Math.log,
  exp: Math.exp,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  erf, // the kernel, tested against mpmath in primitives.test.ts
  relu: (x) => Math.max(x, 0),
  abs: Math.abs,
  sign: Math.sign,
  step: (x) => (x > 0 ? 1 : 0),
  sum: (x) => x,
  mean: (x) => x,
  transpose: (x) => x,
};

/** A scalar expression's value at a point (recursive: the test expressions are small or flat). */
function evaluate(e: Expr, at: Readonly<Record<string, number>>): number {
  switch (e.kind) {
    case "num":
      return e.value;
    case "const":
      return e.name === "e" ? Math.E : Math.PI;
    case "var":
      return at[e.name];
    case "neg":
      return -evaluate(e.arg, at);
    case "call":
      return FN[e.fn](evaluate(e.arg, at));
    case "array":
    case "apply":
      throw new Error("no arrays or several-argument calls here");
    case "bin": {
      const [a, b] = [evaluate(e.left, at), evaluate(e.right, at)];
      return e.op === "+" ? a + b : e.op === "-" ? a - b : e.op === "*" || e.op === "@" ? a * b : e.op === "/" ? a / b : Math.pow(a, b);
    }
  }
}

/** Deterministic points (a small LCG), positive and negative. */
function points(n: number, seed = 7): Record<string, number>[] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2;
  return Array.from({ length: n }, () => ({ x: next(), y: next(), t: next(), z: next() }));
}

/** Whether a and b agree, relative to the size of the values they were computed from. */
function agree(a: number, b: number, scale: number): boolean {
  return Math.abs(a - b) <= 1e-9 * (1 + Math.abs(a) + Math.abs(b) + scale);
}

/** Simplified text of `src`, after checking that it evaluates like `src` wherever both are finite. */
function simplified(src: string): string {
  const e = parseExpression(src);
  const s = simplify(e);
  for (const at of points(20)) {
    const [a, b] = [evaluate(e, at), evaluate(s, at)];
    if (Number.isFinite(a) && Number.isFinite(b)) assert.ok(agree(a, b, 0), `${src} -> ${printText(s)} at ${JSON.stringify(at)}: ${a} vs ${b}`);
  }
  return printText(s);
}

describe("like terms and powers", () => {
  it("8t^4 + 2(t^4 - 4t) = 10t^4 - 8t: a number is distributed over a sum, and like terms add", () => {
    assert.equal(simplified("8t^4 + 2(t^4 - 4t)"), "10t^4 - 8t");
  });

  it("products of powers of one base combine, and numeric coefficients multiply", () => {
    assert.equal(simplified("t^2 * t^3"), "t^5");
    assert.equal(simplified("x * x"), "x^2");
    assert.equal(simplified("3 x * 2 x^2 / x"), "6x^2");
    assert.equal(simplified("x^2 / x^5"), "1 / x^3");
  });

  it("commutative factors and terms in any order are the same monomial", () => {
    assert.equal(simplified("2 sin(x) cos(x) - 2 cos(x) sin(x)"), "0");
    assert.equal(simplified("sin(x) cos(x) + cos(x) sin(x)"), "2sin(x) * cos(x)");
    assert.equal(simplified("x y z + z y x + y (z x)"), "3x * y * z");
    assert.equal(simplified("(x + y) z - z (y + x)"), "0");
  });

  it("a monomial times a sum is multiplied out where that meets like terms, and only there", () => {
    assert.equal(simplified("8t^4 + 2t(t^3 - 4)"), "10t^4 - 8t");
    assert.equal(simplified("x(y + 1) + x(y - 1)"), "2x * y");
    assert.equal(simplified("2x z^3 + 3z^2 (x^2 + 2y)"), "2x * z^3 + 3z^2 * (x^2 + 2y)");
    assert.equal(simplified("x + 2(y + z)"), "x + 2(y + z)");
    assert.equal(simplified("2(x + y) + 3(x + y)"), "5(x + y)");
  });

  it("a negated sum reads with a positive coefficient where it can: -2(x - y) = 2(y - x)", () => {
    assert.equal(simplified("-2(w x + b - y)"), "2(y - w * x - b)");
    assert.equal(simplified("-(x + y)"), "-x - y");
  });

  it("explain: z = 3x^2 - 2xy + y^2 with x = 3a + 2b, y = 4a - b (seed 004 q2c) collects to 38a + 18b", () => {
    const r = explain("x = 3a + 2b; y = 4a - b; z = 3x^2 - 2x y + y^2", parseAssignments(["a=1,b=2"]));
    assert.deepEqual(r.derivatives, { a: "38a + 18b", b: "18a + 34b" });
  });

  it("a common integer factor of a sum in a product moves to the coefficient", () => {
    assert.equal(simplified("(2x + 2) y"), "2y * (x + 1)");
    assert.equal(simplified("(-x - y) z"), "-z * (x + y)");
    assert.equal(simplified("1 / (2x + 2)"), "1 / (2(x + 1))");
  });

  it("integer powers of products are split, so their factors meet the others", () => {
    assert.equal(simplified("(1/x)^(-1) / x"), "1");
    assert.equal(simplified("(x^2 / (-1))^(-1) * x"), "-1 / x");
  });

  it("(x^2)^(1/2) is |x|, not x: powers of powers fold only where that is exact", () => {
    assert.equal(simplified("(x^2)^0.5"), "(x^2)^0.5");
    assert.equal(simplified("(x^2)^(1/2)"), "(x^2)^(1 / 2)");
    assert.equal(simplified("(x^3)^2"), "x^6");
  });

  it("explain: z = x^2 y - y^2 with x = t^2, y = 2t gives dz/dt = 10t^4 - 8t (seed 004 q2b)", () => {
    const r = explain("x = t^2\ny = 2t\nz = x^2 y - y^2", parseAssignments(["t=1.5"]));
    assert.equal(r.derivatives?.t, "10t^4 - 8t");
  });
});

describe("the sigmoid's derivative", () => {
  const sigmoidForm = "sigmoid(x) * (1 - sigmoid(x))";

  it("exp(-x) / (1 + exp(-x))^2 = sigmoid(x) (1 - sigmoid(x))", () => {
    assert.equal(simplified("exp(-x) / (1 + exp(-x))^2"), sigmoidForm);
    assert.equal(simplified("exp(-2y) / (exp(-2y) + 1)^2"), "sigmoid(2y) * (1 - sigmoid(2y))");
    assert.equal(simplified("1 / (1 + exp(-x))"), "sigmoid(x)");
  });

  it("the direct form stays as it is", () => {
    assert.equal(simplified(sigmoidForm), sigmoidForm);
  });

  it("exp(x) / (1 + exp(x)) is sigmoid(x), and exp(x) / (1 + exp(x))^2 its derivative", () => {
    // Was "exp(x) / (exp(x) + 1)^2": 1 + exp(x) is the denominator of sigmoid(x) under exp(x), as a student reads it.
    assert.equal(simplified("exp(x) / (1 + exp(x))^2"), sigmoidForm);
    assert.equal(simplified("exp(x) / (1 + exp(x))"), "sigmoid(x)");
    assert.equal(simplified("exp(x) * (1 + exp(x))^-1"), "sigmoid(x)");
    assert.equal(simplified("exp(2y) / (exp(2y) + 1)"), "sigmoid(2y)");
    assert.equal(simplified("exp(x)^2 / (1 + exp(x))^3"), "sigmoid(x)^2 * (1 - sigmoid(x))");
    assert.equal(simplified("exp(x) (1 - sigmoid(x))"), "sigmoid(x)");
    assert.equal(simplified("1 - 1 / (1 + exp(-x))"), "1 - sigmoid(x)");
    assert.equal(simplified("exp(-x) / (1 + exp(-x))"), "1 - sigmoid(x)");
  });

  it("1 + exp(x) alone, or under a higher power of exp(x), is left as it is", () => {
    assert.equal(simplified("1 / (1 + exp(x))"), "1 / (exp(x) + 1)");
    assert.equal(simplified("exp(x)^3 / (1 + exp(x))^2"), "exp(x)^3 / (exp(x) + 1)^2");
    assert.equal(simplified("exp(x) / (1 + exp(x))^0.5"), "exp(x) / (exp(x) + 1)^0.5");
  });

  it("s - s^2 for s = sigmoid(u) reads s (1 - s), in a sum of these two terms only", () => {
    assert.equal(simplified("sigmoid(x) - sigmoid(x)^2"), sigmoidForm);
    assert.equal(simplified("3x sigmoid(y)^2 - 3x sigmoid(y)^3"), "3x * sigmoid(y)^2 * (1 - sigmoid(y))");
    assert.equal(simplified("exp(x)/(1+exp(x)) - exp(x)^2/(1+exp(x))^2"), sigmoidForm);
    assert.equal(simplified("sigmoid(x)^2 - sigmoid(x)"), "sigmoid(x)^2 - sigmoid(x)");
    assert.equal(simplified("z + sigmoid(x) - sigmoid(x)^2"), "z + sigmoid(x) - sigmoid(x)^2");
    assert.equal(simplified("sigmoid(x) (1 - sigmoid(x)) + sigmoid(x)^2"), "sigmoid(x)");
  });

  it("explain: exp(x)/(1+exp(x)) at x = 0.5 has the derivative sigmoid(x) (1 - sigmoid(x))", () => {
    // Was "exp(x) / (exp(x) + 1) - exp(x)^2 / (exp(x) + 1)^2".
    const r = explain("exp(x)/(1+exp(x))", parseAssignments(["x=0.5"]));
    assert.equal(r.derivatives?.x, sigmoidForm);
  });

  it("explain: the squared error of a logistic unit reads 2(s - y) s (1 - s)", () => {
    const r = explain("(y - 1/(1+exp(-b)))^2", parseAssignments(["b=0.3,y=0.7"]));
    assert.equal(r.derivatives?.b, "2sigmoid(b) * (sigmoid(b) - y) * (1 - sigmoid(b))");
  });

  it("explain: the staged 1/(1+exp(-x)) has the derivative sigmoid(x) (1 - sigmoid(x))", () => {
    const r = explain("1/(1+exp(-x))", parseAssignments(["x=2"]));
    assert.equal(r.derivatives?.x, sigmoidForm);
  });
});

describe("cost is linear in the size of the expression (an op count)", () => {
  /** Work done by simplify(e), in steps. */
  function work(e: Expr): number {
    const w0 = workDone();
    simplify(e);
    return workDone() - w0;
  }

  /** A sum of n terms, most of them distinct: k x_(k mod n/2)^(k mod 5), times sin(y) or cos(y) for some. */
  function longSum(n: number): Expr {
    const terms = Array.from({ length: n }, (_, k): Expr => {
      const mono = bin("*", num((k % 7) + 1), bin("^", v(`x${k % (n / 2)}`), num(k % 5)));
      return k % 3 === 0 ? bin("*", mono, call(k % 2 ? "sin" : "cos", v("y"))) : mono;
    });
    return terms.reduce((a, b, k) => bin(k % 4 === 3 ? "-" : "+", a, b));
  }

  it("a sum of 5,000 terms: at most 20 steps per node, and twice the terms cost at most ~twice the work", () => {
    const big = longSum(5000);
    const w = work(big);
    assert.ok(w <= 20 * size(big), `work ${w} for ${size(big)} nodes`);
    const half = work(longSum(2500));
    assert.ok(w <= 2.3 * half, `work ${w} for 5000 terms, ${half} for 2500`);
    const s = simplify(big);
    for (const at of points(3)) {
      const env = { ...at, ...Object.fromEntries(Array.from({ length: 2500 }, (_, k) => [`x${k}`, at.x + k / 2500])) };
      assert.ok(agree(evaluate(big, env), evaluate(s, env), 1e5));
    }
  });

  it("a power tower x^x^...^x of 80 levels: at most 20 steps per node", () => {
    const tower = Array.from({ length: 80 }, () => v("x")).reduce((a, b) => bin("^", b, a));
    const w = work(tower);
    assert.ok(w <= 20 * size(tower), `work ${w} for ${size(tower)} nodes`);
    assert.equal(printText(simplify(tower)), printText(tower));
  });

  it("sums and products nested 1,000 levels deep (1 + 2x(1 + 2x(...))): at most 30 steps per node, no recursion limit", () => {
    const nest = (n: number) => Array.from({ length: n }).reduce<Expr>((e) => bin("+", num(1), bin("*", bin("*", num(2), v("x")), e)), num(1));
    const [w, half] = [work(nest(1000)), work(nest(500))];
    assert.ok(w <= 30 * size(nest(1000)), `work ${w}`);
    assert.ok(w <= 2.3 * half, `work ${w} for 1000 levels, ${half} for 500`);
  });

  it("a sum of 2,000 quotients exp(x_k) / (1 + exp(x_k))^2: at most 30 steps per node, ~twice the work for twice the terms", () => {
    const quotients = (n: number) =>
      Array.from({ length: n }, (_, k): Expr => bin("/", call("exp", v(`x${k}`)), bin("^", bin("+", num(1), call("exp", v(`x${k}`))), num(2)))).reduce((a, b) =>
        bin("+", a, b),
      );
    const [w, half] = [work(quotients(2000)), work(quotients(1000))];
    assert.ok(w <= 30 * size(quotients(2000)), `work ${w}`);
    assert.ok(w <= 2.3 * half, `work ${w} for 2000 terms, ${half} for 1000`);
  });

  it("a sum of 2,000 products x_k (s_k - s_k^2), s_k = sigmoid(y_k): at most 30 steps per node, ~twice the work for twice the terms", () => {
    const term = (k: number): Expr => {
      const sk = (): Expr => call("sigmoid", v(`y${k}`));
      return bin("*", v(`x${k}`), bin("-", sk(), bin("^", sk(), num(2))));
    };
    const sum = (n: number) => Array.from({ length: n }, (_, k) => term(k)).reduce((a, b) => bin("+", a, b));
    const [w, half] = [work(sum(2000)), work(sum(1000))];
    assert.ok(w <= 30 * size(sum(2000)), `work ${w}`);
    assert.ok(w <= 2.3 * half, `work ${w} for 2000 terms, ${half} for 1000`);
    assert.equal(printText(simplify(term(0))), "x0 * sigmoid(y0) * (1 - sigmoid(y0))");
  });

  it("past the size limit the derivative is not simplified: explain gives its size instead", () => {
    const ex = explainAll(Array(80).fill("x").join("^"), parseAssignments(["x=0.9"]));
    assert.equal(ex.report.derivatives, undefined);
    assert.ok((ex.report.derivativesTooLarge?.size ?? 0) > 5000);
  });
});

describe("property: simplify keeps the value and is idempotent", () => {
  const leaf = fc.oneof(
    fc.constantFrom<Expr>(v("x"), v("y"), v("z")),
    fc.integer({ min: -3, max: 4 }).map((k) => num(k)),
  );
  const fns: FnName[] = ["sin", "cos", "exp", "ln", "sqrt", "sigmoid", "tanh", "abs", "step"];
  const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
    expr: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.tuple(fc.constantFrom("+", "-", "*", "/"), tie("expr"), tie("expr")).map(([op, l, r]) => bin(op, l, r)),
      fc.tuple(tie("expr"), fc.integer({ min: -2, max: 3 })).map(([b, k]) => bin("^", b, num(k))),
      fc.tuple(fc.constantFrom(...fns), tie("expr")).map(([f, a]) => call(f, a)),
      tie("expr").map((a) => ({ kind: "neg", arg: a }) as Expr),
      // exp(-u) and 1 + exp(-u), so that sigmoid patterns appear.
      tie("expr").map((a) => bin("+", num(1), call("exp", { kind: "neg", arg: a }))),
      // exp(u) / (1 + exp(u))^k, the quotient form of the sigmoid and its derivative.
      fc.tuple(tie("expr"), fc.integer({ min: 1, max: 2 })).map(([a, k]) => bin("/", call("exp", a), bin("^", bin("+", num(1), call("exp", a)), num(k)))),
    ),
  }));

  /**
   * Largest magnitude met while evaluating `e` (cancellation in the original loses that much), or null
   * where a subexpression is not finite: outside the expression's domain (1 / (x * 0) is -Infinity at
   * x < 0, as x * 0 is -0 there, and 1 / 0 in the simplified 1 / 0) values need not agree.
   */
  function scale(e: Expr, at: Readonly<Record<string, number>>): number | null {
    let m = 0;
    let finite = true;
    const walk = (n: Expr): void => {
      const x = evaluate(n, at);
      if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
      else finite = false;
      if (n.kind === "bin") [n.left, n.right].forEach(walk);
      if (n.kind === "neg" || n.kind === "call") walk(n.arg);
    };
    walk(e);
    return finite ? m : null;
  }

  it("simplify(e) evaluates like e wherever e and its parts are finite, and simplify(simplify(e)) prints as simplify(e)", () => {
    fc.assert(
      fc.property(expr, (e) => {
        const s = simplify(e);
        for (const at of points(6, 11)) {
          const [a, b, m] = [evaluate(e, at), evaluate(s, at), scale(e, at)];
          if (m !== null && Number.isFinite(b)) assert.ok(agree(a, b, m), `${printText(e)} -> ${printText(s)} at ${JSON.stringify(at)}: ${a} vs ${b}`);
        }
        assert.equal(printText(simplify(s)), printText(s), `not idempotent on ${printText(e)}`);
      }),
      { numRuns: 2000, seed: 15 },
    );
  });
});
