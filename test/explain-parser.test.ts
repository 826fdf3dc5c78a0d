/** The explainer's input language: precedence, implicit multiplication, programs, errors, fuzzing. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ExplainSyntaxError, parseExpression, parseProgram } from "../src/explain/language/parser.js";
import { printText } from "../src/explain/language/print.js";
import { explain } from "../src/explain/report/explain.js";
import { parseAssignments, splitAssignments } from "../src/explain/language/values.js";

/** Value of a constant expression through the same pipeline the CLI uses. */
function value(src: string, at = ""): number {
  return explain(src, parseAssignments(at ? [at] : [])).value as number;
}

describe("parser: precedence and notation", () => {
  const cases: [string, number][] = [
    ["-2^2", -4],
    ["2^3^2", 512],
    ["2**3**2", 512],
    ["(-2)^2", 4],
    ["2^-1", 0.5],
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["8 / 4 / 2", 1],
    ["7 - 2 - 1", 4],
    ["1e-3 * 1000", 1],
    [".5 + 0.5", 1],
    ["2pi / pi", 2],
    ["π", Math.PI],
    ["e", Math.E],
    ["ln(e)", 1],
    ["log(e^2)", 2],
    ["sqrt(16) + abs(-3)", 7],
    ["σ(0)", 0.5],
    ["sigmoid(0) + relu(-2) + relu(3)", 3.5],
    ["tanh(0) + exp(0) + sin(0) + cos(0) + tan(0)", 2],
    ["2 -1", 1],
    ["--3", 3],
  ];
  for (const [src, want] of cases) {
    it(`${src} = ${want}`, () => assert.ok(Math.abs(value(src) - want) < 1e-12, `${src} gave ${value(src)}`));
  }

  it("implicit multiplication: 4x, 2pi*r, (x+y)z, x^2 z^3, 2y", () => {
    assert.equal(value("4x", "x=3"), 12);
    assert.ok(Math.abs(value("2pi*r", "r=2") - 4 * Math.PI) < 1e-12);
    assert.equal(value("(x+y)z", "x=1,y=3,z=2"), 8);
    assert.equal(value("x^2 z^3", "x=3,z=2"), 72);
    assert.equal(value("2y + 1", "y=5"), 11);
    assert.equal(value("-x^2", "x=3"), -9);
    assert.equal(value("x(y+1)", "x=2,y=3"), 8);
    assert.equal(value("2x^2", "x=3"), 18);
  });

  it("names with digits and underscores are single variables", () => {
    assert.equal(value("w1 * x_2 + lam", "w1=2,x_2=3,lam=1"), 7);
    assert.deepEqual(parseExpression("xy"), { kind: "var", name: "xy", span: { start: 0, end: 2 } });
  });

  it("programs: definitions separated by ; or newlines, the last statement is the output", () => {
    const p = parseProgram("x = ln(t); y = t^3/3\nz = 2x + y");
    assert.deepEqual(
      p.statements.map((s) => s.name),
      ["x", "y", "z"],
    );
    assert.ok(Math.abs(value("x = ln(t); y = t^3/3; z = 2x + y", "t=2") - (2 * Math.log(2) + 8 / 3)) < 1e-12);
    assert.equal(value("u = x + 1\nu * u", "x=2"), 9);
  });

  it("splits --at assignments on commas outside brackets", () => {
    assert.deepEqual(splitAssignments("x=1,W=[[1,2],[3,4]],y=pi/2"), ["x=1", "W=[[1,2],[3,4]]", "y=pi/2"]);
    const v = parseAssignments(["W=[[0.1,0.5],[-0.3,0.8]]", "x=e,y=pi/2"]);
    assert.deepEqual(v.get("W")?.shape, [2, 2]);
    assert.equal(v.get("x")?.item(), Math.E);
    assert.equal(v.get("y")?.item(), Math.PI / 2);
  });
});

