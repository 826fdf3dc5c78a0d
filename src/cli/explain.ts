/** `backprop explain PROGRAM --at NAME=VALUE ... [--format F] [--out FILE] [--json] [--check] [--step LR] [--mode forward --seed-input x]`. */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { generateCode } from "../explain/interpreters/codegen.js";
import { abstractError } from "../explain/interpreters/abstract.js";
import { explainAll, ExplainError } from "../explain/report/explain.js";
import type { ExplainOptions, Explanation } from "../explain/report/report.js";
import type * as bp from "../explain/core.js";
import { formatLatex, formatMarkdown, formatTable } from "../explain/renderers/format.js";
import { toDot, toMermaid, toSvg, toTikz } from "../explain/renderers/figures.js";
import { figureWithPath } from "../explain/renderers/path-figure.js";
import { PATH_FORMATS, pathLimitOf } from "./explain-paths.js";
import { svgToPng } from "./png.js";
import { ExplainSyntaxError, type ErrorHint } from "../explain/language/parser.js";
import { reportJson, toJson } from "../explain/renderers/json.js";
import { prepareOutputPath, reasonOf, writeFileAtomic } from "./files.js";
import { ShapeError } from "../core/shape.js";
import { parseAssignments, splitAssignments } from "../explain/language/values.js";
import { collect, type AddCommand } from "./command.js";
import { UsageError } from "./command.js";
import { checkGranularity, renderComparison, type GranularityCliOptions } from "./granularity.js";
import { blankFormat } from "./blank.js";
import { blankTable } from "../explain/teaching/blank.js";

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

export interface ExplainCliOptions extends GranularityCliOptions {
  at: string[];
  format?: string;
  out?: string;
  json?: boolean;
  check?: boolean;
  step?: string;
  /** Print the stage table with blank cells to fill in (any answer format: table, markdown, csv, latex, json). */
  blank?: boolean;
  /** Draw one path of the sum over paths: INPUT:NUMBER (x:2). */
  path?: string;
  pathLimit?: string;
  /** "reverse" (the default) or "forward": forward mode adds tangent sweeps beside the reverse pass. */
  mode?: string;
  /** Inputs to seed forward mode with (default: every input). */
  seedInput?: string[];
}

export const MODES = ["forward", "reverse"] as const;

