/**
 * The gradient as a sum over paths: path lists and their products, the sum against backprop's gradient
 * (fan-out, x * x, the course's example), the cap on astronomically many paths, JSON, every table
 * format, and `explain --path` drawing one path in the figure, with its errors.
 */
import { describe, it } from "node:test";
import fc from "fast-check";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explain } from "../src/explain/report/explain.js";
import { type ExplainReport, type InputPaths } from "../src/explain/report/report.js";
import { countPaths, nthPath } from "../src/explain/report/paths.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { PATH_COLOR } from "../src/explain/renderers/figures.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { cli } from "./cli-helper.js";

function run(src: string, at: string, pathLimit?: number): ExplainReport {
  return explain(src, parseAssignments([at]), pathLimit === undefined ? {} : { pathLimit });
}

function pathsOf(r: ExplainReport, input: string): InputPaths {
  const p = r.paths?.inputs.find((q) => q.input === input);
  assert.ok(p, `no paths for ${input}`);
  return p;
}

function close(a: number | null | undefined, b: number, tol = 1e-12): void {
  assert.equal(typeof a, "number", `expected a number, got ${a}`);
  assert.ok(Math.abs((a as number) - b) <= tol * (1 + Math.abs(b)), `${a} != ${b}`);
}

/** Every input's listed path products sum to its backprop gradient. */
function assertSumsToGradient(r: ExplainReport): void {
  for (const p of r.paths!.inputs) {
    assert.ok(p.paths, `${p.input}'s paths are listed`);
    const total = p.paths.reduce((a, q) => a + (q.value as number), 0);
    close(total, r.gradients[p.input] as number, 1e-10);
    close(p.sum, r.gradients[p.input] as number, 1e-10);
  }
}

const COURSE = "(ln(x) + sin(y))^2 + 4x";