describe("parser: errors point at the offending character", () => {
  const bad: [string, number, RegExp][] = [
    ["(x + y", 6, /expected '\)' to close '\(' at column 1, found end of input/],
    ["x + * y", 4, /expected a number, a name or '\('/],
    ["x $ y", 2, /unexpected character '\$'/],
    ["sin x", 4, /function 'sin' needs an argument in parentheses/],
    ["sin()", 4, /function 'sin' needs an argument/],
    ["x + )", 4, /expected a number/],
    ["", 0, /empty expression/],
    ["exp = 3", 0, /cannot define 'exp': it is a function/],
    ["pi = 3", 0, /cannot define 'pi': it is a constant/],
    ["[1, 2", 5, /expected ',' or '\]'/],
  ];
  for (const [src, pos, msg] of bad) {
    it(JSON.stringify(src), () => {
      assert.throws(
        () => parseProgram(src),
        (e: unknown) => e instanceof ExplainSyntaxError && e.position === pos && msg.test(e.message),
      );
    });
  }

  it("formats the input with a caret under the bad character", () => {
    try {
      parseProgram("(ln(x) + sin(y))^2 + 4x)");
      assert.fail("should throw");
    } catch (e) {
      assert.ok(e instanceof ExplainSyntaxError);
      assert.equal(e.format(), "syntax error at column 24: unexpected ')'\n  (ln(x) + sin(y))^2 + 4x)\n                         ^");
    }
  });

  it("names the line in a multi-line program", () => {
    try {
      parseProgram("a = x + 1\nb = a * * 2");
      assert.fail("should throw");
    } catch (e) {
      assert.ok(e instanceof ExplainSyntaxError);
      assert.match(e.format(), /^syntax error at line 2, column 9: .*\n  b = a \* \* 2\n {10}\^$/);
    }
  });

  it("rejects nesting deeper than the limit instead of overflowing the stack", () => {
    assert.throws(() => parseProgram("(".repeat(100000) + "x" + ")".repeat(100000)), ExplainSyntaxError);
    assert.throws(() => parseProgram("-".repeat(100000) + "x"), ExplainSyntaxError);
    assert.throws(() => parseProgram("2^".repeat(100000) + "2"), ExplainSyntaxError);
  });
});

// Random expressions that are defined for any real x, y, z (logs and roots of positive things only).
const leaf = fc.oneof(fc.constantFrom("x", "y", "z"), fc.integer({ min: 1, max: 9 }).map(String), fc.constantFrom("0.5", "pi", "e"));
const { expr } = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.tuple(tie("expr"), fc.constantFrom("+", "-", "*"), tie("expr")).map(([a, o, b]) => `(${a}) ${o} (${b})`),
    tie("expr").map((a) => `(${a}) / (1 + (${a})^2)`),
    fc.tuple(tie("expr"), fc.constantFrom("2", "3")).map(([a, k]) => `(${a})^${k}`),
    fc.tuple(fc.constantFrom("sin", "cos", "tanh", "sigmoid", "σ"), tie("expr")).map(([f, a]) => `${f}(${a})`),
    tie("expr").map((a) => `ln(1 + (${a})^2)`),
    tie("expr").map((a) => `sqrt(2 + sin(${a}))`),
    tie("expr").map((a) => `exp(tanh(${a}))`),
    fc.tuple(fc.integer({ min: 2, max: 9 }), fc.constantFrom("x", "y", "(x + z)")).map(([k, a]) => `${k}${a}`),
  ),
}));

describe("parser fuzzing", () => {
  it("random strings either parse or throw ExplainSyntaxError, quickly", () => {
    const alphabet = fc.constantFrom(..."xyz0123456789.+-*/^@()[],;=\n eπσ".split(""), "sin", "ln", "**", ".T", "e", "pi", "1e", "1e-", "sqrt(");
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }).map((a) => a.join("")),
        (s) => {
          const t0 = performance.now();
          try {
            parseProgram(s);
          } catch (e) {
            assert.ok(e instanceof ExplainSyntaxError, `threw ${String(e)} for ${JSON.stringify(s)}`);
            assert.ok(e.position >= 0 && e.position <= s.length);
            assert.ok(e.format().includes("^"));
          }
          assert.ok(performance.now() - t0 < 1000, "parsing took too long");
        },
      ),
      { numRuns: 3000, seed: 1 },
    );
  });

  it("any unicode string: only ExplainSyntaxError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: "grapheme" }), (s) => {
        try {
          parseProgram(s);
        } catch (e) {
          assert.ok(e instanceof ExplainSyntaxError, `threw ${String(e)} for ${JSON.stringify(s)}`);
        }
      }),
      { numRuns: 2000, seed: 2 },
    );
  });

  it("random valid expressions parse, and print back to text that parses to the same value", () => {
    fc.assert(
      fc.property(expr, (src) => {
        const at = "x=0.7,y=-1.3,z=2.1";
        const v1 = value(src, at);
        const printed = printText(parseExpression(src));
        const v2 = value(printed, at);
        assert.ok(Math.abs(v1 - v2) <= 1e-9 * (1 + Math.abs(v1)), `${src} -> ${printed}: ${v1} vs ${v2}`);
      }),
      { numRuns: 300, seed: 3 },
    );
  });
});

export { expr as randomExpression };
