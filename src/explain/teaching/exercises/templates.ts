/**
 * Exercises built on program templates with drawn numbers: the sigmoid gate, the chain rule through
 * definitions, and one gradient-descent step. The explainer computes each key (explainFor).
 */
import { draft, gradientAnswers, partialsList, valueAnswer, type Generator } from "./answers.js";
import { explainFor, friendly, intIn, linear, nonzeroInt, pick } from "./draw.js";
import { m, nameTex, partial, programMath, valuesMath, valueTex, valueText, type Part } from "./text.js";
import type { KeyAnswer } from "./types.js";

export const sigmoid: Generator = (rng, d) => {
  let program: string;
  let at: Record<string, number>;
  if (d === 3) {
    const coeffs = Object.fromEntries(["w1", "b1", "w2", "b2"].map((n) => [n, friendly(rng, 2)]));
    at = { ...coeffs, x: friendly(rng, 2) };
    program = "f = sigmoid(w1*x + b1) + sigmoid(w2*x + b2)";
  } else {
    at = { w0: nonzeroInt(rng, 2), x0: nonzeroInt(rng, 2), w1: nonzeroInt(rng, 2), x1: nonzeroInt(rng, 2), w2: nonzeroInt(rng, 2) };
    if (d === 2) for (const k of ["w0", "w1"]) at[k] = friendly(rng, 2);
    program = d === 1 ? "f = sigmoid(w0*x0 + w1*x1 + w2)" : "f = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))";
  }
  const r = explainFor(program, at);
  if (!r) return null;
  // Keep the pre-activations small, where sigmoid's slope is worth computing (no near-saturation).
  const pre = r.stages.filter((s) => s.op === "sigmoid" || s.op === "neg").map((s) => r.stages.find((t) => t.name === s.inputs[0])?.value);
  if (pre.some((v) => typeof v !== "number" || Math.abs(v) > 3)) return null;
  const hint: Part[] =
    d === 2
      ? [" Stage it into primitives (negation, exp, +1, reciprocal) and use each one's local derivative."]
      : [" Use the sigmoid gate's local derivative ", m("σ'(z) = σ(z)(1 − σ(z))", "\\sigma'(z) = \\sigma(z)\\,(1 - \\sigma(z))"), "."];
  return draft(
    d === 3 ? "Two sigmoid units" : "The sigmoid gate",
    [
      "Backpropagate through ",
      programMath(program),
      " at ",
      valuesMath(at),
      ".",
      ...hint,
      " Give the forward value and every gradient: ",
      ...partialsList("f", r.inputs),
      ".",
    ],
    program,
    at,
    r,
    [valueAnswer(r, "f"), ...gradientAnswers(r, "f")],
  );
};

const INNER_1 = ["t^2", "2*t", "3*t + 1", "t^3", "t - 1"];
const INNER_2 = [...INNER_1, "ln(t)", "exp(t)", "sin(t)", "t^3/3", "1/t"];
const OUTER_1 = ["2*x + y", "x*y", "x + y^2", "x - 3*y", "x^2 + y"];
const OUTER_2 = [...OUTER_1, "x/y", "x*y + x", "ln(x) + y", "exp(x) * y"];

