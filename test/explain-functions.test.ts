/**
 * The input language's one-argument functions: each prints in all four languages, the ones that are
 * primitives print with the primitive table's own printers (read from the table, not a hand-kept list),
 * and erf, the newest primitive, works through the whole explainer (values, local and full derivatives,
 * LaTeX and Python, the matrix rule on arrays, the saturation warning, the rule a diagnosis names).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/explain/core.js";
import { call, FUNCTIONS, v } from "../src/explain/language/ast.js";
import { primitiveOf, printExpr } from "../src/explain/language/print.js";
import { explain } from "../src/explain/report/explain.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { ruleFor } from "../src/explain/teaching/rules.js";

const at = (...a: string[]) => parseAssignments(a);
const erfSlope = (x: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);

describe("the language's functions and the primitive table", () => {
  it("the functions printed by the table's printers are exactly the one-argument elementwise primitives (ln is log)", () => {
    const fromTable = FUNCTIONS.filter((f) => primitiveOf(f) !== undefined);
    assert.deepEqual(fromTable, ["ln", "log", "exp", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "erf", "abs", "sign"]);
    assert.equal(primitiveOf("ln"), "log");
    // sum and transpose are primitives' names too, but those take axes: the language's are composites.
    assert.equal(primitiveOf("sum"), undefined);
    assert.equal(primitiveOf("transpose"), undefined);
  });

  it("every function prints in text, LaTeX, Python and TypeScript (no missing printer)", () => {
    for (const f of FUNCTIONS) {
      for (const lang of ["text", "latex", "python", "ts"] as const) {
        const s = printExpr(call(f, v("x")), lang);
        assert.ok(s.includes("x") && !s.includes("undefined"), `${f} in ${lang}: ${s}`);
      }
    }
  });

  it("a primitive's LaTeX and Python are the table's", () => {
    assert.equal(printExpr(call("erf", v("x")), "latex"), bp.PRIMS.erf.print.latex(["x"], {}));
    assert.equal(printExpr(call("erf", v("x")), "latex"), "\\operatorname{erf}\\left(x\\right)");
    assert.equal(printExpr(call("erf", v("x")), "python"), "erf(x)");
    assert.equal(printExpr(call("ln", v("x")), "python"), "np.log(x)");
  });
});

describe("erf through the explainer", () => {
  it("erf(x) * y at x = 0.5, y = 2: the value, the local derivative 2/√π e^(-x²) and the gradients", () => {
    const r = explain("erf(x) * y", at("x=0.5,y=2"));
    const stage = r.stages.find((s) => s.op === "erf");
    assert.ok(stage, JSON.stringify(r.stages));
    assert.ok(Math.abs((r.value as number) - 2 * 0.5204998778130465) < 1e-14);
    assert.ok(Math.abs((r.gradients.x as number) - 2 * erfSlope(0.5)) < 1e-14);
    assert.ok(Math.abs((r.gradients.y as number) - 0.5204998778130465) < 1e-14);
    const edge = r.edges.find((e) => e.to === stage.name && e.from === "x");
    assert.ok(edge);
    assert.match(edge.local, /exp\(-x\^2\)/);
    assert.match(r.derivatives!.x, /exp\(-x\^2\)/);
    assert.equal(ruleFor(stage, edge), "d/dx erf(x) = (2/sqrt(pi)) e^(-x^2)");
  });

  it("the full derivative of erf(erf(x)) reads as the chain rule and evaluates to the gradient", () => {
    const r = explain("erf(erf(x))", at("x=0.3"));
    assert.ok(Math.abs((r.gradients.x as number) - erfSlope(bp.erf(bp.scalar(0.3, "float64")).item()) * erfSlope(0.3)) < 1e-14);
    assert.match(r.derivatives!.x, /erf\(x\)/);
  });

  it("on arrays: a matrix rule and a closed form that the explainer checked against the gradients", () => {
    const r = explain("sum(erf(x) * x)", at("x=[0.5,1,-2]"));
    const stage = r.stages.find((s) => s.op === "erf");
    assert.ok(stage?.rule?.x, JSON.stringify(stage));
    assert.match(stage.rule.x.text, /\(2\/√π\) exp\(−\(x\)²\) ⊙ ∂out\/∂a/);
    assert.ok(r.matrixDerivatives, "closed form");
  });

  it("warns when erf saturates (its slope at 5 is about 1.6e-11)", () => {
    const r = explain("erf(x) * 3", at("x=5"));
    assert.ok(
      r.warnings.some((w) => w.startsWith("saturation:") && w.includes("erf'")),
      r.warnings.join("\n"),
    );
  });
});
