/**
 * When a student's number counts as right: within a relative tolerance of the true value, or the true
 * value rounded to 3 significant digits (5.47 for 5.472), or within an absolute floor for values
 * that are zero up to rounding error (cos(pi/2) is 6.1e-17; 0 is right).
 */
import { type Value } from "../report/report.js";

export interface Tolerance {
  /** Relative tolerance (default 1e-3). */
  rtol: number;
  /** Absolute floor, for true values that are zero up to rounding (default 1e-9). */
  atol: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-9 };

/** Half a unit in the third significant digit of t: what rounding to 3 significant digits may be off by. */
function roundingSlack(t: number): number {
  if (t === 0 || !Number.isFinite(t)) return 0;
  return 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(t))) - 2);
}

/** Whether the number `x` is `t` within the tolerance (or its rounding to 3 significant digits). */
export function closeNumber(x: number, t: number, tol: Tolerance): boolean {
  if (Number.isNaN(t) || Number.isNaN(x)) return Number.isNaN(t) && Number.isNaN(x);
  if (!Number.isFinite(t) || !Number.isFinite(x)) return x === t;
  const diff = Math.abs(x - t);
  // A hair over the slack, for decimal numbers that are not exact in binary (0.0005 + 5.47).
  return diff <= Math.max(tol.rtol * Math.abs(t), roundingSlack(t) * (1 + 1e-9), tol.atol);
}

/** Elementwise closeness of two values of the same shape (false when the shapes differ). */
export function closeValue(x: Value, t: Value, tol: Tolerance): boolean {
  if (typeof x === "number" || typeof t === "number") return typeof x === "number" && typeof t === "number" && closeNumber(x, t, tol);
  const xs = x as Value[];
  const ts = t as Value[];
  return xs.length === ts.length && xs.every((xi, i) => closeValue(xi, ts[i], tol));
}

/** Elementwise map over values of one shape (the first decides the shape). */
export function mapValues(f: (...xs: number[]) => number, ...vs: Value[]): Value {
  const [first] = vs;
  if (typeof first === "number") return f(...vs.map((v) => (typeof v === "number" ? v : Number.NaN)));
  return (first as Value[]).map((_, i) => mapValues(f, ...vs.map((v) => (Array.isArray(v) ? (v as Value[])[i] : v))));
}
