/**
 * The computational graph of an explanation with a deterministic layered layout: inputs on the
 * left, each stage one layer right of its latest argument, one wire per use (x * x keeps two wires),
 * each wire carrying its forward value and the gradient that flows back along it.
 */
import { own, type Expr } from "./ast.js";
import { fmtNested, fmtNumber, type ExplainReport, type StageReport, type Value } from "./explain.js";
import { sumText } from "./format.js";
import { parseExpression } from "./parser.js";
import { printText } from "./print.js";

export interface GraphNode {
  id: string;
  kind: "input" | "stage" | "output";
  /** What is drawn in the node: the input's name, or the gate's operation (with its constants). */
  label: string;
  /** The stage's equation (for titles and tooltips). */
  title: string;
  x: number;
  y: number;
  r: number;
  /** Height of an input's box (it grows with the number of wires leaving it). */
  h: number;
  /** At fan-out, the gradient written as the sum of the wires' gradients ("3 + 3 + 2 = 8"). */
  sum: string | null;
  /** Character span of the stage in the source (for highlighting). */
  span: [number, number] | null;
}

export interface Point {
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** Forward value carried by the wire (green, above). */
  value: string;
  /** Gradient flowing back along this wire (blue, below); "not computed" when none reaches it. */
  grad: string;
  computed: boolean;
  /** The full forward value and gradient (tooltips): every digit, arrays with all their elements. */
  valueFull: string;
  gradFull: string;
  /** Local derivative d to / d from (small, near the consumer). */
  local: string;
  /** The local derivative in LaTeX (TikZ), "" where the wire shows none. */
  localLatex: string;
  /** The wire's route: from the source's port through one point per layer it crosses to the target's port. */
  points: Point[];
  /** Where the value (above) and gradient (below) labels are centred, and where the local derivative ends. */
  label: Point;
  localAt: Point;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

/** Shape of a number (none) or of a nested array, from its first elements. */
function shapeOfValue(v: Value): number[] {
  const shape: number[] = [];
  for (let x: Value = v; Array.isArray(x); x = (x as Value[])[0]) shape.push(x.length);
  return shape;
}

/** An array's shape as the figures write it: (3×2), (3) for a vector. */
export function shapeLabel(shape: readonly number[]): string {
  return `(${shape.join("×")})`;
}

/** Labels longer than this are drawn as their short form (the full text goes to a tooltip). */
const MAX_WIRE_CHARS = 20;
/** Arrays with at most this many elements show their values; larger ones their shape. */
const MAX_SHOWN_ELEMENTS = 6;

/**
 * Short text for a value on a wire: numbers to 4 significant digits, small arrays (at most 6
 * elements) compactly in full when that is short, other arrays as their shape, (3×2).
 */
export function wireText(v: Value | null): string {
  if (v === null) return "not computed";
  if (typeof v === "number") return fmtNumber(v);
  const shape = shapeOfValue(v);
  const size = shape.reduce((a, b) => a * b, 1);
  const compact = fmtNested(v, ", ");
  return size <= MAX_SHOWN_ELEMENTS && compact.length <= MAX_WIRE_CHARS ? compact : shapeLabel(shape);
}

/** Every digit of a value: numbers as JavaScript prints them, nested arrays with ", " between elements. */
function fullNested(v: Value): string {
  if (typeof v === "number") return String(v);
  return `[${(v as Value[]).map(fullNested).join(", ")}]`;
}

/** The full text behind a wire label (for a tooltip): arrays with their shape and every element. */
export function wireFullText(v: Value | null): string {
  if (v === null) return "not computed";
  if (typeof v === "number") return fullNested(v);
  return `${shapeLabel(shapeOfValue(v))} ${fullNested(v)}`;
}

const OP_SYMBOL = new Map<string, string>(Object.entries({ add: "+", sub: "−", mul: "×", div: "÷", pow: "^", matmul: "@", neg: "−", reciprocal: "1/x", id: "=", transpose: "ᵀ" }));

/** A constant operand on a gate: its number (− for negatives), π or e, or its text when short. */
function constantText(x: Expr): string {
  if (x.kind === "num") return String(x.value).replace(/^-/, "−");
  if (x.kind === "const") return x.name === "pi" ? "π" : "e";
  const t = printText(x).replace(/ /g, "").replace(/^-/, "−");
  return t.length <= 5 ? t : "c";
}

/** The gate's label: its operation, with constant operands folded in (×2, +1, ^3). */
function gateLabel(s: StageReport): string {
  // These symbols already name the whole operation; the 1 of 1/x is not an operand to fold in (it read 11/x).
  if (s.op === "reciprocal") return "1/x";
  if (s.op === "neg") return "−x";
  const e = parseExpression(s.expression);
  const sym = OP_SYMBOL.get(s.op) ?? s.op;
  if (e.kind === "bin") {
    const lc = e.left.kind !== "var";
    const rc = e.right.kind !== "var";
    if (rc && !lc) return `${sym}${constantText(e.right)}`;
    if (lc && !rc) return s.op === "pow" ? `${constantText(e.left)}^` : `${constantText(e.left)}${sym}`;
    return sym;
  }
  return sym;
}

const MIN_DX = 170;
/** Local derivatives longer than this (array VJPs) are left to the tables, not drawn on wires. */
const MAX_LOCAL = 18;
const DY = 100;
const R = 24;
const MARGIN = 50;

/** A local derivative short enough for a wire: long numbers (e's 2.718281828459045) to 4 digits, array VJPs left out. */
function localLabel(local: string): string {
  const t = /^-?\d+\.\d{5,}$/.test(local) ? fmtNumber(Number(local)) : local;
  return t.length <= MAX_LOCAL ? t : "";
}

/** Point at parameter t of the cubic from a to b with horizontal tangents (how wires are drawn). */
export function onWire(a: Point, b: Point, t: number): Point {
  const mx = (a.x + b.x) / 2;
  const u = 1 - t;
  return {
    x: u * u * u * a.x + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * b.x,
    y: u * u * u * a.y + 3 * u * u * t * a.y + 3 * u * t * t * b.y + t * t * t * b.y,
  };
}

interface Wire {
  from: string;
  to: string;
  argIndex: number;
  /** Ids of the layout slots the wire passes through: dummy nodes in the layers between its ends. */
  via: string[];
}

/**
 * Id of the output's node: "__out" (the playground relies on it), or "__out_1", ... when the program
 * itself uses that name, which would otherwise put an input or a stage in the output's place.
 */
export function outputId(r: ExplainReport): string {
  const taken = new Set([...r.inputs, ...r.stages.map((s) => s.name)]);
  let id = "__out";
  for (let k = 1; taken.has(id); k++) id = `__out_${k}`;
  return id;
}

/**
 * Lays the graph out; where some labels found no free place, lays it out again with more room between
 * rows and layers (up to twice as much) and keeps the layout with the fewest collisions. Very long
 * programs get one layout: their figure is an overview.
 */
export function buildGraph(r: ExplainReport): Graph {
  const order = orderSlots(r);
  let best = layoutGraph(r, order, 1);
  for (const spread of [1.25, 1.5, 2]) {
    if (best.collisions === 0 || r.stages.length > 300) break;
    const next = layoutGraph(r, order, spread);
    if (next.collisions < best.collisions) best = next;
  }
  return best.graph;
}

/** Where each slot goes: its layer and its row in the layer, and the wires with their dummy slots. */
interface Ordering {
  layer: Map<string, number>;
  layers: string[][];
  row: Map<string, number>;
  wires: Wire[];
  inputs: string[];
  out: string;
}

/**
 * Layers by longest path (inputs just before their leftmost consumer), one dummy slot per layer a
 * wire skips, and rows ordered by barycentre sweeps and neighbour swaps to remove crossings.
 */
function orderSlots(r: ExplainReport): Ordering {
  const layer = new Map<string, number>();
  const inputs = r.inputs.filter((n) => r.stages.some((s) => s.inputs.includes(n)));
  inputs.forEach((n) => layer.set(n, 0));
  for (const s of r.stages) layer.set(s.name, 1 + Math.max(0, ...s.inputs.map((i) => layer.get(i) ?? 0)));
  // An input sits just before its leftmost consumer, so a weight used late is drawn next to its gate
  // and no wire runs backwards.
  const firstUse = new Map<string, number>();
  for (const s of r.stages) for (const i of s.inputs) firstUse.set(i, Math.min(firstUse.get(i) ?? Infinity, layer.get(s.name)!));
  for (const n of inputs) layer.set(n, firstUse.get(n)! - 1);
  const OUT = outputId(r);
  layer.set(OUT, (layer.get(r.output) ?? 0) + 1);
  const layers: string[][] = [];
  const put = (id: string, l: number) => (layers[l] ??= []).push(id);
  // Each input in the layer it is drawn in, so that ordering the layer keeps it out of a gate's place.
  inputs.forEach((n) => put(n, layer.get(n)!));
  r.stages.forEach((s) => put(s.name, layer.get(s.name)!));
  put(OUT, layer.get(OUT)!);
  // Wires that skip layers get a dummy slot in each layer they cross, so they route around gates.
  const wires: Wire[] = [];
  const pred = new Map<string, string[]>();
  const addPred = (id: string, p: string) => {
    const list = pred.get(id);
    if (list) list.push(p);
    else pred.set(id, [p]);
  };
  // Dummy slots grow with the layers each wire skips: past a budget (huge graphs, where a figure is
  // only an overview) wires are drawn directly.
  let skipped = 0;
  r.stages.forEach((s) => s.inputs.forEach((from) => (skipped += Math.max(0, layer.get(s.name)! - layer.get(from)! - 1))));
  const route = skipped <= 5000;
  const wire = (from: string, to: string, argIndex: number) => {
    const via: string[] = [];
    let prev = from;
    for (let l = layer.get(from)! + 1; route && l < layer.get(to)!; l++) {
      const id = `~${wires.length}_${l}`;
      layer.set(id, l);
      put(id, l);
      addPred(id, prev);
      via.push(id);
      prev = id;
    }
    addPred(to, prev);
    wires.push({ from, to, argIndex, via });
  };
  r.stages.forEach((s) => s.inputs.forEach((from, k) => wire(from, s.name, k)));
  wire(r.output, OUT, 0);
  // Barycentre ordering: sweeps left to right (by predecessors) and right to left (by successors),
  // each slot moving to the mean row of its neighbours; ties keep the previous order.
  const succ = new Map<string, string[]>();
  for (const [id, ps] of pred) {
    for (const p of ps) {
      const list = succ.get(p);
      if (list) list.push(id);
      else succ.set(p, [id]);
    }
  }
  const row = new Map<string, number>();
  const place = (ids: string[]) => ids.forEach((id, i) => row.set(id, i - (ids.length - 1) / 2));
  layers.forEach((ids) => ids && place(ids));
  const sweep = (l: number, neighbours: Map<string, string[]>) => {
    const ids = layers[l];
    if (!ids) return;
    const bary = (id: string): number => {
      const ps = (neighbours.get(id) ?? []).map((p) => row.get(p) ?? 0);
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : (row.get(id) ?? 0);
    };
    const keys = new Map(ids.map((id, i) => [id, [bary(id), i] as const]));
    ids.sort((a, b) => keys.get(a)![0] - keys.get(b)![0] || keys.get(a)![1] - keys.get(b)![1]);
    place(ids);
  };
  // Keep the ordering with the fewest crossings over a few alternating sweeps.
  const crossings = (): number => {
    let c = 0;
    for (let l = 1; l < layers.length; l++) {
      const es: [number, number][] = [];
      for (const id of layers[l] ?? []) for (const p of pred.get(id) ?? []) es.push([row.get(p)!, row.get(id)!]);
      for (let i = 0; i < es.length; i++) for (let j = i + 1; j < es.length; j++) if ((es[i][0] - es[j][0]) * (es[i][1] - es[j][1]) < 0) c++;
    }
    return c;
  };
  const snapshot = () => layers.map((ids) => (ids ? [...ids] : ids));
  let best = snapshot();
  // Counting crossings is quadratic in the wires of a layer: big graphs keep the first ordering.
  let bestCross = wires.length > 2000 ? 0 : crossings();
  for (let round = 0; round < 4 && bestCross > 0; round++) {
    for (let l = 1; l < layers.length; l++) sweep(l, pred);
    let c = crossings();
    if (c < bestCross) [best, bestCross] = [snapshot(), c];
    for (let l = layers.length - 2; l >= 0; l--) sweep(l, succ);
    c = crossings();
    if (c < bestCross) [best, bestCross] = [snapshot(), c];
  }
  best.forEach((ids, l) => {
    if (ids) {
      layers[l] = ids;
      place(ids);
    }
  });
  // Then swap neighbours within a layer while that removes crossings (small graphs only: it is quadratic).
  if (bestCross > 0 && layer.size < 300) {
    for (let improved = true, guard = 0; improved && guard < 20; guard++) {
      improved = false;
      layers.forEach((ids) => {
        if (!ids) return;
        for (let i = 0; i + 1 < ids.length; i++) {
          const before = crossings();
          [ids[i], ids[i + 1]] = [ids[i + 1], ids[i]];
          place(ids);
          if (crossings() < before) improved = true;
          else {
            [ids[i], ids[i + 1]] = [ids[i + 1], ids[i]];
            place(ids);
          }
        }
      });
    }
  }
  return { layer, layers, row, wires, inputs, out: OUT };
}

function layoutGraph(r: ExplainReport, order: Ordering, spread: number): { graph: Graph; collisions: number } {
  const { layer, layers, row, wires, inputs, out: OUT } = order;
  const stageBy = new Map(r.stages.map((s) => [s.name, s]));
  const rows = layers.reduce((m, ids) => Math.max(m, ids ? ids.length : 0), 1);
  const dy = DY * spread;
  const height = (rows - 1) * dy + 2 * MARGIN + 40;
  const mid = height / 2;
  // Layers are as far apart as the longest wire label needs.
  let labelChars = 0;
  for (const s of r.stages) labelChars = Math.max(labelChars, wireText(s.value).length, wireText(s.grad).length);
  for (const n of r.inputs) labelChars = Math.max(labelChars, wireText(own(r.inputValues, n) ?? null).length);
  // ... and the local derivative beside it, near the consumer.
  const localChars = r.edges.reduce((m, e) => Math.max(m, localLabel(e.local).length + 2), 0);
  const DX = spread * Math.max(MIN_DX, labelChars * 7.5 + 70, textWidth("0".repeat(labelChars), 13) + textWidth("0".repeat(localChars), 9) + 2 * R + 40);
  const at = (id: string): Point => ({ x: MARGIN + 30 + layer.get(id)! * DX, y: mid + row.get(id)! * dy });
  const nodes: GraphNode[] = [];
  const fanouts = new Map<string, number>();
  for (const w of wires) fanouts.set(w.from, (fanouts.get(w.from) ?? 0) + 1);
  const fanout = (id: string) => fanouts.get(id) ?? 0;
  const stageIndex = new Map(r.stages.map((s, i) => [s.name, i]));
  const edgesFrom = new Map<string, typeof r.edges>();
  for (const e of r.edges) {
    const list = edgesFrom.get(e.from);
    if (list) list.push(e);
    else edgesFrom.set(e.from, [e]);
  }
  const fanSum = (id: string): string | null => {
    if (fanout(id) < 2) return null;
    const order = (to: string) => stageIndex.get(to) ?? 0;
    const parts = (edgesFrom.get(id) ?? []).filter((e) => e.contribution !== null).sort((a, b) => order(a.to) - order(b.to) || a.argIndex - b.argIndex);
    if (fanout(id) < 2 || parts.length < 2) return null;
    const total = own(r.inputValues, id) !== undefined ? (own(r.gradients, id) ?? null) : (stageBy.get(id)?.grad ?? null);
    return `${sumText(parts.map((e) => wireText(e.contribution)))} = ${wireText(total ?? null)}`;
  };
  const spacing = (n: number) => (n > 1 ? Math.min(40, 60 / (n - 1)) : 0);
  for (const n of inputs) nodes.push({ id: n, kind: "input", label: n, title: `${n} = ${wireFullText(own(r.inputValues, n) ?? null)}`, ...at(n), r: R, h: Math.max(32, (fanout(n) - 1) * spacing(fanout(n)) + 20), sum: fanSum(n), span: null });
  for (const s of r.stages) nodes.push({ id: s.name, kind: "stage", label: gateLabel(s), title: s.equation, ...at(s.name), r: R, h: 2 * R, sum: fanSum(s.name), span: s.span });
  const outPt = { x: at(OUT).x - DX / 2, y: at(OUT).y };
  nodes.push({ id: OUT, kind: "output", label: r.output, title: `output ${r.output}`, ...outPt, r: 0, h: 0, sum: null, span: null });
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Ports spread over the circle so that wires into or out of one gate do not meet in a point.
  const port = (id: string, other: Point, side: 1 | -1, k: number, n: number): Point => {
    const node = byId.get(id)!;
    if (node.kind === "output") return { x: node.x - 4, y: node.y };
    if (node.kind === "input") return { x: node.x + side * node.r, y: node.y + (k - (n - 1) / 2) * spacing(n) };
    const theta = n > 1 ? ((k - (n - 1) / 2) / ((n - 1) / 2)) * (Math.PI / 3) : 0;
    void other;
    return { x: node.x + side * node.r * Math.cos(theta), y: node.y + node.r * Math.sin(theta) };
  };
  const firstHop = (w: Wire): Point => (w.via.length ? at(w.via[0]) : w.to === OUT ? outPt : at(w.to));
  const lastHop = (w: Wire): Point => (w.via.length ? at(w.via[w.via.length - 1]) : at(w.from));
  // Wires grouped by end, each group sorted once (index lookups keep big graphs linear).
  const group = (key: (w: Wire) => string, hop: (w: Wire) => Point) => {
    const m = new Map<string, Wire[]>();
    for (const w of wires) {
      const list = m.get(key(w));
      if (list) list.push(w);
      else m.set(key(w), [w]);
    }
    const index = new Map<Wire, [number, number]>();
    for (const list of m.values()) {
      list.sort((a, b) => hop(a).y - hop(b).y || a.argIndex - b.argIndex);
      list.forEach((w, i) => index.set(w, [i, list.length]));
    }
    return index;
  };
  const outIndex = group((w) => w.from, firstHop);
  const inIndex = group((w) => w.to, lastHop);
  const edgeBy = new Map(r.edges.map((e) => [`${e.to}#${e.argIndex}`, e]));
  const valueOf = (name: string): Value => own(r.inputValues, name) ?? stageBy.get(name)!.value;
  const edges: GraphEdge[] = wires.map((w) => {
    const [ko, no] = outIndex.get(w)!;
    const [ki, ni] = inIndex.get(w)!;
    const start = port(w.from, firstHop(w), 1, ko, no);
    const end = port(w.to, lastHop(w), -1, ki, ni);
    const points = [start, ...w.via.map(at), end];
    const e = w.to === OUT ? null : edgeBy.get(`${w.to}#${w.argIndex}`);
    // Labels of wires leaving one node are staggered along the wire so they do not stack up.
    const t = no > 1 ? 0.3 + (0.4 * ko) / (no - 1) : 0.5;
    const label = onWire(points[0], points[1], t);
    const tail = points[points.length - 2];
    const value = w.to === OUT ? r.value : valueOf(w.from);
    const grad = w.to === OUT ? 1 : (e?.contribution ?? null);
    const local = e ? localLabel(e.local) : "";
    return {
      from: w.from,
      to: w.to,
      value: wireText(value),
      grad: wireText(grad),
      valueFull: wireFullText(value),
      gradFull: wireFullText(grad),
      computed: w.to === OUT || (!!e && e.contribution !== null),
      local,
      // Only where the SVG draws one, so that both figures show the same derivatives.
      localLatex: local && e?.localLatex ? e.localLatex : "",
      points,
      label,
      localAt: onWire(tail, end, 0.88),
    };
  });
  const graph = { nodes, edges, width: outPt.x + MARGIN + 20, height };
  const collisions = placeLabels(graph);
  fitBounds(graph);
  return { graph, collisions };
}

/** An axis-aligned box in SVG units. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A text the SVG figure draws: where its baseline is, how it is anchored, and what it belongs to. */
export interface FigureText {
  text: string;
  x: number;
  /** The baseline. */
  y: number;
  anchor: "start" | "middle" | "end";
  size: number;
  bold: boolean;
  /** What the text is ("value of x -> a", "name of a", ...), for reports. */
  what: string;
  /** Nodes the text belongs to: it may touch them. */
  owners: string[];
}

/** Width of a text: DejaVu Sans averages about 0.6 em a character (0.65 em bold). */
export function textWidth(text: string, size: number, bold = false): number {
  return [...text].length * size * (bold ? 0.65 : 0.6);
}

/** The box a text covers: ascent 0.8 em above the baseline, descent 0.25 em below. */
export function textBox(t: FigureText): Box {
  const w = textWidth(t.text, t.size, t.bold);
  const x0 = t.anchor === "start" ? t.x : t.anchor === "middle" ? t.x - w / 2 : t.x - w;
  return { x0, x1: x0 + w, y0: t.y - 0.8 * t.size, y1: t.y + 0.25 * t.size };
}

/** Offsets of the texts around wires and nodes, shared with the SVG renderer. */
export const TEXT = { valueAbove: 7, gradBelow: 17, localAbove: 6, sumBelow: 16, nameAbove: 6, legendUp: 14 } as const;

/** The texts the SVG draws outside the nodes (wire labels, sums, stage names, output, legend). */
export function figureTexts(g: Graph): FigureText[] {
  const out: FigureText[] = [];
  for (const e of g.edges) {
    const wire = `${e.from} -> ${e.to}`;
    const owners = [e.from, e.to];
    out.push({ text: e.value, x: e.label.x, y: e.label.y - TEXT.valueAbove, anchor: "middle", size: 13, bold: false, what: `value of ${wire}`, owners });
    out.push({ text: e.computed ? e.grad : "not computed", x: e.label.x, y: e.label.y + TEXT.gradBelow, anchor: "middle", size: e.computed ? 13 : 11, bold: false, what: `gradient of ${wire}`, owners });
    if (e.local) out.push({ text: `∂ ${e.local}`, x: e.localAt.x, y: e.localAt.y - TEXT.localAbove, anchor: "end", size: 9, bold: false, what: `local derivative of ${wire}`, owners: [e.to] });
  }
  for (const n of g.nodes) {
    if (n.sum) {
      const below = n.kind === "input" ? n.h / 2 : n.r;
      out.push({ text: `Σ ${n.sum}`, x: n.x, y: n.y + below + TEXT.sumBelow, anchor: "middle", size: 11, bold: false, what: `sum at ${n.id}`, owners: [n.id] });
    }
    if (n.kind === "output") out.push({ text: n.label, x: n.x + 2, y: n.y + 5, anchor: "start", size: 15, bold: false, what: "output", owners: [n.id] });
    if (n.kind === "stage") out.push({ text: n.id, x: n.x, y: n.y - n.r - TEXT.nameAbove, anchor: "middle", size: 12, bold: true, what: `name of ${n.id}`, owners: [n.id] });
  }
  const legendY = Math.ceil(g.height) + 40 - TEXT.legendUp;
  const legend: [string, number][] = [["forward value (above each wire)", 12], ["gradient (below each wire)", 220], ["∂ local derivative", 400]];
  for (const [text, x] of legend) out.push({ text, x, y: legendY, anchor: "start", size: 11, bold: false, what: "legend", owners: ["legend"] });
  return out;
}

function overlaps(a: Box, b: Box, pad: number): boolean {
  return a.x0 < b.x1 + pad && b.x0 < a.x1 + pad && a.y0 < b.y1 + pad && b.y0 < a.y1 + pad;
}

/** Boxes taken so far, in a grid of buckets so that a collision query looks at its neighbourhood only. */
class Taken {
  private readonly cells = new Map<string, Box[]>();
  private static readonly CELL = 100;

