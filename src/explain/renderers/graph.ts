/**
 * The computational graph of an explanation, laid out by ELK's layered algorithm (deterministic):
 * inputs on the left, one wire per use (x * x keeps two wires), each wire carrying its forward value
 * and the gradient that flows back along it.
 */
import ElkWorkerModule from "elkjs/lib/elk-worker.min.js";
import type { ElkExtendedEdge, ElkLabel, ElkNode, ElkPort } from "elkjs/lib/elk-api.js";
import { own } from "../language/ast.js";
import { fmtNested, fmtNumber, valueShape, type ExplainReport, type ForwardReport, type StageReport, type Value } from "../report/report.js";
import { sumText } from "./format.js";

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
  /** Forward mode: the tangents riding forward with the value, one per seed (violet, above the value). */
  tangent?: string;
  tangentFull?: string;
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
  /** "orthogonal": points are joined by straight segments; absent: by cubics with horizontal tangents. */
  route?: "orthogonal";
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Forward mode: the legend of the tangents ("tangent d/dx (top)"). */
  tangentLegend?: string;
  width: number;
  height: number;
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
 * elements) compactly in full when that is short, other arrays as their shape, (3×2). Arrays of 3 or
 * more axes (a convolution's (N×C×H×W) images) always as their shape: there it is what the wire teaches.
 */
export function wireText(v: Value | null): string {
  if (v === null) return "not computed";
  if (typeof v === "number") return fmtNumber(v);
  const shape = valueShape(v);
  if (shape.length >= 3) return shapeLabel(shape);
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
  return `${shapeLabel(valueShape(v))} ${fullNested(v)}`;
}

const OP_SYMBOL = new Map<string, string>(
  Object.entries({
    sigmoid: "σ",
    maximum: "max",
    minimum: "min",
    add: "+",
    sub: "−",
    mul: "×",
    div: "÷",
    pow: "^",
    matmul: "@",
    neg: "−",
    reciprocal: "1/x",
    id: "=",
    transpose: "ᵀ",
  }),
);

/** A constant operand on a gate: its number (− for negatives), π or e, or its text when short. */
function constantText(text: string): string {
  const t = text.replace(/ /g, "").replace(/^-/, "−");
  if (t === "pi") return "π";
  return t.length <= 5 ? t : "c";
}

/** The gate's label: its operation, with constant operands folded in (×2, +1, ^3), read from the report's operands. */
function gateLabel(s: StageReport): string {
  // These symbols already name the whole operation; the 1 of 1/x is not an operand to fold in (it read 11/x).
  if (s.op === "reciprocal") return "1/x";
  if (s.op === "neg") return "−x";
  const sym = OP_SYMBOL.get(s.op) ?? s.op;
  // A pool's window is part of its name: maxpool 2×2 (its kernel, the operand after the array).
  if ((s.op === "maxpool" || s.op === "avgpool") && s.operands[1]?.kind === "constant") return `${sym} ${s.operands[1].text}×${s.operands[1].text}`;
  if (s.operands.length === 2) {
    const [l, r] = s.operands;
    // A function of two arguments keeps its parentheses, the operand's place a dot: min(·,2).
    const call = s.op === "maximum" || s.op === "minimum" || s.op === "mse" || s.op === "softmax_ce";
    if (r.kind === "constant" && l.kind === "name") return call ? `${sym}(·,${constantText(r.text)})` : `${sym}${constantText(r.text)}`;
    if (l.kind === "constant" && r.kind === "name")
      return call ? `${sym}(${constantText(l.text)},·)` : s.op === "pow" ? `${constantText(l.text)}^` : `${constantText(l.text)}${sym}`;
  }
  return sym;
}

/** Local derivatives longer than this (array VJPs) are left to the tables, not drawn on wires. */
const MAX_LOCAL = 18;
/** Smallest gate radius and input box; gates grow to hold their operation. */
const R = 24;
/** Room around the drawing. */
const PAD = 8;
/** Width over height (legend included) past which a long figure folds into rows: the 3:1 geometry.ts allows. */
const FOLD_ASPECT = 3;
/** Figures of at most this many layers stay in one row (geometry.ts's FOLD_LAYERS): folded, they read worse. */
const FOLD_LAYERS = 6;

/** A local derivative short enough for a wire: long numbers (e's 2.718281828459045) to 4 digits, array VJPs left out. */
function localLabel(local: string): string {
  const t = /^-?\d+\.\d{5,}$/.test(local) ? fmtNumber(Number(local)) : local;
  return t.length <= MAX_LOCAL ? t : "";
}

/** Point at parameter t of the cubic from a to b with horizontal tangents (how curved wires are drawn). */
export function onWire(a: Point, b: Point, t: number): Point {
  const mx = (a.x + b.x) / 2;
  const u = 1 - t;
  return {
    x: u * u * u * a.x + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * b.x,
    y: u * u * u * a.y + 3 * u * u * t * a.y + 3 * u * t * t * b.y + t * t * t * b.y,
  };
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

/** Radius of a gate that holds its operation's text with 3 units to spare (wider texts grow the circle). */
function gateRadius(label: string): number {
  const size = gateFontSize(label);
  // The text's box runs from 0.47 em above the centre to 0.58 em below it (baseline at size / 3).
  return Math.max(R, Math.ceil(Math.hypot(textWidth(label, size) / 2, 0.59 * size) + 3));
}

/** One use of a value: a wire from its producer to one operand of a consumer (or to the output). */
interface Wire {
  from: string;
  to: string;
  argIndex: number;
}

/**
 * Lays the graph out with ELK's layered algorithm (elkjs, the Eclipse Layout Kernel compiled to
 * JavaScript): inputs as boxes and gates as circles, one port per operand in operand order and one per
 * use, each wire's value/gradient pair as one inline label the wire runs through, the local derivative
 * as a head label near its consumer, names above the gates and fan-out sums below them as node labels,
 * so the engine keeps them all apart. Long programs fold into rows (layoutWithElk).
 *
 * Why ELK and not Graphviz (@viz-js/viz, dot): measured on the course exercises and 200 random
 * programs (geometry.ts), ELK left no defect; dot left about 10,000 label/label and 6,800 label/wire
 * overlaps, since it puts edge labels beside their wire and head labels without avoiding anything, and
 * it cannot fold. Both bundle to about 470 kB gzipped and need nothing fetched at run time; dot is
 * faster (about 170 ms a random program against about 600 ms) but needs an async start (issue 15).
 */
export function buildGraph(r: ExplainReport): Graph {
  const OUT = outputId(r);
  const wires: Wire[] = [];
  r.stages.forEach((s) => s.inputs.forEach((from, k) => wires.push({ from, to: s.name, argIndex: k })));
  wires.push({ from: r.output, to: OUT, argIndex: 0 });
  const nodes = graphNodes(r, OUT, wires);
  const edges = graphEdges(r, OUT, wires);
  const graph: Graph = { nodes, edges, width: 0, height: 0 };
  if (r.forward) addTangents(graph, r.forward);
  if (edges.length > MAX_ELK_WIRES || layersSkipped(r) > MAX_ELK_SKIPPED) layoutOverview(graph);
  else
    layoutWithElk(
      graph,
      wires.map((w) => w.argIndex),
    );
  return graph;
}

/** The boxes of the inputs used, the gates of the stages and the output's name (`OUT`), not yet placed. */
function graphNodes(r: ExplainReport, OUT: string, wires: readonly Wire[]): GraphNode[] {
  const inputs = r.inputs.filter((n) => r.stages.some((s) => s.inputs.includes(n)));
  const outWires = new Map<string, Wire[]>();
  for (const w of wires) outWires.set(w.from, [...(outWires.get(w.from) ?? []), w]);
  const stageIndex = new Map(r.stages.map((s, i) => [s.name, i]));
  const fanout = (id: string) => outWires.get(id)?.length ?? 0;
  const sum = (id: string) => fanSum(r, id, fanout(id), stageIndex);
  const nodes: GraphNode[] = [];
  for (const n of inputs) {
    const w = Math.max(2 * R, Math.ceil(textWidth(n, 15)) + 12);
    nodes.push({
      id: n,
      kind: "input",
      label: n,
      title: `${n} = ${wireFullText(own(r.inputValues, n) ?? null)}`,
      x: 0,
      y: 0,
      r: w / 2,
      h: Math.max(32, 14 * fanout(n) + 6),
      sum: sum(n),
      span: null,
    });
  }
  for (const s of r.stages) {
    const label = gateLabel(s);
    const rr = gateRadius(label);
    nodes.push({ id: s.name, kind: "stage", label, title: s.equation, x: 0, y: 0, r: rr, h: 2 * rr, sum: sum(s.name), span: s.span });
  }
  nodes.push({ id: OUT, kind: "output", label: r.output, title: `output ${r.output}`, x: 0, y: 0, r: 0, h: 0, sum: null, span: null });
  return nodes;
}

/** Where a value feeds several wires (`fanout`), its gradient as the sum of their contributions, in stage order. */
function fanSum(r: ExplainReport, id: string, fanout: number, stageIndex: ReadonlyMap<string, number>): string | null {
  if (fanout < 2) return null;
  const order = (to: string) => stageIndex.get(to) ?? 0;
  const parts = r.edges.filter((e) => e.from === id && e.contribution !== null).sort((a, b) => order(a.to) - order(b.to) || a.argIndex - b.argIndex);
  if (parts.length < 2) return null;
  const k = stageIndex.get(id);
  const total = own(r.inputValues, id) !== undefined ? (own(r.gradients, id) ?? null) : k !== undefined ? r.stages[k].grad : null;
  return `${sumText(parts.map((e) => wireText(e.contribution)))} = ${wireText(total ?? null)}`;
}

/** One edge per wire with its value, gradient and local derivative texts, not yet routed. */
function graphEdges(r: ExplainReport, OUT: string, wires: readonly Wire[]): GraphEdge[] {
  const stageBy = new Map(r.stages.map((s) => [s.name, s]));
  const edgeBy = new Map(r.edges.map((e) => [`${e.to}#${e.argIndex}`, e]));
  const valueOf = (name: string): Value => own(r.inputValues, name) ?? stageBy.get(name)!.value;
  return wires.map((w) => {
    const e = w.to === OUT ? null : edgeBy.get(`${w.to}#${w.argIndex}`);
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
      points: [],
      label: { x: 0, y: 0 },
      localAt: { x: 0, y: 0 },
      route: "orthogonal",
    };
  });
}

/** Forward mode: each wire carries its source's tangents (one per seed; several as a tuple, in seed order). */
function addTangents(g: Graph, f: ForwardReport): void {
  for (const e of g.edges) {
    const ts = f.sweeps.map((s) => own(s.tangents, e.from) ?? null);
    const tuple = `(${ts.map(wireText).join(", ")})`;
    // A long tuple of arrays reads as their shapes, as one long array does.
    const short =
      tuple.length <= MAX_WIRE_CHARS + 10
        ? tuple
        : `(${ts.map((t) => (t === null || typeof t === "number" ? wireText(t) : shapeLabel(valueShape(t)))).join(", ")})`;
    e.tangent = ts.length === 1 ? wireText(ts[0]) : short;
    e.tangentFull = ts.map((t, k) => `d${e.from}/d${f.seeds[k]} = ${wireFullText(t)}`).join("; ");
  }
  g.tangentLegend = f.seeds.length === 1 ? `tangent d/d${f.seeds[0]} (top)` : `tangents d/d(${f.seeds.join(", ")}) (top)`;
}

/**
 * Past this many wires, or layers skipped by wires (ELK routes a wire through a dummy node in each),
 * ELK takes seconds and gigabytes (a 3000-stage product, x^x^...^x of 190 stages: 17,766 skipped):
 * the figure is an overview. Random programs of 150 stages skip at most about 720.
 */
const MAX_ELK_WIRES = 800;
const MAX_ELK_SKIPPED = 2500;

/** Layers skipped by all wires together, stages one layer right of their latest argument. */
function layersSkipped(r: ExplainReport): number {
  const layer = new Map<string, number>();
  for (const s of r.stages) layer.set(s.name, 1 + Math.max(0, ...s.inputs.map((i) => layer.get(i) ?? 0)));
  const firstUse = new Map<string, number>();
  for (const s of r.stages) for (const i of s.inputs) firstUse.set(i, Math.min(firstUse.get(i) ?? Infinity, layer.get(s.name)!));
  // Inputs sit just before their first consumer.
  for (const n of r.inputs) if (firstUse.has(n)) layer.set(n, firstUse.get(n)! - 1);
  let skipped = 0;
  for (const s of r.stages) for (const i of s.inputs) skipped += Math.max(0, layer.get(s.name)! - (layer.get(i) ?? 0) - 1);
  return skipped;
}

/**
 * The overview of a very long program, in linear time: each node one column right of its latest
 * producer (inputs just before their first consumer), stacked in its column, straight wires, labels
 * at their middles. Readable in parts only; the tables carry the numbers.
 */
function layoutOverview(g: Graph): void {
  const column = new Map<string, number>();
  const firstUse = new Map<string, number>();
  for (const e of g.edges) {
    const c = Math.max(column.get(e.to) ?? 1, (column.get(e.from) ?? 0) + 1);
    column.set(e.to, c);
  }
  for (const e of g.edges) firstUse.set(e.from, Math.min(firstUse.get(e.from) ?? Infinity, column.get(e.to)!));
  const height = new Map<number, number>();
  for (const n of g.nodes) {
    const c = column.get(n.id) ?? (firstUse.get(n.id) ?? 1) - 1;
    const row = height.get(c) ?? 0;
    height.set(c, row + 1);
    Object.assign(n, { x: 60 + 220 * c, y: 60 + 120 * row });
  }
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  for (const e of g.edges) {
    const [a, b] = [byId.get(e.from)!, byId.get(e.to)!];
    e.points = [
      { x: a.x + a.r, y: a.y },
      { x: b.kind === "output" ? b.x - 4 : b.x - b.r, y: b.y },
    ];
    e.label = { x: (e.points[0].x + e.points[1].x) / 2, y: (e.points[0].y + e.points[1].y) / 2 };
    e.localAt = { x: e.points[1].x - 2, y: e.points[1].y };
  }
  fitBounds(g);
}

/** The part of elkjs's worker this module drives: its dispatcher runs a layout synchronously. */
interface ElkWorker {
  dispatcher: {
    saveDispatch(message: {
      data: { id: number; cmd: string; graph?: ElkNode; algorithms?: string[]; layoutOptions?: Record<string, string>; options?: object };
    }): void;
  };
  onmessage: (message: { data: { id: number; data?: ElkNode; error?: unknown } }) => void;
}

let elk: { worker: ElkWorker; reply: { data?: ElkNode; error?: unknown } } | null = null;

/**
 * ELK's layout, synchronously. elkjs's public API answers with a Promise only because it may run in a
 * Web Worker; its bundled worker computes the layout synchronously in the dispatcher it calls, which
 * keeps buildGraph (and every renderer, the CLI and the playground) synchronous.
 */
function elkLayout(graph: ElkNode): ElkNode {
  if (!elk) {
    const worker = new (ElkWorkerModule as unknown as { Worker: new () => ElkWorker }).Worker();
    const state: { worker: ElkWorker; reply: { data?: ElkNode; error?: unknown } } = { worker, reply: {} };
    worker.onmessage = (m) => (state.reply = m.data);
    worker.dispatcher.saveDispatch({ data: { id: 0, cmd: "register", algorithms: ["layered"] } });
    elk = state;
  }
  elk.reply = {};
  elk.worker.dispatcher.saveDispatch({ data: { id: 1, cmd: "layout", graph, layoutOptions: {}, options: {} } });
  const { data, error } = elk.reply;
  if (error !== undefined || !data) throw new Error(`graph layout failed: ${error instanceof Error ? error.message : String(error)}`);
  return data;
}

/** The ELK options: left to right, orthogonal wires, ports in the order given. */
const ELK_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.padding": "[top=0,left=0,bottom=0,right=0]",
  "elk.spacing.nodeNode": "24",
  "elk.spacing.edgeNode": "14",
  "elk.spacing.edgeEdge": "12",
  "elk.spacing.edgeLabel": "2",
  "elk.spacing.labelNode": "0",
  "elk.spacing.labelLabel": "4",
  "elk.layered.spacing.nodeNodeBetweenLayers": "28",
  "elk.layered.spacing.edgeNodeBetweenLayers": "14",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "12",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  // Thoroughness 2 of 7 halves the time of big layouts and, measured, leaves the same figures readable.
  "elk.layered.thoroughness": "2",
  "elk.separateConnectedComponents": "false",
};