export const chainRule: Generator = (rng, d) => {
  let program: string;
  let at: Record<string, number>;
  if (d === 3) {
    const inner = ["s*t", "s + t^2", "s - t", "s^2 * t", "ln(s) + t", "s / t", "exp(s - t)"];
    const x = pick(rng, inner);
    const y = pick(
      rng,
      inner.filter((e) => e !== x),
    );
    program = `x = ${x}; y = ${y}; z = ${pick(rng, OUTER_2)}`;
    at = { s: friendly(rng, 2), t: friendly(rng, 2) };
  } else {
    const inner = d === 1 ? INNER_1 : INNER_2;
    const x = pick(rng, inner);
    const y = pick(
      rng,
      inner.filter((e) => e !== x),
    );
    program = `x = ${x}; y = ${y}; z = ${pick(rng, d === 1 ? OUTER_1 : OUTER_2)}`;
    at = { t: d === 1 ? nonzeroInt(rng, 3) : friendly(rng, 2) };
  }
  const r = explainFor(program, at);
  if (!r) return null;
  const inputs = Object.keys(at);
  const chain = (t: string): Part =>
    m(
      `∂z/∂${t} = ∂z/∂x · ∂x/∂${t} + ∂z/∂y · ∂y/∂${t}`,
      `\\frac{\\partial z}{\\partial ${t}} = \\frac{\\partial z}{\\partial x}\\frac{\\partial x}{\\partial ${t}} + \\frac{\\partial z}{\\partial y}\\frac{\\partial y}{\\partial ${t}}`,
    );
  const xs = ["x", "y"].map((n) => r.stages.find((s) => s.name === n)!);
  const intermediate: KeyAnswer[] = xs.map((s) => {
    const p = partial("z", s.name);
    return { label: p.md, labelLatex: p.tex, value: s.grad, text: valueText(s.grad!), latex: valueTex(s.grad!) };
  });
  return draft(
    "The chain rule through definitions",
    [
      "Let ",
      programMath(program),
      ". Without substituting the definitions into each other, use the chain rule ",
      ...inputs.flatMap((t, i) => (i ? [" and ", chain(t)] : [chain(t)])),
      " to find ",
      ...partialsList("z", inputs),
      " at ",
      valuesMath(at),
      ". Give the intermediate values x, y, z and the partial derivatives along the way.",
    ],
    program,
    at,
    r,
    [valueAnswer(r, "z"), ...intermediate, ...gradientAnswers(r, "z")],
  );
};

const RATES = [0.1, 0.05, 0.01, 0.2];

/** The loss of a descent-step exercise at difficulty d: a squared error in w (and b), with weight decay at 3. */
function descentProgram(rng: Parameters<Generator>[0], d: Parameters<Generator>[1]): { program: string; at: Record<string, number> } {
  const X = nonzeroInt(rng, 3);
  const Y = intIn(rng, -3, 3);
  let program: string;
  let at: Record<string, number>;
  if (d === 1) {
    program = `L = (${linear([[X, "w"]], -Y)})^2`;
    at = { w: nonzeroInt(rng, 2) };
  } else if (d === 2) {
    program = `L = (${linear(
      [
        [X, "w"],
        [1, "b"],
      ],
      -Y,
    )})^2`;
    at = { w: friendly(rng, 2), b: friendly(rng, 2) };
  } else {
    const X2 = nonzeroInt(rng, 2);
    const lam = pick(rng, [0.1, 0.5, 1]);
    program = `L = (${linear(
      [
        [X, "w1"],
        [X2, "w2"],
        [1, "b"],
      ],
      -Y,
    )})^2 + ${lam === 1 ? "" : `${lam}*`}(w1^2 + w2^2)`;
    at = { w1: friendly(rng, 2), w2: friendly(rng, 2), b: friendly(rng, 2) };
  }
  return { program, at };
}

export const descentStep: Generator = (rng, d) => {
  const { program, at } = descentProgram(rng, d);
  const lr = pick(rng, RATES);
  const r = explainFor(program, at, { step: lr });
  if (!r || !r.step) return null;
  const updates: KeyAnswer[] = r.step.updates.map((u) => ({
    label: `${u.name} after one step`,
    labelLatex: `${nameTex(u.name)}'`,
    value: u.to,
    text: `${valueText(u.from)} − ${lr} · ${paren(valueText(r.gradients[u.name]))} = ${valueText(u.to)}`,
    latex: `${valueTex(u.from)} - ${lr} \\cdot ${paren(valueTex(r.gradients[u.name]))} = ${valueTex(u.to)}`,
  }));
  const names = Object.keys(at);
  return {
    ...draft(
      "One gradient-descent step",
      [
        "The loss is ",
        programMath(program),
        ", with parameters at ",
        valuesMath(at),
        ". Compute the loss and ",
        ...partialsList("L", names),
        " by backpropagation, then take one gradient-descent step with learning rate ",
        m(`η = ${lr}`, `\\eta = ${lr}`),
        " (",
        m("θ ← θ − η ∂L/∂θ", "\\theta \\leftarrow \\theta - \\eta\\,\\partial L/\\partial\\theta"),
        "). Give the new parameters.",
      ],
      program,
      at,
      r,
      [valueAnswer(r, "L"), ...gradientAnswers(r, "L"), ...updates],
    ),
    lr,
  };
};

/** A negative number in parentheses, where it follows an operator. */
function paren(s: string): string {
  return s.startsWith("-") ? `(${s})` : s;
}
