// The messages between main.ts and explain-worker.ts. Everything in them survives structured clone:
// the report's NaN and ±Infinity values included (JSON would turn them into null).
import type { ExplainReport } from "../src/index.js";

export interface ExplainJob {
  /** Increases with every job, so a late answer to a stale job is recognised and dropped. */
  id: number;
  source: string;
  at: string;
}

/** A stage's right-hand side and local derivatives in LaTeX, typeset on the page with KaTeX. */
export interface StageLatex {
  equation: string;
  local: [arg: string, latex: string][];
}

export interface ExplainDone {
  id: number;
  ok: true;
  report: ExplainReport;
  svg: string;
  tikz: string;
  python: string;
  ts: string;
  stageLatex: StageLatex[];
}

export interface ExplainFailed {
  id: number;
  ok: false;
  /** What playgroundErrorText says about the error. */
  error: string;
}

export type ExplainAnswer = ExplainDone | ExplainFailed;