/**
 * A wire, or the part of a folded wire within one row: from its producer's port (or, entering the row,
 * from an entry stub on the row's left) to its consumer's port (or, leaving the row, to an exit stub
 * on its right). The part in the producer's row carries the value/gradient pair, the part in the
 * consumer's row the local derivative.
 */
interface Part {
  edge: number;
  from: number | null;
  to: number | null;
}

/** Where ELK put one row: node centres, wire routes, label places and the stubs of folded wires. */
interface RowLayout {
  width: number;
  height: number;
  at: Map<number, Point>;
  routes: Map<Part, Point[]>;
  pair: Map<number, Point>;
  local: Map<number, Point>;
}

/** Ports of every node: one per operand in operand order (west), one per use (east). */
interface Ports {
  inPort: string[];
  outPort: string[];
  ins: Map<number, number[]>;
  outs: Map<number, number[]>;
}

function portsOf(g: Graph): Ports {
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const ins = new Map<number, number[]>();
  const outs = new Map<number, number[]>();
  const inPort: string[] = [];
  const outPort: string[] = [];
  g.edges.forEach((e, k) => {
    const [f, t] = [index.get(e.from)!, index.get(e.to)!];
    outs.set(f, [...(outs.get(f) ?? []), k]);
    ins.set(t, [...(ins.get(t) ?? []), k]);
    outPort[k] = `n${f}o${outs.get(f)!.length - 1}`;
    inPort[k] = `n${t}i${ins.get(t)!.length - 1}`;
  });
  return { inPort, outPort, ins, outs };
}

