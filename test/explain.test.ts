/**
 * The explainer against every exercise of the course documents that asks for a decomposition, a
 * forward/backward pass, a derivative or code; symbolic derivatives against numeric gradients on random
 * expressions; generated TypeScript and Python run and compared with the engine.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { type ExplainReport, type Value } from "../src/explain/report/report.js";
import { generateCode } from "../src/explain/interpreters/codegen.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { cli } from "./cli-helper.js";
import { randomExpression } from "./explain-parser.test.js";
import { PYTHON, PYTHON_HAS_NUMPY } from "./python.js";

function run(src: string, ...at: string[]): ExplainReport {
  return explain(src, parseAssignments(at), { check: true });
}

function close(a: Value | null, b: number, tol = 1e-9): void {
  assert.equal(typeof a, "number", `expected a number, got ${JSON.stringify(a)}`);
  assert.ok(Math.abs((a as number) - b) <= tol * (1 + Math.abs(b)), `${a} != ${b}`);
}

/** Evaluates a derivative string (it must parse back) at the given values. */
function evalAt(expr: string, at: string): number {
  return explain(expr, parseAssignments([at])).value as number;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

describe("seeds 000 / 004: staged computation (compute and conquer)", () => {
  it("(x + y) z: two stages, f = 8 and gradients 2, 2, 4 at 1, 3, 2", () => {
    const r = run("(x + y) z", "x=1,y=3,z=2");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = x + y", "b = a * z"],
    );
    assert.equal(r.value, 8);
    assert.deepEqual(r.gradients, { x: 2, y: 2, z: 4 });
    assert.deepEqual(
      r.stages.map((s) => s.local),
      [
        { x: "1", y: "1" },
        { a: "z", z: "a" },
      ],
    );
  });

  it("(x^2 + 2y) z^3: the seeds' five stages, h = 88, gradients 48, 16, 132 at 3, 1, 2", () => {
    const r = run("(x^2 + 2y) z^3", "x=3,y=1,z=2");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = x^2", "b = 2y", "c = a + b", "d = z^3", "f = c * d"],
    );
    assert.deepEqual(
      r.stages.map((s) => s.op),
      ["pow", "mul", "add", "pow", "mul"],
    );
    assert.equal(r.value, 88);
    assert.deepEqual(r.gradients, { x: 48, y: 16, z: 132 });
    assert.deepEqual(
      r.stages.map((s) => s.local),
      [{ x: "2x" }, { y: "2" }, { a: "1", b: "1" }, { z: "3z^2" }, { c: "d", d: "c" }],
    );
    assert.deepEqual(
      r.stages.map((s) => s.grad),
      [8, 8, 8, 11, 1],
    );
  });

  it("(ln(x) + sin(y))^2 + 4x: six stages, the fan-out sum at x, zero for z, and the dead gradient at cos(pi/2)", () => {
    const r = run("(ln(x) + sin(y))^2 + 4x", "x=e", "y=pi/2", "z=2");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = ln(x)", "b = sin(y)", "c = a + b", "d = c^2", "f = 4x", "g = d + f"],
    );
    close(r.value, 4 + 4 * Math.E);
    close(r.gradients.x, 4 / Math.E + 4);
    close(r.gradients.y, 0, 1e-15);
    assert.equal(r.gradients.z, 0);
    const intoX = r.edges.filter((e) => e.from === "x");
    assert.deepEqual(
      intoX.map((e) => e.to),
      ["f", "a"],
    );
    close(intoX[0].contribution, 4);
    close(intoX[1].contribution, 4 / Math.E);
    assert.match(formatTable(r), /gx = 4 \+ 1\.472 = 5\.472/);
    assert.ok(r.warnings.some((w) => /dead gradient: stage b = sin\(y\)/.test(w)));
    assert.equal(r.derivatives?.z, "0");
    close(evalAt(r.derivatives!.x, "x=1.3,y=0.4"), (2 * (Math.log(1.3) + Math.sin(0.4))) / 1.3 + 4);
    assert.ok(r.check!.every((c) => c.ok));
  });

  it("002: (x + y) z at -2, 5, -4", () => {
    const r = run("(x + y) z", "x=-2,y=5,z=-4");
    assert.equal(r.value, -12);
    assert.deepEqual(r.gradients, { x: -4, y: -4, z: 3 });
  });

  it("a stage name never takes an input's name or e", () => {
    const r = run("a * b + c * d * e", "a=1,b=2,c=3,d=4");
    assert.deepEqual(
      r.stages.map((s) => s.name),
      ["f", "g", "h", "i"],
    );
  });
});

