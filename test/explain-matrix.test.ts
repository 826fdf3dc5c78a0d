/**
 * Vectors and matrices as the lecture and tutorial teach them: each array stage's local rule in the
 * denominator convention with shapes, shapes on the wires, closed-form matrix gradients, and every rule
 * and closed form evaluated with the stage values and compared with the engine's gradients.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/explain/core.js";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { toJson } from "../src/explain/renderers/json.js";
import { closedFormExprs, evalDeltas, evalM, stageRuleExprs, upKey } from "../src/explain/interpreters/matrix.js";
import { refArgs, type Stage } from "../src/explain/interpreters/stage.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { FUNCTIONS } from "../src/explain/language/ast.js";

const W = "W=[[0.1,0.5],[-0.3,0.8],[1,2]]";
const X = "x=[0.2,0.4]";

function run(src: string, ...at: string[]): ExplainReport {
  return explain(src, parseAssignments(at));
}

/** The rule of `stage` for operand `name`, as "text | shapes". */
function ruleOf(r: ExplainReport, stage: string, name: string): string {
  const s = r.stages.find((x) => x.name === stage);
  const rule = s?.rule?.[name];
  assert.ok(rule, `no rule for ${stage}/${name}: ${JSON.stringify(s)}`);
  return `${rule.text} | ${rule.shapes}`;
}

const texts = (r: ExplainReport): string[] => Object.values(r.matrixDerivatives ?? {}).map((d) => d.text);

