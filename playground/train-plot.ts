// The Train tab's plots as SVG with axes: ticks, numbers and labels on both axes. SVG rather than a
// canvas so the figure is crisp at any zoom and its numbers are text (readable by tests and tools).

const NS = "http://www.w3.org/2000/svg";

export interface PlotSpec {
  xLabel: string;
  yLabel: string;
  xMax: number;
  yMax: number;
  /** Ticks on whole numbers only (epochs). */
  xIntegers?: boolean;
  yFormat: (v: number) => string;
  points: readonly (readonly [number, number])[];
  /** Dots on each point as well as the line (few points: the accuracy per epoch). */
  dots?: boolean;
}

/** Tick values from 0 to max at a step of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(max: number, count: number, integers = false): number[] {
  const hi = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = hi / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integers) step = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let i = 0; i * step <= hi * (1 + 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** At most `n` points: the mean of each run of neighbours (a long run's loss is thousands of steps). */
function thin(points: readonly (readonly [number, number])[], n: number): (readonly [number, number])[] {
  if (points.length <= n) return points.slice();
  const out: [number, number][] = [];
  const per = points.length / n;
  for (let i = 0; i < n; i++) {
    const run = points.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    out.push([run.reduce((s, p) => s + p[0], 0) / run.length, run.reduce((s, p) => s + p[1], 0) / run.length]);
  }
  return out;
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Redraws the plot inside `svg`, sized to its width on the page so the text stays 12 px. */
export function drawPlot(svg: SVGSVGElement, spec: PlotSpec): void {
  const w = Math.max(240, Math.round(svg.clientWidth || 520));
  const h = 220;
  const m = { left: 56, right: 14, top: 12, bottom: 44 };
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("height", String(h));
  const px = (x: number) => m.left + ((w - m.left - m.right) * x) / (spec.xMax || 1);
  const py = (y: number) => h - m.bottom - ((h - m.top - m.bottom) * Math.min(y, spec.yMax)) / (spec.yMax || 1);
  const parts: SVGElement[] = [];
  const xTicks = niceTicks(spec.xMax, Math.max(2, Math.floor((w - m.left - m.right) / 70)), spec.xIntegers);
  const yTicks = niceTicks(spec.yMax, 5);
  const xAxis = el("g", { class: "axis x" });
  for (const t of xTicks) {
    xAxis.append(
      el("line", { x1: px(t), x2: px(t), y1: h - m.bottom, y2: h - m.bottom + 5 }),
      el("text", { x: px(t), y: h - m.bottom + 18, "text-anchor": "middle" }, String(t)),
    );
  }
  xAxis.append(el("line", { x1: m.left, x2: w - m.right, y1: h - m.bottom, y2: h - m.bottom }));
  xAxis.append(el("text", { class: "label", x: (m.left + w - m.right) / 2, y: h - 6, "text-anchor": "middle" }, spec.xLabel));
  const yAxis = el("g", { class: "axis y" });
  for (const t of yTicks) {
    parts.push(el("line", { class: "grid", x1: m.left, x2: w - m.right, y1: py(t), y2: py(t) }));
    yAxis.append(
      el("line", { x1: m.left - 5, x2: m.left, y1: py(t), y2: py(t) }),
      el("text", { x: m.left - 8, y: py(t) + 4, "text-anchor": "end" }, spec.yFormat(t)),
    );
  }
  yAxis.append(el("line", { x1: m.left, x2: m.left, y1: m.top, y2: h - m.bottom }));
  const cy = (m.top + h - m.bottom) / 2;
  yAxis.append(el("text", { class: "label", x: 14, y: cy, "text-anchor": "middle", transform: `rotate(-90 14 ${cy})` }, spec.yLabel));
  parts.push(xAxis, yAxis);
  const shown = thin(spec.points, w - m.left - m.right);
  if (shown.length > 0) {
    const d = shown.map(([x, y], i) => `${i ? "L" : "M"}${px(x).toFixed(1)} ${py(y).toFixed(1)}`).join("");
    parts.push(el("path", { class: "series", d }));
    if (spec.dots) for (const [x, y] of shown) parts.push(el("circle", { class: "dot", cx: px(x), cy: py(y), r: 4 }));
  }
  svg.replaceChildren(...parts);
}
