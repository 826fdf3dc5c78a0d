/** `backprop explain PROGRAM --at NAME=VALUE ... [--format F] [--out FILE] [--json] [--check] [--step LR]`. */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { generateCode } from "../explain/interpreters/codegen.js";
import { abstractError } from "../explain/interpreters/abstract.js";
import { explainAll, ExplainError } from "../explain/report/explain.js";
import { formatLatex, formatMarkdown, formatTable } from "../explain/renderers/format.js";
import { toDot, toMermaid, toSvg, toTikz } from "../explain/renderers/figures.js";
import { svgToPng } from "./png.js";
import { ExplainSyntaxError, type ErrorHint } from "../explain/language/parser.js";
import { reportJson, toJson } from "../explain/renderers/json.js";
import { prepareOutputPath, reasonOf, writeFileAtomic } from "./files.js";
import { parseAssignments } from "../explain/language/values.js";
import { ShapeError } from "../core/shape.js";

export const FORMATS = ["table", "markdown", "latex", "json", "dot", "svg", "png", "mermaid", "tikz", "python", "ts"] as const;
export type Format = (typeof FORMATS)[number];

/**
 * The formats an --out extension stands for: the first is the one inferred when --format is not given,
 * the others agree with it (.tex is the LaTeX derivation, or with --format tikz the figure).
 */
const EXTENSIONS: ReadonlyMap<string, readonly Format[]> = new Map<string, readonly Format[]>([
  [".svg", ["svg"]],
  [".png", ["png"]],
  [".tex", ["latex", "tikz"]],
  [".md", ["markdown"]],
  [".json", ["json"]],
  [".dot", ["dot"]],
  [".mmd", ["mermaid"]],
  [".py", ["python"]],
  [".ts", ["ts"]],
  [".txt", ["table"]],
]);

function isFormat(f: string): f is Format {
  return (FORMATS as readonly string[]).includes(f);
}

/** The usual extension of a format's file, for examples in messages. */
function extensionOf(format: Format): string {
  return [...EXTENSIONS].find(([, formats]) => formats.includes(format))?.[0] ?? `.${format}`;
}

/**
 * The output format: --json or --format when given, and then --out's extension must not name another
 * one; else the one --out's extension names (an extension it does not know is an error, so that
 * --out graph.pdf does not silently write a table); else the table.
 */
export function outputFormat(opts: Pick<ExplainCliOptions, "format" | "json" | "out">): Format {
  const explicit = opts.json ? "json" : opts.format;
  if (explicit !== undefined && !isFormat(explicit)) throw new Error(`unknown format "${explicit}" (use one of ${FORMATS.join(", ")})`);
  if (opts.out === undefined) return explicit ?? "table";
  const ext = extname(opts.out).toLowerCase();
  const named = EXTENSIONS.get(ext);
  if (explicit !== undefined) {
    if (named !== undefined && !named.includes(explicit)) throw new Error(`--out ${opts.out} contradicts ${opts.json ? "--json" : `--format ${explicit}`}`);
    return explicit;
  }
  if (named === undefined) {
    const known = [...EXTENSIONS.keys()];
    const what = ext === "" ? "a name without an extension" : `the extension ${ext}`;
    throw new Error(
      `--out ${opts.out}: cannot tell the format from ${what}; use ${known.slice(0, -1).join(", ")} or ${known[known.length - 1]}, or give --format`,
    );
  }
  return named[0];
}

export interface ExplainCliOptions {
  at: string[];
  format?: string;
  out?: string;
  json?: boolean;
  check?: boolean;
  step?: string;
}

/**
 * One line saying why `path` could not be written, with the CLI's shared reasons (files.ts): Node's
 * own messages would name the atomic write's hidden temp file, which the user never asked for.
 */
export function writeErrorMessage(path: string, e: unknown): string {
  return `error: cannot write ${path}: ${reasonOf(e).split("\n")[0]}`;
}

/** Writes the output file atomically (its path was checked, and missing folders made, before the work). */
function writeOutput(path: string, data: Uint8Array | string): string | null {
  try {
    writeFileAtomic(resolve(path), data);
    return null;
  } catch (e) {
    return writeErrorMessage(path, e);
  }
}

