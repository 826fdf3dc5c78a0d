/**
 * toOnnx: a network of Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Sequential and the CNN layers (Conv2d,
 * MaxPool2d, AvgPool2d, Flatten, Unflatten) as a standard ONNX model
 * (opset 17) that any ONNX runtime can run: the stored input scaling first, then the layers, then a
 * softmax head. Raw inputs give the classes and probabilities `backprop predict` gives.
 *
 * A Linear (y = x W + b, W of shape (in, out)) becomes MatMul then Add, not Gemm: MatMul takes W as we
 * store it (no transpose, the initializer keeps our shape and name) and accepts inputs of any rank,
 * where Gemm wants exactly 2-D; runtimes fuse MatMul+Add into one kernel anyway.
 * Conv2d becomes Conv with its weight as stored ((O, C/groups, kh, kw) is ONNX's layout too) and its
 * padding written out as [top, left, bottom, right]; the pools become MaxPool / AveragePool, Unflatten
 * and Flatten a Reshape (Flatten(axis=1) when it keeps just the batch axis).
 */
import type { Module } from "../../nn/module.js";
import type { Tensor } from "../../core/tensor.js";
import { Linear, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh } from "../../nn/layers.js";
import { AvgPool2d, Conv2d, Flatten, MaxPool2d, Unflatten } from "../../nn/conv-layers.js";
import { Tensor as TensorClass } from "../../core/tensor.js";
import { noGrad } from "../../core/bind.js";
import { convPadding, readPair } from "../../core/ops/conv.js";
import {
  ONNX_IR_VERSION,
  ONNX_OPSET,
  OnnxDataType,
  attrFloat,
  attrInt,
  attrInts,
  encodeOnnx,
  floatTensor,
  int64Tensor,
  onnxNode,
  tensorValueInfo,
} from "./proto.js";
import type { OnnxModel, OnnxNode, OnnxTensor } from "./proto.js";

/** Feature scaling stored with a model: x' = (x - mean) / std per feature (a checkpoint's `preprocess`). */
export interface Standardize {
  kind: "standardize";
  mean: number[];
  std: number[];
}

export interface ToOnnxOptions {
  /** One example's shape, without the batch dimension: [4] for iris, [784] or [28, 28] for digits. */
  inputShape: readonly number[];
  /** Scaling applied to raw inputs before the first layer; one mean and std per feature. */
  preprocess?: Standardize;
  /** Class names, one per output; stored in the model's metadata as "classes" (a JSON array). */
  classes?: readonly string[];
  /** Add the "probabilities" output (Softmax over the last axis); default true. */
  softmax?: boolean;
  /** The graph's name; default "backprop". */
  name?: string;
}

/** The names of the graph's input and outputs. */
export const ONNX_INPUT = "input";
export const ONNX_LOGITS = "logits";
export const ONNX_PROBABILITIES = "probabilities";

const SUPPORTED = "Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Conv2d, MaxPool2d, AvgPool2d, Flatten, Unflatten and Sequential";

function fail(message: string): never {
  throw new Error(`toOnnx: ${message}`);
}

function checkOptions(options: ToOnnxOptions): { inputShape: number[]; features: number } {
  if (typeof options !== "object" || options === null) fail("needs options { inputShape }");
  const known = ["inputShape", "preprocess", "classes", "softmax", "name"];
  for (const k of Object.keys(options)) if (!known.includes(k)) fail(`unknown option "${k}" (known: ${known.join(", ")})`);
  const shape = options.inputShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d > 0))
    fail(`inputShape must be a list of positive integers such as [4], got ${JSON.stringify(shape)}`);
  const features = shape.reduce((a, b) => a * b, 1);
  const p = options.preprocess;
  if (p !== undefined) {
    if (typeof p !== "object" || p === null || p.kind !== "standardize")
      fail(`preprocess must be { kind: "standardize", mean, std }, got ${JSON.stringify(p)}`);
    for (const key of ["mean", "std"] as const) {
      const v = p[key];
      if (!Array.isArray(v) || v.length !== features || !v.every((x) => typeof x === "number" && Number.isFinite(x)))
        fail(`preprocess.${key} must hold ${features} finite numbers (one per input feature), got ${Array.isArray(v) ? `${v.length} values` : typeof v}`);
    }
    const zero = p.std.findIndex((s) => s === 0);
    if (zero >= 0) fail(`preprocess.std[${zero}] is 0; a feature cannot be divided by zero`);
  }
  if (options.classes !== undefined && (!Array.isArray(options.classes) || !options.classes.every((c) => typeof c === "string")))
    fail("classes must be a list of strings");
  if (options.softmax !== undefined && typeof options.softmax !== "boolean") fail(`softmax must be true or false, got ${String(options.softmax)}`);
  return { inputShape: [...shape], features };
}

