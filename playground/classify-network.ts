// The Classify tab's network diagram: each neuron's map as a small canvas, over an SVG of the weights as
// lines (blue positive, orange negative, thicker larger), each one a button that asks for its gradient.
// Laid out again only when the network's shape (or the room for it) changes; repainted every frame.
import type { FeatureName } from "./classify-data.js";
import { chosenFeatures } from "./classify-controls.js";
import { el, fmt, svgEl } from "./classify-dom.js";
import { weightName } from "./classify-explain.js";
import { BLUE, ORANGE, inputMap, paintMap } from "./classify-paint.js";
import type { Frame } from "./classify-protocol.js";
import type { ClassifyTab } from "./classify-tab.js";

const NODE = 40;
/** Widest gap between the columns; narrower where the page is (a phone), down to MIN_GAP. */
const COL_GAP = 70;
const MIN_GAP = 26;
const ROW_GAP = 50;
/** Room left of the inputs and right of the outputs for their names, and above the columns for captions. */
const LABEL_W = 58;
const TOP = 22;

/** Where things go: the layer sizes (inputs first), the column gap, and each neuron's top-left corner. */
interface Geometry {
  sizes: number[];
  gap: number;
  W: number;
  H: number;
  pos(layer: number, i: number): { x: number; y: number };
  /** A neuron's name: its feature, h<layer>.<i>, or the output logit. */
  name(layer: number, i: number): string;
}

function geometry(net: HTMLElement, f: Frame, features: FeatureName[]): Geometry {
  const sizes = [f.weights[0].inputs, ...f.weights.map((l) => l.outputs)];
  const rows = Math.max(...sizes);
  const room = net.parentElement!.clientWidth || 600; // 0 while the tab is hidden
  const gap = Math.max(MIN_GAP, Math.min(COL_GAP, Math.floor((room - 2 * LABEL_W - sizes.length * NODE) / Math.max(1, sizes.length - 1))));
  return {
    sizes,
    gap,
    W: 2 * LABEL_W + sizes.length * NODE + (sizes.length - 1) * gap,
    H: TOP + rows * ROW_GAP,
    pos: (layer, i) => ({ x: LABEL_W + layer * (NODE + gap), y: TOP + (rows - sizes[layer]) * (ROW_GAP / 2) + i * ROW_GAP }),
    name: (layer, i) =>
      layer === 0
        ? features[i]
        : layer === sizes.length - 1
          ? sizes[layer] === 1
            ? "output value"
            : i === 1
              ? "logit blue"
              : "logit orange"
          : `h${layer}.${i + 1}`,
  };
}

/** One weight: a visible path, and a wider one above it to click or focus, titled with its value. */
function weightLine(g: Geometry, k: number, i: number, j: number): SVGGElement {
  const a = g.pos(k, i);
  const b = g.pos(k + 1, j);
  const d = `M${a.x + NODE},${a.y + NODE / 2} C${a.x + NODE + g.gap / 2},${a.y + NODE / 2} ${b.x - g.gap / 2},${b.y + NODE / 2} ${b.x},${b.y + NODE / 2}`;
  const group = svgEl("g", { class: "cl-weight", "data-layer": String(k), "data-from": String(i), "data-to": String(j) });
  const seen = svgEl("path", { d, class: "cl-w" });
  const hit = svgEl("path", {
    d,
    class: "cl-hit",
    tabindex: "0",
    role: "button",
    "aria-label": `weight ${weightName(k)}[${j + 1},${i + 1}] from ${g.name(k, i)} to ${g.name(k + 1, j)}`,
  });
  hit.append(svgEl("title", {}));
  group.append(seen, hit);
  return group;
}

function weightsSvg(g: Geometry, f: Frame): SVGSVGElement {
  const svg = svgEl("svg", { width: String(g.W), height: String(g.H), class: "cl-weights" });
  f.weights.forEach((l, k) => {
    for (let i = 0; i < l.inputs; i++) for (let j = 0; j < l.outputs; j++) svg.append(weightLine(g, k, i, j));
  });
  return svg;
}

