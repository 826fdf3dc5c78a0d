#!/usr/bin/env node
import { runCli } from "../dist/cli/main.js";

// A closed pipe (backprop ... | head) ends the output quietly instead of crashing.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    out: (s) => process.stdout.write(s + "\n"),
    err: (s) => process.stderr.write(s + "\n"),
  });
} catch (e) {
  // runCli reports its own errors; this is the last line of defence against a stack trace.
  process.stderr.write(`error: ${String(e instanceof Error ? e.message : e).replace(/\s*\n\s*/g, " ")}\n`);
  process.exitCode = 1;
}
