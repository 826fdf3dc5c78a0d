/**
 * Input and CLI (issue 15): misspelled function names, error hints worded for each front end (the CLI's
 * --at, the playground's Input values), a program that begins with '-', and output formats inferred
 * from the --out and --plot extensions.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-helper.js";
import { explainAll, ExplainError } from "../src/explain/report/explain.js";
import { editDistance, ExplainSyntaxError, functionSuggestions, parseExpression, parseProgram } from "../src/explain/language/parser.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { playgroundErrorText } from "../playground/errors.js";

/** The ExplainSyntaxError that `f` throws. */
function syntaxError(f: () => unknown): ExplainSyntaxError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ExplainSyntaxError, `expected ExplainSyntaxError, got ${String(e)}`);
    return e;
  }
  assert.fail("no error");
}

/** The value the explainer computes for `src` at the values `at` (an implicit product, say). */
function valueOf(src: string, at: string): number {
  return explainAll(src, parseAssignments([at])).report.value as number;
}

describe("unknown function names", () => {
  const cases: [string, string, number][] = [
    ["sigmod(x)", "unknown function 'sigmod' (did you mean sigmoid?); to use an abstract function, declare it first: fn sigmod", 0],
    ["tahn(x)", "unknown function 'tahn' (did you mean tanh or tan?); to use an abstract function, declare it first: fn tahn", 0],
    ["y = 2 + sqr(x)", "unknown function 'sqr' (did you mean sqrt?); to use an abstract function, declare it first: fn sqr", 8],
    ["sigmoidd(x) + 1", "unknown function 'sigmoidd' (did you mean sigmoid?); to use an abstract function, declare it first: fn sigmoidd", 0],
    ["Sin(x)", "unknown function 'Sin' (did you mean sin?); to use an abstract function, declare it first: fn Sin", 0],
    ["log2(x)", "unknown function 'log2' (did you mean log?); to use an abstract function, declare it first: fn log2", 0],
    ["trans(A)", "unknown function 'trans' (did you mean transpose?); to use an abstract function, declare it first: fn trans", 0],
    ["x + reul(x)", "unknown function 'reul' (did you mean relu?); to use an abstract function, declare it first: fn reul", 4],
  ];
  for (const [src, message, position] of cases) {
    it(`${src}: '${message}' with the caret under the name`, () => {
      const e = syntaxError(() => parseProgram(src));
      assert.equal(e.message, message);
      assert.equal(e.position, position);
    });
  }

  it("a two-letter name near a function says how to write the product instead", () => {
    const e = syntaxError(() => parseProgram("lg(x)"));
    assert.equal(
      e.message,
      "unknown function 'lg' (did you mean ln or log? for a product write lg*(...)); to use an abstract function, declare it first: fn lg",
    );
    assert.equal(
      e.format(),
      "syntax error at column 1: unknown function 'lg' (did you mean ln or log? for a product write lg*(...)); to use an abstract function, declare it first: fn lg\n  lg(x)\n  ^",
    );
  });

  it("the CLI shows the message with the input and a caret under the name", async () => {
    const r = await cli("explain", "1 + sigmod(x)", "--at", "x=1");
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "error: syntax error at column 5: unknown function 'sigmod' (did you mean sigmoid?); to use an abstract function, declare it first: fn sigmod\n  1 + sigmod(x)\n      ^",
    );
    const j = await cli("explain", "tahn(x)", "--at", "x=1", "--json");
    assert.equal(JSON.parse(j.out).position, 0);
    assert.match(JSON.parse(j.out).error, /unknown function 'tahn' \(did you mean tanh or tan\?\)/);
  });

  it("a misspelled function in an --at value is reported there too", () => {
    const e = syntaxError(() => parseAssignments(["y=sigmod(1)"]));
    assert.equal(e.message, "in the value of 'y': unknown function 'sigmod' (did you mean sigmoid?)");
    assert.equal(e.position, 2);
  });

  it("implicit products stay: a short or unrelated name, a space before '(', or a name the program defines", () => {
    assert.equal(valueOf("x(y+1)", "x=2,y=3"), 8);
    assert.equal(valueOf("a(b+c)", "a=2,b=3,c=1"), 8);
    assert.equal(valueOf("foo(x)", "foo=2,x=3"), 6);
    assert.equal(valueOf("w1(x)", "w1=2,x=3"), 6);
    assert.equal(valueOf("lr (x+1)", "lr=2,x=3"), 8);
    assert.equal(valueOf("lr = 2; lr(x+1)", "x=3"), 8);
    assert.equal(valueOf("lr*(x+1)", "lr=2,x=3"), 8);
    assert.deepEqual(parseExpression("pi(x)"), {
      kind: "bin",
      op: "*",
      left: { kind: "const", name: "pi", span: { start: 0, end: 2 } },
      right: { kind: "var", name: "x", span: { start: 2, end: 5 } },
      span: { start: 0, end: 5 },
    });
  });

  it("edit distance counts a swap of neighbours as one edit; suggestions list ties, closest length first", () => {
    assert.deepEqual(
      [
        ["tahn", "tanh"],
        ["sigmod", "sigmoid"],
        ["x", "ln"],
        ["ab", "abs"],
        ["", "exp"],
        ["relu", "relu"],
      ].map(([a, b]) => editDistance(a, b)),
      [1, 1, 2, 1, 3, 0],
    );
    assert.deepEqual(functionSuggestions("sig"), ["sin", "sign", "sigmoid"]);
    assert.deepEqual(functionSuggestions("x"), []);
    assert.deepEqual(functionSuggestions("cosh"), ["cos"]);
    assert.deepEqual(functionSuggestions("tanh"), ["tan"], "a known name is never its own suggestion");
  });

  it("known functions still parse, σ included", () => {
    assert.equal(valueOf("sigmoid(x) + tanh(x) + σ(x)", "x=0"), 1);
  });
});