/** A neuron's canvas, and beside an input or an output its name. */
function neuron(net: HTMLElement, g: Geometry, features: FeatureName[], layer: number, i: number): void {
  const last = g.sizes.length - 1;
  const p = g.pos(layer, i);
  const c = el("canvas", {
    width: String(NODE),
    height: String(NODE),
    class: "cl-node",
    role: "img",
    "aria-label": layer === last ? `output ${g.sizes[last] === 1 ? "value" : i ? "blue" : "orange"} over the plane` : `${g.name(layer, i)} over the plane`,
    "data-layer": String(layer),
    "data-index": String(i),
  });
  c.style.left = `${p.x}px`;
  c.style.top = `${p.y}px`;
  net.append(c);
  if (layer !== 0 && layer !== last) return;
  const first = layer === 0;
  const label = el(
    "span",
    { class: `cl-node-label ${first ? "cl-in" : "cl-out"}`, "aria-hidden": "true" },
    first ? features[i] : g.sizes[last] === 1 ? "value" : i ? "blue" : "orange",
  );
  label.style.left = `${first ? p.x - LABEL_W : p.x + NODE + 4}px`;
  label.style.top = `${p.y + NODE / 2}px`;
  net.append(label);
}

/** The network's layout: neuron maps as canvases over an SVG of the weights; rebuilt when its shape changes. */
function buildNet(net: HTMLElement, f: Frame, features: FeatureName[]): void {
  const g = geometry(net, f, features);
  net.replaceChildren();
  net.style.width = `${g.W}px`;
  net.style.height = `${g.H}px`;
  net.append(weightsSvg(g, f));
  g.sizes.forEach((n, layer) => {
    for (let i = 0; i < n; i++) neuron(net, g, features, layer, i);
    const caption = el(
      "span",
      { class: "cl-caption", "aria-hidden": "true" },
      layer === 0 ? "features" : layer === g.sizes.length - 1 ? "output" : `layer ${layer}`,
    );
    caption.style.left = `${g.pos(layer, 0).x + NODE / 2}px`;
    net.append(caption);
  });
}

/** Hidden neurons on their activation's range, and the two outputs as P(their class). */
function paintNeurons(net: HTMLElement, f: Frame, activation: string): void {
  f.neurons.forEach((layer, k) =>
    layer.forEach((values, i) => {
      const c = net.querySelector<HTMLCanvasElement>(`canvas[data-layer="${k + 1}"][data-index="${i}"]`);
      if (!c) return;
      let max = 1e-6;
      if (activation === "relu") for (const v of values) max = Math.max(max, v);
      // A linear neuron is unbounded: shown on ± its largest magnitude over the plane.
      if (activation === "linear") for (const v of values) max = Math.max(max, Math.abs(v));
      paintMap(c, values, f.res, activation === "sigmoid" ? (v) => 2 * v - 1 : activation === "relu" || activation === "linear" ? (v) => v / max : (v) => v);
    }),
  );
  const out = net.querySelectorAll<HTMLCanvasElement>(`canvas[data-layer="${f.weights.length}"]`);
  // Regression's one output is the value itself.
  out.forEach((c, i) => paintMap(c, f.output, f.res, f.problem === "regression" ? (v) => v : (p) => (i === 1 ? 2 * p - 1 : 1 - 2 * p)));
}

/** Each weight's colour and width (relative to the largest), and its value in its title. */
function paintWeights(net: HTMLElement, f: Frame): void {
  const maxW = Math.max(1e-6, ...f.weights.flatMap((l) => l.W.map(Math.abs)));
  net.querySelectorAll<SVGGElement>("g.cl-weight").forEach((g) => {
    const l = f.weights[Number(g.dataset.layer)];
    const w = l.W[Number(g.dataset.from) * l.outputs + Number(g.dataset.to)];
    const path = g.firstChild as SVGPathElement;
    path.setAttribute("stroke", `rgb(${(w >= 0 ? BLUE : ORANGE).join(",")})`);
    path.setAttribute("stroke-width", String(0.5 + 4.5 * Math.min(1, Math.abs(w) / maxW)));
    g.lastChild!.firstChild!.textContent = `${g.lastElementChild!.getAttribute("aria-label")} = ${fmt(w)}`;
  });
}

export function drawNet({ controls, ui: { net }, state }: ClassifyTab, f: Frame): void {
  const shape = JSON.stringify([chosenFeatures(controls), f.weights.map((l) => [l.inputs, l.outputs])]);
  if (shape !== state.built) {
    buildNet(net, f, chosenFeatures(controls));
    state.built = shape;
    chosenFeatures(controls).forEach((name, i) =>
      paintMap(net.querySelector<HTMLCanvasElement>(`canvas[data-layer="0"][data-index="${i}"]`)!, inputMap(name, f.res), f.res),
    );
  }
  paintNeurons(net, f, controls.act.value);
  paintWeights(net, f);
}
