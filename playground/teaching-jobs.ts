// The teaching jobs the explain worker runs: a quiz's boxes checked with the library's checkWork (the
// same diagnosis `backprop check` prints), and an exercise sheet from generateExercises with its key.
// Nothing here diagnoses or generates by itself: it calls the library and packs the answer for the page.
import * as bp from "../src/index.js";
import { playgroundErrorText } from "./errors.js";
import type { CheckAnswer, CheckJob, ExerciseItem, ExercisesAnswer, ExercisesJob } from "./explain-protocol.js";

type Value = bp.ExplainReport["value"];

/** The last program explained for a quiz: each keystroke checks against it without explaining again. */
let cached: { source: string; at: string; ex: bp.Explanation } | null = null;

function explanation(source: string, at: string): bp.Explanation {
  if (cached && cached.source === source && cached.at === at) return cached.ex;
  const ex = bp.explainAll(source, bp.parseAssignments(at.trim() ? [at] : []), {});
  cached = { source, at, ex };
  return ex;
}

export function checkJob(job: CheckJob): CheckAnswer {
  try {
    const ex = explanation(job.source, job.at);
    const r = ex.report;
    // Each box is read on its own, so one unreadable box is marked there and the others are still checked.
    const readable: Record<string, string> = {};
    const unreadable: Record<string, string> = {};
    const byLabel = new Map(bp.answerCells(r).map((c) => [c.label, c]));
    for (const [label, text] of Object.entries(job.values)) {
      try {
        bp.answerFromCells({ [label]: text }, r);
        readable[label] = text;
      } catch (e) {
        unreadable[byLabel.get(label)?.key ?? label] = e instanceof Error ? e.message : String(e);
      }
    }
    const result = bp.checkWork(ex, bp.answerFromCells(readable, r));
    return { kind: "check", id: job.id, ok: true, result, text: bp.formatCheckWork(result), unreadable };
  } catch (e) {
    return { kind: "check", id: job.id, ok: false, error: playgroundErrorText(e) };
  }
}

/** A value as the Input values box takes it (numbers as JavaScript prints them, arrays in brackets). */
function valueText(v: Value): string {
  return Array.isArray(v) ? `[${v.map(valueText).join(", ")}]` : String(v);
}

function item(ex: bp.Exercise): ExerciseItem {
  const out: ExerciseItem = { id: ex.id, title: ex.title, scalar: false };
  if (ex.program === undefined || ex.at === undefined) return out;
  out.program = ex.program;
  out.at = Object.entries(ex.at)
    .map(([k, v]) => `${k}=${valueText(v)}`)
    .join(", ");
  const r = ex.key.report;
  out.scalar = !!r && Object.values(r.inputValues).every((v) => typeof v === "number") && r.stages.every((s) => typeof s.value === "number");
  return out;
}

export function exercisesJob(job: ExercisesJob): ExercisesAnswer {
  try {
    const info = job.request;
    const exercises = bp.generateExercises(info);
    const sheet = (render: typeof bp.renderHandout) => ({
      markdown: render(exercises, "markdown", info),
      latex: render(exercises, "latex", info),
      json: render(exercises, "json", info),
    });
    return { kind: "exercises", id: job.id, ok: true, handout: sheet(bp.renderHandout), key: sheet(bp.renderKey), items: exercises.map(item) };
  } catch (e) {
    return { kind: "exercises", id: job.id, ok: false, error: e instanceof Error ? `error: ${e.message}` : String(e) };
  }
}