/** Builds the graph's nodes and initializers while following the value through the layers. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly emitted = new Set<string>();

  constructor(private readonly names: ReadonlyMap<Tensor, string>) {}

  /** The tensor as a float32 initializer named as the model names the parameter; shared tensors once. */
  parameter(t: Tensor, fallback: string): string {
    const name = this.names.get(t) ?? fallback;
    if (!this.emitted.has(name)) {
      this.emitted.add(name);
      this.initializers.push(floatTensor(name, t.shape, t.data));
    }
    return name;
  }

  /** An int64 constant (Reshape's target shape). */
  ints(name: string, values: readonly number[]): string {
    this.initializers.push(int64Tensor(name, [values.length], values));
    this.emitted.add(name);
    return name;
  }

  constant(name: string, dims: number[], values: readonly number[]): string {
    this.initializers.push(floatTensor(name, dims, values));
    this.emitted.add(name);
    return name;
  }

  node(op: string, inputs: string[], output: string, name: string, attributes = [] as OnnxNode["attributes"]): string {
    this.nodes.push(onnxNode(op, inputs, [output], attributes, name));
    return output;
  }
}

/** The layers in order, flattening nested Sequentials, with the paths Module.children() gives them. */
function flatten(module: Module, path: string, out: [string, Module][]): [string, Module][] {
  if (module instanceof Sequential) for (const [name, child] of module.children()) flatten(child, path ? `${path}.${name}` : name, out);
  else out.push([path, module]);
  return out;
}