  private keys(b: Box): string[] {
    const c = Taken.CELL;
    const out: string[] = [];
    for (let i = Math.floor(b.x0 / c); i <= Math.floor(b.x1 / c); i++) for (let j = Math.floor(b.y0 / c); j <= Math.floor(b.y1 / c); j++) out.push(`${i},${j}`);
    return out;
  }

  add(b: Box): void {
    for (const k of this.keys(b)) {
      const list = this.cells.get(k);
      if (list) list.push(b);
      else this.cells.set(k, [b]);
    }
  }

  remove(b: Box): void {
    for (const k of this.keys(b)) this.cells.set(k, (this.cells.get(k) ?? []).filter((o) => o !== b));
  }

  /** How many taken boxes b meets (a box in several buckets counts once). */
  hits(b: Box, pad = 2): number {
    const met = new Set<Box>();
    for (const k of this.keys(b)) for (const o of this.cells.get(k) ?? []) if (overlaps(o, b, pad)) met.add(o);
    return met.size;
  }

  /** Roughly how many boxes b meets, leaving out those skip names (a box in two buckets may count twice). */
  touches(b: Box, skip: (o: Box) => boolean): number {
    let n = 0;
    for (const k of this.keys(b)) for (const o of this.cells.get(k) ?? []) if (overlaps(o, b, 0) && !skip(o)) n++;
    return n;
  }
}

function nodeBox(n: GraphNode): Box {
  const h = n.kind === "input" ? n.h / 2 : n.r;
  return { x0: n.x - n.r, x1: n.x + n.r, y0: n.y - h, y1: n.y + h };
}

function unionBox(a: Box, b: Box): Box {
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/** Where along a wire its labels may go: the first segment first (near the source), then the others. */
const LABEL_T = [0.5, 0.35, 0.65, 0.25, 0.75, 0.42, 0.58, 0.18, 0.82, 0.3, 0.7, 0.12, 0.88, 0.46, 0.54, 0.22, 0.78];
/** The local derivative stays near the consumer: along the last segment, above the wire or below it. */
const LOCAL_T = [0.88, 0.8, 0.72, 0.64, 0.56];

function pairTexts(e: GraphEdge, at: Point): Box {
  const base = { x: at.x, anchor: "middle" as const, bold: false, what: "", owners: [] };
  const v = textBox({ ...base, text: e.value, y: at.y - TEXT.valueAbove, size: 13 });
  const g = textBox({ ...base, text: e.computed ? e.grad : "not computed", y: at.y + TEXT.gradBelow, size: e.computed ? 13 : 11 });
  return unionBox(v, g);
}

function localText(e: GraphEdge, at: Point): Box {
  return textBox({ text: `∂ ${e.local}`, x: at.x, y: at.y - TEXT.localAbove, anchor: "end", size: 9, bold: false, what: "", owners: [] });
}

/** Marks along every wire, so that labels avoid sitting on wires other than their own. */
class WireMarks {
  private readonly taken = new Taken();
  private readonly owner = new Map<Box, GraphEdge>();

  constructor(edges: GraphEdge[]) {
    for (const e of edges) {
      for (let i = 1; i < e.points.length; i++) {
        const [a, b] = [e.points[i - 1], e.points[i]];
        const steps = Math.max(2, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 12));
        for (let k = 0; k <= steps; k++) {
          const q = onWire(a, b, k / steps);
          const box = { x0: q.x - 1, x1: q.x + 1, y0: q.y - 1, y1: q.y + 1 };
          this.taken.add(box);
          this.owner.set(box, e);
        }
      }
    }
  }

  /** How many marks of other wires b covers. */
  crossed(b: Box, e: GraphEdge): number {
    return this.taken.touches(b, (o) => this.owner.get(o) === e);
  }
}

/**
 * The candidate that meets the fewest taken boxes, and among those the fewest marks of other wires
 * (the first such one), with its box and how many taken boxes it meets.
 */
function leastHit(candidates: Point[], box: (p: Point) => Box, taken: Taken, wires?: (b: Box) => number): { at: Point; box: Box; hits: number } {
  let best = { at: candidates[0], box: box(candidates[0]), hits: Infinity };
  let bestScore = Infinity;
  for (const at of candidates) {
    const b = box(at);
    const hits = taken.hits(b);
    if (hits > best.hits) continue;
    // A collision with a label or node always weighs more than crossing wires.
    const score = hits * 1e6 + (wires ? wires(b) : 0);
    if (score < bestScore) [best, bestScore] = [{ at, box: b, hits }, score];
    if (score === 0) break;
  }
  return best;
}

function localCandidates(e: GraphEdge): Point[] {
  const [a, b] = [e.points[e.points.length - 2], e.points[e.points.length - 1]];
  const along = LOCAL_T.map((t) => onWire(a, b, t));
  // Below the wire: the text's top just under it.
  return [e.localAt, ...along, ...along.map((q) => ({ x: q.x, y: q.y + 18 }))];
}

function labelCandidates(e: GraphEdge): Point[] {
  const p = e.points;
  return [e.label, ...p.slice(0, -1).flatMap((a, i) => LABEL_T.map((t) => onWire(a, p[i + 1], t)))];
}

/**
 * A wire whose value and gradient found no free place gets its local derivative moved: each place of
 * the local derivative is tried with each place of the labels, keeping the first pair that fits.
 */
function placeJointly(e: GraphEdge, localBox: Box, taken: Taken, wires: WireMarks): boolean {
  taken.remove(localBox);
  const pairs = labelCandidates(e);
  for (const lc of localCandidates(e)) {
    const lb = localText(e, lc);
    if (taken.hits(lb)) continue;
    taken.add(lb);
    const pair = leastHit(pairs, (at) => pairTexts(e, at), taken, (b) => wires.crossed(b, e));
    if (pair.hits === 0) {
      [e.localAt, e.label] = [lc, pair.at];
      taken.add(pair.box);
      return true;
    }
    taken.remove(lb);
  }
  taken.add(localBox);
  return false;
}

/**
 * Moves each wire's labels to the first place along it where they collide with no node and no label
 * placed before them: node texts are fixed, then local derivatives (they must stay near the consumer),
 * then values and gradients. Returns how many collisions were left.
 */
function placeLabels(g: Graph): number {
  let collisions = 0;
  const taken = new Taken();
  for (const n of g.nodes) if (n.kind !== "output") taken.add(nodeBox(n));
  for (const t of figureTexts({ ...g, edges: [] })) {
    if (t.what === "legend") continue;
    // Names and sums stay at their node; one meeting another node or text asks for more room.
    const box = textBox(t);
    collisions += taken.hits(box);
    taken.add(box);
  }
  // Wire marks cost time in the number of wires near a label: big figures (overviews) go without.
  const wires = new WireMarks(g.edges.length <= 300 ? g.edges : []);
  const localBoxes = new Map<GraphEdge, Box>();
  for (const e of g.edges) {
    if (!e.local) continue;
    const best = leastHit(localCandidates(e), (at) => localText(e, at), taken, (b) => wires.crossed(b, e));
    collisions += best.hits;
    e.localAt = best.at;
    taken.add(best.box);
    localBoxes.set(e, best.box);
  }
  for (const e of g.edges) {
    const best = leastHit(labelCandidates(e), (at) => pairTexts(e, at), taken, (b) => wires.crossed(b, e));
    const local = localBoxes.get(e);
    if (best.hits > 0 && local && placeJointly(e, local, taken, wires)) continue;
    collisions += best.hits;
    e.label = best.at;
    taken.add(best.box);
  }
  return collisions;
}

/** Shifts the drawing so that every node and text lies inside it, and sizes it to fit them all. */
function fitBounds(g: Graph): void {
  const pad = 8;
  let box: Box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const n of g.nodes) if (n.kind !== "output") box = unionBox(box, nodeBox(n));
  for (const t of figureTexts(g)) if (t.what !== "legend") box = unionBox(box, textBox(t));
  const dx = Math.max(0, pad - box.x0);
  const dy = Math.max(0, pad - box.y0);
  const move = (q: Point) => ({ x: q.x + dx, y: q.y + dy });
  for (const n of g.nodes) Object.assign(n, move(n));
  for (const e of g.edges) {
    e.points = e.points.map(move);
    e.label = move(e.label);
    e.localAt = move(e.localAt);
  }
  // The legend's three entries take about 500 units.
  g.width = Math.max(g.width + dx, box.x1 + dx + pad, 520);
  g.height = Math.max(g.height + dy, box.y1 + dy + pad);
}
