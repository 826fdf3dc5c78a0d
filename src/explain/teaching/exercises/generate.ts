/**
 * generateExercises: a sheet of seeded exercises. Exercise i draws from its own generator, seeded from
 * (seed, topic, difficulty, i), so a sheet's first exercises do not change with its count; a draw
 * the explainer finds unfit (a warning, a huge number, a dead gradient) is drawn again from the same stream.
 */
import * as bp from "../../core.js";
import { paramCount, layer, shapes } from "./arrays.js";
import { exerciseSeed } from "./draw.js";
import { type Generator } from "./answers.js";
import { fanOut, staging, symbolic } from "./scalar.js";
import { chainRule, descentStep, sigmoid } from "./templates.js";
import {
  EXERCISE_TOPICS,
  ExerciseError,
  MAX_EXERCISES,
  TOPIC_TITLES,
  type Difficulty,
  type Exercise,
  type ExerciseRequest,
  type ExerciseTopic,
} from "./types.js";

const GENERATORS: { readonly [T in ExerciseTopic]: Generator } = {
  staging,
  "fan-out": fanOut,
  sigmoid,
  "chain-rule": chainRule,
  symbolic,
  shapes,
  layer,
  "param-count": paramCount,
  "descent-step": descentStep,
};

/** Draws per exercise before giving up (none of the generators comes near it; the bound keeps a bug from hanging). */
const MAX_DRAWS = 500;

export function isTopic(t: string): t is ExerciseTopic {
  return (EXERCISE_TOPICS as readonly string[]).includes(t);
}

/** "staging (scalar staging and gradients), fan-out (...), ..." for messages and help. */
export function topicList(): string {
  return EXERCISE_TOPICS.map((t) => `${t} (${TOPIC_TITLES[t]})`).join(", ");
}

/** The request with defaults filled in, or an ExerciseError saying what is wrong. */
export function checkRequest(req: ExerciseRequest): Required<ExerciseRequest> {
  const { topic, difficulty = 1, count = 3, seed = 1 } = req;
  if (topic !== "all" && !isTopic(topic)) throw new ExerciseError(`unknown topic "${String(topic)}" (use all, or one of ${EXERCISE_TOPICS.join(", ")})`);
  if (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > 3) throw new ExerciseError(`difficulty must be 1, 2 or 3, got ${String(difficulty)}`);
  if (!Number.isInteger(count) || count < 1 || count > MAX_EXERCISES)
    throw new ExerciseError(`count must be an integer from 1 to ${MAX_EXERCISES}, got ${String(count)}`);
  if (!Number.isSafeInteger(seed)) throw new ExerciseError(`seed must be an integer, got ${String(seed)}`);
  return { topic, difficulty: difficulty as Difficulty, count, seed };
}

/** One exercise: topic, difficulty, the sheet's seed and its place on the sheet. */
export function generateExercise(topic: ExerciseTopic, difficulty: Difficulty, seed: number, index: number): Exercise {
  const rng = new bp.Rng(exerciseSeed(seed, EXERCISE_TOPICS.indexOf(topic), difficulty, index));
  for (let k = 0; k < MAX_DRAWS; k++) {
    const d = GENERATORS[topic](rng, difficulty);
    if (d) return { id: `${topic}-${difficulty}-${seed}-${index + 1}`, topic, difficulty, seed, index, ...d };
  }
  throw new Error(`internal error: no acceptable ${topic} exercise in ${MAX_DRAWS} draws (seed ${seed}, exercise ${index + 1})`);
}

/**
 * `count` exercises on a topic ("all" cycles through the topics) at a difficulty, reproducible from the
 * seed. Each holds its question (Markdown and LaTeX) and its key: the explainer's report for the
 * program (every stage) and the final answers read from it.
 */
export function generateExercises(req: ExerciseRequest): Exercise[] {
  const { topic, difficulty, count, seed } = checkRequest(req);
  return Array.from({ length: count }, (_, i) => generateExercise(topic === "all" ? EXERCISE_TOPICS[i % EXERCISE_TOPICS.length] : topic, difficulty, seed, i));
}