/** Lays out the given nodes and wire parts (one row of the figure, or all of it) with ELK. */
function layoutRow(g: Graph, ports: Ports, nodeIds: number[], parts: Part[], argIndex: number[]): RowLayout {
  const children: ElkNode[] = nodeIds.map((i) => elkNode(g, ports, i, argIndex));
  const { edges, stubs } = elkEdges(g, ports, parts);
  // Stubs after the nodes, in wire order, as ELK's model order (considerModelOrder) expects them.
  const laid = elkLayout({ id: "root", layoutOptions: ELK_OPTIONS, children: [...children, ...stubs], edges });
  return readRow(laid, parts);
}

/** Node i for ELK: its size, one port per operand (west) and per use (east), its name and fan-out sum as labels. */
function elkNode(g: Graph, ports: Ports, i: number, argIndex: number[]): ElkNode {
  const n = g.nodes[i];
  const width = n.kind === "output" ? Math.ceil(textWidth(n.label, 15)) + 8 : 2 * n.r;
  const height = n.kind === "output" ? 24 : n.kind === "input" ? n.h : 2 * n.r;
  const elkPorts: ElkPort[] = [];
  // Operands enter top to bottom in operand order (ELK numbers a side's ports clockwise: west bottom-up).
  const inList = [...(ports.ins.get(i) ?? [])].sort((a, b) => argIndex[a] - argIndex[b]);
  inList.forEach((k, j) =>
    elkPorts.push({ id: ports.inPort[k], width: 0, height: 0, layoutOptions: { "elk.port.side": "WEST", "elk.port.index": String(inList.length - 1 - j) } }),
  );
  (ports.outs.get(i) ?? []).forEach((k, j) =>
    elkPorts.push({ id: ports.outPort[k], width: 0, height: 0, layoutOptions: { "elk.port.side": "EAST", "elk.port.index": String(j) } }),
  );
  const labels: ElkLabel[] = [];
  // Names above gates and sums below nodes, sized as figureTexts draws them, so ELK keeps room for them.
  if (n.kind === "stage")
    labels.push({
      text: n.id,
      width: textWidth(n.id, 12, true),
      height: TEXT.nameAbove + 0.8 * 12,
      layoutOptions: { "elk.nodeLabels.placement": "OUTSIDE V_TOP H_CENTER" },
    });
  if (n.sum)
    labels.push({
      text: n.sum,
      width: textWidth(`Σ ${n.sum}`, 11),
      height: TEXT.sumBelow + 0.25 * 11 + 1,
      layoutOptions: { "elk.nodeLabels.placement": "OUTSIDE V_BOTTOM H_CENTER" },
    });
  return { id: `n${i}`, width, height, ports: elkPorts, labels, layoutOptions: { "elk.portConstraints": "FIXED_ORDER" } };
}

