// The Train tab: starts the worker, plots the loss per step and accuracy per epoch, lists gradient
// norms, and predicts a digit drawn on the canvas.

import type { TrainMessage, TrainRequest } from "./train-protocol.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Loss per step and test accuracy per epoch, as the worker reports them. */
interface Curves {
  losses: number[];
  accuracies: number[];
}

export function setupTrain(): void {
  const worker = new Worker(new URL("./train-worker.ts", import.meta.url), { type: "module" });
  const send = (m: TrainRequest) => worker.postMessage(m);
  const start = $<HTMLButtonElement>("train-start");
  const stop = $<HTMLButtonElement>("train-stop");
  const curves: Curves = { losses: [], accuracies: [] };
  const running = (on: boolean) => {
    start.disabled = on;
    stop.disabled = !on;
  };

  start.addEventListener("click", () => {
    curves.losses.length = 0;
    curves.accuracies.length = 0;
    $("loss-plot").dataset.firstLoss = "";
    running(true);
    send({
      type: "start",
      url: new URL("digits.bin", document.baseURI).href,
      hidden: Number($<HTMLInputElement>("hidden").value) || 64,
      lr: Number($<HTMLInputElement>("lr").value) || 0.1,
      batch: Number($<HTMLInputElement>("batch").value) || 64,
      epochs: Number($<HTMLInputElement>("epochs").value) || 3,
    });
  });
  stop.addEventListener("click", () => send({ type: "stop" }));
  worker.onmessage = (e: MessageEvent<TrainMessage>) => show(e.data, curves, running);
  setupDrawing(send);
}

/** Shows one message from the worker: status, engine, progress, norms, the end of training, a prediction. */
function show(m: TrainMessage, curves: Curves, running: (on: boolean) => void): void {
  const status = $("train-status");
  const plot = $<HTMLCanvasElement>("loss-plot");
  switch (m.type) {
    case "status":
      status.textContent = m.text;
      break;
    case "engine": {
      const line = $("train-engine");
      line.textContent = `Kernels: ${m.backend}, ${m.threads} thread${m.threads === 1 ? "" : "s"}${m.isolated ? "" : " (the page is not cross-origin isolated: one thread)"}`;
      line.dataset.threads = String(m.threads);
      break;
    }
    case "step":
      curves.losses.push(m.loss);
      if (curves.losses.length === 1) plot.dataset.firstLoss = String(m.loss);
      plot.dataset.lastLoss = String(m.loss);
      plot.dataset.steps = String(m.step);
      status.textContent = `epoch ${m.epoch}, step ${m.step}, loss ${m.loss.toFixed(4)}`;
      if (m.step % 5 === 0) drawCurves(plot, curves);
      break;
    case "epoch":
      if (m.testAccuracy === null) break; // no test split: nothing to plot
      curves.accuracies.push(m.testAccuracy);
      plot.dataset.testAccuracy = String(m.testAccuracy);
      status.textContent = `epoch ${m.epoch} done: test accuracy ${(100 * m.testAccuracy).toFixed(1)}%`;
      drawCurves(plot, curves);
      break;
    case "norms":
      showNorms(m.norms);
      break;
    case "done":
      running(false);
      status.textContent += m.stopped ? " (stopped)" : " — finished. Draw a digit!";
      drawCurves(plot, curves);
      break;
    case "prediction":
      $("prediction").textContent = m.digit === null ? "Train first." : `It looks like a ${m.digit} (${(100 * (m.confidence ?? 0)).toFixed(0)}% sure).`;
      break;
    case "error":
      status.textContent = `error: ${m.message}`;
      running(false);
      break;
  }
}

/** The loss per step (blue line) and the test accuracy per epoch (orange dots, 0-100%). */
function drawCurves(plot: HTMLCanvasElement, { losses, accuracies }: Curves): void {
  const ctx = plot.getContext("2d")!;
  const { width: w, height: h } = plot;
  ctx.clearRect(0, 0, w, h);
  ctx.font = "12px sans-serif";
  ctx.fillStyle = "#374151";
  ctx.fillText("loss per step (blue), test accuracy per epoch (orange, 0-100%)", 8, 14);
  if (losses.length < 2) return;
  const max = Math.max(...losses.slice(0, 50), 0.5);
  ctx.strokeStyle = "#1f5fbf";
  ctx.beginPath();
  losses.forEach((l, i) => {
    const x = 30 + ((w - 40) * i) / (losses.length - 1);
    const y = h - 20 - ((h - 40) * Math.min(l, max)) / max;
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#c2410c";
  accuracies.forEach((a, i) => {
    const x = 30 + ((w - 40) * (i + 1)) / accuracies.length;
    ctx.beginPath();
    ctx.arc(x - 4, h - 20 - (h - 40) * a, 4, 0, 2 * Math.PI);
    ctx.fill();
  });
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

/** The drawing canvas: white strokes on black; on release the digit goes to the worker for a prediction. */
function setupDrawing(send: (m: TrainRequest) => void): void {
  const canvas = $<HTMLCanvasElement>("draw");
  const ctx = canvas.getContext("2d")!;
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
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
    send({ type: "predict", pixels: toDigit(canvas) });
  });
  $("draw-clear").addEventListener("click", () => {
    clear();
    $("prediction").textContent = "Draw a digit.";
  });
}

/** Cropped, scaled into 20x20 and centred in 28x28, like MNIST. */
function toDigit(canvas: HTMLCanvasElement): Float32Array {
  const { width: w, height: h } = canvas;
  const img = canvas.getContext("2d")!.getImageData(0, 0, w, h).data;
  let x0 = w,
    y0 = h,
    x1 = -1,
    y1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (img[(y * w + x) * 4] > 30) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  const out = new Float32Array(784);
  if (x1 < 0) return out;
  const side = Math.max(x1 - x0, y1 - y0) + 1;
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const s = small.getContext("2d")!;
  const scale = 20 / side;
  const dx = 4 + (20 - (x1 - x0 + 1) * scale) / 2;
  const dy = 4 + (20 - (y1 - y0 + 1) * scale) / 2;
  s.drawImage(canvas, x0, y0, x1 - x0 + 1, y1 - y0 + 1, dx, dy, (x1 - x0 + 1) * scale, (y1 - y0 + 1) * scale);
  const px = s.getImageData(0, 0, 28, 28).data;
  for (let i = 0; i < 784; i++) out[i] = px[i * 4] / 255;
  return out;
}
