/** `backprop explain-model`: parameter counts and the backward pass layer by layer, for an MLP, the default CNN or a saved model. */
import { Rng } from "../core/random.js";
import { backwardShapes, parameterCounts } from "../nn/diagnostics.js";
import { mlp, type Sequential } from "../nn/layers.js";
import { cnn } from "../nn/cnn.js";
import { loadModel } from "./files.js";
import { positiveInt, sizeList } from "./train.js";
import { UsageError, type AddCommand, type Io } from "./command.js";

export const ARCHS = ["mlp", "cnn"] as const;
const DEFAULT_SIZES = "8,10,10,3";

export interface ExplainModelOptions {
  arch: string;
  sizes?: string;
  batch: string;
  model?: string;
}

/** The network to describe, its name, one example's shape and its number of classes. */
function network(o: ExplainModelOptions): { model: Sequential; name: string; input: number | readonly number[]; classes: number } {
  if (!(ARCHS as readonly string[]).includes(o.arch)) throw new UsageError(`--arch must be ${ARCHS.join(" or ")}, got ${JSON.stringify(o.arch)}`);
  if (o.arch === "cnn") {
    if (o.sizes !== undefined) throw new UsageError("--sizes gives an MLP's layer sizes; --arch cnn has its own layers (leave --sizes out)");
    if (o.model !== undefined) throw new UsageError("--model takes the architecture from the file; leave --arch out");
    return { model: cnn({ rng: new Rng(0) }), name: "cnn (784 = 1x28x28 -> 10)", input: 784, classes: 10 };
  }
  const loaded = o.model !== undefined ? loadModel(o.model) : null;
  if (loaded && loaded.meta.architecture.kind === "cnn") {
    const a = loaded.meta.architecture;
    const flat = a.image.reduce((p, d) => p * d, 1);
    return { model: loaded.model, name: `cnn (${flat} = ${a.image.join("x")} -> ${a.outputs})`, input: flat, classes: a.outputs };
  }
  const sizes = loaded && loaded.meta.architecture.kind === "mlp" ? loaded.meta.architecture.sizes : sizeList("--sizes", o.sizes ?? DEFAULT_SIZES);
  if (sizes.length < 2) throw new UsageError("--sizes needs at least an input and an output size, e.g. 8,10,10,3");
  const model = loaded ? loaded.model : mlp(sizes, { rng: new Rng(0) });
  return { model, name: sizes.join("-"), input: sizes[0], classes: sizes[sizes.length - 1] };
}

export function explainModelCommand(o: ExplainModelOptions, io: Io): number {
  const batch = positiveInt("--batch", o.batch);
  const { model, name, input, classes } = network(o);
  const counts = parameterCounts(model);
  io.out(`network ${name}: ${counts.weights} weights + ${counts.biases} biases = ${counts.total} parameters`);
  for (const l of counts.layers) io.out(`  ${l.name} ${l.layer}: ${l.weights} weights, ${l.biases} biases`);
  io.out("");
  io.out(`backward pass for a batch of ${batch} (each gradient has the shape of its variable: the denominator convention)`);
  for (const line of backwardShapes(model, batch, input, classes)) io.out(`  ${line}`);
  return 0;
}

/** Declares `backprop explain-model`. */
export const addExplainModel: AddCommand = (program, ctx) => {
  program
    .command("explain-model")
    .description("parameter counts and the backward pass layer by layer with the shape of every dout, dW, db, dx")
    .option(
      "--arch <name>",
      `${ARCHS.join(" or ")}: an MLP of --sizes, or the default CNN for 28x28 digits (conv 1->16 3x3, relu, maxpool 2, conv 16->32 3x3, relu, maxpool 2, flatten, linear 1568->10)`,
      "mlp",
    )
    .option("--sizes <sizes>", `layer sizes of an MLP, comma separated (default ${DEFAULT_SIZES})`)
    .option("--batch <n>", "batch size for the shapes", "4")
    .option("--model <file>", "take the architecture from a saved model instead")
    .action((opts: ExplainModelOptions) => {
      ctx.setCode(explainModelCommand(opts, ctx.io));
    });
};