describe("textbook rules of array stages (denominator convention, with shapes)", () => {
  it("a = W @ x: ∂L/∂W = (∂L/∂a) xᵀ and ∂L/∂x = Wᵀ (∂L/∂a), with the output's name", () => {
    const r = run("L = sum((W @ x)^2)", W, X);
    assert.equal(ruleOf(r, "a", "W"), "∂L/∂W = (∂L/∂a) xᵀ | (3×2) = (3×1)(1×2)");
    assert.equal(ruleOf(r, "a", "x"), "∂L/∂x = Wᵀ (∂L/∂a) | (2,) = (2×3)(3,)");
    assert.equal(ruleOf(r, "b", "a"), "∂L/∂a = 2a ⊙ ∂L/∂b | (3,) = (3,) ⊙ (3,)");
    assert.equal(ruleOf(r, "L", "b"), "∂L/∂b = ∂L/∂L · 1 | (3,) = scalar broadcast to (3,)");
  });

  it("an unnamed output is written out", () => {
    assert.equal(ruleOf(run("sum(W @ x)", W, X), "a", "W"), "∂out/∂W = (∂out/∂a) xᵀ | (3×2) = (3×1)(1×2)");
  });

  it("C = A @ B: ∂L/∂A = (∂L/∂C) Bᵀ, ∂L/∂B = Aᵀ (∂L/∂C)", () => {
    const r = run("sum(A @ B)", "A=[[1,2],[3,4],[5,6]]", "B=[[1,0,2,1],[0,1,1,3]]");
    assert.equal(ruleOf(r, "a", "A"), "∂out/∂A = (∂out/∂a) Bᵀ | (3×2) = (3×4)(4×2)");
    assert.equal(ruleOf(r, "a", "B"), "∂out/∂B = Aᵀ (∂out/∂a) | (2×4) = (2×3)(3×4)");
  });

  it("a vector on the left: x @ W gives ∂L/∂x = W (∂L/∂a) and an outer product for W", () => {
    const r = run("sum(x @ W)", "x=[1,2,3]", "W=[[1,2],[3,4],[5,6]]");
    assert.equal(ruleOf(r, "a", "x"), "∂out/∂x = W (∂out/∂a) | (3,) = (3×2)(2,)");
    assert.equal(ruleOf(r, "a", "W"), "∂out/∂W = x (∂out/∂a)ᵀ | (3×2) = (3×1)(1×2)");
  });

  it("a dot product u @ v: the scalar upstream times the other vector", () => {
    const r = run("(u @ v)^2", "u=[1,2]", "v=[3,4]");
    assert.equal(ruleOf(r, "a", "u"), "∂out/∂u = ∂out/∂a · v | (2,) = scalar · (2,)");
    assert.equal(ruleOf(r, "a", "v"), "∂out/∂v = ∂out/∂a · u | (2,) = scalar · (2,)");
    assert.deepEqual(texts(r), ["∂out/∂u = 2 (uᵀ v) · v", "∂out/∂v = 2 (uᵀ v) · u"]);
  });

  it("elementwise products and functions use ⊙", () => {
    const r = run("sum(relu(z) * tanh(z) + sigmoid(z) + exp(z))", "z=[[1,-2],[0.5,3]]");
    assert.equal(ruleOf(r, "a", "z"), "∂out/∂z = 1[z > 0] ⊙ ∂out/∂a | (2×2) = (2×2) ⊙ (2×2)");
    assert.equal(ruleOf(r, "b", "z"), "∂out/∂z = (1 − b²) ⊙ ∂out/∂b | (2×2) = (2×2) ⊙ (2×2)");
    assert.equal(ruleOf(r, "c", "a"), "∂out/∂a = ∂out/∂c ⊙ b | (2×2) = (2×2) ⊙ (2×2)");
    assert.equal(ruleOf(r, "c", "b"), "∂out/∂b = ∂out/∂c ⊙ a | (2×2) = (2×2) ⊙ (2×2)");
    assert.equal(ruleOf(r, "d", "z"), "∂out/∂z = σ(z)(1 − σ(z)) ⊙ ∂out/∂d | (2×2) = (2×2) ⊙ (2×2)");
    // Stage names skip e (the constant): exp(z) is g.
    assert.equal(ruleOf(r, "g", "z"), "∂out/∂z = g ⊙ ∂out/∂g | (2×2) = (2×2) ⊙ (2×2)");
  });

  it("ln, sqrt, sin, cos and abs", () => {
    const r = run("sum(ln(x) + sqrt(x) + sin(x) + cos(x) + abs(x))", "x=[1,2]");
    assert.deepEqual(
      r.stages.filter((s) => s.inputs.join() === "x").map((s) => s.rule?.x.text),
      [
        "∂out/∂x = (1/x) ⊙ ∂out/∂a",
        "∂out/∂x = (1/(2b)) ⊙ ∂out/∂b",
        "∂out/∂x = cos(x) ⊙ ∂out/∂d",
        "∂out/∂x = (−sin(x)) ⊙ ∂out/∂g",
        "∂out/∂x = sign(x) ⊙ ∂out/∂i",
      ],
    );
  });

  it("broadcast adds sum over the broadcast axis; sum, mean and transpose", () => {
    const r = run("mean(transpose(a + b))", "a=[[1,2,3],[4,5,6]]", "b=[0.1,0.2,0.3]");
    assert.equal(ruleOf(r, "c", "a"), "∂out/∂a = ∂out/∂c | (2×3) = (2×3)");
    assert.equal(ruleOf(r, "c", "b"), "∂out/∂b = Σ_rows ∂out/∂c | (3,) = Σ (2×3): summed over the broadcast axis 0");
    assert.equal(ruleOf(r, "d", "c"), "∂out/∂c = (∂out/∂d)ᵀ | (2×3) = (3×2)ᵀ");
    assert.equal(ruleOf(r, "f", "d"), "∂out/∂d = ∂out/∂f · 1 / 6 | (3×2) = scalar broadcast to (3×2)");
  });

  it("a scalar times an array sums over every axis for the scalar", () => {
    const r = run("sum(x * y)", "x=[1,2]", "y=2");
    assert.equal(ruleOf(r, "a", "x"), "∂out/∂x = ∂out/∂a · y | (2,) = (2,) · scalar");
    assert.equal(ruleOf(r, "a", "y"), "∂out/∂y = Σ (∂out/∂a ⊙ x) | scalar = Σ (2,): summed over the broadcast axis 0");
  });

  it("scalar programs get none", () => {
    assert.ok(run("x * y", "x=2", "y=3").stages.every((s) => s.rule === undefined));
    assert.equal(run("x / y", "x=2", "y=3").matrixDerivatives, undefined);
  });

  it("batches of matrices: the same rules per matrix, summed over the batch axis an operand was broadcast along", () => {
    const r = run("sum(A @ B)", "A=[[[1,2,3],[3,4,5]],[[5,6,7],[7,8,9]]]", "B=[[[1,0],[0,1],[1,1]]]");
    assert.equal(ruleOf(r, "a", "A"), "∂out/∂A = (∂out/∂a) Bᵀ | (2×2×3) = (2×2×2)(1×2×3)");
    assert.equal(ruleOf(r, "a", "B"), "∂out/∂B = Σ_{axis 0} Aᵀ (∂out/∂a) | (1×3×2) = Σ (2×3×2): summed over the broadcast axis 0");
    assert.deepEqual(texts(r), ["∂out/∂A = 1 Bᵀ", "∂out/∂B = Σ_{axis 0} Aᵀ 1"]);
    // A vector with a batch has no rule: NumPy drops the axis the vector gained.
    assert.equal(run("sum(x @ B)", "x=[1,2,3]", "B=[[[1,0],[0,1],[1,1]]]").stages[0].rule, undefined);
  });

  it("a = x / y: ∂L/∂x = ∂L/∂a ⊘ y and ∂L/∂y = (−x ⊘ y²) ⊙ ∂L/∂a", () => {
    const r = run("sum(x / y)", "x=[1,2,3]", "y=[4,5,6]");
    assert.equal(ruleOf(r, "a", "x"), "∂out/∂x = ∂out/∂a ⊘ y | (3,) = (3,) ⊘ (3,)");
    assert.equal(ruleOf(r, "a", "y"), "∂out/∂y = (−x ⊘ y²) ⊙ ∂out/∂a | (3,) = (3,) ⊙ (3,)");
    assert.deepEqual(texts(r), ["∂out/∂x = (1/y)", "∂out/∂y = −x ⊘ y²"]);
    // LaTeX's ⊘ is \oslash, in the rule and in its shapes.
    assert.ok(formatLatex(r).includes("\\frac{\\partial \\mathit{out}}{\\partial a} \\oslash y \\quad (3,) = (3,) \\oslash (3,)"), formatLatex(r));
  });

  it("a broadcast division sums the divisor's gradient over the broadcast axis", () => {
    const r = run("sum(X / y)", "X=[[1,2,3],[4,5,6]]", "y=[4,5,6]");
    assert.equal(ruleOf(r, "a", "X"), "∂out/∂X = ∂out/∂a ⊘ y | (2×3) = (2×3) ⊘ (3,)");
    assert.equal(ruleOf(r, "a", "y"), "∂out/∂y = Σ_rows ((−X ⊘ y²) ⊙ ∂out/∂a) | (3,) = Σ (2×3): summed over the broadcast axis 0");
    assert.deepEqual(texts(r), ["∂out/∂X = 1 ⊘ y", "∂out/∂y = Σ_rows (−X ⊘ y²)"]);
  });

  it("a scalar divided by an array, an array by a scalar, and by constants", () => {
    const r = run("sum(s / y)", "s=2", "y=[4,5,6]");
    assert.equal(ruleOf(r, "a", "s"), "∂out/∂s = Σ (∂out/∂a ⊘ y) | scalar = Σ (3,): summed over the broadcast axis 0");
    assert.equal(ruleOf(r, "a", "y"), "∂out/∂y = (−s ⊘ y²) ⊙ ∂out/∂a | (3,) = (3,) ⊙ (3,)");
    const q = run("sum(x / s)", "x=[1,2,3]", "s=2");
    assert.equal(ruleOf(q, "a", "x"), "∂out/∂x = (∂out/∂a) / s | (3,) = (3,) / scalar");
    assert.equal(ruleOf(q, "a", "s"), "∂out/∂s = Σ ((−x / s²) ⊙ ∂out/∂a) | scalar = Σ (3,): summed over the broadcast axis 0");
    const c = run("sum(x / 2 + 3 / x)", "x=[1,2,3]");
    assert.equal(ruleOf(c, "a", "x"), "∂out/∂x = (∂out/∂a) / 2 | (3,) = (3,) / scalar");
    assert.equal(ruleOf(c, "b", "x"), "∂out/∂x = (−3 ⊘ x²) ⊙ ∂out/∂b | (3,) = (3,) ⊙ (3,)");
  });

  it("a = x^y with an array exponent: y ⊙ x^(y − 1) and a ⊙ ln(x); a constant base or exponent", () => {
    const r = run("sum(X ^ y)", "X=[[1,2,3],[4,5,6]]", "y=[0.5,2,3]");
    assert.equal(ruleOf(r, "a", "X"), "∂out/∂X = y ⊙ X^(y − 1) ⊙ ∂out/∂a | (2×3) = (2×3) ⊙ (2×3)");
    assert.equal(ruleOf(r, "a", "y"), "∂out/∂y = Σ_rows (a ⊙ ln(X) ⊙ ∂out/∂a) | (3,) = Σ (2×3): summed over the broadcast axis 0");
    assert.deepEqual(texts(r), ["∂out/∂X = y ⊙ X^(y − 1)", "∂out/∂y = Σ_rows (X^y ⊙ ln(X))"]);
    assert.equal(ruleOf(run("sum(2 ^ x)", "x=[1,2,3]"), "a", "x"), "∂out/∂x = a · ln(2) ⊙ ∂out/∂a | (3,) = (3,) ⊙ (3,)");
    assert.equal(ruleOf(run("sum(x ^ [1,2,3])", "x=[[1,2,3],[4,5,6]]"), "a", "x"), "∂out/∂x = [1, 2, 3] ⊙ x^([1, 2, 3] − 1) ⊙ ∂out/∂a | (2×3) = (2×3) ⊙ (2×3)");
    assert.equal(ruleOf(run("sum(x ^ 3)", "x=[1,2,3]"), "a", "x"), "∂out/∂x = 3 x² ⊙ ∂out/∂a | (3,) = (3,) ⊙ (3,)");
  });

  it("1/x, tan, sign, step and a vector's transpose", () => {
    const r = run("sum(1/x + tan(x) + sign(x) + step(x) + transpose(x))", "x=[1,2,3]");
    assert.deepEqual(
      r.stages.filter((s) => s.inputs.join() === "x").map((s) => `${s.rule?.x.text} | ${s.rule?.x.shapes}`),
      [
        "∂out/∂x = (−a²) ⊙ ∂out/∂a | (3,) = (3,) ⊙ (3,)",
        "∂out/∂x = (1 + b²) ⊙ ∂out/∂b | (3,) = (3,) ⊙ (3,)",
        "∂out/∂x = 0 | (3,) = (3,)",
        "∂out/∂x = 0 | (3,) = (3,)",
        "∂out/∂x = ∂out/∂i | (3,) = (3,)",
      ],
    );
    // Zero contributions drop out of the sum; x + (−y) reads x − y.
    assert.deepEqual(texts(r), ["∂out/∂x = 1 + 1 + tan(x)² − (1/x)²"]);
  });

  it("every stage op on arrays has a rule (a scalar program has none: it is explained without matrices)", () => {
    const ops = [
      "-x",
      "1/x",
      "ln(x)",
      "exp(x)",
      "sqrt(x)",
      "sin(x)",
      "cos(x)",
      "tan(x)",
      "tanh(x)",
      "sigmoid(x)",
      "erf(x)",
      "relu(x)",
      "abs(x)",
      "sign(x)",
      "step(x)",
      "mean(x)",
      "transpose(x)",
      "e^x",
      "x + y",
      "x - y",
      "x * y",
      "x / y",
      "x ^ y",
      "x @ y",
    ];
    // A new function of the language needs its row here (and a matrix rule); ln covers log, the test's sum(...) covers sum.
    assert.deepEqual(
      FUNCTIONS.filter((f) => !ops.some((op) => op.startsWith(`${f}(`))),
      ["log", "sum"],
    );
    for (const op of ops) {
      for (const [xs, ys] of [
        ["[[0.5,1.5,0.7],[1.1,0.3,0.6]]", "[[0.9,1.2,0.4],[1,2,3]]"],
        ["[0.5,1.5]", "[0.9,1.2]"],
      ]) {
        const src = op === "x @ y" && xs.startsWith("[[") ? "sum(x @ transpose(y))" : `sum(${op})`;
        const x = explainAll(src, parseAssignments([`x=${xs}`, `y=${ys}`]));
        const onArrays = (s: Stage) => x.values.get(s.name)!.size > 1 || refArgs(s).some((n) => x.values.get(n)!.size > 1);
        const missing = x.staged.stages.filter((s, k) => onArrays(s) && !x.report.stages[k].rule);
        assert.deepEqual(
          missing.map((s) => s.op),
          [],
          `${src} at x=${xs}`,
        );
        assert.ok(x.report.matrixDerivatives, `${src}: closed forms`);
      }
    }
  });
});