/** The wire parts for ELK, with their value/gradient and local-derivative labels, and the stubs that folded wires enter or leave by. */
function elkEdges(g: Graph, ports: Ports, parts: Part[]): { edges: ElkExtendedEdge[]; stubs: ElkNode[] } {
  const stubs: ElkNode[] = [];
  const edges = parts.map((p, k): ElkExtendedEdge => {
    const e = g.edges[p.edge];
    const labels: ElkLabel[] = [];
    if (p.from !== null) {
      const pairWidth =
        Math.max(textWidth(e.value, 13), e.computed ? textWidth(e.grad, 13) : textWidth("not computed", 11), textWidth(e.tangent ?? "", 13)) + 4;
      labels.push({
        text: "pair",
        width: pairWidth,
        // With tangents (forward mode) the pair holds a third line, the tangent above the value.
        height: 2 * (e.tangent !== undefined ? PAIR_HALF_TANGENT : PAIR_HALF),
        layoutOptions: { "elk.edgeLabels.inline": "true", "elk.edgeLabels.placement": "CENTER" },
      });
    }
    if (p.to !== null && e.local)
      labels.push({ text: "local", width: textWidth(`∂ ${e.local}`, 9) + 2, height: LOCAL_H, layoutOptions: { "elk.edgeLabels.placement": "HEAD" } });
    // Stubs of folded wires: entries in the first layer, exits in the last.
    const source = p.from === null ? `in${p.edge}` : ports.outPort[p.edge];
    const target = p.to === null ? `out${p.edge}` : ports.inPort[p.edge];
    if (p.from === null) stubs.push({ id: source, width: 1, height: 1, layoutOptions: { "elk.layered.layering.layerConstraint": "FIRST_SEPARATE" } });
    if (p.to === null) stubs.push({ id: target, width: 1, height: 1, layoutOptions: { "elk.layered.layering.layerConstraint": "LAST_SEPARATE" } });
    return { id: `e${k}`, sources: [source], targets: [target], labels };
  });
  return { edges, stubs };
}

