/** The `backprop` command line. `runCli` is pure (output through callbacks) so tests can call it. */
import { Command, CommanderError } from "commander";
import { addExplain } from "./explain.js";
import { addCheck } from "./check.js";
import { addShapes } from "./shapes.js";
import { addExercise } from "./exercise.js";
import { useNativeBackend } from "../node/native.js";
import { addTrain } from "./train.js";
import { addExplainModel } from "./explain-model.js";
import { addPredict } from "./predict.js";
import { addExport } from "./export.js";
import type { AddCommand, CommandContext, Io } from "./command.js";

export type { Io } from "./command.js";

const VERSION = "0.1.0";

// The CLI computes with the fastest backend this machine has.
useNativeBackend();

/** The commands, in the order --help lists them. */
const COMMANDS: readonly AddCommand[] = [addShapes, addExplain, addCheck, addExercise, addTrain, addPredict, addExplainModel, addExport];

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

/** "shapes, explain, ... or explain-model", from the commands themselves. */
function commandNames(): string {
  const program = new Command();
  const ignore = { io: { out: () => {}, err: () => {} }, setJson: () => {}, setCode: () => {} };
  for (const add of COMMANDS) add(program, ignore);
  const names = program.commands.map((c) => c.name());
  return `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** Commander's own failures, in the CLI's wording: one line, no usage text. */
function commanderMessage(e: CommanderError, argv: readonly string[]): string {
  if (e.code === "commander.help") {
    // Commander prints the whole usage for a missing command and for `help UNKNOWN`.
    const named = argv[0] === "help" ? argv[1] : undefined;
    return named !== undefined ? `unknown command '${named}'` : `no command given: use ${commandNames()} (backprop --help lists them)`;
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

  const ctx: CommandContext = { io, setJson, setCode: (c) => (code = c) };
  for (const add of COMMANDS) add(program, ctx);

  // The commands that take a program as their argument (it may begin with '-').
  const takesProgram = program.commands.find((c) => c.name() === argv[0] && ["explain", "check"].includes(c.name()));
  await program.parseAsync(["node", "backprop", ...(takesProgram ? protectLeadingDash(argv, takesProgram) : argv)]);
  return code;
}
