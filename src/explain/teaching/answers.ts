/**
 * A student's answer: numbers for some cells of the stage table (cells.ts), at any level of detail,
 * from an inline list (`gx=5.47,gy=0`) or a file in the explainer's own table layout (a filled-in
 * blank: text table, Markdown, CSV, LaTeX or JSON). Parsing resolves every name against the report, so
 * an unknown name or a malformed row is an error that says where.
 */
import { ExplainSyntaxError, parseExpression } from "../language/parser.js";
import { evalConstant, splitAssignments } from "../language/values.js";
import { type ExplainReport, type Value } from "../report/report.js";
import { answerCells, type Cell } from "./cells.js";
import { readTables } from "./answer-tables.js";
import { readJsonAnswer } from "./answer-json.js";

export type AnswerFormat = "inline" | "table" | "markdown" | "csv" | "latex" | "json";

/** The file formats an answer (or a blank) can be written in. */
export const ANSWER_FILE_FORMATS = ["table", "markdown", "csv", "latex", "json"] as const;
export type AnswerFileFormat = (typeof ANSWER_FILE_FORMATS)[number];

export interface AnswerEntry {
  cell: Cell;
  value: Value;
  /** Where the student wrote it: "line 12", "--answer gx", "stages[2].value". */
  where: string;
}

export interface Answer {
  format: AnswerFormat;
  /** The cells the student filled in, in computation order (blank cells are left out). */
  entries: AnswerEntry[];
}

/** A malformed answer or a name it uses that the program does not have; `line` is 1-based when known. */
export class AnswerError extends Error {
  readonly line?: number;
  constructor(message: string, line?: number) {
    super(message);
    this.name = "AnswerError";
    if (line !== undefined) this.line = line;
  }
}

/** One number as the student wrote it, before it is matched to a cell. */
export interface RawEntry {
  cell: Cell;
  text: string | Value | null;
  where: string;
  line?: number;
}

/** Cell text a student leaves blank: nothing, ?, underscores, a dash, or the report's "not computed". */
export function isBlankText(text: string): boolean {
  return /^\s*(\?|_+|-|—|not computed)?\s*$/i.test(text);
}

/**
 * A cell's number: a constant expression as --at takes them (2.5, -1/e, 2.449e-16, [1,2]), after the
 * decorations the explainer's tables print beside values (an array's shape "(2,)", a contribution's
 * "x <- "). Null for a blank cell.
 */
