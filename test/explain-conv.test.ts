/**
 * Convolution, pooling and normalization in explain's array programs (issue 20): the syntax and its errors,
 * the textbook rules each stage prints (checked against the engine's gradients, and a wrong rule caught),
 * shapes on the figures' wires, and the generated Python and TypeScript run against the report's gradients.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as bp from "../src/index.js";
import { explain, explainAll } from "../src/explain/report/explain.js";
import { type ExplainReport } from "../src/explain/report/report.js";
import { generateCode } from "../src/explain/interpreters/codegen.js";
import { evalM, matches, stageRuleExprs, upKey, type MExpr } from "../src/explain/interpreters/matrix.js";
import { programFunction } from "../src/explain/interpreters/stage.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { parseProgram } from "../src/explain/language/parser.js";
import { printText } from "../src/explain/language/print.js";
import { cli } from "./cli-helper.js";
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

/** Two 1-channel 4x4 images, and a second channel made from them, as --at text. */
const X1 = "x=[[[[1,2,0,1],[0,1,3,2],[2,1,1,0],[1,0,2,3]]],[[[0,1,2,1],[3,1,0,2],[1,2,1,1],[0,3,1,2]]]]";
const W2 = "w=[[[[1,0],[0,-1]]],[[[0.5,1],[-1,0]]]]";
const CNN = "y = conv2d(x, w, b, padding=1); h = relu(y); p = maxpool(h, 2); q = batchnorm(p, g, be); L = sum(q^2)";
const CNN_AT = [X1, W2, "b=[0.5,-0.2]", "g=[1.5,0.7]", "be=[0.2,0.1]"];

const run = (src: string, ...at: string[]): ExplainReport => explain(src, parseAssignments(at));

/** The rule of `stage` for operand `name`: "text | shapes" (present only when it matched the engine). */
function ruleOf(r: ExplainReport, stage: string, name: string): string {
  const rule = r.stages.find((x) => x.name === stage)?.rule?.[name];
  assert.ok(rule, `no checked rule for ${stage}/${name}`);
  return `${rule.text} | ${rule.shapes}`;
}

