/**
 * Zoom and pan for the playground's graph. The SVG keeps its own coordinates and only its viewBox
 * changes, so text stays crisp at every scale and the stepping classes in main.ts keep working.
 * Mouse (drag, Ctrl + wheel, or wheel once the graph is focused), touch (drag, pinch), the + − Fit
 * buttons, and the keyboard (+ − 0 and arrows while the graph is focused) all go through zoomAt/panBy.
 *
 * A graph starts fitted to the width, but never smaller than READABLE_SCALE: a large graph fitted to a
 * phone's width has 3 px text. Beyond that the user pans, and main.ts keeps the current stage in view
 * (reveal). "Fit all" shows the whole graph however small, and pressed again goes back to readable.
 */

/** Screen pixels per graph unit, and the graph point shown at the view's top-left corner. */
interface View {
  s: number;
  x: number;
  y: number;
}

interface Point {
  x: number;
  y: number;
}

const MAX_SCALE = 4;
const STEP = 1.25;
const PAN_PX = 48;
/** The smallest starting scale: the figure's 13-unit values are then 9 px on screen, its labels 10.5 px. */
export const READABLE_SCALE = 0.7;
// A wide graph fitted to a phone's width is a sliver; this keeps a band tall enough to zoom into.
const MIN_HEIGHT_PX = 160;
// The view is at most this share of the window's height, so the page around it can still be reached.
const MAX_HEIGHT_SHARE = 0.7;
// Room left around a stage brought into view, in screen pixels.
const REVEAL_MARGIN_PX = 24;

/** Scale at which the whole graph shows in a view this wide and at most this high; never above 1, so small graphs keep their natural size. */
export function fitScale(graphWidth: number, viewWidth: number, graphHeight = 0, maxViewHeight = Infinity): number {
  return Math.min(1, viewWidth / graphWidth, graphHeight > 0 ? maxViewHeight / graphHeight : Infinity);
}

/** The starting scale: fitted, but not below READABLE_SCALE (or the whole graph, where that is larger). */
export function startScale(fitAll: number): number {
  return Math.max(fitAll, Math.min(1, READABLE_SCALE));
}

/** How the scale was chosen: readable (the start), all (Fit all), or free (the user zoomed). */
type Mode = "readable" | "all" | "free";

/** One axis of the pan: the graph covers the view where it is longer, and is centred where it is shorter. */
export function clampAxis(start: number, graphLength: number, visibleLength: number): number {
  if (visibleLength >= graphLength) return (graphLength - visibleLength) / 2;
  return Math.min(Math.max(start, 0), graphLength - visibleLength);
}

export interface GraphControls {
  zoomIn: HTMLButtonElement;
  zoomOut: HTMLButtonElement;
  fit: HTMLButtonElement;
}

export class GraphView {
  private svg: SVGSVGElement | null = null;
  private graph = { w: 1, h: 1 };
  private port = { w: 0, h: 0 };
  private view: View = { s: 1, x: 0, y: 0 };
  /** Fit all's scale, which is also the smallest zoom. */
  private minScale = 1;
  private readable = 1;
  private mode: Mode = "readable";
  private readonly pointers = new Map<number, Point>();
  private readonly fitButton: HTMLButtonElement;

  constructor(
    private readonly container: HTMLElement,
    controls: GraphControls,
  ) {
    this.fitButton = controls.fit;
    controls.zoomIn.addEventListener("click", () => this.zoomBy(STEP));
    controls.zoomOut.addEventListener("click", () => this.zoomBy(1 / STEP));
    controls.fit.addEventListener("click", () => this.fit());
    container.addEventListener("keydown", (e) => this.onKey(e));
    container.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    container.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    container.addEventListener("pointermove", (e) => this.onPointerMove(e));
    for (const end of ["pointerup", "pointercancel"] as const) container.addEventListener(end, (e) => this.pointers.delete(e.pointerId));
    // Refit when the page's width changes (rotation, a hidden tab shown again) unless the user zoomed.
    new ResizeObserver((entries) => {
      this.width = Math.round(entries[0].contentBoxSize?.[0]?.inlineSize ?? container.clientWidth);
      this.measure();
    }).observe(container);
  }

