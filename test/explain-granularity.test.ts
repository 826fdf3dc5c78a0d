/**
 * Granularity: every gate (sigmoid, tanh, mse, softmax_ce, linear, softmax) explained as one stage and staged into
 * primitives gives the same gradients (to 1e-12 in float64), equal to the gate's closed form, with the
 * expected number of extra stages; --compare-granularity in every format it prints; its errors.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { explainAll } from "../src/explain/report/explain.js";
import { compareGranularity } from "../src/explain/report/granularity.js";
import { generateCode } from "../src/explain/interpreters/codegen.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { type Gate } from "../src/explain/language/gates.js";
import { cli } from "./cli-helper.js";

type Point = Record<string, number | number[] | number[][]>;

interface GateCase {
  gate: Gate;
  program: string;
  /** Stages the primitive view adds per call of the gate. */
  extra: number;
  points: Point[];
  /** The gradients by the gate's closed form, per input (independent of the engine). */
  expected: (p: Point) => Record<string, number[]>;
}

const flat = (x: number | number[] | number[][]): number[] => (typeof x === "number" ? [x] : ((x as (number | number[])[]).flat() as number[]));
const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** Softmax over all elements, the gate's definition. */
function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** W @ x + b with vectors as (n, 1) columns: the rows of a matrix, or a vector as one column. */
const rows = (x: number | number[] | number[][]): number[][] =>
  typeof x === "number" ? [[x]] : Array.isArray(x[0]) ? (x as number[][]) : (x as number[]).map((v) => [v]);

/** d/dW, d/dx, d/db of sum(c ⊙ (W x + b)) for W (m, n), x (n,) or (n, k), b and c of the output's shape. */
function linearGrads(p: Point): Record<string, number[]> {
  const [W, X, C] = [rows(p.W), rows(p.x), rows(p.c)];
  const [m, n, k] = [W.length, X.length, X[0].length];
  const gW = W.map((_, i) => Array.from({ length: n }, (_, j) => Array.from({ length: k }, (_, l) => C[i][l] * X[j][l]).reduce((a, b) => a + b, 0)));
  const gx = X.map((_, j) => Array.from({ length: k }, (_, l) => Array.from({ length: m }, (_, i) => W[i][j] * C[i][l]).reduce((a, b) => a + b, 0)));
  return { W: gW.flat(), x: gx.flat(), b: flat(p.c) };
}

const CASES: GateCase[] = [
  {
    gate: "sigmoid",
    program: "sum(sigmoid(x))",
    extra: 3,
    points: [
      { x: 2 },
      { x: -3.5 },
      { x: 0 },
      { x: [-1, 0.25, 2.5] },
      {
        x: [
          [0.5, -2],
          [4, 1e-3],
        ],
      },
    ],
    expected: (p) => ({ x: flat(p.x).map((x) => sig(x) * (1 - sig(x))) }),
  },
  {
    gate: "tanh",
    program: "sum(tanh(x))",
    extra: 5,
    points: [
      { x: 1 },
      { x: -0.7 },
      { x: 0 },
      { x: [-2, 0.3, 1.5] },
      {
        x: [
          [0.1, -0.4],
          [2, -3],
        ],
      },
    ],
    expected: (p) => ({ x: flat(p.x).map((x) => 1 - Math.tanh(x) ** 2) }),
  },
  {
    gate: "mse",
    program: "mse(p, y)",
    extra: 2,
    points: [
      { p: 2, y: 0.5 },
      { p: -1, y: 3 },
      { p: [1, 2, 3], y: [0.5, 2, 4.5] },
      {
        p: [
          [1, -2],
          [0.5, 3],
        ],
        y: [
          [0, 0],
          [1, 1],
        ],
      },
    ],
    expected: (pt) => {
      const [p, y] = [flat(pt.p), flat(pt.y)];
      const d = p.map((v, i) => (2 * (v - y[i])) / p.length);
      return { p: d, y: d.map((v) => -v) };
    },
  },
  {
    gate: "softmax_ce",
    program: "softmax_ce(z, y)",
    extra: 6,
    points: [
      { z: [1, 2, 3], y: [0, 0, 1] },
      { z: [0.5, -1, 2, 0], y: [0.1, 0.2, 0.3, 0.4] },
      {
        z: [
          [1, 0],
          [-1, 2],
        ],
        y: [
          [0, 1],
          [0, 0],
        ],
      },
      { z: 1.5, y: 1 },
    ],
    expected: (pt) => {
      const [z, y] = [flat(pt.z), flat(pt.y)];
      const s = softmax(z);
      const total = y.reduce((a, b) => a + b, 0);
      return { z: s.map((v, i) => total * v - y[i]), y: s.map((v) => -Math.log(v)) };
    },
  },
  {
    gate: "linear",
    program: "sum(c * linear(W, x, b))",
    extra: 1,
    points: [
      {
        W: [
          [1, -2, 0.5],
          [0.3, 0.8, -1],
        ],
        x: [1, 0.5, -1],
        b: [0.1, -0.2],
        c: [2, -1],
      },
      { W: [[2]], x: [3], b: [1], c: [0.5] },
      {
        W: [
          [1, 2],
          [3, 4],
          [-1, 0.5],
        ],
        x: [
          [1, 0, 2],
          [-1, 0.5, 1],
        ],
        b: [
          [0.1, 0.2, 0.3],
          [0, 0, 0],
          [1, 1, 1],
        ],
        c: [
          [1, 2, 3],
          [-1, 0.5, 0],
          [0.2, 0.2, 0.2],
        ],
      },
    ],
    expected: linearGrads,
  },
  {
    gate: "softmax",
    program: "sum(c * softmax(z))",
    extra: 2,
    points: [
      { z: [1, 2, 3], c: [0.5, -1, 2] },
      { z: [0.5, -1, 2, 0], c: [1, 1, 1, 1] },
      {
        z: [
          [1, 0],
          [-1, 2],
        ],
        c: [
          [1, 0],
          [0, 3],
        ],
      },
      { z: 1.5, c: 2 },
    ],
    expected: (pt) => {
      const [z, c] = [flat(pt.z), flat(pt.c)];
      const s = softmax(z);
      const sc = s.reduce((a, v, i) => a + v * c[i], 0);
      return { z: s.map((v, i) => v * (c[i] - sc)), c: s };
    },
  },
];