/** The CLI's wording of what to do about an error: values are given with --at. */
export function cliHint(hint: ErrorHint): string {
  switch (hint.kind) {
    case "missing-input":
      return `give it with --at ${hint.name}=...`;
    case "defined-input":
      return `remove ${hint.name}=... from --at`;
    case "array-values":
      return "give array values with --at, as W=[[1,2],[3,4]]";
  }
}

/** The first line of an unexpected error's message (no stack trace reaches the user). */
function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

export async function explainCommand(programArg: string, opts: ExplainCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  // Under --json (or --format json) every error is one JSON object on stdout, {"error": "..."}
  // (without the "error: " prefix).
  const jsonErrors = opts.json === true || opts.format === "json";
  const fail = (message: string, position?: number): number => {
    if (jsonErrors) {
      const text = message.replace(/^error: /, "");
      out(toJson(position === undefined ? { error: text } : { error: text, position }));
    } else err(message);
    return 1;
  };
  let program: string;
  try {
    // "-" reads the program from standard input (long programs do not fit on a command line).
    program = programArg === "-" ? readFileSync(0, "utf8") : programArg;
  } catch (e) {
    return fail(`error: cannot read the program from standard input: ${firstLine(e)}`);
  }
  if (opts.format !== undefined && !isFormat(opts.format)) return fail(`error: unknown format "${opts.format}" (use one of ${FORMATS.join(", ")})`);
  if (opts.out !== undefined) {
    // Before the work, as train does for --save: a directory, a file in the way or an unwritable
    // folder is an error now; missing folders are made (--out figures/q2a.svg). The path comes
    // first: "is a directory" says more than "no extension".
    try {
      const explicit = opts.json ? "json" : opts.format;
      prepareOutputPath(opts.out, "--out", `graph${extensionOf(explicit !== undefined && isFormat(explicit) ? explicit : "table")}`);
    } catch (e) {
      return fail(`error: ${firstLine(e)}`);
    }
  }
  let format: Format;
  try {
    format = outputFormat(opts);
  } catch (e) {
    return fail(`error: ${firstLine(e)}`);
  }
  if (format === "png" && !opts.out) return fail("error: --format png needs --out FILE (PNG is binary)");
  let step: number | undefined;
  if (opts.step !== undefined) {
    step = Number(opts.step);
    if (!Number.isFinite(step)) return fail(`error: --step needs a number, got "${opts.step}"`);
  }
  let text: string;
  let png: Uint8Array | null = null;
  try {
    const given = parseAssignments(opts.at);
    const ex = explainAll(program, given, { check: opts.check, step });
    const r = ex.report;
    // Programs with abstract functions (fn g) have no values: only the symbolic formats print them.
    if (r.abstract && !["json", "markdown", "latex", "table"].includes(format)) {
      return fail(`error: ${abstractError(r.abstract.functions, format === "python" || format === "ts" ? "code" : "a figure")}`);
    }
    switch (format) {
      case "json":
        text = reportJson(r); // Infinity, -Infinity and NaN as strings (JSON has no such numbers)
        break;
      case "markdown":
        text = formatMarkdown(r);
        break;
      case "latex":
        text = formatLatex(r);
        break;
      case "dot":
        text = toDot(r);
        break;
      case "svg":
        text = toSvg(r);
        break;
      case "png":
        text = "";
        png = await svgToPng(toSvg(r));
        break;
      case "mermaid":
        text = toMermaid(r);
        break;
      case "tikz":
        text = toTikz(r);
        break;
      case "python":
      case "ts":
        text = generateCode(ex, r.inputs, format);
        break;
      default:
        text = formatTable(r);
    }
  } catch (e) {
    // The message line, then the input with a caret under the bad character.
    if (e instanceof ExplainSyntaxError) return fail(`error: ${e.format(e.hint && cliHint(e.hint))}`, e.position);
    if (e instanceof ExplainError && e.hint) return fail(`error: ${firstLine(e)} (${cliHint(e.hint)})`);
    if (e instanceof ExplainError || e instanceof ShapeError) return fail(`error: ${firstLine(e)}`);
    return fail(`error: internal error: ${firstLine(e)}`);
  }
  if (opts.out !== undefined) {
    const problem = writeOutput(opts.out, png ?? (text.endsWith("\n") ? text : text + "\n"));
    if (problem) return fail(problem);
    err(`wrote ${opts.out}`);
  } else out(text.replace(/\n$/, ""));
  return 0;
}
