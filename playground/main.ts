// The playground's entry: tabs, and the Explain tab (the explaining itself runs in explain-worker.ts). All user text is set with textContent or
// parsed as data; nothing from the inputs is ever evaluated or inserted as HTML.
import katex from "katex";
import "katex/dist/katex.min.css";
import * as bp from "../src/index.js";
import type { ExplainAnswer, ExplainDone, ExplainJob } from "./explain-protocol.js";
import { setupExercises } from "./exercises-view.js";
import { setupGallery, setupGradientStep } from "./explain-extras.js";
import { GraphView } from "./graph-view.js";
import { backwardStepLines } from "./step-arithmetic.js";
import { readQuery, writeQuery } from "./url-state.js";
import { QuizView } from "./quiz-view.js";
import { setupTrain } from "./train-view.js";
import { setupClassify } from "./classify-view.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// ---- tabs ----
const tabs = Array.from(document.querySelectorAll<HTMLElement>('nav [role="tab"]'));
/**
 * Tabs set up when first shown: each starts a worker whose script is a megabyte and more, so a visit
 * that only explains loads neither (filled in below, where the setups are).
 */
const setupOnFirstView = new Map<string, () => void>();
function selectTab(i: number): void {
  tabs.forEach((t, k) => {
    t.setAttribute("aria-selected", String(k === i));
    t.tabIndex = k === i ? 0 : -1;
    $(t.getAttribute("aria-controls")!).hidden = k !== i;
  });
  tabs[i].focus();
  const setup = setupOnFirstView.get(tabs[i].id);
  setupOnFirstView.delete(tabs[i].id);
  setup?.();
}
tabs.forEach((t, i) => {
  t.addEventListener("click", () => selectTab(i));
  t.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") selectTab((i + 1) % tabs.length);
    else if (e.key === "ArrowLeft") selectTab((i + tabs.length - 1) % tabs.length);
  });
});

// ---- explain ----
// The explaining runs in explain-worker.ts; this thread only sends the input and shows the answer, so
// typing, stepping and the tabs keep working however long a program takes.
const exprInput = $<HTMLTextAreaElement>("expr");
const atInput = $<HTMLInputElement>("at");
const errorBox = $("expr-error");
const result = $("result");
const explainStatus = $("explain-status");
let current: ExplainDone | null = null;
let step = 0;
let codeLang: "python" | "ts" = "python";
const graphView = new GraphView($("graph"), { zoomIn: $("zoom-in"), zoomOut: $("zoom-out"), fit: $("zoom-fit") });

/** Typing pauses this long before a job starts, so a burst of keys makes one job. */
const DEBOUNCE_MS = 120;
/** A job that answers quicker than this shows no "working" state, so quick programs never flicker. */
const BUSY_AFTER_MS = 150;
/** After this a job is given up: the page says the program is too large instead of waiting forever. */
const TIME_LIMIT_MS = window.explainTimeLimitMs ?? 8000;

declare global {
  interface Window {
    /** Tests shorten the time limit with an init script, to see the too-large message quickly. */
    explainTimeLimitMs?: number;
  }
}

function math(latex: string, display = false): HTMLElement {
  const span = el("span");
  katex.render(latex, span, { throwOnError: false, displayMode: display });
  return span;
}

/** The error shows above the last good result, which stays (dimmed) so the page does not flicker while typing. */
function showError(message: string): void {
  errorBox.hidden = false;
  errorBox.querySelector("pre")!.textContent = message;
  errorBox.querySelector("small")!.hidden = result.hidden;
  result.classList.add("stale");
  exprInput.setAttribute("aria-invalid", "true");
}

/** The page's own link to this input: `+` written as %2B and a space as %20, so it reads back identically. */
function stateQuery(): string {
  return writeQuery({ expr: exprInput.value, at: atInput.value, quiz: quizOn ? "1" : undefined });
}

let worker: Worker | null = null;
let running: { id: number; timers: ReturnType<typeof setTimeout>[] } | null = null;
let lastJob = 0;
let cancelled = 0;

function startWorker(): Worker {
  const w = new Worker(new URL("./explain-worker.ts", import.meta.url), { type: "module" });
  w.onmessage = (e: MessageEvent<ExplainAnswer>) => answer(e.data);
  // The worker's script failed to load or threw outside a job: say so rather than stay busy.
  w.onerror = (e) => {
    e.preventDefault();
    if (!running) return;
    stopJob();
    showError(`error: the explaining worker failed (${e.message || "it could not start"})`);
  };
  return w;
}