describe("seeds 000 / 004: sigmoid", () => {
  const r = explain("1/(1+exp(-x))", parseAssignments(["x=2"]), { step: 0.2, check: true });

  it("has the four stages negate, exp, add 1, reciprocal", () => {
    assert.deepEqual(
      r.stages.map((s) => s.op),
      ["neg", "exp", "add", "reciprocal"],
    );
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = -x", "b = exp(a)", "c = 1 + b", "d = 1 / c"],
    );
    assert.deepEqual(
      r.stages.map((s) => s.local),
      [{ x: "-1" }, { a: "exp(a)" }, { b: "1" }, { c: "-1 / c^2" }],
    );
  });

  it("gives the seeds' gate-by-gate numbers: -0.78, -0.78, -0.10, 0.10", () => {
    const g = r.stages.map((s) => s.grad as number);
    close(g[3], 1);
    assert.equal(Number((r.stages[3].localValue.c as number).toFixed(2)), -0.78);
    assert.equal(Number(g[2].toFixed(2)), -0.78);
    assert.equal(Number(g[1].toFixed(2)), -0.78);
    assert.equal(Number(g[0].toFixed(2)), -0.1);
    close(r.gradients.x, sig(2) * (1 - sig(2)));
  });

  it("takes one gradient-descent step: x = 2 -> 1.98", () => {
    const u = r.step!.updates[0];
    assert.equal(u.from, 2);
    assert.equal(Number((u.to as number).toFixed(2)), 1.98);
    assert.match(formatTable(r), /x = 2 -> 1\.979/);
  });

  it("the symbolic derivative equals sigma(1 - sigma) (001 task 3)", () => {
    for (const x of [-3, 0, 0.5, 2]) close(evalAt(r.derivatives!.x, `x=${x}`), sig(x) * (1 - sig(x)));
  });

  it("warns about saturation: sigmoid'(25) = 1.4e-11", () => {
    const s = run("sigmoid(x)", "x=25");
    assert.ok(
      s.warnings.some((w) => /saturation: stage a = sigmoid\(x\): sigmoid'\(25\) = 1\.389e-11/.test(w)),
      s.warnings.join("\n"),
    );
    assert.deepEqual(s.stages[0].local, { x: "sigmoid(x) * (1 - sigmoid(x))" });
  });
});

describe("seeds 000 q4 / 004 q6: complex_layer", () => {
  const src = "ln(x) sigmoid(sqrt(y)) / sigmoid((x + y)^2)";
  it("forward value and gradients match the closed form", () => {
    const x = 0.8,
      y = 0.3;
    const r = run(src, `x=${x},y=${y}`);
    const s = (v: number) => sig(v);
    const f = (Math.log(x) * s(Math.sqrt(y))) / s((x + y) ** 2);
    close(r.value, f);
    const h = (x + y) ** 2;
    const dh = (-(Math.log(x) * s(Math.sqrt(y))) / s(h) ** 2) * s(h) * (1 - s(h)) * 2 * (x + y);
    close(r.gradients.x, s(Math.sqrt(y)) / x / s(h) + dh);
    close(r.gradients.y, (Math.log(x) * s(Math.sqrt(y)) * (1 - s(Math.sqrt(y)))) / (2 * Math.sqrt(y)) / s(h) + dh);
    assert.ok(r.check!.every((c) => c.ok));
    assert.deepEqual(
      r.stages.map((s2) => s2.op),
      ["ln", "sqrt", "sigmoid", "mul", "add", "pow", "sigmoid", "div"],
    );
  });
});

