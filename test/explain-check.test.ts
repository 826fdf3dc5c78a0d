/**
 * `explain --check` reports the cost of the check beside backprop's, in operations: central differences
 * evaluate the whole program twice per input element, backprop runs one forward and one backward pass.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explain } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { checkCostText, formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { parseAssignments } from "../src/explain/language/values.js";

function checked(src: string, ...at: string[]): ExplainReport {
  return explain(src, parseAssignments(at), { check: true });
}

const SCALAR_LINE = "central differences 2 × 3 inputs × 2 ops = 12 ops; backprop 2 + 4 = 6 ops (2× fewer)";

describe("explain --check: cost", () => {
  it("(x + y) z: 3 inputs, 2 forward ops (a = x + y, b = a * z), 4 contributions backward", () => {
    const r = checked("(x + y) z", "x=1", "y=2", "z=3");
    assert.deepEqual(r.checkCost, { inputs: 3, forwardOps: 2, backwardOps: 4, centralDifferenceOps: 12, ratio: 2 });
    assert.equal(checkCostText(r), SCALAR_LINE);
  });

  it("an array program counts input elements and one op per number each stage produces", () => {
    // w and x have 6 elements each: 12 inputs. Forward: a = w * x (6) and b = sum(a) (1).
    // Backward: b -> a (6), a -> w (6), a -> x (6).
    const r = checked("sum(w * x)", "w=[1,2,3,4,5,6]", "x=[6,5,4,3,2,1]");
    assert.deepEqual(r.checkCost, { inputs: 12, forwardOps: 7, backwardOps: 18, centralDifferenceOps: 168, ratio: 168 / 25 });
    assert.equal(checkCostText(r), "central differences 2 × 12 inputs × 7 ops = 168 ops; backprop 7 + 18 = 25 ops (6.72× fewer)");
  });

  it("a matrix product: W (3×2) and x (2,) are 8 input elements; each product element is K = 2 multiply-adds", () => {
    // Forward: a = W @ x (3 elements × 2), b = sum(a) (1). Backward: b -> a (3); a -> W = (∂L/∂a) xᵀ and
    // a -> x = Wᵀ (∂L/∂a), 3 × 2 multiply-adds each.
    const r = checked("sum(W @ x)", "W=[[1,2],[3,4],[5,6]]", "x=[1,2]");
    assert.deepEqual(r.checkCost, { inputs: 8, forwardOps: 7, backwardOps: 15, centralDifferenceOps: 112, ratio: 112 / 22 });
    // A batch of 4 products (4×3×2 @ 2): 4 · 3 outputs × 2.
    const b = checked("sum(W @ x)", "W=[[[1,2],[3,4],[5,6]],[[1,2],[3,4],[5,6]],[[1,2],[3,4],[5,6]],[[1,2],[3,4],[5,6]]]", "x=[1,2]");
    assert.equal(b.checkCost?.forwardOps, 4 * 3 * 2 + 1);
  });

  it("fan-out: each contribution after the first to a name adds a summation", () => {
    // a = x * x, b = sin(x), c = a + b: forward 3. Backward: c -> a, c -> b, b -> x, a -> x twice (5),
    // plus 2 additions summing x's three contributions. One input, so backprop costs more here.
    const r = checked("x * x + sin(x)", "x=1");
    assert.deepEqual(r.checkCost, { inputs: 1, forwardOps: 3, backwardOps: 7, centralDifferenceOps: 6, ratio: 0.6 });
    assert.equal(checkCostText(r), "central differences 2 × 1 input × 3 ops = 6 ops; backprop 3 + 7 = 10 ops (1.667× more)");
  });

  it("counts an input given a value but unused: the check still perturbs it", () => {
    const r = checked("x * y", "x=1", "y=2", "z=[1,2]");
    assert.equal(r.checkCost?.inputs, 4);
    assert.equal(r.checkCost?.centralDifferenceOps, 2 * 4 * 1);
  });

  it("is absent without --check", () => {
    const r = explain("(x + y) z", parseAssignments(["x=1", "y=2", "z=3"]));
    assert.equal(r.checkCost, undefined);
    assert.equal(checkCostText(r), null);
    assert.doesNotMatch(formatTable(r), /cost:/);
    assert.doesNotMatch(formatMarkdown(r), /Cost of the gradient check/);
  });

  it("prints the line in the table, under the gradient check", () => {
    const t = formatTable(checked("(x + y) z", "x=1", "y=2", "z=3"));
    assert.match(
      t,
      /Gradient check[\s\S]*\n {2}z +3 +3 +\S+ +ok\n {2}cost: central differences 2 × 3 inputs × 2 ops = 12 ops; backprop 2 \+ 4 = 6 ops \(2× fewer\)/,
    );
  });

  it("prints the line in Markdown and LaTeX", () => {
    const r = checked("(x + y) z", "x=1", "y=2", "z=3");
    assert.ok(formatMarkdown(r).includes(`\nCost of the gradient check: ${SCALAR_LINE}.\n`));
    assert.ok(formatLatex(r).includes(`\n% Cost of the gradient check: ${SCALAR_LINE}\n`));
  });

  it("writes the numbers in JSON", () => {
    const j = JSON.parse(reportJson(checked("(x + y) z", "x=1", "y=2", "z=3"))) as { checkCost: unknown };
    assert.deepEqual(j.checkCost, { inputs: 3, forwardOps: 2, backwardOps: 4, centralDifferenceOps: 12, ratio: 2 });
  });
});
