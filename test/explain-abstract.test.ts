/**
 * Several-argument calls: max(a, b) and min(a, b) (parsing, arity errors, indicator rules, branches,
 * ties, central differences, generated Python and TypeScript), and abstract functions declared with
 * `fn` (errors with carets, the derivative notation g'(x) and ∂₁f(...), every output format).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as bp from "../src/explain/core.js";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { generateCode } from "../src/explain/interpreters/codegen.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { ExplainSyntaxError, parseProgram } from "../src/explain/language/parser.js";
import { printExpr } from "../src/explain/language/print.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { cli } from "./cli-helper.js";
import { PYTHON, PYTHON_HAS_NUMPY } from "./python.js";

function syntaxError(f: () => unknown): ExplainSyntaxError {
  try {
    f();
  } catch (e) {
    if (e instanceof ExplainSyntaxError) return e;
    throw e;
  }
  assert.fail("expected a syntax error");
}

const at = (s: string) => parseAssignments([s]);
const symbolic = (src: string): ExplainReport => explain(src, new Map());

describe("several-argument calls: parsing and arity", () => {
  it("max and min parse to one apply node each and print in every language", () => {
    const e = parseProgram("max(x, y + 1)").statements[0].expr;
    assert.equal(e.kind, "apply");
    assert.equal(printExpr(e, "text"), "max(x, y + 1)");
    assert.equal(printExpr(e, "latex"), "\\max\\left(x, y + 1\\right)");
    assert.equal(printExpr(e, "python"), "np.maximum(x, y + 1)");
    assert.equal(printExpr(e, "ts"), "Math.max(x, y + 1)");
    assert.equal(printExpr(parseProgram("min(x, 2)").statements[0].expr, "python"), "np.minimum(x, 2)");
  });

  const cases: [string, string, number][] = [
    ["sin(x, y)", "sin takes 1 argument, found 2", 0],
    ["1 + max(x)", "max takes 2 arguments, found 1", 4],
    ["min(x, y, z)", "min takes 2 arguments, found 3", 0],
    ["fn g; g(x) + g(x, y)", "g takes 1 argument (as first used at column 7), found 2", 13],
    ["fn sin; sin(x)", "cannot declare 'sin' with fn: it is a built-in function", 3],
    ["fn max; x", "cannot declare 'max' with fn: it is a built-in function", 3],
    ["fn g, g; g(x)", "'g' is declared twice", 6],
    ["fn g; g + 1", "'g' is an abstract function (declared with fn): call it, as in g(x)", 6],
    ["fn g; g = x", "cannot define 'g': it is an abstract function (declared with fn)", 6],
    ["x = 1; fn x; x", "cannot declare 'x' with fn: it is already a variable", 10],
    ["max = 2", "cannot define 'max': it is a function", 0],
  ];
  for (const [src, message, position] of cases) {
    it(`${src}: ${message}`, () => {
      const e = syntaxError(() => parseProgram(src));
      assert.equal(e.message, message);
      assert.equal(e.position, position);
    });
  }

  it("the caret sits under the function's name", () => {
    assert.equal(
      syntaxError(() => parseProgram("x + sin(x, y)")).format(),
      "syntax error at column 5: sin takes 1 argument, found 2\n  x + sin(x, y)\n      ^",
    );
  });

  it("an undeclared misspelled call keeps its suggestion and mentions fn", () => {
    const e = syntaxError(() => parseProgram("sigmod(x)"));
    assert.equal(e.message, "unknown function 'sigmod' (did you mean sigmoid?); to use an abstract function, declare it first: fn sigmod");
    assert.equal(
      syntaxError(() => parseProgram("mx(x, y)")).message,
      "unknown function 'mx' (did you mean max? for a product write mx*(...)); to use an abstract function, declare it first: fn mx",
    );
  });

  it("declarations record each function's arity; `fn` is also a statement on its own line", () => {
    const p = parseProgram("fn f, g1, g2, g3\nf(g1(w), g2(w), g3(w))");
    assert.deepEqual(
      [...(p.functions ?? [])],
      [
        ["f", 3],
        ["g1", 1],
        ["g2", 1],
        ["g3", 1],
      ],
    );
    assert.equal(p.statements.length, 1);
    assert.equal(parseProgram("x + 1").functions, undefined);
  });
});

describe("max and min: values, rules, branches", () => {
  it("stages each as one op with indicator rules and the branch taken", () => {
    const r = explain("max(x, y) * x", at("x=2,y=1"));
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = max(x, y)", "b = a * x"],
    );
    assert.equal(r.value, 4);
    assert.deepEqual(r.stages[0].local, { x: "1[x > y]", y: "1[x <= y]" });
    assert.deepEqual(r.stages[0].localLatex, { x: "\\mathbb{1}[x > y]", y: "\\mathbb{1}[x \\leq y]" });
    const edge = (to: string, from: string) => r.edges.find((e) => e.to === to && e.from === from)!;
    assert.equal(edge("a", "x").branch, "x = 2 > y = 1");
    assert.equal(edge("a", "x").localValue, 1);
    assert.equal(edge("a", "y").localValue, 0);
    assert.deepEqual(r.gradients, { x: 4, y: 0 });
    assert.deepEqual(r.derivatives, { x: "x * 1[x > y] + max(x, y)", y: "x * 1[x <= y]" });
  });

  it("min picks the smaller operand: its rule is 1[b > a], and a constant operand is named as written", () => {
    const r = explain("min(x, 3)", at("x=1"));
    assert.equal(r.value, 1);
    assert.deepEqual(r.stages[0].local, { x: "1[3 > x]" });
    assert.equal(r.edges[0].branch, "x = 1 < 3");
    assert.deepEqual(r.gradients, { x: 1 });
    assert.deepEqual(explain("min(x, 3)", at("x=5")).gradients, { x: 0 });
  });

  it("a tie splits the gradient evenly, as the core (PyTorch, JAX) does, with a branch note and a kink warning", () => {
    const r = explain("max(x, y)", at("x=1,y=1"));
    assert.deepEqual(r.gradients, { x: 0.5, y: 0.5 });
    assert.deepEqual(
      r.edges.map((e) => e.localValue),
      [0.5, 0.5],
    );
    assert.equal(r.edges[0].branch, "x = y = 1, a tie: split 1/2 each");
    assert.ok(r.warnings.some((w) => w.startsWith("kink: stage a = max(x, y): max is not differentiable where its operands are equal")));
  });

  it("agrees with central differences for scalars and broadcast arrays", () => {
    for (const [src, point] of [
      ["max(x, y) * x + min(y, 2) * y", "x=1.3,y=-0.7"],
      ["min(x^2, sin(y)) + max(x y, 1)", "x=0.4,y=2.1"],
      ["sum(max(x, y) * x)", "x=[1,-2,3],y=0.5"],
      ["mean(min(W, v) ^ 2)", "W=[[1,2],[3,-4]],v=[2.5,-1]"],
    ]) {
      const r = explain(src, at(point), { check: true });
      assert.ok(
        r.check!.every((c) => c.ok),
        `${src}: ${JSON.stringify(r.check)}`,
      );
    }
  });

  it("values at constants: max(2, 3) is a constant stage", () => {
    assert.equal(explain("max(2, 3) * x", at("x=2")).value, 6);
  });
});

const hasNumpy = PYTHON_HAS_NUMPY;
const dir = join(process.cwd(), "test-artifacts", "explain-abstract");
mkdirSync(dir, { recursive: true });

describe("max and min in generated code", () => {
  const src = "max(x, y) * x + min(y, 2) * y";
  const points: [number, number][] = [
    [2, 1],
    [-1, 0.5],
    [0.3, 3],
    [-2, -3],
  ];
  const want = points.map(([x, y]) => {
    const r = explain(src, at(`x=${x},y=${y}`));
    return [r.value as number, r.gradients.x as number, r.gradients.y as number];
  });

  it("Python (np.maximum) gives the engine's values and gradients away from ties", { skip: hasNumpy ? false : "python3 with numpy is not installed" }, () => {
    const ex = explainAll(src, at("x=2,y=1"));
    const code = generateCode(ex, ex.report.inputs, "python");
    assert.match(code, /np\.maximum\(x, y\)/);
    const harness = `${code}\nimport json\nprint(json.dumps([list(map(float, forward_backward(float(x), float(y)))) for x, y in ${JSON.stringify(points)}]))`;
    const r = spawnSync(PYTHON, ["-c", harness], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as number[][];
    got.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(v - want[i][k]) < 1e-12, `${points[i]}: ${row} vs ${want[i]}`)));
  });

  it("TypeScript on numbers (Math.max) and on tensors (bp.maximum) give the same", async () => {
    const scalar = explainAll(src, at("x=2,y=1"));
    const code = generateCode(scalar, scalar.report.inputs, "ts");
    assert.match(code, /Math\.max\(x, y\)/);
    const file = join(dir, "maxmin.ts");
    writeFileSync(file, code);
    const f = ((await import(pathToFileURL(file).href)) as { forwardBackward: (x: number, y: number) => number[] }).forwardBackward;
    points.forEach(([x, y], i) => f(x, y).forEach((v, k) => assert.ok(Math.abs(v - want[i][k]) < 1e-12, `${points[i]}: ${f(x, y)} vs ${want[i]}`)));
    const arrays = explainAll(`sum(${src})`, at("x=[2,-1,0.3],y=[1,0.5,3]"));
    const tcode = generateCode(arrays, arrays.report.inputs, "ts");
    assert.match(tcode, /bp\.maximum\(x, y\)/);
    const tfile = join(dir, "maxmin-tensors.ts");
    writeFileSync(tfile, tcode.replace('from "backprop"', 'from "../../src/index.js"'));
    const g = ((await import(pathToFileURL(tfile).href)) as { forwardBackward: (x: bp.Tensor, y: bp.Tensor) => bp.Tensor[] }).forwardBackward;
    const [x, y] = [bp.tensor([2, -1, 0.3], { dtype: "float64" }), bp.tensor([1, 0.5, 3], { dtype: "float64" })];
    const [, gx, gy] = g(x, y);
    assert.deepEqual(gx.toArray(), arrays.report.gradients.x);
    assert.deepEqual(gy.toArray(), arrays.report.gradients.y);
  });
});

describe("abstract functions", () => {
  it("g(x) h(x): stages, local derivatives g'(x), the chain rule and the product rule, with no values", () => {
    const r = symbolic("fn g, h; g(x) h(x)");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = g(x)", "b = h(x)", "c = a * b"],
    );
    assert.deepEqual(r.stages[0].local, { x: "g'(x)" });
    assert.deepEqual(r.stages[0].localLatex, { x: "g'\\left(x\\right)" });
    assert.deepEqual(r.derivatives, { x: "g'(x) * h(x) + g(x) * h'(x)" });
    assert.deepEqual(r.derivativesLatex, { x: "g'\\left(x\\right) \\cdot h\\left(x\\right) + g\\left(x\\right) \\cdot h'\\left(x\\right)" });
    assert.equal(r.inputChains?.x.text, "∂c/∂x = ∂c/∂a · ∂a/∂x + ∂c/∂b · ∂b/∂x");
    assert.deepEqual(r.abstract?.functions, ["g", "h"]);
    assert.match(r.abstract!.note, /^g and h are abstract functions \(declared with fn\): there are no values/);
    assert.ok(Number.isNaN(r.value as number));
    assert.deepEqual(r.gradients, {});
    assert.ok(r.edges.every((e) => e.localValue === null && e.contribution === null));
  });

  it("g(h(x)) gives g'(h(x)) h'(x)", () => {
    assert.deepEqual(symbolic("fn g, h; g(h(x))").derivatives, { x: "g'(h(x)) * h'(x)" });
  });

  it("f(g1(w), g2(w), g3(w)) gives the sum of ∂ᵢf(...) gᵢ'(w), with \\partial_i f in LaTeX", () => {
    const r = symbolic("fn f, g1, g2, g3\nf(g1(w), g2(w), g3(w))");
    const args = "(g1(w), g2(w), g3(w))";
    assert.deepEqual(r.derivatives, { w: `∂₁f${args} * g1'(w) + ∂₂f${args} * g2'(w) + ∂₃f${args} * g3'(w)` });
    assert.match(r.derivativesLatex!.w, /^\\partial_\{1\} f\\left\(g_\{1\}\\left\(w\\right\), /);
    assert.match(r.derivativesLatex!.w, /g_\{3\}'\\left\(w\\right\)$/);
    assert.deepEqual(r.stages[3].local, { a: `∂₁f(a, b, c)`, b: `∂₂f(a, b, c)`, c: `∂₃f(a, b, c)` });
  });

  it("mixes with built-in functions, constants and max", () => {
    const r = symbolic("fn g; sin(g(x)) + 2 g(y)");
    assert.deepEqual(r.derivatives, { x: "cos(g(x)) * g'(x)", y: "2g'(y)" });
    assert.deepEqual(symbolic("fn g; max(g(x), x)").derivatives, { x: "1[g(x) > x] * g'(x) + 1 - 1[g(x) > x]" });
  });

  it("a call of constants is still a stage, never evaluated", () => {
    const r = symbolic("fn g; g(2) * x");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = g(2)", "b = a * x"],
    );
    assert.deepEqual(r.derivatives, { x: "g(2)" });
  });

  it("an output that does not use an input has derivative 0", () => {
    assert.deepEqual(symbolic("fn g; y = g(x); z = y + w; y").derivatives, { x: "g'(x)", w: "0" });
  });

  it("table, markdown, latex and json print the symbolic report and its note", () => {
    const ex = explainAll("fn g, h; g(x) h(x)", new Map());
    const table = formatTable(ex.report);
    assert.match(table, /a = g\(x\)\s+g\(x\)/);
    assert.match(table, /∂a\/∂x = g'\(x\)/);
    assert.match(table, /dc\/dx = g'\(x\) \* h\(x\) \+ g\(x\) \* h'\(x\)/);
    assert.match(table, /Note: g and h are abstract functions/);
    assert.match(formatMarkdown(ex.report), /\$\\frac\{\\partial a\}\{\\partial x\} = g'\\left\(x\\right\)\$/);
    const latex = formatLatex(ex.report);
    assert.match(latex, /a &= g\\left\(x\\right\) && g\\left\(x\\right\)/);
    const json = JSON.parse(reportJson(ex.report)) as { abstract: { functions: string[] }; derivatives: Record<string, string>; value: string };
    assert.deepEqual(json.abstract.functions, ["g", "h"]);
    assert.equal(json.value, "NaN");
    assert.equal(json.derivatives.x, "g'(x) * h(x) + g(x) * h'(x)");
  });

  it("the CLI explains without --at, and code, figures and --check give one-line errors", async () => {
    const ok = await cli("explain", "fn g, h; g(x) h(x)");
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /dc\/dx = g'\(x\) \* h\(x\) \+ g\(x\) \* h'\(x\)/);
    for (const [args, what] of [
      [["--format", "python"], "code"],
      [["--format", "ts"], "code"],
      [["--format", "svg"], "a figure"],
      [["--format", "dot"], "a figure"],
      [["--check"], "the gradient check"],
      [["--step", "0.1"], "a gradient-descent step"],
    ] as const) {
      const r = await cli("explain", "fn g, h; g(x) h(x)", ...args);
      assert.equal(r.code, 1);
      const formats = what === "code" || what === "a figure" ? "; only the symbolic formats (table, markdown, latex, json) work without one" : "";
      assert.equal(r.err, `error: g is an abstract function (declared with fn): ${what} needs a definition (and so does h)${formats}`);
    }
    const json = await cli("explain", "fn g; g(x)", "--json");
    assert.equal(json.code, 0);
    assert.equal((JSON.parse(json.out) as { derivatives: Record<string, string> }).derivatives.x, "g'(x)");
  });

  it("the playground's explainAll (which always checks) gets a one-line error, not a crash", () => {
    assert.throws(() => explainAll("fn g; g(x)^2", new Map(), { check: true }), {
      name: "ExplainError",
      message: "g is an abstract function (declared with fn): the gradient check needs a definition",
    });
  });

  it("values given anyway are unused, and say so; a value for a defined name is still an error", () => {
    const r = explain("fn g; g(x)", new Map([["x", bp.scalar(1, "float64")]]));
    assert.deepEqual(r.warnings, ["unused values: x (a program with abstract functions has no values)"]);
    assert.throws(() => explain("fn g; y = g(x); y", new Map([["y", bp.scalar(1, "float64")]])), /'y' is defined in the program/);
  });

  it("stage names avoid the names of abstract functions", () => {
    const r = symbolic("fn a, b; a(x) + b(x)");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["c = a(x)", "d = b(x)", "f = c + d"],
    );
  });
});
