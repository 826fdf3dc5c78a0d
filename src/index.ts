/**
 * backprop: tensors, one table of primitives, and reverse-mode autodiff over it.
 * `import * as bp from "backprop"`.
 */
export { Tensor, type Nested, type Node, type Axes, type Operand } from "./core/tensor.js";
export * from "./core/ops.js";
export { backward, grad, valueAndGrad, vjp, zeroGrad, pullback, type BackwardOptions } from "./core/autodiff.js";
export { jvp, pushforward } from "./core/forward.js";
export { jacfwd, jacrev, hessian } from "./core/jacobian.js";
export { noGrad, isGradEnabled, withGradMode, bind } from "./core/bind.js";
export { gradcheck, type GradcheckOptions, type GradcheckReport, type InputReport } from "./core/gradcheck.js";
export { broadcastShapes, broadcastAll, matmulShape, formatShape, parseShape, ShapeError, type Shape } from "./core/shape.js";
export { Rng, manualSeed } from "./core/random.js";
export type { DType, TypedArray } from "./core/dtype.js";
export { AllocationError } from "./core/dtype.js";
export { detectAnomaly, setDetectAnomaly, isAnomalyDetectionEnabled, AnomalyError } from "./core/anomaly.js";
export { PRIMS } from "./core/primitives.js";
export type { Prim, ParamMap, Spec, PrimTable, VjpArgs, JvpArgs, Kernel, Printers, ReduceParams, IndexParams, Buf } from "./core/prim.js";
export { registerBackend, setBackend, getBackend, listBackends, jsBackend, type Backend } from "./core/backend.js";
export { Module } from "./nn/module.js";
export { Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Sequential, mlp, type Init, type LinearOptions, type MlpOptions, type Activation } from "./nn/layers.js";
export { softmaxCrossEntropy, l2 } from "./nn/losses.js";
export { affineForward, affineBackward, reluForward, reluBackward, sigmoidForward, sigmoidBackward, softmaxLoss, type AffineCache } from "./nn/explicit.js";
export { parameterCounts, gradientNorms, deadFraction, deadRelus, symmetryWarnings, backwardShapes } from "./nn/diagnostics.js";
export { encodeCheckpoint, decodeCheckpoint, CheckpointError, crc32 } from "./nn/checkpoint.js";
export { fit, trainSteps, predict, evaluate, type FitOptions, type History, type EpochInfo, type StepInfo, type TrainEvent } from "./nn/train.js";
export { Optimizer, SGD, Adam, AdamW, type SgdOptions, type AdamOptions } from "./optim/optimizer.js";
export { trainTestSplit, batches, subset, standardize, standardizer, type Standardizer, type Dataset } from "./data/dataset.js";
export { explain, explainAll } from "./explain/report/explain.js";
export { fmtNumber, fmtValue, type ExplainReport, type StageReport, type EdgeReport, type Explanation, type ExplainOptions } from "./explain/report/report.js";
export { ExplainSyntaxError, parseProgram, parseExpression } from "./explain/language/parser.js";
export { parseAssignments } from "./explain/language/values.js";
export { printExpr } from "./explain/language/print.js";
export { toSvg, toTikz, toDot, toMermaid } from "./explain/renderers/figures.js";
export { gradientPaths, nthPath, countPaths, PATH_LIMIT } from "./explain/report/paths.js";
export { pathEmphasis, figureWithPath, type PathEmphasis } from "./explain/renderers/path-figure.js";
export type { GradientPath, InputPaths, PathsReport } from "./explain/report/report.js";
export { generateCode } from "./explain/interpreters/codegen.js";
export { formatTable, formatMarkdown, formatLatex, verbatimLatex } from "./explain/renderers/format.js";
export { compareGranularity, type GranularityComparison } from "./explain/report/granularity.js";
export { compareTable, compareMarkdown, compareLatex, compareJson } from "./explain/renderers/compare.js";
export { GRANULARITIES, type Granularity } from "./explain/language/gates.js";
export {
  checkWork,
  formatCheckWork,
  type CheckWorkResult,
  type CheckWorkOptions,
  type CellResult,
  type Verdict,
  type Mistake,
  type MistakeKind,
} from "./explain/teaching/check-work.js";
export {
  parseAnswer,
  parseInlineAnswer,
  answerFromCells,
  answerFormatOf,
  AnswerError,
  ANSWER_FILE_FORMATS,
  type Answer,
  type AnswerEntry,
  type AnswerFormat,
  type AnswerFileFormat,
} from "./explain/teaching/answers.js";
export { answerCells, type Cell, type CellKind } from "./explain/teaching/cells.js";
export { blankTable } from "./explain/teaching/blank.js";
export { chartSvg } from "./plot/chart.js";

// The fastest backend available here is selected on import (the Node entry prefers its native one).
import { createWasmBackend } from "./core/backends/wasm/backend.js";
import type { SpawnThread } from "./core/backends/wasm/threads.js";
import { registerBackend as register, setBackend as select } from "./core/backend.js";
const wasmBackend = createWasmBackend();
if (wasmBackend) {
  register(wasmBackend);
  select(wasmBackend.name);
}
export { createWasmBackend, type WasmBackend } from "./core/backends/wasm/backend.js";
export { serveThread as serveWasmThread, type SpawnThread, type ThreadPort, type ThreadInit } from "./core/backends/wasm/threads.js";

