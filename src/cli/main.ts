/** The `backprop` command line. `runCli` is pure (output through callbacks) so tests can call it. */
import { Command, CommanderError } from "commander";
import { explainCommand, FORMATS } from "./explain.js";
import { shapesCommand } from "./shapes.js";
import { useNativeBackend } from "../node/native.js";
import { explainModelCommand, predictCommand, trainCommand, UsageError, type TrainOptions } from "./train.js";
import { splitAssignments } from "../explain/language/values.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const VERSION = "0.1.0";

// The CLI computes with the fastest backend this machine has.
useNativeBackend();

const COMMANDS = "shapes, explain, train, predict or explain-model";

/** The message as one line, without a leading "error: " (commander's messages have one). */
function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (
    message
      .replace(/^error:\s*/, "")
      .replace(/\s*\n\s*/g, " ")
      .trim() || "unknown error"
  );
}

/** Before parsing succeeds the options are unknown, so --json is read off the arguments themselves. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  const args = end < 0 ? argv : argv.slice(0, end);
  let format: string | undefined; // the last --format wins, as in commander
  args.forEach((a, i) => {
    if (a === "--format") format = args[i + 1];
    else if (a.startsWith("--format=")) format = a.slice("--format=".length);
  });
  return args.includes("--json") || format === "json";
}

/** The names given by --at (repeated, or comma separated outside brackets); a name given twice is an error. */
export function checkAtNames(at: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const arg of at) {
    for (const part of splitAssignments(arg)) {
      const name = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(part)?.[1];
      if (name === undefined) continue; // explain reports the malformed part itself
      const first = seen.get(name);
      if (first !== undefined) throw new UsageError(`--at gives '${name}' twice (${first} and ${part.trim()})`);
      seen.set(name, part.trim());
    }
  }
}

/**
 * A program that begins with '-' ("-x^2 + y") would be read by commander as an unknown option. When the
 * command's first argument that is neither an option nor an option's value begins with '-', it is
 * moved behind "--", where commander reads everything as arguments. It stays where it is (and
 * commander reports an unknown option) if it looks like a long option (--bogus) or another argument
 * follows (explain -q "x^2").
 */
export function protectLeadingDash(argv: readonly string[], command: Command): string[] {
  const args = [...argv];
  if (args[0] !== command.name()) return args;
  const takesValue = new Set<string>();
  const flags = new Set<string>(["-h", "--help"]);
  for (const o of command.options) {
    for (const n of [o.long, o.short]) if (n !== undefined) (o.required || o.optional ? takesValue : flags).add(n);
  }
  const isOption = (a: string): boolean => flags.has(a) || takesValue.has(a) || takesValue.has(a.split("=")[0]);
  const positions: number[] = []; // the arguments that are not options or option values
  let end = args.length; // where "--" is: what follows is arguments already
  for (let i = 1; i < args.length; i++) {
    if (args[i] === "--") {
      end = i;
      for (let k = i + 1; k < args.length; k++) positions.push(k);
      break;
    }
    if (takesValue.has(args[i])) i++;
    else if (!isOption(args[i])) positions.push(i);
  }
  const first = positions[0];
  if (first === undefined || first > end || positions.length > 1 || args[first] === "-" || !args[first].startsWith("-") || /^--[A-Za-z]/.test(args[first]))
    return args;
  const [program] = args.splice(first, 1);
  return [...args, "--", program];
}

/** Commander's own failures, in the CLI's wording: one line, no usage text. */
function commanderMessage(e: CommanderError, argv: readonly string[]): string {
  if (e.code === "commander.help") {
    // Commander prints the whole usage for a missing command and for `help UNKNOWN`.
    const named = argv[0] === "help" ? argv[1] : undefined;
    return named !== undefined ? `unknown command '${named}'` : `no command given: use ${COMMANDS} (backprop --help lists them)`;
  }
  return oneLine(e);
}

/**
 * Runs the CLI and returns the exit code. Whatever goes wrong, in any command or in commander's own
 * parsing, ends as one line `error: ...` on stderr, or with --json one object {"error": ...} on stdout.
 */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let json = wantsJson(argv);
  const fail = (message: string): number => {
    if (json) io.out(JSON.stringify({ error: message }));
    else io.err(`error: ${message}`);
    return 1;
  };
  try {
    return await parseAndRun(argv, io, (j) => (json = j));
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : fail(commanderMessage(e, argv));
    // For bug reports: BACKPROP_DEBUG=1 adds the stack that the one-line message leaves out.
    if (process.env.BACKPROP_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return fail(oneLine(e));
  }
}

/** `setJson` records each command's parsed --json (or --format json), which decides how errors look. */
async function parseAndRun(argv: readonly string[], io: Io, setJson: (json: boolean) => void): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name("backprop")
    .description("Backpropagation end to end: tensors, autodiff, and every step shown.")
    .version(VERSION)
    .exitOverride()
    // Help and version go to stdout; commander's errors (and the usage it prints with some) are
    // dropped here because runCli reports each as one line.
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, "")), writeErr: () => {}, outputError: () => {} });

  program
    .command("shapes")
    .description('result shape of NumPy broadcasting or matmul, e.g. shapes "(4,2)" + "(2,4,1)" or shapes "(2,5,4)" @ "(3,2,4,8)"')
    .argument("<operands...>", "SHAPE OP SHAPE [OP SHAPE ...]; OP is @ (matmul) or + - * / ** (broadcasting)")
    .option("--json", 'print {"shape": [...]} or {"error": "..."}')
    .allowUnknownOption(false)
    .action((operands: string[], opts: { json?: boolean }) => {
      setJson(!!opts.json);
      code = shapesCommand(operands, opts.json ?? false, io.out, io.err);
    });

  program
    .command("explain")
    .description("staged computation, forward and backward values, local and symbolic derivatives, generated code")
    .argument("<program>", 'expression or program, e.g. "(ln(x) + sin(y))^2 + 4x" or "x = ln(t); y = t^3/3; z = 2x + y"; - reads it from standard input')
    .option(
      "--at <NAME=VALUE>",
      "input value (repeat, or x=1,y=2); values may be expressions (pi/2) or arrays ([[1,2],[3,4]])",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--format <format>", `output format: ${FORMATS.join(", ")} (default: from the --out extension, else table)`)
    .option("--out <file>", "write the output to a file; its extension (.svg .png .tex .md .json .dot .mmd .py .ts .txt) gives the format")
    .option("--json", "same as --format json")
    .option("--check", "compare every gradient with central differences")
    .option("--step <lr>", "take one gradient-descent step with this step size and print the new inputs")
    .action(async (source: string, opts: { at: string[]; format?: string; out?: string; json?: boolean; check?: boolean; step?: string }) => {
      setJson(!!opts.json || opts.format === "json");
      checkAtNames(opts.at);
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
    .option("--detect-anomaly", "stop at the first NaN or infinity, naming the operation that made it (slower)")
    .action(async (opts: TrainOptions) => {
      setJson(!!opts.json);
      code = await trainCommand(opts, io);
    });

  program
    .command("predict")
    .description("accuracy and confusion matrix of a saved model on its dataset's test split")
    .requiredOption("--model <file>", "a model saved by backprop train --save")
    .option("--json", "print the result as JSON")
    .action((opts: { model: string; json?: boolean }) => {
      setJson(!!opts.json);
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

  const explain = program.commands.find((c) => c.name() === "explain");
  await program.parseAsync(["node", "backprop", ...(explain ? protectLeadingDash(argv, explain) : argv)]);
  return code;
}