describe("the language: conv2d, maxpool, avgpool, batchnorm, layernorm", () => {
  it("hyperparameters are named, a pool's kernel second; defaults are left out when printed, and the text parses back", () => {
    for (const [src, printed] of [
      ["conv2d(x, w, b, stride=2, padding=1)", "conv2d(x, w, b, stride=2, padding=1)"],
      ["conv2d(x, w, padding=0)", "conv2d(x, w)"],
      ["maxpool(x, 2)", "maxpool(x, 2)"],
      ["avgpool(x, kernel=3, stride=1)", "avgpool(x, 3, stride=1)"],
      ["maxpool(x, 2, stride=2)", "maxpool(x, 2)"],
      ["batchnorm(x, g, be) + layernorm(x, g, be)", "batchnorm(x, g, be) + layernorm(x, g, be)"],
    ]) {
      const e = parseProgram(src).statements[0].expr;
      assert.equal(printText(e), printed);
      assert.equal(printText(parseProgram(printed).statements[0].expr), printed);
    }
  });

  it("one stage each at the default granularity (and at primitives: they are not gates)", () => {
    const r = explain(CNN, parseAssignments(CNN_AT));
    assert.deepEqual(
      r.stages.map((s) => `${s.name}:${s.op}`),
      ["y:conv2d", "h:relu", "p:maxpool", "q:batchnorm", "a:pow", "L:sum"],
    );
    const prim = explain(CNN, parseAssignments(CNN_AT), { granularity: "primitives" });
    assert.equal(prim.stages.length, 6);
  });

  it("syntax errors point at the call and say how to write it", () => {
    const err = (src: string) => {
      try {
        parseProgram(src);
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    assert.equal(err("conv2d(x, w, strid=2)"), "conv2d has no parameter 'strid' (its parameters: stride, padding)");
    assert.equal(err("maxpool(x)"), "maxpool needs its kernel size, as in maxpool(x, 2, stride=2, padding=0)");
    assert.equal(err("conv2d(x, w, stride=1.5)"), "conv2d: stride must be an integer >= 1 written as a number");
    assert.equal(err("conv2d(x, w, padding=k)"), "conv2d: padding must be an integer >= 0 written as a number");
    assert.equal(err("conv2d(x, stride=2, w)"), "conv2d: a positional argument cannot follow a named one");
    assert.equal(
      err("conv2d(x)"),
      "conv2d takes 2 or 3 array arguments and named integers, found 1 positional arguments (write it as conv2d(x, w, b, stride=1, padding=0))",
    );
    assert.equal(err("maxpool(x, 2, kernel=2)"), "maxpool: kernel is given twice");
  });

  it("shape errors name the op and both shapes", () => {
    const message = (src: string, ...at: string[]): string => {
      try {
        run(src, ...at);
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    assert.match(
      message("sum(conv2d(x, w))", "x=[[[[1,2],[3,4]],[[1,2],[3,4]]]]", "w=[[[[1]]]]"),
      /^in stage a = conv2d\(x, w\): conv2d: a weight of shape \(1,1,1,1\) .*the input of shape \(1,2,2,2\) has 2 channels$/,
    );
    assert.match(
      message("sum(maxpool(x, 3))", "x=[[[[1,2],[3,4]]]]"),
      /^in stage a = maxpool\(x, 3\): maxPool2d: the input height 2 is smaller than the kernel 3/,
    );
    assert.match(
      message("sum(batchnorm(x, g, b))", "x=[[1,2],[3,4]]", "g=[1,2,3]", "b=[0,0]"),
      /batchNorm: weight must have shape \(2,\) for input of shape \(2,2\) .*got \(3,\)/,
    );
    assert.match(
      message("sum(layernorm(x, g, b))", "x=[[1,2],[3,4]]", "g=[1,2,3]", "b=[0,0]"),
      /layerNorm: weight must have the normalized shape \(2,\), got \(3,\)/,
    );
  });
});

describe("textbook rules, each checked against the engine's gradient", () => {
  it("conv2d at stride 1: ∂L/∂x the convolution of the upstream with the kernel rotated 180°, ∂L/∂w the correlation with x, ∂L/∂b the sum", () => {
    const r = run(CNN, ...CNN_AT);
    assert.equal(ruleOf(r, "y", "x"), "∂L/∂x = conv2d(∂L/∂y, rot180(w)ᵀ) | (2×1×4×4) from (2×2×5×5), (2×1×2×2)");
    assert.equal(ruleOf(r, "y", "w"), "∂L/∂w = corr(x, ∂L/∂y, padding=1) | (2×1×2×2) from (2×1×4×4), (2×2×5×5)");
    assert.equal(ruleOf(r, "y", "b"), "∂L/∂b = Σ_{N,H,W} ∂L/∂y | (2,) from (2×2×5×5)");
    // Without padding the full convolution pads by k − 1.
    const v = run("sum(conv2d(x, w)^2)", X1, W2);
    assert.equal(ruleOf(v, "a", "x"), "∂out/∂x = conv2d(∂out/∂a, rot180(w)ᵀ, padding=1) | (2×1×4×4) from (2×2×3×3), (2×1×2×2)");
  });

  it("conv2d at stride 2: the transposed convolution", () => {
    const r = run("sum(conv2d(x, w, stride=2, padding=1)^2)", X1, "w=[[[[1,0,2],[0,-1,1],[1,1,0]]]]");
    assert.equal(ruleOf(r, "a", "x"), "∂out/∂x = conv_transpose(∂out/∂a, w, stride=2, padding=1) | (2×1×4×4) from (2×1×2×2), (1×1×3×3)");
    assert.equal(ruleOf(r, "a", "w"), "∂out/∂w = corr(x, ∂out/∂a, stride=2, padding=1) | (1×1×3×3) from (2×1×4×4), (2×1×2×2)");
  });

  it("max pooling routes the gradient to each window's argmax; average pooling spreads 1/k²", () => {
    const r = run(CNN, ...CNN_AT);
    assert.equal(ruleOf(r, "p", "h"), "∂L/∂h = ∂L/∂p routed to the argmax of each 2×2 window of h (0 elsewhere) | (2×2×5×5) from (2×2×5×5), (2×2×2×2)");
    const a = run("sum(avgpool(x, 2, stride=1)^2)", X1);
    assert.equal(ruleOf(a, "a", "x"), "∂out/∂x = ∂out/∂a spread as 1/4 to each entry of its 2×2 window (stride 1) | (2×1×4×4) from (2×1×3×3)");
    // The values: each window's first largest entry gets the upstream, the rest 0 (the second image's [[2,1],[0,2]] window ties: the first 2).
    const m = run("sum(maxpool(x, 2) * [[[[10,20],[30,40]]],[[[1,2],[3,4]]]])", X1);
    assert.deepEqual(m.gradients.x, [
      [
        [
          [0, 10, 0, 0],
          [0, 0, 20, 0],
          [30, 0, 0, 0],
          [0, 0, 0, 40],
        ],
      ],
      [
        [
          [0, 0, 2, 0],
          [1, 0, 0, 0],
          [0, 0, 0, 0],
          [0, 3, 0, 4],
        ],
      ],
    ]);
  });

  it("batchnorm and layernorm: the closed forms dx = (1/m)(γ/σ)(m dy − Σdy − x̂ Σ dy x̂), dγ = Σ dy x̂, dβ = Σ dy", () => {
    const r = run(CNN, ...CNN_AT);
    assert.equal(
      ruleOf(r, "q", "p"),
      "∂L/∂p = (1/8) (g/σ) ⊙ (8 ∂L/∂q − Σ_{N,H,W} ∂L/∂q − p̂ ⊙ Σ_{N,H,W} (∂L/∂q ⊙ p̂)), where p̂ = (p − μ)/σ, σ = √(var + ε) | (2×2×2×2) from (2×2×2×2), (2,), (2×2×2×2)",
    );
    assert.equal(ruleOf(r, "q", "g"), "∂L/∂g = Σ_{N,H,W} (∂L/∂q ⊙ p̂) | (2,) from (2×2×2×2), (2×2×2×2)");
    assert.equal(ruleOf(r, "q", "be"), "∂L/∂be = Σ_{N,H,W} ∂L/∂q | (2,) from (2×2×2×2)");
    const l = run("h = layernorm(x, g, be); L = sum(h^3)", "x=[[1,2,4],[0,3,1]]", "g=[1.5,1,2]", "be=[0.2,0,1]");
    assert.equal(ruleOf(l, "h", "g"), "∂L/∂g = Σ_{axis 0} (∂L/∂h ⊙ x̂) | (3,) from (2×3), (2×3)");
    assert.match(ruleOf(l, "h", "x"), /^∂L\/∂x = \(1\/\(3σ\)\) \(3 \(g ⊙ ∂L\/∂h\) − Σ_\{axis 1\} \(g ⊙ ∂L\/∂h\) − x̂ ⊙ /);
    // The closed forms through the whole program are checked too.
    assert.ok(r.matrixDerivatives?.x?.text.startsWith("∂L/∂x = conv2d("));
  });

  it("the check is real: each rule's value equals the stage's VJP, and a rule with the wrong window does not", () => {
    const ex = explainAll(CNN, parseAssignments(CNN_AT));
    let checked = 0;
    ex.staged.stages.forEach((s, k) => {
      const per = stageRuleExprs(s, ex.trace.values);
      if (!per || !["conv2d", "maxpool", "batchnorm"].includes(s.op)) return;
      const env = new Map(ex.trace.values);
      env.set(upKey(s.name), ex.trace.records[k].ct);
      const refs = s.args.flatMap((a) => (a.kind === "ref" ? [a.name] : []));
      for (const [name, e] of per) {
        const want = ex.trace.records[k].vjp[refs.indexOf(name)];
        // float64 on both sides, different computations (loops against unfold/fold/gather): 1e-9 relative.
        const got = evalM(e, env);
        Array.from(want.data).forEach((w, i) => assert.ok(Math.abs(got.data[i] - w) <= 1e-9 * (1 + Math.abs(w)), `${s.name}/${name}[${i}]`));
        checked++;
        if (e.kind === "win" && e.op !== "convB" && e.op !== "normBeta" && e.op !== "normGamma") {
          const wrong: MExpr = { ...e, win: { ...e.win, stride: e.win.stride + 1 } };
          const wrongNorm: MExpr = { ...e, win: { ...e.win, norm: "layernorm" } };
          assert.equal(matches(e.op === "normX" ? wrongNorm : wrong, env, want), false, `${s.name}/${name}: a wrong rule passed`);
        }
      }
    });
    assert.equal(checked, 7);
  });
});

describe("shapes on the wires", () => {
  it("a CNN program's figures show (N×C×H×W) shapes on every array wire", async () => {
    const r = await cli("explain", CNN, "--at", CNN_AT.join(","), "--format", "mermaid");
    assert.equal(r.code, 0, r.err);
    for (const edge of [
      'n_x -->|"(2×1×4×4) / (2×1×4×4)"| n_y',
      'n_w -->|"(2×1×2×2) / (2×1×2×2)"| n_y',
      'n_y -->|"(2×2×5×5) / (2×2×5×5)"| n_h',
      'n_h -->|"(2×2×5×5) / (2×2×5×5)"| n_p',
      'n_p -->|"(2×2×2×2) / (2×2×2×2)"| n_q',
    ])
      assert.ok(r.out.includes(edge), `${edge}\n${r.out}`);
    // A pool's gate names its window.
    assert.ok(r.out.includes('n_p(("p: maxpool 2×2"))'), r.out);
    const svg = await cli("explain", CNN, "--at", CNN_AT.join(","), "--format", "svg");
    assert.equal(svg.code, 0, svg.err);
    assert.ok(svg.out.includes("(2×2×5×5)"));
  });
});

// ---------------------------------------------------------------- generated code

type Nested = number | Nested[];
const nested = (t: bp.Tensor): Nested => t.toArray() as Nested;
const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

function assertClose(got: readonly number[], want: readonly number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: size`);
  // float64 everywhere; the code's loops sum in another order than the engine: 1e-9 relative.
  got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= 1e-9 * (1 + Math.abs(want[i])), `${what}[${i}]: ${x} != ${want[i]}`));
}

const PYTHON = DEBIAN_PYTHON;
const skipPython = pythonLacks("numpy", "python3-numpy");

/** Arrays of other sizes than --at (a batch of 3, 5x5 images): deterministic values in [-1, 1). */
function otherValues(shape: readonly number[], seed: number): bp.Tensor {
  let s = seed * 7919 + 17;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (2 * s) / 2147483648 - 1;
  });
  return bp.tensor(data, { shape, dtype: "float64" });
}

const PROGRAMS: { src: string; at: string[]; other: number[][] }[] = [
  { src: CNN, at: CNN_AT, other: [[3, 1, 5, 5], [2, 1, 3, 3], [2], [2], [2]] },
  {
    src: "y = conv2d(x, w, stride=2, padding=1); p = avgpool(y, 2, stride=1); L = sum(p^2)",
    at: [X1, "w=[[[[1,0,2],[0,-1,1],[1,1,0]]]]"],
    other: [
      [2, 2, 7, 7],
      [3, 2, 3, 3],
    ],
  },
  { src: "h = layernorm(x, g, be); L = sum(h^3)", at: ["x=[[1,2,4],[0,3,1]]", "g=[1.5,1,2]", "be=[0.2,0,1]"], other: [[4, 5], [5], [5]] },
  { src: "h = batchnorm(x, g, be); L = sum(tanh(h) * x)", at: ["x=[[1,2],[3,5],[0,1]]", "g=[1.5,2]", "be=[0.2,1]"], other: [[6, 3], [3], [3]] },
];

/** The engine's output and gradients of the staged program at these arrays. */
function engine(src: string, at: string[], xs: bp.Tensor[]): number[][] {
  const ex = explainAll(src, parseAssignments(at));
  const [out, back] = bp.vjp(programFunction(ex.staged, ex.report.inputs), ...xs);
  return [flat(nested(out)), ...back(bp.onesLike(out)).map((g) => flat(nested(g!)))];
}

const dir = join(process.cwd(), "test-artifacts", "explain-conv");
mkdirSync(dir, { recursive: true });
let files = 0;

describe("generated code (Python with NumPy, TypeScript on bp tensors) runs and agrees with the report", () => {
  it("is written for batches of images: a single (C, H, W) image is an error naming the stage", () => {
    const ex = explainAll("sum(maxpool(x, 2))", parseAssignments(["x=[[[1,2],[3,4]]]"]));
    assert.throws(
      () => generateCode(ex, ["x"], "python"),
      /^ExplainError: code for a = maxpool\(x, 2\) needs x as a batch of images \(N, C, H, W\), got shape \(1,2,2\)$/,
    );
  });

  for (const p of PROGRAMS) {
    const ex = explainAll(p.src, parseAssignments(p.at));
    const inputs = [...ex.report.inputs];
    const given = inputs.map((n) => ex.trace.values.get(n)!);
    const report = [flat(ex.report.value as Nested), ...inputs.map((n) => flat(ex.report.gradients[n] as Nested))];
    const other = p.other.map((s, i) => otherValues(s, i + 1));
    const wantOther = engine(p.src, p.at, other);

    it(`Python: ${p.src}`, { skip: skipPython }, () => {
      const code = generateCode(ex, inputs, "python");
      assert.match(code, /def _conv2d_grad_x|def _norm_grads/);
      const harness = [
        code,
        "import json, sys",
        "res = []",
        "for args in json.loads(sys.stdin.read()):",
        "    r = forward_backward(*[np.array(a, dtype=float) for a in args])",
        "    res.append([np.asarray(v, dtype=float).ravel().tolist() for v in r])",
        "print(json.dumps(res))",
      ].join("\n");
      const r = spawnSync(PYTHON, ["-c", harness], { input: JSON.stringify([given.map(nested), other.map(nested)]), encoding: "utf8" });
      assert.equal(r.status, 0, `${r.stderr}\n${code}`);
      const [atGiven, atOther] = JSON.parse(r.stdout) as number[][][];
      atGiven.forEach((v, k) => assertClose(v, report[k], `Python ${k === 0 ? "out" : `g${inputs[k - 1]}`} at --at`));
      atOther.forEach((v, k) => assertClose(v, wantOther[k], `Python ${k === 0 ? "out" : `g${inputs[k - 1]}`} at other shapes`));
    });

    it(`TypeScript: ${p.src}`, async () => {
      const code = generateCode(ex, inputs, "ts");
      const file = join(dir, `program${files++}.ts`);
      writeFileSync(file, code.replace('from "backprop"', 'from "../../src/index.js"'));
      const f = ((await import(pathToFileURL(file).href)) as { forwardBackward: (...a: bp.Tensor[]) => bp.Tensor[] }).forwardBackward;
      f(...given).forEach((t, k) => assertClose(flat(nested(t)), report[k], `TypeScript ${k === 0 ? "out" : `g${inputs[k - 1]}`} at --at\n${code}`));
      f(...other).forEach((t, k) => assertClose(flat(nested(t)), wantOther[k], `TypeScript ${k === 0 ? "out" : `g${inputs[k - 1]}`} at other shapes`));
    });
  }
});
