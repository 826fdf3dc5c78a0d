/**
 * Issue 14, the explain language: malformed numbers, names that are Object.prototype members,
 * non-finite numbers in JSON and in symbolic derivatives, the backward pass's first NaN/Inf, the CLI's
 * error paths, and the cap on symbolic derivatives that grow exponentially.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explainCommand, writeErrorMessage, type ExplainCliOptions } from "../src/cli/explain.js";
import { ExplainSyntaxError, parseExpression, parseProgram } from "../src/explain/language/parser.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { DERIVATIVE_SIZE_LIMIT, fmtValue } from "../src/explain/report/report.js";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { bin, neg, num, v, type Expr } from "../src/explain/language/ast.js";
import { reportJson, toJson } from "../src/explain/renderers/json.js";
import { printExpr } from "../src/explain/language/print.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { toDot, toMermaid, toSvg, toTikz } from "../src/explain/renderers/figures.js";
import { buildGraph, wireText } from "../src/explain/renderers/graph.js";
import { generateCode } from "../src/explain/interpreters/codegen.js";

/** Asserts that `f` throws an ExplainSyntaxError at `position` whose message matches `msg`. */
function syntaxErrorAt(f: () => unknown, position: number, msg: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ExplainSyntaxError, `expected ExplainSyntaxError, got ${String(e)}`);
    assert.equal(e.position, position, `caret at ${e.position}, expected ${position}: ${e.format()}`);
    assert.match(e.message, msg);
    return true;
  });
}

describe("malformed numbers are syntax errors, not products", () => {
  const bad: [string, number][] = [
    ["1.5.5", 3],
    ["3.14.15", 4],
    ["1..5", 2],
    ["x + 2.5.1", 7],
    ["1e5.5", 3],
  ];
  for (const [src, pos] of bad) {
    it(`${JSON.stringify(src)}: caret under the second '.'`, () => syntaxErrorAt(() => parseProgram(src), pos, /malformed number/));
  }

  it("a number cannot directly follow another number (1 2 is not 2)", () => {
    syntaxErrorAt(() => parseProgram("1 2"), 2, /number/);
    syntaxErrorAt(() => parseProgram("x = 3 4; x"), 6, /number/);
  });

  it('--at x="1 2" is an error with the caret under the 2', () => {
    syntaxErrorAt(() => parseAssignments(["x=1 2"]), 4, /in the value of 'x'/);
    syntaxErrorAt(() => parseAssignments(["y=3,x=0.5 0.25"]), 6, /in the value of 'x'/);
  });

  it("numbers longer than 400 characters are read whole", () => {
    const zeros = "0".repeat(500);
    assert.equal(parseExpression(`0.${zeros}1`).kind, "num");
    const e = parseExpression(`1${"0".repeat(299)}`);
    assert.deepEqual(e, { kind: "num", value: 1e299, span: { start: 0, end: 300 } });
    syntaxErrorAt(() => parseProgram(`1${"0".repeat(450)}`), 0, /too large/);
    assert.equal(explain(`x + 0.${"0".repeat(450)}5`, parseAssignments(["x=1"])).value, 1);
  });

  it("names longer than 200 characters are one name", () => {
    const name = "w".repeat(300);
    assert.deepEqual(parseExpression(name), { kind: "var", name, span: { start: 0, end: 300 } });
    const r = explain(`${name} * 2`, parseAssignments([`${name}=3`]));
    assert.equal(r.value, 6);
    assert.deepEqual(r.inputs, [name]);
  });

  it("implicit multiplication still works: 4x, 2 sin(x), 2pi, x y, 1.5x, 2e", () => {
    const at = parseAssignments(["x=3,y=2"]);
    assert.equal(explain("4x", at).value, 12);
    assert.equal(explain("2 sin(x) + x y", at).value, 2 * Math.sin(3) + 6);
    assert.equal(explain("1.5x + .5x", at).value, 6);
    assert.equal(explain("2e * x", at).value, 2 * Math.E * 3);
    assert.equal(parseAssignments(["v=2pi"]).get("v")?.item(), 2 * Math.PI);
    assert.equal(parseAssignments(["v=1.5e3"]).get("v")?.item(), 1500);
  });
});

