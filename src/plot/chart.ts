/** A small SVG line chart for training curves (loss per step, accuracy per epoch). */

export interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** One panel of the chart, placed at (x0, y0), returned as SVG elements. */
function panel(series: Series[], o: ChartOptions, x0: number, y0: number, w: number, h: number): string[] {
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const xMin = xs.length ? xs.reduce((a, b) => Math.min(a, b)) : 0;
  const xMax = xs.length ? xs.reduce((a, b) => Math.max(a, b)) : 1;
  const yMin = o.yMin ?? (ys.length ? ys.reduce((a, b) => Math.min(a, b)) : 0);
  const yMax = o.yMax ?? (ys.length ? ys.reduce((a, b) => Math.max(a, b)) : 1);
  const sx = (x: number) => x0 + ((x - xMin) / (xMax - xMin || 1)) * w;
  const sy = (y: number) => y0 + h - ((y - yMin) / (yMax - yMin || 1)) * h;
  const el: string[] = [];
  el.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#9ca3af"/>`);
  for (const t of ticks(yMin, yMax)) {
    el.push(`<line x1="${x0}" x2="${x0 + w}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e5e7eb"/>`);
    el.push(`<text x="${x0 - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#374151">${t}</text>`);
  }
  for (const t of ticks(xMin, xMax)) el.push(`<text x="${sx(t).toFixed(1)}" y="${y0 + h + 16}" text-anchor="middle" font-size="11" fill="#374151">${t}</text>`);
  el.push(`<text x="${x0 + w / 2}" y="${y0 - 10}" text-anchor="middle" font-size="13" font-weight="bold" fill="#111827">${esc(o.title)}</text>`);
  el.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle" font-size="12" fill="#374151">${esc(o.xLabel)}</text>`);
  el.push(
    `<text x="${x0 - 44}" y="${y0 + h / 2}" text-anchor="middle" font-size="12" fill="#374151" transform="rotate(-90 ${x0 - 44} ${y0 + h / 2})">${esc(o.yLabel)}</text>`,
  );
  series.forEach((s, k) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length)
      el.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ")}"/>`,
      );
    if (pts.length <= 50) for (const p of pts) el.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    el.push(`<text x="${x0 + w - 8}" y="${y0 + 16 + 15 * k}" text-anchor="end" font-size="11" fill="${s.color}">${esc(s.label)}</text>`);
  });
  return el;
}

/** Side-by-side panels in one standalone SVG. */
export function chartSvg(panels: { series: Series[]; options: ChartOptions }[]): string {
  const w = 380;
  const h = 240;
  const width = panels.length * (w + 90) + 30;
  const height = h + 90;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  panels.forEach((p, i) => parts.push(...panel(p.series, p.options, 80 + i * (w + 90), 35, w, h)));
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
