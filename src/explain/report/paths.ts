/**
 * The gradient as a sum over paths: for each input, every path along the report's wires from the input
 * to the output, with the product of the local derivatives on it. The products sum to the gradient.
 * Paths grow exponentially with fan-out (60 chained x + x give 2^60), so they are counted first by
 * dynamic programming, in linear time, and listed only up to a limit; past it the report gives the
 * count and the fan-out sums (the chain rule per name, with its numbers), which backprop computes in linear time.
 */
import { own, type Expr } from "../language/ast.js";
import { printDerivative } from "../language/print.js";
import { type EdgeReport, type ExplainReport, type GradientPath, type InputPaths, type PathsReport, type StageReport, type FanOutSum } from "./report.js";

/** Paths listed per input by default; more are counted, not listed. */
export const PATH_LIMIT = 64;

/** The wires leaving each name, in stage order then operand order, and how many paths lead from each name to the output. */
export interface PathCounts {
  out: ReadonlyMap<string, readonly EdgeReport[]>;
  count: ReadonlyMap<string, bigint>;
}

/** Counts the paths from every name to the output, stages in reverse (each consumer is counted before its producers). */
export function countPaths(r: ExplainReport): PathCounts {
  const order = new Map(r.stages.map((s, i) => [s.name, i]));
  const out = new Map<string, EdgeReport[]>();
  for (const e of r.edges) {
    const list = out.get(e.from);
    if (list) list.push(e);
    else out.set(e.from, [e]);
  }
  for (const list of out.values()) list.sort((a, b) => order.get(a.to)! - order.get(b.to)! || a.argIndex - b.argIndex);
  const count = new Map<string, bigint>();
  const countOf = (n: string): bigint => {
    if (n === r.output) return 1n;
    let c = 0n;
    for (const e of out.get(n) ?? []) c += count.get(e.to) ?? 0n;
    return c;
  };
  for (let i = r.stages.length - 1; i >= 0; i--) count.set(r.stages[i].name, countOf(r.stages[i].name));
  for (const n of r.inputs) count.set(n, countOf(n));
  return { out, count };
}

/** A local derivative as a factor of a product: parenthesized when it is a sum, a difference, a quotient or negative. */
function factorText(e: EdgeReport): string {
  const t = e.localExpr ? printDerivative(e.localExpr) : e.local;
  return /\s|^-/.test(t) ? `(${t})` : t;
}

function factorLatex(x: Expr, latex: string): string {
  const loose = x.kind === "neg" || (x.kind === "bin" && (x.op === "+" || x.op === "-")) || (x.kind === "num" && x.value < 0);
  return loose ? `\\left(${latex}\\right)` : latex;
}

/** The path's wires as a GradientPath: names, operand positions, local derivatives and their product. */
function pathOf(input: string, wires: readonly EdgeReport[]): GradientPath {
  const latex = wires.map((e) => (e.localExpr && e.localLatex !== null ? factorLatex(e.localExpr, e.localLatex) : null));
  const values = wires.map((e) => e.localValue);
  return {
    names: [input, ...wires.map((e) => e.to)],
    argIndices: wires.map((e) => e.argIndex),
    factors: wires.map((e) => e.local),
    // A path of no wires (the output is the input itself) has the empty product, 1.
    product: wires.length ? wires.map(factorText).join(" · ") : "1",
    productLatex: latex.every((l) => l !== null) ? (wires.length ? latex.join(" \\cdot ") : "1") : null,
    value: values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a * b, 1) : null,
  };
}

/**
 * Path number k (from 1) of `input`, in the report's order (at each name, its consumers in stage order,
 * then operand order), found from the counts without listing the paths before it. Null when out of range.
 */
export function nthPath(r: ExplainReport, input: string, k: number | bigint, counts: PathCounts = countPaths(r)): GradientPath | null {
  // A bigint numbers paths past 2^53 exactly.
  if (typeof k === "number" && !Number.isInteger(k)) return null;
  let left = BigInt(k);
  if (left < 1n || left > (counts.count.get(input) ?? 0n)) return null;
  const wires: EdgeReport[] = [];
  for (let n = input; n !== r.output;) {
    const next = (counts.out.get(n) ?? []).find((e) => {
      const c = counts.count.get(e.to) ?? 0n;
      if (left <= c) return true;
      left -= c;
      return false;
    });
    if (!next) return null;
    wires.push(next);
    n = next.to;
  }
  return pathOf(input, wires);
}

/** The names on some path from one of `inputs` to the output (the output left out), backward: stages in reverse, then the inputs. */
function namesBetween(r: ExplainReport, inputs: readonly string[], counts: PathCounts): string[] {
  const seen = new Set<string>(inputs);
  for (const s of r.stages) if (s.inputs.some((n) => seen.has(n))) seen.add(s.name);
  const on = (n: string) => seen.has(n) && n !== r.output && (counts.count.get(n) ?? 0n) > 0n;
  return [...r.stages.map((s) => s.name).reverse(), ...r.inputs].filter(on);
}

/** The fan-out sum of one name: the contributions of its wires that reach the output, and their total (its gradient). */
function fanOutOf(r: ExplainReport, n: string, counts: PathCounts, stages: ReadonlyMap<string, StageReport>): FanOutSum {
  const stage = stages.get(n);
  const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
  const wires = (counts.out.get(n) ?? []).filter((e) => (counts.count.get(e.to) ?? 0n) > 0n);
  return { name: n, terms: wires.map((e) => num(e.contribution)), total: num(stage ? stage.grad : own(r.gradients, n)) };
}

/**
 * Every input's paths (up to `limit` listed, else counted), read from the report's wires; for the inputs
 * past the limit, the fan-out sums of the names between them and the output, once for all of them (a
 * name's fan-out sum does not depend on the input), so the report stays linear in the program.
 */
export function gradientPaths(r: ExplainReport, limit: number = PATH_LIMIT): PathsReport {
  const counts = countPaths(r);
  const inputs = r.inputs.map((input): InputPaths => {
    const c = counts.count.get(input) ?? 0n;
    const base = { input, count: Number(c), countText: c.toString() };
    if (c > BigInt(limit)) return base;
    const paths: GradientPath[] = [];
    for (let k = 1; k <= Number(c); k++) paths.push(nthPath(r, input, k, counts)!);
    const values = paths.map((p) => p.value);
    const sum = values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a + b, 0) : null;
    return { ...base, paths, sum };
  });
  const capped = inputs.filter((p) => !p.paths).map((p) => p.input);
  if (capped.length === 0) return { limit, inputs };
  const stages = new Map(r.stages.map((s) => [s.name, s]));
  return { limit, inputs, fanOut: namesBetween(r, capped, counts).map((n) => fanOutOf(r, n, counts, stages)) };
}