  /** Puts a freshly rendered SVG in the container and shows it at the start scale, from its top-left corner. */
  show(svg: SVGSVGElement): void {
    // Measured before the SVG goes in: reading the width afterwards would lay a large graph out here,
    // and again when the page is next drawn.
    this.measureWidth();
    this.container.replaceChildren(svg);
    const box = svg.viewBox.baseVal;
    this.graph =
      box && box.width > 0 ? { w: box.width, h: box.height } : { w: Number(svg.getAttribute("width")) || 1, h: Number(svg.getAttribute("height")) || 1 };
    svg.setAttribute("width", "100%");
    svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
    this.svg = svg;
    this.mode = "readable";
    this.view = { s: this.view.s, x: 0, y: 0 };
    this.measure();
  }

  /** Fit all; where the whole graph shows already, back to the readable start scale. */
  fit(): void {
    const all = this.mode !== "all" || this.minScale >= this.readable;
    this.mode = all ? "all" : "readable";
    this.view.s = all ? this.minScale : this.readable;
    this.apply();
  }

  zoomBy(factor: number): void {
    this.zoomAt(factor, { x: this.port.w / 2, y: this.port.h / 2 });
  }

  /** Pans the least needed to show the element (a stage's gate) with a margin; nothing if it shows already. */
  reveal(el: SVGGraphicsElement): void {
    if (!this.svg || this.port.w === 0) return;
    const b = gateBox(el);
    const m = REVEAL_MARGIN_PX / this.view.s;
    const vw = this.port.w / this.view.s;
    const vh = this.port.h / this.view.s;
    const inside = b.x - m >= this.view.x && b.x + b.width + m <= this.view.x + vw && b.y - m >= this.view.y && b.y + b.height + m <= this.view.y + vh;
    if (inside) return;
    this.view.x = b.x + b.width / 2 - vw / 2;
    this.view.y = b.y + b.height / 2 - vh / 2;
    this.apply();
  }

  private width = 0;

  private measureWidth(): void {
    this.width = this.container.clientWidth;
  }

  /** Sizes the view to the container's width (as last measured) and sets the scale for the mode. */
  private measure(): void {
    if (!this.svg) return;
    const w = this.width;
    if (w === 0) return; // hidden: measured again when shown
    const maxH = Math.max(MIN_HEIGHT_PX, Math.round(window.innerHeight * MAX_HEIGHT_SHARE));
    const all = fitScale(this.graph.w, w, this.graph.h, maxH);
    this.minScale = all;
    this.readable = startScale(all);
    const h = Math.round(Math.min(maxH, Math.max(this.graph.h * this.readable, Math.min(this.graph.h, MIN_HEIGHT_PX))));
    this.port = { w, h };
    this.svg.setAttribute("height", String(h));
    if (this.mode === "readable") this.view.s = this.readable;
    else if (this.mode === "all") this.view.s = all;
    else this.view.s = Math.min(MAX_SCALE, Math.max(all, this.view.s));
    this.apply();
  }

  private zoomAt(factor: number, at: Point): void {
    const s = Math.min(MAX_SCALE, Math.max(this.minScale, this.view.s * factor));
    // The graph point under `at` stays under it.
    this.view.x += at.x / this.view.s - at.x / s;
    this.view.y += at.y / this.view.s - at.y / s;
    this.view.s = s;
    const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
    this.mode = near(s, this.minScale) ? "all" : near(s, this.readable) ? "readable" : "free";
    this.apply();
  }

  private panBy(dx: number, dy: number): void {
    this.view.x += dx / this.view.s;
    this.view.y += dy / this.view.s;
    this.apply();
  }

