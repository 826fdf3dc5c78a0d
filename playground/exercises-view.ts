// The Exercises tab: a seeded sheet from the library's generateExercises (run in a worker, as the
// explaining is), its handout shown on the page, the key behind a toggle, downloads of both in
// Markdown, LaTeX and JSON, and a button per scalar exercise that opens it in the Explain tab's quiz.
import * as bp from "../src/index.js";
import type { ExercisesDone } from "./explain-protocol.js";
import { JobRunner } from "./job-runner.js";
import { markdownNodes } from "./markdown-view.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const EXTENSIONS: Record<bp.ExerciseFormat, { ext: string; type: string }> = {
  markdown: { ext: "md", type: "text/markdown" },
  latex: { ext: "tex", type: "text/x-tex" },
  json: { ext: "json", type: "application/json" },
};

export interface ExercisesHooks {
  /** Opens a program at its values in the Explain tab's quiz mode. */
  openInQuiz(program: string, at: string): void;
  download(name: string, data: Blob): void;
}

/** The sheet shown, and the request it answered (the form may have changed since). */
interface Sheet {
  done: ExercisesDone | null;
  asked: Required<bp.ExerciseRequest> | null;
}

/** The form's fields, found once. */
interface Form {
  topic: HTMLSelectElement;
  difficulty: HTMLSelectElement;
  count: HTMLInputElement;
  seed: HTMLInputElement;
}

/** The request as typed; the library checks it (a bad count or seed is its error message). */
function request(f: Form): Required<bp.ExerciseRequest> {
  const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
  return {
    topic: f.topic.value as bp.ExerciseTopic | "all",
    difficulty: Number(f.difficulty.value) as bp.Difficulty,
    count: num(f.count.value),
    seed: num(f.seed.value),
  };
}

/** A button per scalar exercise, opening it in the Explain tab's quiz; the list hidden when there is none. */
function showQuizButtons(a: ExercisesDone, hooks: ExercisesHooks): void {
  const quizzable = a.items.map((it, i) => ({ it, i })).filter(({ it }) => it.scalar);
  $("ex-quiz-list").replaceChildren(
    ...quizzable.map(({ it, i }) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `Exercise ${i + 1} in quiz mode`;
      b.dataset.exercise = it.id;
      b.title = `${it.title}: open it in the Explain tab's quiz mode`;
      b.addEventListener("click", () => hooks.openInQuiz(it.program!, it.at!));
      li.append(b);
      return li;
    }),
  );
  $("ex-quiz").hidden = quizzable.length === 0;
}

function show(a: ExercisesDone, r: Required<bp.ExerciseRequest>, hooks: ExercisesHooks): void {
  const result = $("ex-result");
  $("ex-handout").replaceChildren(...markdownNodes(a.handout.markdown, 2));
  $("ex-key").replaceChildren(...markdownNodes(a.key.markdown, 2));
  showQuizButtons(a, hooks);
  result.hidden = false;
  result.dataset.seed = String(r.seed);
  // Counts the sheets shown: tests wait for it to change.
  result.dataset.generation = String(Number(result.dataset.generation ?? 0) + 1);
  $("ex-status").textContent = `${a.items.length} exercise${a.items.length > 1 ? "s" : ""}, seed ${r.seed}.`;
}

/** The worker's jobs: a sheet shown, or its error in place of the last one. */
function exercisesRunner(sheet: Sheet, hooks: ExercisesHooks, timeLimitMs: number): JobRunner<"exercises"> {
  const status = $("ex-status");
  const errorBox = $("ex-error");
  const result = $("ex-result");
  return new JobRunner(
    "exercises",
    {
      answer(a) {
        if (!a.ok) {
          sheet.done = null;
          result.hidden = true;
          errorBox.querySelector("pre")!.textContent = a.error;
          errorBox.hidden = false;
          status.textContent = "";
          return;
        }
        sheet.done = a;
        errorBox.hidden = true;
        show(a, sheet.asked!, hooks);
      },
      busy(on) {
        if (on) status.textContent = "Generating…";
        result.toggleAttribute("aria-busy", on);
      },
      timedOut(ms) {
        status.textContent = `No sheet after ${ms / 1000} s: ask for fewer exercises, or use backprop exercise on the command line.`;
      },
    },
    timeLimitMs,
  );
}

function listenKeyToggle(): void {
  const keyToggle = $<HTMLButtonElement>("ex-show-key");
  keyToggle.addEventListener("click", () => {
    const on = keyToggle.getAttribute("aria-pressed") !== "true";
    keyToggle.setAttribute("aria-pressed", String(on));
    keyToggle.textContent = on ? "Hide the key" : "Show the key";
    $("ex-key-section").hidden = !on;
  });
}

/** The download buttons: the handout or the key of the sheet shown, in the button's format. */
function listenDownloads(sheet: Sheet, hooks: ExercisesHooks): void {
  document.querySelectorAll<HTMLButtonElement>("[data-sheet]").forEach((b) =>
    b.addEventListener("click", () => {
      if (!sheet.done || !sheet.asked) return;
      const which = b.dataset.sheet as "handout" | "key";
      const format = b.dataset.format as bp.ExerciseFormat;
      const r = sheet.asked;
      const { ext, type } = EXTENSIONS[format];
      const name = `exercises-${r.topic}-d${r.difficulty}-seed${r.seed}${which === "key" ? "-key" : ""}.${ext}`;
      hooks.download(name, new Blob([sheet.done[which][format]], { type }));
    }),
  );
}

export function setupExercises(hooks: ExercisesHooks, timeLimitMs: number): void {
  const sheet: Sheet = { done: null, asked: null };
  const form: Form = { topic: $("ex-topic"), difficulty: $("ex-difficulty"), count: $("ex-count"), seed: $("ex-seed") };
  form.topic.replaceChildren(new Option("all topics, mixed", "all"), ...bp.EXERCISE_TOPICS.map((t) => new Option(`${t}: ${bp.TOPIC_TITLES[t]}`, t)));
  const runner = exercisesRunner(sheet, hooks, timeLimitMs);
  $("ex-generate").addEventListener("click", () => {
    sheet.asked = request(form);
    runner.run({ kind: "exercises", request: sheet.asked });
  });
  listenKeyToggle();
  listenDownloads(sheet, hooks);
}