describe("seed 001: local gradients, Table 1 and the tasks", () => {
  it("easy example: L = ((w x + b) - y)^2 has dL/dw = 2x(wx + b - y)", () => {
    const r = run("((w x + b) - y)^2", "w=0.5,x=2,b=0.3,y=1");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = w * x", "c = a + b", "d = c - y", "f = d^2"],
    );
    close(r.gradients.w, 2 * 2 * (0.5 * 2 + 0.3 - 1));
    close(r.gradients.b, 2 * (0.5 * 2 + 0.3 - 1));
    close(evalAt(r.derivatives!.w, "w=1.5,x=-2,b=0.1,y=0.7"), 2 * -2 * (1.5 * -2 + 0.1 - 0.7));
  });

  it("Table 1: f = (w e^(bx) + ln(w x)) b, the breakdown and df/db = b w x e^(bx) + w e^(bx) + ln(w x)", () => {
    const r = run("(w e^(b x) + ln(w x)) b", "x=0.5,b=1.2,w=2");
    assert.deepEqual(
      r.stages.map((s) => s.equation),
      ["a = b * x", "c = exp(a)", "d = w * c", "f = w * x", "g = ln(f)", "h = d + g", "i = h * b"],
    );
    assert.deepEqual(r.stages[1].local, { a: "exp(a)" });
    assert.deepEqual(r.stages[4].local, { f: "1 / f" });
    const [x, b, w] = [0.7, -0.4, 1.3];
    const want = b * w * x * Math.exp(b * x) + w * Math.exp(b * x) + Math.log(w * x);
    close(evalAt(r.derivatives!.b, `x=${x},b=${b},w=${w}`), want);
    // Task 2: df/dw = b (e^(bx) + 1/w)
    close(evalAt(r.derivatives!.w, `x=${x},b=${b},w=${w}`), b * (Math.exp(b * x) + 1 / w));
  });

  it("Tasks 0 and 4: L = (sigma(w x + b) - y)^2, with sigma kept as sigma", () => {
    const r = run("(sigmoid(w x + b) - y)^2", "w=0.3,x=1.5,b=-0.2,y=1");
    assert.match(r.derivatives!.w, /sigmoid\(/);
    assert.doesNotMatch(r.derivatives!.w, /exp/);
    const [w, x, b, y] = [0.3, 1.5, -0.2, 1];
    const s = sig(w * x + b);
    close(evalAt(r.derivatives!.w, `w=${w},x=${x},b=${b},y=${y}`), 2 * (s - y) * s * (1 - s) * x);
    close(evalAt(r.derivatives!.b, `w=${w},x=${x},b=${b},y=${y}`), 2 * (s - y) * s * (1 - s));
  });

  it("Task 5: a two-layer scalar network with L2 regularization", () => {
    const src = "(y - sigmoid(w2 sigmoid(w1 x + b1) + b2))^2 + lam (w1^2 + w2^2)";
    const at = "w1=0.5,w2=-1.2,b1=0.1,b2=0.3,x=2,y=1,lam=0.01";
    const r = run(src, at);
    assert.ok(
      r.check!.every((c) => c.ok),
      JSON.stringify(r.check),
    );
    const [w1, w2, b1, b2, x, y, lam] = [0.5, -1.2, 0.1, 0.3, 2, 1, 0.01];
    const h = sig(w1 * x + b1);
    const o = sig(w2 * h + b2);
    const dOut = -2 * (y - o) * o * (1 - o);
    close(r.gradients.w2, dOut * h + 2 * lam * w2);
    close(r.gradients.b2, dOut);
    close(r.gradients.w1, dOut * w2 * h * (1 - h) * x + 2 * lam * w1);
    close(r.gradients.b1, dOut * w2 * h * (1 - h));
    for (const n of ["w1", "w2", "b1", "b2"]) close(evalAt(r.derivatives![n], at), r.gradients[n] as number);
  });
});