const at = (p: Point): string[] => Object.entries(p).map(([k, v]) => `${k}=${JSON.stringify(v)}`);

/** Float64 agreement to 1e-12, relative to the larger magnitude (absolute below 1). */
function close(a: readonly number[], b: readonly number[], what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= 1e-12 * Math.max(1, Math.abs(x), Math.abs(b[i])), `${what}[${i}]: ${x} vs ${b[i]}`));
}

describe("granularity: each gate as one stage and staged into primitives", () => {
  for (const c of CASES) {
    for (const p of c.points) {
      it(`${c.program} at ${at(p).join(", ")}`, () => {
        const given = parseAssignments(at(p));
        const gates = explainAll(c.program, given, { granularity: "gates" });
        const prims = explainAll(c.program, given, { granularity: "primitives" });
        // The gate is one stage in one view and absent (written in primitives) from the other.
        assert.equal(gates.report.stages.filter((s) => s.op === c.gate).length, 1);
        assert.equal(prims.report.stages.filter((s) => s.op === c.gate).length, 0);
        assert.equal(prims.report.stages.length - gates.report.stages.length, c.extra);
        const want = c.expected(p);
        for (const name of Object.keys(want)) {
          const g = Array.from(gates.grads.get(name)!.data);
          const q = Array.from(prims.grads.get(name)!.data);
          close(g, q, `d/d${name}, gates vs primitives`);
          close(g, want[name], `d/d${name}, gates vs the closed form`);
        }
        close([gates.values.get(gates.staged.output)!.item()], [prims.values.get(prims.staged.output)!.item()], "the output");
        const { comparison } = compareGranularity(c.program, given);
        assert.equal(comparison.agree, true);
        assert.deepEqual(comparison.stageCounts, { gates: gates.report.stages.length, primitives: prims.report.stages.length });
      });
    }
  }

  it("all gates in one program: the stage counts add up and the gradients agree", () => {
    const program = "h = tanh(w*x); p = sigmoid(h); L = mse(p, t) + softmax_ce(z, q)";
    const given = parseAssignments(["w=0.5,x=2,t=0.3", "z=[1,-1,0.5]", "q=[0.2,0.5,0.3]"]);
    const { comparison } = compareGranularity(program, given);
    assert.equal(comparison.stageCounts.primitives - comparison.stageCounts.gates, 5 + 3 + 2 + 6);
    assert.equal(comparison.agree, true);
    assert.deepEqual(
      comparison.gradients.map((g) => g.name),
      ["w", "x", "t", "z", "q"],
    );
  });

  it("the gates' local derivatives are the core's VJP rules read back: σ(1 − σ), 1 − tanh², 2p − 2y", () => {
    const local = (program: string, values: string) => explainAll(program, parseAssignments([values])).report.stages[0].local;
    assert.deepEqual(local("sigmoid(x)", "x=2"), { x: "sigmoid(x) * (1 - sigmoid(x))" });
    assert.deepEqual(local("tanh(x)", "x=2"), { x: "1 - tanh(x)^2" });
    assert.deepEqual(local("mse(p, y)", "p=2,y=0.5"), { p: "2p - 2y", y: "2y - 2p" });
  });

  it("sigmoid in primitives is the seeds' four gates, with their local values at x = 2", () => {
    const r = explainAll("sigmoid(x)", parseAssignments(["x=2"]), { granularity: "primitives" }).report;
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = -x", "b = exp(a)", "c = 1 + b", "d = 1 / c"],
    );
    // Gate four's local derivative -1/c^2 = -0.78 (the seeds' worked answer), and dx = 0.105.
    assert.equal(r.stages[3].local.c, "-1 / c^2");
    assert.ok(Math.abs(r.stages[3].localValue.c! + 0.7758) < 1e-4);
    assert.ok(Math.abs((r.gradients.x as number) - 0.104994) < 1e-6);
  });

  it("the default is gates, and a user's name lands on the gate's last primitive stage", () => {
    const given = parseAssignments(["x=1"]);
    assert.equal(explainAll("y = sigmoid(x); 2y", given).report.stages[0].equation, "y = sigmoid(x)");
    const prims = explainAll("y = sigmoid(x); 2y", given, { granularity: "primitives" }).report.stages;
    assert.deepEqual(
      prims.map((s) => s.equation),
      ["a = -x", "b = exp(a)", "c = 1 + b", "y = 1 / c", "d = 2y"],
    );
  });

  it("tanh in primitives stages e^u and e^-u once each, each fanning out to two stages", () => {
    const r = explainAll("tanh(x)", parseAssignments(["x=0.5"]), { granularity: "primitives" }).report;
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = exp(x)", "b = -x", "c = exp(b)", "d = a - c", "f = a + c", "g = d / f"],
    );
  });

  it("constant gate calls are not staged in either view; deep nesting stays linear", () => {
    const given = parseAssignments(["x=1"]);
    const { comparison } = compareGranularity("x + sigmoid(2) + mse(1, 3)", given);
    assert.equal(comparison.stageCounts.gates, comparison.stageCounts.primitives);
    const deep = "tanh(".repeat(40) + "x" + ")".repeat(40);
    assert.equal(explainAll(deep, given, { granularity: "primitives" }).report.stages.length, 40 * 6);
  });

  it("a program with abstract functions has no gradients to compare", async () => {
    const { comparison } = compareGranularity("fn g; sigmoid(g(x))", new Map());
    assert.deepEqual(comparison.gradients, []);
    assert.deepEqual(comparison.stageCounts, { gates: 2, primitives: 5 });
    const r = await cli("explain", "fn g; sigmoid(g(x))", "--compare-granularity");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /no gradients to compare: a program with abstract functions has no values/);
  });

  it("generated code writes each gate as one line in the gates view and its primitives in the other", () => {
    const given = parseAssignments(["p=[1,2]", "y=[0,1]"]);
    const gates = generateCode(explainAll("mse(p, y)", given), ["p", "y"], "python");
    assert.match(gates, /a = np\.mean\(\(p - y\) \*\* 2\)/);
    const prims = generateCode(explainAll("mse(p, y)", given, { granularity: "primitives" }), ["p", "y"], "python");
    assert.match(prims, /a = p - y/);
  });

  it("linear and softmax: local derivatives read back from the core's VJP, the lecture's matrix rules in both views", () => {
    const given = parseAssignments(["W=[[1,-2,0.5],[0.3,0.8,-1]]", "x=[1,0.5,-1]", "b=[0.1,-0.2]", "y=[0,1]"]);
    const program = "L = softmax_ce(linear(W, x, b), y)";
    const gates = explainAll(program, given).report;
    assert.equal(gates.stages[0].equation, "a = linear(W, x, b)");
    assert.equal(gates.stages[0].local.b, "ga");
    assert.equal(gates.stages[0].rule?.W?.text, "∂L/∂W = (∂L/∂a) xᵀ");
    const prims = explainAll(program, given, { granularity: "primitives" }).report;
    for (const r of [gates, prims]) {
      assert.equal(r.matrixDerivatives?.W?.text, "∂L/∂W = δ1 xᵀ");
      assert.equal(r.matrixDerivatives?.x?.text, "∂L/∂x = Wᵀ δ1");
      assert.equal(r.matrixDerivatives?.b?.text, "∂L/∂b = δ1");
    }
    assert.equal(gates.matrixDerivatives?.["δ1"]?.text, "δ1 = softmax(W x + b) · sum(y) − y");
    // LaTeX's Σ takes parentheses as an operand: Σ y − y would read as Σ (y − y).
    assert.equal(gates.matrixDerivatives?.["δ1"]?.latex, "\\delta_{1} = \\operatorname{softmax}(W\\,x + b) \\cdot \\left(\\textstyle\\sum y\\right) - y");
    const soft = explainAll("s = softmax(z); L = sum(s * y)", parseAssignments(["z=[1,2,3]", "y=[0,1,0]"])).report;
    assert.equal(soft.stages[0].rule?.z?.text, "∂L/∂z = s ⊙ (∂L/∂s − sum(s ⊙ ∂L/∂s))");
  });
});