/** Ends the running job's timers and the busy state; `kill` also ends the worker (a stale job). */
function stopJob(kill = false): void {
  if (!running) return;
  running.timers.forEach(clearTimeout);
  running = null;
  if (kill) {
    worker?.terminate();
    worker = null;
    cancelled++;
    result.dataset.cancelled = String(cancelled);
  }
  result.removeAttribute("aria-busy");
  explainStatus.hidden = true;
}

function setBusy(): void {
  result.setAttribute("aria-busy", "true");
  explainStatus.className = "working";
  explainStatus.textContent = "Working…";
  explainStatus.hidden = false;
}

function update(): void {
  const source = exprInput.value;
  const at = atInput.value;
  history.replaceState(null, "", `${location.pathname}?${stateQuery()}`);
  // Whatever is running is for older input: terminating is the only way to stop a synchronous job.
  stopJob(true);
  quiz.stop();
  explainStatus.hidden = true; // a too-large notice was about the previous input
  if (source.trim() === "") {
    result.hidden = true;
    result.classList.remove("stale");
    errorBox.hidden = true;
    return;
  }
  const id = ++lastJob;
  running = {
    id,
    timers: [setTimeout(setBusy, BUSY_AFTER_MS), setTimeout(tooLarge, TIME_LIMIT_MS)],
  };
  worker ??= startWorker();
  const job: ExplainJob = { kind: "explain", id, source, at };
  // User Timing marks: they show in the browser's performance tools, and the tests read them.
  performance.mark("explain:job");
  worker.postMessage(job);
}

function tooLarge(): void {
  stopJob(true);
  current = null;
  result.hidden = true;
  result.classList.remove("stale");
  errorBox.hidden = true;
  exprInput.removeAttribute("aria-invalid");
  explainStatus.className = "notice";
  explainStatus.replaceChildren(
    `This program is too large to explain here (no answer after ${TIME_LIMIT_MS / 1000} s). Try the CLI, which has no time limit:`,
    el("code", 'npx backprop explain "<program>" --at "<values>" --out graph.svg'),
  );
  explainStatus.hidden = false;
}

function answer(a: ExplainAnswer): void {
  if (!running || a.id !== running.id) return; // an answer to input that has changed since
  performance.mark("explain:answer");
  stopJob();
  if (!a.ok) {
    showError(a.error);
    return;
  }
  current = a;
  errorBox.hidden = true;
  exprInput.removeAttribute("aria-invalid");
  result.hidden = false;
  result.classList.remove("stale");
  $("gd-result").replaceChildren();
  render();
}

interface StageRow {
  tr: HTMLTableRowElement;
  value: HTMLTableCellElement;
  grad: HTMLTableCellElement;
}
/**
 * The stages table shows at most this many rows, around the current stage, and follows the stepping:
 * a table of thousands of typeset rows takes seconds to lay out, and each added row lays it out again.
 */
const ROWS_SHOWN = 40;
/** Rows are typeset once, when first shown, and kept while the answer is current. */
let rowCache = new Map<number, StageRow>();
let shownRows: [number, number] = [0, 0];
let renderGeneration = 0;
/** Stage name → position in the current answer, made once per answer (stepping asks at every step). */
let stageIndex = new Map<string, number>();

