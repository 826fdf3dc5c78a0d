/**
 * The geometry the native and wasm im2col/col2im kernels take: one Int32Array
 * [n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo] from the `unfold`/`fold` parameters and shapes
 * (PyTorch's F.unfold layout: x (N, C, H, W) <-> cols (N, C*kh*kw, Ho*Wo)).
 */
import type { ParamMap, WindowParams } from "../prim.js";
import type { Shape } from "../shape.js";
import { windowCount } from "../unfold.js";

function geometry(n: number, c: number, h: number, w: number, p: WindowParams): Int32Array {
  const [kh, kw] = p.kernel,
    [sh, sw] = p.stride,
    [pt, pl, pb, pr] = p.padding,
    [dh, dw] = p.dilation;
  return Int32Array.of(n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, windowCount(h, kh, sh, pt, pb, dh), windowCount(w, kw, sw, pl, pr, dw));
}

/** The geometry of unfolding an image batch of shape (N, C, H, W). */
export function unfoldGeometry(x: Shape, p: WindowParams): Int32Array {
  return geometry(x[0], x[1], x[2], x[3], p);
}

/** The geometry of folding columns of shape (N, C*kh*kw, L) back to (N, C, size). */
export function foldGeometry(cols: Shape, p: ParamMap["fold"]): Int32Array {
  return geometry(cols[0], cols[1] / (p.kernel[0] * p.kernel[1]), p.size[0], p.size[1], p);
}

/** Whether no value is negative and the kernel sizes, strides and dilations are positive (else the kernels leave the call to the reference). */
export function usableGeometry(g: Int32Array): boolean {
  for (let i = 0; i < g.length; i++) if (g[i] < 0) return false;
  return g[4] > 0 && g[5] > 0 && g[6] > 0 && g[7] > 0 && g[10] > 0 && g[11] > 0;
}
