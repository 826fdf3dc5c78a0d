// The Classify tab's small loss curve: train (dark) and test (grey) loss after each epoch.
import type { Frame } from "./classify-protocol.js";

export function drawCurve(curve: HTMLCanvasElement, f: Frame): void {
  const ctx = curve.getContext("2d")!;
  const { width: w, height: h } = curve;
  ctx.clearRect(0, 0, w, h);
  const hist = f.history;
  const max = Math.max(0.1, ...hist.map((e) => Math.max(e.train, e.test ?? 0)).filter(Number.isFinite));
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#4b5563";
  ctx.fillText(`loss (0 to ${max.toFixed(2)}) over ${hist.length - 1} epochs: train dark, test grey`, 4, 11);
  const line = (get: (e: (typeof hist)[number]) => number | null, stroke: string) => {
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    hist.forEach((e, i) => {
      const v = get(e);
      if (v === null) return;
      const x = hist.length < 2 ? 0 : (i / (hist.length - 1)) * (w - 2) + 1;
      const y = h - 2 - (Math.min(v, max) / max) * (h - 18);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  };
  line((e) => e.test, "#9ca3af");
  line((e) => e.train, "#111827");
}