describe("names that are Object.prototype members are ordinary names", () => {
  const NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"];

  it("constructor*2 + __proto__: value, gradients, derivatives and locals", () => {
    const r = explain("constructor*2 + __proto__", parseAssignments(["constructor=3,__proto__=1"]));
    assert.equal(r.value, 7);
    assert.deepEqual(r.inputs, ["constructor", "__proto__"]);
    assert.ok(Object.hasOwn(r.gradients, "__proto__"), "__proto__ is an own key of gradients");
    assert.deepEqual(Object.entries(r.gradients), [
      ["constructor", 2],
      ["__proto__", 1],
    ]);
    assert.deepEqual(Object.entries(r.inputValues), [
      ["constructor", 3],
      ["__proto__", 1],
    ]);
    assert.deepEqual(Object.entries(r.derivatives ?? {}), [
      ["constructor", "2"],
      ["__proto__", "1"],
    ]);
    assert.deepEqual(Object.entries(r.stages[1].local), [
      ["a", "1"],
      ["__proto__", "1"],
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(r)).gradients, JSON.parse('{"constructor": 2, "__proto__": 1}'));
  });

  for (const name of NAMES) {
    it(`${name} as an input and as a defined name: values, gradients, symbolic derivatives`, () => {
      const asInput = explain(`${name} * ${name} + sin(${name})`, parseAssignments([`${name}=3`]), { check: true });
      assert.equal(asInput.value, 9 + Math.sin(3));
      assert.deepEqual(Object.keys(asInput.gradients), [name]);
      assert.ok(Math.abs((asInput.gradients[name] as number) - (6 + Math.cos(3))) < 1e-12);
      // The symbolic derivative names the input and parses back to the same value.
      const d = asInput.derivatives?.[name] ?? "";
      assert.match(d, new RegExp(`^2 ?\\*? ?${name} \\+ cos\\(${name}\\)$`));
      assert.ok(Math.abs((explain(d, parseAssignments([`${name}=3`])).value as number) - (6 + Math.cos(3))) < 1e-12);
      assert.ok(asInput.check?.every((c) => c.ok));
      const defined = explain(`${name} = x * x\ny = ${name} * w + b`, parseAssignments(["x=3,w=2,b=5"]), { check: true });
      assert.equal(defined.value, 23);
      assert.deepEqual(defined.gradients, { x: 12, w: 9, b: 1 });
      assert.equal(defined.stages[0].name, name);
      assert.equal(defined.stages[0].grad, 2);
    });
  }

  it("a name given with --at that the program does not use, e.g. constructor, has gradient 0", () => {
    const r = explain("x * 2", parseAssignments(["x=1,constructor=4,hasOwnProperty=2"]));
    assert.deepEqual(Object.entries(r.gradients), [
      ["x", 2],
      ["constructor", 0],
      ["hasOwnProperty", 0],
    ]);
    assert.deepEqual(Object.entries(r.derivatives ?? {}), [
      ["x", "2"],
      ["constructor", "0"],
      ["hasOwnProperty", "0"],
    ]);
  });

  it("an input named __out (the figures' output id) is drawn as an input, left of its gates", () => {
    const r = explain("__out * 2 + sin(__out)", parseAssignments(["__out=1"]));
    const g = buildGraph(r);
    const input = g.nodes.find((n) => n.kind === "input");
    const output = g.nodes.find((n) => n.kind === "output");
    assert.equal(input?.id, "__out");
    assert.notEqual(output?.id, "__out");
    assert.ok(g.nodes.filter((n) => n.kind === "stage").every((n) => n.x > (input?.x ?? Infinity)));
    assert.ok(toMermaid(r).includes(`class n_${output?.id} output;`));
    assert.deepEqual(
      g.edges.map((e) => `${e.from}->${e.to}`),
      ["__out->a", "__out->b", "a->c", "b->c", `c->${output?.id}`],
    );
  });

  it("prototype names in formats, figures and generated code", () => {
    const at = parseAssignments(["constructor=3,__proto__=1"]);
    const ex = explainAll("hasOwnProperty = constructor * __proto__; sin(hasOwnProperty) + valueOf", new Map([...at, ["valueOf", at.get("__proto__")!]]));
    const r = ex.report;
    assert.equal(r.value, Math.sin(3) + 1);
    for (const text of [formatTable(r), formatMarkdown(r), formatLatex(r), toSvg(r), toDot(r), toMermaid(r), toTikz(r)]) {
      assert.ok(text.includes("constructor") && !text.includes("[object") && !text.includes("function"), text.slice(0, 400));
    }
    const ts = generateCode(ex, r.inputs, "ts");
    assert.match(ts, /forwardBackward\(constructor: number, __proto__: number, valueOf: number\)/);
    const wire = buildGraph(r).edges.find((e) => e.from === "hasOwnProperty");
    assert.equal(wire?.value, "3");
  });
});