describe("seed 004 q2: chain rule through definitions", () => {
  it("(a) z = 2x + y, x = ln(t), y = t^3/3: dz/dt = 2/t + t^2", () => {
    const r = run("x = ln(t); y = t^3/3; z = 2x + y", "t=2");
    assert.deepEqual(
      r.stages.filter((s) => ["x", "y", "z"].includes(s.name)).map((s) => s.name),
      ["x", "y", "z"],
    );
    close(r.gradients.t, 2 / 2 + 4);
    assert.equal(r.derivatives!.t, "2 / t + t^2");
  });

  it("(b) z = x^2 y - y^2, x = t^2, y = 2t: dz/dt = 10t^4 - 8t", () => {
    const r = run("x = t^2\ny = 2t\nz = x^2 y - y^2", "t=1.5");
    close(r.gradients.t, 10 * 1.5 ** 4 - 8 * 1.5);
    for (const t of [0.3, 2]) close(evalAt(r.derivatives!.t, `t=${t}`), 10 * t ** 4 - 8 * t);
  });

  it("(c) z = 3x^2 - 2xy + y^2 with x = 3a + 2b, y = 4a - b", () => {
    const r = run("x = 3a + 2b; y = 4a - b; z = 3x^2 - 2x y + y^2", "a=1,b=2");
    const [x, y] = [3 + 4, 4 - 2];
    const [zx, zy] = [6 * x - 2 * y, -2 * x + 2 * y];
    close(r.gradients.a, 3 * zx + 4 * zy);
    close(r.gradients.b, 2 * zx - zy);
  });

  it("errors: a name used before its definition, defined twice, or also given with --at", () => {
    assert.throws(() => run("y = x + 1; x = 2t; y", "t=1"), /'x' is used before its definition/);
    assert.throws(() => run("x = t; x = 2t; x", "t=1"), /'x' is defined twice/);
    assert.throws(() => run("x = 2t; x", "t=1,x=3"), /'x' is defined in the program/);
    assert.throws(() => run("x + y", "x=1"), /missing value for input 'y'/);
  });
});

