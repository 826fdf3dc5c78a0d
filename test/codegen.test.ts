/**
 * Generated code (explain --format python / ts) against the engine at input shapes other than the
 * ones it was generated at: scalars, shape (3,), (2, 3) and broadcasting mixes for elementwise
 * programs, other sizes for matrix programs. Every gradient is compared with the engine's VJP of the
 * same staged program at the same arrays. Python runs only where python3 has NumPy; TypeScript always.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as bp from "../src/index.js";
import { explainAll } from "../src/explain/report/explain.js";
import { generateCode } from "../src/explain/interpreters/codegen.js";
import { programFunction } from "../src/explain/interpreters/stage.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { FUNCTIONS } from "../src/explain/language/ast.js";
import { PYTHON, PYTHON_HAS_NUMPY } from "./python.js";

type Shape = readonly number[];
type Nested = number | Nested[];

/** A value handed to generated code and the engine: its shape and row-major data. */
interface Arr {
  shape: Shape;
  data: number[];
}

/** Deterministic values in [0.3, 1.7): in the domain of ln, sqrt and 1/x, away from relu's and abs's kink. */
function values(shape: Shape, seed: number): Arr {
  let s = seed * 7919 + 17;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 0.3 + (1.4 * s) / 2147483648;
  });
  return { shape, data };
}

function nest(a: Arr): Nested {
  const go = (offset: number, dim: number): Nested => {
    if (dim === a.shape.length) return a.data[offset];
    const stride = a.shape.slice(dim + 1).reduce((x, y) => x * y, 1);
    return Array.from({ length: a.shape[dim] }, (_, i) => go(offset + i * stride, dim + 1));
  };
  return go(0, 0);
}

const toTensor = (a: Arr): bp.Tensor => (a.shape.length === 0 ? bp.scalar(a.data[0], "float64") : bp.tensor(nest(a) as bp.Nested, { dtype: "float64" }));
const fromTensor = (t: bp.Tensor): Arr => ({ shape: [...t.shape], data: Array.from(t.data, Number) });

/** The engine's output and d sum(out) / d each input of the staged program at these arrays. */
function engine(src: string, at: string[], args: readonly Arr[]): Arr[] {
  const ex = explainAll(src, parseAssignments(at));
  const xs = args.map(toTensor);
  const [out, back] = bp.vjp(programFunction(ex.staged, ex.report.inputs), ...xs);
  const grads = back(bp.onesLike(out));
  return [fromTensor(out), ...grads.map((g, i) => fromTensor(g ?? bp.zerosLike(xs[i])))];
}

function assertClose(got: Arr, want: Arr, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  got.data.forEach((x, i) => assert.ok(Math.abs(x - want.data[i]) <= 1e-9 * (1 + Math.abs(want.data[i])), `${what}[${i}]: ${x} != ${want.data[i]}`));
}

function generate(src: string, at: string[], target: "python" | "ts"): { code: string; inputs: string[] } {
  const ex = explainAll(src, parseAssignments(at));
  return { code: generateCode(ex, ex.report.inputs, target), inputs: [...ex.report.inputs] };
}

const hasNumpy = PYTHON_HAS_NUMPY;
const skipPython = hasNumpy ? false : "python3 with numpy is not installed";