function render(): void {
  if (!current) return;
  const generation = ++renderGeneration;
  const r = current.report;
  // Quiz mode shows the graph as at the start: the inputs' values only, every other number blank.
  step = quizOn ? 0 : 2 * r.stages.length;
  // The old graph goes now; the new one is drawn in later tasks (drawGraph). The figure keeps its
  // height meanwhile, so the page does not jump.
  const figure = $("graph");
  figure.style.minHeight = `${figure.offsetHeight}px`;
  figure.replaceChildren();
  const gradBody = $("gradients").querySelector("tbody")!;
  gradBody.replaceChildren(
    ...r.inputs.map((n) => {
      const tr = el("tr");
      tr.append(el("th", n), el("td", bp.fmtValue(r.inputValues[n]), "fwd"));
      const g = el("td", bp.fmtValue(r.gradients[n]), "bwd");
      g.dataset.grad = n;
      g.dataset.value = JSON.stringify(r.gradients[n]);
      g.dataset.text = bp.fmtValue(r.gradients[n]);
      tr.append(g);
      return tr;
    }),
  );
  const check = $("check");
  check.replaceChildren(
    ...(r.check ?? []).map((c) =>
      el(
        "p",
        `${c.name}: backprop ${bp.fmtValue(c.analytic)}, central differences ${bp.fmtValue(c.numeric)}, relative error ${c.relError.toExponential(1)} — ${c.ok ? "ok" : "MISMATCH"}`,
      ),
    ),
  );
  $("warnings").replaceChildren(...r.warnings.map((w) => el("p", `⚠ ${w}`, "warning")));
  renderCode();
  rowCache = new Map();
  shownRows = [0, 0];
  stepped = false;
  stageIndex = new Map(r.stages.map((s, i) => [s.name, i]));
  showStep();
  if (quizOn) quiz.show(current);
  setTimeout(() => drawGraph(generation));
  // The symbolic derivatives can be long: KaTeX typesets each in a task of its own, after this one.
  const deriv = $("derivatives");
  deriv.replaceChildren();
  if (!r.derivativesLatex) deriv.append(el("p", "Symbolic derivatives are shown for scalar programs of moderate size."));
  r.inputs.forEach((n) =>
    setTimeout(() => {
      if (generation !== renderGeneration || !r.derivativesLatex) return;
      const p = el("p");
      p.append(math(`\\frac{\\partial ${r.output}}{\\partial ${n}} = ${r.derivativesLatex[n]}`, true));
      deriv.append(p);
    }),
  );
}

/**
 * Graphs with more stages than this are not drawn on the page. Measured in Chromium: a 480-stage graph
 * is drawn in tasks of ≤ 210 ms and each step takes ≤ 80 ms; a 1200-stage one (~15,000 elements)
 * takes 360 ms to lay out and paint and up to 310 ms a step. At a readable scale only a few stages
 * show at a time anyway; the SVG still downloads.
 */
const MAX_DRAWN_STAGES = 500;

/** Draws the answer's graph: parsed in one task and put in the page in the next, each a long piece of work for a large graph. */
function drawGraph(generation: number): void {
  if (generation !== renderGeneration || !current) return;
  const r = current.report;
  const figure = $("graph");
  const tools = document.querySelector<HTMLElement>(".graph-tools")!;
  const done = () => {
    figure.style.minHeight = "";
    // The answer is fully shown: tests wait for this.
    result.dataset.source = r.source;
  };
  if (r.stages.length > MAX_DRAWN_STAGES) {
    tools.hidden = true;
    figure.replaceChildren(
      el(
        "p",
        `This graph has ${r.stages.length} stages, too many to draw here without stalling the page. Download it below (SVG, PNG or TikZ), or step through it in the stages table.`,
        "graph-too-large",
      ),
    );
    return done();
  }
  tools.hidden = false;
  // The SVG is parsed as XML data (no scripts run); user names in it were escaped when it was written.
  const doc = new DOMParser().parseFromString(current.svg, "image/svg+xml");
  const svg = document.importNode(doc.documentElement, true) as Element as SVGSVGElement;
  // Classes set while the SVG is detached cost no style work; in the document each would.
  showGraphStep(svg);
  setTimeout(() => {
    if (generation !== renderGeneration) return;
    graphView.show(svg);
    const gate = svg.querySelector<SVGGElement>("g.gate.current");
    if (gate) graphView.reveal(gate);
    done();
  });
}

function stageRow(i: number): StageRow {
  const cached = rowCache.get(i);
  if (cached) return cached;
  const s = current!.report.stages[i];
  const latex = current!.stageLatex[i];
  const tr = el("tr");
  tr.dataset.stage = s.name;
  const eq = el("td");
  eq.append(math(`${s.name} = ${latex.equation}`));
  const value = el("td", undefined, "fwd");
  const local = el("td");
  for (const [arg, d] of latex.local) {
    const line = el("div", undefined, "local");
    line.append(math(`\\frac{\\partial ${s.name}}{\\partial ${arg}} = ${d}`));
    local.append(line);
  }
  const grad = el("td", undefined, "bwd");
  grad.dataset.stageGrad = s.name;
  tr.append(eq, value, local, grad);
  const row = { tr, value, grad };
  rowCache.set(i, row);
  return row;
}