export function parseCellValue(text: string, where: string, line?: number): Value | null {
  let t = text
    .trim()
    .replace(/^\$(.*)\$$/, "$1")
    .trim();
  t = t.replace(/^`(.*)`$/, "$1").trim();
  t = t.replace(/^[A-Za-z_][A-Za-z0-9_]*\s*(<-|←)\s*/, "");
  t = t.replace(/\s*\((\d+,?|\d+(\s*[×x]\s*\d+)+)\)\s*$/, "");
  // The branch a piecewise stage takes, printed beside its local value: 1 (z = 2.5 > 0).
  t = t.replace(/\s+\([^()]*[=<>:][^()]*\)\s*$/, "");
  if (isBlankText(t)) return null;
  if (/^[-+]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return Number.NaN;
  try {
    return evalConstant(parseExpression(t), t).toArray();
  } catch (e) {
    const why = e instanceof ExplainSyntaxError ? e.message : e instanceof Error ? e.message : String(e);
    throw new AnswerError(`${where}: cannot read "${text.trim()}" as a number (${why})`, line);
  }
}

/** The names an answer may use, for error messages: gradients, stage values, a local derivative. */
export function namesHint(r: ExplainReport): string {
  const cells = answerCells(r);
  const grads = cells.filter((c) => c.kind === "grad" && r.inputs.includes(c.name)).map((c) => c.label);
  const stages = cells.filter((c) => c.kind === "value").map((c) => c.label);
  const local = cells.find((c) => c.kind === "local")?.label;
  const list = (xs: string[]) => (xs.length <= 6 ? xs.join(", ") : `${xs.slice(0, 5).join(", ")}, ... ${xs[xs.length - 1]}`);
  return `gradients ${list(grads)}${stages.length ? `; stage values ${list(stages)}` : ""}${local ? `; local derivatives as ${local}` : ""}`;
}

/** Raw entries to an answer: values parsed, a cell given twice with different values an error. */
export function toAnswer(format: AnswerFormat, raws: readonly RawEntry[], r: ExplainReport): Answer {
  const order = new Map(answerCells(r).map((c, i) => [c.key, i]));
  const byKey = new Map<string, AnswerEntry>();
  for (const raw of raws) {
    const value = typeof raw.text === "string" ? parseCellValue(raw.text, raw.where, raw.line) : raw.text;
    if (value === null) continue;
    const prev = byKey.get(raw.cell.key);
    if (prev && JSON.stringify(prev.value) !== JSON.stringify(value))
      throw new AnswerError(`${raw.where}: ${raw.cell.label} is already given (${prev.where}) with another value`, raw.line);
    if (!prev) byKey.set(raw.cell.key, { cell: raw.cell, value, where: raw.where });
  }
  const entries = [...byKey.values()].sort((a, b) => order.get(a.cell.key)! - order.get(b.cell.key)!);
  return { format, entries };
}

/** The cell a name in an inline answer stands for: a cell's label (gx, a, dc/da) or key (local:c:a). */
export function cellByName(r: ExplainReport, name: string, where: string, line?: number): Cell {
  const n = name.trim();
  const cells = answerCells(r);
  const found = cells.find((c) => c.label === n) ?? cells.find((c) => c.key === n) ?? cells.find((c) => c.label.replace(/\s+/g, "") === n.replace(/\s+/g, ""));
  if (found) return found;
  if (r.inputs.includes(n))
    throw new AnswerError(
      `${where}: ${n} is an input: its value is given with --at, not in the answer (its gradient is ${cells.find((c) => c.kind === "grad" && c.name === n)?.label})`,
      line,
    );
  throw new AnswerError(`${where}: unknown name '${n}' in the answer (use ${namesHint(r)})`, line);
}

/** `gx=5.47,gy=0` (repeatable): gradients, stage values (a=1), local derivatives (dc/da=1) or cell keys. */
export function parseInlineAnswer(texts: string | readonly string[], r: ExplainReport): Answer {
  const raws: RawEntry[] = [];
  for (const text of typeof texts === "string" ? [texts] : texts) {
    for (const part of splitAssignments(text)) {
      const eq = part.lastIndexOf("=");
      if (eq <= 0) throw new AnswerError(`--answer: expected NAME=VALUE, got "${part}"`);
      const name = part.slice(0, eq).trim();
      const where = `--answer ${name}`;
      const cell = cellByName(r, name, where);
      if (part.slice(eq + 1).trim() === "") throw new AnswerError(`${where}: missing value`);
      raws.push({ cell, text: part.slice(eq + 1), where });
    }
  }
  if (raws.length === 0) throw new AnswerError("--answer is empty: give NAME=VALUE pairs such as " + exampleInline(r));
  return toAnswer("inline", raws, r);
}

/**
 * An answer from numbers a front end already holds, keyed by cell key or label ({ "grad:x": 5.47,
 * "dc/da": "1/e" }): a playground's quiz builds one from its input boxes on every keystroke. Blank
 * strings are blank cells; text is read as a cell of a table is.
 */
export function answerFromCells(values: Readonly<Record<string, Value | string | null>>, r: ExplainReport): Answer {
  const raws = Object.entries(values).map(([name, v]): RawEntry => ({ cell: cellByName(r, name, name), text: v, where: name }));
  return toAnswer("inline", raws, r);
}

/** An inline answer naming every input's gradient: gx=...,gy=... */
function exampleInline(r: ExplainReport): string {
  return answerCells(r)
    .filter((c) => c.kind === "grad" && r.inputs.includes(c.name))
    .map((c) => `${c.label}=...`)
    .join(",");
}

/** The format of an answer file: from its extension when it names one, else from its content. */
export function answerFormatOf(text: string, fileName?: string): AnswerFileFormat {
  const ext = fileName?.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  const byExt: Record<string, AnswerFileFormat> = { md: "markdown", markdown: "markdown", csv: "csv", json: "json", tex: "latex", txt: "table" };
  if (ext !== undefined && Object.hasOwn(byExt, ext)) return byExt[ext];
  const t = text.trimStart();
  if (t.startsWith("{")) return "json";
  if (/\\begin\{tabular\}/.test(text)) return "latex";
  if (/^\s*\|/m.test(text)) return "markdown";
  if (/^\s*"?stage"?\s*,/im.test(text)) return "csv";
  return "table";
}

/** An answer file's text, in the given format (else the one answerFormatOf infers). */
export function parseAnswer(text: string, r: ExplainReport, format: AnswerFileFormat = answerFormatOf(text)): Answer {
  const raws = format === "json" ? readJsonAnswer(text, r) : readTables(text, format, r);
  const answer = toAnswer(format, raws, r);
  if (answer.entries.length === 0) throw new AnswerError(`the answer has no values: fill in some cells (${namesHint(r)})`);
  return answer;
}