/** Reads ELK's answer back: node centres, each part's route, and where its labels went. */
function readRow(laid: ElkNode, parts: Part[]): RowLayout {
  const at = new Map<number, Point>();
  for (const c of laid.children ?? []) {
    // Stubs (in.., out..) only hold their wires' ends: the routes give those.
    if (c.id.startsWith("n")) at.set(Number(c.id.slice(1)), { x: (c.x ?? 0) + (c.width ?? 0) / 2, y: (c.y ?? 0) + (c.height ?? 0) / 2 });
  }
  const out: RowLayout = { width: laid.width ?? 0, height: laid.height ?? 0, at, routes: new Map(), pair: new Map(), local: new Map() };
  (laid.edges ?? []).forEach((le, k) => {
    const p = parts[k];
    const points: Point[] = [];
    for (const s of le.sections ?? []) points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
    out.routes.set(
      p,
      points.map((q) => ({ x: q.x, y: q.y })),
    );
    for (const l of le.labels ?? []) {
      const [x, y, w, h] = [l.x ?? 0, l.y ?? 0, l.width ?? 0, l.height ?? 0];
      if (l.text === "pair") out.pair.set(p.edge, { x: x + w / 2, y: y + h / 2 });
      else out.local.set(p.edge, { x: x + w - 1, y: y + 0.8 * 9 + 0.5 + TEXT.localAbove });
    }
  });
  return out;
}