/** The ONNX model (as messages) for `model`; `toOnnx` encodes it to bytes. */
export function toOnnxModel(model: Module, options: ToOnnxOptions): OnnxModel {
  if (!(model instanceof Object) || typeof (model as Module).namedParameters !== "function") fail("the first argument must be a model (a Module)");
  const { inputShape, features } = checkOptions(options);
  const g = new GraphBuilder(new Map(model.namedParameters().map(([name, t]) => [t, name])));
  let value = ONNX_INPUT;
  let width = features;

  if (inputShape.length > 1) value = g.node("Flatten", [value], "input.flat", "input/Flatten", [attrInt("axis", 1)]);
  const p = options.preprocess;
  if (p) {
    // Sub then Div, as the training code computes it, rather than one Mul and Add: same rounding order.
    const mean = g.constant("preprocess.mean", [features], p.mean);
    const std = g.constant("preprocess.std", [features], p.std);
    value = g.node("Sub", [value, mean], "input.centered", "preprocess/Sub");
    value = g.node("Div", [value, std], "input.scaled", "preprocess/Div");
  }

  const layers = flatten(model, "", []);
  // One example's shape after each layer, found by running the layers on one zero example: layers that
  // reshape (convolutions, pools, Unflatten) need it for their attributes and the next layer's check.
  let shape = [features];
  let probe: Tensor | null = layers.some(([, l]) => l instanceof Conv2d || l instanceof MaxPool2d || l instanceof AvgPool2d || l instanceof Unflatten)
    ? new TensorClass(new Float32Array(features), [1, features])
    : null;
  layers.forEach(([path, layer], i) => {
    const at = path || `layer${i}`;
    const where = path ? ` at "${path}"` : "";
    if (probe) {
      const before = probe;
      try {
        probe = noGrad(() => layer.forward(before));
      } catch (e) {
        fail(`${layer.constructor.name}${where} cannot take an input of shape [batch, ${shape.join(", ")}]: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const next = probe ? probe.shape.slice(1) : null;
    if (layer instanceof Linear) {
      if (layer.inFeatures !== width || shape.length !== 1)
        fail(
          `Linear${where} takes ${layer.inFeatures} features but receives ${shape.length === 1 ? width : `[${shape.join(", ")}]`} (inputShape [${inputShape.join(", ")}])`,
        );
      const w = g.parameter(layer.weight, `${at}.weight`);
      const product = g.node("MatMul", [value, w], layer.bias ? `${at}.matmul` : `${at}.out`, `${at}/MatMul`);
      value = layer.bias ? g.node("Add", [product, g.parameter(layer.bias, `${at}.bias`)], `${at}.out`, `${at}/Add`) : product;
      width = layer.outFeatures;
    } else if (layer instanceof Conv2d) {
      const pads = convPadding("Conv2d", layer.padding, layer.kernelSize, layer.dilation, layer.stride);
      const inputs = [value, g.parameter(layer.weight, `${at}.weight`), ...(layer.bias ? [g.parameter(layer.bias, `${at}.bias`)] : [])];
      value = g.node("Conv", inputs, `${at}.out`, `${at}/Conv`, [
        attrInts("kernel_shape", layer.kernelSize),
        attrInts("strides", layer.stride),
        attrInts("pads", pads),
        attrInts("dilations", layer.dilation),
        attrInt("group", layer.groups),
      ]);
    } else if (layer instanceof MaxPool2d || layer instanceof AvgPool2d) {
      const o = layer.options;
      const op = layer instanceof MaxPool2d ? "MaxPool" : "AveragePool";
      if (o.ceilMode) fail(`cannot export ${layer.constructor.name}${where} with ceilMode: ONNX rounds its last window differently from PyTorch and us`);
      const kernel = readPair(op, "kernelSize", o.kernelSize, 1);
      const stride = o.stride === undefined || o.stride === null ? kernel : readPair(op, "stride", o.stride, 1);
      const [ph, pw] = readPair(op, "padding", o.padding ?? 0, 0);
      const attributes = [attrInts("kernel_shape", kernel), attrInts("strides", stride), attrInts("pads", [ph, pw, ph, pw])];
      if (layer instanceof MaxPool2d) attributes.push(attrInts("dilations", readPair(op, "dilation", layer.options.dilation ?? 1, 1)));
      else {
        if (layer.options.divisorOverride !== undefined && layer.options.divisorOverride !== null)
          fail(`cannot export AvgPool2d${where} with divisorOverride: ONNX AveragePool has no such attribute`);
        // PyTorch and we count the padding by default; ONNX does not.
        attributes.push(attrInt("count_include_pad", layer.options.countIncludePad === false ? 0 : 1));
      }
      value = g.node(op, [value], `${at}.out`, `${at}/${op}`, attributes);
    } else if (layer instanceof Flatten || layer instanceof Unflatten) {
      const dim = layer instanceof Flatten ? layer.startDim : layer.dim;
      if (dim === 0 || dim === -(shape.length + 1)) fail(`cannot export ${layer.constructor.name}${where}: it reshapes the batch axis (dim 0)`);
      const target = next ?? fail(`${layer.constructor.name}${where}: internal error, no shape`);
      value =
        layer instanceof Flatten && target.length === 1
          ? g.node("Flatten", [value], `${at}.out`, `${at}/Flatten`, [attrInt("axis", 1)])
          : g.node("Reshape", [value, g.ints(`${at}.shape`, [-1, ...target])], `${at}.out`, `${at}/Reshape`);
    } else if (layer instanceof LeakyReLU) value = g.node("LeakyRelu", [value], `${at}.out`, `${at}/LeakyRelu`, [attrFloat("alpha", layer.slope)]);
    else if (layer instanceof ReLU) value = g.node("Relu", [value], `${at}.out`, `${at}/Relu`);
    else if (layer instanceof Sigmoid) value = g.node("Sigmoid", [value], `${at}.out`, `${at}/Sigmoid`);
    else if (layer instanceof Tanh) value = g.node("Tanh", [value], `${at}.out`, `${at}/Tanh`);
    else fail(`cannot export ${layer.constructor.name}${where}: the layers ONNX export knows are ${SUPPORTED}`);
    if (next) {
      shape = next;
      width = shape.reduce((a, b) => a * b, 1);
    }
  });
  if (shape.length !== 1)
    fail(`the model's output has shape [batch, ${shape.join(", ")}]; a classifier's logits are [batch, classes] (end with Flatten and Linear)`);
  if (layers.length === 0) fail("the model has no layers");

  // The last layer's value is the logits output: rename it (the producing node is the last one).
  const last = g.nodes[g.nodes.length - 1];
  last.outputs[0] = ONNX_LOGITS;
  const outputs = [tensorValueInfo(ONNX_LOGITS, OnnxDataType.FLOAT, ["batch", width])];
  if (options.softmax !== false) {
    g.node("Softmax", [ONNX_LOGITS], ONNX_PROBABILITIES, "head/Softmax", [attrInt("axis", -1)]);
    outputs.push(tensorValueInfo(ONNX_PROBABILITIES, OnnxDataType.FLOAT, ["batch", width]));
  }
  const classes = options.classes;
  if (classes !== undefined && classes.length !== width) fail(`${classes.length} class names for ${width} outputs`);

  return {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "backprop",
    docString: `Input "${ONNX_INPUT}": raw features [batch, ${inputShape.join(", ")}]${p ? " (the model's scaling is inside the graph)" : ""}; outputs "${ONNX_LOGITS}"${options.softmax !== false ? ` and "${ONNX_PROBABILITIES}"` : ""}.`,
    metadataProps: classes ? [{ key: "classes", value: JSON.stringify(classes) }] : [],
    graph: {
      name: options.name ?? "backprop",
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [tensorValueInfo(ONNX_INPUT, OnnxDataType.FLOAT, ["batch", ...inputShape])],
      outputs,
      valueInfo: [],
    },
  };
}

/**
 * The model as ONNX bytes (opset 17, float32): input "input" of shape [batch, ...inputShape], outputs
 * "logits" and "probabilities". Weights are initializers named as `model.namedParameters()` names them.
 */
export function toOnnx(model: Module, options: ToOnnxOptions): Uint8Array {
  return encodeOnnx(toOnnxModel(model, options));
}
