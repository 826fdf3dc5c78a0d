/**
 * Exercises on random scalar expressions: staging, fan-out and symbolic derivatives. Each draws an
 * expression and friendly inputs, runs the explainer, and keeps the draw only if the report has no
 * warning it is not about (explainFor).
 */
import type * as bp from "../../core.js";
import type { ExplainReport, Value } from "../../report/report.js";
import { draft, gradientAnswers, partialsList, valueAnswer, type Generator } from "./answers.js";
import { awkward, explainFor, friendly, intIn, pick, print, randomTree, varUses, type TreeOptions } from "./draw.js";
import { nameTex, partial, valuesMath, valueTex, valueText, programMath } from "./text.js";
import type { Difficulty, KeyAnswer } from "./types.js";

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
      valuesMath(at),
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
