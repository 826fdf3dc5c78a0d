/**
 * What every `backprop` command gets: where to print, and how to report its exit code and whether it
 * answers in JSON (which decides how runCli prints an error). Each command's file exports one
 * `AddCommand` that declares the command with commander; main.ts lists them.
 */
import type { Command } from "commander";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface CommandContext {
  io: Io;
  /** Records the command's parsed --json (or --format json). */
  setJson: (json: boolean) => void;
  /** Records the command's exit code. */
  setCode: (code: number) => void;
}

export type AddCommand = (program: Command, ctx: CommandContext) => void;

/** For repeatable options: `--at x=1 --at y=2` collects both. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** A bad option or argument: reported as one line before any work starts. */
export class UsageError extends Error {}