describe("error hints: the bare message plus a hint each front end words", () => {
  it("a missing input: the library's error carries the name, not the CLI's --at", () => {
    try {
      explainAll("x + y", parseAssignments(["x=1"]));
      assert.fail("no error");
    } catch (e) {
      assert.ok(e instanceof ExplainError);
      assert.equal(e.message, "missing value for input 'y'");
      assert.deepEqual(e.hint, { kind: "missing-input", name: "y" });
    }
  });

  it("the CLI appends its own wording (--at), on stderr and under --json", async () => {
    assert.equal((await cli("explain", "x + y", "--at", "x=1")).err, "error: missing value for input 'y' (give it with --at y=...)");
    assert.deepEqual(JSON.parse((await cli("explain", "x + y", "--at", "x=1", "--json")).out), {
      error: "missing value for input 'y' (give it with --at y=...)",
    });
    assert.equal(
      (await cli("explain", "x = 2t; x", "--at", "t=1,x=3")).err,
      "error: 'x' is defined in the program, so it cannot also be given a value (remove x=... from --at)",
    );
    const r = await cli("explain", "[x, 1]", "--at", "x=1");
    assert.equal(
      r.err.split("\n")[0],
      "error: syntax error at column 1: an array literal with variables in it cannot be staged (give array values with --at, as W=[[1,2],[3,4]])",
    );
  });

  it("the playground words the same errors for its Input values box, never --at", () => {
    const text = (src: string, at: string): string => {
      try {
        explainAll(src, parseAssignments([at]));
      } catch (e) {
        return playgroundErrorText(e);
      }
      return assert.fail("no error");
    };
    assert.equal(text("x + y", "x=1"), "error: missing value for input 'y' (add y=... to the Input values)");
    assert.equal(text("x = 2t; x", "t=1,x=3"), "error: 'x' is defined in the program, so it cannot also be given a value (remove x=... from the Input values)");
    assert.equal(
      text("[x, 1]", "x=1"),
      "syntax error at column 1: an array literal with variables in it cannot be staged (give array values in the Input values, as W=[[1,2],[3,4]])\n  [x, 1]\n  ^",
    );
    assert.equal(
      text("sigmod(x)", "x=1"),
      "syntax error at column 1: unknown function 'sigmod' (did you mean sigmoid?); to use an abstract function, declare it first: fn sigmod\n  sigmod(x)\n  ^",
    );
    assert.equal(playgroundErrorText(new Error("boom")), "error: boom");
    for (const s of [text("x + y", "x=1"), text("x = 2t; x", "t=1,x=3"), text("[x, 1]", "x=1")]) assert.ok(!s.includes("--at"), s);
  });
});

describe("a program that begins with '-'", () => {
  it("is the argument, not an unknown option, before or after the options", async () => {
    const a = await cli("explain", "-x^2 + y", "--at", "x=1,y=2", "--json");
    assert.equal(a.code, 0, a.out);
    assert.equal(JSON.parse(a.out).value, 1);
    assert.deepEqual(JSON.parse(a.out).gradients, { x: -2, y: 1 });
    const b = await cli("explain", "--at", "x=3", "--json", "-x");
    assert.equal(JSON.parse(b.out).value, -3);
    const t = await cli("explain", "-x^2 + y", "--at", "x=1,y=2");
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^-x\^2 \+ y {3}at x = 1, y = 2/);
  });

  it("negative values and option values that begin with '-' keep working", async () => {
    const r = await cli("explain", "x^2", "--at", "x=-1", "--json");
    assert.deepEqual([JSON.parse(r.out).value, JSON.parse(r.out).gradients.x], [1, -2]);
    const s = await cli("explain", "-x^2", "--at", "x=-1", "--step", "-0.5", "--json");
    assert.equal(s.code, 0, s.out);
    assert.equal(JSON.parse(s.out).value, -1);
    const d = await cli("explain", "--at", "x=2", "--json", "--", "-x");
    assert.equal(JSON.parse(d.out).value, -2, "'--' before the program works as before");
  });

  it("an unknown option before the program is still an unknown option", async () => {
    assert.deepEqual(await cli("explain", "--bogus", "x", "--at", "x=1"), { code: 1, out: "", err: "error: unknown option '--bogus'" });
    assert.deepEqual(await cli("explain", "-q", "x", "--at", "x=1"), { code: 1, out: "", err: "error: unknown option '-q'" });
  });
});

