/** Graph figures: golden snapshots, colours and placement of values, fan-out, PNG, and TikZ through pdflatex. */
import { describeIf } from "./helpers.js";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { explain } from "../src/explain/report/explain.js";
import { fmtNumber } from "../src/explain/report/report.js";
import { BACKWARD_COLOR, FORWARD_COLOR, toDot, toMermaid, toSvg, toTikz } from "../src/explain/renderers/figures.js";
import { wirePolyline } from "../src/explain/renderers/geometry.js";
import { buildGraph } from "../src/explain/renderers/graph.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { svgToPng } from "../src/cli/png.js";

const report = (src: string, ...at: string[]) => explain(src, parseAssignments(at));
const GOLDEN = join(process.cwd(), "test", "golden");
const ARTIFACTS = join(process.cwd(), "test-artifacts", "figures");
mkdirSync(ARTIFACTS, { recursive: true });

/** Compares with test/golden/NAME (UPDATE_GOLDEN=1 rewrites it). */
function golden(name: string, text: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
    if (process.env.UPDATE_GOLDEN !== "1") assert.fail(`golden file ${name} was missing and has been written; check it in`);
  }
  assert.equal(text, readFileSync(file, "utf8"), `${name} differs from its golden snapshot (UPDATE_GOLDEN=1 to accept)`);
}

interface SvgText {
  x: number;
  y: number;
  fill: string;
  text: string;
}

function texts(svg: string): SvgText[] {
  return [...svg.matchAll(/<text[^>]*? x="([\d.-]+)" y="([\d.-]+)"[^>]*fill="([^"]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    fill: m[3],
    text: m[4],
  }));
}

describe("number formatting on figures", () => {
  it("4 significant digits, scientific below 1e-3, 0 as 0", () => {
    assert.equal(fmtNumber(14.873127), "14.87");
    assert.equal(fmtNumber(0.00012346), "1.235e-4");
    assert.equal(fmtNumber(0), "0");
    assert.equal(fmtNumber(-0.5), "-0.5");
    assert.equal(fmtNumber(2.449e-16), "2.449e-16");
    assert.equal(fmtNumber(Infinity), "inf");
  });
});

describe("figures of (x + y) z at 1, 3, 2", () => {
  const r = report("(x + y) z", "x=1,y=3,z=2");

  it("SVG, TikZ, DOT and Mermaid match their golden snapshots (the layout is deterministic)", () => {
    const svg = toSvg(r);
    assert.equal(svg, toSvg(report("(x + y) z", "x=1,y=3,z=2")));
    golden("q2a.svg", svg);
    golden("q2a.tikz", toTikz(r));
    golden("q2a.dot", toDot(r));
    golden("q2a.mermaid", toMermaid(r));
    writeFileSync(join(ARTIFACTS, "q2a.svg"), svg);
  });

  it("puts each forward value above its wire in green and the gradient below in blue", () => {
    const g = buildGraph(r);
    const svg = toSvg(r, g);
    const t = texts(svg);
    for (const e of g.edges) {
      const nearest = (text: string, fill: string) =>
        t
          .filter((x) => Math.abs(x.x - e.label.x) < 1 && x.text === text && x.fill === fill)
          .sort((a, b) => Math.abs(a.y - e.label.y) - Math.abs(b.y - e.label.y))[0];
      const value = nearest(e.value, FORWARD_COLOR);
      const grad = nearest(e.grad, BACKWARD_COLOR);
      assert.ok(value && grad, `labels of ${e.from} -> ${e.to}`);
      assert.ok(value.y < e.label.y && grad.y > e.label.y, `value above, gradient below on ${e.from} -> ${e.to}`);
    }
    const xa = g.edges.find((e) => e.from === "x" && e.to === "a")!;
    assert.deepEqual([xa.value, xa.grad], ["1", "2"]);
    const zb = g.edges.find((e) => e.from === "z")!;
    assert.deepEqual([zb.value, zb.grad], ["2", "4"]);
  });

  it("DOT colours the wire labels", () => {
    assert.match(toDot(r), /"x" -> "a" \[label=<<font color="#1a7f37">1<\/font><br\/><font color="#1f5fbf">2<\/font>>\];/);
  });
});

