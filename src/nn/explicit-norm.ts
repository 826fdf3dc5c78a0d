/**
 * Batch normalization in the lecture's explicit layer API (CS231n assignment 2): `batchNormForward`
 * returns the output and a cache, `batchNormBackward` walks the forward's computational graph back stage
 * by stage, `batchNormBackwardAlt` uses the closed form of the same gradient. Plain loops over typed
 * arrays, outside autograd, so every step is visible; the tests hold them equal to autograd's.
 * Running statistics follow PyTorch (and this library's batchNorm): the new batch weighs `momentum`
 * (0.1), and the running variance is the unbiased estimate. (CS231n's starter code keeps the old value's
 * weight 0.9 and the biased variance.)
 */
import { Tensor } from "../core/tensor.js";
import { allocate } from "../core/dtype.js";
import { formatShape, ShapeError } from "../core/shape.js";
import { checkChoice, checkOptionKeys } from "../core/options.js";

export interface BatchNormParam {
  /** "train": the batch's statistics (and the running ones updated); "test": the running ones. */
  mode: "train" | "test";
  eps?: number;
  momentum?: number;
  /** (D,) running mean and unbiased variance, updated in place in "train" mode; required in "test" mode. */
  runningMean?: Tensor;
  runningVar?: Tensor;
}

/** What the backward passes need: the forward's intermediate values, one array per stage. */
export interface BatchNormCache {
  mode: "train" | "test";
  n: number;
  d: number;
  /** x - mean (N*D). */
  xmu: Float64Array;
  /** The normalized input (N*D). */
  xhat: Float64Array;
  /** var + eps under the square root, and its reciprocal (D each). */
  sqrtvar: Float64Array;
  ivar: Float64Array;
  gamma: Float64Array;
  like: Tensor;
}

function matrix(op: string, what: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${typeof t}`);
  if (t.ndim !== 2) throw new ShapeError(`${op}: ${what} must have shape (N, D), got ${formatShape(t.shape)}`);
  return t;
}

function vector(op: string, what: string, t: unknown, d: number): Float64Array {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${typeof t}`);
  if (t.ndim !== 1 || t.shape[0] !== d) throw new ShapeError(`${op}: ${what} must have shape (${d},), got ${formatShape(t.shape)}`);
  return Float64Array.from(t.data);
}

/** The values of a (d,) tensor themselves, to update in place. */
function live(op: string, what: string, t: unknown, d: number): Float64Array | Float32Array {
  vector(op, what, t, d);
  return (t as Tensor).data;
}

function out(like: Tensor, data: Float64Array, shape: number[]): Tensor {
  const a = allocate(like.dtype, data.length);
  a.set(data);
  return new Tensor(a, shape);
}

/** out = gamma * (x - mean) / sqrt(var + eps) + beta for x (N, D), gamma and beta (D,). */
export function batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, param: BatchNormParam): [Tensor, BatchNormCache] {
  const op = "batchNormForward";
  matrix(op, "x", x);
  checkOptionKeys(op, param, ["mode", "eps", "momentum", "runningMean", "runningVar"]);
  const mode = checkChoice(op, "mode", param?.mode, ["train", "test"]);
  const [n, d] = x.shape;
  const g = vector(op, "gamma", gamma, d);
  const b = vector(op, "beta", beta, d);
  const eps = param.eps ?? 1e-5;
  const momentum = param.momentum ?? 0.1;
  const xs = x.data;
  const mu = new Float64Array(d);
  const variance = new Float64Array(d);
  if (mode === "train") {
    if (n < 2) throw new ShapeError(`${op}: training needs at least 2 examples per feature, got x of shape ${formatShape(x.shape)}`);
    // Stage 1: mean; stages 2-4: centered values, their squares, and the (biased) variance.
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += xs[i * d + j];
    for (let j = 0; j < d; j++) mu[j] /= n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) variance[j] += (xs[i * d + j] - mu[j]) ** 2;
    for (let j = 0; j < d; j++) variance[j] /= n;
    if (param.runningMean || param.runningVar) {
      const rm = live(op, "runningMean", param.runningMean, d);
      const rv = live(op, "runningVar", param.runningVar, d);
      for (let j = 0; j < d; j++) {
        rm[j] = (1 - momentum) * rm[j] + momentum * mu[j];
        rv[j] = (1 - momentum) * rv[j] + momentum * variance[j] * (n / (n - 1));
      }
    }
  } else {
    if (!param.runningMean || !param.runningVar) throw new Error(`${op}: test mode normalizes with runningMean and runningVar; give both`);
    mu.set(vector(op, "runningMean", param.runningMean, d));
    variance.set(vector(op, "runningVar", param.runningVar, d));
  }
  // Stages 5-7: sqrt(var + eps), its reciprocal, and the normalized input; then scale and shift.
  const sqrtvar = variance.map((v) => Math.sqrt(v + eps));
  const ivar = sqrtvar.map((s) => 1 / s);
  const xmu = new Float64Array(n * d);
  const xhat = new Float64Array(n * d);
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      xmu[k] = xs[k] - mu[j];
      xhat[k] = xmu[k] * ivar[j];
      y[k] = g[j] * xhat[k] + b[j];
    }
  }
  return [out(x, y, [n, d]), { mode, n, d, xmu, xhat, sqrtvar, ivar, gamma: g, like: x }];
}

