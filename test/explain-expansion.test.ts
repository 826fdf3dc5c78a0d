/**
 * The homework's Table 1 (breakdown, local gradient, expansion) and its worked chain rule, for
 * f(x, b, w) = (w e^(bx) + ln(wx)) b: each stage's expansion, the chain rule per name over its
 * consumers, in the report and in every text format; and the expansion's cap on long programs,
 * whose work is counted with work.ts (no timing).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { EXPANSION_LIMIT, chainRules, stageExpansions } from "../src/explain/interpreters/expansion.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { parseProgram } from "../src/explain/language/parser.js";
import { stageProgram } from "../src/explain/interpreters/stage.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { workDone } from "../src/explain/interpreters/work.js";

const at = (s: string) => parseAssignments([s]);
/** The homework's breakdown, stage by stage, with its names. */
const TABLE1 = "p = w x; q = ln(p); r = b x; s = e^r; t = s w; u = t + q; f = b u";
const POINT = "x=1.5,w=2,b=0.5";

/** LaTeX compared as the homework writes it: no \cdot, \left, \right or spaces. */
const norm = (latex: string): string => latex.replace(/\\cdot|\\left|\\right|\s/g, "");

describe("Table 1: expansions", () => {
  const r = explain(TABLE1, at(POINT));

  it("each stage's expansion is the homework's, in text", () => {
    assert.deepEqual(
      r.stages.map((s) => [s.equation, s.expansion]),
      [
        ["p = w * x", "w * x"],
        ["q = ln(p)", "ln(w * x)"],
        ["r = b * x", "b * x"],
        ["s = exp(r)", "exp(b * x)"],
        ["t = s * w", "exp(b * x) * w"],
        ["u = t + q", "exp(b * x) * w + ln(w * x)"],
        ["f = b * u", "b * (exp(b * x) * w + ln(w * x))"],
      ],
    );
  });

  it("and in LaTeX, equal to Table 1's column up to \\cdot and spacing", () => {
    const homework = ["wx", "\\ln(wx)", "bx", "e^{bx}", "e^{bx} \\cdot w", "e^{bx} \\cdot w + \\ln(wx)", "b(e^{bx} \\cdot w + \\ln(wx))"];
    assert.deepEqual(
      r.stages.map((s) => norm(s.expansionLatex!)),
      homework.map(norm),
    );
  });

  it("the one-line program stages differently but expands to the same function", () => {
    const one = explain("(w e^(b x) + ln(w x)) b", at(POINT));
    assert.equal(one.stages[one.stages.length - 1].expansion, "(w * exp(b * x) + ln(w * x)) * b");
    assert.equal(one.value, r.value);
  });

  it("the full derivative is the homework's b w x e^(bx) + w e^(bx) + ln(wx)", () => {
    assert.equal(r.derivatives!.b, "b * w * x * exp(b * x) + w * exp(b * x) + ln(w * x)");
  });
});