describe("closed forms found by random programs", () => {
  it("−(k x) normalizes to (−k) x, not back to k x", () => {
    const at = ["x=[[0.5,1.5,0.7],[1.1,0.3,0.6]]", "y=[[0.5,1.5,0.7],[1.1,0.3,0.6]]", "z=[0.5,1.5,0.7]"];
    checkClosedForms("sum((z / 0.5) * cos(y) - abs([1,2,3]) * (x - y))", at);
  });

  it("a delta that another contains is evaluated first, whatever the stage order", () => {
    // The denominator's delta is −δ, and x^0.5's is −(−δ) = δ itself: part of a later stage's delta.
    checkClosedForms("sum((((z * x) - abs(z)) / ((x * x) - (x ^ 0.5))))", ["x=[[0.5],[1.5]]", "z=[[0.5],[1.5]]"]);
    // y^2 and z^z share the difference's delta, with z^z's stage between them.
    checkClosedForms("sum(((y ^ 2) - (z ^ z)) / sqrt(sigmoid(z)))", ["y=[[0.5,1.5,0.7],[1.1,0.3,0.6]]", "z=[0.5,1.5,0.7]"]);
  });

  it("a vector times a matrix of one row is NumPy's product, not the rules' outer product", () => {
    checkRules("sum((v @ B)^2) + mean(A @ B)", ["v=[2]", "B=[[1,2,3]]", "A=[[1],[2]]"]);
    checkClosedForms("sum((v @ B)^2) + mean(A @ B)", ["v=[2]", "B=[[1,2,3]]", "A=[[1],[2]]"]);
  });

  it("an infinite local derivative matches the engine's infinity", () => {
    const r = run("sum(sqrt(x - 1))", "x=[1,2,5]");
    assert.equal(ruleOf(r, "b", "a"), "∂out/∂a = (1/(2b)) ⊙ ∂out/∂b | (3,) = (3,) ⊙ (3,)");
  });
});

