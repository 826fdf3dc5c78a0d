// The Classify tab's toy data sets, in the spirit of TensorFlow Playground: two classes of 2-D points
// in the square [-6, 6]², drawn from the library's seeded Rng, so a data set is the same on every load.
import { Rng } from "../src/core/random.js";

/** Half the side of the square the points and the decision boundary live in. */
export const DOMAIN = 6;

export type DataSetName = "xor" | "circles" | "spiral" | "blobs" | "plane" | "gaussians";
export const DATA_SETS: readonly DataSetName[] = ["xor", "circles", "spiral", "blobs"];
/** TensorFlow Playground's regression sets: a value in [-1, 1] to fit at each point, not a class. */
export const REGRESSION_SETS: readonly DataSetName[] = ["plane", "gaussians"];

/** A point and its class: 0 (orange) or 1 (blue); for regression also its target value in [-1, 1] (label is its sign). */
export interface Point {
  x: number;
  y: number;
  label: 0 | 1;
  value?: number;
}

export interface DataOptions {
  name: DataSetName;
  /** How many points. */
  count: number;
  /** 0 (none) to 1: how far the points stray from the clean pattern. */
  noise: number;
  seed: number;
}

/** The points of a data set, seeded. */
export function makeData({ name, count, noise, seed }: DataOptions): Point[] {
  const rng = new Rng(seed);
  const points: Point[] = [];
  for (let i = 0; i < count; i++) points.push(GENERATORS[name](rng, i % 2 === 0 ? 0 : 1, i, count, noise));
  return points;
}

type Generator = (rng: Rng, label: 0 | 1, i: number, count: number, noise: number) => Point;
const between = (rng: Rng, a: number, b: number) => a + (b - a) * rng.uniform();
const clamp = (v: number) => Math.max(-DOMAIN, Math.min(DOMAIN, v));

const GENERATORS: Record<DataSetName, Generator> = {
  // Quadrants: blue where x and y have the same sign. Noise jitters the points, so some cross the axes.
  xor(rng, _label, _i, _n, noise) {
    const pad = 0.3;
    const x = between(rng, -5, 5);
    const y = between(rng, -5, 5);
    const px = x + (x > 0 ? pad : -pad);
    const py = y + (y > 0 ? pad : -pad);
    return { x: clamp(px + noise * 2 * rng.normal()), y: clamp(py + noise * 2 * rng.normal()), label: px * py >= 0 ? 1 : 0 };
  },
  // Blue inside radius 2, orange on a ring from 3.5 to 5; noise moves points radially across the gap.
  circles(rng, label, _i, _n, noise) {
    const r = label === 1 ? between(rng, 0, 2) : between(rng, 3.5, 5);
    const angle = between(rng, 0, 2 * Math.PI);
    const jitter = noise * 2.5 * rng.normal();
    return { x: clamp((r + jitter) * Math.cos(angle)), y: clamp((r + jitter) * Math.sin(angle)), label };
  },
  // Two interleaved spiral arms, half a turn apart.
  spiral(rng, label, i, n, noise) {
    const t = Math.floor(i / 2) / Math.ceil(n / 2);
    const r = 5 * t;
    const angle = 1.75 * t * 2 * Math.PI + (label === 1 ? Math.PI : 0);
    return { x: clamp(r * Math.sin(angle) + noise * 1.5 * rng.normal()), y: clamp(r * Math.cos(angle) + noise * 1.5 * rng.normal()), label };
  },
  // Two Gaussian blobs at (2, 2) and (-2, -2); noise widens them until they overlap.
  blobs(rng, label, _i, _n, noise) {
    const c = label === 1 ? 2 : -2;
    const sd = 0.5 + 2.5 * noise;
    return { x: clamp(c + sd * rng.normal()), y: clamp(c + sd * rng.normal()), label };
  },
  // A tilted plane: −1 in the bottom left corner to +1 in the top right.
  plane: regression((x, y) => (x + y) / (2 * DOMAIN)),
  gaussians: regression((x, y) => BUMPS.reduce((a, b) => a + b.s * Math.exp(-((x - b.cx) ** 2 + (y - b.cy) ** 2) / (2 * 1.3 ** 2)), 0)),
};

/** A regression point: uniform over the square, its value the clean function's, plus noise. */
function regression(fn: (x: number, y: number) => number): Generator {
  return (rng, _label, _i, _n, noise) => {
    const x = between(rng, -DOMAIN, DOMAIN);
    const y = between(rng, -DOMAIN, DOMAIN);
    const value = Math.max(-1, Math.min(1, fn(x, y) + noise * 0.5 * rng.normal()));
    return { x, y, label: value >= 0 ? 1 : 0, value };
  };
}

/** Six bumps, alternately +1 and −1, on two rows: the value is their sum (they barely overlap). */
const BUMPS = [-4, 0, 4].flatMap((cx, i) => [
  { cx, cy: 2.5, s: i % 2 ? -1 : 1 },
  { cx, cy: -2.5, s: i % 2 ? 1 : -1 },
]);

/** A seeded split: the first `1 - testFraction` of a shuffled copy train, the rest test. */
export function split(points: readonly Point[], testFraction: number, seed: number): { train: Point[]; test: Point[] } {
  const order = new Rng(seed + 1).shuffle(points.map((_, i) => i));
  const nTest = Math.round(points.length * testFraction);
  const train = order.slice(0, points.length - nTest).map((i) => points[i]);
  const test = order.slice(points.length - nTest).map((i) => points[i]);
  return { train, test };
}

/** The input features TensorFlow Playground offers, each a function of the point. */
export type FeatureName = "x1" | "x2" | "x1²" | "x2²" | "x1x2" | "sin(x1)" | "sin(x2)";
export const FEATURES: readonly FeatureName[] = ["x1", "x2", "x1²", "x2²", "x1x2", "sin(x1)", "sin(x2)"];
const FEATURE: Record<FeatureName, (x: number, y: number) => number> = {
  x1: (x) => x,
  x2: (_x, y) => y,
  "x1²": (x) => x * x,
  "x2²": (_x, y) => y * y,
  x1x2: (x, y) => x * y,
  "sin(x1)": (x) => Math.sin(x),
  "sin(x2)": (_x, y) => Math.sin(y),
};

/** The chosen features of one point, in FEATURES order. */
export function features(x: number, y: number, chosen: readonly FeatureName[]): number[] {
  return chosen.map((f) => FEATURE[f](x, y));
}

/** The features of many points as one row-major (n, features) array, ready for a tensor. */
export function featureMatrix(points: readonly { x: number; y: number }[], chosen: readonly FeatureName[]): Float32Array {
  const out = new Float32Array(points.length * chosen.length);
  points.forEach((p, i) => out.set(features(p.x, p.y, chosen), i * chosen.length));
  return out;
}

/** The centres of a res × res grid over the square, row by row from the top (y = DOMAIN) down. */
export function gridPoints(res: number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let r = 0; r < res; r++)
    for (let c = 0; c < res; c++) out.push({ x: -DOMAIN + ((c + 0.5) * 2 * DOMAIN) / res, y: DOMAIN - ((r + 0.5) * 2 * DOMAIN) / res });
  return out;
}
