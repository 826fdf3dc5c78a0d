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

export function setupExercises(hooks: ExercisesHooks, timeLimitMs: number): void {
  const topic = $<HTMLSelectElement>("ex-topic");
  const difficulty = $<HTMLSelectElement>("ex-difficulty");
  const count = $<HTMLInputElement>("ex-count");
  const seed = $<HTMLInputElement>("ex-seed");
  const status = $("ex-status");
  const errorBox = $("ex-error");
  const result = $("ex-result");
  const keyToggle = $<HTMLButtonElement>("ex-show-key");
  let sheet: ExercisesDone | null = null;
  /** The request of the job running or shown (the form may have changed since). */
  let asked: Required<bp.ExerciseRequest> | null = null;

  topic.replaceChildren(new Option("all topics, mixed", "all"), ...bp.EXERCISE_TOPICS.map((t) => new Option(`${t}: ${bp.TOPIC_TITLES[t]}`, t)));

  const runner = new JobRunner(
    "exercises",
    {
      answer(a) {
        if (!a.ok) {
          sheet = null;
          result.hidden = true;
          errorBox.querySelector("pre")!.textContent = a.error;
          errorBox.hidden = false;
          status.textContent = "";
          return;
        }
        sheet = a;
        errorBox.hidden = true;
        show(a);
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

  /** The request as typed; the library checks it (a bad count or seed is its error message). */
  const request = () => {
    const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
    return {
      topic: topic.value as bp.ExerciseTopic | "all",
      difficulty: Number(difficulty.value) as bp.Difficulty,
      count: num(count.value),
      seed: num(seed.value),
    };
  };

  function show(a: ExercisesDone): void {
    const r = asked!;
    $("ex-handout").replaceChildren(...markdownNodes(a.handout.markdown, 2));
    $("ex-key").replaceChildren(...markdownNodes(a.key.markdown, 2));
    const list = $("ex-quiz-list");
    const quizzable = a.items.map((it, i) => ({ it, i })).filter(({ it }) => it.scalar);
    list.replaceChildren(
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
    result.hidden = false;
    result.dataset.seed = String(r.seed);
    // Counts the sheets shown: tests wait for it to change.
    result.dataset.generation = String(Number(result.dataset.generation ?? 0) + 1);
    status.textContent = `${a.items.length} exercise${a.items.length > 1 ? "s" : ""}, seed ${r.seed}.`;
  }

  $("ex-generate").addEventListener("click", () => {
    asked = request();
    runner.run({ kind: "exercises", request: asked });
  });
  keyToggle.addEventListener("click", () => {
    const on = keyToggle.getAttribute("aria-pressed") !== "true";
    keyToggle.setAttribute("aria-pressed", String(on));
    keyToggle.textContent = on ? "Hide the key" : "Show the key";
    $("ex-key-section").hidden = !on;
  });
  document.querySelectorAll<HTMLButtonElement>("[data-sheet]").forEach((b) =>
    b.addEventListener("click", () => {
      if (!sheet || !asked) return;
      const which = b.dataset.sheet as "handout" | "key";
      const format = b.dataset.format as bp.ExerciseFormat;
      const r = asked;
      const { ext, type } = EXTENSIONS[format];
      const name = `exercises-${r.topic}-d${r.difficulty}-seed${r.seed}${which === "key" ? "-key" : ""}.${ext}`;
      hooks.download(name, new Blob([sheet[which][format]], { type }));
    }),
  );
}
