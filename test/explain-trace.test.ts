/**
 * One trace (issue 15): explain stages and runs the program once, forward and backward, and every part
 * of the report is read from that recording. Past the size bound the derivatives are given per stage,
 * through the definitions, and the whole explanation stays linear in the program, whatever its fan-out.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DERIVATIVE_SIZE_LIMIT, type ExplainReport, type Value } from "../src/explain/report/report.js";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { parseAssignments } from "../src/explain/language/values.js";
import * as bp from "../src/explain/core.js";
import { Rng } from "../src/core/random.js";

/** A seeded uniform generator (the core's own). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

/**
 * `n` definitions mixing + - * and sin cos tanh sigmoid exp over `inputs` inputs, each using two
 * recent names: every name fans out, so the full derivative's tree grows exponentially with n.
 */
function heavyFanOut(n: number, inputs: number, seed: number): { src: string; at: string } {
  const next = rng(seed);
  const names = ["x", "y", "z", "w", "u", "v"].slice(0, inputs);
  const fns = ["sin", "cos", "tanh", "sigmoid", "exp"];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const pick = () => names[Math.max(0, names.length - 1 - Math.floor(next() * 5))];
    const f = fns[Math.floor(next() * fns.length)];
    // exp only of a bounded value, so that the values stay finite at any length.
    const arg = f === "exp" ? `sin(${pick()})` : pick();
    lines.push(`s${i} = ${f}(${arg}) ${["+", "-", "*"][Math.floor(next() * 3)]} ${pick()}`);
    names.push(`s${i}`);
  }
  const at = names
    .slice(0, inputs)
    .map((nm, k) => `${nm}=${(0.3 + 0.1 * k).toFixed(2)}`)
    .join(",");
  return { src: lines.join("\n"), at };
}

/** A per-stage formula back in the input language: ∂out/∂a becomes the name g_a. */
function asProgram(text: string): string {
  return text
    .replace(/^[^=]*= /, "")
    .replace(/∂\w+\/∂(\w+)/g, "g_$1")
    .replace(/·/g, "*");
}

/** The value of every name and of every gradient (as g_name), for evaluating per-stage formulas. */
function pointOf(r: ExplainReport): Map<string, bp.Tensor> {
  const at = new Map<string, bp.Tensor>();
  const num = (x: Value) => bp.scalar(x as number, "float64");
  for (const n of r.inputs) at.set(n, num(r.inputValues[n]));
  for (const s of r.stages) {
    at.set(s.name, num(s.value));
    if (s.grad !== null) at.set(`g_${s.name}`, num(s.grad));
  }
  return at;
}