describe("vectors and matrices (002, 003, 004 q7)", () => {
  it("004 q7: ||W x||^2 at the given W and x", () => {
    const r = run("sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]");
    close(r.value, 0.116, 1e-12);
    assert.deepEqual(
      r.stages.map((s) => s.shape),
      [[2], [2], []],
    );
    const gW = r.gradients.W as number[][];
    const want = [
      [0.088, 0.176],
      [0.104, 0.208],
    ];
    want.forEach((row, i) => row.forEach((w, j) => close(gW[i][j], w, 1e-12)));
    const gx = r.gradients.x as number[];
    close(gx[0], -0.112, 1e-12);
    close(gx[1], 0.636, 1e-12);
    assert.ok(r.check!.every((c) => c.ok));
    assert.equal(r.derivatives, undefined);
  });

  it("002 q2e: l = 1/2 ||W2 tanh(W1 x + b) - y||^2, gradients match the derivation", () => {
    const at = ["W1=[[0.1,0.2],[0.3,-0.4]]", "W2=[[1,-1],[0.5,0.5]]", "x=[1,2]", "b=[0.1,-0.1]", "y=[0.5,0.2]"];
    const r = run("0.5 * sum((W2 @ tanh(W1 @ x + b) - y)^2)", ...at);
    assert.ok(
      r.check!.every((c) => c.ok),
      JSON.stringify(r.check),
    );
    const W1 = [
        [0.1, 0.2],
        [0.3, -0.4],
      ],
      W2 = [
        [1, -1],
        [0.5, 0.5],
      ],
      x = [1, 2],
      b = [0.1, -0.1],
      y = [0.5, 0.2];
    const x1 = W1.map((row, i) => row[0] * x[0] + row[1] * x[1] + b[i]);
    const x2 = x1.map(Math.tanh);
    const x4 = W2.map((row, i) => row[0] * x2[0] + row[1] * x2[1] - y[i]);
    const dx1 = [0, 1].map((j) => (x4[0] * W2[0][j] + x4[1] * W2[1][j]) * (1 - x2[j] ** 2));
    (r.gradients.b as number[]).forEach((v, i) => close(v, dx1[i], 1e-12));
    (r.gradients.W2 as number[][]).forEach((row, i) => row.forEach((v, j) => close(v, x4[i] * x2[j], 1e-12)));
    (r.gradients.x as number[]).forEach((v, j) => close(v, dx1[0] * W1[0][j] + dx1[1] * W1[1][j], 1e-12));
  });

  it("002 q2c: (y - sum(sigmoid(W @ x + b)))^2", () => {
    const r = run("(y - sum(sigmoid(W @ x + b)))^2", "W=[[0.5,-0.2],[0.1,0.3],[0.4,0.4]]", "x=[1,-1]", "b=[0,0.1,-0.1]", "y=1.5");
    const W = [
        [0.5, -0.2],
        [0.1, 0.3],
        [0.4, 0.4],
      ],
      x = [1, -1],
      b = [0, 0.1, -0.1];
    const z = W.map((row, i) => row[0] * x[0] + row[1] * x[1] + b[i]);
    const r0 = 1.5 - z.map(sig).reduce((a, c) => a + c, 0);
    (r.gradients.b as number[]).forEach((v, i) => close(v, -2 * r0 * sig(z[i]) * (1 - sig(z[i])), 1e-12));
    (r.gradients.W as number[][]).forEach((row, i) => row.forEach((v, j) => close(v, -2 * r0 * sig(z[i]) * (1 - sig(z[i])) * x[j], 1e-12)));
  });

  it("shape errors name the stage and both shapes", () => {
    assert.throws(() => run("sum(W @ x)", "W=[[1,2,3]]", "x=[1,2]"), /in stage a = W @ x: matmul: inner dimensions do not match for \(1,3\) @ \(2,\)/);
    assert.throws(() => run("W @ x", "W=[[1,2],[3,4]]", "x=[1,2]"), /the output a has shape \(2,\); gradients need a scalar output/);
  });
});

describe("symbolic derivatives agree with the numeric gradients (property)", () => {
  it("on random expressions at random points", () => {
    fc.assert(
      fc.property(
        randomExpression,
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.double({ min: -2, max: 2, noNaN: true }),
        (src, x, y, z) => {
          const at = `x=${x},y=${y},z=${z}`;
          const r = explain(src, parseAssignments([at]));
          if (!r.derivatives) return; // too large to print: allowed, but rare
          for (const n of ["x", "y", "z"]) {
            const g = r.gradients[n] as number;
            const d = evalAt(r.derivatives[n], at);
            assert.ok(Math.abs(d - g) <= 1e-7 * (1 + Math.abs(g)), `${src}: d/d${n} = ${r.derivatives[n]} gives ${d}, backprop ${g}`);
          }
        },
      ),
      { numRuns: 150, seed: 4 },
    );
  });
});

