/**
 * Our primitives in standard ONNX operators (opset 17): one rule per primitive, typed so that a
 * primitive added to the table without a rule here fails to compile. A rule gets its inputs' value
 * names (already converted to the output dtype, as our promotion does; `cast` gets its own input as
 * is), the static shapes and the primitive's parameters, and returns the name of the output. null:
 * no sensible standard mapping; exporting a graph that uses it is an error naming it.
 */
import type { DType } from "../../core/dtype.js";
import type { ParamMap, Prim } from "../../core/prim.js";
import type { Shape } from "../../core/shape.js";
import { elemTypeOf, type GraphBuilder } from "./builder.js";
import { attrInt, attrInts, attrString, attrTensor, doubleTensor, floatTensor, OnnxDataType } from "./proto.js";

export interface RuleArgs<P extends Prim> {
  readonly inputs: readonly string[];
  readonly inShapes: readonly Shape[];
  readonly inDtypes: readonly DType[];
  readonly outShape: Shape;
  readonly outDtype: DType;
  readonly params: ParamMap[P];
}

export type OnnxRule<P extends Prim> = (g: GraphBuilder, a: RuleArgs<P>) => string;
export type OnnxRules = { readonly [P in Prim]: OnnxRule<P> | null };

/** A rule that is one ONNX operator on the inputs. */
const same =
  <P extends Prim>(opType: string): OnnxRule<P> =>
  (g, a) =>
    g.op(opType, a.inputs);

/** A comparison: ONNX gives bool, ours gives 1 or 0 in the operands' dtype. */
const compare =
  <P extends Prim>(opType: string): OnnxRule<P> =>
  (g, a) =>
    g.op("Cast", [g.op(opType, a.inputs)], [attrInt("to", elemTypeOf(a.outDtype))]);

/** The permutation that swaps the last two of `rank` axes. */
function swapLast(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  [p[rank - 2], p[rank - 1]] = [p[rank - 1], p[rank - 2]];
  return p;
}

/** A zero of `dtype` as ConstantOfShape's value attribute. */
function zeroValue(dtype: DType) {
  return attrTensor("value", dtype === "float64" ? doubleTensor("zero", [1], [0]) : floatTensor("zero", [1], [0]));
}

/**
 * pad: x placed at `starts`, every `steps`-th position, in zeros of `shape`. Strided axes are first
 * dilated (each element followed by step-1 zeros: unsqueeze, pad, merge, trim), then one Pad puts
 * the result in place.
 */
const padRule: OnnxRule<"pad"> = (g, { inputs, inShapes, params, outShape, outDtype }) => {
  // Nothing to place: zeros of the output shape.
  if (inShapes[0].some((n) => n === 0)) return g.op("ConstantOfShape", [g.ints(outShape)], [zeroValue(outDtype)]);
  let x = inputs[0];
  const shape = [...inShapes[0]];
  const rank = shape.length;
  for (let d = 0; d < rank; d++) {
    const s = params.steps[d];
    const n = shape[d];
    if (s === 1 || n <= 1) continue;
    const widened = [...shape.slice(0, d), n, 1, ...shape.slice(d + 1)];
    const pads = new Array<number>(2 * (rank + 1)).fill(0);
    pads[rank + 1 + d + 1] = s - 1;
    x = g.op("Pad", [g.op("Reshape", [x, g.ints(widened)]), g.ints(pads)]);
    const merged = [...shape.slice(0, d), n * s, ...shape.slice(d + 1)];
    x = g.op("Reshape", [x, g.ints(merged)]);
    const kept = (n - 1) * s + 1;
    x = g.op("Slice", [x, g.ints([0]), g.ints([kept]), g.ints([d])]);
    shape[d] = kept;
  }
  const before = params.starts;
  const after = outShape.map((n, d) => n - before[d] - shape[d]);
  return before.every((b) => b === 0) && after.every((b) => b === 0) ? x : g.op("Pad", [x, g.ints([...before, ...after])]);
};

/**
 * unfold and fold as a grouped Conv and ConvTranspose with a one-hot kernel: output channel
 * c*kh*kw + i*kw + j of group c picks kernel offset (i, j), exactly unfold's row order, and the
 * transposed convolution with the same kernel is its adjoint (overlaps summed).
 */
function oneHotKernel(g: GraphBuilder, channels: number, p: ParamMap["unfold"], dtype: DType): string {
  const [kh, kw] = p.kernel;
  const kk = kh * kw;
  const w = new Float64Array(channels * kk * kk);
  for (let c = 0; c < channels; c++) for (let k = 0; k < kk; k++) w[(c * kk + k) * kk + k] = 1;
  return g.values(w, [channels * kk, 1, kh, kw], dtype);
}

function windowAttrs(p: ParamMap["unfold"], channels: number) {
  return [attrInts("strides", p.stride), attrInts("dilations", p.dilation), attrInts("pads", p.padding), attrInt("group", channels)];
}

const unfoldRule: OnnxRule<"unfold"> = (g, { inputs, inShapes, params, outShape, outDtype }) => {
  const channels = inShapes[0][1];
  const conv = g.op("Conv", [inputs[0], oneHotKernel(g, channels, params, outDtype)], windowAttrs(params, channels));
  return g.op("Reshape", [conv, g.ints(outShape)]);
};

