// Explains a program off the main thread: explainAll, the figure, the TikZ and the generated code can
// take seconds for a large program, and the page must keep answering meanwhile. It also runs the
// teaching jobs (teaching-jobs.ts): a quiz's check and an exercise sheet. The page terminates this
// worker when newer input arrives or the time limit passes, so a job never needs to check in.
import * as bp from "../src/index.js";
import { playgroundErrorText } from "./errors.js";
import type { ExplainAnswer, ExplainJob, StageLatex, StepAnswer, StepJob, WorkerAnswer, WorkerJob } from "./explain-protocol.js";
import { checkJob, exercisesJob } from "./teaching-jobs.js";

/**
 * One-time setup the figures need before the first one is drawn (a layout engine compiled to
 * WebAssembly, say). Nothing today; awaited per job so that such a setup is added in this one place.
 */
const figuresReady: Promise<void> = Promise.resolve();

async function figures(report: bp.ExplainReport): Promise<{ svg: string; tikz: string }> {
  await figuresReady;
  // Awaited so that an asynchronous toSvg / toTikz needs no change here.
  return { svg: await bp.toSvg(report), tikz: await bp.toTikz(report) };
}

async function explain(job: ExplainJob): Promise<ExplainAnswer> {
  try {
    const given = bp.parseAssignments(job.at.trim() ? [job.at] : []);
    const ex = bp.explainAll(job.source, given, { check: true });
    const { svg, tikz } = await figures(ex.report);
    const code = (lang: "python" | "ts") => bp.generateCode(ex, ex.report.inputs, lang);
    // The report carries its LaTeX: nothing printed is parsed back.
    const stageLatex: StageLatex[] = ex.report.stages.map((s) => ({
      equation: s.expressionLatex,
      local: Object.entries(s.local).map(([arg, d]) => [arg, s.localLatex[arg] ?? bp.verbatimLatex(d)]),
    }));
    return {
      kind: "explain",
      id: job.id,
      ok: true,
      source: job.source,
      at: job.at,
      report: ex.report,
      svg,
      tikz,
      python: code("python"),
      ts: code("ts"),
      stageLatex,
    };
  } catch (e) {
    return { kind: "explain", id: job.id, ok: false, error: playgroundErrorText(e) };
  }
}

/** The explainer's `step` option gives the new values; the program is then run again there for the new output. */
function gradientStep(job: StepJob): StepAnswer {
  try {
    const given = bp.parseAssignments(job.at.trim() ? [job.at] : []);
    const ex = bp.explainAll(job.source, given, { step: job.lr });
    const next = new Map(given);
    for (const n of ex.report.inputs) next.set(n, bp.sub(given.get(n)!, bp.mul(ex.grads.get(n)!, job.lr)));
    const after = bp.explainAll(job.source, next).report.value;
    const updates = (ex.report.step?.updates ?? []).map((u) => ({ ...u, grad: ex.report.gradients[u.name] }));
    return { kind: "step", id: job.id, ok: true, lr: job.lr, output: ex.report.output, updates, before: ex.report.value, after };
  } catch (e) {
    return { kind: "step", id: job.id, ok: false, error: playgroundErrorText(e) };
  }
}

async function run(job: WorkerJob): Promise<WorkerAnswer> {
  switch (job.kind) {
    case "explain":
      return explain(job);
    case "check":
      return checkJob(job);
    case "exercises":
      return exercisesJob(job);
    case "step":
      return gradientStep(job);
  }
}

self.onmessage = async (e: MessageEvent<WorkerJob>) => {
  const post = (answer: WorkerAnswer) => (self as unknown as Worker).postMessage(answer);
  const answer = await run(e.data);
  try {
    post(answer);
  } catch (err) {
    // Something in the answer that structured clone refuses: say so now, not at the time limit.
    const why = err instanceof Error ? err.message : String(err);
    post({ kind: e.data.kind, id: e.data.id, ok: false, error: `error: the answer could not be sent to the page (${why})` });
  }
};