/** Moves the table's window of rows when the current stage nears its edge, and updates the shown rows. */
function showRows(at: number, n: number): void {
  const [lo, hi] = shownRows;
  const edge = ROWS_SHOWN / 8;
  const moved = hi === lo || (lo > 0 && at < lo + edge) || (hi < n && at >= hi - edge);
  if (moved) {
    const start = Math.max(0, Math.min(at - ROWS_SHOWN / 2, n - ROWS_SHOWN));
    shownRows = [start, Math.min(n, start + ROWS_SHOWN)];
    const rows: HTMLTableRowElement[] = [];
    for (let i = shownRows[0]; i < shownRows[1]; i++) rows.push(stageRow(i).tr);
    $("stages")
      .querySelector("tbody")!
      .replaceChildren(...rows);
    const note = $("stages-note");
    note.hidden = n <= ROWS_SHOWN;
    note.textContent = `Stages ${shownRows[0] + 1}–${shownRows[1]} of ${n}; the table follows the stepping.`;
  }
  for (let i = shownRows[0]; i < shownRows[1]; i++) showRow(i);
}

function renderCode(): void {
  if (!current) return;
  $("code").querySelector("code")!.textContent = codeLang === "python" ? current.python : current.ts;
  $("show-python").setAttribute("aria-pressed", String(codeLang === "python"));
  $("show-ts").setAttribute("aria-pressed", String(codeLang === "ts"));
}

/** What step `step` shows: how far each pass has gone, and the stage it is at. */
function stepState() {
  const stages = current!.report.stages;
  const n = stages.length;
  const forwardDone = Math.min(step, n);
  const backwardDone = Math.max(0, step - n);
  const cur = step === 0 ? null : step <= n ? stages[step - 1] : stages[n - (step - n)];
  return { n, forwardDone, backwardDone, cur };
}

/** Brings stage row i of the table up to the current step. */
function showRow(i: number): void {
  const { n, forwardDone, backwardDone, cur } = stepState();
  const s = current!.report.stages[i];
  const { tr, value, grad } = stageRow(i);
  tr.classList.toggle("current", !!cur && s.name === cur.name);
  value.textContent = i < forwardDone ? bp.fmtValue(s.value) : "";
  if (i >= forwardDone) value.append(el("span", "pending", "pending"));
  grad.textContent = i >= n - backwardDone ? bp.fmtValue(s.grad) : "";
  if (i < n - backwardDone) grad.append(el("span", "pending", "pending"));
}

/** Shows the step in the graph: the values known so far, the gradients flowed so far, the current stage. */
function showGraphStep(svg = $("graph").querySelector("svg")): void {
  if (!svg || !current) return;
  const { n, forwardDone, backwardDone, cur } = stepState();
  const index = stageIndex;
  const known = (name: string) => (index.has(name) ? index.get(name)! < forwardDone : true);
  const flowed = (to: string) => (to === "__out" ? backwardDone > 0 : (index.get(to) ?? -1) >= n - backwardDone);
  svg.querySelectorAll<SVGElement>("text.fwd").forEach((t) => t.classList.toggle("hidden", !known(t.dataset.from ?? "")));
  svg
    .querySelectorAll<SVGElement>("text.bwd")
    .forEach((t) => t.classList.toggle("hidden", t.classList.contains("sum") ? backwardDone < n : !flowed(t.dataset.to ?? "")));
  // The small "∂ ..." labels on the wires are local derivatives: quiz mode hides them with the other answers.
  svg.querySelectorAll<SVGElement>('text[font-size="9"]').forEach((t) => {
    if (t.textContent?.startsWith("∂ ")) t.classList.toggle("hidden", quizOn);
  });
  svg.querySelectorAll<SVGElement>("g.gate").forEach((g) => {
    g.classList.toggle("current", !!cur && g.dataset.stage === cur.name);
    g.classList.toggle("mistake", quizOn && g.dataset.stage === mistakeStage);
  });
  // The view follows the stepping, so the current stage is always on screen.
  const gate = svg.isConnected ? svg.querySelector<SVGGElement>("g.gate.current") : null;
  if (gate) graphView.reveal(gate);
}

