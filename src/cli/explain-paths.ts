/** The sum-over-paths options of `backprop explain`: --path (draw one in a figure) and --path-limit. */
import type { Format } from "./explain.js";
import { UsageError } from "./command.js";

/** The formats that can draw a path (--path x:2). */
export const PATH_FORMATS: readonly Format[] = ["svg", "png", "tikz"];

/** --path-limit as a whole number of paths (0 lists none, only counts), or undefined for the default. */
export function pathLimitOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`--path-limit needs a whole number of paths (0 or more), got "${text}"`);
  return n;
}