/** Runs generated Python on each case (a list of arguments; a 0-d one is passed as a Python float). */
function runPython(code: string, cases: readonly (readonly Arr[])[]): Arr[][] {
  const harness = [
    code,
    "import json, sys",
    "def _arg(a):",
    "    return float(a['data'][0]) if not a['shape'] else np.array(a['data'], dtype=float).reshape(a['shape'])",
    "res = []",
    "for args in json.loads(sys.stdin.read()):",
    "    r = forward_backward(*[_arg(a) for a in args])",
    "    res.append([{'shape': list(np.shape(v)), 'data': np.asarray(v, dtype=float).ravel().tolist()} for v in r])",
    "print(json.dumps(res))",
  ].join("\n");
  const r = spawnSync(PYTHON, ["-c", harness], { input: JSON.stringify(cases), encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stderr}\n${code}`);
  return JSON.parse(r.stdout) as Arr[][];
}

// Inside the repository, so the generated module imports the very same library instance.
const dir = join(process.cwd(), "test-artifacts", "codegen");
mkdirSync(dir, { recursive: true });
let files = 0;

type Generated = (...a: unknown[]) => unknown[];
async function importTs(code: string): Promise<Generated> {
  const file = join(dir, `shapes${files++}.ts`);
  writeFileSync(file, code.replace('from "backprop"', 'from "../../src/index.js"'));
  return ((await import(pathToFileURL(file).href)) as { forwardBackward: Generated }).forwardBackward;
}

/** Checks generated code (both targets) against the engine on every case. */
async function check(src: string, at: string[], cases: readonly (readonly Shape[])[], targets: { python: boolean; ts: boolean }): Promise<void> {
  const args = cases.map((shapes, c) => shapes.map((s, i) => values(s, 10 * c + i + 1)));
  const want = args.map((a) => engine(src, at, a));
  if (targets.python && hasNumpy) {
    const { code, inputs } = generate(src, at, "python");
    runPython(code, args).forEach((res, c) =>
      res.forEach((r, k) => assertClose(r, want[c][k], `Python ${src} at ${JSON.stringify(cases[c])}: ${k === 0 ? "out" : `g${inputs[k - 1]}`}\n${code}`)),
    );
  }
  if (targets.ts) {
    const { code, inputs } = generate(src, at, "ts");
    const f = await importTs(code);
    const scalarTs = !code.includes("bp.Tensor");
    args.forEach((a, c) => {
      // TypeScript generated at scalars takes plain numbers only.
      if (scalarTs && a.some((x) => x.shape.length > 0)) return;
      const res = f(...a.map((x) => (scalarTs ? x.data[0] : toTensor(x))));
      res.forEach((r, k) => {
        const got = typeof r === "number" ? { shape: [], data: [r] } : fromTensor(r as bp.Tensor);
        assertClose(got, want[c][k], `TypeScript ${src} at ${JSON.stringify(cases[c])}: ${k === 0 ? "out" : `g${inputs[k - 1]}`}\n${code}`);
      });
    });
  }
}

/** Shapes for n inputs of an elementwise program: all scalars, all (3,), all (2, 3), and broadcasting mixes. */
function elementwiseCases(n: number): Shape[][] {
  const mix1: Shape[] = [[2, 3], [3], [], [2, 1], [1, 3]];
  const mix2: Shape[] = [[3], [2, 1], [2, 3], [], [1, 3]];
  const same = (s: Shape) => Array.from({ length: n }, () => s);
  const cyc = (m: Shape[]) => Array.from({ length: n }, (_, i) => m[i % m.length]);
  return [same([]), same([3]), same([2, 3]), cyc(mix1), cyc(mix2)];
}

/** The seed and course programs that are elementwise, with scalar values to generate them at. */
const ELEMENTWISE: [string, string][] = [
  ["x*y + (x+y)^2", "x=1,y=2"],
  ["(x + y) z", "x=1,y=3,z=2"],
  ["(ln(x) + sin(y))^2 + 4x", "x=e,y=pi/2,z=2"],
  ["1/(1+exp(-x))", "x=2"],
  ["ln(x) sigmoid(sqrt(y)) / sigmoid((x + y)^2)", "x=0.8,y=0.3"],
  ["x * x + relu(x - 1) + abs(y) + tanh(x y)", "x=1.7,y=-0.4"],
  ["(x^2 + 2y) z^3", "x=3,y=1,z=2"],
  ["((w x + b) - y)^2", "w=1,x=2,b=0.5,y=1"],
  ["x^y + x / y - y", "x=1.5,y=2"],
  // Generated at negative values, run at positive ones: the local derivatives must not be the numbers at --at.
  ["cos(x) + tan(y) + sign(x) + step(y) - abs(x) + abs(y) * x", "x=-0.5,y=-2"],
  // erf on both sides of the kernel's switch at 2.5 (the generated scalar code carries its own erf).
  ["erf(x) * y + erf(3 x y)", "x=0.5,y=-1.2"],
];

describe("generated code on arrays of several shapes (issue 15)", () => {
  it("x*y + (x+y)^2 generated at scalars: NumPy arrays give gx = 8, gy = 7 at x = 1, y = 2 (no += through an alias)", { skip: skipPython }, () => {
    const { code } = generate("x*y + (x+y)^2", ["x=1,y=2"], "python");
    const [res] = runPython(code, [
      [
        { shape: [3], data: [1, 1, 1] },
        { shape: [3], data: [2, 2, 2] },
      ],
    ]);
    assert.deepEqual(
      res.map((r) => r.data),
      [
        [11, 11, 11],
        [8, 8, 8],
        [7, 7, 7],
      ],
      code,
    );
  });

  for (const [src, at] of ELEMENTWISE) {
    const n = generate(src, [at], "ts").inputs.length;
    it(`Python generated at scalars, run on scalars and arrays: ${src}`, { skip: skipPython }, () =>
      check(src, [at], elementwiseCases(n), { python: true, ts: false }),
    );
    // TypeScript at scalars works on numbers; its tensor form is generated from arrays (sum makes the output scalar).
    it(`TypeScript on numbers: ${src}`, () => check(src, [at], [elementwiseCases(n)[0]], { python: false, ts: true }));
    const vectorAt = at.split(",").map((kv) => `${kv.split("=")[0]}=[0.5,1.25,0.75]`);
    it(`TypeScript and Python generated at shape (3,), run on scalars and arrays: sum(${src})`, () =>
      check(`sum(${src})`, vectorAt, elementwiseCases(n), { python: true, ts: true }));
  }

  it("a program with definitions: x = ln(t); y = t^3/3; z = 2x + y", async () => {
    await check("x = ln(t); y = t^3/3; z = 2x + y", ["t=2"], elementwiseCases(1), { python: true, ts: false });
    await check("x = ln(t); y = t^3/3; sum(2x + y)", ["t=[1,2]"], elementwiseCases(1), { python: true, ts: true });
  });

  it("random scalar programs with fan-out, on scalars and arrays", async () => {
    let s = 12345;
    const rnd = (k: number) => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return Math.floor((s / 2147483648) * k);
    };
    const leaf = () => ["x", "y", "z", "0.5", "x", "y"][rnd(6)];
    const unary = ["sin", "cos", "tanh", "sigmoid", "exp"];
    const expr = (d: number): string => {
      if (d === 0) return leaf();
      switch (rnd(6)) {
        case 0:
          return `${unary[rnd(unary.length)]}(${expr(d - 1)})`;
        case 1:
          return `(${expr(d - 1)})^2`;
        case 2:
          return `(${expr(d - 1)} - ${expr(d - 1)})`;
        default:
          return `(${expr(d - 1)} ${["+", "*", "*"][rnd(3)]} ${expr(d - 1)})`;
      }
    };
    let tried = 0;
    while (tried < 12) {
      // Fan-out: x and y each appear at least twice.
      const src = `${expr(3)} * x + y * ${expr(2)} + x * y`;
      tried++;
      await check(src, ["x=0.7,y=1.3,z=0.4"], elementwiseCases(3), { python: true, ts: true });
      await check(`sum(${src})`, ["x=[0.7,1],y=[1.3,0.2],z=[0.4,0.9]"], elementwiseCases(3), { python: true, ts: true });
    }
  });
});

describe("array programs are not tied to the shapes given with --at (issue 15)", () => {
  const cases: [string, string[], Shape[][]][] = [
    [
      "sum((W @ x)^2)",
      ["W=[[1,2],[3,4]]", "x=[1,1]"],
      [
        [[2, 2], [2]],
        [[3, 4], [4]],
        [[1, 5], [5]],
      ],
    ],
    [
      "sum(x*y)",
      ["x=[1,2]", "y=[3,4]"],
      [
        [[2], [2]],
        [[5], [5]],
        [[2, 3], [3]],
        [[4], []],
      ],
    ],
    [
      "0.5 * sum((W2 @ tanh(W1 @ x + b) - y)^2)",
      ["W1=[[0.1,0.2],[0.3,-0.4]]", "W2=[[1,-1],[0.5,0.5]]", "x=[1,2]", "b=[0.1,-0.1]", "y=[0.5,0.2]"],
      [
        [[2, 2], [2, 2], [2], [2], [2]],
        [[4, 3], [2, 4], [3], [4], [2]],
        [[4, 3], [2, 4], [3], [], [1]],
      ],
    ],
    ["mean(x * x.T) + sum(x @ x)", ["x=[[1,2],[3,4]]"], [[[2, 2]], [[3, 3]], [[1, 1]]]],
    [
      "(y - sum(sigmoid(W @ x + b)))^2",
      ["W=[[1,2],[3,4]]", "x=[1,1]", "b=[0,1]", "y=1"],
      [
        [[2, 2], [2], [2], []],
        [[3, 4], [4], [3], []],
        [[3, 4], [4], [], []],
      ],
    ],
    [
      "sum(x @ W) + mean(x @ x)",
      ["x=[1,2]", "W=[[1,2,3],[4,5,6]]"],
      [
        [[2], [2, 3]],
        [[4], [4, 1]],
      ],
    ],
    // Array constants broadcast against the input: x may be a scalar, (1,), (3,) or (2, 3).
    ["sum(x * [1,2,3] - [3,4,5] / x) + mean(x)^2", ["x=[1,2,3]"], [[[3]], [[2, 3]], [[]], [[1]]]],
    // Batched matrix products: the batch axes are summed back where an operand was broadcast over them.
    [
      "sum((A @ B)^2) + sum(B @ A)",
      ["A=[[[1,2],[3,4]],[[5,6],[7,8]]]", "B=[[1,0],[0,1]]"],
      [
        [
          [2, 2, 2],
          [2, 2],
        ],
        [
          [3, 4, 4],
          [4, 4],
        ],
        [
          [2, 3, 3],
          [1, 3, 3],
        ],
      ],
    ],
    [
      "sum(np * bp) + sum(sigmoid_ * Math)",
      ["np=[1,2]", "bp=[3,4]", "sigmoid_=[0.5,1]", "Math=[2,2]"],
      [
        [[2], [2], [2], [2]],
        [[2, 3], [3], [1, 1], []],
      ],
    ],
    // A vector with a batch of matrices: a row on the left, a column on the right of each, summed over the batch for the vector.
    [
      "sum((x @ B)^2) + sum(B @ y)",
      ["x=[1,2,3]", "B=[[[1,0,2,1],[0,1,1,3],[2,1,0,1]],[[1,1,1,1],[0,2,0,2],[1,0,1,0]]]", "y=[1,-1,2,0.5]"],
      [
        [[3], [2, 3, 4], [4]],
        [[2], [5, 2, 3], [3]],
        [[3], [2, 2, 3, 4], [4]],
        [[3], [3, 4], [4]],
        [[1], [1, 1, 1], [1]],
      ],
    ],
    [
      "mean(A @ v) + sum(sin(w @ A))",
      ["A=[[[1,2],[3,4],[5,6]]]", "v=[1,2]", "w=[0.5,1,2]"],
      [
        [[1, 3, 2], [2], [3]],
        [[4, 3, 2], [2], [3]],
        [[2, 1, 5, 4], [4], [5]],
        [[3, 2], [2], [3]],
      ],
    ],
    // Scalar inputs with array constants: tensors in TypeScript (plain numbers have no arrays), at scalars and arrays.
    ["sum(x * [1,2,3]) + mean(transpose(x + [[1,2],[3,4]])) + x * sum([1,2,3]) + x * mean([[1,2],[3,4]] @ [1,1])", ["x=2"], [[[]], [[1]], [[1, 1]]]],
    // A constant operand that prints as an expression gets parentheses before .T and [:, None].
    [
      "sum((([[1,2],[3,4]] * 2) @ X)^2) + sum(([1,2] + 1) @ B)",
      ["X=[[1,2],[3,4]]", "B=[[[1,2],[3,4]]]"],
      [
        [
          [2, 2],
          [1, 2, 2],
        ],
        [
          [2, 5],
          [3, 2, 4],
        ],
      ],
    ],
    // An array constant written as an expression is one operand in an elementwise local derivative too.
    ["sum(x / (1 + [1,2,3]))", ["x=[1,2,3]"], [[[3]], [[2, 3]]]],
    // Constants on either side: only the input's gradient is needed.
    ["sum(x @ [[[1,2],[3,4]],[[5,6],[7,8]]]) + sum([[[1,2],[3,4]],[[5,6],[7,8]]] @ x)", ["x=[1,2]"], [[[2]]]],
  ];
  for (const [src, at, shapes] of cases) {
    it(`${src} at ${shapes.map((c) => c.map((s) => `(${s.join(",")})`).join(" ")).join("; ")}`, () => check(src, at, shapes, { python: true, ts: true }));
  }

  // Every stage op, generated at x = (2, 3) (and y = (3,)) and run at other sizes and ranks, broadcasting both ways.
  const OPS = [
    "-x",
    "1/x",
    "ln(x)",
    "log(x)",
    "exp(x)",
    "e^x",
    "sqrt(x)",
    "sin(x)",
    "cos(x)",
    "tan(x)",
    "tanh(x)",
    "sigmoid(x)",
    "erf(x)",
    "relu(x)",
    "abs(x)",
    "sign(x)",
    "step(x)",
    "transpose(x)",
    "x",
    "x^2",
    "2^x",
    "x/2",
    "2/x",
    "x^[1,2,0.5]",
    "[1,2,0.5]^x",
    "[1,2,3]/x",
  ];
  it("the list covers every function of the language (a new function needs its row here)", () => {
    assert.deepEqual(
      FUNCTIONS.filter((f) => !OPS.some((op) => op.startsWith(`${f}(`))),
      ["sum", "mean"], // the test's own sum(...) + mean(...) around each op
    );
  });
  const BINARY = ["x + y", "x - y", "x * y", "x / y", "x ^ y", "y ^ x", "y / x"];
  const X = "x=[[0.5,1.5,0.7],[1.1,0.3,0.6]]";
  for (const op of OPS) {
    // transpose(x) * x broadcasts only for square x.
    const src = `sum(${op}) + mean(${op} * ${op === "transpose(x)" ? op : "x"})`;
    it(`${src} generated at x = (2,3), run at (4,3), (5,1,3), (3,) and (1,)`, () =>
      check(src, [X], [[[4, 3]], [[5, 1, 3]], [[3]], [[1]]], { python: true, ts: true }));
  }
  for (const op of BINARY) {
    it(`sum(${op}) + sum(${op} * y) generated at x = (2,3), y = (3,), run at other shapes`, () =>
      check(
        `sum(${op}) + sum((${op}) * y)`,
        [X, "y=[0.9,1.2,0.4]"],
        [
          [[4, 3], [3]],
          [[5, 1, 3], [3]],
          [
            [5, 1, 3],
            [2, 3],
          ],
          [[3], [4, 3]],
          [[], [2]],
          [
            [2, 1],
            [1, 4],
          ],
        ],
        { python: true, ts: true },
      ));
  }

  it("random array programs with broadcasting, matrix products and fan-out, run at other shapes", async () => {
    let seed = 2024;
    const rnd = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * k);
    };
    // Every elementwise function, its argument kept in its domain (ln and sqrt of 1 + u², tan of sin(u)).
    const unary = ["sin", "cos", "tanh", "sigmoid", "exp", "relu", "abs", "sign", "step", "sqrt", "ln", "tan"];
    const fn = (u: string, arg: string) => (u === "sqrt" || u === "ln" ? `${u}(1 + ${arg}^2)` : u === "tan" ? `tan(sin(${arg}))` : `${u}(${arg})`);
    const expr = (d: number, matmul: boolean): string => {
      if (d === 0) return ["x", "y", "x"][rnd(3)];
      // Constants stand next to a variable: a constant subexpression is one stage argument.
      switch (rnd(matmul ? 8 : 7)) {
        case 3:
          return `(${expr(d - 1, matmul)} ${["+", "*", "-", "/"][rnd(4)]} ${["0.5", "[1,2,0.5]"][rnd(2)]})`;
        case 0:
          return fn(unary[rnd(unary.length)], expr(d - 1, matmul));
        case 1:
          return `(${expr(d - 1, matmul)})^2`;
        case 2: {
          // Division and powers with array exponents, on positive bases and nonzero divisors.
          const [u, w] = [expr(d - 1, matmul), expr(d - 1, matmul)];
          return [`${u} / (1 + ${w}^2)`, `(1 + ${u}^2) ^ ${w}`, `1 / (2 + sin(${u}))`, `(2 + sin(${u})) ^ 0.5`][rnd(4)];
        }
        case 7:
          return `(${expr(d - 1, matmul)} @ W)`;
        default:
          return `(${expr(d - 1, matmul)} ${["+", "*", "-"][rnd(3)]} ${expr(d - 1, matmul)})`;
      }
    };
    const W = "W=[[0.5,1,0.2],[0.3,0.8,1.1],[1,0.4,0.6]]";
    for (let k = 0; k < 8; k++) {
      // x and y appear at least twice each (fan-out). Operands of a matrix product keep their ranks (y
      // may flow into one): its code is the lecture's for the ranks given, any sizes.
      const withW = `sum(${expr(3, true)} * x + y * (x @ W))`;
      await check(
        withW,
        ["x=[[0.5,1.5,0.7],[1.1,0.3,0.6]]", "y=[0.9,1.2,0.4]", W],
        [
          [[4, 3], [3], [3, 3]],
          [[1, 3], [3], [3, 3]],
          [[5, 3], [3], [3, 3]],
        ],
        { python: true, ts: true },
      );
      const elementwise = `sum(${expr(3, false)} * x + y * ${expr(2, false)})`;
      await check(
        elementwise,
        ["x=[[0.5,1.5,0.7],[1.1,0.3,0.6]]", "y=[0.9,1.2,0.4]"],
        [
          [[4, 3], [3]],
          [
            [5, 1, 3],
            [2, 3],
          ],
          [[3], []],
          [[], [2, 1, 3]],
        ],
        { python: true, ts: true },
      );
    }
  });

  it("a vector with a batch of matrices prints its shape-generic VJP (no values recorded at --at)", () => {
    const at = ["x=[1,2,3]", "B=[[[1,0,2,1],[0,1,1,3],[2,1,0,1]],[[1,1,1,1],[0,2,0,2],[1,0,1,0]]]", "y=[1,-1,2,0.5]"];
    const py = generate("sum((x @ B)^2) + sum(B @ y)", at, "python").code;
    const lines = py.split("\n").map((l) => l.split("#")[0].trim());
    for (const line of [
      "gB = gd[..., None] * y",
      "gy = _sum_to((gd[..., None, :] @ B)[..., 0, :], np.shape(y))",
      "gx = _sum_to((B @ ga[..., None])[..., 0], np.shape(x))",
      "gB += x[:, None] * ga[..., None, :]",
    ]) {
      assert.ok(lines.includes(line), `${line}\n${py}`);
    }
    const ts = generate("sum((x @ B)^2) + sum(B @ y)", at, "ts").code;
    assert.ok(ts.includes("const gx = bp.sumTo(bp.squeeze(bp.matmul(B, bp.unsqueeze(ga, -1)), -1), x.shape);"), ts);
    for (const code of [py, ts]) assert.doesNotMatch(code.slice(code.indexOf("backward pass")), /reshape|broadcast|\d\.\d/, code);
  });

  it("sum((W @ x)^2) has no literal shape in its generated code", () => {
    for (const target of ["python", "ts"] as const) {
      const { code } = generate("sum((W @ x)^2)", ["W=[[1,2],[3,4]]", "x=[1,1]"], target);
      const body = code.slice(code.indexOf("forward"));
      assert.doesNotMatch(body, /reshape|broadcast|\(\d+,\s*\d*\)|\[\d+(,\s*\d+)*\]/, code);
    }
  });
});

// The gates that are one stage but no single NumPy or bp function (mse, softmax_ce, linear, softmax),
// generated at the gates' granularity and run at other shapes against the engine.
describe("generated code for the loss and layer gates, at other shapes", () => {
  const W = "W=[[1,-2,0.5],[0.3,0.8,-1]]";
  const cases: [string, string[], Shape[][]][] = [
    [
      "mse(p, y)",
      ["p=[1,2,3]", "y=[0.5,2,4.5]"],
      [
        [[3], [3]],
        [
          [2, 3],
          [2, 3],
        ],
        [[2, 3], [3]],
        [[], [4]],
      ],
    ],
    ["mse(p, 0.5) + mse(2, p)", ["p=[1,2,3]"], [[[3]], [[2, 2]], [[]]]],
    [
      "softmax_ce(z, y)",
      ["z=[1,2,3]", "y=[0,0,1]"],
      [
        [[3], [3]],
        [[4], [4]],
        [
          [2, 3],
          [2, 3],
        ],
        [[2, 3], [3]],
        [[3], [2, 3]],
      ],
    ],
    [
      "sum(softmax(z) * c)",
      ["z=[1,2,3]", "c=[0.5,-1,2]"],
      [
        [[3], [3]],
        [[5], [5]],
        [
          [2, 3],
          [2, 3],
        ],
        [[], []],
      ],
    ],
    [
      "sum(linear(W, x, b)^2)",
      [W, "x=[1,0.5,-1]", "b=[0.1,-0.2]"],
      [
        [[2, 3], [3], [2]],
        [[4, 5], [5], [4]],
        [[4, 5], [5], []],
        [[4, 5], [5], [1]],
      ],
    ],
    // A batch of columns X (the product's form follows the ranks at --at), with a column bias.
    [
      "sum(linear(W, X, b)^2)",
      [W, "X=[[1,0.5],[0.5,-1],[2,0]]", "b=[[0.1],[-0.2]]"],
      [
        [
          [2, 3],
          [3, 2],
          [2, 1],
        ],
        [
          [4, 5],
          [5, 3],
          [4, 1],
        ],
        [[4, 5], [5, 3], [3]],
      ],
    ],
    [
      "L = softmax_ce(linear(W, relu(linear(V, x, c)), b), y)",
      [W, "V=[[1,0.5],[0.2,-1],[0.7,0.3]]", "x=[1,-0.5]", "c=[0.1,0.2,0.3]", "b=[0.1,-0.2]", "y=[0,1]"],
      [
        [[2, 3], [3, 2], [2], [3], [2], [2]],
        [[4, 6], [6, 3], [3], [6], [4], [4]],
      ],
    ],
    [
      "mse(sigmoid(linear(W, x, b)), t)",
      [W, "x=[1,0.5,-1]", "b=[0.1,-0.2]", "t=[1,0]"],
      [
        [[2, 3], [3], [2], [2]],
        [[1, 4], [4], [1], [1]],
      ],
    ],
  ];
  for (const [src, at, shapes] of cases) {
    it(`${src} at ${shapes.map((c) => c.map((s) => `(${s.join(",")})`).join(" ")).join("; ")}`, () => check(src, at, shapes, { python: true, ts: true }));
  }

  it("the code writes each gate as one line with its helper, and a scalar mse is still code on arrays", () => {
    const py = generate("L = softmax_ce(linear(W, x, b), y)", [W, "x=[1,0.5,-1]", "b=[0.1,-0.2]", "y=[0,1]"], "python").code;
    assert.match(py, /def _log_softmax\(z\):/);
    assert.match(py, /a = W @ x \+ b +# a = linear\(W, x, b\)/);
    assert.match(py, /L = -np\.sum\(y \* _log_softmax\(a\)\)/);
    const ts = generate("mse(p, y)", ["p=2,y=0.5"], "ts").code;
    assert.match(ts, /bp\.mean\(bp\.pow\(bp\.sub\(p, y\), 2\)\)/);
  });

  it("linear's code refuses a bias that stretches W @ x, and says how to write it", () => {
    assert.throws(() => generate("sum(linear(W, x, b))", ["W=[[1,2]]", "x=[1,1]", "b=[1,2,3]"], "python"), /needs b to fit W @ x \(shape \(1\)\)/);
  });
});