const foldRule: OnnxRule<"fold"> = (g, { inputs, inShapes, params, outShape, outDtype }) => {
  const [n, rows] = inShapes[0];
  const channels = outShape[1];
  const [kh, kw] = params.kernel;
  const [sh, sw] = params.stride;
  const [dh, dw] = params.dilation;
  const [top, left, bottom, right] = params.padding;
  const [h, w] = params.size;
  const ho = Math.floor((h + top + bottom - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((w + left + right - dw * (kw - 1) - 1) / sw) + 1;
  const grid = g.op("Reshape", [inputs[0], g.ints([n, rows, ho, wo])]);
  // The rows and columns no window reaches (when the stride does not divide evenly) come back as zeros.
  const outputPadding = [h + top + bottom - (sh * (ho - 1) + dh * (kh - 1) + 1), w + left + right - (sw * (wo - 1) + dw * (kw - 1) + 1)];
  return g.op(
    "ConvTranspose",
    [grid, oneHotKernel(g, channels, params, outDtype)],
    [...windowAttrs(params, channels), attrInts("output_padding", outputPadding)],
  );
};

export const ONNX_RULES: OnnxRules = {
  neg: same("Neg"),
  exp: same("Exp"),
  log: same("Log"),
  sin: same("Sin"),
  cos: same("Cos"),
  tan: same("Tan"),
  sqrt: same("Sqrt"),
  tanh: same("Tanh"),
  sigmoid: same("Sigmoid"),
  abs: same("Abs"),
  sign: same("Sign"),
  reciprocal: same("Reciprocal"),
  erf: same("Erf"),
  softplus: same("Softplus"),

  add: same("Add"),
  sub: same("Sub"),
  mul: same("Mul"),
  div: same("Div"),
  pow: same("Pow"),
  maximum: same("Max"),
  minimum: same("Min"),

  gt: compare("Greater"),
  ge: compare("GreaterOrEqual"),
  eq: compare("Equal"),
  // Ours picks x where cond is non-zero; a float cast to bool is exactly that.
  where: (g, { inputs }) => g.op("Where", [g.op("Cast", [inputs[0]], [attrInt("to", OnnxDataType.BOOL)]), inputs[1], inputs[2]]),

  // ReduceSum takes its axes as an input (opset 13+); no axes is our identity, ONNX's "reduce all".
  sum: (g, { inputs, params }) =>
    params.axes.length === 0 ? g.op("Identity", inputs) : g.op("ReduceSum", [inputs[0], g.ints(params.axes)], [attrInt("keepdims", params.keepdims ? 1 : 0)]),
  // ReduceMax still takes them as an attribute in opset 17 (an input from 18).
  max: (g, { inputs, params }) =>
    params.axes.length === 0
      ? g.op("Identity", inputs)
      : g.op("ReduceMax", inputs, [attrInts("axes", params.axes), attrInt("keepdims", params.keepdims ? 1 : 0)]),
  // Ties: both take the first maximal index.
  argmax: (g, { inputs, params, outDtype }) =>
    g.op("Cast", [g.op("ArgMax", inputs, [attrInt("axis", params.axis), attrInt("keepdims", params.keepdims ? 1 : 0)])], [attrInt("to", elemTypeOf(outDtype))]),

  reshape: (g, { inputs, params }) => g.op("Reshape", [inputs[0], g.ints(params.shape)]),
  broadcast: (g, { inputs, params }) => g.op("Expand", [inputs[0], g.ints(params.shape)]),
  transpose: (g, { inputs, params }) => g.op("Transpose", inputs, [attrInts("perm", params.perm)]),
  slice: (g, { inputs, params }) => {
    const axes = params.starts.map((_, d) => d);
    // The end is exclusive: one past the last element taken (the start itself for an empty window).
    const ends = params.starts.map((b, d) => (params.sizes[d] === 0 ? b : b + (params.sizes[d] - 1) * params.steps[d] + 1));
    return g.op("Slice", [inputs[0], g.ints(params.starts), g.ints(ends), g.ints(axes), g.ints(params.steps)]);
  },
  pad: padRule,
  concat: (g, { inputs, params }) => g.op("Concat", inputs, [attrInt("axis", params.axis)]),
  gather: (g, { inputs, params }) => g.op("Gather", [inputs[0], g.ints(params.indices, params.indexShape)], [attrInt("axis", params.axis)]),
  // The transpose of gather: x viewed as (before, indices, after) adds into zeros of (before, size, after)
  // along the middle axis (ScatterElements with reduction "add", opset 16+), at each index repeated over the rest.
  scatterAdd: (g, { inputs, inShapes, params, outShape, outDtype }) => {
    const x = inShapes[0];
    const before = x.slice(0, params.axis).reduce((p, d) => p * d, 1);
    const count = params.indices.length;
    const after = x.slice(params.axis + params.indexShape.length).reduce((p, d) => p * d, 1);
    const idx = new Array<number>(before * count * after);
    for (let b = 0, k = 0; b < before; b++) for (let i = 0; i < count; i++) for (let j = 0; j < after; j++) idx[k++] = params.indices[i];
    const zeros = g.op("ConstantOfShape", [g.ints([before, params.size, after])], [zeroValue(outDtype)]);
    const updates = g.op("Reshape", [inputs[0], g.ints([before, count, after])]);
    const out = g.op("ScatterElements", [zeros, g.ints(idx, [before, count, after]), updates], [attrInt("axis", 1), attrString("reduction", "add")]);
    return g.op("Reshape", [out, g.ints(outShape)]);
  },

  // Operands read transposed are transposed first; MatMul broadcasts batch axes as ours does.
  matmul: (g, { inputs, inShapes, params }) => {
    const x = params.transposeX ? g.op("Transpose", [inputs[0]], [attrInts("perm", swapLast(inShapes[0].length))]) : inputs[0];
    const y = params.transposeY ? g.op("Transpose", [inputs[1]], [attrInts("perm", swapLast(inShapes[1].length))]) : inputs[1];
    return g.op("MatMul", [x, y]);
  },
  unfold: unfoldRule,
  fold: foldRule,
  cast: (g, { inputs, inDtypes, params }) => g.cast(inputs[0], inDtypes[0], params.dtype),
};
