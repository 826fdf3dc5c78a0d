/**
 * What a topic generator returns (a draft: an exercise without its place on the sheet) and the answers
 * every program exercise shares, read from the explainer's report.
 */
import type * as bp from "../../core.js";
import type { ExplainReport, Value } from "../../report/report.js";
import { joinParts, nameTex, partial, valueTex, valueText, type Part } from "./text.js";
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

export function draft(title: string, parts: readonly Part[], program: string, at: Record<string, Value>, report: ExplainReport, answers: KeyAnswer[]): Draft {
  const q = joinParts(parts);
  return { title, question: q.md, questionLatex: q.tex, program, at, figure: true, key: { answers, report } };
}

/** "∂f/∂x, ∂f/∂y and ∂f/∂z" as parts. */
export function partialsList(out: string, inputs: readonly string[]): Part[] {
  const ps = inputs.map((x) => partial(out, x));
  const parts: Part[] = [];
  ps.forEach((p, i) => {
    if (i > 0) parts.push(i === ps.length - 1 ? " and " : ", ");
    parts.push(p);
  });
  return parts;
}
