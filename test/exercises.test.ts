/**
 * The exercise generator: keys against the engine over every topic and difficulty (central differences for
 * every gradient, the stage table's own sums, parameter counts from real layers, shapes from the core's
 * rules), seeds reproducible, friendly inputs, and the LaTeX sheets through pdflatex.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as bp from "../src/index.js";
import { explain } from "../src/explain/report/explain.js";
import type { ExplainReport, Value } from "../src/explain/report/report.js";
import { givenValues } from "../src/explain/teaching/exercises/draw.js";
import { describeIf } from "./helpers.js";

const { generateExercises, renderHandout, renderKey, EXERCISE_TOPICS } = bp;
type Exercise = bp.Exercise;

const flat = (v: Value | null): number[] => (v === null ? [] : typeof v === "number" ? [v] : (v as Value[]).flatMap(flat));
const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

/** A copy of `v` with its k-th number (row-major) moved by `h`. */
function perturb(v: Value, k: number, h: number): Value {
  let i = 0;
  const walk = (x: Value): Value => (typeof x === "number" ? (i++ === k ? x + h : x) : (x as Value[]).map(walk));
  return walk(v);
}

/** Central differences of the program's value, input element by input element (the forward pass only, run twice per element). */
function centralDifferences(program: string, at: Record<string, Value>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, v] of Object.entries(at)) {
    out[name] = flat(v).map((x, k) => {
      const h = 1e-6 * Math.max(1, Math.abs(x));
      const f = (d: number) => explain(program, givenValues({ ...at, [name]: perturb(v, k, d) })).value as number;
      return (f(h) - f(-h)) / (2 * h);
    });
  }
  return out;
}