describe("fan-out and unused stages", () => {
  it("x * x keeps two wires, and the gradient sum is written at x", () => {
    const r = report("x*x + 2x", "x=3");
    const g = buildGraph(r);
    assert.equal(g.edges.filter((e) => e.from === "x" && e.to === "a").length, 2);
    assert.equal(g.edges.filter((e) => e.from === "x").length, 3);
    assert.equal(g.nodes.find((n) => n.id === "x")?.sum, "3 + 3 + 2 = 8");
    const svg = toSvg(r, g);
    assert.match(svg, /Σ 3 \+ 3 \+ 2 = 8/);
    golden("fanout.svg", svg);
    writeFileSync(join(ARTIFACTS, "fanout.svg"), svg);
  });

  it("a stage the output does not use shows 'not computed', distinct from 0", () => {
    const r = report("u = x^2; (x + y) z", "x=1,y=3,z=2");
    const g = buildGraph(r);
    const xu = g.edges.find((e) => e.to === "u")!;
    assert.equal(xu.computed, false);
    assert.equal(xu.grad, "not computed");
    assert.match(toSvg(r, g), /font-style="italic" fill="#6b7280">not computed</);
    assert.match(toTikz(r, g), /not computed/);
  });

  it("every wire routes around gates: it meets no node but its own two", () => {
    for (const [src, at] of [
      ["(ln(x) + sin(y))^2 + 4x", "x=e,y=pi/2,z=2"],
      ["(y - sigmoid(w2 sigmoid(w1 x + b1) + b2))^2 + lam (w1^2 + w2^2)", "w1=0.5,w2=-1.2,b1=0.1,b2=0.3,x=2,y=1,lam=0.01"],
    ]) {
      const r = report(src, at);
      const g = buildGraph(r);
      for (const e of g.edges) {
        const p = wirePolyline(e);
        for (const n of g.nodes.filter((m) => m.kind !== "output" && m.id !== e.from && m.id !== e.to)) {
          for (let i = 1; i < p.length; i++) {
            // Orthogonal segments: the nearest point of the segment to the node's centre.
            const t = Math.max(
              0,
              Math.min(
                1,
                ((n.x - p[i - 1].x) * (p[i].x - p[i - 1].x) + (n.y - p[i - 1].y) * (p[i].y - p[i - 1].y)) /
                  (Math.hypot(p[i].x - p[i - 1].x, p[i].y - p[i - 1].y) ** 2 || 1),
              ),
            );
            const q = { x: p[i - 1].x + t * (p[i].x - p[i - 1].x), y: p[i - 1].y + t * (p[i].y - p[i - 1].y) };
            const reach = n.kind === "input" ? Math.max(n.r, n.h / 2) : n.r;
            assert.ok(Math.hypot(q.x - n.x, q.y - n.y) > reach, `wire ${e.from} -> ${e.to} runs through ${n.id}`);
          }
        }
      }
      writeFileSync(join(ARTIFACTS, `${src.length > 30 ? "l2" : "q2c"}.svg`), toSvg(r, g));
    }
  });

  it("wires start at their producer and end at their consumer (folded ones too)", () => {
    const r = report("(y - sigmoid(w2 sigmoid(w1 x + b1) + b2))^2 + lam (w1^2 + w2^2)", "w1=0.5,w2=-1.2,b1=0.1,b2=0.3,x=2,y=1,lam=0.01");
    const g = buildGraph(r);
    const node = (id: string) => g.nodes.find((n) => n.id === id)!;
    for (const e of g.edges) {
      const [a, b] = [e.points[0], e.points[e.points.length - 1]];
      const [f, t] = [node(e.from), node(e.to)];
      assert.ok(Math.abs(a.y - f.y) <= Math.max(f.r, f.h / 2) && Math.abs(a.x - f.x) <= f.r + 1, `${e.from} -> ${e.to} starts at ${e.from}`);
      assert.ok(Math.abs(b.y - t.y) <= Math.max(t.r, t.h / 2, 12) && Math.abs(b.x - t.x) <= t.r + 5, `${e.from} -> ${e.to} ends at ${e.to}`);
    }
  });

  it("operands enter their gate top to bottom in operand order", () => {
    const g = buildGraph(report("(x - y) / (y - x)", "x=1,y=3"));
    for (const gate of ["a", "b", "c"]) {
      const [first, second] = [0, 1].map((k) => g.edges.filter((e) => e.to === gate)[k].points.at(-1)!.y);
      assert.ok(first < second, `operands of ${gate}`);
    }
  });
});

