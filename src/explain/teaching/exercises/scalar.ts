/**
 * Exercises on scalar programs: staging, fan-out, the sigmoid gate, the chain rule through definitions,
 * symbolic derivatives and one descent step. Each draws a program and friendly inputs, runs the
 * explainer, and keeps the draw only if the report has no warning it is not about (explainFor).
 */
import type * as bp from "../../core.js";
import type { ExplainReport, Value } from "../../report/report.js";
import { awkward, explainFor, friendly, intIn, linear, nonzeroInt, pick, print, randomTree, varUses, type TreeOptions } from "./draw.js";
import { joinParts, m, nameTex, partial, programMath, valuesMath, valueTex, valueText, type Part } from "./text.js";
import type { Difficulty, Exercise, KeyAnswer } from "./types.js";

/** What a topic generator draws: an exercise without its place on the sheet (added by generateExercises). */
export type Draft = Omit<Exercise, "id" | "topic" | "difficulty" | "seed" | "index">;
export type Generator = (rng: bp.Rng, d: Difficulty) => Draft | null;

/** The key's answers for gradients: one per input, ∂out/∂input. */
export function gradientAnswers(r: ExplainReport, out: string): KeyAnswer[] {
  return r.inputs.map((x) => {
    const p = partial(out, x);
    const v = r.gradients[x];
    return { label: p.md, labelLatex: p.tex, value: v, text: valueText(v), latex: valueTex(v) };
  });
}

export function valueAnswer(r: ExplainReport, out: string): KeyAnswer {
  return { label: out, labelLatex: nameTex(out), value: r.value, text: valueText(r.value), latex: valueTex(r.value) };
}

function draft(title: string, parts: readonly Part[], program: string, at: Record<string, Value>, report: ExplainReport, answers: KeyAnswer[]): Draft {
  const q = joinParts(parts);
  return { title, question: q.md, questionLatex: q.tex, program, at, figure: true, key: { answers, report } };
}

/** "∂f/∂x, ∂f/∂y and ∂f/∂z" as parts. */
function partialsList(out: string, inputs: readonly string[]): Part[] {
  const ps = inputs.map((x) => partial(out, x));
  const parts: Part[] = [];
  ps.forEach((p, i) => {
    if (i > 0) parts.push(i === ps.length - 1 ? " and " : ", ");
    parts.push(p);
  });
  return parts;
}

const VARS = ["x", "y", "z"];

function treeOptions(d: Difficulty, vars: readonly string[], constants = 0.15): TreeOptions {
  if (d === 1) return { vars, binary: ["+", "-", "*"], unary: ["sq"], constants };
  if (d === 2) return { vars, binary: ["+", "-", "*", "/"], unary: ["sq", "exp", "ln"], constants };
  return { vars, binary: ["+", "-", "*", "/"], unary: ["sq", "exp", "ln", "sin", "cos", "tanh", "sigmoid"], constants };
}

function drawValues(rng: bp.Rng, names: readonly string[], d: Difficulty): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, friendly(rng, d)]));
}

export const staging: Generator = (rng, d) => {
  const vars = VARS.slice(0, d === 1 ? 2 : 3);
  const ops = d === 1 ? intIn(rng, 2, 3) : d === 2 ? intIn(rng, 3, 4) : intIn(rng, 5, 6);
  const tree = randomTree(rng, ops, treeOptions(d, vars));
  const uses = varUses(tree);
  if (vars.some((v) => !uses.has(v)) || awkward(tree)) return null;
  const program = `f = ${print(tree)}`;
  const at = drawValues(rng, vars, d);
  const r = explainFor(program, at);
  if (!r) return null;
  // The graph would give the staging away: the handout leaves it out (the key draws it).
  return {
    ...draft(
      "Stage it, then backpropagate",
      [
        "Stage ",
        programMath(program),
        " into one operation per equation (name the stages a, b, c, ...). At ",
        valuesMath(at),
        ", compute every stage's forward value; then go backward: each stage's local derivatives, the upstream gradient it receives and the gradient it passes on, and finally ",
        ...partialsList("f", vars),
        ".",
      ],
      program,
      at,
      r,
      [valueAnswer(r, "f"), ...gradientAnswers(r, "f")],
    ),
    figure: false,
  };
};

/** Inputs of the report with more than one outgoing wire, each with its contributions. */
function fanOuts(r: ExplainReport): { name: string; parts: Value[] }[] {
  const names = [...r.inputs, ...r.stages.map((s) => s.name)];
  return names
    .map((name) => ({ name, parts: r.edges.filter((e) => e.from === name && e.contribution !== null).map((e) => e.contribution as Value) }))
    .filter((f) => f.parts.length >= 2);
}

