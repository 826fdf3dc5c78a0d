/**
 * A sheet of exercises printed as a handout (questions only) or as its answer key (final answers, and
 * every stage from the explainer's report), in Markdown, LaTeX or JSON.
 */
import { formatMarkdown } from "../../renderers/format.js";
import { toJson } from "../../renderers/json.js";
import type { ExplainReport } from "../../report/report.js";
import { latexHandout, latexKey } from "./latex.js";
import { TOPIC_TITLES, type Difficulty, type Exercise, type ExerciseTopic } from "./types.js";

export const EXERCISE_FORMATS = ["markdown", "latex", "json"] as const;
export type ExerciseFormat = (typeof EXERCISE_FORMATS)[number];

/** What the sheet was generated from, for its title and for regenerating it. */
export interface SheetInfo {
  topic: ExerciseTopic | "all";
  difficulty: Difficulty;
  seed: number;
  count: number;
}

export function sheetTitle(info: SheetInfo): string {
  return `${info.topic === "all" ? "Backprop, every topic" : capitalize(TOPIC_TITLES[info.topic])}, difficulty ${info.difficulty}`;
}

/** The command that regenerates the sheet. */
export function sheetCommand(info: SheetInfo): string {
  return `backprop exercise --topic ${info.topic} --difficulty ${info.difficulty} --count ${info.count} --seed ${info.seed}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function renderHandout(exercises: readonly Exercise[], format: ExerciseFormat, info: SheetInfo): string {
  if (format === "latex") return latexHandout(exercises, info);
  if (format === "json") return toJson({ kind: "handout", ...info, command: sheetCommand(info), exercises: exercises.map(handoutJson) }, 2) + "\n";
  const out = [
    `# Exercises: ${sheetTitle(info)}`,
    "",
    `${exercises.length} exercise${exercises.length > 1 ? "s" : ""}; the answer key is a separate sheet. Regenerate with \`${sheetCommand(info)}\`.`,
  ];
  exercises.forEach((ex, i) => out.push("", `## ${i + 1}. ${ex.title}`, "", ex.question));
  return out.join("\n") + "\n";
}

export function renderKey(exercises: readonly Exercise[], format: ExerciseFormat, info: SheetInfo): string {
  if (format === "latex") return latexKey(exercises, info);
  if (format === "json") return toJson({ kind: "key", ...info, command: sheetCommand(info), exercises: exercises.map(keyJson) }, 2) + "\n";
  const out = [
    `# Answer key: ${sheetTitle(info)}`,
    "",
    `Computed by the explainer (every stage, checked by central differences). Regenerate with \`${sheetCommand(info)}\`.`,
  ];
  exercises.forEach((ex, i) => {
    out.push("", `## ${i + 1}. ${ex.title}`, "", "Answers:", "");
    for (const a of ex.key.answers) out.push(`- \`${a.label}\` = ${a.value === null && !a.text.includes("error") ? `\`${a.text}\`` : a.text}`);
    if (ex.key.steps) out.push("", "Working:", "", ...ex.key.steps.map((s) => `- ${s}`));
    // The explainer's own tables: forward values, local derivatives, upstream gradients, contributions.
    if (ex.key.report) out.push("", formatMarkdown(ex.key.report).replace(/^### /, "### Every stage: ").trimEnd());
  });
  return out.join("\n") + "\n";
}

function handoutJson(ex: Exercise): object {
  return {
    id: ex.id,
    topic: ex.topic,
    difficulty: ex.difficulty,
    index: ex.index,
    title: ex.title,
    question: ex.question,
    questionLatex: ex.questionLatex,
    program: ex.program,
    at: ex.at,
    lr: ex.lr,
    shapes: ex.shapes,
    sizes: ex.sizes,
  };
}

/** The stage table as the explainer prints it: each stage's value and gradient, each edge's local, upstream and contribution. */
export function stageTable(r: ExplainReport): object {
  return {
    stages: r.stages.map((s) => ({ name: s.name, equation: s.equation, value: s.value, grad: s.grad })),
    edges: r.edges.map((e) => ({ stage: e.to, input: e.from, local: e.local, localValue: e.localValue, upstream: e.upstream, contribution: e.contribution })),
  };
}

function keyJson(ex: Exercise): object {
  const r = ex.key.report;
  return {
    ...handoutJson(ex),
    answers: ex.key.answers.map((a) => ({ label: a.label, value: a.value, text: a.text })),
    steps: ex.key.steps,
    ...(r
      ? { value: r.value, gradients: r.gradients, ...stageTable(r), derivatives: r.derivatives, step: r.step, report: { ...r, derivativeExprs: undefined } }
      : {}),
  };
}
