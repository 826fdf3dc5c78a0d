/**
 * `toOnnxTraining`: one full training step (forward, backward by our VJP rules, the optimizer's
 * update) as a plain ONNX inference graph of standard operators, so any ONNX runtime can train the
 * model by feeding each step's outputs back as the next step's inputs. Nothing here is written per
 * layer: the step is run once on placeholder values under a capture (core/capture.ts), and the
 * recorded primitives are written by the rules of prims.ts (emit.ts).
 */
import { pullback } from "../../core/autodiff.js";
import { noGrad, withGradMode } from "../../core/bind.js";
import { capture, firstDifference } from "../../core/capture.js";
import { Rng } from "../../core/random.js";
import type { DType, TypedArray } from "../../core/dtype.js";
import { mse } from "../../core/ops/activations.js";
import { arange, full } from "../../core/ops/create.js";
import { add, eq, mul, neg } from "../../core/ops/elementwise.js";
import { logSoftmax, mean, sum } from "../../core/ops/reduce.js";
import { reshape } from "../../core/ops/structure.js";
import { formatShape } from "../../core/shape.js";
import { Tensor } from "../../core/tensor.js";
import { Module } from "../../nn/module.js";
import { Optimizer } from "../../optim/optimizer.js";
import { emitGraph, type GraphPort } from "./emit.js";
import { graphUpdate } from "./optimizer-step.js";
import type { OnnxRules } from "./prims.js";
import { encodeOnnx, ONNX_IR_VERSION, ONNX_OPSET, type OnnxModel } from "./proto.js";

/** A built-in loss by name, or a function of the model's output and the target input. */
export type OnnxTrainingLoss = "softmaxCrossEntropy" | "mse" | ((output: Tensor, target: Tensor) => Tensor);

export interface OnnxTrainingOptions {
  /** One example's shape (the model's input is batchSize followed by it). */
  inputShape: readonly number[];
  /** Examples per step, fixed in the graph: ONNX shapes of the training step are static. */
  batchSize: number;
  /** One example's target shape for "mse" or a function loss (default: one example's output shape). */
  targetShape?: readonly number[];
  /** The graph's name (default "backprop_training_step"). */
  name?: string;
  /** The rules that write each primitive (default ONNX_RULES): a table may map one differently, or leave one out (null). */
  rules?: OnnxRules;
}

export type OnnxPortDType = DType | "int64";

export interface OnnxTrainingPort {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: OnnxPortDType;
  /** data: x; target: y; parameter and state: fed from the previous step's outputs; loss: the step's loss. */
  readonly role: "data" | "target" | "parameter" | "state" | "loss";
}

export interface OnnxTrainingOutput extends OnnxTrainingPort {
  /** The input this output is fed back into at the next step (null for the loss). */
  readonly feeds: string | null;
}

/** The value to feed a parameter or state input at the first step. */
export interface OnnxTrainingValue {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: OnnxPortDType;
  readonly values: Float32Array | Float64Array | BigInt64Array;
}

export interface OnnxTraining {
  /** The serialized ModelProto. */
  readonly bytes: Uint8Array;
  readonly model: OnnxModel;
  readonly batchSize: number;
  readonly optimizer: string;
  readonly inputs: readonly OnnxTrainingPort[];
  readonly outputs: readonly OnnxTrainingOutput[];
  /** Every parameter and state input's first value, in input order: the model's parameters now, the optimizer's state now. */
  readonly initialState: readonly OnnxTrainingValue[];
}

const OP = "toOnnxTraining";

function checkShape(what: string, s: unknown): number[] {
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TypeError(`${OP}: ${what} must be an array of positive integers, got ${Array.isArray(s) ? `[${s.join(", ")}]` : String(s)}`);
  }
  return [...(s as number[])];
}

/** Softmax cross-entropy against class indices given as values of `y` (the graph declares them int64). */
function crossEntropyOnLabels(logits: Tensor, y: Tensor): Tensor {
  const classes = logits.shape[logits.ndim - 1];
  // The one-hot rows are a comparison of the labels with 0..C-1: the labels stay a graph input, where
  // crossEntropy's index gather would freeze the capture batch's labels into the graph.
  const onehot = eq(reshape(y, [...y.shape, 1]), arange(classes, undefined, 1, { dtype: logits.dtype }));
  return neg(mean(sum(mul(onehot, logSoftmax(logits, -1)), -1)));
}

