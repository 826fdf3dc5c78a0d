/**
 * The exercise generator's public types: what is asked for (topic, difficulty, count, seed), and what
 * comes back (exercises, each with its question and an answer key the explainer computed).
 */
import type { ExplainReport, Value } from "../../report/report.js";

/** The topics, in the order a mixed sheet (`all`) cycles through them. */
export const EXERCISE_TOPICS = ["staging", "fan-out", "sigmoid", "chain-rule", "symbolic", "shapes", "layer", "param-count", "descent-step"] as const;
export type ExerciseTopic = (typeof EXERCISE_TOPICS)[number];

/** One line per topic, for help texts and error messages. */
export const TOPIC_TITLES: { readonly [T in ExerciseTopic]: string } = {
  staging: "scalar staging and gradients",
  "fan-out": "fan-out: a value used more than once",
  sigmoid: "the sigmoid gate",
  "chain-rule": "the chain rule through definitions",
  symbolic: "symbolic derivatives",
  shapes: "broadcasting and matmul shapes",
  layer: "vector and matrix backprop of a small layer",
  "param-count": "parameter counts of an MLP",
  "descent-step": "one gradient-descent step",
};

export type Difficulty = 1 | 2 | 3;

export interface ExerciseRequest {
  /** A topic, or "all" for a mixed sheet cycling through every topic. */
  topic: ExerciseTopic | "all";
  /** 1 (a few operations, integers) to 3 (longer programs, decimals); default 1. */
  difficulty?: Difficulty;
  /** How many exercises (1 to MAX_EXERCISES); default 3. */
  count?: number;
  /** The seed (an integer); default 1. Exercise i of a seed does not depend on count. */
  seed?: number;
}

/** At most this many exercises per sheet. */
export const MAX_EXERCISES = 100;

/** One final answer of a key: what it is, its value, and its text in Markdown and LaTeX. */
export interface KeyAnswer {
  /** What is answered, e.g. "∂f/∂x", "shape of x + y", "w after one step". */
  label: string;
  labelLatex: string;
  /** The value: a number or array, a shape, a count, or (for an impossible shape) null. */
  value: Value | number[] | null;
  /** The answer as written in Markdown and in LaTeX (math mode). */
  text: string;
  latex: string;
}

export interface ExerciseKey {
  /** The final answers. */
  answers: KeyAnswer[];
  /**
   * The explainer's report for the exercise's program: every stage with its forward value, local
   * derivatives, upstream gradient, contributions and gradient (absent for shape and count questions,
   * whose keys come from the core's shape functions and the layer sizes).
   */
  report?: ExplainReport;
  /** Worked steps for questions without a program (shape rules applied, each layer's count). */
  steps?: string[];
  stepsLatex?: string[];
}

export interface Exercise {
  /** `topic-difficulty-seed-index`, unique on a sheet and stable across runs. */
  id: string;
  topic: ExerciseTopic;
  difficulty: Difficulty;
  /** The sheet's seed and the exercise's place on it (from 0). */
  seed: number;
  index: number;
  title: string;
  /** The question in Markdown and in LaTeX (same words). */
  question: string;
  questionLatex: string;
  /** The program given to the explainer and its input values (absent for shape and count questions). */
  program?: string;
  at?: Record<string, Value>;
  /** A shapes exercise's operations: x.shape, the operator (+ broadcasts, @ is the matrix product), y.shape. */
  shapes?: { x: number[]; op: "+" | "@"; y: number[] }[];
  /** A parameter-count exercise's layer sizes (inputs, hidden..., outputs). */
  sizes?: number[];
  /** Learning rate of a descent-step exercise. */
  lr?: number;
  /** Whether the handout shows the computational graph (blank, inputs only); the key draws it filled whenever there is a program. */
  figure: boolean;
  key: ExerciseKey;
}

/** Thrown for a bad request (unknown topic, difficulty or count out of range); the message says which. */
export class ExerciseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExerciseError";
  }
}