describe("shapes on the wires in table, markdown and LaTeX", () => {
  const r = run("sum((W @ x)^2)", W, X);

  it("the table shows shapes with small arrays' values and the rules in the backward pass", () => {
    const t = formatTable(r);
    assert.match(t, /a = W @ x\s+\[0\.22,0\.26,1\] \(3,\)/);
    assert.match(
      t,
      /a = W @ x\s+∂out\/∂W = \(∂out\/∂a\) xᵀ {3}\(3×2\) = \(3×1\)\(1×2\)\s+-\s+\[0\.44,0\.52,2\] \(3,\)\s+W <- \[\[0\.088,0\.176\],\[0\.104,0\.208\],\[0\.4,0\.8\]\] \(3×2\)/,
    );
    assert.ok(!t.includes("reshape("), t);
  });

  it("arrays over 6 elements show their shape only", () => {
    const t = formatTable(run("sum(A * A)", "A=[[1,2,3,4],[5,6,7,8]]"));
    assert.match(t, /a = A \* A\s+\(2×4\)\n/);
    assert.match(t, /A <- \(2×4\)/);
  });

  it("markdown rows", () => {
    const m = formatMarkdown(r);
    assert.ok(m.includes("| a | `a = W @ x` | [0.22,0.26,1] (3,) | [0.44,0.52,2] (3,) |"), m);
    assert.ok(
      m.includes(
        "| `a = W @ x` | `∂out/∂W = (∂out/∂a) xᵀ   (3×2) = (3×1)(1×2)` | - | [0.44,0.52,2] (3,) | W <- [[0.088,0.176],[0.104,0.208],[0.4,0.8]] (3×2) |",
      ),
      m,
    );
    assert.ok(m.includes("- $\\frac{\\partial \\mathit{out}}{\\partial W} = 2\\,\\left(W\\,x\\right)\\,x^\\top$"), m);
  });

  it("LaTeX rules and closed forms", () => {
    const l = formatLatex(r);
    assert.ok(
      l.includes(
        "\\frac{\\partial \\mathit{out}}{\\partial W} &= \\left(\\frac{\\partial \\mathit{out}}{\\partial a}\\right)\\,x^\\top \\quad (3\\times 2) = (3\\times 1)(1\\times 2)",
      ),
      l,
    );
    assert.ok(l.includes("$a$ & [0.22,0.26,1] (3,) & [0.44,0.52,2] (3,) \\\\"), l);
    assert.ok(l.includes("\\frac{\\partial \\mathit{out}}{\\partial x} &= 2\\,W^\\top\\,W\\,x"), l);
  });

  it("JSON carries the rules and closed forms", () => {
    const j = JSON.parse(toJson(r)) as ExplainReport;
    assert.deepEqual(j.stages[0].rule?.x, {
      text: "∂out/∂x = Wᵀ (∂out/∂a)",
      latex: "\\frac{\\partial \\mathit{out}}{\\partial x} = W^\\top\\,\\left(\\frac{\\partial \\mathit{out}}{\\partial a}\\right)",
      shapes: "(2,) = (2×3)(3,)",
    });
    assert.equal(j.matrixDerivatives?.W.text, "∂out/∂W = 2 (W x) xᵀ");
  });

  it("the table lists the matrix derivatives", () => {
    assert.ok(
      formatTable(r).includes("Matrix derivatives (denominator convention, checked against the gradients)\n  ∂out/∂W = 2 (W x) xᵀ\n  ∂out/∂x = 2 Wᵀ W x"),
    );
  });
});