/**
 * A program of `n` definitions over x, y, z where each stage uses the three before it (fan-out
 * everywhere), with bounded functions so that the values stay finite at any length.
 */
export function fanOutProgram(n: number): string {
  const names = ["x", "y", "z"];
  const fns = ["sin", "cos", "tanh", "sigmoid"];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const [c, b, a] = names.slice(-3);
    const f = fns[i % 4];
    const g = fns[(i + 1) % 4];
    const head = i % 4 === 3 ? `${f}(${a}) / (2 + ${g}(${b}))` : `${f}(${a}) ${["+", "-", "*"][i % 4]} ${g}(${b})`;
    lines.push(`s${i} = ${head} + ${c}/4`);
    names.push(`s${i}`);
  }
  return lines.join("\n");
}

describe("symbolic derivatives that blow up are capped, by size, not by time", () => {
  const at = parseAssignments(["x=0.9,y=0.5,z=0.7"]);

  it("150 stages with fan-out: stages, values and gradients, and the derivative's size instead of it", () => {
    const src = fanOutProgram(150);
    const ex = explainAll(src, at);
    const r = ex.report;
    assert.equal(r.stages.length, 787); // 5 or 6 operations per definition
    assert.equal(r.derivatives, undefined);
    assert.equal(r.derivativesTooLarge?.limit, DERIVATIVE_SIZE_LIMIT);
    assert.ok((r.derivativesTooLarge?.size ?? 0) > 1e50, `size ${r.derivativesTooLarge?.size}`);
    assert.ok(ex.work <= 200 * r.stages.length, `work ${ex.work} for ${r.stages.length} stages`);
    // The gradients are the engine's, so they agree with central differences.
    const checked = explain(src, at, { check: true }).check ?? [];
    assert.ok(checked.length === 3 && checked.every((c) => c.ok));
    assert.match(formatTable(r), /Symbolic derivatives\n {2}too large to show: about \d(\.\d+)?e\+\d+ nodes before simplification \(the limit is 5000\)/);
    assert.match(formatMarkdown(r), /Symbolic derivatives: too large to show/);
    assert.match(formatLatex(r), /% Symbolic derivatives: too large to show/);
  });

  it("a power tower x^x^...^x of 80 levels finishes within an op budget", () => {
    const src = Array(80).fill("x").join("^");
    const ex = explainAll(src, parseAssignments(["x=0.9"]));
    assert.equal(ex.report.stages.length, 79);
    assert.ok(ex.report.derivativesTooLarge !== undefined);
    assert.ok(ex.work <= 200 * 80, `work ${ex.work}`);
    assert.ok(Number.isFinite(ex.report.gradients.x as number));
  });

  it("small programs keep their derivatives, and the work grows polynomially with the program", () => {
    const src5 = "x^x^x^x^x";
    // Under the cap the work is the simplifier's, which is at most ~50 steps per node of the tree.
    for (const n of [2, 4, 6]) {
      const ex = explainAll(fanOutProgram(n), at);
      assert.ok(ex.report.derivatives, `derivatives of ${n} stages`);
      assert.equal(ex.report.derivativesTooLarge, undefined);
      assert.ok(ex.work <= 400 * DERIVATIVE_SIZE_LIMIT, `work ${ex.work}`);
    }
    const tower = explainAll(src5, parseAssignments(["x=0.9"]));
    const d = tower.report.derivatives?.x ?? "";
    const h = 1e-6;
    const num =
      ((explain(src5, parseAssignments([`x=${0.9 + h}`])).value as number) - (explain(src5, parseAssignments([`x=${0.9 - h}`])).value as number)) / (2 * h);
    assert.ok(Math.abs((explain(d, parseAssignments(["x=0.9"])).value as number) - num) < 1e-6);
  });
});