describe("generated code reproduces the engine", () => {
  const programs: [string, string[]][] = [
    ["(x + y) z", ["x=1,y=3,z=2"]],
    ["(ln(x) + sin(y))^2 + 4x", ["x=e,y=pi/2,z=2"]],
    ["1/(1+exp(-x))", ["x=2"]],
    ["ln(x) sigmoid(sqrt(y)) / sigmoid((x + y)^2)", ["x=0.8,y=0.3"]],
    ["x * x + relu(x - 1) + abs(y) + tanh(x y)", ["x=1.7,y=-0.4"]],
    ["x = ln(t); y = t^3/3; z = 2x + y", ["t=2"]],
    ["sum((W @ x)^2)", ["W=[[0.1,0.5],[-0.3,0.8]]", "x=[0.2,0.4]"]],
    ["0.5 * sum((W2 @ tanh(W1 @ x + b) - y)^2)", ["W1=[[0.1,0.2],[0.3,-0.4]]", "W2=[[1,-1],[0.5,0.5]]", "x=[1,2]", "b=[0.1,-0.1]", "y=[0.5,0.2]"]],
    ["mean(x * x.T) + sum(x @ x)", ["x=[[1,2],[3,4]]"]],
    // Names that are Object.prototype members are ordinary names in generated code too (issue 14).
    ["hasOwnProperty = constructor * __proto__; sin(hasOwnProperty) + valueOf * toString", ["constructor=3,__proto__=1,valueOf=2,toString=0.5"]],
    // Names that are keywords or helpers of the target language (lambda, new, np, Math, out; "lobal"'s
    // gradient would be "global") are renamed in the generated code.
    ["lambda = np * 2; new + sin(lambda) * Math + out * lobal + NaN", ["np=1.5,new=2,Math=0.5,out=3,lobal=0.25,NaN=1"]],
    ["sum(np * bp) + sum(sigmoid_ * Math)", ["np=[1,2]", "bp=[3,4]", "sigmoid_=[0.5,1]", "Math=[2,2]"]],
  ];
  // Inside the repository, so the generated module imports the very same library instance.
  const dir = join(process.cwd(), "test-artifacts", "codegen");
  mkdirSync(dir, { recursive: true });

  programs.forEach(([src, at], k) => {
    it(`TypeScript: ${src}`, async () => {
      const given = parseAssignments(at);
      const ex = explainAll(src, given);
      const code = generateCode(ex, ex.report.inputs, "ts").replace('from "backprop"', 'from "../../src/index.js"');
      const file = join(dir, `gen${k}.ts`);
      writeFileSync(file, code);
      const mod = (await import(pathToFileURL(file).href)) as { forwardBackward: (...a: unknown[]) => unknown[] };
      const scalar = ex.report.inputs.every((n) => given.get(n)!.size === 1);
      const args = ex.report.inputs.map((n) => (scalar ? given.get(n)!.item() : given.get(n)!));
      const [out, ...gs] = mod.forwardBackward(...args);
      const asValue = (v: unknown): Value => (typeof v === "number" ? v : (v as { toArray(): Value }).toArray());
      assert.deepEqual(JSON.stringify(asValue(out)), JSON.stringify(ex.report.value));
      ex.report.inputs.forEach((n, i) => assert.deepEqual(JSON.stringify(asValue(gs[i])), JSON.stringify(ex.report.gradients[n]), `gradient of ${n}\n${code}`));
    });
  });

  it("writes = for the first contribution and += only at fan-out, each line pointing at its stage", () => {
    const ex = explainAll("(ln(x) + sin(y))^2 + 4x", parseAssignments(["x=e,y=pi/2,z=2"]));
    const py = generateCode(ex, ex.report.inputs, "python");
    const lines = py.split("\n");
    assert.deepEqual(
      lines.filter((l) => l.includes("+=")).map((l) => l.trim().split("#")[0].trim()),
      ["gx += ga * (1 / x)"],
    );
    assert.ok(lines.some((l) => /^\s+gx = gf \* 4\s+# f = 4x/.test(l)));
    // Seed and zero gradients take the shape of what they stand for, so the code also runs on arrays.
    assert.ok(lines.some((l) => /^\s+gz = np\.zeros_like\(z\)\s+# the output does not use z/.test(l)));
    // forward stages come first, backward stages in reverse
    const order = ["a = np.log(x)", "g = d + f", "gg = np.ones_like(g)", "gd = gg", "gc = gd * (2 * c)", "gy = gb * np.cos(y)"];
    const pos = order.map((s) => py.indexOf(s));
    assert.ok(
      pos.every((p, i) => p >= 0 && (i === 0 || p > pos[i - 1])),
      pos.join(),
    );
  });

  const hasNumpy = PYTHON_HAS_NUMPY;
  it("Python (NumPy) output gives the engine's numbers", { skip: hasNumpy ? false : "python3 with numpy is not installed" }, () => {
    for (const [src, at] of programs) {
      const given = parseAssignments(at);
      const ex = explainAll(src, given);
      const code = generateCode(ex, ex.report.inputs, "python");
      const args = ex.report.inputs.map((n) => `np.array(${JSON.stringify(given.get(n)!.toArray())}, dtype=float)`).join(", ");
      const script = `${code}\nimport json\nres = forward_backward(${args})\nprint(json.dumps([np.asarray(v, dtype=float).tolist() for v in res]))\n`;
      const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8" });
      assert.equal(r.status, 0, `${src}\n${r.stderr}\n${code}`);
      const [out, ...gs] = JSON.parse(r.stdout) as Value[];
      const same = (a: Value, b: Value): boolean =>
        typeof a === "number" ? Math.abs(a - (b as number)) <= 1e-12 * (1 + Math.abs(a)) : (a as Value[]).every((v, i) => same(v, (b as Value[])[i]));
      assert.ok(same(out, ex.report.value), `${src}: out`);
      ex.report.inputs.forEach((n, i) =>
        assert.ok(same(gs[i], ex.report.gradients[n]), `${src}: g${n} ${JSON.stringify(gs[i])} vs ${JSON.stringify(ex.report.gradients[n])}`),
      );
    }
  });
});

describe("backprop explain (CLI)", () => {
  it("--json has value, gradients, stages (name, op, inputs, equation, value, grad, local) and derivatives", async () => {
    const r = await cli("explain", "(x^2 + 2y) z^3", "--at", "x=3,y=1,z=2", "--json");
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out);
    assert.equal(j.value, 88);
    assert.deepEqual(j.gradients, { x: 48, y: 16, z: 132 });
    assert.deepEqual(Object.keys(j.stages[0]).slice(0, 9), ["name", "op", "inputs", "equation", "expression", "expressionLatex", "operands", "shape", "value"]);
    // One report carries the derivatives as trees too, and what the explanation cost in operations.
    assert.deepEqual(j.stages[1].operands, [
      { kind: "constant", text: "2", latex: "2", shape: [] },
      { kind: "name", name: "y" },
    ]);
    assert.deepEqual(j.derivativeExprs.y, {
      kind: "bin",
      op: "*",
      left: { kind: "num", value: 2 },
      right: { kind: "bin", op: "^", left: { kind: "var", name: "z" }, right: { kind: "num", value: 3 } },
    });
    assert.deepEqual(j.edges.find((e: { to: string; from: string }) => e.to === "f" && e.from === "c").localExpr, { kind: "var", name: "d" });
    assert.deepEqual([j.ops.forward, j.ops.backward > 0, j.ops.symbolic > 0], [5, true, true]);
    assert.deepEqual(
      {
        name: j.stages[4].name,
        op: j.stages[4].op,
        inputs: j.stages[4].inputs,
        equation: j.stages[4].equation,
        value: j.stages[4].value,
        grad: j.stages[4].grad,
        local: j.stages[4].local,
      },
      { name: "f", op: "mul", inputs: ["c", "d"], equation: "f = c * d", value: 88, grad: 1, local: { c: "d", d: "c" } },
    );
    assert.deepEqual(j.derivatives, { x: "2x * z^3", y: "2z^3", z: "3z^2 * (x^2 + 2y)" });
  });

  it("a syntax error prints the input with a caret and exits 1", async () => {
    const r = await cli("explain", "(x + y", "--at", "x=1,y=2");
    assert.equal(r.code, 1);
    assert.equal(r.err, "error: syntax error at column 7: expected ')' to close '(' at column 1, found end of input\n  (x + y\n        ^");
    const j = await cli("explain", "x + * y", "--at", "x=1,y=2", "--json");
    assert.deepEqual(JSON.parse(j.out), { error: "syntax error at column 5: expected a number, a name or '(', found '*'\n  x + * y\n      ^", position: 4 });
  });

  it("a missing input or a bad value says which", async () => {
    assert.match((await cli("explain", "x + y", "--at", "x=1")).err, /missing value for input 'y' \(give it with --at y=\.\.\.\)/);
    assert.match((await cli("explain", "x + y", "--at", "x=1,y=q")).err, /in the value of 'y': a value cannot refer to the name 'q'/);
    assert.match((await cli("explain", "x", "--at", "x=1", "--format", "gif")).err, /unknown format "gif"/);
  });

  it("table, markdown and latex formats", async () => {
    const t = await cli("explain", "(ln(x) + sin(y))^2 + 4x", "--at", "x=e", "--at", "y=pi/2", "--at", "z=2", "--check");
    assert.equal(t.code, 0);
    assert.match(t.out, /gx = 4 \+ 1\.472 = 5\.472/);
    assert.match(t.out, /dead gradient/);
    assert.match(t.out, /Gradient check[\s\S]*x\s+5\.472\s+5\.472\s+\S+\s+ok/);
    const ex = explain("(x + y) z", parseAssignments(["x=1,y=3,z=2"]));
    assert.match(formatMarkdown(ex), /\| a \| `a = x \+ y` \| 4 \| 2 \|/);
    assert.match(formatLatex(ex), /b &= a \\cdot z/);
    assert.match(formatLatex(ex), /\\frac\{\\partial b\}\{\\partial a\} &= z/);
  });
});

describe("warnings name the stage", () => {
  it("domain errors: ln of a non-positive value, division by zero", () => {
    const r = explain("ln(x) + 1/y", parseAssignments(["x=-1,y=0"]));
    assert.ok(
      r.warnings.some((w) => /^domain: stage a = ln\(x\): ln of a non-positive value \(-1\)/.test(w)),
      r.warnings.join("\n"),
    );
    assert.ok(
      r.warnings.some((w) => /^domain: stage b = 1 \/ y: division by zero/.test(w)),
      r.warnings.join("\n"),
    );
  });

  it("kinks: relu and abs at exactly 0", () => {
    const r = explain("relu(x) + abs(y)", parseAssignments(["x=0,y=0"]));
    assert.ok(r.warnings.some((w) => /^kink: stage a = relu\(x\)/.test(w)));
    assert.ok(r.warnings.some((w) => /^kink: stage b = abs\(y\)/.test(w)));
    assert.deepEqual(r.gradients, { x: 0, y: 0 });
  });

  it("no warnings on a well-behaved program", () => {
    assert.deepEqual(explain("(x + y) z", parseAssignments(["x=1,y=3,z=2"])).warnings, []);
  });
});

describe("long programs", () => {
  it("stages, differentiates and draws 20,000 operations without recursion", () => {
    const src = Array.from({ length: 10000 }, () => "sin(x)").join(" + ");
    const r = explain(src, parseAssignments(["x=0.5"]));
    assert.equal(r.stages.length, 19999);
    close(r.gradients.x, 10000 * Math.cos(0.5), 1e-9);
    assert.equal(r.derivatives, undefined, "too large to print");
    assert.match(formatTable(r), /gx = 0\.8776 \+ 0\.8776 \+ 0\.8776 \+ 0\.8776 \+ \.\.\. \+ 0\.8776 \(10000 terms\) = 8776/);
  });
});
