/**
 * The lecture's explicit layer API for convolutional networks (as in CS231n's assignment 2): naive
 * loops over plain typed arrays, one forward returning its output and a cache, one backward taking the
 * upstream gradient and the cache. Slow on purpose: every sum is written out; the library's conv2d and
 * maxPool2d compute the same numbers with unfold and matrix products, and the tests compare the two.
 */
import { allocate } from "../core/dtype.js";
import { formatShape, ShapeError } from "../core/shape.js";
import { expectTensor, Tensor } from "../core/tensor.js";

export interface ConvParam {
  stride: number;
  /** Zero padding on every side. */
  pad: number;
}

export interface ConvCache {
  x: Tensor;
  w: Tensor;
  b: Tensor;
  convParam: ConvParam;
}

export interface PoolParam {
  poolHeight: number;
  poolWidth: number;
  stride: number;
}

export interface PoolCache {
  x: Tensor;
  poolParam: PoolParam;
}

function check(op: string, ok: boolean, message: () => string): void {
  if (!ok) throw new ShapeError(`${op}: ${message()}`);
}

function readInt(op: string, what: string, v: unknown, min: number): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= min) return v;
  throw new TypeError(`${op}: ${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
}

/**
 * out[n, f, i, j] = b[f] + sum over c, di, dj of x_padded[n, c, i*stride + di, j*stride + dj] * w[f, c, di, dj]
 * for x (N, C, H, W), w (F, C, HH, WW), b (F,); out is (N, F, 1 + (H + 2 pad - HH) / stride, ...).
 */
export function convForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): [Tensor, ConvCache] {
  const op = "convForward";
  expectTensor(op, x);
  expectTensor(op, w, "w");
  expectTensor(op, b, "b");
  const stride = readInt(op, "stride", convParam?.stride, 1);
  const pad = readInt(op, "pad", convParam?.pad, 0);
  check(
    op,
    x.ndim === 4 && w.ndim === 4 && x.shape[1] === w.shape[1],
    () => `expected x (N, C, H, W) and w (F, C, HH, WW), got ${formatShape(x.shape)} and ${formatShape(w.shape)}`,
  );
  check(op, b.ndim === 1 && b.shape[0] === w.shape[0], () => `expected b of shape (${w.shape[0]},), got ${formatShape(b.shape)}`);
  const [n, c, h, wd] = x.shape;
  const [f, , hh, ww] = w.shape;
  const ho = Math.floor((h + 2 * pad - hh) / stride) + 1;
  const wo = Math.floor((wd + 2 * pad - ww) / stride) + 1;
  check(op, ho >= 1 && wo >= 1, () => `a ${hh}x${ww} filter does not fit x of shape ${formatShape(x.shape)} with pad ${pad}`);
  const X = x.data,
    W = w.data,
    B = b.data;
  const out = allocate(x.dtype, n * f * ho * wo);
  for (let ni = 0; ni < n; ni++) {
    for (let fi = 0; fi < f; fi++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          let s = B[fi];
          for (let ci = 0; ci < c; ci++) {
            for (let di = 0; di < hh; di++) {
              const r = i * stride + di - pad;
              if (r < 0 || r >= h) continue; // a zero of the padding
              for (let dj = 0; dj < ww; dj++) {
                const q = j * stride + dj - pad;
                if (q < 0 || q >= wd) continue;
                s += X[((ni * c + ci) * h + r) * wd + q] * W[((fi * c + ci) * hh + di) * ww + dj];
              }
            }
          }
          out[((ni * f + fi) * ho + i) * wo + j] = s;
        }
      }
    }
  }
  return [new Tensor(out, [n, f, ho, wo]), { x, w, b, convParam: { stride, pad } }];
}

/**
 * The same loops, each product x * w sending dout back to both factors: dx gets dout * w, dw gets
 * dout * x (padding positions dropped); db sums dout over the batch and positions.
 */
export function convBackward(dout: Tensor, cache: ConvCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const op = "convBackward";
  expectTensor(op, dout, "dout");
  const { x, w, convParam } = cache;
  const { stride, pad } = convParam;
  const [n, c, h, wd] = x.shape;
  const [f, , hh, ww] = w.shape;
  const ho = Math.floor((h + 2 * pad - hh) / stride) + 1;
  const wo = Math.floor((wd + 2 * pad - ww) / stride) + 1;
  check(
    op,
    dout.shape.join() === [n, f, ho, wo].join(),
    () => `dout of shape ${formatShape(dout.shape)} is not the output shape ${formatShape([n, f, ho, wo])}`,
  );
  const X = x.data,
    W = w.data,
    D = dout.data;
  const dx = allocate(x.dtype, x.size);
  const dw = allocate(w.dtype, w.size);
  const db = allocate(cache.b.dtype, f);
  for (let ni = 0; ni < n; ni++) {
    for (let fi = 0; fi < f; fi++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          const g = D[((ni * f + fi) * ho + i) * wo + j];
          db[fi] += g;
          for (let ci = 0; ci < c; ci++) {
            for (let di = 0; di < hh; di++) {
              const r = i * stride + di - pad;
              if (r < 0 || r >= h) continue;
              for (let dj = 0; dj < ww; dj++) {
                const q = j * stride + dj - pad;
                if (q < 0 || q >= wd) continue;
                const xi = ((ni * c + ci) * h + r) * wd + q;
                const wi = ((fi * c + ci) * hh + di) * ww + dj;
                dx[xi] += g * W[wi];
                dw[wi] += g * X[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx: new Tensor(dx, x.shape), dw: new Tensor(dw, w.shape), db: new Tensor(db, [f]) };
}

function poolGeometry(op: string, x: Tensor, p: PoolParam): { ph: number; pw: number; stride: number; ho: number; wo: number } {
  const ph = readInt(op, "poolHeight", p?.poolHeight, 1);
  const pw = readInt(op, "poolWidth", p?.poolWidth, 1);
  const stride = readInt(op, "stride", p?.stride, 1);
  check(
    op,
    x.ndim === 4 && x.shape[2] >= ph && x.shape[3] >= pw,
    () => `expected x (N, C, H, W) of at least one ${ph}x${pw} window, got ${formatShape(x.shape)}`,
  );
  return { ph, pw, stride, ho: Math.floor((x.shape[2] - ph) / stride) + 1, wo: Math.floor((x.shape[3] - pw) / stride) + 1 };
}

/** out[n, c, i, j] = the max of x[n, c] over rows i*stride .. +poolHeight, columns j*stride .. +poolWidth. */
export function maxPoolForward(x: Tensor, poolParam: PoolParam): [Tensor, PoolCache] {
  const op = "maxPoolForward";
  expectTensor(op, x);
  const { ph, pw, stride, ho, wo } = poolGeometry(op, x, poolParam);
  const [n, c, h, w] = x.shape;
  const X = x.data;
  const out = allocate(x.dtype, n * c * ho * wo);
  for (let nc = 0; nc < n * c; nc++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let m = -Infinity;
        for (let di = 0; di < ph; di++) for (let dj = 0; dj < pw; dj++) m = Math.max(m, X[(nc * h + i * stride + di) * w + j * stride + dj]);
        out[(nc * ho + i) * wo + j] = m;
      }
    }
  }
  return [new Tensor(out, [n, c, ho, wo]), { x, poolParam: { poolHeight: ph, poolWidth: pw, stride } }];
}

/** Each window's upstream gradient goes to its (first) maximal entry, as np.argmax picks it; the rest get 0. */
export function maxPoolBackward(dout: Tensor, cache: PoolCache): Tensor {
  const op = "maxPoolBackward";
  expectTensor(op, dout, "dout");
  const { x } = cache;
  const { ph, pw, stride, ho, wo } = poolGeometry(op, x, cache.poolParam);
  const [n, c, h, w] = x.shape;
  check(
    op,
    dout.shape.join() === [n, c, ho, wo].join(),
    () => `dout of shape ${formatShape(dout.shape)} is not the output shape ${formatShape([n, c, ho, wo])}`,
  );
  const X = x.data,
    D = dout.data;
  const dx = allocate(x.dtype, x.size);
  for (let nc = 0; nc < n * c; nc++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let best = -1;
        for (let di = 0; di < ph; di++) {
          for (let dj = 0; dj < pw; dj++) {
            const k = (nc * h + i * stride + di) * w + j * stride + dj;
            if (best < 0 || X[k] > X[best]) best = k;
          }
        }
        dx[best] += D[(nc * ho + i) * wo + j];
      }
    }
  }
  return new Tensor(dx, x.shape);
}
