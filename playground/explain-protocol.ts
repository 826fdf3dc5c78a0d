// The messages between the page and explain-worker.ts. Everything in them survives structured clone:
// the report's NaN and ±Infinity values included (JSON would turn them into null).
import type { CheckWorkResult, ExerciseFormat, ExerciseRequest, ExplainReport } from "../src/index.js";

/** Explain a program: the Explain tab's answer. */
export interface ExplainJob {
  kind: "explain";
  /** Increases with every job, so a late answer to a stale job is recognised and dropped. */
  id: number;
  source: string;
  at: string;
}

/** Check a quiz's boxes against the program's report (the worker keeps the last explanation, so typing does not re-explain). */
export interface CheckJob {
  kind: "check";
  id: number;
  source: string;
  at: string;
  /** What the student typed, by cell label (answerCells' labels: a, gb, db/da, upstream b<-a...); empty boxes left out. */
  values: Record<string, string>;
}

/** Generate an exercise sheet with its key. */
export interface ExercisesJob {
  kind: "exercises";
  id: number;
  request: Required<ExerciseRequest>;
}

/** One gradient-descent step from the given values: the new values and the output there. */
export interface StepJob {
  kind: "step";
  id: number;
  source: string;
  at: string;
  /** The step size (learning rate). */
  lr: number;
}

export type WorkerJob = ExplainJob | CheckJob | ExercisesJob | StepJob;

/** A stage's right-hand side and local derivatives in LaTeX, typeset on the page with KaTeX. */
export interface StageLatex {
  equation: string;
  local: [arg: string, latex: string][];
}

export interface ExplainDone {
  kind: "explain";
  id: number;
  ok: true;
  /** The job's program and values as typed: a quiz checks against this very input. */
  source: string;
  at: string;
  report: ExplainReport;
  svg: string;
  tikz: string;
  python: string;
  ts: string;
  stageLatex: StageLatex[];
}

/** Any job that failed: the program, the answer or the request. */
export interface JobFailed<K extends WorkerJob["kind"] = WorkerJob["kind"]> {
  kind: K;
  id: number;
  ok: false;
  /** What playgroundErrorText says about the error. */
  error: string;
}

export type ExplainFailed = JobFailed<"explain">;
export type ExplainAnswer = ExplainDone | ExplainFailed;

export interface CheckDone {
  kind: "check";
  id: number;
  ok: true;
  /** checkWork's result over the readable boxes. */
  result: CheckWorkResult;
  /** formatCheckWork's text: what `backprop check` prints. */
  text: string;
  /** Boxes whose text is not a number, by cell key, with the reader's message. */
  unreadable: Record<string, string>;
}
export type CheckAnswer = CheckDone | JobFailed<"check">;

/** One exercise of a sheet, as the page lists it (the full sheets are in the texts). */
export interface ExerciseItem {
  id: string;
  title: string;
  /** The program and its values as the Input values box takes them; absent for shape and count questions. */
  program?: string;
  at?: string;
  /** Every input and stage is a number: the quiz can open it. */
  scalar: boolean;
}

export interface ExercisesDone {
  kind: "exercises";
  id: number;
  ok: true;
  /** The handout and the key in every format. */
  handout: Record<ExerciseFormat, string>;
  key: Record<ExerciseFormat, string>;
  items: ExerciseItem[];
}
export type ExercisesAnswer = ExercisesDone | JobFailed<"exercises">;

export interface StepDone {
  kind: "step";
  id: number;
  ok: true;
  lr: number;
  output: string;
  /** Each input: its value, its gradient and its value after the step (value − lr × gradient). */
  updates: { name: string; from: ExplainReport["value"]; grad: ExplainReport["value"]; to: ExplainReport["value"] }[];
  /** The output at the given values and at the new ones. */
  before: ExplainReport["value"];
  after: ExplainReport["value"];
}
export type StepAnswer = StepDone | JobFailed<"step">;

export type WorkerAnswer = ExplainAnswer | CheckAnswer | ExercisesAnswer | StepAnswer;
