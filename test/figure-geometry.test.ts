/**
 * Figures are readable: no node hides another, no label sits on another label, on a node it does not
 * belong to or on a wire not its own, gate texts fit their circles, nothing is cut at the edges, and
 * long figures fold to at most 3:1 (issue 15). Checked on every course exercise of test/explain.test.ts
 * and on seeded random programs; the layout (ELK) is deterministic.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explain } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { toSvg } from "../src/explain/renderers/figures.js";
import { defectTotal, figureDefects, type FigureDefects } from "../src/explain/renderers/geometry.js";
import { buildGraph, figureTexts } from "../src/explain/renderers/graph.js";
import { parseAssignments } from "../src/explain/language/values.js";

/** The course exercises drawn as figures (the programs of test/explain.test.ts). */
export const SEED_PROGRAMS: [string, string, string][] = [
  ["000/004 (x + y) z", "(x + y) z", "x=1,y=3,z=2"],
  ["004 (x^2 + 2y) z^3", "(x^2 + 2y) z^3", "x=3,y=1,z=2"],
  ["000 q2c (ln(x) + sin(y))^2 + 4x", "(ln(x) + sin(y))^2 + 4x", "x=e,y=pi/2,z=2"],
  ["002 (x + y) z", "(x + y) z", "x=-2,y=5,z=-4"],
  ["a * b + c * d * e", "a * b + c * d * e", "a=1,b=2,c=3,d=4"],
  ["000/004 sigmoid", "1/(1+exp(-x))", "x=2"],
  ["sigmoid(x) saturated", "sigmoid(x)", "x=25"],
  ["000 q4 / 004 q6 complex_layer", "ln(x) sigmoid(sqrt(y)) / sigmoid((x + y)^2)", "x=0.8,y=0.3"],
  ["001 easy example", "((w x + b) - y)^2", "w=0.5,x=2,b=0.3,y=1"],
  ["001 Table 1", "(w e^(b x) + ln(w x)) b", "x=0.5,b=1.2,w=2"],
  ["001 tasks 0 and 4", "(sigmoid(w x + b) - y)^2", "w=0.3,x=1.5,b=-0.2,y=1"],
  ["001 task 5: two-layer network with L2", "(y - sigmoid(w2 sigmoid(w1 x + b1) + b2))^2 + lam (w1^2 + w2^2)", "w1=0.5,w2=-1.2,b1=0.1,b2=0.3,x=2,y=1,lam=0.01"],
  ["004 q2a", "x = ln(t); y = t^3/3; z = 2x + y", "t=2"],
  ["004 q2b", "x = t^2\ny = 2t\nz = x^2 y - y^2", "t=1.5"],
  ["004 q2c", "x = 3a + 2b; y = 4a - b; z = 3x^2 - 2x y + y^2", "a=1,b=2"],
  ["004 q7 ||W x||^2", "sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]];x=[0.2,0.4]"],
  ["002 q2e", "0.5 * sum((W2 @ tanh(W1 @ x + b) - y)^2)", "W1=[[0.1,0.2],[0.3,-0.4]];W2=[[1,-1],[0.5,0.5]];x=[1,2];b=[0.1,-0.1];y=[0.5,0.2]"],
  ["002 q2c", "(y - sum(sigmoid(W @ x + b)))^2", "W=[[0.5,-0.2],[0.1,0.3],[0.4,0.4]];x=[1,-1];b=[0,0.1,-0.1];y=1.5"],
  ["unused stage", "u = x^2; (x + y) z", "x=1,y=3,z=2"],
  ["fan-out x * x + 2x", "x*x + 2x", "x=3"],
  ["relu, abs, tanh", "x * x + relu(x - 1) + abs(y) + tanh(x y)", "x=1.7,y=-0.4"],
  ["domain warnings", "ln(x) + 1/y", "x=-1,y=0"],
];

export function seedReport(at: string, src: string): ExplainReport {
  return explain(src, parseAssignments(at.split(";")));
}

/** Deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNARY = ["sin", "cos", "tanh", "sigmoid", "exp", "relu", "abs"];
const BINARY = ["+", "-", "*"];

/** A scalar program of about n stages, one operation a line, with fan-out (names used several times). */
function scalarProgram(n: number, next: () => number): [string, string] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const inputs = ["x", "y", "z", "w", "b"].slice(0, 2 + Math.floor(next() * 4));
  const names = [...inputs];
  const lines: string[] = [];
  for (let k = 1; k < n; k++) {
    // Mostly recent names (deep chains), sometimes anything (long wires, fan-out).
    const recent = () => (next() < 0.7 ? names[Math.max(0, names.length - 1 - Math.floor(next() * 4))] : pick(names));
    const r = next();
    const rhs =
      r < 0.35 ? `${pick(UNARY)}(${recent()})` : r < 0.85 ? `${recent()} ${pick(BINARY)} ${recent()}` : `${(1 + Math.floor(next() * 9)) / 2} * ${recent()}`;
    lines.push(`v${k} = ${rhs}`);
    names.push(`v${k}`);
  }
  lines.push(`v${n - 1} + ${pick(names)}`);
  const at = inputs.map((v) => `${v}=${(next() * 4 - 2).toFixed(2)}`).join(",");
  return [lines.join("\n"), at];
}