const MLP = "0.5 * sum((W2 @ relu(W1 @ x + b1) + b2 - y)^2)";
const MLP_AT = ["W1=[[0.1,0.5],[-0.3,0.8],[1,2]]", "x=[0.2,0.4]", "b1=[0.1,-0.2,0.3]", "W2=[[1,2,3],[0.5,-1,2]]", "b2=[0.1,0.2]", "y=[1,0]"];

describe("closed-form matrix derivatives", () => {
  it("sum((W @ x)^2): 2 (W x) xᵀ and 2 Wᵀ W x", () => {
    assert.deepEqual(texts(run("sum((W @ x)^2)", W, X)), ["∂out/∂W = 2 (W x) xᵀ", "∂out/∂x = 2 Wᵀ W x"]);
  });

  it("sum(W @ x): 1 xᵀ and Wᵀ 1", () => {
    assert.deepEqual(texts(run("L = sum(W @ x)", W, X)), ["∂L/∂W = 1 xᵀ", "∂L/∂x = Wᵀ 1"]);
  });

  it("Linear -> ReLU -> Linear -> squared loss, layer by layer", () => {
    assert.deepEqual(texts(run(MLP, ...MLP_AT)), [
      "δ2 = W2 relu(W1 x + b1) + b2 − y",
      "δ1 = 1[W1 x + b1 > 0] ⊙ (W2ᵀ δ2)",
      "∂out/∂W2 = δ2 relu(W1 x + b1)ᵀ",
      "∂out/∂W1 = δ1 xᵀ",
      "∂out/∂x = W1ᵀ δ1",
      "∂out/∂b1 = δ1",
      "∂out/∂b2 = δ2",
      "∂out/∂y = −δ2",
    ]);
  });

  it("user-named stages stay named: h and yhat", () => {
    const r = run("h = relu(W1 @ x + b1)\nyhat = W2 @ h + b2\nL = 0.5 * sum((yhat - y)^2)", ...MLP_AT);
    assert.deepEqual(texts(r).slice(0, 4), ["δ2 = yhat − y", "δ1 = 1[W1 x + b1 > 0] ⊙ (W2ᵀ δ2)", "∂L/∂W1 = δ1 xᵀ", "∂L/∂x = W1ᵀ δ1"]);
    assert.ok(texts(r).includes("∂L/∂W2 = δ2 hᵀ"), texts(r).join("\n"));
  });

  it("a closed form too large to read is left out, quickly (fan-out grows it exponentially)", () => {
    let src = "a0 = x * x\n";
    for (let i = 1; i < 60; i++) src += `a${i} = a${i - 1} * a${i - 1} + x\n`;
    const t0 = Date.now();
    const r = run(`${src}sum(a59)`, "x=[0.1,0.2]");
    assert.equal(r.matrixDerivatives, undefined);
    assert.equal(r.stages.filter((s) => s.rule).length, 120);
    assert.ok(Date.now() - t0 < 5000);
  });

  it("mean writes its count as a fraction", () => {
    assert.deepEqual(texts(run("mean((A @ B) * C)", "A=[[1,2],[3,4]]", "B=[[1,0,2],[0,1,1]]", "C=[[1,2,3],[4,5,6]]")), [
      "∂out/∂A = (1/6) C Bᵀ",
      "∂out/∂B = (1/6) Aᵀ C",
      "∂out/∂C = (1/6) A B",
    ]);
  });
});

