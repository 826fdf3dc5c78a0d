/**
 * Geometric checks of a laid-out figure: which nodes overlap, which labels collide with each other or
 * sit on a node they do not belong to, and what falls outside the drawing. Pure; the tests use it to
 * keep figures readable. Text extents come from figureTexts (graph.ts), which the SVG renderer draws.
 */
import { figureTexts, textBox, type Box, type Graph, type GraphNode } from "./graph.js";

export interface FigureDefects {
  nodeNode: number;
  labelLabel: number;
  labelNode: number;
  outOfBounds: number;
  details: string[];
}

/** Overlaps smaller than this (in SVG units) are touching, not colliding. */
const SLACK = 1;

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

/** Counts the defects of a figure laid out by buildGraph (the SVG is graph.width by graph.height + 40). */
export function figureDefects(g: Graph): FigureDefects {
  const d: FigureDefects = { nodeNode: 0, labelLabel: 0, labelNode: 0, outOfBounds: 0, details: [] };
  const W = Math.ceil(g.width);
  const H = Math.ceil(g.height) + 40;
  const nodes = g.nodes.filter((n) => n.kind !== "output").map((n) => ({ id: n.id, shape: shapeOf(n) }));
  const texts = figureTexts(g).map((t) => ({ ...t, box: textBox(t) }));
  for (let i = 0; i < nodes.length; i++) {
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
  for (let i = 0; i < texts.length; i++) {
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
    if (!inside(a.box, W, H)) {
      d.outOfBounds++;
      d.details.push(`label ${a.what} '${a.text}' is cut at the edge of the drawing`);
    }
  }
  return d;
}

/** Sum of all defect kinds. */
export function defectTotal(d: FigureDefects): number {
  return d.nodeNode + d.labelLabel + d.labelNode + d.outOfBounds;
}