/** Room for each folded wire's track beside and between the rows, and the least gap between rows. */
const TRACK = 10;
const ROW_GAP = 20;

/** A wire cut by folding: its part in the producer's row (to an exit stub) and in the consumer's (from an entry stub). */
interface Fold {
  exit: Part;
  entry: Part;
  fromRow: number;
  toRow: number;
}

/**
 * Lays the figure out in one row; where it comes out wider than FOLD_ASPECT (legend included) and has
 * more than a few layers, folds it into rows, cut where the one-row layout puts the nodes, each row
 * laid out by ELK. A wire between rows leaves its row on the right, runs down a track beside the rows,
 * left along the gap above its consumer's row and in from the left, so it crosses no row's labels.
 */
function layoutWithElk(g: Graph, argIndex: number[]): void {
  const ports = portsOf(g);
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const all = g.nodes.map((_, i) => i);
  const whole = g.edges.map((e, k): Part => ({ edge: k, from: index.get(e.from)!, to: index.get(e.to)! }));
  const flat = layoutRow(g, ports, all, whole, argIndex);
  place(
    g,
    [flat],
    all.map(() => 0),
    whole,
    [],
  );
  if (longestPath(g) <= FOLD_LAYERS) return;
  // k rows make the figure about k times narrower and k times taller.
  const first = Math.max(2, Math.ceil(Math.sqrt(g.width / (g.height + 40) / FOLD_ASPECT)));
  for (let rows = first; g.width / (g.height + 40) > FOLD_ASPECT && rows <= first + 8; rows++) {
    // Rows cut the one-row layout into equal widths; wires only run right there, so never to an earlier row.
    const cut = all.map((i) => Math.min(rows - 1, Math.floor((flat.at.get(i)!.x / Math.max(1, flat.width)) * rows)));
    const used = [...new Set(cut)].sort((a, b) => a - b);
    const rowOf = cut.map((c) => used.indexOf(c));
    const parts: Part[][] = used.map(() => []);
    const within: Part[] = [];
    const folds: Fold[] = [];
    whole.forEach((p) => {
      const [f, t] = [rowOf[p.from!], rowOf[p.to!]];
      if (f === t) {
        parts[f].push(p);
        within.push(p);
      } else {
        const fold = { exit: { edge: p.edge, from: p.from, to: null }, entry: { edge: p.edge, from: null, to: p.to }, fromRow: f, toRow: t };
        parts[f].push(fold.exit);
        parts[t].push(fold.entry);
        folds.push(fold);
      }
    });
    const laid = used.map((_, r) =>
      layoutRow(
        g,
        ports,
        all.filter((i) => rowOf[i] === r),
        parts[r],
        argIndex,
      ),
    );
    place(g, laid, rowOf, within, folds);
  }
}

/** Nodes on the longest path from an input to the output. */
function longestPath(g: Graph): number {
  const depth = new Map<string, number>();
  // Edges come in stage order: each producer's depth is known before its consumers'.
  for (const e of g.edges) depth.set(e.to, Math.max(depth.get(e.to) ?? 0, (depth.get(e.from) ?? 1) + 1));
  return Math.max(0, ...depth.values());
}