/** A deterministic generator, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomArray(shape: readonly number[], r: () => number): string {
  if (shape.length === 0) return (r() * 4 - 2).toFixed(3);
  return `[${Array.from({ length: shape[0] }, () => randomArray(shape.slice(1), r)).join(",")}]`;
}

/** Programs with their inputs' shapes in terms of the sizes m, n, k. */
const PROGRAMS: { src: string; shapes: (m: number, n: number, k: number) => Record<string, number[]> }[] = [
  { src: "sum((W @ x)^2)", shapes: (m, n) => ({ W: [m, n], x: [n] }) },
  { src: "sum(W @ x)", shapes: (m, n) => ({ W: [m, n], x: [n] }) },
  { src: "sum(x @ W)", shapes: (m, n) => ({ x: [m], W: [m, n] }) },
  { src: "sum((A @ B) * C)", shapes: (m, n, k) => ({ A: [m, n], B: [n, k], C: [m, k] }) },
  { src: MLP, shapes: (m, n, k) => ({ W2: [k, m], W1: [m, n], x: [n], b1: [m], b2: [k], y: [k] }) },
  { src: "mean(tanh(a + b) * sigmoid(a)) + sum(exp(transpose(a))) - sum(a^3)", shapes: (m, n) => ({ a: [m, n], b: [n] }) },
  { src: "sum(ln(x^2 + 1) * sin(x) + cos(W @ x) @ y) + mean(sqrt(abs(W) + 1))", shapes: (m, n) => ({ x: [n], W: [m, n], y: [m] }) },
  { src: "sum(relu(X @ W + b)^2) + sum(-c * X)", shapes: (m, n, k) => ({ X: [m, n], W: [n, k], b: [k], c: [] }) },
  // Division and powers, broadcasting rows against columns; bases kept positive, divisors away from 0.
  { src: "sum(X / (y^2 + 1) - y / (2 + X^2)) + mean(X / 4 + 3 / (X^2 + 1))", shapes: (m, n) => ({ X: [m, n], y: [n] }) },
  { src: "sum(X / (r^2 + 1) + c^2 / (X^2 + 1)) + sum((c^2 + 1) ^ r)", shapes: (m, n) => ({ X: [m, n], r: [1, n], c: [m, 1] }) },
  { src: "sum(exp(X) ^ y + (y^2 + 1) ^ X + 2 ^ X) + sum((s^2 + 1) ^ y / (s^2 + 2))", shapes: (m, n) => ({ X: [m, n], y: [m, 1], s: [] }) },
  { src: "sum(tanh(A @ B) * C) + sum((P @ Q)^2)", shapes: (m, n, k) => ({ A: [2, m, n], B: [n, k], C: [m, k], P: [2, 1, m, n], Q: [3, n, k] }) },
  {
    src: "mean(tan(X / 2) * sign(X) + step(X) + 1 / (X^2 + 1)) + sum(transpose(v) * v) + sum((A @ B) / (C^2 + 1))",
    shapes: (m, n, k) => ({ X: [m, n], v: [k], A: [m, n], B: [n, k], C: [m, k] }),
  },
];

