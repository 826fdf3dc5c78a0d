// The Train tab: starts the worker, shows the download's progress, plots the loss per step and the
// test accuracy per epoch with axes, shows steps/s and the time elapsed, stops on divergence with
// advice, lists gradient norms, and shows the class probabilities of a digit drawn on the canvas. Two
// models: the MLP and the CNN (train-models.ts), each with its own settings and its own trained network.

import { DigitImageError, inkFromRgba } from "../src/data/digit-image.js";
import { divergenceMessage } from "./train-divergence.js";
import { GOOD_LR, isModelKind, MODEL_DEFAULTS, type LayerRow, type ModelDefaults, type ModelKind } from "./train-models.js";
import { drawPlot } from "./train-plot.js";
import type { TrainMessage, TrainRequest, Yield } from "./train-protocol.js";

const $ = <T extends Element = HTMLElement>(id: string): T => document.getElementById(id) as unknown as T;

// `?yield=timeout` trains with the old setTimeout(0) yield, to measure what the MessageChannel gains. Read
// when this module loads: the Explain tab rewrites the query string (its state) before setupTrain runs.
const query = new URLSearchParams(location.search);
const yieldBy: Yield = query.get("yield") === "timeout" ? "timeout" : "message";
/** `?model=cnn` opens the tab with the CNN chosen. */
const modelAtLoad: ModelKind = isModelKind(query.get("model") ?? "") ? (query.get("model") as ModelKind) : "mlp";

const MODEL_NAMES: Record<ModelKind, string> = { mlp: "MLP", cnn: "CNN" };

/** What the current run has reported: loss per step, test accuracy per epoch, its size and its pace. */
interface Run {
  model: ModelKind;
  losses: number[];
  accuracies: number[];
  epochs: number;
  stepsPerEpoch: number;
  elapsedMs: number;
}

type Message<T extends TrainMessage["type"]> = Extract<TrainMessage, { type: T }>;

/** The plots and the speed line are redrawn at most ten times a second, in an animation frame, however
 * fast steps arrive: the main thread stays free for the student's input. The end of an epoch or of the
 * run is drawn at once (`now`). */
function redrawer(run: Run): (now?: boolean) => void {
  let frame = 0;
  let timer = 0;
  let drawnAt = -Infinity;
  const paint = () => {
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    frame = timer = 0;
    drawnAt = performance.now();
    drawCurves(run);
    showSpeed(run);
  };
  return (now = false) => {
    if (now) return paint();
    if (frame || timer) return;
    const wait = drawnAt + 100 - performance.now();
    if (wait <= 0) frame = requestAnimationFrame(paint);
    else timer = window.setTimeout(() => (frame = requestAnimationFrame(paint)), wait);
  };
}

const selectedModel = (): ModelKind => $<HTMLSelectElement>("train-model").value as ModelKind;

/** Start pressed: a fresh run with the form's settings. */
function startRun(run: Run, send: (m: TrainRequest) => void, running: (on: boolean) => void): void {
  const model = selectedModel();
  const defaults = MODEL_DEFAULTS[model];
  const epochs = Number($<HTMLInputElement>("epochs").value) || defaults.epochs;
  const batch = Number($<HTMLInputElement>("batch").value) || defaults.batch;
  // The worker's first step says how many steps an epoch has; till then, 8,000 training digits' worth.
  Object.assign(run, { model, losses: [], accuracies: [], epochs, stepsPerEpoch: Math.ceil(8000 / batch), elapsedMs: 0 });
  const plot = $("loss-plot");
  plot.dataset.firstLoss = "";
  plot.dataset.steps = "0";
  $("train-status").classList.remove("diverged");
  $("train-speed").hidden = true;
  running(true);
  send({
    type: "start",
    url: new URL("digits.bin.gzip", document.baseURI).href,
    model,
    hidden: Number($<HTMLInputElement>("hidden").value) || 64,
    lr: Number($<HTMLInputElement>("lr").value) || defaults.lr,
    batch,
    epochs,
    yield: yieldBy,
  });
  drawCurves(run);
}

