/**
 * Geometric checks of a laid-out figure: which nodes overlap, which labels collide with each other,
 * sit on a node they do not belong to or on a wire not their own, which node texts overflow their
 * node, what falls outside the drawing, and whether a long figure is folded to at most about 3:1.
 * Pure; the tests use it to keep figures readable. Text extents come from figureTexts (graph.ts),
 * which the SVG renderer draws; wire routes from wireRoute, which it draws too.
 */
import { figureTexts, onWire, textBox, type Box, type FigureText, type Graph, type GraphEdge, type GraphNode, type Point } from "./graph.js";

export interface FigureDefects {
  nodeNode: number;
  labelLabel: number;
  labelNode: number;
  /** A label crossed by a wire that is not its own. */
  labelWire: number;
  /** A gate's operation or an input's name wider than its node. */
  labelOutside: number;
  outOfBounds: number;
  /** A figure wider than MAX_ASPECT:1 although it has enough layers to fold. */
  aspect: number;
  details: string[];
}

/** Overlaps smaller than this (in SVG units) are touching, not colliding. */
const SLACK = 1;
/** Widest figure (width / height, legend included) once folding is possible. */
export const MAX_ASPECT = 3;
/** Figures with more layers than this (inputs and the output counted) can fold into rows; fewer read better in one row. */
export const FOLD_LAYERS = 6;

function boxesOverlap(a: Box, b: Box): boolean {
  return Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > SLACK && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > SLACK;
}

/** A node's outline: circles as circles, input boxes as boxes. */
type Shape = { kind: "circle"; cx: number; cy: number; r: number } | { kind: "box"; box: Box };

function shapeOf(n: GraphNode): Shape {
  if (n.kind === "input") return { kind: "box", box: { x0: n.x - n.r, x1: n.x + n.r, y0: n.y - n.h / 2, y1: n.y + n.h / 2 } };
  return { kind: "circle", cx: n.x, cy: n.y, r: n.r };
}

function circleMeetsBox(cx: number, cy: number, r: number, b: Box): boolean {
  const dx = cx - Math.max(b.x0, Math.min(cx, b.x1));
  const dy = cy - Math.max(b.y0, Math.min(cy, b.y1));
  return Math.hypot(dx, dy) < r - SLACK;
}

function shapeMeetsBox(s: Shape, b: Box): boolean {
  return s.kind === "box" ? boxesOverlap(s.box, b) : circleMeetsBox(s.cx, s.cy, s.r, b);
}

/** Room a text inside a node keeps from its outline: widths are estimates, glyphs vary. */
const INNER_PAD = 2;

/** Whether a text's box lies within the node's outline, INNER_PAD inside it (every corner inside the circle). */
function shapeHoldsBox(s: Shape, b: Box): boolean {
  const p = INNER_PAD;
  if (s.kind === "box") return b.x0 >= s.box.x0 + p && b.x1 <= s.box.x1 - p && b.y0 >= s.box.y0 && b.y1 <= s.box.y1;
  const corners: [number, number][] = [
    [b.x0, b.y0],
    [b.x1, b.y0],
    [b.x0, b.y1],
    [b.x1, b.y1],
  ];
  return corners.every(([x, y]) => Math.hypot(x - s.cx, y - s.cy) <= s.r - p);
}

function shapesMeet(a: Shape, b: Shape): boolean {
  if (a.kind === "circle" && b.kind === "circle") return Math.hypot(a.cx - b.cx, a.cy - b.cy) < a.r + b.r - SLACK;
  if (a.kind === "box") return shapeMeetsBox(b, a.box);
  return shapeMeetsBox(a, (b as { box: Box }).box);
}

function shapeBox(s: Shape): Box {
  return s.kind === "box" ? s.box : { x0: s.cx - s.r, x1: s.cx + s.r, y0: s.cy - s.r, y1: s.cy + s.r };
}

function inside(b: Box, w: number, h: number): boolean {
  return b.x0 >= -SLACK && b.y0 >= -SLACK && b.x1 <= w + SLACK && b.y1 <= h + SLACK;
}

/** The wire as drawn, as a polyline: straight segments as they are, cubics sampled. */
export function wirePolyline(e: GraphEdge): Point[] {
  if (e.route === "orthogonal") return e.points;
  const out: Point[] = [e.points[0]];
  for (let i = 1; i < e.points.length; i++) for (let k = 1; k <= 12; k++) out.push(onWire(e.points[i - 1], e.points[i], k / 12));
  return out;
}