describe("sum over paths", () => {
  it("lists the course example's paths with their chains, symbolic products and values", () => {
    const r = run(COURSE, "x=e,y=pi/2");
    const x = pathsOf(r, "x");
    assert.equal(x.count, 2);
    assert.equal(x.countText, "2");
    assert.deepEqual(
      x.paths!.map((p) => p.names.join(" -> ")),
      ["x -> a -> c -> d -> g", "x -> f -> g"],
    );
    // ∂a/∂x = 1/x, ∂c/∂a = 1, ∂d/∂c = 2c, ∂g/∂d = 1: at x = e, c = 2, the product is 4/e.
    assert.deepEqual(x.paths![0].factors, ["1 / x", "1", "2c", "1"]);
    assert.equal(x.paths![0].product, "(1 / x) · 1 · 2c · 1");
    assert.equal(x.paths![0].productLatex, "\\frac{1}{x} \\cdot 1 \\cdot 2c \\cdot 1");
    close(x.paths![0].value, 4 / Math.E);
    assert.equal(x.paths![1].product, "4 · 1");
    close(x.paths![1].value, 4);
    close(x.sum, 4 / Math.E + 4);
    const y = pathsOf(r, "y");
    assert.equal(y.count, 1);
    assert.equal(y.paths![0].product, "cos(y) · 1 · 2c · 1");
    assert.ok(Math.abs(y.paths![0].value as number) < 1e-15, "cos(pi/2) is 0 up to rounding");
    assertSumsToGradient(r);
  });

  it("counts x * x as two paths, one per wire, told apart by operand", () => {
    const r = run("x*x + y", "x=3,y=1");
    const x = pathsOf(r, "x");
    assert.equal(x.count, 2);
    assert.deepEqual(
      x.paths!.map((p) => [p.names, p.argIndices]),
      [
        [
          ["x", "a", "b"],
          [0, 0],
        ],
        [
          ["x", "a", "b"],
          [1, 0],
        ],
      ],
    );
    assert.deepEqual(
      x.paths!.map((p) => p.value),
      [3, 3],
    );
    assertSumsToGradient(r);
    assert.match(formatTable(r), /x -> a \(operand 2\) -> b/);
  });

  it("sums to the gradient on fan-out programs", () => {
    const programs: [string, string][] = [
      ["a = sin(x); b = a*x; c = a + b*b; c*x", "x=0.7"],
      ["u = x*y; v = u + x; w = v*u*y; w + exp(v)", "x=0.3,y=-1.2"],
      ["sigmoid(x*w + b) * x", "x=1.5,w=-0.4,b=0.2"],
      ["a = x + x; b = a*a; c = b + a; c*c", "x=0.5"],
      [COURSE, "x=e,y=pi/2"],
    ];
    for (const [src, at] of programs) {
      const r = run(src, at);
      assertSumsToGradient(r);
      for (const p of r.paths!.inputs) assert.equal(p.paths!.length, p.count, `${src}: ${p.input}`);
    }
    // a = x + x; b = a*a; c = b + a; c*c: from a, b is reached twice and c thrice (2*1 + 1 = 3 ways to c),
    // then c*c doubles it, and x + x doubles again: 12 paths.
    assert.equal(pathsOf(run("a = x + x; b = a*a; c = b + a; c*c", "x=0.5"), "x").count, 12);
  });

  it("sums to the gradient on random programs with fan-out (property)", () => {
    // Each stage applies an operation to earlier names (inputs or stages), so names fan out at random.
    const ops = ["+", "*", "-", "sin", "tanh", "sq"] as const;
    const program = fc.array(fc.tuple(fc.constantFrom(...ops), fc.nat(), fc.nat()), { minLength: 1, maxLength: 9 }).map((steps) => {
      const names = ["x", "y"];
      const lines = steps.map(([op, i, j], k) => {
        const [a, b] = [names[i % names.length], names[j % names.length]];
        const rhs = op === "sin" || op === "tanh" ? `${op}(${a})` : op === "sq" ? `${a} * ${a}` : `${a} ${op} ${b}`;
        names.push(`s${k}`);
        return `s${k} = ${rhs}`;
      });
      // The output uses the last stage and x, so both inputs may reach it along several paths.
      return [...lines, `s${steps.length - 1} * x + y`].join("; ");
    });
    fc.assert(
      fc.property(program, fc.double({ min: -1.5, max: 1.5, noNaN: true }), fc.double({ min: -1.5, max: 1.5, noNaN: true }), (src, x, y) => {
        const r = explain(src, parseAssignments([`x=${x},y=${y}`]), { pathLimit: 4096 });
        for (const p of r.paths!.inputs) {
          const g = r.gradients[p.input] as number;
          assert.ok(p.paths, `${src}: ${p.input} has ${p.countText} paths, listed`);
          assert.equal(p.paths.length, p.count);
          assert.ok(
            Math.abs((p.sum as number) - g) <= 1e-9 * (1 + Math.abs(g)),
            `${src} at x=${x}, y=${y}: paths of ${p.input} sum to ${p.sum}, backprop ${g}`,
          );
        }
      }),
      { numRuns: 150, seed: 17 },
    );
  });

  it("gives an input the output does not use no path, and a program that is its input one empty path", () => {
    const r = run("2*y", "x=1,y=2");
    assert.equal(pathsOf(r, "x").count, 0);
    assert.deepEqual(pathsOf(r, "x").paths, []);
    assert.equal(pathsOf(r, "x").sum, 0);
  });

  it("counts astronomically many paths without listing them, and shows the fan-out sums instead", () => {
    // 60 chained fan-outs: 2^60 paths from x, counted by dynamic programming (listing them would never end).
    const src = ["a1 = x + x", ...Array.from({ length: 59 }, (_, i) => `a${i + 2} = a${i + 1} + a${i + 1}`)].join("; ");
    const r = run(src, "x=1");
    const x = pathsOf(r, "x");
    assert.equal(x.countText, (2n ** 60n).toString());
    assert.equal(x.count, 2 ** 60);
    assert.equal(x.paths, undefined);
    assert.equal(x.sum, undefined);
    // One fan-out sum per name between x and the output, backward: a59 ... a1, x.
    const fan = r.paths!.fanOut!;
    assert.equal(fan.length, 60);
    assert.deepEqual(fan[0], { name: "a59", terms: [1, 1], total: 2 });
    assert.deepEqual(fan[59], { name: "x", terms: [2 ** 59, 2 ** 59], total: 2 ** 60 });
    const table = formatTable(r);
    assert.match(table, /x: 1152921504606846976 paths, more than the limit of 64: see the fan-out sums below/);
    assert.match(table, /Fan-out sums instead, for x \(the chain rule per name with its contributions, backward\)\n {4}∂a60\/∂a59 = 1 \+ 1 = 2\n/);
    // Each with the report's chain rule for the name.
    assert.match(table, /\n {4}∂a60\/∂a58 = ∂a60\/∂a59 · ∂a59\/∂a58 = 2 \+ 2 = 4\n/);
    assert.match(table, /\n {4}∂a60\/∂x = ∂a60\/∂a1 · ∂a1\/∂x = 5\.765e\+17 \+ 5\.765e\+17 = 1\.153e\+18/);
    const md = formatMarkdown(r);
    assert.match(md, /\*\*x\*\*: 1152921504606846976 paths, more than the limit of 64/);
    assert.match(md, /- \$\\frac\{\\partial a_\{60\}\}\{\\partial a_\{59\}\} = 1 \+ 1 = 2\$/);
    const latex = formatLatex(r);
    assert.match(latex, /% x: 1152921504606846976 paths, more than the limit of 64/);
    assert.match(
      latex,
      /\\frac\{\\partial a_\{60\}\}\{\\partial x\} &= .* = 5\.765 \\times 10\^\{17\} \+ 5\.765 \\times 10\^\{17\} = 1\.153 \\times 10\^\{18\}/,
    );
    // A path past the listing is still found from the counts, without the ones before it.
    const counts = countPaths(r);
    const last = nthPath(r, "x", 2 ** 53, counts)!;
    assert.equal(last.names.length, 61);
    assert.equal(nthPath(r, "x", 0, counts), null);
    // Numbered exactly past 2^53 with a bigint: path k follows the binary digits of k - 1, first wire first.
    assert.deepEqual(nthPath(r, "x", 2n ** 60n, counts)!.argIndices, Array(60).fill(1));
    assert.deepEqual(nthPath(r, "x", 2n ** 60n - 1n, counts)!.argIndices, [...Array(59).fill(1), 0]);
    assert.equal(nthPath(r, "x", 2n ** 60n + 1n, counts), null);
  });

  it("takes its limit as an option: past it, the count; at it, the list", () => {
    const r = run("x*x*x", "x=2", 4);
    // x * x * x stages as a = x * x, b = a * x: 2 paths through a, 1 straight to b.
    assert.equal(pathsOf(r, "x").count, 3);
    assert.equal(pathsOf(run("x*x*x", "x=2", 3), "x").paths!.length, 3);
    const capped = pathsOf(run("x*x*x", "x=2", 2), "x");
    assert.equal(capped.paths, undefined);
    assert.equal(capped.countText, "3");
    assert.equal(run("x*x*x", "x=2", 2).paths!.limit, 2);
  });

  it("is in the JSON report", async () => {
    const { code, out } = await cli("explain", COURSE, "--at", "x=e,y=pi/2", "--json");
    assert.equal(code, 0);
    const json = JSON.parse(out) as ExplainReport;
    assert.equal(json.paths!.limit, 64);
    const x = json.paths!.inputs.find((p) => p.input === "x")!;
    assert.deepEqual(x.paths![1].names, ["x", "f", "g"]);
    close(x.sum, json.gradients.x as number, 1e-12);
    const capped = await cli("explain", "x*x*x", "--at", "x=2", "--path-limit", "1", "--json");
    const c = (JSON.parse(capped.out) as ExplainReport).paths!.inputs[0];
    assert.equal(c.countText, "3");
    // x * x * x stages as a = x * x, b = a * x: the fan-out sums of a and x.
    assert.deepEqual(
      (JSON.parse(capped.out) as ExplainReport).paths!.fanOut!.map((f) => [f.name, f.terms, f.total]),
      [
        ["a", [2], 2],
        ["x", [4, 4, 4], 12],
      ],
    );
  });

  it("is in every table format: table, markdown and latex", () => {
    const r = run(COURSE, "x=e,y=pi/2");
    const table = formatTable(r);
    assert.match(table, /x: 2 paths/);
    assert.match(table, /1\. x -> a -> c -> d -> g {3}\(1 \/ x\) · 1 · 2c · 1 = 1\.472/);
    assert.match(table, /2\. x -> f -> g {13}4 · 1 = 4/);
    assert.match(table, /sum = 1\.472 \+ 4 = 5\.472 {3}\(backprop: gx = 5\.472\)/);
    const md = formatMarkdown(r);
    assert.match(md, /\| 1 \| x → a → c → d → g \| \$\\frac\{1\}\{x\} \\cdot 1 \\cdot 2c \\cdot 1\$ \| 1\.472 \|/);
    assert.match(md, /\| 2 \| x → f → g \| \$4 \\cdot 1\$ \| 4 \|/);
    const latex = formatLatex(r);
    assert.match(latex, /x \\to a \\to c \\to d \\to g &: \\frac\{1\}\{x\} \\cdot 1 \\cdot 2c \\cdot 1 = 1\.472/);
    assert.match(latex, /\\textstyle\\sum &= 5\.472/);
    // Numbers in math mode are written with a power of ten, not as 2.449e-16.
    assert.match(latex, /= 2\.449 \\times 10\^\{-16\}/);
  });
});

