/** explain's --granularity and --compare-granularity: their checks and the comparison's output. */
import { GRANULARITIES, type Granularity } from "../explain/language/gates.js";
import { compareGranularity } from "../explain/report/granularity.js";
import type { ExplainOptions } from "../explain/report/report.js";
import { COMPARE_FORMATS, COMPARE_RENDER, type CompareFormat } from "../explain/renderers/compare.js";
import type * as bp from "../explain/core.js";
import { UsageError } from "./command.js";

export interface GranularityCliOptions {
  granularity?: string;
  compareGranularity?: boolean;
}

const isGranularity = (g: string): g is Granularity => (GRANULARITIES as readonly string[]).includes(g);
const isCompareFormat = (f: string): f is CompareFormat => (COMPARE_FORMATS as readonly string[]).includes(f);

/** The granularity asked for (undefined: the default, gates); with --compare-granularity, null. Errors name the option. */
export function checkGranularity(opts: GranularityCliOptions, format: string): Granularity | null | undefined {
  const g = opts.granularity;
  if (g !== undefined && !isGranularity(g)) throw new UsageError(`--granularity must be ${GRANULARITIES.join(" or ")}, got "${g}"`);
  if (!opts.compareGranularity) return g;
  if (g !== undefined) throw new UsageError("--compare-granularity shows both granularities: leave out --granularity");
  if (!isCompareFormat(format)) throw new UsageError(`--compare-granularity prints ${COMPARE_FORMATS.join(", ")}, not ${format}`);
  return null;
}

/** Both views of the program, rendered in `format` (one of COMPARE_FORMATS, checked by checkGranularity). */
export function renderComparison(program: string, given: ReadonlyMap<string, bp.Tensor>, options: ExplainOptions, format: string): string {
  if (!isCompareFormat(format)) throw new UsageError(`--compare-granularity prints ${COMPARE_FORMATS.join(", ")}, not ${format}`);
  return COMPARE_RENDER[format](compareGranularity(program, given, options).comparison);
}