export const fanOut: Generator = (rng, d) => {
  let program: string;
  let vars: string[];
  if (d === 3 && rng.int(2) === 0) {
    // An intermediate used twice: q = ...; f = ... q ... q ...
    vars = ["x", "y", "z"];
    const q = print(randomTree(rng, 2, treeOptions(2, ["x", "y"], 0)));
    const outer = pick(rng, ["q * (q - z)", "q^2 + q * z", "(q + z) / q", "exp(q) * q - z", "q * z + sin(q)"]);
    program = `q = ${q}; f = ${outer}`;
  } else {
    vars = VARS.slice(0, d === 1 ? 2 : 3);
    const ops = d === 1 ? 3 : d === 2 ? intIn(rng, 4, 5) : intIn(rng, 5, 6);
    const tree = randomTree(rng, ops, treeOptions(d, vars, 0));
    const uses = varUses(tree);
    if (vars.some((v) => !uses.has(v)) || ![...uses.values()].some((n) => n >= 2) || awkward(tree)) return null;
    program = `f = ${print(tree)}`;
  }
  const at = drawValues(rng, vars, d);
  const r = explainFor(program, at);
  if (!r || fanOuts(r).length === 0) return null;
  const fans = fanOuts(r);
  const answers: KeyAnswer[] = fans.map((f) => {
    const total = r.inputs.includes(f.name) ? r.gradients[f.name] : r.stages.find((s) => s.name === f.name)!.grad!;
    return {
      label: `fan-out at ${f.name}`,
      labelLatex: `\\text{fan-out at } ${nameTex(f.name)}`,
      value: total,
      text: `${f.parts.map(valueText).join(" + ")} = ${valueText(total)}`,
      latex: `${f.parts.map(valueTex).join(" + ")} = ${valueTex(total)}`,
    };
  });
  return draft(
    "Fan-out: one value, several paths",
    [
      "In ",
      programMath(program),
      " at ",
      valueMathOf(at),
      ", a value feeds more than one operation. Stage the program, backpropagate, and at every value used more than once write its gradient as the sum of the gradients arriving along each path. Give ",
      ...partialsList("f", vars),
      ".",
    ],
    program,
    at,
    r,
    [...answers, ...gradientAnswers(r, "f")],
  );
};

const valueMathOf = valuesMath;

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

export const symbolic: Generator = (rng, d) => {
  const vars = d === 1 ? ["x"] : ["x", "y"];
  const opts: TreeOptions =
    d === 1
      ? { vars, binary: ["+", "*"], unary: ["sq", "exp", "sin", "ln"], constants: 0.3 }
      : { vars, binary: ["+", "-", "*", "/"], unary: ["sq", "exp", "sin", "cos", "ln", "sigmoid", "tanh"], constants: 0.2 };
  const tree = randomTree(rng, d === 1 ? intIn(rng, 2, 3) : d === 2 ? intIn(rng, 3, 4) : intIn(rng, 4, 5), opts);
  const uses = varUses(tree);
  if (vars.some((v) => !uses.has(v)) || awkward(tree)) return null;
  if (!JSON.stringify(tree).includes('"fn"') && !JSON.stringify(tree).includes('"sq"')) return null;
  const program = `f = ${print(tree)}`;
  const at = drawValues(rng, vars, d);
  const r = explainFor(program, at);
  if (!r || !r.derivatives || r.derivativesUnsimplified || r.derivativesTooLarge) return null;
  // Every derivative should be worth finding: short enough to write by hand, and not a constant.
  if (Object.values(r.derivatives).some((t) => t.length > 90 || !/[a-z]/.test(t))) return null;
  const symbolicAnswers: KeyAnswer[] = vars.map((x) => {
    const p = partial("f", x);
    return { label: `${p.md} (symbolic)`, labelLatex: p.tex, value: null, text: r.derivatives![x], latex: r.derivativesLatex![x] };
  });
  return draft(
    "The symbolic derivative",
    [
      "For ",
      programMath(program),
      ", find ",
      ...partialsList("f", vars),
      " as expressions in ",
      vars.join(" and "),
      " (simplify where you can), then evaluate ",
      vars.length > 1 ? "them" : "it",
      " at ",
      valuesMath(at),
      ". Check the numbers by backpropagating through the staged program.",
    ],
    program,
    at,
    r,
    [...symbolicAnswers, ...gradientAnswers(r, "f")],
  );
};

const RATES = [0.1, 0.05, 0.01, 0.2];

export const descentStep: Generator = (rng, d) => {
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