/**
 * Lets the wasm kernels share large work among `count` threads (this one included). `spawn` starts a
 * Worker whose script calls `serveWasmThread` on its first message. Needs SharedArrayBuffer (browsers:
 * a cross-origin isolated page) and a thread allowed to block (a Worker, not a page's main thread);
 * returns false where that is missing. Threads start on the first job big enough to share, or now
 * with `eager`. The Node entry does this itself.
 */
export function useWasmThreads(spawn: SpawnThread, count: number, eager = false): boolean {
  return wasmBackend?.useThreads(spawn, count, eager) ?? false;
}
export { generateExercises, generateExercise, topicList } from "./explain/teaching/exercises/generate.js";
export { renderHandout, renderKey, EXERCISE_FORMATS, type ExerciseFormat, type SheetInfo } from "./explain/teaching/exercises/render.js";
export {
  EXERCISE_TOPICS,
  TOPIC_TITLES,
  MAX_EXERCISES,
  ExerciseError,
  type ExerciseTopic,
  type Difficulty,
  type ExerciseRequest,
  type Exercise,
  type ExerciseKey,
  type KeyAnswer,
} from "./explain/teaching/exercises/types.js";
export {
  encodeOnnx,
  decodeOnnx,
  OnnxError,
  OnnxDataType,
  OnnxAttributeType,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  floatTensor,
  doubleTensor,
  int64Tensor,
  tensorValues,
  attrFloat,
  attrInt,
  attrString,
  attrTensor,
  attrFloats,
  attrInts,
  attrStrings,
  onnxNode,
  tensorValueInfo,
  findAttribute,
  type OnnxModel,
  type OnnxGraph,
  type OnnxNode,
  type OnnxAttribute,
  type OnnxTensor,
  type OnnxValueInfo,
  type OnnxDim,
  type OnnxOpset,
} from "./interop/onnx/proto.js";
export { toOnnx, toOnnxModel, ONNX_INPUT, ONNX_LOGITS, ONNX_PROBABILITIES, type ToOnnxOptions } from "./interop/onnx/export.js";
export { fromOnnx, type FromOnnxResult } from "./interop/onnx/import.js";
export {
  toOnnxTraining,
  type OnnxTraining,
  type OnnxTrainingOptions,
  type OnnxTrainingLoss,
  type OnnxTrainingPort,
  type OnnxTrainingOutput,
  type OnnxTrainingValue,
} from "./interop/onnx/training.js";
export { ONNX_RULES, type OnnxRule, type OnnxRules, type RuleArgs as OnnxRuleArgs } from "./interop/onnx/prims.js";
export { UnmappedPrimitiveError } from "./interop/onnx/emit.js";
export { GELU, Softplus } from "./nn/layers.js";
export { BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, Embedding } from "./nn/norm-layers.js";
export type { BatchNormModuleOptions, LayerNormModuleOptions, DropoutModuleOptions, EmbeddingModuleOptions } from "./nn/norm-layers.js";
export {
  batchNormForward,
  batchNormBackward,
  batchNormBackwardAlt,
  type BatchNormParam,
  type BatchNormCache,
  type BatchNormGrads,
} from "./nn/explicit-norm.js";
export {
  encodeSafetensors,
  decodeSafetensors,
  SafetensorsError,
  MAX_HEADER_BYTES,
  type SafetensorsDType,
  type SafetensorsContents,
} from "./interop/safetensors.js";
export { saveSafetensors, loadSafetensors, loadSafetensorsInto, type WeightLayout, type SaveSafetensorsOptions } from "./interop/state-dict.js";
export { modelPy, trainPy, readmeMd, type PytorchSpec, type PytorchTraining } from "./interop/pytorch.js";
export {
  saveModel,
  loadModel,
  modelFromCheckpoint,
  type LoadedModel,
  type ModelMeta,
  type ModelMetaInput,
  type ModelInput,
  type Prediction,
  type Architecture,
  type MlpArchitecture,
  type Preprocess,
  type Standardize,
  type TrainingSettings,
} from "./nn/saved-model.js";
export { centerDigit, grayFromRgba, inkFromRgba, DigitImageError } from "./data/digit-image.js";
export type { WindowParams } from "./core/prim.js";
export { Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Unflatten, type ConvInit, type Conv2dLayerOptions } from "./nn/conv-layers.js";
export {
  convForward,
  convBackward,
  maxPoolForward,
  maxPoolBackward,
  type ConvParam,
  type ConvCache,
  type PoolParam,
  type PoolCache,
} from "./nn/explicit-conv.js";
export { cnn, cnnArchitecture, type CnnArchitecture, type CnnOptions } from "./nn/cnn.js";
export { randomShift, type RandomShiftOptions } from "./data/augment.js";
