/**
 * Exercises on arrays: broadcasting and matmul shapes (keys from the core's shape functions), backprop
 * through a small layer (keys from the explainer, matrix rules included) and an MLP's parameter counts.
 */
import * as bp from "../../core.js";
import type { Value } from "../../report/report.js";
import { explainFor, intIn, pick } from "./draw.js";
import { gradientAnswers, valueAnswer, type Generator } from "./answers.js";
import { joinParts, m, programMath, shapeText, valuesMath, type Part } from "./text.js";
import type { KeyAnswer } from "./types.js";

type ShapeOp = "+" | "@";

/** The result shape of `a op b` by the core's own rules, or the error it raises. */
export function shapeResult(a: readonly number[], op: ShapeOp, b: readonly number[]): { shape: number[] } | { error: string } {
  try {
    return { shape: op === "@" ? bp.matmulShape(a, b) : bp.broadcastShapes(a, b, "add") };
  } catch (e) {
    if (e instanceof bp.ShapeError) return { error: e.message };
    throw e;
  }
}

function dims(rng: bp.Rng, rank: number): number[] {
  return Array.from({ length: rank }, () => intIn(rng, 2, 6));
}

/** A broadcasting pair: a trailing part of `a` with some dimensions set to 1, sometimes one made to clash. */
function broadcastPair(rng: bp.Rng, maxRank: number): [number[], number[]] {
  const a = dims(rng, intIn(rng, 1, maxRank));
  let b = a.slice(a.length - intIn(rng, 1, a.length)).map((n) => (rng.int(3) === 0 ? 1 : n));
  if (rng.int(4) === 0) {
    const k = rng.int(b.length);
    b[k] = b[k] + 1;
  }
  if (rng.int(3) === 0 && b.length < maxRank) b = [intIn(rng, 2, 4), ...b.map((n) => n)];
  return rng.int(2) ? [a, b] : [b, a];
}

/** A matmul pair: vectors or matrices, with batch dimensions at difficulty 3; sometimes the inner sizes clash. */
function matmulPair(rng: bp.Rng, batched: boolean): [number[], number[]] {
  const [n, k, p] = dims(rng, 3);
  let a: number[] = rng.int(5) === 0 ? [k] : [n, k];
  let b: number[] = rng.int(5) === 0 ? [k] : [k, p];
  if (batched) {
    const batch = dims(rng, intIn(rng, 1, 2));
    a = [...batch, ...a];
    b = rng.int(2) ? [...batch.map((x) => (rng.int(2) ? 1 : x)), ...b] : b;
  }
  if (rng.int(4) === 0) b[b.length === 1 ? 0 : b.length - 2] += 1;
  return [a, b];
}

