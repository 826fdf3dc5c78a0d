/**
 * `backprop check PROGRAM --at NAME=VALUE ... (--answer gx=5.47,gy=0 | --answer-file FILE) [--rtol R] [--json]`:
 * a student's answer checked against the explainer's report, the first mistake found and named.
 * Exit code 0 when every given number is right, 2 when the answer has a mistake, 1 on an error.
 */
import { readFileSync, statSync } from "node:fs";
import { explainAll } from "../explain/report/explain.js";
import { toJson } from "../explain/renderers/json.js";
import { parseAssignments } from "../explain/language/values.js";
import {
  ANSWER_FILE_FORMATS,
  AnswerError,
  answerFormatOf,
  parseAnswer,
  parseInlineAnswer,
  type Answer,
  type AnswerFileFormat,
} from "../explain/teaching/answers.js";
import { checkWork, formatCheckWork, type CheckWorkResult } from "../explain/teaching/check-work.js";
import { collect, type AddCommand } from "./command.js";
import { checkAtNames, explainFailure, readProgram } from "./explain.js";
import { reasonOf } from "./files.js";
import { UsageError } from "./command.js";

export interface CheckCliOptions {
  at: string[];
  answer: string[];
  answerFile?: string;
  answerFormat?: string;
  rtol?: string;
  atol?: string;
  json?: boolean;
}

/** Answer files larger than this are not a stage table (a student's table is a few kilobytes). */
const MAX_ANSWER_BYTES = 4 << 20;

/** An answer file's text ("-": standard input): a regular file of bounded size. */
function readAnswerFile(path: string): string {
  if (path === "-") {
    try {
      return readFileSync(0, "utf8");
    } catch (e) {
      throw new UsageError(`cannot read the answer from standard input: ${reasonOf(e)}`);
    }
  }
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`--answer-file ${path} is a directory`);
    if (!st.isFile()) throw new UsageError(`--answer-file ${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--answer-file ${path}: ${reasonOf(e)}`);
  }
  if (size > MAX_ANSWER_BYTES) throw new UsageError(`--answer-file ${path}: ${size} bytes is too large for an answer (at most ${MAX_ANSWER_BYTES})`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--answer-file ${path}: ${reasonOf(e)}`);
  }
}

/** A tolerance option: a number >= 0. */
function tolerance(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || x < 0) throw new UsageError(`${flag} needs a number >= 0, got "${v}"`);
  return x;
}

/** The options checked before any work: one source of answer, its format, the tolerances. */
function checkOptions(opts: CheckCliOptions): { rtol?: number; atol?: number; format?: AnswerFileFormat } {
  if (opts.answer.length > 0 && opts.answerFile !== undefined) throw new UsageError("give the answer with --answer or --answer-file, not both");
  if (opts.answer.length === 0 && opts.answerFile === undefined)
    throw new UsageError("no answer given: use --answer gx=...,gy=... or --answer-file FILE (backprop explain ... --blank prints a table to fill in)");
  const f = opts.answerFormat;
  if (f !== undefined && !(ANSWER_FILE_FORMATS as readonly string[]).includes(f))
    throw new UsageError(`unknown answer format "${f}" (use one of ${ANSWER_FILE_FORMATS.join(", ")})`);
  if (f !== undefined && opts.answerFile === undefined) throw new UsageError("--answer-format applies to --answer-file");
  return { rtol: tolerance("--rtol", opts.rtol), atol: tolerance("--atol", opts.atol), format: f as AnswerFileFormat | undefined };
}

/** The result as JSON: the verdicts of the given cells (blank ones left out), the mistakes, the counts. */
function resultJson(res: CheckWorkResult): string {
  return toJson(
    {
      correct: res.correct,
      summary: res.summary,
      first: res.first,
      mistakes: res.mistakes,
      counts: res.counts,
      tolerance: res.tolerance,
      cells: res.cells
        .filter((c) => c.verdict !== "blank")
        .map((c) => ({
          key: c.cell.key,
          label: c.cell.label,
          kind: c.cell.kind,
          verdict: c.verdict,
          given: c.given,
          expected: c.expected,
          ...(c.fromEarlier !== null && c.verdict === "carried" ? { fromEarlier: c.fromEarlier } : {}),
          where: c.where,
          ...(c.carriedFrom ? { carriedFrom: c.carriedFrom } : {}),
          ...(c.mistake ? { mistake: c.mistake.kind } : {}),
        })),
    },
    2,
  );
}

export async function checkCommand(programArg: string, opts: CheckCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const fail = (message: string, extra: Record<string, unknown> = {}): number => {
    if (opts.json) out(toJson({ error: message, ...extra }));
    else err(`error: ${message}`);
    return 1;
  };
  let program: string;
  let checked: ReturnType<typeof checkOptions>;
  let answerText: string | undefined;
  try {
    checkAtNames(opts.at);
    checked = checkOptions(opts);
    program = readProgram(programArg);
    if (opts.answerFile !== undefined) answerText = readAnswerFile(opts.answerFile);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  let ex;
  try {
    ex = explainAll(program, parseAssignments(opts.at));
  } catch (e) {
    const f = explainFailure(e);
    return fail(f.message, f.position === undefined ? {} : { position: f.position });
  }
  if (ex.report.abstract) return fail(`a program with abstract functions (${ex.report.abstract.functions.join(", ")}) has no values to check`);
  let answer: Answer;
  try {
    answer =
      answerText === undefined
        ? parseInlineAnswer(opts.answer, ex.report)
        : parseAnswer(answerText, ex.report, checked.format ?? answerFormatOf(answerText, opts.answerFile === "-" ? undefined : opts.answerFile));
  } catch (e) {
    if (e instanceof AnswerError) {
      const file = opts.answerFile !== undefined && opts.answerFile !== "-" ? `${opts.answerFile}: ` : "";
      return fail(`${file}${e.message}`, e.line === undefined ? {} : { line: e.line });
    }
    return fail(`internal error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  const res = checkWork(ex, answer, { rtol: checked.rtol, atol: checked.atol });
  out(opts.json ? resultJson(res) : formatCheckWork(res));
  return res.correct ? 0 : 2;
}

/** Declares `backprop check`. */
export const addCheck: AddCommand = (program, ctx) => {
  program
    .command("check")
    .description("check a student's answer (final gradients or the stage table) and name the first mistake")
    .argument("<program>", 'the program, as for explain: "(ln(x) + sin(y))^2 + 4x"; - reads it from standard input')
    .option("--at <NAME=VALUE>", "input value (repeat, or x=1,y=2), as for explain", collect, [] as string[])
    .option(
      "--answer <NAME=VALUE>",
      "the answer inline (repeat, or gx=5.47,gy=0): gradients gx, stage values a, local derivatives da/dx",
      collect,
      [] as string[],
    )
    .option("--answer-file <file>", "the answer as a filled-in blank (explain --blank): .txt, .md, .csv, .tex or .json; - reads standard input")
    .option("--answer-format <format>", `the answer file's format when its extension does not say: ${ANSWER_FILE_FORMATS.join(", ")}`)
    .option("--rtol <r>", "relative tolerance (default 1e-3); rounding to 3 significant digits always counts as right")
    .option("--atol <a>", "absolute tolerance for values that are zero up to rounding (default 1e-9)")
    .option("--json", "print the result as JSON")
    .action(async (source: string, opts: CheckCliOptions) => {
      ctx.setJson(!!opts.json);
      ctx.setCode(await checkCommand(source, opts, ctx.io.out, ctx.io.err));
    });
};