describe("non-finite numbers stay distinguishable", () => {
  it("JSON writes Infinity, -Infinity and NaN as strings (JSON.stringify made all three null)", () => {
    const r = explain("ln(x) + 0*y + sqrt(z) + w", parseAssignments(["x=0,y=1,z=-1,w=1"]));
    assert.equal(r.value, Number.NaN);
    const j = JSON.parse(reportJson(r));
    assert.equal(j.value, "NaN");
    assert.equal(j.stages[0].value, "-Infinity");
    assert.equal(j.gradients.x, "Infinity");
    assert.equal(j.gradients.z, "NaN");
    assert.equal(j.gradients.w, 1);
    assert.equal(toJson({ a: [Infinity, -Infinity, NaN, 1.5, null] }), '{"a":["Infinity","-Infinity","NaN",1.5,null]}');
  });

  it("arrays of values print inf and NaN in tables and on wires (they printed null)", () => {
    const at = parseAssignments(["v=[0,1,-1]"]);
    const r = explain("sum(ln(v))", at);
    assert.equal(fmtValue(r.stages[0].value), "[-inf,0,NaN]");
    assert.equal(wireText(r.stages[0].value), "[-inf, 0, NaN]");
    assert.match(formatTable(r), /a = ln\(v\)\s+\[-inf,0,NaN\] \(3,\)/);
  });

  it("symbolic derivatives with infinite or NaN constants print as 1/0 and 0/0 and parse back", () => {
    const cases: [string, number][] = [
      ["x * (1e308 * 10)", Infinity],
      ["x * (-1e308 * 10)", -Infinity],
      ["x * (1e308 * 10 - 1e308 * 10)", NaN],
    ];
    for (const [src, want] of cases) {
      const r = explain(src, parseAssignments(["x=2"]));
      const d = r.derivatives?.x;
      assert.ok(d !== undefined && !/Infinity|NaN/.test(d), `printed ${d}`);
      assert.equal(evalText(d), want, `${src}: ${d}`);
    }
    assert.equal(printExpr(num(Infinity), "text"), "1 / 0");
    assert.equal(printExpr(bin("*", num(-Infinity), v("x")), "text"), "-1 / 0 * x");
    assert.equal(printExpr(bin("^", v("x"), num(NaN)), "text"), "x^(0 / 0)");
    assert.equal(printExpr(num(-Infinity), "python"), "-np.inf");
    assert.equal(printExpr(num(NaN), "ts"), "NaN");
    assert.equal(printExpr(num(Infinity), "latex"), "\\infty");
    for (const x of [Infinity, -Infinity, NaN]) {
      for (const e of [num(x), bin("^", v("x"), num(x)), bin("-", v("x"), num(x)), neg(num(x))]) {
        assert.equal(evalText(printExpr(e, "text"), "x=2"), evalExpr(e, 2), printExpr(e, "text"));
      }
    }
  });
});

/** Value of an expression in the input language, via our own parser. */
function evalText(text: string, at = "x=2"): number {
  return explain(`0*x + (${text})`, parseAssignments([at])).value as number;
}

function evalExpr(e: Expr, x: number): number {
  switch (e.kind) {
    case "num":
      return e.value;
    case "var":
      return x;
    case "neg":
      return -evalExpr(e.arg, x);
    case "bin": {
      const [a, b] = [evalExpr(e.left, x), evalExpr(e.right, x)];
      return e.op === "^" ? Math.pow(a, b) : e.op === "-" ? a - b : e.op === "*" ? a * b : e.op === "+" ? a + b : a / b;
    }
    default:
      throw new Error(`no evaluator for ${e.kind}`);
  }
}

describe("the backward pass flags the first stage where NaN or Inf appears", () => {
  it("x^0.5 * 2 at 0: finite forward, infinite gradient first at a = x^0.5", () => {
    const r = explain("x^0.5 * 2", parseAssignments(["x=0"]));
    assert.equal(r.value, 0);
    assert.equal(r.gradients.x, Infinity);
    assert.deepEqual(r.backwardNonFinite, { stage: "a", input: "x", value: Infinity });
    const flagged = r.warnings.filter((w) => w.startsWith("non-finite gradient"));
    assert.deepEqual(flagged, [
      "non-finite gradient: stage a = x^0.5: the backward pass first gives inf here, for x (upstream 2, local derivative 1 / (2x^0.5) = inf)",
    ]);
    for (const text of [formatTable(r), formatMarkdown(r), formatLatex(r), reportJson(r)])
      assert.ok(text.includes("non-finite gradient: stage a = x^0.5"), text);
    assert.deepEqual(JSON.parse(reportJson(r)).backwardNonFinite, { stage: "a", input: "x", value: "Infinity" });
  });

  it("NaN from 0 * inf: flagged once, at the stage where it starts, not where it propagates", () => {
    const r = explain("y = 0 * sqrt(x); z = sin(y) + y; 3z", parseAssignments(["x=0"]));
    assert.equal(r.value, 0);
    assert.ok(Number.isNaN(r.gradients.x as number));
    assert.equal(r.backwardNonFinite?.stage, "a");
    assert.ok(Number.isNaN(r.backwardNonFinite?.value as number));
    assert.equal(r.warnings.filter((w) => w.startsWith("non-finite gradient")).length, 1);
  });

  it("no flag when the gradients are finite", () => {
    const r = explain("x^0.5 * 2", parseAssignments(["x=4"]));
    assert.equal(r.backwardNonFinite, undefined);
    assert.ok(!r.warnings.some((w) => w.startsWith("non-finite gradient")));
  });
});

