/** `explain --blank`: which answer format the blank stage table is printed in (check reads it back). */
import { extname } from "node:path";
import { ANSWER_FILE_FORMATS, type AnswerFileFormat } from "../explain/teaching/answers.js";
import { UsageError } from "./command.js";

const BLANK_EXTENSIONS: Readonly<Record<string, AnswerFileFormat>> = { ".txt": "table", ".md": "markdown", ".csv": "csv", ".tex": "latex", ".json": "json" };

/** The blank's format: --json or --format when given, else --out's extension, else the text table. */
export function blankFormat(opts: { format?: string; json?: boolean; out?: string; check?: boolean; step?: string }): AnswerFileFormat {
  if (opts.check || opts.step !== undefined) throw new UsageError(`--blank prints a table to fill in; it does not take ${opts.check ? "--check" : "--step"}`);
  const explicit = opts.json ? "json" : opts.format;
  const isBlankFormat = (f: string): f is AnswerFileFormat => (ANSWER_FILE_FORMATS as readonly string[]).includes(f);
  const ext = opts.out === undefined ? undefined : extname(opts.out).toLowerCase();
  const named = ext !== undefined && Object.hasOwn(BLANK_EXTENSIONS, ext) ? BLANK_EXTENSIONS[ext] : undefined;
  if (explicit !== undefined) {
    if (!isBlankFormat(explicit)) throw new UsageError(`--blank prints ${ANSWER_FILE_FORMATS.join(", ")}, not ${explicit}`);
    if (named !== undefined && named !== explicit) throw new UsageError(`--out ${opts.out} contradicts ${opts.json ? "--json" : `--format ${explicit}`}`);
    return explicit;
  }
  if (opts.out === undefined) return "table";
  if (named === undefined) throw new UsageError(`--out ${opts.out}: a blank is written as ${Object.keys(BLANK_EXTENSIONS).join(", ")} (or give --format)`);
  return named;
}
