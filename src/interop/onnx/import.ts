/**
 * fromOnnx: reads an ONNX model back into trainable modules, to fine-tune a network trained elsewhere.
 * It reads a chain of layers: what toOnnx writes, and the equivalent graphs other tools write (PyTorch's
 * Gemm with transB=1, MatMul then Add, constants as initializers or Constant nodes, float or double,
 * raw_data or typed fields). Constant Sub/Add/Mul/Div before the first layer fold into a `preprocess`
 * (x - mean) / std; after a layer they fold into its weights and bias. Anything else is an error that
 * names the operator and the node (an OnnxError, as damaged bytes are).
 * Convolutional chains read too: Conv, MaxPool and AveragePool (symmetric padding, no ceil mode) become
 * Conv2d, MaxPool2d and AvgPool2d; a Reshape of flat features to an image becomes Unflatten, one to flat
 * features (or a Flatten after a layer) becomes Flatten.
 */
import { Linear, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh } from "../../nn/layers.js";
import { AvgPool2d, Conv2d, Flatten, MaxPool2d, Unflatten } from "../../nn/conv-layers.js";
import type { Module } from "../../nn/module.js";
import { Rng } from "../../core/random.js";
import type { DType } from "../../core/dtype.js";
import { OnnxAttributeType, OnnxDataType, OnnxError, dataTypeName, decodeOnnx, findAttribute, tensorValues } from "./proto.js";
import type { OnnxModel, OnnxNode, OnnxTensor } from "./proto.js";
import type { Standardize } from "./export.js";

export interface FromOnnxResult {
  /** The layers, trainable; its forward gives the graph's logits (before any trailing Softmax). */
  model: Sequential;
  /** One example's shape, without the batch dimension. */
  inputShape: number[];
  /** The input scaling the graph applied before its first layer, if any: apply it to raw inputs yourself. */
  preprocess?: Standardize;
  /** Class names from the model's metadata ("classes", a JSON list as toOnnx writes). */
  classes?: string[];
  /** Whether the graph ended in a Softmax (its probabilities are softmax(model.forward(x))). */
  softmax: boolean;
  /** float64 when the weights were stored as DOUBLE, else float32. */
  dtype: DType;
}

/** The opset assumed when a model names none (ONNX says 1; any model we read declares one). */
const ONNX_DEFAULT_OPSET = 1;

const SUPPORTED_OPS = [
  "MatMul",
  "Gemm",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Relu",
  "LeakyRelu",
  "Sigmoid",
  "Tanh",
  "Softmax",
  "Flatten",
  "Identity",
  "Constant",
  "Conv",
  "MaxPool",
  "AveragePool",
  "Reshape",
];

const fail = (message: string): never => {
  throw new OnnxError(`fromOnnx: ${message}`);
};

function label(node: OnnxNode, index: number): string {
  return node.name ? `node "${node.name}"` : `node #${index} (unnamed)`;
}

/** A constant operand: its values (float64) and dims, and whether it was stored as DOUBLE. */
interface Constant {
  values: Float64Array;
  dims: number[];
  double: boolean;
}

function constantOf(t: OnnxTensor): Constant {
  return { values: tensorValues(t), dims: t.dims, double: t.dataType === OnnxDataType.DOUBLE };
}

/** A Constant node's value, from whichever attribute holds it. */
function constantNode(node: OnnxNode, where: string): Constant {
  const a = node.attributes[0];
  if (node.attributes.length !== 1 || !a) return fail(`Constant ${where} must have exactly one value attribute`);
  if (a.name === "value" && a.t) return constantOf(a.t);
  if (a.name === "value_float" && a.f !== undefined) return { values: Float64Array.of(a.f), dims: [], double: false };
  if (a.name === "value_int" && a.i !== undefined) return { values: Float64Array.of(a.i), dims: [], double: false };
  if (a.name === "value_floats" && a.floats) return { values: Float64Array.from(a.floats), dims: [a.floats.length], double: false };
  if (a.name === "value_ints" && a.ints) return { values: Float64Array.from(a.ints), dims: [a.ints.length], double: false };
  return fail(`Constant ${where}: its "${a.name}" attribute is not supported (value, value_float(s) and value_int(s) are)`);
}

