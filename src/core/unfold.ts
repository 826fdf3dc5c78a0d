/**
 * The sliding-window primitives' shape rules and reference kernels: unfold (im2col) and fold (col2im),
 * adjoint linear maps. Convolution and pooling are composites of these and matmul (ops/conv.ts).
 */
import { allocate, type TypedArray } from "./dtype.js";
import type { Kernel, WindowParams } from "./prim.js";
import { formatShape, ShapeError, type Shape } from "./shape.js";

/** Number of windows along one axis of length n: floor((n + padding - d*(k-1) - 1)/s) + 1 (may be <= 0). */
export function windowCount(n: number, k: number, s: number, padBefore: number, padAfter: number, d: number): number {
  return Math.floor((n + padBefore + padAfter - d * (k - 1) - 1) / s) + 1;
}

function describe(p: WindowParams): string {
  return `kernel (${p.kernel}), stride (${p.stride}), padding (${p.padding}), dilation (${p.dilation})`;
}

const isPair = (v: unknown, min: number): boolean => Array.isArray(v) && v.length === 2 && v.every((a) => Number.isInteger(a) && a >= min);

/** Checks the window parameters (positive kernel, stride, dilation; non-negative padding), naming `op`. */
function checkWindow(op: string, p: WindowParams): void {
  const ok =
    isPair(p.kernel, 1) &&
    isPair(p.stride, 1) &&
    isPair(p.dilation, 1) &&
    Array.isArray(p.padding) &&
    p.padding.length === 4 &&
    p.padding.every((a) => Number.isInteger(a) && a >= 0);
  if (!ok) {
    throw new ShapeError(
      `${op}: bad window ${JSON.stringify(p)}: kernel, stride and dilation must be pairs of positive integers, padding four non-negative integers [top, left, bottom, right]`,
    );
  }
}

/** Windows [Ho, Wo] of an H x W image, or a ShapeError naming `op` when there are none. */
function windows(op: string, h: number, w: number, p: WindowParams, what: string): [number, number] {
  const [kh, kw] = p.kernel;
  const [top, left, bottom, right] = p.padding;
  const ho = windowCount(h, kh, p.stride[0], top, bottom, p.dilation[0]);
  const wo = windowCount(w, kw, p.stride[1], left, right, p.dilation[1]);
  if (ho < 1 || wo < 1) {
    throw new ShapeError(`${op}: ${what} is smaller than the (dilated) kernel even with padding: ${describe(p)} gives ${ho}x${wo} windows`);
  }
  return [ho, wo];
}

export function unfoldShape(s: readonly Shape[], p: WindowParams): Shape {
  const x = s[0];
  if (x.length !== 4) throw new ShapeError(`unfold: expected an input of shape (N, C, H, W), got ${formatShape(x)}`);
  checkWindow("unfold", p);
  const [n, c, h, w] = x;
  const [ho, wo] = windows("unfold", h, w, p, `input of shape ${formatShape(x)}`);
  return [n, c * p.kernel[0] * p.kernel[1], ho * wo];
}

export function foldShape(s: readonly Shape[], p: WindowParams & { readonly size: readonly [number, number] }): Shape {
  const x = s[0];
  checkWindow("fold", p);
  if (!isPair(p.size, 1)) throw new ShapeError(`fold: size must be a pair of positive integers [H, W], got ${JSON.stringify(p.size)}`);
  const [h, w] = p.size;
  const kk = p.kernel[0] * p.kernel[1];
  if (x.length !== 3 || x[1] % kk !== 0) {
    throw new ShapeError(`fold: expected an input of shape (N, C*${p.kernel[0]}*${p.kernel[1]}, L), got ${formatShape(x)}`);
  }
  const [ho, wo] = windows("fold", h, w, p, `output size ${h}x${w}`);
  if (x[2] !== ho * wo) {
    throw new ShapeError(
      `fold: input of shape ${formatShape(x)} has ${x[2]} columns, but a ${h}x${w} output with ${describe(p)} has ${ho}x${wo} = ${ho * wo} windows`,
    );
  }
  return [x[0], x[1] / kk, h, w];
}

/**
 * Both kernels are one walk over every (image position, column entry) pair of the window map, padding
 * positions skipped: unfold copies image -> columns, fold adds columns -> image (`add`). The copy is
 * inline, not a callback: a call per element costs several times the copy.
 */
function windowWalk(
  img: TypedArray,
  cols: TypedArray,
  add: boolean,
  n: number,
  c: number,
  h: number,
  w: number,
  p: WindowParams,
  ho: number,
  wo: number,
): void {
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride;
  const [dh, dw] = p.dilation;
  const [top, left] = p.padding;
  const l = ho * wo;
  for (let b = 0; b < n * c; b++) {
    const imgBase = b * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // (b * kh + i) * kw + j is row (ch*kh + i)*kw + j of image n = floor(b / c): rows of one image are contiguous.
        const colBase = ((b * kh + i) * kw + j) * l;
        for (let oh = 0; oh < ho; oh++) {
          const ih = oh * sh - top + i * dh;
          if (ih < 0 || ih >= h) continue;
          const rowBase = imgBase + ih * w;
          const colRow = colBase + oh * wo;
          for (let ow = 0; ow < wo; ow++) {
            const iw = ow * sw - left + j * dw;
            if (iw < 0 || iw >= w) continue;
            if (add) img[rowBase + iw] += cols[colRow + ow];
            else cols[colRow + ow] = img[rowBase + iw];
          }
        }
      }
    }
  }
}

export const unfoldKernel: Kernel<"unfold"> = (ins, p, out) => {
  const [n, c, h, w] = ins[0].shape;
  const o = allocate(out.dtype, out.shape[0] * out.shape[1] * out.shape[2]);
  const [ho, wo] = windows("unfold", h, w, p, "input");
  windowWalk(ins[0].data, o, false, n, c, h, w, p, ho, wo);
  return o;
};

export const foldKernel: Kernel<"fold"> = (ins, p, out) => {
  const [n, c, h, w] = out.shape;
  const o = allocate(out.dtype, n * c * h * w);
  const [ho, wo] = windows("fold", h, w, p, "output");
  windowWalk(o, ins[0].data, true, n, c, h, w, p, ho, wo);
  return o;
};