export function setupTrain(): void {
  const worker = new Worker(new URL("./train-worker.ts", import.meta.url), { type: "module" });
  const send = (m: TrainRequest) => worker.postMessage(m);
  const start = $<HTMLButtonElement>("train-start");
  const stop = $<HTMLButtonElement>("train-stop");
  const run: Run = { model: modelAtLoad, losses: [], accuracies: [], epochs: 3, stepsPerEpoch: 125, elapsedMs: 0 };
  const select = $<HTMLSelectElement>("train-model");
  const running = (on: boolean) => {
    start.disabled = on;
    stop.disabled = !on;
    // A run trains the model it started with: the choice waits till it ends.
    select.disabled = on;
  };
  const redraw = redrawer(run);
  start.addEventListener("click", () => startRun(run, send, running));
  stop.addEventListener("click", () => send({ type: "stop" }));
  const drawing = setupDrawing(send);
  worker.onmessage = (e: MessageEvent<TrainMessage>) => {
    show(e.data, run, running, redraw);
    // A finished run's network classifies what is drawn already.
    if (e.data.type === "done" || e.data.type === "diverged") drawing.predict();
  };
  // Redrawn at once on resize (before that frame is painted): a plot drawn for another width is letterboxed.
  new ResizeObserver(() => redraw(true)).observe($("loss-plot"));
  running(false);
  drawCurves(run);
  setupProbabilities();
  setupModelChoice(send, drawing.predict);
}

/**
 * The model select: each model keeps its own learning rate, batch and epochs (its defaults until edited),
 * the hidden width is asked only of the MLP, the layer table follows the choice, and the drawn digit is
 * classified again by the chosen model's network.
 */
function setupModelChoice(send: (m: TrainRequest) => void, predict: () => void): void {
  const select = $<HTMLSelectElement>("train-model");
  const fields = ["lr", "batch", "epochs"] as const;
  const settings: Record<ModelKind, ModelDefaults> = { mlp: { ...MODEL_DEFAULTS.mlp }, cnn: { ...MODEL_DEFAULTS.cnn } };
  let shown = select.value as ModelKind;
  const describe = () => send({ type: "describe", model: selectedModel(), hidden: Number($<HTMLInputElement>("hidden").value) || 64 });
  const apply = (model: ModelKind) => {
    for (const f of fields) $<HTMLInputElement>(f).value = String(settings[model][f]);
    $("hidden-field").hidden = model !== "mlp";
    shown = model;
  };
  select.value = modelAtLoad;
  apply(modelAtLoad);
  select.addEventListener("change", () => {
    for (const f of fields) settings[shown][f] = Number($<HTMLInputElement>(f).value) || MODEL_DEFAULTS[shown][f];
    apply(selectedModel());
    describe();
    predict();
  });
  $("hidden").addEventListener("change", describe);
  describe();
}

/** The layer table: each layer, its output's shape and its parameter count, and the total. */
function showArchitecture(m: Message<"architecture">): void {
  if (m.model !== selectedModel()) return; // an answer to an earlier choice
  const cell = (text: string) => {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  };
  $("arch")
    .querySelector("tbody")!
    .replaceChildren(
      ...m.rows.map((r: LayerRow) => {
        const tr = document.createElement("tr");
        tr.append(cell(r.layer), cell(r.output), cell(r.params.toLocaleString("en")));
        return tr;
      }),
    );
  $("arch-total").textContent = m.total.toLocaleString("en");
  $("arch").dataset.model = m.model;
  $("arch").dataset.total = String(m.total);
}

/** The download's progress, as a bar and in MB. */
function showLoading(m: Message<"loading">, status: HTMLElement, progress: HTMLProgressElement): void {
  progress.hidden = false;
  if (m.total) progress.value = Math.min(1, m.loaded / m.total);
  else progress.removeAttribute("value"); // indeterminate: the server did not say how much
  status.textContent = `Loading the digits… ${(m.loaded / 1e6).toFixed(1)}${m.total ? ` of ${(m.total / 1e6).toFixed(1)}` : ""} MB`;
}

/** The kernels the worker trains with, and how many threads are ready. */
function showEngine(m: Message<"engine">): void {
  const line = $("train-engine");
  line.textContent = `Kernels: ${m.backend}, ${m.threads} thread${m.threads === 1 ? "" : "s"}${m.isolated ? "" : " (the page is not cross-origin isolated: one thread)"}`;
  line.dataset.threads = String(m.threads);
}

/** New steps' losses: kept for the plot, the last one in the status line (and as data-* for tests). */
function showSteps(m: Message<"steps">, run: Run, status: HTMLElement, plot: HTMLElement): void {
  run.losses.push(...m.losses);
  run.stepsPerEpoch = m.stepsPerEpoch;
  run.elapsedMs = m.elapsedMs;
  const step = m.first + m.losses.length - 1;
  const loss = m.losses[m.losses.length - 1];
  if (m.first === 1) plot.dataset.firstLoss = String(m.losses[0]);
  plot.dataset.lastLoss = String(loss);
  plot.dataset.steps = String(step);
  status.textContent = `epoch ${m.epoch}, step ${step}, loss ${loss.toFixed(4)}`;
}

