/** The `backprop` command line. `runCli` is pure (output through callbacks) so tests can call it. */
import { Command, CommanderError } from "commander";
import { explainCommand, FORMATS } from "./explain.js";
import { shapesCommand } from "./shapes.js";
import { useNativeBackend } from "../node/native.js";
import { explainModelCommand, predictCommand, trainCommand, type TrainOptions } from "./train.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const VERSION = "0.1.0";

// The CLI computes with the fastest backend this machine has.
useNativeBackend();

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name("backprop")
    .description("Backpropagation end to end: tensors, autodiff, and every step shown.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: (s) => io.err(s.replace(/\n$/, "")) });

  program
    .command("shapes")
    .description('result shape of NumPy broadcasting or matmul, e.g. shapes "(4,2)" + "(2,4,1)" or shapes "(2,5,4)" @ "(3,2,4,8)"')
    .argument("<operands...>", "SHAPE OP SHAPE [OP SHAPE ...]; OP is @ (matmul) or + - * / ** (broadcasting)")
    .option("--json", "print {\"shape\": [...]} or {\"error\": \"...\"}")
    .allowUnknownOption(false)
    .action((operands: string[], opts: { json?: boolean }) => {
      code = shapesCommand(operands, opts.json ?? false, io.out, io.err);
    });

  program
    .command("explain")
    .description("staged computation, forward and backward values, local and symbolic derivatives, generated code")
    .argument("<program>", 'expression or program, e.g. "(ln(x) + sin(y))^2 + 4x" or "x = ln(t); y = t^3/3; z = 2x + y"; - reads it from standard input')
    .option("--at <NAME=VALUE>", "input value (repeat, or x=1,y=2); values may be expressions (pi/2) or arrays ([[1,2],[3,4]])", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option("--format <format>", `output format: ${FORMATS.join(", ")}`, "table")
    .option("--out <file>", "write the output to a file")
    .option("--json", "same as --format json")
    .option("--check", "compare every gradient with central differences")
    .option("--step <lr>", "take one gradient-descent step with this step size and print the new inputs")
    .action(async (source: string, opts: { at: string[]; format?: string; out?: string; json?: boolean; check?: boolean; step?: string }) => {
      code = await explainCommand(source, opts, io.out, io.err);
    });

  program
    .command("train")
    .description("train a multilayer perceptron on real data (handwritten digits or Iris), with a progress bar and a plot")
    .option("--dataset <name>", "digits or iris", "digits")
    .option("--hidden <sizes>", "hidden layer sizes, comma separated (e.g. 128 or 64,32)", "128")
    .option("--epochs <n>", "passes over the training set", "5")
    .option("--batch <n>", "minibatch size", "64")
    .option("--lr <rate>", "learning rate (step size)", "0.1")
    .option("--optimizer <name>", "sgd or adam", "sgd")
    .option("--momentum <mu>", "SGD momentum", "0.9")
    .option("--activation <name>", "relu, leakyrelu, sigmoid or tanh", "relu")
    .option("--seed <n>", "seed for the split, the initialization and the batches", "0")
    .option("--test-fraction <f>", "share of the data held out for testing", "0.2")
    .option("--per-class <n>", "use only the first N examples of each digit (quick runs)")
    .option("--save <file>", "save the trained model (written atomically)")
    .option("--plot <file>", "write the loss and accuracy curves (.svg or .png)")
    .option("--json", 'end with one line {"testAccuracy", "trainLoss", "epochs", "seconds", "stepsPerSecond", ...}')
    .action(async (opts: TrainOptions) => {
      code = await trainCommand(opts, io);
    });

  program
    .command("predict")
    .description("accuracy and confusion matrix of a saved model on its dataset's test split")
    .requiredOption("--model <file>", "a model saved by backprop train --save")
    .option("--json", "print the result as JSON")
    .action((opts: { model: string; json?: boolean }) => {
      code = predictCommand(opts, io);
    });

  program
    .command("explain-model")
    .description("parameter counts and the backward pass layer by layer with the shape of every dout, dW, db, dx")
    .option("--sizes <sizes>", "layer sizes of an MLP, comma separated", "8,10,10,3")
    .option("--batch <n>", "batch size for the shapes", "4")
    .option("--model <file>", "take the architecture from a saved model instead")
    .action((opts: { sizes: string; batch: string; model?: string }) => {
      code = explainModelCommand(opts, io);
    });

  try {
    await program.parseAsync(["node", "backprop", ...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return code;
}