/** Runs `backprop explain` in-process (explainCommand, without the argument parser). */
async function explainCli(program: string, opts: Partial<ExplainCliOptions>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await explainCommand(
    program,
    { at: [], ...opts },
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("explain CLI: every error is one line (or one JSON object), never a stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "explain-out-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const at = ["x=2"];

  const cases: [string, string, RegExp][] = [
    ["a directory", dir, new RegExp(`^error: --out: ${dir} is a directory; give a file name such as ${join(dir, "graph")}\\.(svg|json)$`)],
    ["a path under a file", join(dir, "file.txt", "graph.svg"), new RegExp(`^error: --out: ${join(dir, "file.txt")} is not a folder$`)],
    ["an empty name", "", /^error: --out needs a file name$/],
    ["a folder that takes no files", "/sys/graph.svg", /^error: --out: cannot write \/sys\/graph\.svg \(/],
  ];
  writeFileSync(join(dir, "file.txt"), "not a folder");
  for (const [what, path, msg] of cases) {
    it(`--out to ${what}: one line on stderr, exit 1; under --json one {"error"} object on stdout`, async () => {
      const t = await explainCli("x^2", { at, out: path, format: "svg" });
      assert.equal(t.code, 1);
      assert.equal(t.out, "");
      assert.match(t.err, msg);
      assert.ok(!t.err.includes("\n") && !t.err.includes(".tmp"), t.err);
      const j = await explainCli("x^2", { at, out: path, json: true });
      assert.equal(j.code, 1);
      assert.equal(j.err, "");
      const parsed = JSON.parse(j.out);
      assert.deepEqual(Object.keys(parsed), ["error"]);
      assert.match(`error: ${parsed.error}`, msg);
      assert.deepEqual(readdirSync(dir).sort(), ["file.txt"], "no temp file is left behind");
    });
  }

  it("--out to a missing folder makes it, as train --save does, and writes there", async () => {
    const target = join(dir, "figures", "q", "graph.svg");
    const r = await explainCli("x^2", { at, out: target, format: "svg" });
    assert.equal(r.code, 0, r.err);
    assert.match(readFileSync(target, "utf8"), /^<svg/);
    rmSync(join(dir, "figures"), { recursive: true });
  });

  it("write errors name the path given, not the temp file in Node's message", () => {
    const errno = (code: string) => Object.assign(new Error(`${code}: failed, open 'out/.g.svg.123.456.tmp'`), { code });
    assert.equal(writeErrorMessage("out/g.svg", errno("EACCES")), "error: cannot write out/g.svg: permission denied");
    for (const code of ["EROFS", "ENOSPC", "EIO", "EWEIRD"]) {
      const m = writeErrorMessage("out/g.svg", errno(code));
      assert.match(m, /^error: cannot write out\/g\.svg: \S/);
      assert.ok(!m.includes(".tmp") && !m.includes("\n"), m);
    }
  });

  it("--out to a good path still writes the file", async () => {
    const path = join(dir, "ok.json");
    const r = await explainCli("x^2", { at, out: path, json: true });
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(readFileSync(path, "utf8")).value, 4);
    rmSync(path);
  });

  it("--json: every error is a JSON object without the 'error: ' prefix", async () => {
    const cases: [string, Partial<ExplainCliOptions>, string][] = [
      ["x + y", { at: ["x=1"] }, "missing value for input 'y' (give it with --at y=...)"],
      ["x", { at: ["x=1"], step: "fast" }, '--step needs a number, got "fast"'],
      ["[1, 2] @ [1, 2, 3] + x", { at: ["x=1"] }, ""],
    ];
    for (const [src, opts, want] of cases) {
      const r = await explainCli(src, { ...opts, json: true });
      assert.equal(r.code, 1);
      assert.equal(r.err, "");
      const parsed = JSON.parse(r.out);
      assert.equal(typeof parsed.error, "string");
      assert.ok(!parsed.error.startsWith("error:"), parsed.error);
      if (want) assert.equal(parsed.error, want);
    }
  });

  it("--json keeps Infinity, -Infinity and NaN apart (as strings)", async () => {
    const r = await explainCli("x^0.5 + ln(y) + 0*sqrt(z)", { at: ["x=0,y=0,z=-1"], json: true });
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out);
    assert.equal(j.value, "NaN");
    assert.equal(j.gradients.x, "Infinity");
    assert.equal(j.stages.find((s: { op: string }) => s.op === "ln").value, "-Infinity");
  });
});