describe("explain --path", () => {
  const dir = mkdtempSync(join(tmpdir(), "bp-paths-"));

  it("highlights one path in the SVG: its wires and gates emphasized, the rest dimmed, its product in a caption", async () => {
    const file = join(dir, "path.svg");
    const { code, err } = await cli("explain", COURSE, "--at", "x=e,y=pi/2", "--path", "x:2", "--out", file);
    assert.equal(code, 0, err);
    const svg = readFileSync(file, "utf8");
    assert.match(svg, /class="path-caption"[^>]*>path 2 of 2 from x: x → f → g, product 4 · 1 = 4; the 2 paths sum to gx = 5\.472</);
    // Path 2 is x -> f -> g -> output: three wires emphasized (the output's wire included).
    assert.equal(svg.match(new RegExp(`stroke="${PATH_COLOR}" stroke-width="3.5"`, "g"))?.length, 3);
    // Gates f and g are ringed, a, b, c and d (and input y) dimmed.
    assert.equal(svg.match(new RegExp(`<circle[^>]*stroke="${PATH_COLOR}"`, "g"))?.length, 2);
    assert.match(svg, /<g opacity="0\.22">\n<g class="gate" data-stage="a">/);
    assert.doesNotMatch(svg, /<g opacity="0\.22">\n<g class="gate" data-stage="f">/);
    const plain = await cli("explain", COURSE, "--at", "x=e,y=pi/2", "--format", "svg");
    assert.doesNotMatch(plain.out, /opacity|path-caption/);
  });

  it("tells the two wires of x * x apart", async () => {
    const file = join(dir, "square.svg");
    const drawn: string[] = [];
    for (const k of [1, 2]) {
      const { code } = await cli("explain", "x*x", "--at", "x=3", "--path", `x:${k}`, "--out", file);
      assert.equal(code, 0);
      const svg = readFileSync(file, "utf8");
      assert.match(svg, new RegExp(`>path ${k} of 2 from x: x → a \\(operand ${k}\\), product x = 3; the 2 paths sum to gx = 6<`));
      // Two wires leave x and one reaches the output: x's k-th wire and the output's are emphasized.
      const wires = [...svg.matchAll(/<path d="([^"]+)" fill="none" stroke="([^"]+)"/g)];
      assert.equal(wires.length, 3);
      const on = wires.filter((m) => m[2] === PATH_COLOR).map((m) => m[1]);
      assert.equal(on.length, 2);
      drawn.push(on[0]);
    }
    assert.notEqual(drawn[0], drawn[1], "paths 1 and 2 emphasize different wires");
  });

  it("draws a path past the listing limit, its caption shortened", async () => {
    // 13 chained fan-outs: 8192 paths, past the limit of 64; path 8192 takes every second operand.
    const src = ["a1 = x + x", ...Array.from({ length: 12 }, (_, i) => `a${i + 2} = a${i + 1} + a${i + 1}`)].join("; ");
    const { code, out } = await cli("explain", src, "--at", "x=1", "--format", "svg", "--path", "x:8192");
    assert.equal(code, 0);
    assert.match(
      out,
      />path 8192 of 8192 from x: x → a1 \(operand 2\) → a2 \(operand 2\) → a3 \(operand 2\) → \.\.\. → a12 \(operand 2\) → a13 \(operand 2\) \(14 names\), product 1 · 1 · 1 · 1 · 1 · 1 · 1 · 1 · 1 · 1 · 1 · 1 · 1 = 1; the 8192 paths sum to gx = 8192</,
    );
    assert.equal(
      (await cli("explain", src, "--at", "x=1", "--format", "svg", "--path", "x:8193")).err,
      "error: --path x:8193: x has 8192 paths (give a number from 1 to 8192)",
    );
  });

  it("draws the path in TikZ and PNG too", async () => {
    const tikz = await cli("explain", COURSE, "--at", "x=e,y=pi/2", "--path", "y:1", "--format", "tikz");
    assert.equal(tikz.code, 0);
    assert.match(tikz.out, /\\definecolor\{path\}/);
    assert.match(tikz.out, /\\draw\[->, path, very thick\]/);
    assert.match(tikz.out, /\\draw\[->, opacity=0\.22\]/);
    assert.match(tikz.out, /path 1 of 1 from y: y \$\\to\$ b/);
    const png = join(dir, "path.png");
    const p = await cli("explain", COURSE, "--at", "x=e,y=pi/2", "--path", "x:1", "--out", png);
    assert.equal(p.code, 0);
    assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  });

  it("says what is wrong: an unknown input, a number out of range (and how many there are), a bad spec, a format without figures", async () => {
    const base = ["explain", COURSE, "--at", "x=e,y=pi/2", "--format", "svg"];
    const unknown = await cli(...base, "--path", "z:1");
    assert.equal(unknown.code, 1);
    assert.equal(unknown.err, 'error: --path z:1: no input named "z" (the inputs are x, y)');
    const range = await cli(...base, "--path", "x:3");
    assert.equal(range.err, "error: --path x:3: x has 2 paths (give a number from 1 to 2)");
    assert.equal((await cli(...base, "--path", "x:0")).err, "error: --path x:0: x has 2 paths (give a number from 1 to 2)");
    assert.equal((await cli(...base, "--path", "x")).err, 'error: --path needs an input and a path number, as x:2; got "x"');
    const unused = await cli("explain", "2*y", "--at", "x=1,y=2", "--format", "svg", "--path", "x:1");
    assert.equal(unused.err, "error: --path x:1: x has no path to the output a");
    const table = await cli("explain", COURSE, "--at", "x=e,y=pi/2", "--path", "x:1");
    assert.equal(table.err, "error: --path draws a path in a figure: use --format svg, png or tikz");
    const json = await cli(...base, "--path", "z:1", "--json");
    assert.equal(json.code, 1);
    assert.equal(
      (await cli("explain", "x*x", "--at", "x=1", "--path-limit", "-3")).err,
      'error: --path-limit needs a whole number of paths (0 or more), got "-3"',
    );
  });
});