/** Shows one message from the worker. */
function show(m: TrainMessage, run: Run, running: (on: boolean) => void, redraw: (now?: boolean) => void): void {
  const status = $("train-status");
  const plot = $("loss-plot");
  const progress = $<HTMLProgressElement>("digits-progress");
  switch (m.type) {
    case "status":
      status.textContent = m.text;
      progress.hidden = m.text !== "Loading the digits…";
      break;
    case "loading":
      showLoading(m, status, progress);
      break;
    case "engine":
      showEngine(m);
      break;
    case "steps":
      progress.hidden = true;
      showSteps(m, run, status, plot);
      redraw();
      break;
    case "evaluating":
      status.textContent = `epoch ${m.epoch}: testing on ${m.done.toLocaleString("en")} of ${m.total.toLocaleString("en")} digits…`;
      break;
    case "architecture":
      showArchitecture(m);
      break;
    case "epoch":
      if (m.testAccuracy === null) break; // no test split: nothing to plot
      run.accuracies.push(m.testAccuracy);
      plot.dataset.testAccuracy = String(m.testAccuracy);
      status.textContent = `epoch ${m.epoch} done: test accuracy ${(100 * m.testAccuracy).toFixed(1)}%`;
      redraw(true);
      break;
    case "norms":
      showNorms(m.norms);
      break;
    case "diverged":
      running(false);
      run.elapsedMs = m.elapsedMs;
      status.textContent = divergenceMessage(m.step, m.loss, m.firstLoss, m.lr, GOOD_LR[run.model], m.stuck);
      status.classList.add("diverged");
      redraw(true);
      break;
    case "done":
      running(false);
      run.elapsedMs = m.elapsedMs;
      status.textContent += m.stopped ? " (stopped)" : " — finished. Draw a digit!";
      redraw(true);
      break;
    case "prediction":
      if (m.model === selectedModel()) showProbabilities(m.probs, m.model);
      break;
    case "error":
      progress.hidden = true;
      status.textContent = `error: ${m.message}`;
      running(false);
      break;
  }
}

/** "312 steps/s · 4.2 s": the mean pace of the run so far (per-epoch evaluation included). */
function showSpeed(run: Run): void {
  const line = $("train-speed");
  const steps = run.losses.length;
  if (steps === 0 || run.elapsedMs <= 0) return;
  const rate = steps / (run.elapsedMs / 1000);
  line.hidden = false;
  line.dataset.stepsPerSecond = rate.toFixed(1);
  line.dataset.elapsedMs = run.elapsedMs.toFixed(0);
  // A pace over a handful of steps means nothing (a diverged run stops after two).
  $("train-rate-part").hidden = steps < 10;
  $("train-rate").textContent = `${rate.toFixed(0)} steps/s`;
  $("train-elapsed").textContent = run.elapsedMs < 100 ? "under 0.1 s elapsed" : `${(run.elapsedMs / 1000).toFixed(1)} s elapsed`;
  $("train-progress").textContent = `step ${steps} of ${run.epochs * run.stepsPerEpoch}`;
}

/** The loss per step and the test accuracy per epoch, each on axes sized to the whole run. */
function drawCurves({ losses, accuracies, epochs, stepsPerEpoch }: Run): void {
  const finite = losses.filter(Number.isFinite);
  const lossPlot = $<SVGSVGElement>("loss-plot");
  drawPlot(lossPlot, {
    xLabel: "step",
    yLabel: "loss",
    xIntegers: true,
    xMax: Math.max(losses.length, epochs * stepsPerEpoch),
    yMax: Math.max(0.5, ...finite.slice(0, 50), ...finite.slice(-50)),
    yFormat: (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v)), // a diverged run's losses are large
    points: losses.flatMap((l, i) => (Number.isFinite(l) ? [[i + 1, l] as const] : [])),
  });
  const last = finite.at(-1);
  lossPlot.setAttribute(
    "aria-label",
    last === undefined ? "Training loss per step: no steps yet" : `Training loss per step: ${last.toFixed(3)} after ${losses.length} steps`,
  );
  const accPlot = $<SVGSVGElement>("acc-plot");
  // It changes once an epoch: redrawn only then (or when its width or the run's length changed).
  const key = `${accuracies.length} ${epochs} ${accPlot.clientWidth}`;
  if (accPlot.dataset.drawn === key) return;
  accPlot.dataset.drawn = key;
  drawPlot(accPlot, {
    xLabel: "epoch",
    yLabel: "test accuracy",
    xMax: Math.max(epochs, accuracies.length),
    xIntegers: true,
    yMax: 1,
    yFormat: (v) => `${Math.round(100 * v)}%`,
    points: accuracies.map((a, i) => [i + 1, a] as const),
    dots: true,
  });
  const acc = accuracies.at(-1);
  accPlot.setAttribute(
    "aria-label",
    acc === undefined
      ? "Test accuracy per epoch: no epoch finished yet"
      : `Test accuracy per epoch: ${(100 * acc).toFixed(1)}% after epoch ${accuracies.length}`,
  );
}