describe("past the size bound, derivatives are given per stage", () => {
  it("each per-stage formula, evaluated at the point, is that name's gradient", () => {
    const { src, at } = heavyFanOut(60, 3, 1);
    const r = explain(src, parseAssignments([at]));
    assert.ok(r.derivativesTooLarge && r.derivativesTooLarge.size > DERIVATIVE_SIZE_LIMIT);
    const per = r.derivativesPerStage ?? [];
    // One formula per name the backward pass reaches (all but the output), none for the others.
    const used = r.inputs.filter((n) => r.edges.some((e) => e.from === n && e.contribution !== null));
    const reached = [...r.stages.filter((s) => s.grad !== null && s.name !== r.output).map((s) => s.name), ...used].sort();
    assert.deepEqual(per.map((d) => d.name).sort(), reached);
    assert.ok(r.stages.filter((s) => s.grad !== null).length > 100);
    const point = pointOf(r);
    for (const d of per) {
      const want = (r.stages.find((s) => s.name === d.name)?.grad ?? r.gradients[d.name]) as number;
      const got = explain(asProgram(d.text), point).value as number;
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${d.text}: ${got} vs ${want}`);
      assert.match(d.latex, /^\\frac\{\\partial s_\{59\}\}\{\\partial /);
    }
    assert.match(formatTable(r), /given per stage instead[^\n]*\n {4}∂s59\/∂\w+ = /);
    assert.match(formatMarkdown(r), /Given per stage instead[^\n]*\n\n- \$\\frac/);
    assert.match(formatLatex(r), /% given per stage instead[^\n]*\n\\begin\{align\*\}\n\\frac/);
  });

  it("the per-stage form sums a name used twice by one stage: x^x gives ∂out/∂a · (x^x + x^x ln(x))", () => {
    const src = Array(40).fill("x").join("^");
    const r = explain(src, parseAssignments(["x=0.9"]));
    const dx = r.derivativesPerStage?.find((d) => d.name === "x")?.text ?? "";
    assert.match(dx, /^∂out\/∂x = ∂out\/∂a · \(x\^x \+ x\^x \* ln\(x\)\) \+ ∂out\/∂b · a \* x\^\(a - 1\)/);
    const point = pointOf(r);
    assert.ok(Math.abs((explain(asProgram(dx), point).value as number) - (r.gradients.x as number)) < 1e-9);
  });

  it("under the bound there are full derivatives and no per-stage form", () => {
    const r = explain("(ln(x) + sin(y))^2 + 4x", parseAssignments(["x=e,y=pi/2"]));
    assert.equal(r.derivativesPerStage, undefined);
    assert.equal(r.derivatives?.x, "2(ln(x) + sin(y)) / x + 4");
  });
});

describe("explain of programs up to 1,000+ stages with heavy fan-out is linear", () => {
  for (const [n, inputs, seed] of [
    [200, 3, 2],
    [400, 6, 3],
    [1000, 4, 4],
  ] as const) {
    it(`${n} definitions over ${inputs} inputs: work and output within a fixed multiple of the stages`, () => {
      const { src, at } = heavyFanOut(n, inputs, seed);
      const ex = explainAll(src, parseAssignments([at]));
      const r = ex.report;
      const stages = r.stages.length;
      assert.ok(stages >= 2 * n, `${stages} stages`);
      assert.ok(r.derivativesTooLarge && r.derivativesPerStage);
      // Symbolic work: reading each stage's recording, sizes, simplifying small local derivatives.
      assert.ok(ex.work <= 120 * stages, `work ${ex.work} for ${stages} stages`);
      // Output: the JSON report, every per-stage formula in it, grows with the program, not its tree.
      const json = reportJson(r).length;
      assert.ok(json <= 3000 * stages, `JSON of ${json} characters for ${stages} stages`);
      assert.ok(Number.isFinite(r.value as number));
    });
  }

  it("twice the program costs about twice the work", () => {
    const work = (n: number) => {
      const { src, at } = heavyFanOut(n, 4, 9);
      const ex = explainAll(src, parseAssignments([at]));
      return ex.work / ex.report.stages.length;
    };
    const small = work(250);
    const large = work(500);
    assert.ok(large <= 1.5 * small + 5, `work per stage ${small} at 250, ${large} at 500`);
  });
});

describe("one recording serves every part of the report", () => {
  it("each stage is recorded once; edges, local values and the check read that recording", () => {
    const ex = explainAll("x*y + (x+y)^2", parseAssignments(["x=1,y=2"]), { check: true });
    const r = ex.report;
    assert.equal(ex.trace.records.length, r.stages.length);
    // Every edge's contribution is the recorded VJP's value, and is upstream × local.
    for (const e of r.edges) {
      const rec = ex.trace.records.find((x) => x.stage.name === e.to)!;
      assert.deepEqual(e.contribution, rec.vjp[e.argIndex].toArray());
      assert.equal(e.contribution, (e.upstream as number) * (e.localValue as number));
    }
    assert.deepEqual(r.gradients, { x: 8, y: 7 });
    // The check compares central differences with the trace's own gradients.
    assert.deepEqual(
      r.check?.map((c) => c.analytic),
      [8, 7],
    );
    assert.ok(r.check?.every((c) => c.ok));
  });

  it("a stage no gradient reaches still shows its local derivative and its value", () => {
    const r = explain("u = sin(x); (x + y) z", parseAssignments(["x=1,y=3,z=2"]));
    const u = r.stages.find((s) => s.name === "u")!;
    assert.equal(u.grad, null);
    assert.equal(u.local.x, "cos(x)");
    assert.equal(u.localValue.x, Math.cos(1));
  });
});

describe("past the simplifier's budget the derivatives are shown unsimplified", () => {
  it("with a note in every format, and still exact", () => {
    const src = "(ln(x) + sin(y))^2 + 4x";
    const at = parseAssignments(["x=e,y=pi/2"]);
    const r = explain(src, at, { simplifyStepsPerNode: 0.01 });
    assert.equal(r.derivativesUnsimplified, true);
    assert.notEqual(r.derivatives?.x, explain(src, at).derivatives?.x);
    // Exact all the same: evaluated at the point it is the gradient.
    assert.ok(Math.abs((explain(r.derivatives!.x, at).value as number) - (r.gradients.x as number)) < 1e-12);
    assert.match(formatTable(r), /Symbolic derivatives\n {2}\(not simplified: /);
    assert.match(formatMarkdown(r), /_Not simplified: /);
    assert.match(formatLatex(r), /% not simplified: /);
    assert.equal(explain(src, at).derivativesUnsimplified, undefined);
  });
});
