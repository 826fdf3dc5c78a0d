/**
 * `backprop export --format FORMAT --model FILE --out FILE`: a saved model in another engine's format.
 * One handler per format in FORMATS; each reads the checkpoint, writes its file(s) and reports.
 */
import { toOnnx } from "../interop/onnx/export.js";
import { loadModel, prepareOutputPath, writeFileAtomic } from "./files.js";
import { architectureName, type Architecture } from "../nn/saved-model.js";
import { exportPytorch, exportSafetensors } from "./export-pytorch.js";
import { UsageError, type AddCommand, type Io } from "./command.js";

export interface ExportOptions {
  format: string;
  model: string;
  out: string;
  json?: boolean;
  /** safetensors: the weights' layout. */
  layout?: string;
  /** pytorch: the user's own training data instead of the checkpoint's dataset. */
  data?: string;
  labels?: string;
}

/** "784-128-10 relu" or "CNN 16-32 (1x28x28 -> 10)". */
const describe = (a: Architecture): string => (a.kind === "mlp" ? `${architectureName(a)} ${a.activation}` : architectureName(a));

type ExportHandler = (o: ExportOptions, io: Io) => number;

function exportOnnx(o: ExportOptions, io: Io): number {
  const { model, meta } = loadModel(o.model);
  // The loader has checked inputShape, classes and preprocess against the network.
  const { inputShape, classes, preprocess } = meta;
  let bytes: Uint8Array;
  try {
    bytes = toOnnx(model, { inputShape, preprocess, classes });
  } catch (e) {
    throw new Error(`${o.model}: ${e instanceof Error ? e.message.replace(/^toOnnx: /, "") : String(e)}`);
  }
  prepareOutputPath(o.out, "--out", "model.onnx");
  writeFileAtomic(o.out, bytes);
  const scaled = preprocess !== undefined;
  if (o.json) {
    io.out(
      JSON.stringify({
        written: o.out,
        format: "onnx",
        bytes: bytes.length,
        inputShape,
        scaling: scaled,
        outputs: ["logits", "probabilities"],
        classes,
      }),
    );
    return 0;
  }
  io.out(
    `wrote ${o.out} (ONNX opset 17, ${bytes.length} bytes): ${describe(meta.architecture)}, input "input" [batch, ${inputShape.join(", ")}]` +
      `${scaled ? " (raw features: the model's scaling is in the graph)" : ""}, outputs "logits" and "probabilities" over ${classes.join(", ")}`,
  );
  if (!scaled && meta.dataset === "iris")
    io.err("note: this checkpoint stores no input scaling, so the ONNX model expects features scaled as in training, not raw ones; retrain to store it");
  return 0;
}

/** The formats `export` writes; other files add theirs here. */
export const FORMATS: Record<string, ExportHandler> = { onnx: exportOnnx, safetensors: exportSafetensors, pytorch: exportPytorch };

export function exportCommand(o: ExportOptions, io: Io): number {
  const handler = Object.hasOwn(FORMATS, o.format) ? FORMATS[o.format] : undefined;
  if (!handler) throw new UsageError(`--format must be one of ${Object.keys(FORMATS).join(", ")}, got "${o.format}"`);
  return handler(o, io);
}

/** Declares `backprop export`. */
export const addExport: AddCommand = (program, ctx) => {
  program
    .command("export")
    .description(
      "write a saved model for other engines: onnx (ONNX Runtime and others, scaling and softmax included), safetensors (its weights), " +
        "or pytorch (model.py, train.py and data, to train on with torchrun)",
    )
    .requiredOption("--format <format>", `the format: ${Object.keys(FORMATS).join(", ")}`)
    .requiredOption("--model <file>", "a model saved by backprop train --save")
    .requiredOption("--out <path>", "the file to write (onnx, safetensors) or the folder (pytorch)")
    .option("--layout <name>", "safetensors: pytorch (Linear weights (out, in), the default) or backprop ((in, out))")
    .option("--data <x.npy>", "pytorch: training features (N, inputs), raw, instead of the checkpoint's dataset")
    .option("--labels <y.npy>", "pytorch: their class indices (N,)")
    .option("--json", "onnx: print what was written as JSON")
    .action((opts: ExportOptions) => {
      ctx.setJson(!!opts.json);
      ctx.setCode(exportCommand(opts, ctx.io));
    });
};