export const shapes: Generator = (rng, d) => {
  const parts: { a: number[]; op: ShapeOp; b: number[] }[] = [];
  for (let i = 0; i < 4; i++) {
    const op: ShapeOp = d === 1 ? "+" : i % 2 === 0 ? "+" : "@";
    const [a, b] = op === "+" ? broadcastPair(rng, d === 1 ? 2 : 3) : matmulPair(rng, d === 3);
    parts.push({ a, op, b });
  }
  const results = parts.map((p) => shapeResult(p.a, p.op, p.b));
  // A sheet of only errors (or none at all, at difficulty 2 and 3) teaches less: draw again.
  const errors = results.filter((r) => "error" in r).length;
  if (errors === 4 || (d > 1 && errors === 0)) return null;
  const letters = "abcd";
  const lines = parts.map((p, i) => {
    const what = p.op === "@" ? "x @ y" : "x + y";
    return joinParts([
      `(${letters[i]}) `,
      m(`x.shape = ${shapeText(p.a)}`, `x.\\mathrm{shape} = ${shapeText(p.a)}`),
      ", ",
      m(`y.shape = ${shapeText(p.b)}`, `y.\\mathrm{shape} = ${shapeText(p.b)}`),
      ": ",
      m(what, p.op === "@" ? "x\\,@\\,y" : "x + y"),
    ]);
  });
  const answers: KeyAnswer[] = parts.map((p, i) => {
    const r = results[i];
    const label = `(${letters[i]}) ${shapeText(p.a)} ${p.op} ${shapeText(p.b)}`;
    const labelLatex = `\\text{(${letters[i]}) } ${shapeText(p.a)} ${p.op === "@" ? "\\,@\\," : "+"} ${shapeText(p.b)}`;
    return "error" in r
      ? { label, labelLatex, value: null, text: `error: ${r.error}`, latex: `\\text{error}` }
      : { label, labelLatex, value: r.shape, text: shapeText(r.shape), latex: shapeText(r.shape) };
  });
  const steps = parts.map((p, i) => (p.op === "@" ? matmulSteps(p.a, p.b) : broadcastSteps(p.a, p.b)).map((s) => `(${letters[i]}) ${s}`)).flat();
  const intro = joinParts([
    ...(d === 1
      ? ["Does NumPy allow each addition ", m("x + y", "x + y"), " (broadcasting)?"]
      : ["Does NumPy allow each operation (broadcasting for ", m("+", "+"), ", the matrix product for ", m("@", "@"), ")?"]),
    " If so, give the result's shape; if not, say which dimensions clash.",
  ]);
  return {
    title: d === 1 ? "Broadcasting shapes" : "Broadcasting and matmul shapes",
    question: [intro.md, "", ...lines.map((l) => `- ${l.md}`)].join("\n"),
    questionLatex: [intro.tex, "\\begin{itemize}", ...lines.map((l) => `\\item[] ${l.tex}`), "\\end{itemize}"].join("\n"),
    shapes: parts.map((p) => ({ x: p.a, op: p.op, y: p.b })),
    figure: false,
    key: { answers, steps, stepsLatex: steps.map((s) => s.replace(/([%&#_$])/g, "\\$1")) },
  };
};

/** The broadcasting rules applied, written out: pad with ones on the left, then compare dimension by dimension. */
function broadcastSteps(a: readonly number[], b: readonly number[]): string[] {
  const n = Math.max(a.length, b.length);
  const pa = [...Array(n - a.length).fill(1), ...a];
  const pb = [...Array(n - b.length).fill(1), ...b];
  const cmp = pa.map((x, i) => (x === pb[i] ? `${x}` : x === 1 ? `1→${pb[i]}` : pb[i] === 1 ? `${x}←1` : `${x}≠${pb[i]}`));
  return [`padded: ${shapeText(pa)} and ${shapeText(pb)}; per dimension: ${cmp.join(", ")}`];
}

function matmulSteps(a: readonly number[], b: readonly number[]): string[] {
  const inner = `inner sizes ${a[a.length - 1]} (last of x) and ${b.length === 1 ? b[0] : b[b.length - 2]} (${b.length === 1 ? "y is a vector" : "second to last of y"})`;
  const batch = a.length > 2 || b.length > 2 ? `; batch dimensions ${shapeText(a.slice(0, -2))} and ${shapeText(b.slice(0, -2))} broadcast` : "";
  return [inner + batch];
}

/** A small integer matrix or vector (entries in [-2, 2], halves at difficulty 3). */
function small(rng: bp.Rng, shape: readonly number[], halves: boolean): Value {
  const entry = (): number => (halves && rng.int(3) === 0 ? (rng.int(2) ? 0.5 : -0.5) : intIn(rng, -2, 2));
  if (shape.length === 1) return Array.from({ length: shape[0] }, entry);
  return Array.from({ length: shape[0] }, () => Array.from({ length: shape[1] }, entry));
}

export const layer: Generator = (rng, d) => {
  let program: string;
  let at: Record<string, Value>;
  const n = intIn(rng, 2, 3);
  const k = 2;
  if (d === 1) {
    program = pick(rng, ["f = sum(W @ x + b)", "f = sum((W @ x)^2)"]);
    at = { W: small(rng, [n, k], false), x: small(rng, [k], false) };
    if (program.includes("b")) at.b = small(rng, [n], false);
  } else if (d === 2) {
    program = "L = 0.5 * sum((W @ x + b - y)^2)";
    at = { W: small(rng, [n, k], false), x: small(rng, [k], false), b: small(rng, [n], false), y: small(rng, [n], false) };
  } else {
    program = "L = 0.5 * sum((W2 @ relu(W1 @ x + b1) - y)^2)";
    at = { W1: small(rng, [n, k], true), x: small(rng, [k], false), b1: small(rng, [n], true), W2: small(rng, [1, n], true), y: small(rng, [1], false) };
  }
  const r = explainFor(program, at, { maxMagnitude: 400 });
  if (!r) return null;
  const out = program.slice(0, program.indexOf("=")).trim();
  const shapeParts: Part[] = Object.keys(at).flatMap((name, i) => [
    i ? ", " : "",
    m(`${name}: ${shapeText(bp.tensor(at[name] as bp.Nested).shape as number[])}`, `${name}: ${shapeText(bp.tensor(at[name] as bp.Nested).shape as number[])}`),
  ]);
  const q = joinParts([
    "Backpropagate through the layer ",
    programMath(program),
    " at ",
    valuesMath(at),
    " (shapes ",
    ...shapeParts,
    "). Stage it, give each stage's value and gradient, and every input's gradient in the denominator convention (",
    m(`∂${out}/∂W`, `\\partial ${out}/\\partial W`),
    " has W's shape), using vector-Jacobian products rather than full Jacobians.",
    ...(d === 3 ? [" Mind which ReLUs are active."] : []),
  ]);
  const answers: KeyAnswer[] = [valueAnswer(r, out), ...gradientAnswers(r, out)];
  return {
    title: d === 3 ? "A two-layer network, by matrices" : "Backprop through a small layer",
    question: q.md,
    questionLatex: q.tex,
    program,
    at,
    figure: true,
    key: { answers, report: r },
  };
};

/** Each layer's weights (in × out) and biases (out) of an MLP with these sizes. */
export function mlpCounts(sizes: readonly number[]): { weights: number; biases: number }[] {
  return sizes.slice(1).map((out, i) => ({ weights: sizes[i] * out, biases: out }));
}

export const paramCount: Generator = (rng, d) => {
  const hidden = d === 1 ? 1 : d === 2 ? 2 : 3;
  const sizes = [intIn(rng, 2, 12), ...Array.from({ length: hidden }, () => pick(rng, [3, 4, 5, 8, 10, 16, 20, 32, 64])), intIn(rng, 1, 10)];
  const counts = mlpCounts(sizes);
  const total = counts.reduce((a, c) => a + c.weights + c.biases, 0);
  const batch = pick(
    rng,
    [8, 16, 32, 64].filter((b) => !sizes.includes(b)),
  );
  const arch = sizes.join(" → ");
  const q = joinParts([
    `A fully connected network (MLP) has layer sizes ${arch}: ${sizes[0]} inputs, `,
    `${hidden} hidden layer${hidden > 1 ? "s" : ""} and ${sizes[sizes.length - 1]} output${sizes[sizes.length - 1] > 1 ? "s" : ""}; every layer has weights and a bias. How many parameters does each layer have (weights and biases), and how many in all?`,
    ...(d === 3
      ? [
          ` Each layer computes x @ W + b with W of shape (inputs, outputs), as bp.Linear does. With a batch of ${batch} inputs (the rows of x), what is the shape of each layer's output, and of the gradient of the first layer's weight matrix?`,
        ]
      : []),
  ]);
  const answers: KeyAnswer[] = counts.map((c, i) => ({
    label: `layer ${i + 1} (${sizes[i]} → ${sizes[i + 1]})`,
    labelLatex: `\\text{layer ${i + 1} (${sizes[i]} \\(\\to\\) ${sizes[i + 1]})}`,
    value: c.weights + c.biases,
    text: `${sizes[i]}·${sizes[i + 1]} + ${sizes[i + 1]} = ${c.weights + c.biases}`,
    latex: `${sizes[i]}\\cdot ${sizes[i + 1]} + ${sizes[i + 1]} = ${c.weights + c.biases}`,
  }));
  answers.push({ label: "total", labelLatex: "\\text{total}", value: total, text: String(total), latex: String(total) });
  if (d === 3) {
    sizes.slice(1).forEach((s, i) =>
      answers.push({
        label: `layer ${i + 1} output shape`,
        labelLatex: `\\text{layer ${i + 1} output shape}`,
        value: [batch, s],
        text: shapeText([batch, s]),
        latex: shapeText([batch, s]),
      }),
    );
    const g = [sizes[0], sizes[1]];
    answers.push({
      label: "shape of the first weight gradient",
      labelLatex: "\\text{shape of } \\partial L/\\partial W_1",
      value: g,
      text: shapeText(g),
      latex: shapeText(g),
    });
  }
  const steps = counts.map((c, i) => `layer ${i + 1}: weights ${sizes[i]}×${sizes[i + 1]} = ${c.weights}, biases ${c.biases}`);
  return {
    title: "Parameter counts of an MLP",
    question: q.md,
    questionLatex: q.tex,
    sizes,
    figure: false,
    key: { answers, steps, stepsLatex: steps.map((s) => s.replace(/×/g, "$\\times$")) },
  };
};