function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = findAttribute(node, name);
  return a && a.type === OnnxAttributeType.INT && a.i !== undefined ? a.i : fallback;
}

function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = findAttribute(node, name);
  return a && a.type === OnnxAttributeType.FLOAT && a.f !== undefined ? a.f : fallback;
}

/** A Linear being assembled: W (in, out) row-major and its bias, both float64 until the module is built. */
interface LinearSpec {
  inF: number;
  outF: number;
  w: Float64Array;
  b: Float64Array | null;
  double: boolean;
  where: string;
}

/** A Conv being assembled: weight (O, C/groups, kh, kw) as ONNX and we store it. */
interface ConvSpec {
  conv: true;
  weight: Constant;
  bias: Float64Array | null;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

function intsAttr(node: OnnxNode, name: string): number[] | undefined {
  const a = findAttribute(node, name);
  return a && a.type === OnnxAttributeType.INTS && a.ints ? a.ints : undefined;
}

/** A 2-D window's attributes as pairs; asymmetric padding, auto_pad and ceil_mode are refused (our layers have none). */
function windowAttrs(node: OnnxNode, where: string, kernelFallback: [number, number] | null) {
  const autoPad = findAttribute(node, "auto_pad");
  if (autoPad?.s !== undefined && autoPad.s !== "NOTSET") fail(`${where}: auto_pad ${autoPad.s} is not read; give explicit pads`);
  if (intAttr(node, "ceil_mode", 0) !== 0) fail(`${where}: ceil_mode=1 is not read (ONNX rounds the last window differently from PyTorch)`);
  const pair = (name: string, fallback: [number, number] | null, min: number): [number, number] => {
    const v = intsAttr(node, name);
    if (v === undefined) return fallback ?? fail(`${where}: the ${name} attribute is required`);
    if (v.length !== 2 || !v.every((x) => Number.isSafeInteger(x) && x >= min))
      return fail(`${where}: ${name} [${v.join(", ")}] is not two integers >= ${min} (2-D only)`);
    return [v[0], v[1]];
  };
  const kernel = pair("kernel_shape", kernelFallback, 1);
  const pads = intsAttr(node, "pads") ?? [0, 0, 0, 0];
  if (pads.length !== 4 || !pads.every((x) => Number.isSafeInteger(x) && x >= 0) || pads[0] !== pads[2] || pads[1] !== pads[3])
    fail(`${where}: pads [${pads.join(", ")}] must be 2-D and the same on both sides`);
  return { kernel, stride: pair("strides", [1, 1], 1), padding: [pads[0], pads[1]] as [number, number], dilation: pair("dilations", [1, 1], 1) };
}

/** A constant operand broadcast over `n` features: one value for all, or one per feature. */
function perFeature(c: Constant, n: number, where: string): Float64Array {
  const meaningful = c.dims.filter((d, i) => !(d === 1 && i < c.dims.length - 1));
  if (c.values.length === 1) return new Float64Array(n).fill(c.values[0]);
  if (c.values.length === n && meaningful.length <= 1) return c.values;
  return fail(`${where}: its constant of shape [${c.dims.join(", ")}] does not broadcast over ${n} features as one value or one per feature`);
}

/** An elementwise op with a constant, before the first layer: kept and folded once the feature count is known. */
interface PreOp {
  op: "Add" | "Sub" | "Mul" | "Div";
  c: Constant;
  constantFirst: boolean;
  where: string;
}

function foldPreprocess(ops: readonly PreOp[], n: number, inputShape: readonly number[] | null): Standardize | undefined {
  if (ops.length === 0) return undefined;
  const scale = new Float64Array(n).fill(1);
  const shift = new Float64Array(n);
  for (const { op, c, constantFirst, where } of ops) {
    // A per-feature constant may also have the example's own shape ([28, 28] before a Flatten).
    const flat = inputShape && c.values.length === n && c.dims.join() === inputShape.join() ? { ...c, dims: [n] } : c;
    const k = perFeature(flat, n, where);
    for (let j = 0; j < n; j++) {
      if (op === "Add") shift[j] += k[j];
      else if (op === "Sub" && !constantFirst) shift[j] -= k[j];
      else if (op === "Sub") ((scale[j] = -scale[j]), (shift[j] = k[j] - shift[j]));
      else if (op === "Mul") ((scale[j] *= k[j]), (shift[j] *= k[j]));
      else if (!constantFirst) ((scale[j] /= k[j]), (shift[j] /= k[j]));
      else fail(`${where}: Div with the constant first (c / x) is not an affine scaling`);
    }
  }
  if (scale.every((s) => s === 1) && shift.every((s) => s === 0)) return undefined;
  const zero = scale.findIndex((s) => s === 0 || !Number.isFinite(s));
  if (zero >= 0) return fail(`the input scaling multiplies feature ${zero} by ${scale[zero]}, which cannot be written as (x - mean) / std`);
  return { kind: "standardize", mean: Array.from(shift, (s, j) => -s / scale[j]), std: Array.from(scale, (s) => 1 / s) };
}

function parseClasses(model: OnnxModel, outputs: number): string[] | undefined {
  const entry = model.metadataProps.find((p) => p.key === "classes");
  if (!entry) return undefined;
  try {
    const v: unknown = JSON.parse(entry.value);
    if (Array.isArray(v) && v.length === outputs && v.every((c) => typeof c === "string")) return v as string[];
  } catch {
    // Another tool's "classes" in another format: not ours to read.
  }
  return undefined;
}

/**
 * Reads ONNX bytes (or a decoded model) into a Sequential of Linear and activation layers.
 * Throws naming the unsupported operators and their nodes, or what in the graph is not a chain of layers.
 */
export function fromOnnx(source: Uint8Array | OnnxModel): FromOnnxResult {
  if (!(source instanceof Uint8Array) && (typeof source !== "object" || source === null || typeof source.graph !== "object"))
    fail(`expected ONNX bytes (a Uint8Array) or a decoded model, got ${source === null ? "null" : typeof source}`);
  const onnx = source instanceof Uint8Array ? decodeOnnx(source) : source;
  const graph = onnx.graph;
  const nodes = graph.nodes;

  const unsupported = nodes
    .map((n, i) =>
      ((n.domain ?? "") === "" || n.domain === "ai.onnx") && SUPPORTED_OPS.includes(n.opType)
        ? null
        : `${n.domain ? `${n.domain}.` : ""}${n.opType} (${label(n, i)})`,
    )
    .filter((s): s is string => s !== null);
  if (unsupported.length > 0)
    fail(`unsupported operator${unsupported.length > 1 ? "s" : ""} ${unsupported.join(", ")}; this importer reads ${SUPPORTED_OPS.join(", ")}`);
  const opset = onnx.opsetImport.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? ONNX_DEFAULT_OPSET;

  const constants = new Map<string, Constant>();
  for (const t of graph.initializers) constants.set(t.name, constantOf(t));
  const inputs = graph.inputs.filter((v) => !constants.has(v.name));
  if (inputs.length !== 1) fail(`the graph must have one input (besides its weights), it has ${inputs.length}: ${inputs.map((v) => v.name).join(", ")}`);
  const input = inputs[0];
  const tt = input.tensorType;
  if (tt && tt.elemType !== OnnxDataType.FLOAT && tt.elemType !== OnnxDataType.DOUBLE)
    fail(`the input "${input.name}" holds ${dataTypeName(tt.elemType)}; only FLOAT or DOUBLE inputs are read`);
  const dims = tt?.shape;
  if (dims && dims.length < 2) fail(`the input "${input.name}" has shape [${dims.join(", ")}]; a batch dimension and features are needed`);
  const exampleDims = dims?.slice(1);
  const declaredShape = exampleDims && exampleDims.every((d): d is number => typeof d === "number" && d > 0) ? exampleDims : null;

  let value = input.name;
  const pre: PreOp[] = [];
  const specs: (LinearSpec | ConvSpec | Module)[] = [];
  // Axes of one example's current value: 1 for features, 3 for (C, H, W); null when the input's shape is not declared.
  let rank: number | null = declaredShape ? declaredShape.length : null;
  let open: LinearSpec | null = null; // the Linear just read: a constant Add/Mul right after it folds into it
  let flattened = false;
  let softmax = false;
  let width = declaredShape ? declaredShape.reduce((a, b) => a * b, 1) : null;

  nodes.forEach((node, index) => {
    const where = `${node.opType} ${label(node, index)}`;
    if (node.opType === "Constant") {
      if (node.outputs.length !== 1) fail(`${where} must have one output`);
      constants.set(node.outputs[0], constantNode(node, where));
      return;
    }
    if (node.outputs.length !== 1) fail(`${where} has ${node.outputs.length} outputs; one is expected`);
    const data = node.inputs.filter((name) => name !== "" && !constants.has(name));
    if (data.length !== 1 || data[0] !== value)
      fail(`${where} does not continue the chain of layers from "${value}" (its inputs: ${node.inputs.join(", ")}); only a chain of layers can be read`);
    if (softmax && node.opType !== "Identity") fail(`${where} follows the Softmax; a Softmax can only be the last layer`);
    const operand = (k: number): Constant | undefined => (node.inputs[k] !== undefined && node.inputs[k] !== "" ? constants.get(node.inputs[k]) : undefined);
    value = node.outputs[0];

    switch (node.opType) {
      case "Identity":
        return;
      case "Flatten": {
        const axis = intAttr(node, "axis", 1);
        if (axis !== 1) fail(`${where}: only Flatten(axis=1) is read`);
        if (specs.length === 0) flattened = true;
        else {
          specs.push(new Flatten());
          width = null;
        }
        rank = 1;
        return;
      }
      case "Reshape": {
        const target = operand(1);
        if (!target || target.dims.length !== 1) return fail(`${where}: the target shape must be a constant list`);
        if (intAttr(node, "allowzero", 0) !== 0) fail(`${where}: allowzero=1 is not read`);
        const [batch, ...rest] = Array.from(target.values);
        if ((batch !== -1 && batch !== 0) || rest.length === 0 || !rest.every((d) => Number.isSafeInteger(d) && d > 0))
          fail(`${where}: only a reshape that keeps the batch axis ([-1 or 0, sizes...]) is read, got [${Array.from(target.values).join(", ")}]`);
        if (rest.length === 1) {
          specs.push(new Flatten());
          width = rest[0];
          rank = 1;
        } else {
          if (rank !== null && rank !== 1) fail(`${where}: only flat features can be reshaped to an image here`);
          if (width !== null && width !== rest.reduce((a, b) => a * b, 1))
            fail(`${where}: ${width} features do not make an image of shape [${rest.join(", ")}]`);
          specs.push(new Unflatten(1, rest));
          width = null;
          rank = rest.length;
        }
        break;
      }
      case "Conv": {
        const w = operand(1);
        if (!w || w.dims.length !== 4) return fail(`${where}: the weights must be a constant of shape [out, in/groups, kh, kw]`);
        const b = operand(2);
        if (node.inputs.length > 2 && node.inputs[2] !== "" && !b) fail(`${where}: the bias must be a constant`);
        const groups = intAttr(node, "group", 1);
        const win = windowAttrs(node, where, [w.dims[2], w.dims[3]]);
        if (win.kernel[0] !== w.dims[2] || win.kernel[1] !== w.dims[3])
          fail(`${where}: kernel_shape [${win.kernel.join(", ")}] does not match the weights [${w.dims.join(", ")}]`);
        if (rank !== null && rank !== 3) fail(`${where}: its input is not an image (C, H, W)`);
        specs.push({
          conv: true,
          weight: w,
          bias: b ? perFeature(b, w.dims[0], where) : null,
          stride: win.stride,
          padding: win.padding,
          dilation: win.dilation,
          groups,
        });
        width = null;
        rank = 3;
        break;
      }
      case "MaxPool":
      case "AveragePool": {
        if (node.opType === "MaxPool" && intAttr(node, "storage_order", 0) !== 0) fail(`${where}: storage_order=1 is not read`);
        const win = windowAttrs(node, where, null);
        if (rank !== null && rank !== 3) fail(`${where}: its input is not an image (C, H, W)`);
        specs.push(
          node.opType === "MaxPool"
            ? new MaxPool2d(win.kernel, { stride: win.stride, padding: win.padding, dilation: win.dilation })
            : new AvgPool2d(win.kernel, { stride: win.stride, padding: win.padding, countIncludePad: intAttr(node, "count_include_pad", 0) === 1 }),
        );
        width = null;
        break;
      }
      case "MatMul":
      case "Gemm": {
        if (node.inputs[0] !== data[0]) fail(`${where}: the weights must be the second operand`);
        const b = operand(1);
        if (!b || b.dims.length !== 2)
          return fail(`${where}: the weights must be a constant matrix, got ${b ? `shape [${b.dims.join(", ")}]` : "a computed value"}`);
        let [inF, outF] = b.dims;
        if (inF === 0 || outF === 0) fail(`${where}: the weights have shape [${b.dims.join(", ")}]; a layer needs at least one input and one output`);
        let w = b.values;
        let bias: Float64Array | null = null;
        if (node.opType === "Gemm") {
          if (intAttr(node, "transA", 0) !== 0) fail(`${where}: transA=1 is not read (the input must come first, untransposed)`);
          const alpha = floatAttr(node, "alpha", 1);
          const beta = floatAttr(node, "beta", 1);
          if (intAttr(node, "transB", 0) !== 0) {
            // PyTorch stores W as (out, in) and writes transB=1: transpose to our (in, out).
            [inF, outF] = [outF, inF];
            const t = new Float64Array(w.length);
            for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) t[i * outF + o] = w[o * inF + i];
            w = t;
          }
          if (alpha !== 1) w = w.map((x) => x * alpha);
          const c = operand(2);
          if (node.inputs.length > 2 && node.inputs[2] !== "" && !c) fail(`${where}: the bias must be a constant`);
          if (c) bias = perFeature(c, outF, where).map((x) => x * beta);
        }
        if (width !== null && width !== inF) fail(`${where} takes ${inF} features but receives ${width}`);
        if (!flattened && declaredShape && declaredShape.length > 1 && specs.length === 0)
          fail(`${where}: the input has shape [${declaredShape.join(", ")}]; a Flatten is needed before the first layer`);
        open = { inF, outF, w: Float64Array.from(w), b: bias, double: b.double, where };
        specs.push(open);
        width = outF;
        return;
      }
      case "Add":
      case "Sub":
      case "Mul":
      case "Div": {
        const k = node.inputs[0] === data[0] ? 1 : 0;
        const c = operand(k);
        if (!c) return fail(`${where}: the other operand must be a constant`);
        if (specs.length === 0) {
          pre.push({ op: node.opType, c, constantFirst: k === 0, where });
          return;
        }
        if (!open) return fail(`${where} after an activation: constants are read only as input scaling or folded into the layer before`);
        const f = perFeature(c, open.outF, where);
        const lin: LinearSpec = open;
        if (node.opType === "Add" || node.opType === "Sub") {
          if (node.opType === "Sub" && k === 0) fail(`${where}: a constant minus a layer's output is not read`);
          const sign = node.opType === "Add" ? 1 : -1;
          lin.b = (lin.b ?? new Float64Array(lin.outF)).map((x, o) => x + sign * f[o]);
        } else {
          if (node.opType === "Div" && k === 0) fail(`${where}: a constant divided by a layer's output is not an affine layer`);
          const g = node.opType === "Mul" ? f : f.map((x) => 1 / x);
          const bad = g.findIndex((x) => !Number.isFinite(x) || x === 0);
          if (bad >= 0) fail(`${where}: scaling output ${bad} by ${g[bad]} leaves no usable layer`);
          lin.w = lin.w.map((x, i) => x * g[i % lin.outF]);
          if (lin.b) lin.b = lin.b.map((x, o) => x * g[o]);
        }
        lin.double ||= c.double;
        return;
      }
      case "Relu":
        specs.push(new ReLU());
        break;
      case "LeakyRelu":
        specs.push(new LeakyReLU(floatAttr(node, "alpha", 0.01)));
        break;
      case "Sigmoid":
        specs.push(new Sigmoid());
        break;
      case "Tanh":
        specs.push(new Tanh());
        break;
      case "Softmax": {
        // Before opset 13 Softmax's axis defaulted to 1 (the last axis of our 2-D values); -1 since.
        const axis = intAttr(node, "axis", opset < 13 ? 1 : -1);
        if (axis !== -1 && axis !== 1) fail(`${where}: axis ${axis} is not the class axis (-1)`);
        softmax = true;
        break;
      }
    }
    open = null;
  });