/**
 * Exports one training step of `model` under `loss` and `optimizer` as an ONNX model. Inputs: `x`,
 * `y`, every parameter by its name ("layers.0.weight"), every optimizer state ("layers.0.weight.m"),
 * and `optimizer.step` (Adam). Outputs: `loss`, then each parameter and state with ".next" appended.
 * The capture runs twice, on placeholder zeros and on other values: where the two graphs differ (a
 * dropout mask drawn per call, or any value taken into JavaScript, which a static graph would freeze),
 * the export is an error naming the primitive rather than a graph that trains wrongly.
 */
export function toOnnxTraining(model: Module, loss: OnnxTrainingLoss, optimizer: Optimizer, options: OnnxTrainingOptions): OnnxTraining {
  if (!(model instanceof Module)) throw new TypeError(`${OP}: model must be a Module, got ${typeof model}`);
  if (!(optimizer instanceof Optimizer)) throw new TypeError(`${OP}: optimizer must be an Optimizer (SGD, Adam, AdamW), got ${typeof optimizer}`);
  if (typeof options !== "object" || options === null) throw new TypeError(`${OP}: options with inputShape and batchSize are required`);
  const inputShape = checkShape("inputShape", options.inputShape);
  const batch = options.batchSize;
  if (!Number.isInteger(batch) || batch <= 0) throw new TypeError(`${OP}: batchSize must be a positive integer, got ${String(batch)}`);
  if (typeof loss !== "function" && loss !== "softmaxCrossEntropy" && loss !== "mse") {
    throw new TypeError(`${OP}: loss must be "softmaxCrossEntropy", "mse" or a function (output, target) => Tensor, got ${String(loss)}`);
  }
  const update = graphUpdate(optimizer);

  const named = model.namedParameters();
  const nameOf = new Map(named.map(([n, p]) => [p, n]));
  optimizer.params.forEach((p, i) => {
    if (!nameOf.has(p)) throw new Error(`${OP}: the optimizer's parameter ${i} (shape ${formatShape(p.shape)}) is not a parameter of the model`);
  });
  const dtype: DType = named.length > 0 ? named[0][1].dtype : "float32";

  // Placeholder inputs: the capture records what is done to them, not their values.
  const x = full([batch, ...inputShape], 0, { dtype });
  const wasTraining = model.training;
  // Running statistics (batch norm) would be updated by the recorded forward passes: kept as they were.
  const buffers = model.namedBuffers().map(([, b]) => [b, b.data.slice()] as const);
  model.train();
  try {
    const outShape = noGrad(() => model.forward(x)).shape;
    if (outShape.length < 1 || outShape[0] !== batch) {
      throw new Error(`${OP}: the model's output has shape ${formatShape(outShape)}; it must start with the batch size ${batch}`);
    }
    const targetShape =
      loss === "softmaxCrossEntropy"
        ? outShape.slice(0, -1)
        : [batch, ...(options.targetShape === undefined ? outShape.slice(1) : checkShape("targetShape", options.targetShape))];
    if (loss === "softmaxCrossEntropy" && outShape.length < 2)
      throw new Error(`${OP}: softmaxCrossEntropy needs logits (batch, classes), got ${formatShape(outShape)}`);
    const y = full(targetShape, 0, { dtype });

    const params = named.map(([, p]) => p);
    const stateInputs: { param: Tensor; index: number; names: string[]; tensors: Tensor[] }[] = optimizer.params.map((p, index) => {
      const buffers = optimizer.stateOf(index);
      const tensors = update.stateNames.map((s) => {
        const b = buffers[s];
        return new Tensor(b ? b.slice() : full(p.shape, 0, { dtype: p.dtype }).data.slice(), p.shape);
      });
      return { param: p, index, names: update.stateNames.map((s) => `${nameOf.get(p)}.${s}`), tensors };
    });
    const step = update.usesStep ? new Tensor(Float64Array.of(optimizer.steps), []) : null;
    const sources = [x, y, ...params, ...stateInputs.flatMap((s) => s.tensors), ...(step ? [step] : [])];

    // A fresh update per recording: it caches per-step values (Adam's bias corrections) made in its capture.
    const record = (rule = graphUpdate(optimizer)) =>
      capture(sources, () =>
        withGradMode(true, () => {
          const out = model.forward(x);
          const l = loss === "softmaxCrossEntropy" ? crossEntropyOnLabels(out, y) : loss === "mse" ? mse(out, y) : loss(out, y);
          if (!(l instanceof Tensor) || l.size !== 1) {
            throw new Error(`${OP}: the loss must be a one-element Tensor, got ${l instanceof Tensor ? `shape ${formatShape(l.shape)}` : typeof l}`);
          }
          if (!l.requiresGrad) throw new Error(`${OP}: the loss does not depend on any parameter of the model`);
          const grads = pullback([l], [full(l.shape, 1, { dtype: l.dtype })], optimizer.params, true);
          // The count of steps including this one (float64, as the loop's Math.pow reads it).
          const t = step ? add(step, 1) : null;
          const updated = stateInputs.map((s) => {
            const g = grads.get(s.param);
            // A parameter without a gradient is skipped by optimizer.step(): it and its state pass through.
            return g ? rule.update(s.param, g, s.tensors, t) : { p: s.param, state: s.tensors };
          });
          return { loss: l.ndim === 0 ? l : reshape(l, []), updated, t };
        }),
      );
    // Recorded twice, on zeros and on other values: a step whose graph differs took input values into
    // JavaScript (or drew a dropout mask), which one static graph would freeze.
    const onZeros = record();
    fillOther(x, y, loss === "softmaxCrossEntropy" ? outShape[outShape.length - 1] : 0);
    const { result, capture: cap } = record();
    const diff = firstDifference(onZeros.capture, cap);
    if (diff) {
      throw new Error(
        `${OP}: the step's primitive ${diff.index + 1} (${diff.prim}) ${diff.what}, so one static ONNX graph cannot express it ` +
          "(a dropout mask drawn per call, for example: export the step without dropout)",
      );
    }

    const inputs: GraphPort[] = [
      { name: "x", tensor: x },
      { name: "y", tensor: y, int64: loss === "softmaxCrossEntropy" },
      ...named.map(([n, p]) => ({ name: n, tensor: p })),
      ...stateInputs.flatMap((s) => s.tensors.map((t, k) => ({ name: s.names[k], tensor: t }))),
      ...(step ? [{ name: "optimizer.step", tensor: step, int64: true }] : []),
    ];
    const outputs: GraphPort[] = [
      { name: "loss", tensor: result.loss },
      ...stateInputs.map((s, i) => ({ name: `${nameOf.get(s.param)}.next`, tensor: result.updated[i].p })),
      ...stateInputs.flatMap((s, i) => result.updated[i].state.map((t, k) => ({ name: `${s.names[k]}.next`, tensor: t }))),
    ];
    if (result.t) outputs.push({ name: "optimizer.step.next", tensor: result.t, int64: true });
    const graph = emitGraph(cap, inputs, outputs, options.name ?? "backprop_training_step", options.rules);
    const onnx: OnnxModel = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      producerName: "backprop",
      docString: `One ${update.kind} training step (forward, backward, update) at batch size ${batch}: feed each 'NAME.next' output back as input 'NAME'.`,
      graph,
      metadataProps: [{ key: "backprop.training", value: JSON.stringify({ batchSize: batch, optimizer: update.kind }) }],
    };
    const port = (p: GraphPort, role: OnnxTrainingPort["role"]): OnnxTrainingPort => ({
      name: p.name,
      shape: [...p.tensor.shape],
      dtype: p.int64 ? "int64" : p.tensor.dtype,
      role,
    });
    const paramNames = new Set(named.map(([n]) => n));
    const roleOf = (name: string): OnnxTrainingPort["role"] => (name === "x" ? "data" : name === "y" ? "target" : paramNames.has(name) ? "parameter" : "state");
    const inPorts = inputs.map((p) => port(p, roleOf(p.name)));
    const outPorts = outputs.map((p, i) => {
      if (i === 0) return { ...port(p, "loss"), feeds: null };
      const feeds = p.name.slice(0, -".next".length);
      return { ...port(p, roleOf(feeds)), feeds };
    });
    const initialState = inputs.slice(2).map((p): OnnxTrainingValue => {
      const values: Float32Array | Float64Array | BigInt64Array = p.int64 ? BigInt64Array.of(BigInt(optimizer.steps)) : copyOf(p.tensor.data);
      return { name: p.name, shape: [...p.tensor.shape], dtype: p.int64 ? "int64" : p.tensor.dtype, values };
    });
    return { bytes: encodeOnnx(onnx), model: onnx, batchSize: batch, optimizer: update.kind, inputs: inPorts, outputs: outPorts, initialState };
  } finally {
    model.train(wasTraining);
    for (const [b, data] of buffers) b.data.set(data);
  }
}

/** Other placeholder values than zeros, in place: x normal, y class indices below `classes` (or normal). */
function fillOther(x: Tensor, y: Tensor, classes: number): void {
  const rng = new Rng(1);
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.normal();
  for (let i = 0; i < y.data.length; i++) y.data[i] = classes > 0 ? Math.floor(rng.uniform() * classes) : rng.normal();
}

function copyOf(d: TypedArray): Float32Array | Float64Array {
  return d.slice();
}
