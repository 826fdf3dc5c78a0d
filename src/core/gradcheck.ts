/**
 * Gradient checking: analytic vector-Jacobian products against central differences, in float64.
 * A non-scalar output is projected on fixed random weights, which checks the whole VJP at once.
 */
import { vjp } from "./autodiff.js";
import { noGrad } from "./bind.js";
import { Rng } from "./random.js";
import { formatShape, type Shape } from "./shape.js";
import { Tensor, type Nested, type Operand } from "./tensor.js";
import { tensor } from "./ops/create.js";

export interface GradcheckOptions {
  /** Central-difference step (default 1e-6). */
  eps?: number;
  /** Passes when |analytic - numeric| <= atol + rtol * |numeric| everywhere (defaults 1e-6 and 1e-4). */
  atol?: number;
  rtol?: number;
  /** Seed of the projection weights for non-scalar outputs. */
  seed?: number;
  /**
   * Gradients already computed for a scalar `f`, one per input, to check instead of running its VJP
   * here (the explainer checks the gradients of its own trace).
   */
  analytic?: readonly Tensor[];
}

export interface InputReport {
  index: number;
  shape: Shape;
  maxAbsError: number;
  /** max |a - n| / max(|a|, |n|, 1e-8). */
  maxRelError: number;
  ok: boolean;
  /** The element with the largest violation. */
  worst: { position: number; analytic: number; numeric: number };
  analytic: Float64Array;
  numeric: Float64Array;
}

export interface GradcheckReport {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  inputs: InputReport[];
  /** One line per input, for printing. */
  summary: string;
}

function toF64(v: Tensor | number | Nested): Tensor {
  if (v instanceof Tensor) return new Tensor(Float64Array.from(v.data), v.shape);
  return tensor(v, { dtype: "float64" });
}

function asTensor(v: Operand): Tensor {
  if (v instanceof Tensor) return v;
  return tensor(v, { dtype: "float64" });
}

export function gradcheck(f: (...xs: Tensor[]) => Operand, inputs: readonly (Tensor | number | Nested)[], options: GradcheckOptions = {}): GradcheckReport {
  if (typeof f !== "function") throw new TypeError(`gradcheck: the first argument must be a function of tensors, got ${typeof f}`);
  if (!Array.isArray(inputs)) throw new TypeError(`gradcheck: inputs must be an array, got ${typeof inputs}`);
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-4;
  const xs = inputs.map(toF64);
  const given = options.analytic;
  if (given && given.length !== xs.length) throw new Error(`gradcheck: ${given.length} analytic gradients given for ${xs.length} inputs`);
  const [y, back] = given ? [noGrad(() => asTensor(f(...xs))), null] : vjp((...a) => f(...a), ...xs);
  if (given && y.size !== 1) throw new Error(`gradcheck: analytic gradients can be given only for a scalar function, got shape ${formatShape(y.shape)}`);
  const rng = new Rng(options.seed ?? 1234);
  const w = new Float64Array(y.size);
  for (let i = 0; i < w.length; i++) w[i] = y.size === 1 ? 1 : rng.normal();
  const weights = new Tensor(w, y.shape);
  const analytic = (back ? back(weights) : given!).map((g) => Float64Array.from(g.data));
  const project = (): number =>
    noGrad(() => {
      const out = asTensor(f(...xs));
      if (out.size !== w.length) throw new Error(`gradcheck: the output changed size from ${y.size} to ${out.size}`);
      let s = 0;
      for (let i = 0; i < w.length; i++) s += w[i] * out.data[i];
      return s;
    });
  const reports: InputReport[] = xs.map((x, index) => {
    const numeric = centralDifferences(x, project, eps);
    return { index, shape: x.shape, ...compareGradients(analytic[index], numeric, atol, rtol), analytic: analytic[index], numeric };
  });
  const summary = reports
    .map(
      (r) =>
        `input ${r.index} ${formatShape(r.shape)}: max abs error ${r.maxAbsError.toExponential(2)}, max rel error ${r.maxRelError.toExponential(2)} ${r.ok ? "ok" : "FAILED"}`,
    )
    .join("\n");
  return {
    ok: reports.every((r) => r.ok),
    maxAbsError: Math.max(0, ...reports.map((r) => r.maxAbsError)),
    maxRelError: Math.max(0, ...reports.map((r) => r.maxRelError)),
    inputs: reports,
    summary,
  };
}

/** d project / d x by central differences, one element of x nudged at a time (x is restored). */
function centralDifferences(x: Tensor, project: () => number, eps: number): Float64Array {
  const numeric = new Float64Array(x.size);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const keep = d[i];
    d[i] = keep + eps;
    const fp = project();
    d[i] = keep - eps;
    const fm = project();
    d[i] = keep;
    numeric[i] = (fp - fm) / (2 * eps);
  }
  return numeric;
}

/** The errors of analytic gradients `a` against `numeric`, and the element furthest past the tolerance. */
function compareGradients(
  a: Float64Array,
  numeric: Float64Array,
  atol: number,
  rtol: number,
): Pick<InputReport, "maxAbsError" | "maxRelError" | "ok" | "worst"> {
  let maxAbs = 0;
  let maxRel = 0;
  let ok = true;
  let worst = { position: -1, analytic: NaN, numeric: NaN };
  let worstExcess = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - numeric[i]);
    const scale = Math.max(Math.abs(a[i]), Math.abs(numeric[i]));
    const rel = err / Math.max(scale, 1e-8);
    const bad = !(err <= atol + rtol * Math.abs(numeric[i]));
    if (bad) ok = false;
    maxAbs = Math.max(maxAbs, Number.isNaN(err) ? Infinity : err);
    maxRel = Math.max(maxRel, Number.isNaN(rel) ? Infinity : rel);
    const excess = Number.isNaN(err) ? Infinity : err - (atol + rtol * Math.abs(numeric[i]));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = { position: i, analytic: a[i], numeric: numeric[i] };
    }
  }
  return { maxAbsError: maxAbs, maxRelError: maxRel, ok, worst };
}
