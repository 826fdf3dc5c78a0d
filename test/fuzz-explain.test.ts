/**
 * Fuzzing the explain pipeline with a bounded number of runs (fixed seeds, well under 30 s):
 * (a) random text and token soups through parseProgram and explain may throw only the documented
 *     errors, never TypeError, RangeError or a stack overflow;
 * (b) random well-formed programs with fan-out finish within an op budget that is polynomial in their
 *     size (explain's own op counter, not a timer).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { explainAll, ExplainError } from "../src/explain/report/explain.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { toSvg } from "../src/explain/renderers/figures.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { ExplainSyntaxError, parseProgram } from "../src/explain/language/parser.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { ShapeError } from "../src/core/shape.js";

/** The errors explain documents: syntax errors (with a caret), explain errors (missing inputs, bad stages), shape errors. */
function assertDocumented(e: unknown, input: string): void {
  const ok = e instanceof ExplainSyntaxError || e instanceof ExplainError || e instanceof ShapeError;
  assert.ok(ok, `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for ${JSON.stringify(input)}`);
  if (e instanceof ExplainSyntaxError) {
    assert.ok(e.position >= 0 && e.position <= e.source.length);
    assert.ok(e.format().includes("^"));
  }
}

const AT = parseAssignments(["x=0.7,y=-1.3,z=2,w=[1,2],M=[[1,2],[3,4]],constructor=0.5"]);

/** Runs explain and every renderer; returns the op count. */
function explainEverything(src: string, at = AT): number {
  const ex = explainAll(src, at);
  for (const render of [formatTable, formatMarkdown, formatLatex, toSvg, reportJson]) render(ex.report);
  return ex.work;
}

const TOKENS = [
  ..."xyzwM0123456789.+-*/^@()[],;=\n eπσ·×−".split(""),
  "sin",
  "cos",
  "ln",
  "exp",
  "tanh",
  "sigmoid",
  "sqrt",
  "relu",
  "abs",
  "sum",
  "mean",
  "transpose",
  "**",
  ".T",
  "pi",
  "1e",
  "1e-",
  "1e400",
  "sqrt(",
  "constructor",
  "__proto__",
  "toString",
  " = ",
  "0/0",
  "1/0",
];

/** Tokens joined by nothing or a space (so that names do not always run together). */
const soup = fc.array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom("", " ", " ")), { maxLength: 40 }).map((a) => a.map(([t, sep]) => t + sep).join(""));

describe("fuzz (a): random input throws only the documented errors", () => {
  it("token soups through parseProgram and explain", () => {
    fc.assert(
      fc.property(soup, (src) => {
        try {
          parseProgram(src);
          explainEverything(src);
        } catch (e) {
          assertDocumented(e, src);
        }
      }),
      { numRuns: 1500, seed: 14 },
    );
  });

  it("arbitrary unicode strings through explain", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: "grapheme" }), (src) => {
        try {
          explainEverything(src);
        } catch (e) {
          assertDocumented(e, src);
        }
      }),
      { numRuns: 800, seed: 15 },
    );
  });

  it("random --at values", () => {
    const value = fc.array(fc.constantFrom(..."0123456789.,+-*/^()[] e".split(""), "pi", "x", "1e5", "=", "sin("), { maxLength: 20 }).map((a) => a.join(""));
    fc.assert(
      fc.property(fc.constantFrom("x", "constructor", "__proto__", "e", "sin"), value, (name, text) => {
        const arg = `${name}=${text}`;
        try {
          explainEverything(`${name === "e" || name === "sin" ? "x" : name} * 2`, parseAssignments([arg]));
        } catch (e) {
          assertDocumented(e, arg);
        }
      }),
      { numRuns: 800, seed: 16 },
    );
  });

  it("valid programs with random edits (a character inserted, deleted or replaced)", () => {
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom("insert", "delete", "replace"), ch: fc.constantFrom(...TOKENS) });
    fc.assert(
      fc.property(programArb(1, 12), fc.array(edit, { minLength: 1, maxLength: 3 }), ({ src }, edits) => {
        let text = src;
        for (const { at, kind, ch } of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + (kind === "delete" ? "" : ch) + text.slice(kind === "insert" ? i : i + 1);
        }
        try {
          explainEverything(text, parseAssignments(["x=0.3,y=0.5,z=0.7,u=1.1,v=-0.4,w=2"]));
        } catch (e) {
          assertDocumented(e, text);
        }
      }),
      { numRuns: 300, seed: 19 },
    );
  });

  it("deep and long inputs: nesting, long sums, long literals and names", () => {
    const cases = [
      "(".repeat(5000) + "x" + ")".repeat(5000),
      "sin(".repeat(150) + "x" + ")".repeat(150),
      "-".repeat(3000) + "x",
      Array(190).fill("x").join("^"),
      Array(3000).fill("x").join(" * "),
      `${"9".repeat(1000)} * x`,
      `${"v".repeat(5000)} + x`,
      "x = 1; ".repeat(3) + "x",
    ];
    for (const src of cases) {
      try {
        explainEverything(src, parseAssignments(["x=0.5", `${"v".repeat(5000)}=1`]));
      } catch (e) {
        assertDocumented(e, src.slice(0, 80));
      }
    }
  });
});

