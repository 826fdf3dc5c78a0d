/**
 * `backprop exercise --topic T [--difficulty 1..3] [--count N] [--seed S] [--format markdown|latex|json]
 * [--out FILE] [--key-out FILE] [--key] [--json]`: a seeded exercise sheet and its answer key.
 */
import { extname, resolve } from "node:path";
import { generateExercises, isTopic, topicList } from "../explain/teaching/exercises/generate.js";
import { EXERCISE_FORMATS, renderHandout, renderKey, type ExerciseFormat, type SheetInfo } from "../explain/teaching/exercises/render.js";
import { EXERCISE_TOPICS, MAX_EXERCISES, type Difficulty } from "../explain/teaching/exercises/types.js";
import { prepareOutputPath, reasonOf, writeFileAtomic } from "./files.js";
import { toJson } from "../explain/renderers/json.js";
import type { AddCommand } from "./command.js";
import { UsageError } from "./command.js";

export interface ExerciseCliOptions {
  topic?: string;
  difficulty: string;
  count: string;
  seed: string;
  format?: string;
  out?: string;
  keyOut?: string;
  key?: boolean;
  json?: boolean;
}

const EXTENSIONS: ReadonlyMap<string, ExerciseFormat> = new Map([
  [".md", "markdown"],
  [".tex", "latex"],
  [".json", "json"],
]);

function isFormat(f: string): f is ExerciseFormat {
  return (EXERCISE_FORMATS as readonly string[]).includes(f);
}

/** The format a file's extension names, or a usage error saying which extensions there are. */
function formatOfPath(path: string, flag: string): ExerciseFormat {
  const ext = extname(path).toLowerCase();
  const f = EXTENSIONS.get(ext);
  if (f === undefined) {
    const what = ext === "" ? "a name without an extension" : `the extension ${ext}`;
    throw new UsageError(`${flag} ${path}: cannot tell the format from ${what}; use .md, .tex or .json, or give --format`);
  }
  return f;
}

/** The key's file beside the handout's: sheet.tex -> sheet-key.tex. */
export function keyPathFor(out: string): string {
  const ext = extname(out);
  return `${out.slice(0, out.length - ext.length)}-key${ext}`;
}

/** An integer option in [lo, hi], or a usage error naming the option and the range. */
function intOption(flag: string, text: string, lo: number, hi: number): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < lo || v > hi) {
    throw new UsageError(`${flag} must be an integer from ${lo} to ${hi}, got "${text}"`);
  }
  return v;
}

/** The options checked before any work: topic, numbers, format and output paths. */
export function checkExerciseOptions(opts: ExerciseCliOptions): { info: SheetInfo; format: ExerciseFormat; out?: string; keyOut?: string } {
  const topics = `all, or one of: ${topicList()}`;
  if (opts.topic === undefined) throw new UsageError(`--topic is required: ${topics}`);
  if (opts.topic !== "all" && !isTopic(opts.topic)) throw new UsageError(`unknown topic "${opts.topic}": use ${topics}`);
  const difficulty = intOption("--difficulty", opts.difficulty, 1, 3) as Difficulty;
  const count = intOption("--count", opts.count, 1, MAX_EXERCISES);
  const seed = intOption("--seed", opts.seed, 0, 2 ** 32 - 1);
  if (opts.format !== undefined && !isFormat(opts.format)) throw new UsageError(`unknown format "${opts.format}" (use one of ${EXERCISE_FORMATS.join(", ")})`);
  const explicit: ExerciseFormat | undefined = opts.json ? "json" : (opts.format as ExerciseFormat | undefined);
  if (opts.json && opts.format !== undefined && opts.format !== "json") throw new UsageError(`--json contradicts --format ${opts.format}`);
  const keyOut = opts.keyOut ?? (opts.out !== undefined ? keyPathFor(opts.out) : undefined);
  let format = explicit;
  for (const [path, flag] of [
    [opts.out, "--out"],
    [keyOut, "--key-out"],
  ] as const) {
    if (path === undefined) continue;
    try {
      prepareOutputPath(path, flag, `sheet${[...EXTENSIONS].find(([, f]) => f === (format ?? "markdown"))![0]}`);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message.split("\n")[0] : String(e));
    }
    const named = formatOfPath(path, flag);
    if (format === undefined) format = named;
    else if (named !== format)
      throw new UsageError(`${flag} ${path} contradicts ${opts.json ? "--json" : explicit !== undefined ? `--format ${explicit}` : `--out ${opts.out}`}`);
  }
  if (opts.out !== undefined && keyOut !== undefined && resolve(opts.out) === resolve(keyOut))
    throw new UsageError(`--out and --key-out name the same file (${opts.out})`);
  return { info: { topic: opts.topic, difficulty, count, seed }, format: format ?? "markdown", out: opts.out, keyOut };
}

function write(path: string, text: string): void {
  try {
    writeFileAtomic(resolve(path), text.endsWith("\n") ? text : text + "\n");
  } catch (e) {
    throw new Error(`cannot write ${path}: ${reasonOf(e).split("\n")[0]}`);
  }
}

/**
 * Without files, prints the handout (the key with --key). With --out, writes the handout there and the key
 * to --key-out (default: beside it, NAME-key.EXT); with only --key-out, writes the key and prints the handout.
 */
export function exerciseCommand(opts: ExerciseCliOptions, out: (s: string) => void, err: (s: string) => void): number {
  const { info, format, out: handoutPath, keyOut } = checkExerciseOptions(opts);
  const exercises = generateExercises(info);
  const handout = (): string => renderHandout(exercises, format, info);
  const key = (): string => renderKey(exercises, format, info);
  const wrote: Record<string, string> = {};
  if (handoutPath !== undefined) {
    write(handoutPath, handout());
    wrote.handout = handoutPath;
  }
  if (keyOut !== undefined) {
    write(keyOut, key());
    wrote.key = keyOut;
  }
  if (handoutPath === undefined) out((opts.key && keyOut === undefined ? key() : handout()).replace(/\n$/, ""));
  else if (format === "json") out(toJson({ wrote }));
  for (const path of Object.values(wrote)) if (format !== "json" || handoutPath === undefined) err(`wrote ${path}`);
  return 0;
}

/** Declares `backprop exercise`. */
export const addExercise: AddCommand = (program, ctx) => {
  program
    .command("exercise")
    .description("seeded exercises on backprop with answer keys computed by the explainer (Markdown, LaTeX for pdflatex, JSON)")
    .option("--topic <topic>", `${EXERCISE_TOPICS.join(", ")}, or all (a mixed sheet)`)
    .option("--difficulty <n>", "1 (a few operations, integers) to 3 (longer programs, decimals)", "1")
    .option("--count <n>", `how many exercises (1 to ${MAX_EXERCISES})`, "3")
    .option("--seed <n>", "the seed: the same seed gives the same sheet", "1")
    .option("--format <format>", `${EXERCISE_FORMATS.join(", ")} (default: from the --out extension, else markdown)`)
    .option("--out <file>", "write the handout here (.md .tex .json); the key goes beside it as NAME-key.EXT unless --key-out names it")
    .option("--key-out <file>", "write the answer key here")
    .option("--key", "print the answer key instead of the handout")
    .option("--json", "same as --format json")
    .action((opts: ExerciseCliOptions) => {
      ctx.setJson(!!opts.json || opts.format === "json");
      ctx.setCode(exerciseCommand(opts, ctx.io.out, ctx.io.err));
    });
};