/** Puts the rows below each other (tracks for folded wires around them) and writes positions and routes into g. */
function place(g: Graph, rows: RowLayout[], rowOf: number[], within: Part[], folds: Fold[]): void {
  const into = rows.map((_, r) => folds.filter((f) => f.toRow === r));
  const top: number[] = [];
  let y = 0;
  rows.forEach((row, r) => {
    if (r > 0) y += ROW_GAP + TRACK * into[r].length;
    top.push(y);
    y += row.height;
  });
  const left = TRACK * folds.length;
  const right = left + Math.max(...rows.map((row) => row.width));
  const shift =
    (r: number) =>
    (q: Point): Point => ({ x: q.x + left, y: q.y + top[r] });
  g.nodes.forEach((n, i) => {
    const p = shift(rowOf[i])(rows[rowOf[i]].at.get(i)!);
    // The output's node is its text: the wire ends 4 units before it.
    if (n.kind === "output") Object.assign(n, { x: p.x - (Math.ceil(textWidth(n.label, 15)) + 8) / 2 + 4, y: p.y });
    else Object.assign(n, p);
  });
  for (const p of within) {
    const r = rowOf[p.from!];
    g.edges[p.edge].points = rows[r].routes.get(p)!.map(shift(r));
  }
  folds.forEach((f, j) => {
    const a = rows[f.fromRow].routes.get(f.exit)!.map(shift(f.fromRow));
    const b = rows[f.toRow].routes.get(f.entry)!.map(shift(f.toRow));
    const [end, start] = [a[a.length - 1], b[0]];
    const xr = right + TRACK * (j + 1);
    const xl = left - TRACK * (j + 1);
    const slot = into[f.toRow].indexOf(f);
    const yg = top[f.toRow] - ROW_GAP / 2 - TRACK * slot;
    g.edges[f.exit.edge].points = [...a.slice(0, -1), { x: xr, y: end.y }, { x: xr, y: yg }, { x: xl, y: yg }, { x: xl, y: start.y }, ...b.slice(1)];
  });
  g.edges.forEach((e, k) => {
    const [from, to] = [rowOf[g.nodes.findIndex((n) => n.id === e.from)], rowOf[g.nodes.findIndex((n) => n.id === e.to)]];
    const pair = rows[from].pair.get(k);
    e.label = pair ? shift(from)(pair) : e.points[0];
    const local = rows[to].local.get(k);
    e.localAt = local ? shift(to)(local) : e.points[e.points.length - 1];
  });
  clipToGates(g);
  fitBounds(g);
}

/** A port sits on the side of a gate's square: the wire starts and ends on the circle. */
function clipToGates(g: Graph): void {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const clip = (p: Point, id: string, side: 1 | -1): Point => {
    const n = byId.get(id)!;
    if (n.kind !== "stage") return p;
    const dy = Math.min(Math.abs(p.y - n.y), n.r);
    return { x: n.x + side * Math.sqrt(n.r * n.r - dy * dy), y: p.y };
  };
  for (const e of g.edges) {
    e.points[0] = clip(e.points[0], e.from, 1);
    e.points[e.points.length - 1] = clip(e.points[e.points.length - 1], e.to, -1);
  }
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
  /** Nodes the text belongs to: it may touch them, and the wires that end at them. */
  owners: string[];
  /** The wire (index in graph.edges) a wire label belongs to: it may touch that wire. */
  wire?: number;
  /** A text drawn inside its node (gate operation, input name): it must fit the node. */
  inside?: boolean;
}

