/**
 * explain's forward mode: tangents from the core's jvp over the staged program (checked against the
 * reverse pass and central differences of the stage values), each mode's operation counts, the table
 * formats, JSON, the SVG figure (tangents in their own colour; the layout rules on every course
 * exercise are checked in figure-geometry.test.ts) and the CLI options.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explain } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { modeVerdict } from "../src/explain/renderers/forward.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { toSvg, TANGENT_COLOR } from "../src/explain/renderers/figures.js";
import { buildGraph } from "../src/explain/renderers/graph.js";
import { defectTotal, figureDefects } from "../src/explain/renderers/geometry.js";
import { cli } from "./cli-helper.js";

const at = (s: string) => parseAssignments(s.split(";"));
const forward = (src: string, values: string, seeds?: string[]): ExplainReport => explain(src, at(values), { forward: { seeds } });

describe("explain forward mode: the report", () => {
  it("gives every name's tangent for each seeded input; the output's equals the reverse pass's gradient", () => {
    const r = forward("(x + y) * z", "x=1,y=3,z=2");
    const f = r.forward!;
    assert.deepEqual(f.seeds, ["x", "y", "z"]);
    assert.deepEqual(f.sweeps[0].tangents, { x: 1, y: 0, z: 0, a: 1, b: 2 });
    assert.deepEqual(f.sweeps[2].tangents, { x: 0, y: 0, z: 1, a: 0, b: 4 });
    assert.deepEqual(
      f.sweeps.map((s) => s.output),
      [r.gradients.x, r.gradients.y, r.gradients.z],
    );
  });

  it("seeds only the inputs named, once each, in the order given", () => {
    const f = forward("(x + y) * z", "x=1,y=3,z=2", ["z", "x", "z"]).forward!;
    assert.deepEqual(f.seeds, ["z", "x"]);
    assert.deepEqual(
      f.sweeps.map((s) => s.output),
      [4, 2],
    );
  });

  it("tangents match central differences of every stage's value (float64)", () => {
    const src = "(ln(x) + sin(y))^2 + 4x * y";
    const x = 1.3;
    const y = 0.7;
    const h = 1e-6;
    const r = forward(src, `x=${x},y=${y}`, ["x"]);
    const plus = explain(src, at(`x=${x + h},y=${y}`));
    const minus = explain(src, at(`x=${x - h},y=${y}`));
    r.stages.forEach((s, i) => {
      const fd = ((plus.stages[i].value as number) - (minus.stages[i].value as number)) / (2 * h);
      const t = r.forward!.sweeps[0].tangents[s.name] as number;
      assert.ok(Math.abs(t - fd) <= 1e-6 * (1 + Math.abs(fd)), `${s.equation}: tangent ${t}, differences ${fd}`);
    });
    assert.ok(Math.abs((r.forward!.sweeps[0].output as number) - (r.gradients.x as number)) < 1e-12);
  });

  it("seeds an array input with ones: the output's tangent is the sum of its gradient", () => {
    const r = forward("sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]];x=[0.2,0.4]", ["x"]);
    const g = r.gradients.x as number[];
    assert.deepEqual(r.forward!.sweeps[0].tangents.x, [1, 1]);
    assert.deepEqual(r.forward!.sweeps[0].tangents.W, [
      [0, 0],
      [0, 0],
    ]);
    assert.ok(Math.abs((r.forward!.sweeps[0].output as number) - (g[0] + g[1])) < 1e-12);
  });

  it("counts each mode's operations: a sweep per input for forward mode, per output for reverse mode", () => {
    const c = forward("(x + y) * z", "x=1,y=3,z=2").forward!.cost;
    // Forward pass 2 ops; a tangent sweep: add 1 + 1 + 1 (sum), mul 1 + 1 + 1; a backward sweep 4 (report.ops).
    assert.deepEqual(c, { inputs: 3, outputs: 1, forwardOps: 2, tangentOps: 6, backwardOps: 4, forwardMode: 2 + 3 * 6, reverseMode: 2 + 1 * 4 });
    assert.match(modeVerdict(c), /^reverse mode wins here \(3\.333× fewer\): n = 3, m = 1; /);
    assert.match(
      modeVerdict({ ...c, inputs: 1, outputs: 5, forwardMode: 8, reverseMode: 22 }),
      /^forward mode wins here \(2\.75× fewer\): n = 1, m = 5; .*forward for one input and many outputs/,
    );
  });

  it("says which seed is not an input, and that abstract functions have no tangents", () => {
    assert.throws(() => forward("x * y", "x=1,y=2", ["q"]), /cannot seed forward mode with 'q': it is not an input \(the inputs are x, y\)/);
    assert.throws(() => explain("fn g; g(x)", at(""), { forward: {} }), /g is an abstract function \(declared with fn\): forward mode needs a definition/);
  });

  it("leaves the report without forward mode as it was", () => {
    const r = explain("(x + y) * z", at("x=1,y=3,z=2"));
    assert.equal(r.forward, undefined);
    assert.doesNotMatch(formatTable(r), /Forward mode/);
  });
});

describe("explain forward mode: renderers", () => {
  const r = forward("(x + y) * z", "x=1,y=3,z=2", ["x", "z"]);

  it("table: tangents beside values and gradients, the output line and each mode's cost", () => {
    const t = formatTable(r);
    assert.match(t, /Forward mode \(one sweep per seeded input/);
    assert.match(t, /name {8}value {3}d\/dx {3}d\/dz {3}gradient \(reverse\)/);
    assert.match(t, /b = a \* z {3}8 {7}2 {6}4 {6}1/);
    assert.match(t, /output b: forward mode db\/dx = 2, db\/dz = 4 \(2 sweeps\); reverse mode gx = 2, gz = 4 \(one sweep\)/);
    assert.match(t, /forward mode: 2 \+ n × 6 = 2 \+ 3 × 6 = 20 ops/);
    assert.match(t, /reverse mode: 2 \+ m × 4 = 2 \+ 1 × 4 = 6 ops/);
  });

  it("markdown and latex carry the same table", () => {
    const m = formatMarkdown(r);
    assert.match(m, /#### Forward mode/);
    assert.match(m, /\| name \| value \| ∂\/∂x \| ∂\/∂z \| gradient \(reverse\) \|/);
    assert.match(m, /\| `b = a \* z` \| 8 \| 2 \| 4 \| 1 \|/);
    const l = formatLatex(r);
    assert.match(l, /name & value & \$\\partial\/\\partial x\$ & \$\\partial\/\\partial z\$ & gradient \(reverse\) \\\\/);
    assert.match(l, /\$b\$ & 8 & 2 & 4 & 1 \\\\/);
    assert.match(l, /forward mode: 2 \+ n \$\\times\$ 6/);
  });

  it("a program without inputs has no sweep, and its tables keep their columns", () => {
    const c = explain("2 * 3", at(""), { forward: {} });
    assert.match(formatTable(c), /output a: no input to seed \(the program has none\), so no sweep/);
    assert.match(formatMarkdown(c), /\| name \| value \| gradient \(reverse\) \|\n\| --- \| --- \| --- \|\n\| `a = 2 \* 3` \| 6 \| 1 \|/);
    assert.match(formatLatex(c), /\\begin\{tabular\}\{lll\}\n\\hline\nname & value & gradient \(reverse\) \\\\/);
  });

  it("several array seeds on one wire read as their shapes when the values would be long", () => {
    const svg = toSvg(forward("sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]];x=[0.2,0.4]"));
    assert.match(svg, /<text class="tan" data-from="W"[^>]*>\(\(2×2\), \(2×2\)\)<\/text>/);
    assert.match(svg, /<text class="tan" data-from="x"[^>]*>\(\[0, 0\], \[1, 1\]\)<\/text>/);
  });

  it("json holds the sweeps and the costs", () => {
    const j = JSON.parse(reportJson(r));
    assert.deepEqual(j.forward.seeds, ["x", "z"]);
    assert.deepEqual(j.forward.sweeps[1].tangents, { x: 0, y: 0, z: 1, a: 0, b: 4 });
    assert.equal(j.forward.cost.reverseMode, 6);
  });

  it("svg: each wire's tangents in their own colour, above the value, with a legend", () => {
    const svg = toSvg(r);
    const tangents = [...svg.matchAll(/<text class="tan" data-from="([^"]+)"[^>]*fill="([^"]+)">([^<]*)<\/text>/g)].map((m) => [m[1], m[2], m[3]]);
    assert.ok(tangents.every(([, colour]) => colour === TANGENT_COLOR));
    assert.deepEqual(
      tangents.map(([from, , text]) => `${from}:${text}`),
      ["x:(1, 0)", "y:(0, 0)", "a:(1, 0)", "z:(0, 1)", "b:(2, 4)"],
    );
    assert.notEqual(TANGENT_COLOR, "#1a7f37");
    assert.notEqual(TANGENT_COLOR, "#1f5fbf");
    assert.match(svg, /tangents d\/d\(x, z\) \(top\)<\/text>/);
    assert.doesNotMatch(toSvg(explain("(x + y) * z", at("x=1,y=3,z=2"))), /class="tan"/);
  });

  it("a figure with tangents keeps the layout rules (all course exercises: figure-geometry.test.ts)", () => {
    const d = figureDefects(buildGraph(r));
    assert.equal(defectTotal(d), 0, d.details.join("; "));
  });
});

describe("explain forward mode: the CLI", () => {
  it("--mode forward --seed-input x prints the forward section; --json the report's forward part", async () => {
    const t = await cli("explain", "(x + y) * z", "--at", "x=1,y=3,z=2", "--mode", "forward", "--seed-input", "x");
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /Forward mode/);
    assert.match(t.out, /output b: forward mode db\/dx = 2 \(1 sweep\)/);
    const j = await cli("explain", "(x + y) * z", "--at", "x=1,y=3,z=2", "--mode", "forward", "--json");
    assert.equal(j.code, 0, j.err);
    assert.deepEqual(JSON.parse(j.out).forward.seeds, ["x", "y", "z"]);
    const rev = await cli("explain", "(x + y) * z", "--at", "x=1,y=3,z=2", "--mode", "reverse", "--json");
    assert.equal(JSON.parse(rev.out).forward, undefined);
  });

  it("one-line errors: unknown mode, unknown seed, seeds without forward mode (as JSON under --json)", async () => {
    const bad = await cli("explain", "x * y", "--at", "x=1,y=2", "--mode", "sideways");
    assert.equal(bad.code, 1);
    assert.equal(bad.err, 'error: unknown --mode "sideways" (use forward or reverse)');
    const seed = await cli("explain", "x * y", "--at", "x=1,y=2", "--mode", "forward", "--seed-input", "q");
    assert.equal(seed.code, 1);
    assert.equal(seed.err, "error: cannot seed forward mode with 'q': it is not an input (the inputs are x, y)");
    const lone = await cli("explain", "x * y", "--at", "x=1,y=2", "--seed-input", "x");
    assert.equal(lone.err, "error: --seed-input needs --mode forward");
    const json = await cli("explain", "x * y", "--at", "x=1,y=2", "--mode", "forward", "--seed-input", "q", "--json");
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.out), { error: "cannot seed forward mode with 'q': it is not an input (the inputs are x, y)" });
  });
});
