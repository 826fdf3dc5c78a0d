/** `backprop explain PROGRAM --at NAME=VALUE ... [--format F] [--out FILE] [--json] [--check] [--step LR]`. */
import { readFileSync, writeFileSync } from "node:fs";
import { generateCode } from "../explain/codegen.js";
import { explainAll, ExplainError } from "../explain/explain.js";
import { formatLatex, formatMarkdown, formatTable } from "../explain/format.js";
import { toDot, toMermaid, toSvg, toTikz } from "../explain/figures.js";
import { svgToPng } from "./png.js";
import { ExplainSyntaxError } from "../explain/parser.js";
import { parseAssignments } from "../explain/values.js";
import { ShapeError } from "../core/shape.js";

export const FORMATS = ["table", "markdown", "latex", "json", "dot", "svg", "png", "mermaid", "tikz", "python", "ts"] as const;
export type Format = (typeof FORMATS)[number];

export interface ExplainCliOptions {
  at: string[];
  format?: string;
  out?: string;
  json?: boolean;
  check?: boolean;
  step?: string;
}

export async function explainCommand(programArg: string, opts: ExplainCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  // "-" reads the program from standard input (long programs do not fit on a command line).
  const program = programArg === "-" ? readFileSync(0, "utf8") : programArg;
  const format = (opts.json ? "json" : (opts.format ?? "table")) as Format;
  const fail = (message: string, position?: number): number => {
    if (format === "json") out(JSON.stringify(position === undefined ? { error: message } : { error: message, position }));
    else err(message);
    return 1;
  };
  if (!(FORMATS as readonly string[]).includes(format)) return fail(`error: unknown format "${opts.format}" (use one of ${FORMATS.join(", ")})`);
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
    switch (format) {
      case "json":
        text = JSON.stringify(r, null, 2);
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
        text = generateCode(ex.staged, ex.values, r.inputs, format, ex.grads);
        break;
      default:
        text = formatTable(r);
    }
  } catch (e) {
    if (e instanceof ExplainSyntaxError) return fail(e.format(), e.position);
    if (e instanceof ExplainError || e instanceof ShapeError) return fail(`error: ${e.message}`);
    throw e;
  }
  if (opts.out) {
    writeFileSync(opts.out, png ?? (text.endsWith("\n") ? text : text + "\n"));
    err(`wrote ${opts.out}`);
  } else out(text.replace(/\n$/, ""));
  return 0;
}
