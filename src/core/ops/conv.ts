/**
 * Sliding-window ops on NCHW images: unfold/fold (the primitives), and convolution and pooling as
 * composites of them with matmul, reductions and gather, following PyTorch's semantics.
 */
import { bind } from "../bind.js";
import { checkOptionKeys } from "../options.js";
import type { WindowParams } from "../prim.js";
import { expectTensor, type Tensor } from "../tensor.js";

/** A size given for both spatial axes or as [height, width]. */
export type Pair = number | readonly [number, number];
/** Padding: one number for all sides, [ph, pw] (top = bottom, left = right), or [top, left, bottom, right]. */
export type Padding4 = number | readonly [number, number] | readonly [number, number, number, number];

export interface WindowOptions {
  stride?: Pair;
  padding?: Padding4;
  dilation?: Pair;
}

const WINDOW_KEYS = ["stride", "padding", "dilation"] as const;

/** [a, b] from a number or a pair of integers >= min, or a TypeError naming `op` and `what`. */
export function readPair(op: string, what: string, v: unknown, min: number): [number, number] {
  const ok = (a: unknown): a is number => typeof a === "number" && Number.isInteger(a) && a >= min;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  const kind = min > 0 ? "positive" : "non-negative";
  throw new TypeError(`${op}: ${what} must be a ${kind} integer or a pair of them, got ${JSON.stringify(v)}`);
}

/** [top, left, bottom, right] from a number, [ph, pw] or four non-negative integers. */
export function readPadding(op: string, v: unknown): [number, number, number, number] {
  if (Array.isArray(v) && v.length === 4) {
    if (v.every((a) => typeof a === "number" && Number.isInteger(a) && a >= 0)) return [v[0], v[1], v[2], v[3]];
    throw new TypeError(`${op}: padding must hold non-negative integers, got ${JSON.stringify(v)}`);
  }
  const [ph, pw] = readPair(op, "padding", v, 0);
  return [ph, pw, ph, pw];
}

function windowParams(op: string, kernelSize: unknown, options: WindowOptions | undefined): WindowParams {
  checkOptionKeys(op, options, WINDOW_KEYS);
  const o = options ?? {};
  return {
    kernel: readPair(op, "kernelSize", kernelSize, 1),
    stride: readPair(op, "stride", o.stride ?? 1, 1),
    padding: readPadding(op, o.padding ?? 0),
    dilation: readPair(op, "dilation", o.dilation ?? 1, 1),
  };
}

/**
 * im2col, PyTorch's F.unfold: (N, C, H, W) -> (N, C*kh*kw, L), one column per window position (row-major
 * over the Ho x Wo windows), row c*kh*kw + i*kw + j holding channel c at kernel offset (i, j); zero padding.
 */
export function unfold(x: Tensor, kernelSize: Pair, options?: WindowOptions): Tensor {
  expectTensor("unfold", x);
  return bind("unfold", [x], windowParams("unfold", kernelSize, options));
}

/** col2im, PyTorch's F.fold: the adjoint of unfold, (N, C*kh*kw, L) -> (N, C, H, W), overlapping entries summed. */
export function fold(x: Tensor, outputSize: Pair, kernelSize: Pair, options?: WindowOptions): Tensor {
  expectTensor("fold", x);
  return bind("fold", [x], { ...windowParams("fold", kernelSize, options), size: readPair("fold", "outputSize", outputSize, 1) });
}