/** A small network on arrays: layers of W @ h + b with a nonlinearity, then a squared-error sum. */
function arrayProgram(next: () => number): [string, string] {
  const layers = 1 + Math.floor(next() * 3);
  const acts = ["tanh", "sigmoid", "relu"];
  let h = "x";
  const at: string[] = ["x=[0.5,-1]"];
  for (let l = 1; l <= layers; l++) {
    h = `${acts[Math.floor(next() * acts.length)]}(W${l} @ ${h} + b${l})`;
    at.push(`W${l}=[[0.1,0.2],[-0.3,0.4]]`, `b${l}=[0.1,-0.1]`);
  }
  return [`sum((${h} - y)^2) + 0.01 * sum(W1 * W1)`, [...at, "y=[1,0]"].join(";")];
}

/** 200 seeded programs: scalar ones of 5 to 150 stages, every tenth a network on arrays. */
export function randomPrograms(count = 200, seed = 15): [string, string][] {
  const next = rng(seed);
  return Array.from({ length: count }, (_, i) => (i % 10 === 9 ? arrayProgram(next) : scalarProgram(5 + Math.floor(next() * 146), next)));
}

export function addDefects(a: FigureDefects, b: FigureDefects): FigureDefects {
  return {
    nodeNode: a.nodeNode + b.nodeNode,
    labelLabel: a.labelLabel + b.labelLabel,
    labelNode: a.labelNode + b.labelNode,
    labelWire: a.labelWire + b.labelWire,
    labelOutside: a.labelOutside + b.labelOutside,
    outOfBounds: a.outOfBounds + b.outOfBounds,
    aspect: a.aspect + b.aspect,
    details: [...a.details, ...b.details],
  };
}

const NONE: FigureDefects = { nodeNode: 0, labelLabel: 0, labelNode: 0, labelWire: 0, labelOutside: 0, outOfBounds: 0, aspect: 0, details: [] };

describe("figure geometry on the course exercises", () => {
  for (const [name, src, at] of SEED_PROGRAMS) {
    it(`${name}: no overlaps, nothing cut`, () => {
      const d = figureDefects(buildGraph(seedReport(at, src)));
      assert.deepEqual({ ...d, details: d.details.slice(0, 12) }, NONE, d.details.join("\n"));
    });
    // Forward mode adds a line of tangents above each wire's value (explain --mode forward).
    it(`${name}, with forward-mode tangents: no overlaps, nothing cut`, () => {
      const d = figureDefects(buildGraph(explain(src, parseAssignments(at.split(";")), { forward: {} })));
      assert.deepEqual({ ...d, details: d.details.slice(0, 12) }, NONE, d.details.join("\n"));
    });
  }
});

describe("the checker measures what the SVG draws", () => {
  it("every text the checker knows is in the SVG at the same place (complex_layer)", () => {
    const r = seedReport("x=0.8,y=0.3", "ln(x) sigmoid(sqrt(y)) / sigmoid((x + y)^2)");
    const g = buildGraph(r);
    const svg = toSvg(r, g);
    const drawn = new Set([...svg.matchAll(/<text[^>]*? x="([\d.-]+)" y="([\d.-]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => `${m[1]},${m[2]},${m[3]}`));
    const r1 = (v: number) => String(Math.round(v * 10) / 10);
    const texts = figureTexts(g);
    // Two labels a wire, its local derivative, sums at x and y, 8 stage names and operations, 2 input names, the output, 3 legend entries.
    assert.equal(texts.length, g.edges.length * 2 + g.edges.filter((e) => e.local).length + 2 + 8 + 8 + 2 + 1 + 3);
    for (const t of texts) {
      const text = t.text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      assert.ok(drawn.has(`${r1(t.x)},${r1(t.y)},${text}`), `${t.what} '${t.text}' at ${t.x},${t.y}`);
    }
  });
});

describe("the checker finds each kind of defect", () => {
  const r = () => seedReport("w1=0.5,w2=-1.2,b1=0.1,b2=0.3,x=2,y=1,lam=0.01", "(y - sigmoid(w2 sigmoid(w1 x + b1) + b2))^2 + lam (w1^2 + w2^2)");

  it("a wire's labels moved onto another wire", () => {
    const g = buildGraph(r());
    const [a, b] = [g.edges[0], g.edges.find((e) => e.points.length === 2 && e.from !== g.edges[0].from)!];
    a.label = { x: (b.points[0].x + b.points[1].x) / 2, y: b.points[0].y - 12 };
    assert.ok(figureDefects(g).labelWire > 0);
  });

  it("a gate too small for its operation", () => {
    const g = buildGraph(seedReport("x=1", "sigmoid(x) + x^3"));
    g.nodes.find((n) => n.label === "^3")!.r = 8;
    assert.ok(figureDefects(g).labelOutside > 0);
  });

  it("a long figure in one row", () => {
    const g = buildGraph(r());
    g.width = 4 * (g.height + 40);
    assert.equal(figureDefects(g).aspect, 1);
  });
});

describe("figure geometry on random programs", () => {
  it("200 seeded programs of 5 to 150 stages stay within the defect bound", () => {
    let total = NONE;
    for (const [src, at] of randomPrograms()) total = addDefects(total, figureDefects(buildGraph(seedReport(at, src))));
    assert.equal(defectTotal(total), 0, JSON.stringify({ ...total, details: total.details.slice(0, 20) }, null, 1));
  });

  it("the same program gives the same SVG", () => {
    for (const [src, at] of randomPrograms(10, 7)) assert.equal(toSvg(seedReport(at, src)), toSvg(seedReport(at, src)));
  });
});
