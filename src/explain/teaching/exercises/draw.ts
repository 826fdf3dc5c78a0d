/**
 * Drawing exercise inputs with the seeded generator: friendly numbers (small integers, short decimals),
 * random expressions over a few variables, and the explainer run that every key comes from, with the
 * checks that make a draw acceptable (no domain error, dead or saturated gradient, huge or non-finite value).
 */
import * as bp from "../../core.js";
import { explainAll } from "../../report/explain.js";
import type { ExplainReport, Value } from "../../report/report.js";

/** Seed of exercise `index` on a sheet: mixed so that neighbouring seeds and indices differ in every bit. */
export function exerciseSeed(seed: number, topicIndex: number, difficulty: number, index: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(topicIndex + 1, 0x85ebca6b), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(difficulty, 0x27d4eb2f), 0x165667b1);
  h = Math.imul(h ^ (h >>> 16) ^ Math.imul(index + 1, 0x9e3779b1), 0x85ebca6b);
  return (h ^ (h >>> 16)) >>> 0;
}

export function pick<T>(rng: bp.Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

/** A nonzero integer in [-n, n]. */
export function nonzeroInt(rng: bp.Rng, n: number): number {
  const k = 1 + rng.int(n);
  return rng.int(2) ? k : -k;
}

/** An integer in [lo, hi]. */
export function intIn(rng: bp.Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** A friendly input for a difficulty: integers in [-3, 3] at 1, halves added at 2, tenths at 3 (never 0). */
export function friendly(rng: bp.Rng, difficulty: number): number {
  if (difficulty === 1 || rng.int(2) === 0) return nonzeroInt(rng, 3);
  const step = difficulty === 2 ? 0.5 : 0.1;
  const span = difficulty === 2 ? 6 : 30;
  const v = Number((nonzeroInt(rng, span) * step).toFixed(1));
  return v;
}

/** A number as the input language writes it (negative numbers in parentheses where an operand). */
export function num(v: number): string {
  return v < 0 ? `(${v})` : String(v);
}

/** An expression tree just rich enough to print programs the parser reads back as drawn. */
export type Tree =
  | { kind: "var"; name: string }
  | { kind: "num"; value: number }
  | { kind: "bin"; op: "+" | "-" | "*" | "/"; left: Tree; right: Tree }
  | { kind: "fn"; fn: string; arg: Tree }
  | { kind: "sq"; arg: Tree };

function wrap(child: Tree, parent: "+" | "-" | "*" | "/", side: "left" | "right"): string {
  const s = print(child);
  if (child.kind === "num") return num(child.value);
  if (child.kind !== "bin") return s;
  const additive = child.op === "+" || child.op === "-";
  // Parentheses keep the drawn tree: the staged program has one stage per node, in this order.
  const needs = side === "left" ? (parent === "*" || parent === "/") && additive : parent === "+" || parent === "-" ? additive : true;
  return needs ? `(${s})` : s;
}

export function print(t: Tree): string {
  switch (t.kind) {
    case "var":
      return t.name;
    case "num":
      return String(t.value);
    case "bin":
      return `${wrap(t.left, t.op, "left")} ${t.op} ${wrap(t.right, t.op, "right")}`;
    case "fn":
      return `${t.fn}(${print(t.arg)})`;
    case "sq":
      return t.arg.kind === "var" ? `${t.arg.name}^2` : `(${print(t.arg)})^2`;
  }
}

export interface TreeOptions {
  vars: readonly string[];
  /** Binary operators to draw from. */
  binary: readonly ("+" | "-" | "*" | "/")[];
  /** Unary functions to draw from ("sq" squares). */
  unary: readonly string[];
  /** Chance that a leaf is a small constant rather than a variable. */
  constants: number;
}

/** A random tree with exactly `ops` operations. */
export function randomTree(rng: bp.Rng, ops: number, o: TreeOptions): Tree {
  if (ops === 0) {
    if (o.constants > 0 && rng.uniform() < o.constants) return { kind: "num", value: intIn(rng, 2, 5) };
    return { kind: "var", name: pick(rng, o.vars) };
  }
  if (o.unary.length && rng.uniform() < 0.3) {
    const fn = pick(rng, o.unary);
    const arg = randomTree(rng, ops - 1, o);
    return fn === "sq" ? { kind: "sq", arg } : { kind: "fn", fn, arg };
  }
  const leftOps = rng.int(ops);
  return { kind: "bin", op: pick(rng, o.binary), left: randomTree(rng, leftOps, o), right: randomTree(rng, ops - 1 - leftOps, o) };
}

/**
 * A tree that reads badly as an exercise: a part made of constants only (sin(cos(5)), (3)^2), or an
 * operation of a variable with itself that cancels (x - x, x / x).
 */
export function awkward(t: Tree): boolean {
  if (t.kind === "var" || t.kind === "num") return false;
  if (varUses(t).size === 0) return true;
  if (t.kind === "bin") {
    if ((t.op === "-" || t.op === "/") && print(t.left) === print(t.right)) return true;
    return awkward(t.left) || awkward(t.right);
  }
  return awkward(t.arg);
}

/** `c*name` terms and a constant as a readable sum: linear([[3, "w"], [-1, "b"]], 2) is "3w - b + 2". */
export function linear(terms: readonly [number, string][], constant = 0): string {
  let s = "";
  for (const [c, name] of terms) {
    if (c === 0) continue;
    const mag = Math.abs(c) === 1 ? name : `${Math.abs(c)}*${name}`;
    s += s === "" ? (c < 0 ? `-${mag}` : mag) : c < 0 ? ` - ${mag}` : ` + ${mag}`;
  }
  if (constant !== 0) s += s === "" ? String(constant) : constant < 0 ? ` - ${-constant}` : ` + ${constant}`;
  return s === "" ? "0" : s;
}

/** The variables a tree uses, with how many times each. */
export function varUses(t: Tree, into = new Map<string, number>()): Map<string, number> {
  if (t.kind === "var") into.set(t.name, (into.get(t.name) ?? 0) + 1);
  else if (t.kind === "bin") {
    varUses(t.left, into);
    varUses(t.right, into);
  } else if (t.kind === "fn" || t.kind === "sq") varUses(t.arg, into);
  return into;
}

/** Input values as the explainer takes them (float64 tensors). */
export function givenValues(at: Record<string, Value>): Map<string, bp.Tensor> {
  return new Map(Object.entries(at).map(([k, v]) => [k, typeof v === "number" ? bp.scalar(v, "float64") : bp.tensor(v, { dtype: "float64" })]));
}

export interface AcceptOptions {
  /** Largest magnitude allowed for any forward value or gradient. */
  maxMagnitude?: number;
  /** Warnings (by their prefix, e.g. "kink") the exercise is about and so accepts. */
  allow?: readonly string[];
  /** A descent step's learning rate. */
  step?: number;
}

function numbers(v: Value | null): number[] {
  if (v === null) return [];
  return typeof v === "number" ? [v] : (v as Value[]).flatMap(numbers);
}

/**
 * Runs the explainer on the program (with the gradient check) and returns its report, or null when the
 * draw is not fit for an exercise: a warning (domain error, dead or saturated gradient, kink) it is not
 * about, a non-finite or huge number, an input whose gradient is 0, a denominator near 0, or a failed check.
 */
export function explainFor(program: string, at: Record<string, Value>, o: AcceptOptions = {}): ExplainReport | null {
  let report: ExplainReport;
  try {
    report = explainAll(program, givenValues(at), { check: true, step: o.step }).report;
  } catch {
    return null;
  }
  const max = o.maxMagnitude ?? 200;
  if (report.warnings.some((w) => !(o.allow ?? []).some((a) => w.startsWith(`${a}:`)))) return null;
  const all = [...report.stages.flatMap((s) => [...numbers(s.value), ...numbers(s.grad)]), ...Object.values(report.gradients).flatMap(numbers)];
  if (all.some((x) => !Number.isFinite(x) || Math.abs(x) > max)) return null;
  for (const name of report.inputs) if (numbers(report.gradients[name] ?? null).every((x) => Math.abs(x) < 1e-9)) return null;
  const stage = new Map(report.stages.map((s) => [s.name, s]));
  for (const s of report.stages) {
    if (s.op !== "div" && s.op !== "ln") continue;
    const operand = s.operands[s.op === "div" ? 1 : 0];
    const v = operand?.kind === "name" ? (stage.get(operand.name)?.value ?? at[operand.name]) : null;
    if (v !== null && v !== undefined && numbers(v).some((x) => Math.abs(x) < 0.5)) return null;
  }
  if (report.check && !report.check.every((c) => c.ok)) return null;
  return report;
}