describe("explain --granularity and --compare-granularity (CLI)", () => {
  it("--granularity primitives stages the gate, and the JSON report says which granularity made it", async () => {
    const r = await cli("explain", "sigmoid(x)", "--at", "x=2", "--granularity", "primitives", "--json");
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out) as { granularity: string; stages: { equation: string }[] };
    assert.equal(j.stages.length, 4);
    assert.equal(j.granularity, "primitives");
    const d = await cli("explain", "sigmoid(x)", "--at", "x=2", "--json");
    assert.equal((JSON.parse(d.out) as { granularity: string }).granularity, "gates");
    const both = await cli("explain", "sigmoid(x)", "--at", "x=2", "--compare-granularity", "--json");
    const c = JSON.parse(both.out) as { granularity: { gates: { granularity: string }; primitives: { granularity: string } } };
    assert.deepEqual([c.granularity.gates.granularity, c.granularity.primitives.granularity], ["gates", "primitives"]);
  });

  for (const [format, marks] of [
    ["table", ["=== Gates, one stage each (1 stages) ===", "=== Gates staged into primitives (4 stages) ===", "gradients agree"]],
    ["markdown", ["## Gates, one stage each (1 stages)", "## Gates staged into primitives (4 stages)", "| x | 0.105 | 0.105 |"]],
    ["latex", ["% Gates, one stage each (1 stages)", "\\begin{tabular}{lllll}", "& yes \\\\"]],
  ] as const) {
    it(`--compare-granularity --format ${format}`, async () => {
      const r = await cli("explain", "sigmoid(x)", "--at", "x=2", "--compare-granularity", "--format", format);
      assert.equal(r.code, 0, r.err);
      for (const m of marks) assert.ok(r.out.includes(m), `${format} lacks ${m}:\n${r.out}`);
    });
  }

  it("--compare-granularity --json: both reports, the stage counts and the gradients side by side", async () => {
    const r = await cli("explain", "sum(tanh(x))", "--at", "x=[0.5,-1]", "--compare-granularity", "--json");
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      granularity: {
        stageCounts: { gates: number; primitives: number };
        gradients: { name: string; gates: number[]; primitives: number[]; agree: boolean }[];
        gates: { stages: unknown[] };
        primitives: { stages: unknown[] };
        agree: boolean;
      };
    };
    assert.deepEqual(j.granularity.stageCounts, { gates: 2, primitives: 7 });
    assert.equal(j.granularity.gates.stages.length, 2);
    assert.equal(j.granularity.primitives.stages.length, 7);
    assert.equal(j.granularity.agree, true);
    close(
      j.granularity.gradients[0].gates,
      [0.5, -1].map((x) => 1 - Math.tanh(x) ** 2),
      "gates",
    );
  });

  it("clear one-line errors", async () => {
    const bad = await cli("explain", "sigmoid(x)", "--at", "x=2", "--granularity", "prims");
    assert.equal(bad.code, 1);
    assert.equal(bad.err, 'error: --granularity must be gates or primitives, got "prims"');
    const both = await cli("explain", "sigmoid(x)", "--at", "x=2", "--granularity", "gates", "--compare-granularity");
    assert.equal(both.err, "error: --compare-granularity shows both granularities: leave out --granularity");
    const svg = await cli("explain", "sigmoid(x)", "--at", "x=2", "--compare-granularity", "--format", "svg");
    assert.equal(svg.err, "error: --compare-granularity prints table, markdown, latex, json, not svg");
    const json = await cli("explain", "sigmoid(x)", "--at", "x=2", "--granularity", "none", "--json");
    assert.deepEqual(JSON.parse(json.out), { error: '--granularity must be gates or primitives, got "none"' });
    const code = await cli("explain", "sum(linear(W, x, b))", "--at", "W=[[1,2]],x=[1,1],b=[1,2,3]", "--format", "python");
    assert.equal(code.code, 1);
    assert.match(code.err, /^error: code for a = linear\(W, x, b\) needs b to fit W @ x .*--granularity primitives/);
    const arity = await cli("explain", "softmax(x, y)", "--at", "x=1,y=2");
    assert.match(arity.err, /softmax/);
  });
});