/** Whether the segment a-b passes through the box shrunk by SLACK (Liang-Barsky clipping). */
function segmentMeetsBox(a: Point, b: Point, box: Box): boolean {
  const [x0, x1, y0, y1] = [box.x0 + SLACK, box.x1 - SLACK, box.y0 + SLACK, box.y1 - SLACK];
  if (x0 >= x1 || y0 >= y1) return false;
  let t0 = 0;
  let t1 = 1;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  for (const [p, q] of [
    [-dx, a.x - x0],
    [dx, x1 - a.x],
    [-dy, a.y - y0],
    [dy, y1 - a.y],
  ] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

/** Layers of the figure: nodes on the longest path from an input to the output. */
function layerCount(g: Graph): number {
  const depth = new Map<string, number>();
  const preds = new Map<string, string[]>();
  for (const e of g.edges) preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
  const visit = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = 1 + Math.max(0, ...(preds.get(id) ?? []).map((p) => visit(p, seen)));
    depth.set(id, d);
    return d;
  };
  return Math.max(0, ...g.nodes.map((n) => visit(n.id, new Set())));
}

/** What the defect checks look at: the figure's size, its node shapes, text boxes and wire polylines. */
interface Scene {
  g: Graph;
  W: number;
  H: number;
  nodes: { id: string; shape: Shape }[];
  shapeById: Map<string, Shape>;
  texts: (FigureText & { box: Box })[];
  wires: Point[][];
}

/** Counts the defects of a figure laid out by buildGraph (the SVG is graph.width by graph.height + 40). */
export function figureDefects(g: Graph): FigureDefects {
  const d: FigureDefects = { nodeNode: 0, labelLabel: 0, labelNode: 0, labelWire: 0, labelOutside: 0, outOfBounds: 0, aspect: 0, details: [] };
  const W = Math.ceil(g.width);
  const H = Math.ceil(g.height) + 40;
  const nodes = g.nodes.filter((n) => n.kind !== "output").map((n) => ({ id: n.id, shape: shapeOf(n) }));
  const shapeById = new Map(nodes.map((n) => [n.id, n.shape]));
  const texts = figureTexts(g).map((t) => ({ ...t, box: textBox(t) }));
  const wires = g.edges.map((e) => wirePolyline(e));
  const scene: Scene = { g, W, H, nodes, shapeById, texts, wires };
  for (let i = 0; i < nodes.length; i++) nodeDefects(d, scene, i);
  for (let i = 0; i < texts.length; i++) textDefects(d, scene, i);
  if (W / H > MAX_ASPECT && layerCount(g) > FOLD_LAYERS) {
    d.aspect++;
    d.details.push(`the figure is ${W} by ${H}, wider than ${MAX_ASPECT}:1, though its ${layerCount(g)} layers could fold`);
  }
  return d;
}

/** Node i against the later nodes, and against the drawing's edges. */
function nodeDefects(d: FigureDefects, { nodes, W, H }: Scene, i: number): void {
  for (let j = i + 1; j < nodes.length; j++) {
    if (shapesMeet(nodes[i].shape, nodes[j].shape)) {
      d.nodeNode++;
      d.details.push(`node ${nodes[i].id} overlaps node ${nodes[j].id}`);
    }
  }
  if (!inside(shapeBox(nodes[i].shape), W, H)) {
    d.outOfBounds++;
    d.details.push(`node ${nodes[i].id} is outside the drawing`);
  }
}

/** Text i against the later texts, the nodes, its own node, the wires and the drawing's edges. */
function textDefects(d: FigureDefects, { g, W, H, nodes, shapeById, texts, wires }: Scene, i: number): void {
  const a = texts[i];
  for (let j = i + 1; j < texts.length; j++) {
    if (boxesOverlap(a.box, texts[j].box)) {
      d.labelLabel++;
      d.details.push(`label ${a.what} '${a.text}' overlaps label ${texts[j].what} '${texts[j].text}'`);
    }
  }
  for (const n of nodes) {
    if (!a.owners.includes(n.id) && shapeMeetsBox(n.shape, a.box)) {
      d.labelNode++;
      d.details.push(`label ${a.what} '${a.text}' lies on node ${n.id}`);
    }
  }
  if (a.inside) {
    const own = shapeById.get(a.owners[0]);
    if (own && !shapeHoldsBox(own, a.box)) {
      d.labelOutside++;
      d.details.push(`label ${a.what} '${a.text}' is wider than its node`);
    }
  }
  // A wire may touch its own labels, and node texts may touch the wires that end at their node.
  g.edges.forEach((e, k) => {
    if (a.what === "legend" || k === a.wire || (a.wire === undefined && (a.owners.includes(e.from) || a.owners.includes(e.to)))) return;
    const p = wires[k];
    for (let s = 1; s < p.length; s++) {
      if (segmentMeetsBox(p[s - 1], p[s], a.box)) {
        d.labelWire++;
        d.details.push(`label ${a.what} '${a.text}' lies on the wire ${e.from} -> ${e.to}`);
        return;
      }
    }
  });
  if (!inside(a.box, W, H)) {
    d.outOfBounds++;
    d.details.push(`label ${a.what} '${a.text}' is cut at the edge of the drawing`);
  }
}

/** Sum of all defect kinds. */
export function defectTotal(d: FigureDefects): number {
  return d.nodeNode + d.labelLabel + d.labelNode + d.labelWire + d.labelOutside + d.outOfBounds + d.aspect;
}