describe("every rule and closed form evaluates to the engine's gradients", () => {
  const r = rng(15);
  for (const p of PROGRAMS) {
    it(p.src, () => {
      for (let trial = 0; trial < 4; trial++) {
        // m >= 2: with every size 1 the program is a scalar one, explained without matrices.
        const [m, n, k] = [2 + Math.floor(r() * 3), 1 + Math.floor(r() * 4), 1 + Math.floor(r() * 4)];
        const at = Object.entries(p.shapes(m, n, k)).map(([name, shape]) => `${name}=${randomArray(shape, r)}`);
        checkRules(p.src, at);
        checkClosedForms(p.src, at);
      }
    });
  }
});

function close(got: bp.Tensor, want: bp.Tensor, what: string): void {
  assert.equal(got.size, want.size, `${what}: shape ${got.shape} vs ${want.shape}`);
  const g = Array.from(got.data, Number);
  Array.from(want.data, Number).forEach((w, i) => assert.ok(Math.abs(g[i] - w) <= 1e-9 * (1 + Math.abs(w)), `${what}: ${g} vs ${Array.from(want.data)}`));
}

/** Each stage's rule with the engine's upstream gradient against that stage's edge contributions. */
function checkRules(src: string, at: string[]): void {
  const x = explainAll(src, parseAssignments(at));
  for (const s of x.staged.stages) {
    const rules = stageRuleExprs(s, x.values);
    assert.ok(rules, `${src}: no rule for ${s.name} (${s.op})`);
    const g = x.grads.get(s.name);
    if (!g) continue;
    const env = new Map(x.values);
    env.set(upKey(s.name), g);
    for (const [name, e] of rules) {
      const edges = x.report.edges.filter((ed) => ed.to === s.name && ed.from === name);
      assert.equal(edges.length, refArgs(s).filter((r) => r === name).length);
      const want = edges.map((ed) => bp.tensor(ed.contribution as bp.Nested, { dtype: "float64" })).reduce((a, b) => bp.add(a, b));
      close(evalM(e, env), want, `${src} at ${at.join(" ")}: rule ${s.name}/${name}`);
    }
  }
}

function checkClosedForms(src: string, at: string[]): void {
  const x = explainAll(src, parseAssignments(at));
  const forms = closedFormExprs(x.staged, x.values);
  assert.ok(forms, `${src}: no closed form`);
  const env = new Map(x.values);
  evalDeltas(forms, env);
  assert.deepEqual(forms.grads.map((g) => g.name).sort(), [...x.staged.inputs].sort());
  for (const g of forms.grads) close(evalM(g.expr, env), x.grads.get(g.name)!, `${src} at ${at.join(" ")}: ∂/∂${g.name}`);
  assert.ok(x.report.matrixDerivatives, "the report carries the closed forms");
}