  const linears = specs.filter((s): s is LinearSpec => "inF" in s);
  if (linears.length === 0) fail("the graph has no MatMul or Gemm layer");
  if (!graph.outputs.some((o) => o.name === value)) fail(`the chain ends in "${value}", which is not an output of the graph`);

  // The input's features: as declared, else what the first layer takes (flat features, or an Unflatten's image).
  const first = specs[0];
  let features: number;
  if (declaredShape) features = declaredShape.reduce((a, b) => a * b, 1);
  else if (first instanceof Unflatten) features = first.sizes.reduce((a, b) => a * b, 1);
  else if ("inF" in first) features = first.inF;
  else return fail("the graph's input shape is not declared and its first layer does not say it; declare the input's shape");
  const inputShape = declaredShape ?? [features];
  const preprocess = foldPreprocess(pre, features, declaredShape);
  const convs = specs.filter((s): s is ConvSpec => "conv" in s);
  const double = linears.some((l) => l.double) || convs.some((c) => c.weight.double);
  const dtype: DType = double ? "float64" : "float32";
  const rng = new Rng(0); // the weights are overwritten: this only keeps the global generator's stream untouched
  const layers = specs.map((s) => {
    if ("conv" in s) {
      const [o, cg, kh, kw] = s.weight.dims;
      const conv = new Conv2d(cg * s.groups, o, [kh, kw], {
        stride: s.stride,
        padding: s.padding,
        dilation: s.dilation,
        groups: s.groups,
        bias: s.bias !== null,
        dtype,
        rng,
      });
      conv.weight.data.set(s.weight.values);
      if (conv.bias && s.bias) conv.bias.data.set(s.bias);
      return conv;
    }
    if (!("inF" in s)) return s;
    const layer = new Linear(s.inF, s.outF, { bias: s.b !== null, dtype, rng });
    layer.weight.data.set(s.w);
    if (layer.bias && s.b) layer.bias.data.set(s.b);
    return layer;
  });
  const classes = parseClasses(onnx, width ?? linears[linears.length - 1].outF);
  return { model: new Sequential(...layers), inputShape, softmax, dtype, ...(preprocess ? { preprocess } : {}), ...(classes ? { classes } : {}) };
}