/** Step 0: inputs only; 1..n: forward through stage k; n+1..2n: backward, last stage first. */
function showStep(): void {
  if (!current) return;
  const r = current.report;
  const n = r.stages.length;
  step = Math.max(0, Math.min(2 * n, step));
  const { cur } = stepState();
  showGraphStep();
  showRows(cur ? stageIndex.get(cur.name)! : 0, n);
  // The expression text with the current stage's characters marked.
  const view = $("expr-view");
  const src = r.source;
  view.replaceChildren();
  if (cur?.span) {
    const [a, b] = cur.span;
    const mark = el("mark", src.slice(a, b));
    view.append(document.createTextNode(src.slice(0, a)), mark, document.createTextNode(src.slice(b)));
    // Scrolls only this box (scrollIntoView would scroll the page too), the mark a third of the way down.
    if (view.scrollHeight > view.clientHeight) view.scrollTop = mark.offsetTop - view.clientHeight / 3;
  } else view.textContent = src;
  showInputGradients(n);
  showStepDetail(n);
  const status =
    step === 0
      ? "Start: only the inputs are known."
      : step <= n
        ? `Forward ${step}/${n}: ${cur!.equation} = ${bp.fmtValue(cur!.value)}`
        : `Backward ${step - n}/${n}: ${cur!.equation}, gradient ${bp.fmtValue(cur!.grad)}`;
  $("step-status").textContent = step === 2 * n ? `${status} (done)` : status;
}

/**
 * An input's gradient shows once every stage that uses it has sent its contribution back: while stepping,
 * the table holds only what the steps have reached.
 */
function showInputGradients(n: number): void {
  const r = current!.report;
  const { backwardDone } = stepState();
  $("gradients")
    .querySelectorAll<HTMLElement>("td[data-grad]")
    .forEach((td) => {
      const name = td.dataset.grad!;
      const reached = r.edges.filter((e) => e.from === name).every((e) => (stageIndex.get(e.to) ?? -1) >= n - backwardDone);
      td.textContent = reached && backwardDone > 0 ? (td.dataset.text ?? "") : "";
      if (!(reached && backwardDone > 0)) td.append(el("span", "pending", "pending"));
    });
}

/** The arithmetic of the backward step shown: upstream × local = contribution, and the fan-out sums so far. */
function showStepDetail(n: number): void {
  const box = $("step-detail");
  const k = step - n;
  if (k < 1 || quizOn || !stepped) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const lines = backwardStepLines(current!.report, k);
  box.replaceChildren(
    ...lines.flatMap((l) => {
      const p = el("p", l.product, "product");
      return l.sum ? [p, el("p", l.sum, "fan-out")] : [p];
    }),
  );
  box.hidden = lines.length === 0;
}

/** Whether the user has stepped since the answer came: a fresh answer shows no step's arithmetic. */
let stepped = false;

function move(to: number): void {
  stepped = true;
  step = to;
  showStep();
}
$("step-reset").addEventListener("click", () => move(0));
$("step-prev").addEventListener("click", () => move(step - 1));
$("step-next").addEventListener("click", () => move(step + 1));
$("step-end").addEventListener("click", () => move(Number.MAX_SAFE_INTEGER));
document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  // Keys the graph used (arrows pan it while it is focused) are not steps.
  if (e.defaultPrevented) return;
  if (!current || quizOn || $("panel-explain").hidden || t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.getAttribute("role") === "tab") return;
  if (e.key === "ArrowRight") move(step + 1);
  else if (e.key === "ArrowLeft") move(step - 1);
  else if (e.key === "Home") move(0);
  else if (e.key === "End") move(Number.MAX_SAFE_INTEGER);
  else return;
  e.preventDefault();
});
$("show-python").addEventListener("click", () => ((codeLang = "python"), renderCode()));
$("show-ts").addEventListener("click", () => ((codeLang = "ts"), renderCode()));

function download(name: string, data: Blob): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(data);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function svgToPng(svg: string): Promise<Blob> {
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width * 2;
  canvas.height = img.height * 2;
  const ctx = canvas.getContext("2d")!;
  ctx.scale(2, 2);
  ctx.drawImage(img, 0, 0);
  URL.revokeObjectURL(img.src);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG export failed"))), "image/png"));
}

document.querySelectorAll<HTMLButtonElement>("[data-download]").forEach((b) =>
  b.addEventListener("click", async () => {
    if (!current) return;
    const kind = b.dataset.download;
    if (kind === "svg") download("graph.svg", new Blob([current.svg], { type: "image/svg+xml" }));
    else if (kind === "png") download("graph.png", await svgToPng(current.svg));
    else if (kind === "tikz") download("graph.tex", new Blob([current.tikz], { type: "text/x-tex" }));
    else if (kind === "python") download("backprop.py", new Blob([current.python], { type: "text/x-python" }));
    else if (kind === "ts") download("backprop.ts", new Blob([current.ts], { type: "text/plain" }));
  }),
);

