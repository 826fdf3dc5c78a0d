/**
 * Sliding-window ops on NCHW images: unfold/fold (the primitives), and convolution and pooling as
 * composites of them with matmul, reductions and gather, following PyTorch's semantics.
 */
import { bind } from "../bind.js";
import { checkOptionKeys } from "../options.js";
import type { WindowParams } from "../prim.js";
import { formatShape, ShapeError } from "../shape.js";
import { expectTensor, type Tensor } from "../tensor.js";
import { windowCount } from "../unfold.js";
import { add } from "./elementwise.js";
import { reshape } from "./structure.js";

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

/** Conv padding: a number or [ph, pw] on both sides, "valid" (none), or "same" (output size = input size, stride 1). */
export type ConvPadding = number | readonly [number, number] | "same" | "valid";

export interface Conv2dOptions {
  stride?: Pair;
  padding?: ConvPadding;
  dilation?: Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  /** Extra rows and columns at the bottom and right (choosing among the input sizes a strided conv maps to the same size). */
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** x as (N, C, H, W), a 3-D (C, H, W) input read as a batch of one (as PyTorch does); anything else is an error naming `op`. */
export function batched(op: string, x: Tensor): Tensor {
  if (x.ndim === 4) return x;
  if (x.ndim === 3) return reshape(x, [1, ...x.shape]);
  throw new ShapeError(`${op}: expected an input of shape (N, C, H, W) or (C, H, W), got ${formatShape(x.shape)}`);
}

/** The result for a batched input, or with the batch axis dropped again for an unbatched one. */
export function unbatched(x: Tensor, out: Tensor): Tensor {
  return x.ndim === 3 ? reshape(out, out.shape.slice(1)) : out;
}

function readGroups(op: string, v: unknown): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 1) return v;
  throw new TypeError(`${op}: groups must be a positive integer, got ${JSON.stringify(v)}`);
}

/** [top, left, bottom, right] for conv2d's padding; "same" puts the odd one at the bottom/right, as PyTorch does. */
export function convPadding(op: string, v: unknown, kernel: readonly [number, number], dilation: readonly [number, number], stride: readonly [number, number]) {
  if (v === "valid") return [0, 0, 0, 0] as const;
  if (v === "same") {
    if (stride[0] !== 1 || stride[1] !== 1) throw new TypeError(`${op}: padding "same" needs stride 1 (as in PyTorch), got stride (${stride})`);
    const [th, tw] = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)] as const;
  }
  if (typeof v === "string") throw new TypeError(`${op}: padding must be a number, a pair, "same" or "valid", got "${v}"`);
  const [ph, pw] = readPair(op, "padding", v, 0);
  return [ph, pw, ph, pw] as const;
}