  private apply(): void {
    if (!this.svg || this.port.w === 0) return;
    const { s } = this.view;
    const vw = this.port.w / s;
    const vh = this.port.h / s;
    this.view.x = clampAxis(this.view.x, this.graph.w, vw);
    this.view.y = clampAxis(this.view.y, this.graph.h, vh);
    const r = (v: number) => Math.round(v * 100) / 100;
    this.svg.setAttribute("viewBox", `${r(this.view.x)} ${r(this.view.y)} ${r(vw)} ${r(vh)}`);
    this.container.dataset.scale = String(Math.round(s * 10000) / 10000);
    // A touch drag pans the graph sideways; up and down it scrolls the page unless the graph is taller
    // than its view, so a graph that needs no vertical panning is no trap for the page's scrolling.
    this.container.classList.toggle("pan-both", vh < this.graph.h - 0.5);
    this.fitButton.setAttribute("aria-pressed", String(this.mode === "all" || this.minScale >= this.readable));
  }

  private onKey(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey) return; // leave the browser's own zoom alone
    const pan: Record<string, [number, number]> = { ArrowLeft: [-PAN_PX, 0], ArrowRight: [PAN_PX, 0], ArrowUp: [0, -PAN_PX], ArrowDown: [0, PAN_PX] };
    if (e.key === "+" || e.key === "=") this.zoomBy(STEP);
    else if (e.key === "-" || e.key === "_") this.zoomBy(1 / STEP);
    else if (e.key === "0") this.fit();
    else if (e.key in pan) this.panBy(...pan[e.key]);
    else return;
    // main.ts's stepping keys skip handled events, so arrows pan here instead of stepping.
    e.preventDefault();
  }

  private local(e: { clientX: number; clientY: number }): Point {
    const rect = this.container.getBoundingClientRect();
    return { x: e.clientX - rect.left - this.container.clientLeft, y: e.clientY - rect.top - this.container.clientTop };
  }

  private onWheel(e: WheelEvent): void {
    // Ctrl + wheel is also what a trackpad pinch sends. A plain wheel scrolls the page unless the
    // graph was focused (clicked or tabbed to), so scrolling past the graph never gets stuck on it.
    if (!e.ctrlKey && !e.metaKey && document.activeElement !== this.container) return;
    e.preventDefault();
    const unit = e.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : 1;
    this.zoomAt(Math.exp((-e.deltaY * unit) / 300), this.local(e));
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    this.pointers.set(e.pointerId, this.local(e));
    this.container.setPointerCapture(e.pointerId);
  }

  /** One pointer pans; two pinch: the scale follows their distance and the view follows their midpoint. */
  private onPointerMove(e: PointerEvent): void {
    const last = this.pointers.get(e.pointerId);
    if (!last) return;
    const before = [...this.pointers.values()];
    const now = this.local(e);
    this.pointers.set(e.pointerId, now);
    if (before.length === 1) return this.panBy(last.x - now.x, last.y - now.y);
    const after = [...this.pointers.values()];
    const [m0, m1] = [midpoint(before), midpoint(after)];
    const [d0, d1] = [distance(before), distance(after)];
    if (d0 > 0) this.zoomAt(d1 / d0, m0);
    this.panBy(m0.x - m1.x, m0.y - m1.y);
  }
}

/** A gate's box: from its circle's attributes where it has one (getBBox would lay the whole graph out). */
function gateBox(el: SVGGraphicsElement): { x: number; y: number; width: number; height: number } {
  const c = el.querySelector("circle");
  if (!c) return el.getBBox();
  const [x, y, r] = [c.cx.baseVal.value, c.cy.baseVal.value, c.r.baseVal.value];
  return { x: x - r, y: y - r, width: 2 * r, height: 2 * r };
}

function midpoint(p: Point[]): Point {
  return { x: (p[0].x + p[1].x) / 2, y: (p[0].y + p[1].y) / 2 };
}

function distance(p: Point[]): number {
  return Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y);
}