/**
 * A random well-formed program: `stages` definitions over `inputs` names mixing + - * / and
 * sin cos tanh sigmoid exp ln, each using earlier names (so names fan out), ending in an expression.
 */
function programArb(minStages: number, maxStages: number): fc.Arbitrary<{ src: string; inputs: string[] }> {
  const step = fc.record({
    fn: fc.constantFrom("sin", "cos", "tanh", "sigmoid", "exp", "ln", ""),
    op: fc.constantFrom("+", "-", "*", "/"),
    a: fc.nat(),
    b: fc.nat(),
    k: fc.integer({ min: 1, max: 5 }),
  });
  return fc
    .record({ nInputs: fc.integer({ min: 3, max: 6 }), steps: fc.array(step, { minLength: minStages, maxLength: maxStages, size: "max" }) })
    .map(({ nInputs, steps }) => {
      const inputs = ["x", "y", "z", "u", "v", "w"].slice(0, nInputs);
      const names = [...inputs];
      const lines = steps.map((s, i) => {
        // Mostly recent names, so chains are deep and every name is reused.
        const pick = (r: number) => names[names.length - 1 - (r % Math.min(names.length, 4))];
        const arg = s.fn === "ln" ? `1 + ${pick(s.a)}^2` : pick(s.a);
        const left = s.fn ? `${s.fn}(${arg})` : arg;
        const right = s.op === "/" ? `(${s.k} + ${pick(s.b)}^2)` : `${s.k > 2 ? `${s.k}` : ""}${pick(s.b)}`;
        const name = `t${i}`;
        names.push(name);
        return `${name} = ${left} ${s.op} ${right}`;
      });
      return { src: [...lines, `${names[names.length - 1]} + ${names[names.length - 2]}`].join("\n"), inputs };
    });
}

describe("fuzz (b): well-formed programs finish within an op budget", () => {
  const at = (inputs: string[]) => parseAssignments([inputs.map((n, k) => `${n}=${(0.3 + 0.17 * k).toFixed(2)}`).join(",")]);

  it("random programs of up to 40 definitions over 3 to 6 inputs", () => {
    fc.assert(
      fc.property(programArb(1, 40), ({ src, inputs }) => {
        const ex = explainAll(src, at(inputs));
        const stages = ex.report.stages.length;
        // The full derivative is either shown or reported too large; never silently missing.
        assert.ok(ex.report.derivatives !== undefined || ex.report.derivativesTooLarge !== undefined, src);
        // Measured: at most ~50 simplifier steps per node of a derivative under the 5000-node cap, and
        // ~60 steps per stage above it. The bound is a polynomial in the program's size.
        assert.ok(ex.work <= 1000 * stages * stages + 300_000, `work ${ex.work} for ${stages} stages:\n${src}`);
        for (const render of [formatTable, formatMarkdown, reportJson]) render(ex.report);
      }),
      { numRuns: 60, seed: 17 },
    );
  });

  it("programs of 150 definitions", () => {
    fc.assert(
      fc.property(programArb(150, 150), ({ src, inputs }) => {
        const ex = explainAll(src, at(inputs));
        const stages = ex.report.stages.length;
        assert.ok(ex.work <= 1000 * stages * stages + 300_000, `work ${ex.work} for ${stages} stages`);
      }),
      { numRuns: 4, seed: 18 },
    );
  });
});
