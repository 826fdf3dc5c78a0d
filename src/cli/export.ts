/** `backprop export`: a trained model in another engine's format. Each format's work is in its own file. */
import { exportPytorch, exportSafetensors, type ExportOptions } from "./export-pytorch.js";
import { UsageError, type AddCommand } from "./command.js";

const FORMATS: Record<string, (o: ExportOptions, io: Parameters<typeof exportPytorch>[1]) => number> = {
  safetensors: exportSafetensors,
  pytorch: exportPytorch,
};

/** Declares `backprop export`. */
export const addExport: AddCommand = (program, ctx) => {
  program
    .command("export")
    .description("write a saved model for other engines: its weights as safetensors, or PyTorch code to train it with torchrun")
    .requiredOption("--format <name>", Object.keys(FORMATS).join(" or "))
    .requiredOption("--model <file>", "a model saved by backprop train --save")
    .requiredOption("--out <path>", "the file (safetensors) or the folder (pytorch) to write")
    .option("--layout <name>", "safetensors: pytorch (Linear weights (out, in), the default) or backprop ((in, out))")
    .option("--data <x.npy>", "pytorch: training features (N, inputs), raw, instead of the checkpoint's dataset")
    .option("--labels <y.npy>", "pytorch: their class indices (N,)")
    .action((opts: ExportOptions) => {
      const run = FORMATS[opts.format];
      if (!run) throw new UsageError(`--format must be ${Object.keys(FORMATS).join(" or ")}, got "${opts.format}"`);
      ctx.setCode(run(opts, ctx.io));
    });
};