/** The gradient norm of each parameter, as table rows. */
function showNorms(norms: readonly { name: string; norm: number | null }[]): void {
  const body = $("grad-norms").querySelector("tbody")!;
  body.replaceChildren(
    ...norms.map((n) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td");
      a.textContent = n.name;
      const b = document.createElement("td");
      b.textContent = n.norm === null ? "–" : n.norm.toPrecision(3);
      tr.append(a, b);
      return tr;
    }),
  );
}

/** Ten labelled rows, one per digit: the digit, a bar (decoration) and the probability as text. */
function setupProbabilities(): void {
  $("probs").replaceChildren(
    ...[..."0123456789"].map((d) => {
      const li = document.createElement("li");
      li.dataset.digit = d;
      const label = document.createElement("span");
      label.className = "digit";
      label.textContent = d;
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.setAttribute("aria-hidden", "true");
      bar.append(document.createElement("span"));
      const pct = document.createElement("span");
      pct.className = "pct";
      pct.textContent = "–";
      li.append(label, bar, pct);
      return li;
    }),
  );
}

function showProbabilities(probs: number[] | null, model: ModelKind): void {
  const out = $("prediction");
  const rows = [...$("probs").querySelectorAll("li")];
  $("probs").dataset.model = model;
  if (probs === null) {
    clearProbabilities();
    out.textContent = `Train the ${MODEL_NAMES[model]} first.`;
    return;
  }
  const best = probs.indexOf(Math.max(...probs));
  out.textContent = `It looks like a ${best} (${(100 * probs[best]).toFixed(0)}% sure).`;
  rows.forEach((li, d) => {
    const p = probs[d];
    li.dataset.p = String(p);
    li.classList.toggle("best", d === best);
    (li.querySelector(".bar > span") as HTMLElement).style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector(".pct")!.textContent = `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;
  });
}

function clearProbabilities(): void {
  for (const li of $("probs").querySelectorAll("li")) {
    delete li.dataset.p;
    li.classList.remove("best");
    (li.querySelector(".bar > span") as HTMLElement).style.width = "0";
    li.querySelector(".pct")!.textContent = "–";
  }
}

/** The drawing canvas: white strokes on black; on release the digit goes to the worker for a prediction by the
 * chosen model. Returns `predict`, which asks again for what is drawn (after a model change or a run's end). */
function setupDrawing(send: (m: TrainRequest) => void): { predict: () => void } {
  const canvas = $<HTMLCanvasElement>("draw");
  // Read back after every stroke: a CPU-backed canvas makes that cheap (and silences Chromium's warning).
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  let digit: Float32Array | null = null;
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    digit = null;
  };
  clear();
  const predict = () => void (digit && send({ type: "predict", model: selectedModel(), pixels: digit }));
  let drawing = false;
  const point = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = point(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = point(e);
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 18;
    ctx.lineCap = "round";
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  canvas.addEventListener("pointerup", () => {
    drawing = false;
    digit = toDigit(canvas, ctx);
    predict();
  });
  $("draw-clear").addEventListener("click", () => {
    clear();
    clearProbabilities();
    $("prediction").textContent = "Draw a digit.";
  });
  return { predict };
}

/** The drawing as 28x28 inputs prepared as MNIST's digits were (the library's centerDigit: cropped, scaled into
 * 20x20, centre of mass in the middle), the same as `backprop predict` does to a PNG; null while it is blank. */
function toDigit(canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D): Float32Array | null {
  const { width: w, height: h } = canvas;
  try {
    return inkFromRgba(ctx.getImageData(0, 0, w, h).data, w, h);
  } catch (err) {
    if (err instanceof DigitImageError) return null; // nothing drawn (a click without a move)
    throw err;
  }
}