describe("arrays on wires, tooltips and TikZ local derivatives", () => {
  const layer = report("(y - sum(sigmoid(W @ x + b)))^2", "W=[[0.5,-0.2],[0.1,0.3],[0.4,0.4]]", "x=[1,-1]", "b=[0,0.1,-0.1]", "y=1.5");

  it("arrays over 6 elements show their shape, small ones their values, in every format", () => {
    const g = buildGraph(layer);
    const wire = (from: string) => g.edges.find((e) => e.from === from)!;
    assert.deepEqual([wire("W").value, wire("W").grad], ["(3×2)", "(3×2)"]);
    assert.deepEqual([wire("x").value, wire("b").value], ["[1, -1]", "[0, 0.1, -0.1]"]);
    // Three elements, but too long to read on a wire: the shape.
    assert.equal(wire("d").value, "(3)");
    assert.match(toSvg(layer, g), /data-from="W"[^>]*>\(3×2\)<\/text>/);
    assert.match(toTikz(layer, g), /node\[above, fwd\] \{\(3\$\\times\$2\)\}/);
    assert.match(toDot(layer, g), /"W" -> "a" \[label=<<font color="#1a7f37">\(3×2\)<\/font>/);
    assert.match(toMermaid(layer, g), /n_W -->\|"\(3×2\) \/ \(3×2\)"\| n_a/);
  });

  it("abbreviated labels keep the full value in an SVG <title> beside the short text", () => {
    const svg = toSvg(layer);
    assert.ok(svg.includes('<g><title>(3×2) [[0.5, -0.2], [0.1, 0.3], [0.4, 0.4]]</title><text class="fwd" data-from="W"'), "W's full value");
    assert.match(svg, /<title>W = \(3×2\) \[\[0.5, -0.2\], \[0.1, 0.3\], \[0.4, 0.4\]\]<\/title><rect/);
    const q2c = toSvg(report("(ln(x) + sin(y))^2 + 4x", "x=e,y=pi/2"));
    assert.match(q2c, /<g><title>2.718281828459045<\/title><text class="fwd" data-from="x"[^>]*>2.718<\/text><\/g>/);
    // A label drawn in full gets no tooltip.
    assert.match(toSvg(r2a()), /<text class="fwd" data-from="x"[^>]*>1<\/text>\n(?!<\/g>)/);
    assert.doesNotMatch(toSvg(r2a()), /<title>1<\/title>/);
    assert.match(toDot(layer), /labeltooltip="\(2\) \[1, -1\] \/ \(2\) \[0.055696558273898536, 0.030791818729689256\]"/);
  });

  it("TikZ writes each local derivative in math where the SVG writes its grey ∂ label", () => {
    const r = report("(ln(x) + sin(y))^2 + 4x", "x=e,y=pi/2");
    const g = buildGraph(r);
    const tikz = toTikz(r, g);
    const svgLocals = g.edges.filter((e) => e.local);
    assert.equal((tikz.match(/\\partial\\, /g) ?? []).length, svgLocals.length);
    const xa = g.edges.find((e) => e.from === "x" && e.local === "1 / x")!;
    const at = `(${(xa.localAt.x * 0.02).toFixed(2)},${((g.height - (xa.localAt.y - 6)) * 0.02).toFixed(2)})`;
    assert.ok(tikz.includes(`\\node[anchor=base east, gray, font=\\scriptsize, inner sep=0pt] at ${at} {$\\partial\\, \\frac{1}{x}$};`), tikz);
    assert.ok(tikz.includes("$\\partial\\, \\cos\\left(y\\right)$"));
    const relu = toTikz(report("relu(x - 1) + x^2", "x=1.7"));
    assert.ok(relu.includes("$\\partial\\, \\mathbb{1}[a > 0]$"));
    // The power gate reads as a power of a placeholder, not a bare raised 2.
    assert.match(relu, /\{\$\\square\^\{2\}\$\};/);
  });
});

function r2a(): ReturnType<typeof report> {
  return report("(x + y) z", "x=1,y=3,z=2");
}

describe("PNG", () => {
  it("renders the SVG at twice its size", async () => {
    const r = report("1/(1+exp(-x))", "x=2");
    const svg = toSvg(r);
    const png = await svgToPng(svg);
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const [w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number);
    assert.equal(view.getUint32(16), 2 * w);
    assert.equal(view.getUint32(20), 2 * h);
    // Not blank: both colours appear somewhere in the image is hard to test without a decoder, but a
    // blank page compresses to far less than this.
    assert.ok(png.length > 10000, `PNG of ${png.length} bytes looks empty`);
    writeFileSync(join(ARTIFACTS, "sigmoid.png"), png);
  });
});

const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;

describeIf("TikZ", hasPdflatex ? false : "pdflatex is not installed (apt-get install texlive-latex-extra texlive-pictures)", () => {
  for (const [name, src, at] of [
    ["tikz-q2c", "(ln(x) + sin(y))^2 + 4x", "x=e,y=pi/2,z=2"],
    ["tikz-fanout", "u = x^2; x * x + 2x", "x=3"],
    ["tikz-matrix", "sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]],x=[0.2,0.4]"],
    ["tikz-layer", "(y - sum(sigmoid(W @ x + b)))^2", "W=[[0.5,-0.2],[0.1,0.3],[0.4,0.4]];x=[1,-1];b=[0,0.1,-0.1];y=1.5"],
    ["tikz-piecewise", "x * x + relu(x - 1) + abs(y) + tanh(x y) + 1/x + sigmoid(y)", "x=1.7,y=-0.4"],
  ]) {
    it(`${src} compiles with pdflatex (standalone class)`, () => {
      const dir = join(ARTIFACTS, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "figure.tex"), toTikz(report(src, ...at.split(";"))));
      const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", "figure.tex"], { cwd: dir, encoding: "utf8", timeout: 120000 });
      assert.equal(r.status, 0, r.stdout.slice(-2000));
      assert.ok(existsSync(join(dir, "figure.pdf")));
    });
  }
});