/** Font size of a gate's operation: smaller for longer labels. */
export function gateFontSize(label: string): number {
  return label.length > 4 ? 11 : label.length > 2 ? 13 : 16;
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
export const TEXT = { valueAbove: 7, gradBelow: 17, tangentAbove: 22, localAbove: 6, sumBelow: 16, nameAbove: 6, legendUp: 14 } as const;

/** Where the tangent legend starts, after the three entries every figure has. */
export const TANGENT_LEGEND_X = 540;

/** Half the height of a wire's value/gradient label: the wire runs through its middle, value above, gradient below. */
const PAIR_HALF = TEXT.gradBelow + 0.25 * 13 + 1;
/** The same with a tangent above the value (forward mode): the tangent's top sets it. */
const PAIR_HALF_TANGENT = TEXT.tangentAbove + 0.8 * 13 + 1;
/** Height of a local derivative's label (9-unit text). */
const LOCAL_H = 0.8 * 9 + 0.25 * 9 + 1;

/** The texts the SVG draws outside the nodes (wire labels, sums, stage names, output, legend). */
export function figureTexts(g: Graph): FigureText[] {
  const out: FigureText[] = [];
  g.edges.forEach((e, i) => out.push(...wireTexts(e, i)));
  for (const n of g.nodes) out.push(...nodeTexts(n));
  out.push(...legendTexts(g));
  return out;
}

/** Wire `i`'s value, gradient, tangent and local derivative. */
function wireTexts(e: GraphEdge, i: number): FigureText[] {
  const out: FigureText[] = [];
  const wire = `${e.from} -> ${e.to}`;
  const owners = [e.from, e.to];
  const at = (text: string, dy: number, size: number, what: string): FigureText => ({
    text,
    x: e.label.x,
    y: e.label.y + dy,
    anchor: "middle",
    size,
    bold: false,
    what: `${what} of ${wire}`,
    owners,
    wire: i,
  });
  out.push(at(e.value, -TEXT.valueAbove, 13, "value"));
  out.push(at(e.computed ? e.grad : "not computed", TEXT.gradBelow, e.computed ? 13 : 11, "gradient"));
  if (e.tangent !== undefined) out.push(at(e.tangent, -TEXT.tangentAbove, 13, "tangent"));
  if (e.local)
    out.push({
      text: `∂ ${e.local}`,
      x: e.localAt.x,
      y: e.localAt.y - TEXT.localAbove,
      anchor: "end",
      size: 9,
      bold: false,
      what: `local derivative of ${wire}`,
      owners: [e.to],
      wire: i,
    });
  return out;
}

/** A node's sum below it, the output's name, a stage's name and operation, an input's name. */
function nodeTexts(n: GraphNode): FigureText[] {
  const out: FigureText[] = [];
  if (n.sum) {
    const below = n.kind === "input" ? n.h / 2 : n.r;
    out.push({ text: `Σ ${n.sum}`, x: n.x, y: n.y + below + TEXT.sumBelow, anchor: "middle", size: 11, bold: false, what: `sum at ${n.id}`, owners: [n.id] });
  }
  if (n.kind === "output") out.push({ text: n.label, x: n.x + 2, y: n.y + 5, anchor: "start", size: 15, bold: false, what: "output", owners: [n.id] });
  if (n.kind === "stage")
    out.push({ text: n.id, x: n.x, y: n.y - n.r - TEXT.nameAbove, anchor: "middle", size: 12, bold: true, what: `name of ${n.id}`, owners: [n.id] });
  if (n.kind === "stage") {
    const size = gateFontSize(n.label);
    out.push({ text: n.label, x: n.x, y: n.y + size / 3, anchor: "middle", size, bold: false, what: `operation of ${n.id}`, owners: [n.id], inside: true });
  }
  if (n.kind === "input")
    out.push({ text: n.label, x: n.x, y: n.y + 5, anchor: "middle", size: 15, bold: false, what: `name of input ${n.id}`, owners: [n.id], inside: true });
  return out;
}

/** The legend along the bottom. */
function legendTexts(g: Graph): FigureText[] {
  const legendY = Math.ceil(g.height) + 40 - TEXT.legendUp;
  const legend: [string, number][] = [
    ["forward value (above each wire)", 12],
    ["gradient (below each wire)", 220],
    ["∂ local derivative", 400],
    ...(g.tangentLegend ? ([[g.tangentLegend, TANGENT_LEGEND_X]] as [string, number][]) : []),
  ];
  return legend.map(([text, x]) => ({ text, x, y: legendY, anchor: "start", size: 11, bold: false, what: "legend", owners: ["legend"] }));
}

function nodeBox(n: GraphNode): Box {
  const h = n.kind === "input" ? n.h / 2 : n.r;
  return { x0: n.x - n.r, x1: n.x + n.r, y0: n.y - h, y1: n.y + h };
}

function unionBox(a: Box, b: Box): Box {
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/** Shifts the drawing so that every node, wire and text lies inside it with PAD to spare, and sizes it to fit them. */
function fitBounds(g: Graph): void {
  let box: Box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const n of g.nodes) if (n.kind !== "output") box = unionBox(box, nodeBox(n));
  for (const e of g.edges) for (const p of e.points) box = unionBox(box, { x0: p.x, x1: p.x, y0: p.y, y1: p.y });
  for (const t of figureTexts(g)) if (t.what !== "legend") box = unionBox(box, textBox(t));
  const dx = PAD - box.x0;
  const dy = PAD - box.y0;
  const move = (q: Point) => ({ x: q.x + dx, y: q.y + dy });
  for (const n of g.nodes) Object.assign(n, move(n));
  for (const e of g.edges) {
    e.points = e.points.map(move);
    e.label = move(e.label);
    e.localAt = move(e.localAt);
  }
  // The legend's three entries take about 500 units.
  g.width = Math.max(box.x1 + dx + PAD, g.tangentLegend ? TANGENT_LEGEND_X + Math.ceil(textWidth(g.tangentLegend, 11)) + PAD : 520);
  g.height = box.y1 + dy + PAD;
}