/** The stage table checked against itself: each contribution is upstream × local (scalars), each name's gradient the sum of its contributions. */
function checkStageTable(r: ExplainReport, where: string): void {
  for (const e of r.edges) {
    if (e.localValue !== null && typeof e.upstream === "number" && typeof e.contribution === "number") {
      assert.ok(close(e.contribution, e.upstream * e.localValue, 1e-9), `${where}: ${e.to} -> ${e.from}: ${e.contribution} != ${e.upstream} * ${e.localValue}`);
    }
  }
  const names = [...r.inputs, ...r.stages.filter((s) => s.name !== r.output).map((s) => s.name)];
  for (const n of names) {
    const parts = r.edges.filter((e) => e.from === n).map((e) => flat(e.contribution));
    if (parts.length === 0) continue;
    const total = flat(r.inputs.includes(n) ? r.gradients[n] : r.stages.find((s) => s.name === n)!.grad);
    const sum = total.map((_, i) => parts.reduce((a, p) => a + p[i], 0));
    sum.forEach((x, i) => assert.ok(close(x, total[i], 1e-9), `${where}: the gradient of ${n} is not the sum of its contributions`));
  }
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const all: Exercise[] = [];
for (const topic of EXERCISE_TOPICS)
  for (const difficulty of [1, 2, 3] as const) for (const seed of SEEDS) all.push(...generateExercises({ topic, difficulty, count: 1, seed }));

describe("exercise keys against the engine", () => {
  it(`generates ${all.length} exercises over every topic and difficulty`, () => {
    assert.ok(all.length >= 200);
    for (const topic of EXERCISE_TOPICS)
      for (const d of [1, 2, 3]) assert.equal(all.filter((e) => e.topic === topic && e.difficulty === d).length, SEEDS.length);
  });

  it("every gradient in every key agrees with central differences", () => {
    let checked = 0;
    for (const ex of all) {
      const r = ex.key.report;
      if (!ex.program) continue;
      assert.ok(r && ex.at, `${ex.id}: a program needs its report and values`);
      const numeric = centralDifferences(ex.program, ex.at);
      for (const [name, grads] of Object.entries(numeric)) {
        const analytic = flat(r.gradients[name]);
        grads.forEach((g, i) =>
          assert.ok(close(analytic[i], g, 1e-5), `${ex.id} (${ex.program}): d/d${name}[${i}] key ${analytic[i]}, central differences ${g}`),
        );
        checked += grads.length;
      }
      // The key's final answers are the report's numbers.
      for (const a of ex.key.answers.filter((x) => x.label.startsWith("∂") && !x.label.endsWith("(symbolic)"))) {
        const name = a.label.slice(a.label.lastIndexOf("∂") + 1);
        if (Object.hasOwn(r.gradients, name)) assert.deepEqual(a.value, r.gradients[name], `${ex.id}: ${a.label}`);
      }
    }
    assert.ok(checked > 500, `only ${checked} gradients checked`);
  });

  it("every key holds every stage: value, local derivative, upstream and gradient, consistent with each other", () => {
    for (const ex of all.filter((e) => e.key.report)) {
      const r = ex.key.report!;
      assert.ok(r.stages.length >= 2, ex.id);
      for (const s of r.stages) {
        assert.ok(flat(s.value).every(Number.isFinite), `${ex.id}: stage ${s.name} value`);
        assert.ok(s.grad !== null && flat(s.grad).every(Number.isFinite), `${ex.id}: stage ${s.name} gradient`);
      }
      for (const e of r.edges) assert.ok(e.upstream !== null && e.contribution !== null && e.local.length > 0, `${ex.id}: edge ${e.to} -> ${e.from}`);
      checkStageTable(r, ex.id);
    }
  });

  it("inputs are friendly and no stage has a domain error, a dead or saturated gradient or a kink", () => {
    for (const ex of all.filter((e) => e.at)) {
      for (const x of Object.values(ex.at!).flatMap(flat))
        assert.ok(Math.abs(x) <= 3 && Number((x * 10).toFixed(9)) % 1 === 0, `${ex.id}: input ${x} is not a short number`);
      assert.deepEqual(ex.key.report!.warnings, [], ex.id);
      for (const [name, g] of Object.entries(ex.key.report!.gradients))
        assert.ok(
          flat(g).some((v) => v !== 0),
          `${ex.id}: the gradient of ${name} is 0`,
        );
    }
  });

  it("a descent step moves each parameter by -lr times its gradient", () => {
    for (const ex of all.filter((e) => e.topic === "descent-step")) {
      const r = ex.key.report!;
      assert.ok(ex.lr !== undefined && r.step);
      for (const u of r.step.updates) assert.ok(close(u.to as number, (u.from as number) - ex.lr * (r.gradients[u.name] as number), 1e-12), ex.id);
      assert.deepEqual(
        ex.key.answers.filter((a) => a.label.endsWith("after one step")).map((a) => a.value),
        r.step.updates.map((u) => u.to),
      );
    }
  });

  it("parameter counts agree with the parameters of a real MLP of those sizes", () => {
    for (const ex of all.filter((e) => e.topic === "param-count")) {
      const sizes = ex.sizes!;
      const net = bp.mlp(sizes);
      const total = net.parameters().reduce((a, p) => a + p.size, 0);
      assert.equal(ex.key.answers.find((a) => a.label === "total")!.value, total, ex.id);
      const layers = ex.key.answers.filter((a) => a.label.startsWith("layer ") && !a.label.includes("shape"));
      assert.equal(layers.length, sizes.length - 1);
      const linears = net.parameters();
      layers.forEach((a, i) => assert.equal(a.value, linears[2 * i].size + linears[2 * i + 1].size, `${ex.id}: layer ${i + 1}`));
      if (ex.difficulty === 3) {
        const batch = (ex.key.answers.find((a) => a.label === "layer 1 output shape")!.value as number[])[0];
        const out = net.forward(bp.zeros([batch, sizes[0]]));
        assert.deepEqual(ex.key.answers.find((a) => a.label === `layer ${sizes.length - 1} output shape`)!.value, out.shape);
        assert.deepEqual(ex.key.answers.find((a) => a.label.startsWith("shape of the first"))!.value, linears[0].shape);
      }
    }
  });

  it("shape answers are the core's broadcasting and matmul rules (and the ops agree)", () => {
    let errors = 0;
    for (const ex of all.filter((e) => e.topic === "shapes")) {
      ex.shapes!.forEach((p, i) => {
        const a = ex.key.answers[i];
        let expected: number[] | null;
        try {
          expected = p.op === "@" ? bp.matmulShape(p.x, p.y) : bp.broadcastShapes(p.x, p.y);
        } catch (e) {
          assert.ok(e instanceof bp.ShapeError);
          expected = null;
        }
        assert.deepEqual(a.value, expected, `${ex.id} (${a.label})`);
        if (expected === null) {
          errors++;
          assert.match(a.text, /^error: /);
        } else {
          // The ops themselves on zeros of those shapes give the same shape.
          const r = p.op === "@" ? bp.matmul(bp.zeros(p.x), bp.zeros(p.y)) : bp.add(bp.zeros(p.x), bp.zeros(p.y));
          assert.deepEqual(r.shape, expected);
        }
      });
    }
    assert.ok(errors > 0, "some shape questions should be impossible");
  });

  it("fan-out exercises have a value used twice, and their sums are the gradients", () => {
    for (const ex of all.filter((e) => e.topic === "fan-out")) {
      const sums = ex.key.answers.filter((a) => a.label.startsWith("fan-out at"));
      assert.ok(sums.length > 0, ex.id);
      for (const a of sums) {
        const parts = a.text.split(" = ")[0].split(" + ");
        assert.ok(parts.length >= 2, `${ex.id}: ${a.text}`);
      }
    }
  });

  it("symbolic keys parse back and evaluate to the gradients", () => {
    for (const ex of all.filter((e) => e.topic === "symbolic")) {
      for (const a of ex.key.answers.filter((x) => x.label.endsWith("(symbolic)"))) {
        const name = a.label.slice(a.label.lastIndexOf("∂") + 1, a.label.indexOf(" "));
        const at = Object.fromEntries(Object.entries(ex.at!).filter(([k]) => a.text.includes(k)));
        const v = explain(`g = ${a.text}`, givenValues(at)).value as number;
        assert.ok(close(v, ex.key.report!.gradients[name] as number, 1e-9), `${ex.id}: ${a.text} = ${v}`);
      }
    }
  });
});

describe("exercise sheets", () => {
  it("the same seed gives the same sheet, in every format", () => {
    for (const format of bp.EXERCISE_FORMATS) {
      const info = { topic: "all" as const, difficulty: 2 as const, seed: 11, count: 9 };
      const a = generateExercises(info);
      const b = generateExercises(info);
      assert.equal(renderHandout(a, format, info), renderHandout(b, format, info));
      assert.equal(renderKey(a, format, info), renderKey(b, format, info));
    }
  });

  it("different seeds give different exercises, and exercise i does not depend on the count", () => {
    for (const topic of EXERCISE_TOPICS) {
      const texts = new Set(SEEDS.map((seed) => generateExercises({ topic, difficulty: 2, count: 1, seed })[0].question));
      assert.ok(texts.size >= SEEDS.length - 1, `${topic}: only ${texts.size} different questions from ${SEEDS.length} seeds`);
      const three = generateExercises({ topic, count: 3, seed: 4 });
      const five = generateExercises({ topic, count: 5, seed: 4 });
      assert.deepEqual(
        five.slice(0, 3).map((e) => e.question),
        three.map((e) => e.question),
      );
    }
  });

  it("the handout has the questions and no answers; the key has every stage", () => {
    const info = { topic: "staging" as const, difficulty: 1 as const, seed: 3, count: 2 };
    const exs = generateExercises(info);
    const handout = renderHandout(exs, "markdown", info);
    const key = renderKey(exs, "markdown", info);
    for (const ex of exs) {
      assert.ok(handout.includes(ex.program!));
      for (const s of ex.key.report!.stages) assert.ok(key.includes(s.equation), `the key lacks ${s.equation}`);
    }
    assert.ok(!handout.includes("Answers") && key.includes("Answers:"));
    const hj = JSON.parse(renderHandout(exs, "json", info));
    assert.equal(hj.kind, "handout");
    assert.equal(hj.exercises.length, 2);
    assert.ok(!("answers" in hj.exercises[0]) && !("report" in hj.exercises[0]));
    const kj = JSON.parse(renderKey(exs, "json", info));
    assert.equal(kj.kind, "key");
    const first = kj.exercises[0];
    assert.deepEqual(
      first.stages.map((s: { name: string }) => s.name),
      exs[0].key.report!.stages.map((s) => s.name),
    );
    assert.ok(first.edges.every((e: { upstream: unknown; localValue: unknown }) => e.upstream !== undefined && e.localValue !== undefined));
    assert.deepEqual(first.gradients, exs[0].key.report!.gradients);
  });

  it("bad requests are errors that say what is wrong", () => {
    assert.throws(() => generateExercises({ topic: "sigmod" as bp.ExerciseTopic }), /unknown topic "sigmod" \(use all, or one of staging, fan-out, sigmoid/);
    assert.throws(() => generateExercises({ topic: "staging", difficulty: 4 as bp.Difficulty }), /difficulty must be 1, 2 or 3, got 4/);
    assert.throws(() => generateExercises({ topic: "staging", count: 0 }), /count must be an integer from 1 to 100, got 0/);
    assert.throws(() => generateExercises({ topic: "staging", seed: 1.5 }), /seed must be an integer/);
  });
});

const hasPdflatex = spawnSync("pdflatex", ["--version"]).status === 0;

describeIf("exercise sheets through pdflatex", hasPdflatex ? false : "pdflatex is not installed (apt-get install texlive-latex-extra texlive-pictures)", () => {
  const dir = join(process.cwd(), "test-artifacts", "exercises");
  mkdirSync(dir, { recursive: true });
  for (const difficulty of [1, 3] as const) {
    const info = { topic: "all" as const, difficulty, seed: 7, count: EXERCISE_TOPICS.length };
    const exs = generateExercises(info);
    for (const [name, text] of [
      [`handout-${difficulty}`, () => renderHandout(exs, "latex", info)],
      [`key-${difficulty}`, () => renderKey(exs, "latex", info)],
    ] as const) {
      it(`the ${name.replace(/-\d$/, "")} of every topic at difficulty ${difficulty} compiles, with its figures`, () => {
        const tex = text();
        assert.ok(tex.includes("\\begin{tikzpicture}"), "no figure");
        writeFileSync(join(dir, `${name}.tex`), tex);
        const r = spawnSync("pdflatex", ["-interaction=nonstopmode", "-halt-on-error", `${name}.tex`], { cwd: dir, encoding: "utf8", timeout: 120000 });
        assert.equal(r.status, 0, r.stdout.slice(-2000));
        assert.ok(existsSync(join(dir, `${name}.pdf`)));
        assert.doesNotMatch(r.stdout, /Missing character|Undefined control sequence/);
      });
    }
  }
});