describe("--out infers the format from its extension", () => {
  const dir = mkdtempSync(join(tmpdir(), "explain-input-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const at = ["--at", "x=2"];

  const written: [string, (text: string) => boolean][] = [
    ["g.svg", (s) => s.startsWith("<svg")],
    ["g.json", (s) => JSON.parse(s).value === 4],
    ["g.md", (s) => s.includes("|")],
    ["g.tex", (s) => s.startsWith("% Staged computation")],
    ["g.dot", (s) => s.startsWith("digraph")],
    ["g.mmd", (s) => /^(flowchart|graph) /.test(s)],
    ["g.py", (s) => s.includes("def ")],
    ["g.ts", (s) => s.includes("function ")],
    ["g.txt", (s) => s.startsWith("x^2   at x = 2")],
    ["G.SVG", (s) => s.startsWith("<svg")],
  ];
  for (const [name, looksRight] of written) {
    it(`--out ${name} without --format`, async () => {
      const r = await cli("explain", "x^2", ...at, "--out", join(dir, name));
      assert.equal(r.code, 0, r.err);
      const text = readFileSync(join(dir, name), "utf8");
      assert.ok(looksRight(text), text.slice(0, 200));
    });
  }

  it("--out g.png writes a PNG", async () => {
    const r = await cli("explain", "x^2", ...at, "--out", join(dir, "g.png"));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([...readFileSync(join(dir, "g.png")).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });

  it("an explicit --format that agrees, or any --format with an extension it does not know", async () => {
    const t = await cli("explain", "x^2", ...at, "--format", "tikz", "--out", join(dir, "fig.tex"));
    assert.equal(t.code, 0, t.err);
    assert.match(readFileSync(join(dir, "fig.tex"), "utf8"), /^\\documentclass/);
    const s = await cli("explain", "x^2", ...at, "--format", "svg", "--out", join(dir, "fig.image"));
    assert.equal(s.code, 0, s.err);
    assert.match(readFileSync(join(dir, "fig.image"), "utf8"), /^<svg/);
  });

  it("an extension that contradicts --format (or --json) is an error naming both, and nothing is written", async () => {
    const a = await cli("explain", "x^2", ...at, "--out", join(dir, "no.svg"), "--format", "latex");
    assert.deepEqual(a, { code: 1, out: "", err: `error: --out ${join(dir, "no.svg")} contradicts --format latex` });
    const b = await cli("explain", "x^2", ...at, "--out", join(dir, "no.svg"), "--format", "json");
    assert.deepEqual(JSON.parse(b.out), { error: `--out ${join(dir, "no.svg")} contradicts --format json` });
    const c = await cli("explain", "x^2", ...at, "--out", join(dir, "no.svg"), "--json");
    assert.deepEqual(JSON.parse(c.out), { error: `--out ${join(dir, "no.svg")} contradicts --json` });
    assert.ok(!existsSync(join(dir, "no.svg")));
  });

  it("an unknown extension without --format is an error listing the known ones", async () => {
    for (const name of ["graph.pdf", "graph"]) {
      const r = await cli("explain", "x^2", ...at, "--out", join(dir, name));
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `error: --out ${join(dir, name)}: cannot tell the format from ${name === "graph" ? "a name without an extension" : "the extension .pdf"}; use .svg, .png, .tex, .md, .json, .dot, .mmd, .py, .ts or .txt, or give --format`,
      );
      assert.ok(!existsSync(join(dir, name)));
    }
  });
});

describe("train --plot takes .svg or .png", () => {
  const dir = mkdtempSync(join(tmpdir(), "train-plot-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("another extension is an error before training, naming the accepted ones", async () => {
    for (const name of ["curves.pdf", "curves"]) {
      const started = Date.now();
      const r = await cli("train", "--dataset", "iris", "--epochs", "200", "--plot", join(dir, name));
      assert.equal(r.code, 1);
      assert.equal(r.out, "", "no progress: training never started");
      assert.equal(r.err, `error: --plot ${join(dir, name)}: the plot is written as .svg or .png, so give one of those extensions`);
      assert.ok(Date.now() - started < 5000, "no training happened");
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});
