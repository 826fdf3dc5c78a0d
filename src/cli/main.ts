/** The `backprop` command line. `runCli` is pure (output through callbacks) so tests can call it. */
import { Command, CommanderError } from "commander";
import { explainCommand, FORMATS } from "./explain.js";
import { shapesCommand } from "./shapes.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const VERSION = "0.1.0";

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

  try {
    await program.parseAsync(["node", "backprop", ...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return code;
}
