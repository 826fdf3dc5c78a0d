/**
 * JSON for explain's output. JSON has no Infinity or NaN, and JSON.stringify writes null for all
 * three, so a gradient of -Infinity could not be told from NaN. Non-finite numbers are therefore
 * written as the strings "Infinity", "-Infinity" and "NaN" (what String() gives; Number() reads them back).
 */
import type { ExplainReport } from "../report/report.js";

function nonFiniteAsString(_key: string, x: unknown): unknown {
  return typeof x === "number" && !Number.isFinite(x) ? String(x) : x;
}

/** JSON.stringify, keeping Infinity, -Infinity and NaN distinguishable (as strings). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, nonFiniteAsString, indent);
}

/** The report as pretty-printed JSON (what `explain --json` prints). */
export function reportJson(r: ExplainReport): string {
  return toJson(r, 2);
}