// ---- quiz mode (quiz-view.ts): the answers hidden, a box for every number, each checked as it is typed ----
let quizOn = false;
/** The stage of the quiz's first mistake, marked in the graph. */
let mistakeStage: string | null = null;
const quiz = new QuizView($("quiz"), TIME_LIMIT_MS);
quiz.onMistake = (stage) => {
  mistakeStage = stage;
  showGraphStep();
};
const quizToggle = $<HTMLButtonElement>("quiz-toggle");
function setQuiz(on: boolean): void {
  quizOn = on;
  quizToggle.setAttribute("aria-pressed", String(on));
  quizToggle.textContent = on ? "Leave quiz mode" : "Quiz mode";
  result.classList.toggle("quiz-on", on);
  $("quiz").hidden = !on;
  history.replaceState(null, "", `${location.pathname}?${stateQuery()}`);
  if (!on) quiz.stop();
  if (!current) return;
  step = on ? 0 : 2 * current.report.stages.length;
  showStep();
  if (on) quiz.show(current);
}
quizToggle.addEventListener("click", () => setQuiz(!quizOn));

// ---- exercises (exercises-view.ts) ----
/** Generating a long sheet explains every exercise: it gets longer than one explanation. */
const SHEET_TIME_LIMIT_MS = Math.max(TIME_LIMIT_MS, 30000);
setupExercises(
  {
    openInQuiz(program, at) {
      exprInput.value = program;
      atInput.value = at;
      selectTab(0);
      setQuiz(true);
      update();
    },
    download,
  },
  SHEET_TIME_LIMIT_MS,
);

let timer: ReturnType<typeof setTimeout> | undefined;
const schedule = () => {
  clearTimeout(timer);
  timer = setTimeout(update, DEBOUNCE_MS);
};
exprInput.addEventListener("input", schedule);
atInput.addEventListener("input", schedule);

// State lives in the URL: ?expr=(x%2By)*z&at=x%3D1,y%3D3,z%3D2 (a hand-typed + is a plus: url-state.ts).
const params = readQuery(location.search);
exprInput.value = params.get("expr") ?? "(ln(x) + sin(y))^2 + 4x";
// Links written before url-state.ts had a space as "+": in the values ",+" can only be that.
atInput.value = (params.get("at") ?? "x=e, y=pi/2, z=2").replace(/,\+/g, ", ");
if (params.get("quiz") === "1") setQuiz(true);
update();

// The gallery starts open only on a wide screen opened without a program: on a phone twenty buttons would
// push the input two screens down, and a link to a program is there to show that program.
if (matchMedia("(max-width: 600px)").matches || params.has("expr")) $<HTMLDetailsElement>("gallery").open = false;
setupGallery($("gallery-list"), (p) => {
  exprInput.value = p.expr;
  atInput.value = p.at;
  if (quizOn) setQuiz(false);
  update();
  exprInput.focus();
});
setupGradientStep({
  button: $<HTMLButtonElement>("gd-step"),
  lr: $<HTMLInputElement>("gd-lr"),
  out: $("gd-result"),
  input: () => ({ source: current?.source ?? exprInput.value, at: current?.at ?? atInput.value }),
  explainAt(at) {
    atInput.value = at;
    update();
  },
  timeLimitMs: TIME_LIMIT_MS,
});
$("copy-link").addEventListener("click", async () => {
  const link = `${location.origin}${location.pathname}?${stateQuery()}`;
  const status = $("copy-status");
  status.dataset.link = link;
  try {
    await navigator.clipboard.writeText(link);
    status.textContent = "Link copied.";
  } catch {
    // No clipboard (an insecure origin, or permission refused): show the link to copy by hand.
    status.textContent = link;
  }
});
setupOnFirstView.set("tab-train", setupTrain);
setupOnFirstView.set("tab-classify", () =>
  setupClassify({
    // A weight's gradient: the program for one example through the network, with the answers shown.
    openInExplain(program, at) {
      exprInput.value = program;
      atInput.value = at;
      selectTab(0);
      if (quizOn) setQuiz(false);
      update();
    },
  }),
);