describe("Table 1: the chain rule per stage", () => {
  const r = explain(TABLE1, at(POINT));
  const chain = (n: string) => r.stages.find((s) => s.name === n)?.chain ?? r.inputChains?.[n]?.text;

  it("each name over its consumers; the output's own term is the direct partial", () => {
    // u is used by the output alone: its derivative is a local one, no chain to write.
    assert.equal(chain("u"), undefined);
    assert.equal(chain("t"), "∂f/∂t = ∂f/∂u · ∂u/∂t");
    assert.equal(chain("q"), "∂f/∂q = ∂f/∂u · ∂u/∂q");
    assert.equal(chain("s"), "∂f/∂s = ∂f/∂t · ∂t/∂s");
    assert.equal(chain("r"), "∂f/∂r = ∂f/∂s · ∂s/∂r");
    assert.equal(chain("p"), "∂f/∂p = ∂f/∂q · ∂q/∂p");
    // The homework's first line: ∂f/∂b = ∂f/∂u ∂u/∂b + ∂f/∂b ∂b/∂b, with b's own consumers.
    assert.equal(chain("b"), "∂f/∂b = ∂f/∂r · ∂r/∂b + ∂f/∂b (direct)");
    assert.equal(chain("w"), "∂f/∂w = ∂f/∂p · ∂p/∂w + ∂f/∂t · ∂t/∂w");
    assert.equal(chain("x"), "∂f/∂x = ∂f/∂p · ∂p/∂x + ∂f/∂r · ∂r/∂x");
    assert.equal(r.stages.find((s) => s.name === "f")!.chain, undefined);
  });

  it("in LaTeX as products of fractions", () => {
    assert.equal(
      r.inputChains!.w.latex,
      "\\frac{\\partial f}{\\partial w} = \\frac{\\partial f}{\\partial p}\\frac{\\partial p}{\\partial w} + \\frac{\\partial f}{\\partial t}\\frac{\\partial t}{\\partial w}",
    );
    assert.equal(
      r.inputChains!.b.latex,
      "\\frac{\\partial f}{\\partial b} = \\frac{\\partial f}{\\partial r}\\frac{\\partial r}{\\partial b} + \\left.\\frac{\\partial f}{\\partial b}\\right|_{\\text{direct}}",
    );
  });

  it("a stage nothing consumes has a zero chain rule, and the chain goes through it", () => {
    const dead = explain("y = x^2; z = y + w; y", at("x=1,w=2"));
    assert.equal(dead.stages.find((s) => s.name === "z")!.chain, "∂a/∂z = 0   (a does not use z)");
    assert.equal(dead.inputChains!.w.text, "∂a/∂w = ∂a/∂z · ∂z/∂w");
  });

  it("the table, markdown and latex show the expansion column and the chain rule section", () => {
    const table = formatTable(r);
    assert.match(table, /stage\s+value\s+expansion/);
    assert.match(table, /t = s \* w\s+\S+\s+exp\(b \* x\) \* w/);
    assert.match(table, /Chain rule .*\n(?:.*\n)*\s+∂f\/∂b = ∂f\/∂r · ∂r\/∂b \+ ∂f\/∂b \(direct\)/);
    const md = formatMarkdown(r);
    assert.match(md, /\| stage \| equation \| value \| gradient \| expansion \|/);
    assert.match(md, /- \$\\frac\{\\partial f\}\{\\partial w\} = /);
    const latex = formatLatex(r);
    assert.match(latex, /% Expansions/);
    assert.match(latex, /t &= e\^\{b \\cdot x\} \\cdot w/);
    assert.match(latex, /% Chain rule/);
  });

  it("array programs get neither (their stages are not scalar formulas)", () => {
    const a = explain("sum(W x)", at("W=[[1,2],[3,4]],x=[1,1]"));
    assert.ok(a.stages.every((s) => s.expansion === undefined && s.chain === undefined));
    assert.equal(a.inputChains, undefined);
  });
});

describe("expansions of long programs are capped, in bounded work", () => {
  /** 2n stages, each sin(s) * s: every stage uses the previous one twice, so trees double. */
  const doubling = (n: number): string => ["s0 = x + y", ...Array.from({ length: n }, (_, k) => `s${k + 1} = sin(s${k}) * s${k}`)].join("\n");

  it("a 300-stage program: early stages expand, later ones say too long, and no expansion is printed past the cap", () => {
    const staged = stageProgram(parseProgram(doubling(150)));
    assert.equal(staged.stages.length, 301);
    const w0 = workDone();
    const exps = stageExpansions(staged);
    chainRules(staged);
    const work = workDone() - w0;
    // Linear in the stages (each stage expression has a few nodes), not in the 2^150-node trees.
    assert.ok(work < 20 * staged.stages.length, `work ${work}`);
    const last = exps.get(staged.output)!;
    assert.ok(last.size > 1e40);
    const r = explain(doubling(150), at("x=0.3,y=0.2"));
    assert.equal(r.stages[0].expansion, "x + y");
    assert.match(r.stages[r.stages.length - 1].expansion!, /^too long to expand \(over a million nodes; the limit is 200\)$/);
    assert.ok(r.stages.every((s) => s.expansion!.length < 12 * EXPANSION_LIMIT));
    assert.ok(r.derivativesTooLarge);
  });

  it("the table lists long expansions below the stage table, keeping its rows short", () => {
    const table = formatTable(explain(doubling(3), at("x=0.3,y=0.2")));
    assert.doesNotMatch(table, /stage\s+value\s+expansion/);
    assert.match(table, /Expansions \(earlier stages substituted, in terms of the inputs\)\n  s0 = x \+ y\n/);
    assert.ok(table.includes("\n  s2 = sin(sin(x + y) * (x + y)) * (sin(x + y) * (x + y))\n"));
  });

  it("explain's work grows linearly with the program, not with its expansions", () => {
    const work = (n: number) => explainAll(doubling(n), at("x=0.3,y=0.2")).work;
    const [w100, w200] = [work(50), work(100)];
    assert.ok(w200 < 3 * w100, `work ${w100} for 100 stages, ${w200} for 200`);
  });
});