/**
 * 2-D convolution (PyTorch's cross-correlation) of x (N, C, H, W) with weight (O, C/groups, kh, kw) and
 * an optional bias (O): unfold x into columns, one matrix product per group (the batch axis of the
 * product broadcasts over images), reshape. The gradients are the product's and unfold's (fold).
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options?: Conv2dOptions): Tensor {
  expectTensor("conv2d", x);
  expectTensor("conv2d", weight, "weight");
  if (bias !== undefined && bias !== null) expectTensor("conv2d", bias, "bias");
  checkOptionKeys("conv2d", options, ["stride", "padding", "dilation", "groups"]);
  const o = options ?? {};
  const xb = batched("conv2d", x);
  if (weight.ndim !== 4) throw new ShapeError(`conv2d: expected a weight of shape (O, C/groups, kh, kw), got ${formatShape(weight.shape)}`);
  const [n, c] = xb.shape;
  const [out, cg, kh, kw] = weight.shape;
  const groups = readGroups("conv2d", o.groups ?? 1);
  if (cg * groups !== c || out % groups !== 0) {
    throw new ShapeError(
      `conv2d: a weight of shape ${formatShape(weight.shape)} with groups ${groups} expects ${cg * groups} input channels and ${groups} | ${out} outputs; the input of shape ${formatShape(x.shape)} has ${c} channels`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== out)) throw new ShapeError(`conv2d: expected a bias of shape (${out},), got ${formatShape(bias.shape)}`);
  const stride = readPair("conv2d", "stride", o.stride ?? 1, 1);
  const dilation = readPair("conv2d", "dilation", o.dilation ?? 1, 1);
  const kernel: [number, number] = [kh, kw];
  const padding = convPadding("conv2d", o.padding ?? 0, kernel, dilation, stride);
  const [, , h, w] = xb.shape;
  const ho = windowCount(h, kh, stride[0], padding[0], padding[2], dilation[0]);
  const wo = windowCount(w, kw, stride[1], padding[1], padding[3], dilation[1]);
  if (ho < 1 || wo < 1) {
    throw new ShapeError(
      `conv2d: the input of shape ${formatShape(x.shape)} is smaller than the kernel ${kh}x${kw} (dilation ${dilation}, padding ${padding}): no output positions`,
    );
  }
  // A 1x1 kernel at stride 1 without padding reads each pixel once, in place: its columns are x itself.
  const plain = kh === 1 && kw === 1 && stride[0] === 1 && stride[1] === 1 && padding.every((p) => p === 0);
  const cols = plain ? reshape(xb, [n, c, h * w]) : bind("unfold", [xb], { kernel, stride, padding: [...padding], dilation });
  const k = cg * kh * kw;
  const l = ho * wo;
  const y =
    groups === 1
      ? bind("matmul", [reshape(weight, [out, k]), cols], {})
      : bind("matmul", [reshape(weight, [groups, out / groups, k]), reshape(cols, [n, groups, k, l])], {});
  let result = reshape(y, [n, out, ho, wo]);
  if (bias) result = add(result, reshape(bias, [out, 1, 1]));
  return unbatched(x, result);
}

/**
 * The transposed convolution (the gradient of conv2d with respect to its input, as a layer): x
 * (N, Cin, H, W), weight (Cin, Cout/groups, kh, kw). Each input pixel scatters weight-times-value into
 * the columns (one product per group), and fold sums them into the (H-1)*s - 2p + d*(k-1) + outputPadding + 1
 * output rows (the same for columns).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvTranspose2dOptions): Tensor {
  const op = "convTranspose2d";
  expectTensor(op, x);
  expectTensor(op, weight, "weight");
  if (bias !== undefined && bias !== null) expectTensor(op, bias, "bias");
  checkOptionKeys(op, options, ["stride", "padding", "outputPadding", "dilation", "groups"]);
  const o = options ?? {};
  const xb = batched(op, x);
  if (weight.ndim !== 4) throw new ShapeError(`${op}: expected a weight of shape (Cin, Cout/groups, kh, kw), got ${formatShape(weight.shape)}`);
  const [n, cin, h, w] = xb.shape;
  const [wcin, cg, kh, kw] = weight.shape;
  const groups = readGroups(op, o.groups ?? 1);
  if (wcin !== cin || cin % groups !== 0) {
    throw new ShapeError(
      `${op}: a weight of shape ${formatShape(weight.shape)} with groups ${groups} does not fit an input of shape ${formatShape(x.shape)} (${cin} channels)`,
    );
  }
  const cout = cg * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== cout)) throw new ShapeError(`${op}: expected a bias of shape (${cout},), got ${formatShape(bias.shape)}`);
  const stride = readPair(op, "stride", o.stride ?? 1, 1);
  const dilation = readPair(op, "dilation", o.dilation ?? 1, 1);
  const pad = readPair(op, "padding", o.padding ?? 0, 0);
  const extra = readPair(op, "outputPadding", o.outputPadding ?? 0, 0);
  for (const a of [0, 1]) {
    if (extra[a] >= Math.max(stride[a], dilation[a])) {
      throw new TypeError(`${op}: outputPadding (${extra}) must be smaller than stride (${stride}) or dilation (${dilation}), as in PyTorch`);
    }
  }
  // Per axis: the span of all window taps, the output size, and the part of it the windows reach.
  const kernel: [number, number] = [kh, kw];
  const span = [0, 1].map((a) => ([h, w][a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1);
  const size = [0, 1].map((a) => span[a] - 2 * pad[a] + extra[a]);
  const reached = [0, 1].map((a) => Math.min(size[a], span[a] - pad[a]));
  if (size.some((s) => s < 1) || reached.some((s) => s < 1)) {
    throw new ShapeError(`${op}: padding (${pad}) leaves no output for an input of shape ${formatShape(x.shape)} and kernel ${kh}x${kw}`);
  }
  const k = cg * kh * kw;
  const cols = reshape(bind("matmul", [reshape(weight, [groups, cin / groups, k]), reshape(xb, [n, groups, cin / groups, h * w])], { transposeX: true }), [
    n,
    cout * kh * kw,
    h * w,
  ]);
  let y = bind("fold", [cols], {
    kernel,
    stride,
    padding: [pad[0], pad[1], span[0] - pad[0] - reached[0], span[1] - pad[1] - reached[1]],
    dilation,
    size: [reached[0], reached[1]],
  });
  // outputPadding beyond the last window's reach: rows and columns no tap touches (zero, then the bias).
  if (reached[0] < size[0] || reached[1] < size[1]) y = bind("pad", [y], { starts: [0, 0, 0, 0], steps: [1, 1, 1, 1], shape: [n, cout, size[0], size[1]] });
  if (bias) y = add(y, reshape(bias, [cout, 1, 1]));
  return unbatched(x, y);
}