export interface BatchNormGrads {
  dx: Tensor;
  dgamma: Tensor;
  dbeta: Tensor;
}

/** dgamma = Σ dout * xhat and dbeta = Σ dout over the batch; dxhat = dout * gamma. */
function affineGrads(dout: Tensor, cache: BatchNormCache, op: string): { dgamma: Float64Array; dbeta: Float64Array; dxhat: Float64Array } {
  const { n, d, xhat, gamma } = cache;
  if (!(dout instanceof Tensor) || dout.shape.join() !== `${n},${d}`) {
    throw new ShapeError(`${op}: dout must have the output's shape (${n},${d}), got ${dout instanceof Tensor ? formatShape(dout.shape) : typeof dout}`);
  }
  const g = dout.data;
  const dgamma = new Float64Array(d);
  const dbeta = new Float64Array(d);
  const dxhat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const k = i * d + j;
      dbeta[j] += g[k];
      dgamma[j] += g[k] * xhat[k];
      dxhat[k] = g[k] * gamma[j];
    }
  }
  return { dgamma, dbeta, dxhat };
}

function grads(cache: BatchNormCache, dx: Float64Array, dgamma: Float64Array, dbeta: Float64Array): BatchNormGrads {
  return { dx: out(cache.like, dx, [cache.n, cache.d]), dgamma: out(cache.like, dgamma, [cache.d]), dbeta: out(cache.like, dbeta, [cache.d]) };
}

/** In test mode the statistics are constants: dx = dxhat / sqrt(var + eps). */
function testModeGrads(dout: Tensor, cache: BatchNormCache, op: string): BatchNormGrads {
  const { dgamma, dbeta, dxhat } = affineGrads(dout, cache, op);
  const dx = dxhat.map((v, k) => v * cache.ivar[k % cache.d]);
  return grads(cache, dx, dgamma, dbeta);
}

/**
 * The staged backward: each forward stage's local derivative in reverse order (xhat = xmu * ivar,
 * ivar = 1/sqrtvar, sqrtvar = sqrt(var + eps), var = mean(xmu²), xmu = x - mu, mu = mean(x)), the two
 * paths to xmu and the two to x summed where they meet.
 */
export function batchNormBackward(dout: Tensor, cache: BatchNormCache): BatchNormGrads {
  const op = "batchNormBackward";
  if (cache.mode === "test") return testModeGrads(dout, cache, op);
  const { n, d, xmu, sqrtvar, ivar } = cache;
  const { dgamma, dbeta, dxhat } = affineGrads(dout, cache, op);
  // xhat = xmu * ivar: to ivar (summed over the batch) and to xmu (first path).
  const divar = new Float64Array(d);
  const dxmu = new Float64Array(n * d);
  for (let k = 0; k < n * d; k++) {
    divar[k % d] += dxhat[k] * xmu[k];
    dxmu[k] = dxhat[k] * ivar[k % d];
  }
  // ivar = 1/sqrtvar, sqrtvar = sqrt(var + eps), var = (1/N) Σ xmu².
  const dvar = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const dsqrtvar = (-1 / (sqrtvar[j] * sqrtvar[j])) * divar[j];
    dvar[j] = (0.5 / sqrtvar[j]) * dsqrtvar;
  }
  // xmu's second path, through the squares: d(xmu²)/dxmu = 2 xmu, each square weighing 1/N.
  for (let k = 0; k < n * d; k++) dxmu[k] += 2 * xmu[k] * (dvar[k % d] / n);
  // xmu = x - mu: to x directly, and to mu = (1/N) Σ x, which spreads its gradient back evenly.
  const dmu = new Float64Array(d);
  for (let k = 0; k < n * d; k++) dmu[k % d] -= dxmu[k];
  const dx = dxmu.map((v, k) => v + dmu[k % d] / n);
  return grads(cache, dx, dgamma, dbeta);
}

/**
 * The same gradient in closed form: dx = (1/N) ivar (N dxhat - Σ dxhat - xhat Σ dxhat·xhat), the
 * stages of `batchNormBackward` simplified on paper (one pass for the sums, one for dx).
 */
export function batchNormBackwardAlt(dout: Tensor, cache: BatchNormCache): BatchNormGrads {
  const op = "batchNormBackwardAlt";
  if (cache.mode === "test") return testModeGrads(dout, cache, op);
  const { n, d, xhat, ivar } = cache;
  const { dgamma, dbeta, dxhat } = affineGrads(dout, cache, op);
  const sum = new Float64Array(d);
  const dot = new Float64Array(d);
  for (let k = 0; k < n * d; k++) {
    sum[k % d] += dxhat[k];
    dot[k % d] += dxhat[k] * xhat[k];
  }
  const dx = dxhat.map((v, k) => (ivar[k % d] / n) * (n * v - sum[k % d] - xhat[k] * dot[k % d]));
  return grads(cache, dx, dgamma, dbeta);
}