/** The forward option of explain from --mode and --seed-input: a mode it does not know, or seeds without forward mode, are errors. */
function forwardOption(opts: Pick<ExplainCliOptions, "mode" | "seedInput">): { seeds: string[] } | undefined {
  const mode = opts.mode ?? "reverse";
  if (!(MODES as readonly string[]).includes(mode)) throw new UsageError(`unknown --mode "${mode}" (use forward or reverse)`);
  const seeds = opts.seedInput ?? [];
  if (seeds.length > 0 && mode !== "forward") throw new UsageError("--seed-input needs --mode forward");
  return mode === "forward" ? { seeds } : undefined;
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

/** Each format's renderer over one explanation (the report, with the trace for generated code). */
const RENDER: { readonly [F in Format]: (ex: Explanation, path?: string) => string | Promise<Uint8Array> } = {
  table: (ex) => formatTable(ex.report),
  markdown: (ex) => formatMarkdown(ex.report),
  latex: (ex) => formatLatex(ex.report),
  json: (ex) => reportJson(ex.report), // Infinity, -Infinity and NaN as strings (JSON has no such numbers)
  dot: (ex) => toDot(ex.report),
  svg: (ex, path) => figureWithPath(ex.report, path, toSvg),
  png: (ex, path) => svgToPng(figureWithPath(ex.report, path, toSvg)),
  mermaid: (ex) => toMermaid(ex.report),
  tikz: (ex, path) => figureWithPath(ex.report, path, toTikz),
  python: (ex) => generateCode(ex, ex.report.inputs, "python"),
  ts: (ex) => generateCode(ex, ex.report.inputs, "ts"),
};

/** The formats that print a program with abstract functions (fn g), which has no values. */
const SYMBOLIC_FORMATS: readonly Format[] = ["json", "markdown", "latex", "table"];

/** The program text: the argument, or with "-" standard input (long programs do not fit on a command line). */
export function readProgram(programArg: string): string {
  try {
    return programArg === "-" ? readFileSync(0, "utf8") : programArg;
  } catch (e) {
    throw new UsageError(`cannot read the program from standard input: ${firstLine(e)}`);
  }
}

/**
 * The options checked before any work: the format, --out's path (a directory, a file in the way or an
 * unwritable folder is an error now; missing folders are made, as train does for --save; the path
 * comes first: "is a directory" says more than "no extension") and --step.
 */
function checkOptions(opts: ExplainCliOptions): {
  format: Format;
  step: number | undefined;
  granularity: ReturnType<typeof checkGranularity>;
  pathLimit: number | undefined;
  forward: { seeds: string[] } | undefined;
} {
  if (opts.format !== undefined && !isFormat(opts.format)) throw new UsageError(`unknown format "${opts.format}" (use one of ${FORMATS.join(", ")})`);
  if (opts.out !== undefined) {
    const explicit = opts.json ? "json" : opts.format;
    try {
      prepareOutputPath(opts.out, "--out", `graph${extensionOf(explicit !== undefined && isFormat(explicit) ? explicit : "table")}`);
    } catch (e) {
      throw new UsageError(firstLine(e));
    }
  }
  const format = outputFormat(opts);
  if (format === "png" && !opts.out) throw new UsageError("--format png needs --out FILE (PNG is binary)");
  const step = opts.step === undefined ? undefined : Number(opts.step);
  if (step !== undefined && !Number.isFinite(step)) throw new UsageError(`--step needs a number, got "${opts.step}"`);
  if (opts.path !== undefined && !PATH_FORMATS.includes(format))
    throw new UsageError(`--path draws a path in a figure: use --format ${PATH_FORMATS.slice(0, -1).join(", ")} or ${PATH_FORMATS[PATH_FORMATS.length - 1]}`);
  return { format, step, granularity: checkGranularity(opts, format), pathLimit: pathLimitOf(opts.pathLimit), forward: forwardOption(opts) };
}

/** An explain failure as the CLI words it: the message, then the input with a caret under the bad character. */
export function explainFailure(e: unknown): { message: string; position?: number } {
  if (e instanceof ExplainSyntaxError) return { message: e.format(e.hint && cliHint(e.hint)), position: e.position };
  if (e instanceof ExplainError && e.hint) return { message: `${firstLine(e)} (${cliHint(e.hint)})` };
  if (e instanceof ExplainError || e instanceof ShapeError) return { message: firstLine(e) };
  return { message: `internal error: ${firstLine(e)}` };
}

/** The work explain does once the program is read: explain it at the given values and render the result. */
type Render = (program: string, given: ReadonlyMap<string, bp.Tensor>) => string | Uint8Array | Promise<string | Uint8Array>;

/**
 * What explain prints, decided from the options before any work (so that a bad option costs nothing):
 * a blank stage table to fill in, both granularities side by side, or one report in one format.
 */
function plan(opts: ExplainCliOptions): Render {
  if (opts.blank) {
    // --blank prints the stage table to fill in (src/cli/blank.ts), in its own formats.
    const blank = blankFormat(opts);
    const granularity = checkGranularity(opts, "table");
    if (granularity === null) throw new UsageError("--blank prints one stage table: leave out --compare-granularity");
    if (opts.out !== undefined) prepareOutputPath(opts.out, "--out", "blank.md");
    return (program, given) => {
      const r = explainAll(program, given, granularity ? { granularity } : {}).report;
      if (r.abstract) throw new ExplainError(`a program with abstract functions (${r.abstract.functions.join(", ")}) has no values to fill in`);
      return blankTable(r, blank);
    };
  }
  const { format, step, granularity, pathLimit, forward } = checkOptions(opts);
  if (granularity === null && forward) throw new UsageError("--mode forward explains one program: leave out --compare-granularity");
  if (granularity === null) return (program, given) => renderComparison(program, given, { check: opts.check, step, pathLimit }, format);
  const options: ExplainOptions = { check: opts.check, step, pathLimit, ...(granularity ? { granularity } : {}), ...(forward ? { forward } : {}) };
  return (program, given) => renderOne(program, given, options, format, opts.path);
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
  let render: Render;
  try {
    program = readProgram(programArg);
    render = plan(opts);
  } catch (e) {
    return fail(`error: ${firstLine(e)}`);
  }
  let result: string | Uint8Array;
  try {
    result = await render(program, parseAssignments(opts.at));
  } catch (e) {
    const f = explainFailure(e);
    return fail(`error: ${f.message}`, f.position);
  }
  if (opts.out !== undefined) {
    const problem = writeOutput(opts.out, typeof result !== "string" ? result : result.endsWith("\n") ? result : result + "\n");
    if (problem) return fail(problem);
    err(`wrote ${opts.out}`);
  } else out((result as string).replace(/\n$/, ""));
  return 0;
}

/** One explanation rendered in `format`; a program with abstract functions only in the symbolic formats. */
async function renderOne(
  program: string,
  given: ReadonlyMap<string, bp.Tensor>,
  options: ExplainOptions,
  format: Format,
  path: string | undefined,
): Promise<string | Uint8Array> {
  const ex = explainAll(program, given, options);
  const r = ex.report;
  if (r.abstract && !SYMBOLIC_FORMATS.includes(format)) {
    throw new ExplainError(abstractError(r.abstract.functions, format === "python" || format === "ts" ? "code" : "a figure"));
  }
  return RENDER[format](ex, path);
}

/** Declares `backprop explain`. */
export const addExplain: AddCommand = (program, ctx) => {
  program
    .command("explain")
    .description("staged computation, forward and backward values, local and symbolic derivatives, generated code")
    .argument("<program>", 'expression or program, e.g. "(ln(x) + sin(y))^2 + 4x" or "x = ln(t); y = t^3/3; z = 2x + y"; - reads it from standard input')
    .option("--at <NAME=VALUE>", "input value (repeat, or x=1,y=2); values may be expressions (pi/2) or arrays ([[1,2],[3,4]])", collect, [] as string[])
    .option("--format <format>", `output format: ${FORMATS.join(", ")} (default: from the --out extension, else table)`)
    .option("--out <file>", `write the output to a file; its extension (${[...EXTENSIONS.keys()].join(" ")}) gives the format`)
    .option("--json", "same as --format json")
    .option("--check", "compare every gradient with central differences")
    .option("--step <lr>", "take one gradient-descent step with this step size and print the new inputs")
    .option("--mode <mode>", "reverse (default), or forward: also one tangent sweep per seeded input beside the reverse pass, with each mode's cost")
    .option("--seed-input <name>", "with --mode forward: an input to seed (repeat; default: every input)", collect, [] as string[])
    .option(
      "--granularity <g>",
      "gates (default): sigmoid, tanh, mse, softmax_ce, linear, softmax one stage each; primitives: staged into their primitive operations",
    )
    .option("--compare-granularity", "both granularities side by side, with their gradients compared (table, markdown, latex, json)")
    .option("--blank", "print the stage table with blank cells to fill in (formats table, markdown, csv, latex, json); backprop check reads it back")
    .option("--path <input:number>", "in a figure (svg, png, tikz), highlight one path of the sum over paths, as x:2")
    .option("--path-limit <n>", "list at most this many paths per input (default 64); past it, their count and the fan-out sums")
    .action(async (source: string, opts: ExplainCliOptions) => {
      ctx.setJson(!!opts.json || opts.format === "json");
      checkAtNames(opts.at);
      ctx.setCode(await explainCommand(source, opts, ctx.io.out, ctx.io.err));
    });
};

/** The names given by --at (repeated, or comma separated outside brackets); a name given twice is an error. */
export function checkAtNames(at: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const arg of at) {
    for (const part of splitAssignments(arg)) {
      const name = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(part)?.[1];
      if (name === undefined) continue; // explain reports the malformed part itself
      const first = seen.get(name);
      if (first !== undefined) throw new UsageError(`--at gives '${name}' twice (${first} and ${part.trim()})`);
      seen.set(name, part.trim());
    }
  }
}
