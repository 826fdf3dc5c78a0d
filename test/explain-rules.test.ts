/**
 * Issue 15: piecewise ops print their derivative rule (indicator and sign forms) with the branch taken,
 * gate labels read as written in every figure format, and an elementwise product of a matrix asks
 * whether `@` was meant.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explain } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { toDot, toMermaid, toSvg, toTikz } from "../src/explain/renderers/figures.js";
import { buildGraph } from "../src/explain/renderers/graph.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { printDerivative, printExpr } from "../src/explain/language/print.js";
import { simplify } from "../src/explain/interpreters/simplify.js";
import { bin, call, num, v } from "../src/explain/language/ast.js";
import { parseAssignments } from "../src/explain/language/values.js";

function run(src: string, ...at: string[]): ExplainReport {
  return explain(src, parseAssignments(at));
}

const edge = (r: ExplainReport, from: string, to: string) => r.edges.find((e) => e.from === from && e.to === to)!;

describe("piecewise ops: local derivatives are indicator and sign forms", () => {
  it("relu(z) reads 1[z > 0], with the branch taken at the point", () => {
    const r = run("relu(z)", "z=2.5");
    assert.deepEqual(r.stages[0].local, { z: "1[z > 0]" });
    const e = edge(r, "z", "a");
    assert.equal(e.local, "1[z > 0]");
    assert.equal(e.localValue, 1);
    assert.equal(e.branch, "z = 2.5 > 0");
    assert.equal(e.localLatex, "\\mathbb{1}[z > 0]");
  });

  it("relu below 0 takes the other branch", () => {
    const e = edge(run("relu(z)", "z=-1"), "z", "a");
    assert.equal(e.local, "1[z > 0]");
    assert.equal(e.localValue, 0);
    assert.equal(e.branch, "z = -1 <= 0");
  });

  it("abs(z) reads sign(z); step(z) reads 0, almost everywhere", () => {
    const a = edge(run("abs(z)", "z=-0.4"), "z", "a");
    assert.equal(a.local, "sign(z)");
    assert.equal(a.localValue, -1);
    assert.equal(a.branch, "z = -0.4 < 0");
    const s = edge(run("step(z)", "z=3"), "z", "a");
    assert.equal(s.local, "0");
    assert.match(s.branch ?? "", /0 almost everywhere/);
  });

  it("full derivatives carry the indicator: d/dx relu(2x) = 2 * 1[2x > 0], d/dx abs(3x) = 3sign(3x)", () => {
    const r = run("relu(2x)", "x=1.5");
    assert.equal(r.derivatives!.x, "2 * 1[2x > 0]");
    assert.equal(r.derivativesLatex!.x, "2 \\cdot \\mathbb{1}[2x > 0]");
    assert.equal(run("abs(3x)", "x=-1").derivatives!.x, "3sign(3x)");
  });

  it("table, markdown, latex and json show the rule and the branch", () => {
    const r = run("relu(z)", "z=2.5");
    assert.match(formatTable(r), /da\/dz = 1\[z > 0\]\s+1 \(z = 2\.5 > 0\)/);
    assert.match(formatMarkdown(r), /\| `da\/dz = 1\[z > 0\]` \| 1 \(z = 2\.5 > 0\) \|/);
    assert.match(formatLatex(r), /\\frac\{\\partial a\}\{\\partial z\} &= \\mathbb\{1\}\[z > 0\] = 1 \\quad \(z = 2\.5 > 0\)/);
    const j = JSON.parse(reportJson(r)) as ExplainReport;
    assert.equal(j.edges[0].local, "1[z > 0]");
    assert.equal(j.edges[0].branch, "z = 2.5 > 0");
    assert.deepEqual(j.stages[0].localLatex, { z: "\\mathbb{1}[z > 0]" });
  });

  it("step(u) prints as the indicator 1[u > 0] in derivatives, as code in Python and TS, and simplifies (1[c] * 1[c] = 1[c], constants fold)", () => {
    const ind = call("step", v("z"));
    assert.equal(printDerivative(ind), "1[z > 0]");
    assert.equal(printDerivative(ind, "latex"), "\\mathbb{1}[z > 0]");
    // Equations stay in the input language, which parses back.
    assert.equal(printExpr(ind, "text"), "step(z)");
    assert.equal(printExpr(ind, "python"), "np.heaviside(z, 0.0)");
    assert.equal(printExpr(ind, "ts"), "(z > 0 ? 1 : 0)");
    assert.equal(printDerivative(simplify(bin("*", ind, ind))), "1[z > 0]");
    assert.equal(printDerivative(simplify(bin("*", num(3), bin("*", ind, num(1))))), "3 * 1[z > 0]");
    assert.equal(printDerivative(simplify(bin("-", num(1), bin("-", num(1), ind)))), "1[z > 0]");
    assert.deepEqual(simplify(call("step", num(2))), num(1));
    assert.deepEqual(simplify(call("step", num(-2))), num(0));
  });

  it("array relu stages read elementwise as 1[x > 0] too", () => {
    const r = run("sum(relu(x))", "x=[1,-2]");
    assert.equal(edge(r, "x", "a").local, "1[x > 0]");
  });
});

describe("gate labels", () => {
  it("the reciprocal gate reads 1/x in SVG, TikZ, DOT and Mermaid (it read 11/x)", () => {
    const r = run("1/x + 1", "x=2");
    const gate = buildGraph(r).nodes.find((n) => n.id === "a")!;
    assert.equal(gate.label, "1/x");
    assert.match(toSvg(r), />1\/x<\/text>/);
    assert.doesNotMatch(toSvg(r), /11\/x/);
    assert.doesNotMatch(toTikz(r), /11\/x/);
    assert.match(toTikz(r), /\{\$1\/x\$\}/);
    assert.match(toDot(r), /label="1\/x"/);
    assert.match(toMermaid(r), /a: 1\/x/);
  });

  it("neg, sub, pow and div with constants read as written; negative and compound constants keep their sign", () => {
    const labels = (src: string, at: string) =>
      buildGraph(run(src, at))
        .nodes.filter((n) => n.kind === "stage")
        .map((n) => n.label);
    assert.deepEqual(labels("-x + 2^x + x^3 + (2 - x) + x/4", "x=2"), ["−x", "2^", "+", "^3", "+", "2−", "+", "÷4", "+"]);
    assert.deepEqual(labels("x * (-2)", "x=2"), ["×−2"]);
    assert.deepEqual(labels("x * (2/3)", "x=2"), ["×2/3"]);
  });
});

describe("warnings: an elementwise product of a matrix", () => {
  it("W * x with W (3,2) and x (2,) asks for @", () => {
    const r = run("sum(W * x)", "W=[[1,2],[3,4],[5,6]]", "x=[1,2]");
    assert.ok(
      r.warnings.includes("product: stage a = W * x multiplies elementwise (shapes (3,2) and (2,)); for a matrix product write W @ x"),
      r.warnings.join("\n"),
    );
  });

  it("W x (implicit) with two matrices warns too", () => {
    const r = run("sum(A B)", "A=[[1,2],[3,4]]", "B=[[1,0],[0,1]]");
    assert.ok(
      r.warnings.some((w) => w.startsWith("product: stage a = A * B multiplies elementwise (shapes (2,2) and (2,2)); for a matrix product write A @ B")),
      r.warnings.join("\n"),
    );
  });

  it("no warning for vectors, scalars times matrices, @, or a vector whose length does not match", () => {
    const quiet = (src: string, ...at: string[]) =>
      assert.deepEqual(
        run(src, ...at).warnings.filter((w) => w.startsWith("product:")),
        [],
        src,
      );
    quiet("sum(x * y)", "x=[1,2]", "y=[3,4]");
    quiet("sum(2 * W)", "W=[[1,2],[3,4]]");
    quiet("sum(s * W)", "s=3", "W=[[1,2],[3,4]]");
    quiet("sum(W @ x)", "W=[[1,2],[3,4],[5,6]]", "x=[1,2]");
    quiet("sum(x * W)", "W=[[1,2],[3,4],[5,6]]", "x=[1,2]");
  });
});
